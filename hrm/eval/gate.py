"""The CI gate: passes only when the candidate (HRM) has a higher Pass@1 than every baseline.

The rule is the point estimate (mean over seeds), as the seed asked: "fail when HRM's Pass@1
gain is not positive". The reason also says whether the gain's confidence interval excludes 0,
so a pass on noise is visible as such.
"""

from __future__ import annotations

from typing import Any


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def gate(results: dict[str, Any], k: int = 1) -> dict[str, Any]:
    """{"passed": bool, "reason": str} from a results dict (build_results output)."""
    candidate = results.get("candidate")
    rows = [c for c in results.get("comparisons", []) if c["a"] == candidate and c["k"] == k]
    if k not in results.get("ks", []):
        return {"passed": False, "reason": f"Pass@{k} was not computed (ks: {results.get('ks')}): nothing to gate on"}
    if not rows:
        return {"passed": False, "reason": f"only one model ({candidate}): the gate needs a baseline to beat"}
    pak = results["pass_at_k"]
    parts, passed = [], True
    level = round(100 * results.get("confidence", 0.95))
    for c in rows:
        a, b = pak[c["a"]][str(k)]["mean"], pak[c["b"]][str(k)]["mean"]
        better = c["diff"] > 0
        passed &= better
        sig = ("significant" if c["ci_low"] > 0 or c["ci_high"] < 0 else "not significant")
        parts.append(f"{c['a']} Pass@{k} {_pct(a)} {'>' if better else 'is not greater than'} {c['b']} {_pct(b)} "
                     f"(diff {100 * c['diff']:+.1f} points, {level}% CI [{100 * c['ci_low']:+.1f}, "
                     f"{100 * c['ci_high']:+.1f}], {sig})")
    return {"passed": bool(passed), "reason": "; ".join(parts)}
