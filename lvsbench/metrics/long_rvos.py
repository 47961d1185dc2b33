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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from lvsbench.metrics.functional import j_and_f
from lvsbench.metrics.official_missing import MissingInput, official_outcomes, rules

TYPES: tuple[str, ...] = ("static", "dynamic", "hybrid")
OVERALL_ORDER: tuple[str, ...] = ("dynamic", "static", "hybrid")
"""The order in which `eval_overall.py` concatenates the three per-type result files."""
METRICS: tuple[str, ...] = ("J", "F", "JF", "tIoU", "vIoU")
ZERO: tuple[int, int, int, int] = (0, 0, 0, 0)


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


@dataclass(frozen=True)
class LongRVOSScores:
    """Per-expression values (`[J, F, tIoU, vIoU]` of the official JSON); ints where upstream has ints."""

    J: float
    F: float
    tIoU: float
    vIoU: float

    def as_list(self) -> list[float]:
        return [self.J, self.F, self.tIoU, self.vIoU]


def expression_scores(frames: Iterable[FrameScore]) -> LongRVOSScores:
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
    return LongRVOSScores(float(j.mean()), float(f.mean()), tiou, viou)


def _figures(rows: Sequence[LongRVOSScores]) -> dict[str, float]:
    out: dict[str, float] = {m: float(np.mean([getattr(r, m) for r in rows])) if rows else float("nan")
                             for m in ("J", "F", "tIoU", "vIoU")}
    out["JF"] = (out["J"] + out["F"]) / 2
    out["n"] = len(rows)
    return out


def aggregate(rows: Sequence[tuple[str, LongRVOSScores]]) -> dict[str, dict[str, float]]:
    """Per type and overall from (type, scores) pairs given in meta order."""
    out = {t: _figures([r for tt, r in rows if tt == t]) for t in TYPES}
    out["overall"] = _figures([r for t in OVERALL_ORDER for tt, r in rows if tt == t])
    return out


class LongRVOSAccumulator:
    """Rows keyed by the official key `<video>_<exp_id>`: update, merge, compute in meta order."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, LongRVOSScores]] = {}

    def update(self, key: str, type_: str, scores: LongRVOSScores) -> None:
        if type_ not in TYPES:
            raise ValueError(f"{key}: type must be one of {', '.join(TYPES)}, got {type_!r}")
        self.rows[key] = (type_, scores)

    def merge(self, other: LongRVOSAccumulator) -> LongRVOSAccumulator:
        self.rows.update(other.rows)
        return self

    def compute(self, order: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
        keys = [k for k in (order or self.rows) if k in self.rows]
        return aggregate([self.rows[k] for k in keys])

    def official_equivalent(self, order: Sequence[str], missing: Sequence[MissingInput]) -> dict[str, object]:
        """What the official scripts report given the missing items: missing videos scored [0, 0, 0, 0],
        crashed expressions dropped, other missing frames as scored here (read as empty)."""
        outcomes = official_outcomes(order, missing, rules("long-rvos"))
        rows: dict[str, tuple[str, LongRVOSScores]] = {}
        for k in order:
            if k not in self.rows or outcomes[k] in ("drop", "skip"):
                continue
            t, s = self.rows[k]
            rows[k] = (t, LongRVOSScores(*ZERO) if outcomes[k] in ("zero", "zero_int") else s)
        return {"per_expression": {k: s.as_list() for k, (_, s) in rows.items()},
                "aggregates": aggregate(list(rows.values())), "n_scored": len(rows),
                "zeroed": [k for k in order if outcomes[k] in ("zero", "zero_int")],
                "dropped": [k for k in order if outcomes[k] in ("drop", "skip")]}
