from __future__ import annotations

from pathlib import Path

import typer


def eval_run(
    source: Path = typer.Argument(..., help="A run directory (its newest valid checkpoint) or a checkpoint file."),
    data: Path | None = typer.Option(None, "--data", help="Dataset folder; default: the run's data.path."),
    split: str = typer.Option("test", "--split", help="Split to evaluate on."),
    max_puzzles: int = typer.Option(0, "--max-puzzles", min=0, help="Evaluate the first N puzzles; 0 = all."),
    n_samples: int = typer.Option(8, "--n-samples", min=1, help="Attempts per puzzle for Pass@k."),
    k: str = typer.Option("1,2,5", "--k", help="Comma-separated ks to report (each needs k <= --n-samples)."),
    temperature: float = typer.Option(1.0, "--temperature", min=0, help="Sampling temperature of autoregressive "
                                      "models (GPT-2)."),
    aug_temperature: float = typer.Option(0.0, "--aug-temperature", min=0, help="Temperature for models that answer "
                                          "all cells at once (HRM); 0 = argmax of each augmented attempt."),
    augment: str = typer.Option("auto", "--augment", help="auto (augment non-autoregressive models), on, off."),
    halt_max_steps: int | None = typer.Option(None, "--halt-max-steps", min=1, help="ACT segments at eval (HRM)."),
    eval_act: bool = typer.Option(False, "--eval-act", help="Let HRM halt by its Q-head at eval."),
    vote: bool = typer.Option(False, "--vote", help="Also report ARC-style voting over the attempts."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, mps."),
    batch_size: int = typer.Option(256, "--batch-size", min=1, help="Rows per model call."),
    threads: int = typer.Option(0, "--threads", min=0, help="CPU threads for evaluation; 0 = torch's default. "
                                "On a busy machine 1 can be several times faster for small models."),
    seed: int = typer.Option(0, "--seed", help="Seed of augmentations, sampling and the bootstrap."),
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
