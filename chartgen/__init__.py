"""Files of the Helm chart (charts/workflow-observability/) made from the
project's generators, so that the chart never holds a hand-copied config."""
