from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from hrm import doctor as doc
from hrm.cli import app

runner = CliRunner()


def hrm(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hrm.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_help_lists_every_command_with_one_line_help():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]:
        assert command in result.output
    assert "Verify python, torch" in result.output


def test_unknown_command_and_bad_option_are_clear_errors():
    result = hrm("trian")
    assert result.returncode == 2 and "No such command 'trian'" in result.stderr
    result = hrm("doctor", "--jsn")
    assert result.returncode == 2 and "No such option: --jsn" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_does_not_import_torch():
    code = "import sys; from hrm.cli import app; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_user_error_is_one_line_without_traceback(monkeypatch, capsys):
    import pytest

    from hrm import cli
    from hrm.errors import UserError

    def broken():
        raise UserError("configs/x.yaml: train.lr: must be > 0")

    monkeypatch.setattr(cli, "app", broken)
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    assert capsys.readouterr().err.strip() == "error: configs/x.yaml: train.lr: must be > 0"


def fake_checks(statuses):
    return [doc.Check(f"c{i}", s, f"detail {i}", "hint" if s != doc.OK else "") for i, s in enumerate(statuses)]


def test_doctor_table_and_exit_codes(monkeypatch):
    monkeypatch.setattr(doc, "run_checks", lambda **kw: fake_checks([doc.OK, doc.WARN]))
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0
    assert "c1" in result.output and "warn" in result.output and "1 ok, 1 warn, 0 fail" in result.output
    monkeypatch.setattr(doc, "run_checks", lambda **kw: fake_checks([doc.OK, doc.FAIL]))
    assert runner.invoke(app, ["doctor"]).exit_code == 1
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["status"] == "fail" and [c["status"] for c in data["checks"]] == ["ok", "fail"]


def test_runs_lists_runs_or_says_none(tmp_path):
    from hrm import rundir as rd

    result = runner.invoke(app, ["runs", "--logs-dir", str(tmp_path)])
    assert result.exit_code == 0 and "No runs" in result.output
    run = rd.RunDir(tmp_path / "demo-20261123-180000").create()
    run.config.write_text("model:\n  arch: hrm_act\n")
    with rd.JsonlWriter(run.metrics) as w:
        w.write({"t": 1.0, "step": 3, "kind": "train", "loss": 2.25})
        w.write({"t": 2.0, "step": 3, "kind": "eval", "exact_accuracy": 0.125, "accuracy": 0.5})
    with rd.JsonlWriter(run.events) as w:
        w.write(rd.event_record("finished"))
    result = runner.invoke(app, ["runs", "--logs-dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "demo-20261123-180000" in result.output and "finished" in result.output
    assert "2.2500" in result.output and "12.5%" in result.output
    data = json.loads(runner.invoke(app, ["runs", "--logs-dir", str(tmp_path), "--json"]).output)
    assert data[0]["eval_exact"] == 0.125 and data[0]["state"] == "finished"
