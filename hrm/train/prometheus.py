"""Prometheus exporter of the live metrics (`hrm train --prometheus-port P`).

Every numeric figure of a train/eval/system record becomes a gauge `hrm_<kind>_<name>` labelled
with the run id, plus `hrm_step` and a counter `hrm_events_total{event, level}`. It serves its own
registry, so nothing else in the process leaks into the scrape.
"""

from __future__ import annotations

import re
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

_BAD = re.compile(r"[^a-zA-Z0-9_]")


class PrometheusExporter:
    def __init__(self, port: int, run_id: str, addr: str = "0.0.0.0"):
        self.run_id = run_id
        self.registry = CollectorRegistry()
        self._gauges: dict[str, Gauge] = {}
        self._step = Gauge("hrm_step", "optimizer steps so far", ["run"], registry=self.registry)
        self._events = Counter("hrm_events", "events by name and level", ["run", "event", "level"], registry=self.registry)
        self._server, self._thread = start_http_server(port, addr=addr, registry=self.registry)

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def observe(self, record: dict[str, Any]) -> None:
        kind = str(record.get("kind", "metric"))
        if isinstance(record.get("step"), int):
            self._step.labels(self.run_id).set(record["step"])
        for key, value in record.items():
            if key in ("t", "step", "kind") or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            name = f"hrm_{_BAD.sub('_', kind)}_{_BAD.sub('_', key)}"
            gauge = self._gauges.get(name)
            if gauge is None:
                gauge = self._gauges[name] = Gauge(name, f"{kind} figure {key}", ["run"], registry=self.registry)
            gauge.labels(self.run_id).set(float(value))

    def count_event(self, record: dict[str, Any]) -> None:
        self._events.labels(self.run_id, str(record.get("event")), str(record.get("level"))).inc()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
