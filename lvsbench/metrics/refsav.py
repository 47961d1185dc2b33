"""Ref-SAV metrics exactly as bytedance/Sa2VA @ 9832e1a `tools/eval/eval_ref_sav.py` computes them.

Per frame (davis2017 kernel, `lvsbench.metrics.functional.j_and_f`): J and F on the binarised uint8 sum of the
target objects' masks; A = share of pixels where that raw sum equals the raw prediction value (`np.mean(gt ==
pred)`; a pixel covered by two target objects holds 2 and never matches a 0/1 prediction). Per expression: the
`np.mean` of each over all frames of `frames`. The CSV values are `round(100 * x, 2)` on numpy floats, i.e.
numpy's rounding (x100, round half to even, /100), and JF = round(100 * (j + f) / 2, 2). Benchmark figures: for
the long (type_id 0) and short (type_id 1) subsets, the plain mean of the *rounded* J, F and A, JF = (J + F) / 2;
overall = mean of the two subset figures (not pooled). A subset without expressions gives NaN, as upstream.

Functions are pure; `RefSAVAccumulator` only collects rows and averages them in the order it is asked for.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lvsbench.metrics.functional import j_and_f
from lvsbench.metrics.official_missing import MissingInput, Outcome, official_outcomes

SUBSETS: dict[int, str] = {0: "long", 1: "short"}
METRICS: tuple[str, ...] = ("J", "F", "JF", "A")
OFFICIAL_ON_MISSING: dict[str, Outcome] = {
    "video": "drop", "expression": "drop", "first_frame": "drop", "frames": "drop", "size": "drop",
    "ground_truth": "drop",
}
"""eval_ref_sav.py has no try/except and no missing-video branch: a KeyError / IndexError / broadcast error kills
the worker and the expression leaves the mean."""


def frame_accuracy(gt: np.ndarray, pred: np.ndarray) -> float:
    """A_t = |{gt == pred}| / (H * W) on raw uint8 values (VISA `get_r2vos_accuracy`)."""
    if gt.shape != pred.shape:
        raise ValueError(f"gt and pred shapes differ: {gt.shape} vs {pred.shape}")
    return int(np.count_nonzero(gt == pred)) / gt.size


def frame_scores(gt_sum: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    """(J, F, A) of one frame: `gt_sum` the uint8 sum of the target masks, `pred` the uint8 0/1 prediction."""
    j, f = j_and_f(gt_sum, pred)
    return j, f, frame_accuracy(gt_sum, pred)


@dataclass(frozen=True)
class RawScores:
    """Per-expression means over frames, before rounding (the official `[j, f, a]`)."""

    J: float
    F: float
    A: float


def expression_scores(frames: Iterable[tuple[float, float, float]]) -> RawScores:
    """np.mean over frames (pairwise summation, as upstream's `.mean()` on the per-frame vector)."""
    arr = np.asarray(list(frames), dtype=np.float64).reshape(-1, 3)
    if arr.shape[0] == 0:
        raise ValueError("an expression needs at least one frame")
    return RawScores(*(float(arr[:, i].mean()) for i in range(3)))


def round2(x: float) -> float:
    """`round(100 * x, 2)` as upstream evaluates it on numpy.float64 (numpy rounding, not Python's)."""
    return float(np.round(np.float64(100) * np.float64(x), 2))


def rounded(raw: RawScores) -> dict[str, float]:
    """The official CSV row: J, F, JF, A in 0..100, rounded to 2 decimals."""
    j, f = np.float64(raw.J), np.float64(raw.F)
    return {"J": round2(raw.J), "F": round2(raw.F), "JF": float(np.round(100 * (j + f) / 2, 2)),
            "A": round2(raw.A)}


def _mean(values: list[float]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.array(values, dtype=np.float64).mean())


def aggregate(rows: Sequence[tuple[int, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    """Subset and overall figures from (type_id, rounded row) pairs, in the given order."""
    out: dict[str, dict[str, float]] = {}
    for t, name in SUBSETS.items():
        sel = [r for tt, r in rows if tt == t]
        fig = {m: _mean([r[m] for r in sel]) for m in ("J", "F", "A")}
        fig["JF"] = (fig["J"] + fig["F"]) / 2
        fig["n"] = len(sel)
        out[name] = fig
    out["overall"] = {m: (out["long"][m] + out["short"][m]) / 2 for m in ("J", "F", "A", "JF")}
    return out


class RefSAVAccumulator:
    """Rows keyed by the official key `<video>_<exp_id>`: update with raw scores, merge, compute in meta order."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[int, RawScores]] = {}

    def update(self, key: str, type_id: int, raw: RawScores) -> dict[str, float]:
        if type_id not in SUBSETS:
            raise ValueError(f"{key}: type_id must be 0 (long) or 1 (short), got {type_id}")
        self.rows[key] = (type_id, raw)
        return rounded(raw)

    def merge(self, other: RefSAVAccumulator) -> RefSAVAccumulator:
        self.rows.update(other.rows)
        return self

    def per_expression(self, order: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
        keys = [k for k in (order or self.rows) if k in self.rows]
        return {k: {"type_id": self.rows[k][0], **rounded(self.rows[k][1])} for k in keys}

    def compute(self, order: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
        keys = [k for k in (order or self.rows) if k in self.rows]
        return aggregate([(self.rows[k][0], rounded(self.rows[k][1])) for k in keys])

    def official_equivalent(self, order: Sequence[str], missing: Sequence[MissingInput]) -> dict[str, object]:
        """What eval_ref_sav.py reports given the missing items: the same rows minus the dropped expressions."""
        outcomes = official_outcomes(order, missing, OFFICIAL_ON_MISSING)
        kept = [k for k in order if outcomes[k] in ("score", "empty")]
        return {"aggregates": self.compute(kept), "n_scored": len(kept),
                "dropped": [k for k in order if outcomes[k] == "drop"]}
