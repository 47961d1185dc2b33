"""Long-RVOS metrics exactly as iSEE-Laboratory/Long_RVOS @ 447682a `eval/eval_long_rvos/eval_{static,dynamic,
hybrid,overall}.py` compute them.

Per frame: J_t, F_t (davis2017 kernel, `lvsbench.metrics.functional.j_and_f`) and whether the ground truth and
the prediction have any foreground pixel. Per expression, over every frame of `frames` (meta order):
J = mean_t J_t, F = mean_t F_t (np.mean); with G = {t: GT_t non-empty}, P = {t: P_t non-empty},
tIoU = |G & P| / |G | P| and vIoU = (sum of J_t over G & P, numpy sum in frame order) / |G | P|; both are the
int 1 when G | P is empty. Per type (static, dynamic, hybrid = meta "static+dynamic"): np.mean of each value over
that type's expressions, J&F = (J + F) / 2. Overall: the expressions of the three types pooled in the order of
`eval_overall.py` (dynamic, static, hybrid) and averaged, i.e. a mean over expressions, not of type means.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lvsbench.metrics.functional import j_and_f

TYPES: tuple[str, ...] = ("static", "dynamic", "hybrid")


@dataclass(frozen=True)
class FrameScore:
    j: float
    f: float
    gt_any: bool
    pred_any: bool


def frame_scores(gt: np.ndarray, pred: np.ndarray) -> FrameScore:
    """J, F and non-emptiness of one frame (any non-zero value is foreground)."""
    j, f = j_and_f(gt, pred)
    return FrameScore(j, f, bool(np.any(gt)), bool(np.any(pred)))


def expression_scores(frames: Iterable[FrameScore]) -> dict[str, float]:
    """J, F, tIoU, vIoU of one expression (the official JSON's `[J, F, tIoU, vIoU]`; ints where upstream has ints)."""
    fs = list(frames)
    if not fs:
        raise ValueError("an expression needs at least one frame")
    j = np.array([x.j for x in fs], dtype=np.float64)
    f = np.array([x.f for x in fs], dtype=np.float64)
    g = np.array([x.gt_any for x in fs])
    p = np.array([x.pred_any for x in fs])
    inter = g & p
    union = int((g | p).sum())
    if union == 0:
        tiou: float = 1
        viou: float = 1
    else:
        tiou = float(np.int64(inter.sum()) / np.int64(union))
        viou = float(j[inter].sum() / union)
    return {"J": float(j.mean()), "F": float(f.mean()), "tIoU": tiou, "vIoU": viou}


def _figures(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {m: float(np.mean([r[m] for r in rows])) if rows else float("nan")
                             for m in ("J", "F", "tIoU", "vIoU")}
    out["JF"] = (out["J"] + out["F"]) / 2
    out["n"] = len(rows)
    return out


def aggregate(rows: Sequence[tuple[str, Mapping[str, float]]], pooled: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per type and overall from (type, values) pairs given in meta order; overall pools the types in the order
    `pooled` (`eval_overall.py`: dynamic, static, hybrid = the subsets of `Protocol` long-rvos)."""
    out = {t: _figures([r for tt, r in rows if tt == t]) for t in TYPES}
    out["overall"] = _figures([r for t in pooled for tt, r in rows if tt == t])
    return out


__all__ = ["FrameScore", "TYPES", "aggregate", "expression_scores", "frame_scores"]
