"""ReasonVOS metrics exactly as showlab/VideoLISA @ 146f2bc `evaluation/reason_vos/eval_reason_vos.py` computes
them: per expression J = mean_t J_t and F = mean_t F_t (davis2017 kernel, np.mean) over the sorted PNG listing of
the object's ground-truth folder; benchmark J, F = np.mean over the scored expressions, J&F = (J + F) / 2.
Expressions whose ground-truth folder or prediction folder is absent are skipped (not counted), and one with a
missing prediction frame is dropped (its worker crashes): both shrink the denominator.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from lvsbench.metrics.functional import j_and_f
from lvsbench.metrics.official_missing import MissingInput, official_outcomes, rules

METRICS: tuple[str, ...] = ("J", "F", "JF")



def frame_scores(gt: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    return j_and_f(gt, pred)


def expression_scores(frames: Iterable[tuple[float, float]]) -> tuple[float, float]:
    arr = np.asarray(list(frames), dtype=np.float64).reshape(-1, 2)
    if arr.shape[0] == 0:
        raise ValueError("an expression needs at least one frame")
    return float(arr[:, 0].mean()), float(arr[:, 1].mean())


def aggregate(rows: Sequence[tuple[float, float]]) -> dict[str, float]:
    j = float(np.mean([r[0] for r in rows])) if rows else float("nan")
    f = float(np.mean([r[1] for r in rows])) if rows else float("nan")
    return {"J": j, "F": f, "JF": (j + f) / 2, "n": len(rows)}


class ReasonVOSAccumulator:
    """Rows keyed by the official key `<source>_<video>_<obj_id>_<exp_id>`: update, merge, compute in meta order."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[float, float]] = {}

    def update(self, key: str, scores: tuple[float, float]) -> None:
        self.rows[key] = scores

    def merge(self, other: ReasonVOSAccumulator) -> ReasonVOSAccumulator:
        self.rows.update(other.rows)
        return self

    def compute(self, order: Sequence[str] | None = None) -> dict[str, float]:
        return aggregate([self.rows[k] for k in (order or self.rows) if k in self.rows])

    def official_equivalent(self, order: Sequence[str], missing: Sequence[MissingInput]) -> dict[str, object]:
        outcomes = official_outcomes(order, missing, rules("reasonvos"))
        kept = [k for k in order if k in self.rows and outcomes[k] in ("score", "empty")]
        return {"aggregates": self.compute(kept), "n_scored": len(kept),
                "skipped": [k for k in order if outcomes[k] == "skip"],
                "dropped": [k for k in order if outcomes[k] == "drop"]}
