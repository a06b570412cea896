"""Command-line options shared by `hrm eval` and `hrm compare` (typer only: no heavy imports)."""

from __future__ import annotations

import typer

SPLIT = typer.Option("test", "--split", help="Split to evaluate on.")
MAX_PUZZLES = typer.Option(0, "--max-puzzles", min=0, help="Evaluate the first N puzzles; 0 = all.")
N_SAMPLES = typer.Option(8, "--n-samples", min=1, help="Attempts per puzzle (and run) for Pass@k.")
K = typer.Option("1,2,5", "--k", help="Comma-separated ks to report (each needs k <= --n-samples).")
TEMPERATURE = typer.Option(1.0, "--temperature", min=0, help="Sampling temperature of autoregressive models (GPT-2).")
AUG_TEMPERATURE = typer.Option(0.0, "--aug-temperature", min=0, help="Temperature for models that answer all cells "
                               "at once (HRM); 0 = argmax: their attempts differ by augmentation already.")
AUGMENT = typer.Option("auto", "--augment", help="auto (augment non-autoregressive models), on, off.")
HALT_MAX_STEPS = typer.Option(None, "--halt-max-steps", min=1, help="ACT segments at eval (HRM).")
EVAL_ACT = typer.Option(False, "--eval-act", help="Let HRM halt by its Q-head at eval instead of running the "
                        "maximum number of segments.")
VOTE = typer.Option(False, "--vote", help="Also report ARC-style voting over the attempts.")
DEVICE = typer.Option("auto", "--device", help="auto, cpu, cuda, mps.")
BATCH_SIZE = typer.Option(256, "--batch-size", min=1, help="Rows per model call during evaluation.")
THREADS = typer.Option(0, "--threads", min=0, help="CPU threads for evaluation; 0 = torch's default. On a busy "
                       "machine 1 can be several times faster for small models.")
SEED = typer.Option(0, "--seed", help="Seed of augmentations, sampling and the bootstrap.")
