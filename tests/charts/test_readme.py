"""The chart's README table is the values' (`make chart-docs`)."""

from __future__ import annotations

from chartgen.assets import CHART
from chartgen.readme import readme


def test_the_readme_is_generated_from_the_values() -> None:
    text = (CHART / "README.md").read_text()
    assert text == readme(), "charts/workflow-observability/README.md is stale: make chart-docs"
    assert "| `logger.replicas` | integer | `1` |" in text
