from __future__ import annotations

from pathlib import Path

import typer

from hrm.eval import options as opt


def eval_run(
    source: Path = typer.Argument(..., help="A run directory (its newest valid checkpoint) or a checkpoint file."),
    data: Path | None = typer.Option(None, "--data", help="Dataset folder; default: the run's data.path."),
    split: str = opt.SPLIT,
    max_puzzles: int = opt.MAX_PUZZLES,
    n_samples: int = opt.N_SAMPLES,
    k: str = opt.K,
    temperature: float = opt.TEMPERATURE,
    aug_temperature: float = opt.AUG_TEMPERATURE,
    augment: str = opt.AUGMENT,
    halt_max_steps: int | None = opt.HALT_MAX_STEPS,
    eval_act: bool = opt.EVAL_ACT,
    vote: bool = opt.VOTE,
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    device: str = opt.DEVICE,
    batch_size: int = opt.BATCH_SIZE,
    threads: int = opt.THREADS,
    seed: int = opt.SEED,
) -> None:
    """Verifier-checked exact accuracy, cell accuracy, label-exact and Pass@k (95% CIs) of one run."""
    import json

    from hrm.eval.compare import build_results
    from hrm.eval.report import eval_summary, print_eval
    from hrm.eval.run_compare import evaluate_models
    from hrm.eval.settings import EvalSettings, parse_ks

    ks = parse_ks(k)
    settings = EvalSettings(split=split, max_puzzles=max_puzzles, n_samples=n_samples, temperature=temperature,
                            aug_temperature=aug_temperature, augment=augment, halt_max_steps=halt_max_steps,
                            eval_act=eval_act, vote=vote, device=device, batch_size=batch_size, seed=seed,
                                threads=threads)
    models, _ids, meta = evaluate_models({"model": [str(source)]}, data, settings)
    results = build_results(models, ks, seed=seed, meta=meta)
    summary = eval_summary(results)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        print_eval(summary)
