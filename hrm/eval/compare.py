"""Turn per-puzzle outcomes of several models into results.json (schema: docs/ARCHITECTURE.md).

For each model and k: Pass@k per seed (mean over puzzles of the unbiased estimator), the mean
over seeds, and a bootstrap CI over puzzles and seeds. For each pair (the candidate against every
other model) and k: the difference with a paired bootstrap CI, Welch's t-test and Cohen's d /
Hedges' g across seeds, and McNemar's test on per-puzzle outcomes, where a puzzle counts as
solved by a model when its Pass@k, averaged over seeds, exceeds 1/2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hrm.eval.gate import gate
from hrm.eval.outcomes import ModelOutcomes
from hrm.eval.passk import pass_at_k_per_problem, reportable_ks
from hrm.eval.stats import bootstrap_ci, cohens_d, hedges_g, mcnemar, welch_t_test


def passk_matrix(model: ModelOutcomes, k: int) -> np.ndarray:
    """Per-puzzle Pass@k, shaped (seeds, puzzles)."""
    return np.stack([pass_at_k_per_problem(r.n, r.correct, k) for r in model.runs])


def pick_candidate(models: list[ModelOutcomes]) -> str:
    """The model the others are compared against: the only HRM-family model, else the first listed."""
    hrm = [m.name for m in models if m.arch.startswith("hrm")]
    return hrm[0] if len(hrm) == 1 else models[0].name


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _model_summary(m: ModelOutcomes, confidence: float, n_resamples: int, seed: int) -> dict[str, Any]:
    train_times = [r.train_wall_time_s for r in m.runs]
    vote = [r.vote_rank for r in m.runs if r.vote_rank is not None]
    exact = bootstrap_ci(np.stack([r.first_correct.astype(float) for r in m.runs]), confidence=confidence,
                         n_resamples=n_resamples, seed=seed)
    return {
        "name": m.name,
        "arch": m.arch,
        "runs": [r.run for r in m.runs],
        "seeds": m.seeds,
        "params": int(m.runs[0].params),
        "forward_passes_per_answer": float(np.mean([r.forward_passes_per_answer for r in m.runs])),
        "flops_per_answer": _mean([r.flops_per_answer for r in m.runs]),
        "wall_time_s": _mean(train_times),
        "eval_wall_time_s": float(np.mean([r.eval_wall_time_s for r in m.runs])),
        "exact_accuracy": exact.point,
        "exact_ci_low": exact.low,
        "exact_ci_high": exact.high,
        "cell_accuracy": float(np.mean([r.first_cell_accuracy for r in m.runs])),
        "label_exact": float(np.mean([r.first_label_exact.mean() for r in m.runs])),
        "attempts_label_exact": float(np.mean([(r.label_exact / r.n).mean() for r in m.runs])),
        "vote_pass_at_1": float(np.mean([(v == 1).mean() for v in vote])) if vote else None,
        "vote_pass_at_2": float(np.mean([((v >= 1) & (v <= 2)).mean() for v in vote])) if vote else None,
    }


def build_results(
    models: list[ModelOutcomes],
    ks: list[int],
    candidate: str | None = None,
    confidence: float = 0.95,
    n_resamples: int = 9999,
    seed: int = 0,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """results.json as a dict. Every model must have been evaluated on the same puzzles."""
    if len(models) < 1:
        raise ValueError("need at least one model")
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise ValueError(f"model names must be distinct, got {names}")
    n_puzzles = {m.runs[0].n_puzzles for m in models}
    if len(n_puzzles) != 1:
        raise ValueError(f"models were evaluated on different numbers of puzzles: {sorted(n_puzzles)}")
    all_n = np.concatenate([r.n for m in models for r in m.runs])
    usable = reportable_ks(ks, all_n)
    skipped = sorted(set(ks) - set(usable))

    pass_at_k: dict[str, dict[str, Any]] = {}
    matrices: dict[tuple[str, int], np.ndarray] = {}
    for m in models:
        pass_at_k[m.name] = {}
        for k in usable:
            mat = matrices[m.name, k] = passk_matrix(m, k)
            ci = bootstrap_ci(mat, confidence=confidence, n_resamples=n_resamples, seed=seed)
            pass_at_k[m.name][str(k)] = {"mean": ci.point, "ci_low": ci.low, "ci_high": ci.high,
                                          "per_seed": mat.mean(axis=1).tolist(), "ci_method": ci.method}

    candidate = candidate or pick_candidate(models)
    if candidate not in names:
        raise ValueError(f"candidate model '{candidate}' is not among {names}")
    comparisons = []
    for other in (n for n in names if n != candidate):
        for k in usable:
            a, b = matrices[candidate, k], matrices[other, k]
            diff = bootstrap_ci(a, b, confidence=confidence, n_resamples=n_resamples, seed=seed)
            per_seed_a, per_seed_b = a.mean(axis=1), b.mean(axis=1)
            welch = welch_t_test(per_seed_a, per_seed_b)
            d, g = cohens_d(per_seed_a, per_seed_b), hedges_g(per_seed_a, per_seed_b)
            mc = mcnemar(a.mean(axis=0) > 0.5, b.mean(axis=0) > 0.5)
            comparisons.append({
                "a": candidate, "b": other, "k": k, "diff": diff.point, "ci_low": diff.low, "ci_high": diff.high,
                "welch_t": welch.statistic, "welch_p": welch.p, "cohens_d": d.value, "hedges_g": g.value,
                "mcnemar_p": mc.p, "mcnemar_method": mc.method, "mcnemar_counts": mc.detail,
                "notes": {key: text for key, text in
                          (("ci", diff.reason), ("welch", welch.reason), ("effect_size", d.reason),
                           ("mcnemar", mc.reason)) if text},
            })
    results: dict[str, Any] = {
        "ks": usable,
        "ks_skipped": skipped,
        "n_samples": int(all_n.min()),
        "n_puzzles": n_puzzles.pop(),
        "confidence": confidence,
        "candidate": candidate,
        **(meta or {}),
        "models": [_model_summary(m, confidence, n_resamples, seed) for m in models],
        "pass_at_k": pass_at_k,
        "comparisons": comparisons,
    }
    results["gate"] = gate(results)
    return results
