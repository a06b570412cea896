"""Alert webhook: error events are POSTed as Slack-compatible JSON to $HRM_ALERT_WEBHOOK.

Sending happens on a background thread with a short timeout, so a slow or dead endpoint never
holds up training; a failed delivery is reported once on the trainer's output.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

ENV = "HRM_ALERT_WEBHOOK"


def format_alert(run_id: str, record: dict[str, Any]) -> dict[str, Any]:
    """Slack's incoming-webhook payload: a `text` field (Mattermost, Discord/slack and Teams
    connectors accept the same)."""
    step = f" at step {record['step']}" if "step" in record else ""
    lines = [f":rotating_light: hrm run `{run_id}`: {record.get('event')} ({record.get('level')}){step}"]
    if record.get("message"):
        lines.append(str(record["message"]).splitlines()[0][:500])
    if record.get("hint"):
        lines.append(f"hint: {record['hint']}")
    return {"text": "\n".join(lines), "run_id": run_id, "event": record.get("event"), "level": record.get("level")}


class Webhook:
    def __init__(self, url: str, run_id: str, on_failure: Callable[[str], None] = print, timeout_s: float = 5.0):
        self.url, self.run_id, self.timeout_s = url, run_id, timeout_s
        self._on_failure = on_failure
        self._failed_once = False
        self._threads: list[threading.Thread] = []

    @classmethod
    def from_env(cls, run_id: str, on_failure: Callable[[str], None] = print) -> Webhook | None:
        url = os.environ.get(ENV, "").strip()
        return cls(url, run_id, on_failure) if url else None

    def send(self, record: dict[str, Any]) -> None:
        body = json.dumps(format_alert(self.run_id, record)).encode()
        t = threading.Thread(target=self._post, args=(body,), daemon=True, name="hrm-webhook")
        t.start()
        self._threads.append(t)

    def _post(self, body: bytes) -> None:
        req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                resp.read()
        except Exception as exc:  # an alert that cannot be delivered must never stop training
            if not self._failed_once:
                self._failed_once = True
                self._on_failure(f"alert webhook {self.url} failed: {exc}")

    def flush(self, timeout_s: float = 5.0) -> None:
        for t in self._threads:
            t.join(timeout_s)
        self._threads = [t for t in self._threads if t.is_alive()]
