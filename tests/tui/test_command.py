"""`hrm tui` on the command line: the launch plan, user errors, and no torch anywhere."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from hrm.commands.tui import launch_plan
from hrm.errors import UserError
from hrm_tui.launch import dataset_present
from tui import fake_trainer


def test_plan_for_a_config_with_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "my.yaml"
    cfg.write_text(yaml.safe_dump({"name": "mine", "data": {"path": "data/a", "build": "sudoku --out data/a"}}))
    plan = launch_plan(str(cfg), ["data.path=data/b", "train.lr=1e-3"], None, None, tmp_path / "logs")
    assert (plan.mode, plan.run_name, plan.data_path, plan.data_build) == ("config", "mine", Path("data/b"),
                                                                           "sudoku --out data/a")
    assert plan.overrides == ["data.path=data/b", "train.lr=1e-3"] and plan.trains
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"data": {"path": "d", "build": ["sudoku"]}}))
    with pytest.raises(UserError, match="data.build"):
        launch_plan(str(bad), [], None, None, tmp_path)
    with pytest.raises(UserError, match="no such config"):
        launch_plan("no-such-preset", [], None, None, tmp_path)


def test_plan_for_attach_replay_and_mistakes(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    fake_trainer.write_run(logs / "demo-20240101-000000", steps=5)
    assert launch_plan(None, [], "demo", None, logs).run == logs / "demo-20240101-000000"
    assert launch_plan(None, [], None, "demo-2024", logs).mode == "replay"
    with pytest.raises(UserError, match="only one"):
        launch_plan(None, [], "a", "b", logs)
    with pytest.raises(UserError, match="leave out CONFIG"):
        launch_plan("x.yaml", [], "a", None, logs)
    with pytest.raises(UserError, match="no run 'zzz'"):
        launch_plan(None, [], "zzz", None, logs)


def test_demo_plan_reads_the_preset_or_says_it_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hrm.config

    monkeypatch.setattr(hrm.config, "CONFIG_DIR", tmp_path / "configs")
    plan = launch_plan(None, [], None, None, tmp_path / "logs")
    assert plan.mode == "demo" and "is missing" in plan.problem and not plan.trains
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "sudoku_demo_cpu.yaml").write_text(
        yaml.safe_dump({"data": {"path": "data/sudoku-demo", "build": "sudoku"}}))
    plan = launch_plan(None, [], None, None, tmp_path / "logs")
    assert plan.trains and plan.run_name == "sudoku_demo_cpu" and plan.data_path == Path("data/sudoku-demo")
    plan = launch_plan("train.max_steps=200", ["data.path=data/other"], None, None, tmp_path / "logs")
    assert plan.mode == "demo" and plan.overrides == ["train.max_steps=200", "data.path=data/other"]
    assert plan.data_path == Path("data/other")


def test_dataset_present(tmp_path: Path) -> None:
    assert not dataset_present(None) and not dataset_present(tmp_path / "none")
    (tmp_path / "d" / "train").mkdir(parents=True)
    assert not dataset_present(tmp_path / "d")
    (tmp_path / "d" / "train" / "dataset.json").write_text("{}")
    assert dataset_present(tmp_path / "d")


def test_cli_rejects_mistakes_in_one_line(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "hrm.cli", "tui", "--attach", "nope", "--logs-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().startswith("error: no run 'nope'") and "Traceback" not in out.stderr


NO_TORCH = textwrap.dedent("""
    import asyncio, sys
    sys.path.insert(0, sys.argv[1])
    import fake_trainer
    from pathlib import Path
    from hrm.commands.tui import launch_plan
    from hrm_tui.app import HrmApp
    run = fake_trainer.write_run(Path(sys.argv[2]) / "r", steps=120)
    fake_hrm = [sys.executable, str(Path(sys.argv[1]) / "fake_hrm.py")]
    app = HrmApp(launch_plan(None, [], None, "r", Path(sys.argv[2])), keymap={}, hrm_command=fake_hrm)

    async def main():
        async with app.run_test(size=(80, 24)) as pilot:
            for key in "2345]":
                await pilot.press(key)
                await pilot.pause(0.2)
            await pilot.press("1")
            await pilot.pause(1.0)

    asyncio.run(main())
    print("torch loaded:", "torch" in sys.modules)
""")


def test_the_app_never_imports_torch(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", NO_TORCH, str(Path(__file__).parent), str(tmp_path)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("torch loaded: False")
