"""The `hrm` command. Each command lives in `hrm/commands/<name>.py`; this file only lists them."""

from __future__ import annotations

import sys

import typer

from hrm.commands.build_data import app as build_data_app
from hrm.commands.compare import compare
from hrm.commands.doctor import doctor
from hrm.commands.eval import eval_run
from hrm.commands.ood import ood
from hrm.commands.runs import runs
from hrm.commands.stats import stats
from hrm.commands.sweep import sweep
from hrm.commands.train import train
from hrm.commands.tui import tui
from hrm.errors import UserError

app = typer.Typer(
    name="hrm",
    help="A terminal workbench for Hierarchical Reasoning Models: build puzzle data, train HRM and "
    "baselines, watch runs live, compare them with Pass@k.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.command("tui")(tui)
app.command("doctor")(doctor)
app.command("runs")(runs)
app.add_typer(build_data_app, name="build-data")
app.command("compare")(compare)
app.command("eval")(eval_run)
app.command("train")(train)
app.command("sweep")(sweep)
app.command("ood")(ood)
app.command("stats")(stats)


def main() -> None:
    """Entry point: user mistakes print one clear message and exit 2, never a traceback."""
    try:
        app()
    except UserError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", fg="yellow", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
