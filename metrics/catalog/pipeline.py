"""The log pipeline: the logger's own counters and gauges, and its drains
(the logger pipeline dashboard and the logger alerts)."""

from __future__ import annotations

from metrics.catalog.selectors import BACKING_OFF, Selectors


class PipelineQueries(Selectors):
    """Queries of the loggers and drains, over every logger instance."""

    def logger_up(self) -> str:
        """1 per logger instance VictoriaMetrics scraped successfully, else 0 (by instance)."""
        return f"up{{{self._logger()}}}"

    def logger_ingest_rate(self, window: str) -> str:
        """Lines stored per second, all loggers (one series)."""
        return self._rate("logger_stored_lines_total", window)

    def logger_received_rate(self, window: str) -> str:
        """Events received per second, per input."""
        return self._rate("logger_received_events_total", window, "input")

    def logger_received_bytes_rate(self, window: str) -> str:
        """Frame bytes received per second, per input."""
        return self._rate("logger_received_bytes_total", window, "input")

    def logger_discarded_rate(self, window: str) -> str:
        """Events or lines discarded per second, per reason (never expected but
        `app_evicted` under memory pressure)."""
        return self._rate("logger_discarded_events_total", window, "reason")

    def logger_errors_rate(self, window: str) -> str:
        """Errors per second, per stage and error type."""
        return self._rate("logger_errors_total", window, "stage, error_type")

    def logger_open_connections(self) -> str:
        """Forward connections open now, per input."""
        return f"sum by (input) (logger_open_connections{{{self._logger()}}})"

    def logger_acks_rate(self, window: str) -> str:
        """Chunk acknowledgements sent per second."""
        return self._rate("logger_acks_sent_total", window)

    def logger_ring_fill(self) -> str:
        """Buffered bytes as a fraction of the bound (0 to 1), per instance;
        near 1 the least recently written apps are being evicted."""
        sel = self._logger()
        return f"logger_buffered_bytes{{{sel}}} / logger_buffer_limit_bytes{{{sel}}}"

    def logger_ring_displaced_rate(self, window: str) -> str:
        """Lines pushed out of full rings per second (rings keep recent lines by design)."""
        return self._rate("logger_ring_displaced_lines_total", window)

    def logger_evicted_apps_rate(self, window: str) -> str:
        """Whole app rings evicted per second to stay under the byte bound."""
        return self._rate("logger_evicted_apps_total", window)

    def logger_followers(self) -> str:
        """Live follows (`wf logs -f`) open now (one series)."""
        return f"sum(logger_followers{{{self._logger()}}})"

    def logger_follower_dropped_rate(self, window: str) -> str:
        """Lines displaced from slow followers' queues per second."""
        return self._rate("logger_follower_dropped_lines_total", window)

    def logger_app_label_overflow_rate(self, window: str) -> str:
        """Lines per second counted under app="_other" (WF_LOGGER_METRICS_MAX_APPS reached)."""
        return self._rate("logger_app_label_overflow_lines_total", window)

    def drain_delivered_rate(self, window: str) -> str:
        """Lines per second drains delivered, per app and scheme."""
        return self._rate("logger_drain_delivered_lines_total", window, "app, scheme")

    def drain_delivered_bytes_rate(self, window: str) -> str:
        """Bytes per second drains delivered, per app and scheme."""
        return self._rate("logger_drain_delivered_bytes_total", window, "app, scheme")

    def drain_dropped_rate(self, window: str) -> str:
        """Lines per second drains gave up on, per app, scheme and reason."""
        return self._rate("logger_drain_dropped_lines_total", window, "app, scheme, reason")

    def drain_retries_rate(self, window: str) -> str:
        """Failed delivery attempts retried per second, per scheme and kind."""
        return self._rate("logger_drain_retries_total", window, "scheme, kind")

    def drain_backing_off(self) -> str:
        """Drains backing off after failures now, per app."""
        return f"sum by (app) (logger_drain_state{{{self._logger()},{BACKING_OFF}}})"

    def drain_buffer_fill(self) -> str:
        """Each drain's buffer use as a fraction of its capacity (0 to 1)."""
        sel = self._logger()
        return f"logger_drain_buffer_lines{{{sel}}} / logger_drain_buffer_capacity_lines{{{sel}}}"

    def pipeline(self, window: str) -> dict[str, str]:
        """Every pipeline query, by name (for the dashboards and alert rules)."""
        return {
            "logger_up": self.logger_up(),
            "logger_ingest_rate": self.logger_ingest_rate(window),
            "logger_received_rate": self.logger_received_rate(window),
            "logger_received_bytes_rate": self.logger_received_bytes_rate(window),
            "logger_discarded_rate": self.logger_discarded_rate(window),
            "logger_errors_rate": self.logger_errors_rate(window),
            "logger_open_connections": self.logger_open_connections(),
            "logger_acks_rate": self.logger_acks_rate(window),
            "logger_ring_fill": self.logger_ring_fill(),
            "logger_ring_displaced_rate": self.logger_ring_displaced_rate(window),
            "logger_evicted_apps_rate": self.logger_evicted_apps_rate(window),
            "logger_followers": self.logger_followers(),
            "logger_follower_dropped_rate": self.logger_follower_dropped_rate(window),
            "logger_app_label_overflow_rate": self.logger_app_label_overflow_rate(window),
            "drain_delivered_rate": self.drain_delivered_rate(window),
            "drain_delivered_bytes_rate": self.drain_delivered_bytes_rate(window),
            "drain_dropped_rate": self.drain_dropped_rate(window),
            "drain_retries_rate": self.drain_retries_rate(window),
            "drain_backing_off": self.drain_backing_off(),
            "drain_buffer_fill": self.drain_buffer_fill(),
        }
