from __future__ import annotations

from pathlib import Path

import typer


def compare(
    model: list[str] = typer.Option(
        [], "--model", help="NAME=RUN[,RUN...]: a model and its runs (one per seed; run directories or checkpoint "
        "files). Repeat for each model."),
    config: list[str] = typer.Option(
        [], "--config", help="NAME=CONFIG: train this preset first (--seeds runs of --minutes each), then compare. "
        "Repeat for each model."),
    seeds: int = typer.Option(3, "--seeds", min=1, help="Training runs per --config model (seeds 0..N-1)."),
    minutes: float = typer.Option(0.0, "--minutes", min=0, help="Wall-time budget of each training run "
                                  "(train.max_minutes); 0 keeps the preset's own stop."),
    train_set: list[str] = typer.Option([], "--train-set", help="key=value override for every training run."),
    data: Path | None = typer.Option(None, "--data", help="Dataset folder; default: data.path of the first run."),
    split: str = typer.Option("test", "--split", help="Split to evaluate on."),
    max_puzzles: int = typer.Option(0, "--max-puzzles", min=0, help="Evaluate the first N puzzles; 0 = all."),
    n_samples: int = typer.Option(8, "--n-samples", min=1, help="Attempts per puzzle and run for Pass@k."),
    k: str = typer.Option("1,2,5", "--k", help="Comma-separated ks to report (each needs k <= --n-samples)."),
    temperature: float = typer.Option(1.0, "--temperature", min=0, help="Sampling temperature of autoregressive "
                                      "models (GPT-2)."),
    aug_temperature: float = typer.Option(0.0, "--aug-temperature", min=0, help="Temperature for models that answer "
                                          "all cells at once (HRM); their attempts differ by augmentation already."),
    augment: str = typer.Option("auto", "--augment", help="auto (augment non-autoregressive models), on, off."),
    halt_max_steps: int | None = typer.Option(None, "--halt-max-steps", min=1, help="ACT segments at eval (HRM)."),
    eval_act: bool = typer.Option(False, "--eval-act", help="Let HRM halt by its Q-head at eval instead of "
                                  "running the maximum number of segments."),
    vote: bool = typer.Option(False, "--vote", help="Also report ARC-style voting over the attempts."),
    candidate: str | None = typer.Option(None, "--candidate", help="Model the others are compared with; default: "
                                         "the HRM model."),
    out: Path = typer.Option(Path("compare"), "--out", help="Folder for results.json, report.md, outcomes.json."),
    outcomes: Path | None = typer.Option(None, "--outcomes", help="Rebuild the report from a saved outcomes.json "
                                         "(no training, no evaluation)."),
    gate: bool = typer.Option(False, "--gate", help="Exit 1 unless the candidate's Pass@1 beats every other model."),
    as_json: bool = typer.Option(False, "--json", help="Print results.json instead of the tables."),
    logs_dir: Path = typer.Option(Path("logs"), "--logs-dir", help="Where --config runs are written."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, mps."),
    batch_size: int = typer.Option(256, "--batch-size", min=1, help="Rows per model call during evaluation."),
    threads: int = typer.Option(0, "--threads", min=0, help="CPU threads for evaluation; 0 = torch's default. "
                                "On a busy machine 1 can be several times faster for small models."),
    seed: int = typer.Option(0, "--seed", help="Seed of augmentations, sampling and the bootstrap."),
    n_resamples: int = typer.Option(9999, "--n-resamples", min=100, help="Bootstrap resamples."),
) -> None:
    """Compare HRM with baselines: Pass@k with CIs, Welch/McNemar tests, compute; --gate for CI."""
    import json
    import shlex
    import sys

    from hrm.eval.compare import build_results
    from hrm.eval.outcomes import OUTCOMES_FILE, load_outcomes, save_outcomes
    from hrm.eval.report import markdown_report, print_tables
    from hrm.eval.settings import EvalSettings, parse_ks
    from hrm.rundir import atomic_write_text

    ks = parse_ks(k)
    if outcomes is not None:
        if model or config:
            raise _usage("--outcomes rebuilds a saved comparison: drop --model/--config")
        if not outcomes.is_file():
            raise _usage(f"--outcomes {outcomes}: no such file (it is written as {OUTCOMES_FILE} by hrm compare)")
        models, puzzle_ids, meta = load_outcomes(outcomes)
    else:
        from hrm.eval.run_compare import evaluate_models, parse_model_specs, train_configs

        if not model and not config:
            raise _usage("name the models: --model NAME=RUN[,RUN...] and/or --config NAME=CONFIG (at least two in all)")
        specs = parse_model_specs(model)
        specs.update(train_configs(config, seeds=seeds, minutes=minutes, overrides=train_set, logs_dir=logs_dir,
                                   existing=set(specs)))
        settings = EvalSettings(split=split, max_puzzles=max_puzzles, n_samples=n_samples, temperature=temperature,
                                aug_temperature=aug_temperature, augment=augment, halt_max_steps=halt_max_steps,
                                eval_act=eval_act, vote=vote, device=device, batch_size=batch_size, seed=seed,
                                threads=threads)
        models, puzzle_ids, meta = evaluate_models(specs, data, settings)
        meta["command"] = "hrm compare " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    try:
        results = build_results(models, ks, candidate=candidate, n_resamples=n_resamples, seed=seed, meta=meta)
    except ValueError as exc:
        raise _usage(str(exc)) from None
    if not results["ks"]:
        raise _usage(f"--k {k}: no k is <= the {results['n_samples']} attempts per puzzle; lower k or raise --n-samples")
    out.mkdir(parents=True, exist_ok=True)
    if outcomes is None or outcomes.resolve() != (out / OUTCOMES_FILE).resolve():
        save_outcomes(out / OUTCOMES_FILE, models, puzzle_ids, meta)
    atomic_write_text(out / "results.json", json.dumps(results, indent=2) + "\n")
    atomic_write_text(out / "report.md", markdown_report(results))
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    else:
        print_tables(results)
        typer.echo(f"wrote {out / 'results.json'}, {out / 'report.md'}, {out / OUTCOMES_FILE}")
    if gate and not results["gate"]["passed"]:
        typer.secho(f"gate failed: {results['gate']['reason']}", fg="red", err=True)
        raise typer.Exit(1)


def _usage(message: str):
    from hrm.errors import UserError

    return UserError(message)
