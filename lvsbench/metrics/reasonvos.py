"""ReasonVOS metrics exactly as showlab/VideoLISA @ 146f2bc `evaluation/reason_vos/eval_reason_vos.py` computes
them: per expression J = mean_t J_t and F = mean_t F_t (davis2017 kernel, np.mean) over the sorted PNG listing of
the object's ground-truth folder; benchmark J, F = np.mean over the scored expressions, J&F = (J + F) / 2.
Expressions whose ground-truth folder or prediction folder is absent are skipped (not counted), and one with a
missing prediction frame is dropped (its worker crashes): both shrink the denominator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from lvsbench.metrics.functional import j_and_f


def frame_scores(gt: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    return j_and_f(gt, pred)


def expression_scores(frames: Iterable[tuple[float, float]]) -> dict[str, float]:
    arr = np.asarray(list(frames), dtype=np.float64).reshape(-1, 2)
    if arr.shape[0] == 0:
        raise ValueError("an expression needs at least one frame")
    return {"J": float(arr[:, 0].mean()), "F": float(arr[:, 1].mean())}


def aggregate(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The benchmark J, F (np.mean over the scored expressions, meta order), J&F and their count."""
    j = float(np.mean([r["J"] for r in rows])) if rows else float("nan")
    f = float(np.mean([r["F"] for r in rows])) if rows else float("nan")
    return {"J": j, "F": f, "JF": (j + f) / 2, "n": len(rows)}


__all__ = ["aggregate", "expression_scores", "frame_scores"]
