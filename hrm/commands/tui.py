from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from hrm_tui.launch import LaunchPlan


def tui(
    config: str = typer.Argument(None, help="Config file or preset to train (default: the CPU demo)."),
    overrides: list[str] = typer.Argument(None, help="key=value overrides for the config."),
    attach: str = typer.Option(None, "--attach", help="Watch a run started elsewhere (id, id prefix or path)."),
    replay: str = typer.Option(None, "--replay", help="Open a finished run."),
    logs_dir: Path = typer.Option(Path("logs"), "--logs-dir", help="Folder holding the run directories."),
) -> None:
    """Open the dashboard: with no arguments, build the demo data if needed and train the CPU demo live."""
    plan = launch_plan(config, overrides or [], attach, replay, logs_dir)
    from hrm_tui.app import HrmApp

    app = HrmApp(plan)
    app.run()
    if app.exit_note:
        typer.echo(app.exit_note)


def launch_plan(config: str | None, overrides: list[str], attach: str | None, replay: str | None,
                logs_dir: Path) -> LaunchPlan:
    """What the dashboard should open; user mistakes raise UserError before the app starts."""
    from hrm.config import CONFIG_DIR, ConfigError, apply_overrides, read_yaml, resolve_config_path
    from hrm.errors import UserError
    from hrm.rundir import find_run
    from hrm_tui.launch import DEMO_PRESET, LaunchPlan

    if config and "=" in config and not Path(config).exists():
        # `hrm tui train.max_steps=200`: overrides for the demo, not a config named so.
        config, overrides = None, [config, *overrides]
    if attach and replay:
        raise UserError("--attach and --replay open one run each: give only one of them")
    if (attach or replay) and (config or overrides):
        raise UserError("--attach/--replay open an existing run: leave out CONFIG and key=value overrides")
    if attach or replay:
        try:
            run = find_run(attach or replay or "", logs_dir)
        except FileNotFoundError as exc:
            raise UserError(str(exc)) from None
        return LaunchPlan(mode="attach" if attach else "replay", logs_dir=logs_dir, run=run.path)
    if config is None:
        path = CONFIG_DIR / f"{DEMO_PRESET}.yaml"
        if not path.is_file():
            return LaunchPlan(mode="demo", logs_dir=logs_dir, config=DEMO_PRESET, run_name=DEMO_PRESET,
                              problem=f"The demo preset {path} is missing (this checkout has no trainer presets yet).")
        config, mode = str(path), "demo"
    else:
        mode = "config"
        path = resolve_config_path(config)
    data = apply_overrides(read_yaml(path), list(overrides))
    section = data.get("data") if isinstance(data.get("data"), dict) else {}
    name = data.get("name") if isinstance(data.get("name"), str) else path.stem
    build = section.get("build") or ""
    if not isinstance(build, str):
        raise ConfigError(str(path), ["data.build must be the hrm build-data arguments as one string"])
    return LaunchPlan(mode=mode, logs_dir=logs_dir, config=config, overrides=list(overrides), run_name=name,
                      data_path=Path(section["path"]) if section.get("path") else None, data_build=build)
