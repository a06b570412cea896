from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from hrm.rundir import RunDir
from hrm.train.sink import Sink
from hrm.train.webhook import ENV, format_alert


@pytest.fixture
def receiver():
    bodies: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            bodies.append({"content_type": self.headers["Content-Type"], **json.loads(self.rfile.read(length))})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", bodies
    server.shutdown()
    server.server_close()


def test_error_events_are_posted_as_slack_json(receiver, tmp_path, monkeypatch):
    url, bodies = receiver
    monkeypatch.setenv(ENV, url)
    sink = Sink(RunDir(tmp_path / "run").create(), echo=False)
    sink.event("checkpoint", "info", "step 5")
    sink.event("nan", "warn", "loss nan", hint="lower the lr", step=5)
    sink.event("crashed", "error", "RuntimeError: boom\ntraceback...", hint="see stdout.log", step=7, reason="error")
    sink.close()
    assert len(bodies) == 1  # errors only
    (body,) = bodies
    assert body["content_type"] == "application/json" and body["event"] == "crashed" and body["level"] == "error"
    assert "crashed (error) at step 7" in body["text"] and "RuntimeError: boom" in body["text"]
    assert "traceback" not in body["text"] and "hint: see stdout.log" in body["text"] and "`run`" in body["text"]


def test_an_unreachable_webhook_is_reported_once_and_never_raises(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, "http://127.0.0.1:9/nothing-listens-here")
    run = RunDir(tmp_path / "run").create()
    sink = Sink(run, echo=False)
    for _ in range(3):
        sink.event("crashed", "error", "boom", hint="h")
    sink.close()
    assert run.stdout.read_text().count("alert webhook") == 1


def test_format_alert_without_optional_fields():
    assert format_alert("r", {"event": "gave_up", "level": "error"})["text"].endswith("gave_up (error)")


def test_warn_and_error_events_need_a_hint(tmp_path):
    sink = Sink(RunDir(tmp_path / "run").create(), echo=False)
    with pytest.raises(ValueError, match="needs a hint"):
        sink.event("spike", "warn", "no hint")
    sink.close()


def test_prometheus_exporter_serves_the_live_figures(tmp_path):
    run = RunDir(tmp_path / "run").create()
    sink = Sink(run, echo=False, prometheus_port=0)
    port = sink.prometheus.port
    sink.metric("train", 12, loss=0.5, accuracy=0.25, note="text is skipped", flag=True)
    sink.metric("eval", 12, exact_accuracy=0.125)
    sink.event("spike", "warn", "x", hint="y")
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    sink.close()
    assert 'hrm_train_loss{run="run"} 0.5' in body and 'hrm_eval_exact_accuracy{run="run"} 0.125' in body
    assert 'hrm_step{run="run"} 12.0' in body and 'hrm_events_total{event="spike",level="warn",run="run"} 1.0' in body
    assert "note" not in body and "flag" not in body
    assert "prometheus metrics on :" in run.stdout.read_text()


def test_the_advisor_writes_its_diagnoses_beside_the_trainers_events(tmp_path):
    from hrm.advisor import Advisor

    run = RunDir(tmp_path / "run")
    run.create()
    sink = Sink(run, echo=False, advisor=Advisor.from_config({"model": {"arch": "routed", "num_heads": 4}}))
    sink.metric("train", 10, loss=2.0, examples_per_s=100.0)
    sink.event("checkpoint", message="step 10")
    assert [e["event"] for e in run.read_events()] == ["checkpoint"]  # a healthy stream: no diagnosis
    sink.event("oom", level="warn", message="CUDA out of memory", hint="halving the micro-batch", step=11)
    sink.close()
    diagnosis = run.read_events()[-1]
    assert diagnosis["event"] == "advisor" and diagnosis["rule"] == "oom" and diagnosis["level"] == "error"
    assert "micro_batch_size" in diagnosis["hint"] and diagnosis["source_event"] == "oom"
    assert "[error] advisor" in run.stdout.read_text()
