"""Where a run's figures and events go: metrics.jsonl, events.jsonl, stdout.log, and the optional
webhook and Prometheus exporter. Only rank 0 writes; on other ranks every call is a no-op.

Every record written also goes through the troubleshooting advisor (hrm/advisor.py), whose
diagnoses are written as `advisor` events beside the trainer's own, so the dashboard shows them live."""

from __future__ import annotations

import sys
import time
from typing import Any

from hrm.advisor import Advisor, event_kwargs
from hrm.rundir import JsonlWriter, RunDir, event_record
from hrm.train.prometheus import PrometheusExporter
from hrm.train.webhook import Webhook


class Sink:
    def __init__(self, run: RunDir, enabled: bool = True, echo: bool = True, prometheus_port: int | None = None,
                 advisor: Advisor | None = None):
        self.run, self.enabled, self.echo, self.advisor = run, enabled, echo, advisor
        self._metrics = self._events = self._stdout = None
        self.webhook: Webhook | None = None
        self.prometheus: PrometheusExporter | None = None
        if not enabled:
            return
        self._metrics = JsonlWriter(run.metrics)
        self._events = JsonlWriter(run.events)
        self._stdout = open(run.stdout, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
        self.webhook = Webhook.from_env(run.run_id, on_failure=self.log)
        if prometheus_port is not None:
            self.prometheus = PrometheusExporter(prometheus_port, run.run_id)
            self.log(f"prometheus metrics on :{self.prometheus.port}/metrics")

    def log(self, line: str) -> None:
        if not self.enabled:
            return
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        if self.echo:
            print(stamped, file=sys.stdout, flush=True)
        if self._stdout is not None:
            self._stdout.write(stamped + "\n")

    def metric(self, kind: str, step: int, **figures: Any) -> dict[str, Any]:
        record = {"t": time.time(), "step": step, "kind": kind, **figures}
        if self.enabled:
            self._metrics.write(record)
            if self.prometheus is not None:
                self.prometheus.observe(record)
            self._advise(record)
        return record

    def event(self, event: str, level: str = "info", message: str = "", hint: str = "", step: int | None = None,
              **extra: Any) -> dict[str, Any]:
        if level in ("warn", "error") and not hint:
            raise ValueError(f"{level} event '{event}' needs a hint that says what to do")
        record = event_record(event, level, message, hint, step, **extra)
        if not self.enabled:
            return record
        self._events.write(record)
        self.log(f"[{level}] {event}: {message}" + (f"  (hint: {hint})" if hint else ""))
        if self.webhook is not None and level == "error":
            self.webhook.send(record)
        if self.prometheus is not None:
            self.prometheus.count_event(record)
        if event != "advisor":
            self._advise(record)
        return record

    def _advise(self, record: dict[str, Any]) -> None:
        if self.advisor is not None:
            for diagnosis in self.advisor.observe(record):
                self.event(**event_kwargs(diagnosis))

    def close(self) -> None:
        if not self.enabled:
            return
        if self.webhook is not None:
            self.webhook.flush()
        if self.prometheus is not None:
            self.prometheus.close()
        for f in (self._metrics, self._events, self._stdout):
            f.close()
        self.enabled = False
