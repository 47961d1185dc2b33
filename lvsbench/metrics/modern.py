"""Per-expression metrics of the 2023-2026 benchmarks (MeViS, MeViS v2, ReVOS), exactly as their official evaluators
compute them, and what those evaluators report when predictions are missing.

Sources (read, not copied): MeViS `tools/eval_mevis.py` @ 7c0620b (henghuiding/MeViS); VISA `tools/eval_revos.py`
and `tools/metrics.py` (`get_r2vos_accuracy`, `get_r2vos_robustness`) @ ec158fd (cilinyan/VISA); Sa2VA
`tools/eval/eval_revos.py` @ 9832e1a (bytedance/Sa2VA). All of them call the davis2017 `db_eval_iou` /
`db_eval_boundary` kernel, reproduced bit for bit by `lvsbench.metrics.functional.j_and_f`.

Shape of this module: pure per-frame functions (`revos_frame`, `refsav_frame`; MeViS: `j_and_f`), per-expression means
(`ExpressionScores`: `update` per frame, `compute`, `merge`), pure aggregation over expressions in meta order
(`mevis_aggregate`, `subset_aggregate`; also Ref-SAV's), and the one rounding helper (`np_round2`). What the official
scripts do with missing predictions: `lvsbench.metrics.official_missing`.

What the official code does, and these functions therefore do:
- Ground truth of an expression = **uint8 sum** of its objects' masks (the readers' `target_sum`): 2 where two
  targets overlap. J and F binarise it; ReVOS A and R compare raw values.
- Per expression: `np.mean` over **all** listed frames (pairwise summation, so a Python running sum would differ in
  the last bit for T >= 8).
- ReVOS: A_t = share of pixels where GT and prediction hold the same uint8 value; R_t = max(1 - neg/(pos + 1e-6), 0)
  with neg = sum((1 - GT) * P) computed **in uint8** (1 - 2 = 255, 255 * 255 = 1 mod 256) and pos = foreground pixel
  count. VISA reads its own 0/255 PNGs without binarising (`revos-visa-png`: A then counts every foreground pixel
  as an error and R counts a false-positive pixel 255 times); Sa2VA decodes 0/1 RLE (`revos`: the intended values,
  overlap pixels aside). J/F are identical either way.
- ReVOS aggregates: each value `round(100 * x, 2)` with **numpy** rounding, plain `np.mean` per subset
  (type_id 0 referring, 1 reasoning; type_id 2 no-target never enters an aggregate), overall = mean of the two
  subset means, JF = (J + F) / 2 of the subset means.
- Aggregates here are taken in meta-file order; the official scripts average in worker-completion order and differ
  from these by a few ulp between runs.

MeViS v2 N-acc / T-acc / Final: **definition from the GRES paper applied to video; no official code published**
(GRES: Liu, Ding et al. CVPR'23, henghuiding/ReLA @ 3ca9551 `gres_model/evaluation/refer_evaluation.py`). An
expression is predicted no-target iff its masks are empty in every frame, GT no-target iff it has no object.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lvsbench.metrics.functional import j_and_f
from lvsbench.metrics.names import V2_NOTE

__all__ = ["ExpressionScores", "mevis_aggregate", "mevis_v2_scores", "no_target_counts", "np_round2", "pixel_accuracy",
           "refsav_frame", "revos_frame", "revos_robustness", "revos_rounded", "subset_aggregate"]


# ------------------------------------------------------------------------------------------ per frame


def pixel_accuracy(gt: np.ndarray, pred: np.ndarray) -> float:
    """A_t = mean(gt == pred) over raw uint8 values (VISA `get_r2vos_accuracy`; Sa2VA eval_revos.py and
    eval_ref_sav.py): count / size is that exact value. A pixel covered by two targets (sum 2) never matches a 0/1
    prediction."""
    if gt.shape != pred.shape:
        raise ValueError(f"gt {gt.shape} and pred {pred.shape} differ in shape")
    return np.count_nonzero(np.asarray(gt, np.uint8) == np.asarray(pred, np.uint8)) / gt.size


def revos_robustness(gt: np.ndarray, pred: np.ndarray, foreground: np.ndarray) -> float:
    """R_t = max(1 - neg / (pos + 1e-6), 0) with neg = sum((1 - gt) * pred) in uint8 arithmetic (wraps mod 256, as
    VISA `get_r2vos_robustness` on uint8 stacks) and pos = sum(foreground)."""
    g = np.asarray(gt, np.uint8)
    p = np.asarray(pred, np.uint8)
    if g.shape != p.shape or g.shape != foreground.shape:
        raise ValueError(f"gt {g.shape}, pred {p.shape} and foreground {foreground.shape} differ in shape")
    wrapped = np.subtract(np.uint8(1), g, dtype=np.uint8)
    np.multiply(wrapped, p, out=wrapped)
    neg = int(wrapped.sum(dtype=np.uint64))
    pos = int(np.asarray(foreground, np.uint8).sum(dtype=np.uint64))
    return max(1 - neg / (pos + 1e-6), 0.0)


def revos_frame(gt: np.ndarray, pred: np.ndarray, foreground: np.ndarray, *, binarize: bool) -> tuple[float, ...]:
    """(J_t, F_t, A_t, R_t) of one frame. `binarize=False` keeps the prediction's raw values (VISA on PNGs),
    `binarize=True` maps it to 0/1 first (Sa2VA on RLE; the intended A and R)."""
    p = np.asarray(pred)
    if binarize:
        p = (p != 0).view(np.uint8)
    j, f = j_and_f(gt, p)
    return j, f, pixel_accuracy(gt, p), revos_robustness(gt, p, foreground)


def refsav_frame(gt: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    """(J_t, F_t, A_t) of one Ref-SAV frame: `gt` the uint8 target sum, `pred` the 0/1 prediction (Sa2VA
    eval_ref_sav.py @ 9832e1a: eval_revos.py without R)."""
    j, f = j_and_f(gt, pred)
    return j, f, pixel_accuracy(gt, pred)


# ------------------------------------------------------------------------------------------ per expression


@dataclass
class ExpressionScores:
    """Per-frame values of one expression, averaged with `np.mean` (the official `.mean()` over a float64 vector).

    `update(**values)` appends one frame; `compute()` returns the means; `merge` appends another accumulator's
    frames (same metric names), e.g. when frames were scored in chunks, in frame order.
    """

    metrics: tuple[str, ...]
    values: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for m in self.metrics:
            self.values.setdefault(m, [])

    def update(self, *frame_values: float) -> None:
        if len(frame_values) != len(self.metrics):
            raise ValueError(f"expected {len(self.metrics)} values ({', '.join(self.metrics)}), got {frame_values}")
        for m, v in zip(self.metrics, frame_values, strict=True):
            self.values[m].append(float(v))

    def merge(self, other: ExpressionScores) -> ExpressionScores:
        if other.metrics != self.metrics:
            raise ValueError(f"cannot merge {other.metrics} into {self.metrics}")
        for m in self.metrics:
            self.values[m].extend(other.values[m])
        return self

    @property
    def n_frames(self) -> int:
        return len(self.values[self.metrics[0]]) if self.metrics else 0

    def compute(self) -> dict[str, float]:
        if not self.n_frames:
            raise ValueError("no frame was scored")
        return {m: float(np.mean(np.asarray(self.values[m], dtype=np.float64))) for m in self.metrics}


# ------------------------------------------------------------------------------------------ aggregation


def np_round2(x: float) -> float:
    """`round(100 * x, 2)` as the official scripts evaluate it on a numpy float64: numpy rounding (x * 100, rint
    half-to-even, / 100), which differs from Python's `round` on ties such as 0.99675 -> 99.68 (Python: 99.67)."""
    return float(np.round(np.float64(100 * np.float64(x)), 2))


def revos_rounded(values: Mapping[str, float]) -> dict[str, float]:
    """The official CSV row of one expression: J, F, A, R (those present) rounded, and JF = round(100 (J+F)/2)."""
    out = {m: np_round2(values[m]) for m in ("J", "F", "A", "R") if m in values}
    out["JF"] = float(np.round(np.float64(100 * (np.float64(values["J"]) + np.float64(values["F"])) / 2), 2))
    return out


def _mean(values: Sequence[float]) -> float:
    with warnings.catch_warnings():  # an empty subset gives NaN, as in the official scripts
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.mean(np.asarray(values, dtype=np.float64)))


def mevis_aggregate(rows: Sequence[Mapping[str, float]], n_meta: int | None = None) -> dict[str, Any]:
    """eval_mevis.py's printed J, F, J&F: `np.mean` of the per-expression J and F (rows in meta order)."""
    j = _mean([r["J"] for r in rows])
    f = _mean([r["F"] for r in rows])
    out: dict[str, Any] = {"J": j, "F": f, "JF": (j + f) / 2, "n_scored": len(rows)}
    if n_meta is not None:
        out["n_meta"] = n_meta
    return out


def subset_aggregate(rows: Sequence[tuple[int, Mapping[str, float]]], subsets: Mapping[int, str],
                     metrics: tuple[str, ...] = ("J", "F", "A", "R")) -> dict[str, dict[str, float]]:
    """Mean of subset means over rounded per-expression values (ReVOS: {0: referring, 1: reason}; Ref-SAV:
    {0: long, 1: short}). `rows` = (type_id, rounded values) in meta order; types outside `subsets` (ReVOS 2,
    no-target) are left out. Per subset JF = (J + F) / 2 of the means; overall = mean of the subsets' values."""
    out: dict[str, dict[str, float]] = {}
    for type_id, name in subsets.items():
        sel = [v for t, v in rows if t == type_id]
        agg = {m: _mean([v[m] for v in sel]) for m in metrics}
        agg["JF"] = (agg["J"] + agg["F"]) / 2
        agg["n"] = len(sel)
        out[name] = agg
    names = list(subsets.values())
    out["overall"] = {m: sum(out[n][m] for n in names) / len(names) for m in (*metrics, "JF")}
    return out


# ------------------------------------------------------------------------------------------ MeViS v2


def no_target_counts(flags: Iterable[tuple[bool, bool]]) -> dict[str, int]:
    """TP/FN/TN/FP over (gt_no_target, pred_no_target) pairs (GRES `refer_evaluation.py` counting)."""
    c = {"TP": 0, "FN": 0, "TN": 0, "FP": 0}
    for gt_nt, pred_nt in flags:
        c["TP" if gt_nt and pred_nt else "FN" if gt_nt else "FP" if pred_nt else "TN"] += 1
    return c


def mevis_v2_scores(jf: float, counts: Mapping[str, int]) -> dict[str, Any]:
    """N-acc = TP / (TP + FN), T-acc = TN / (TN + FP) (both 0 without a no-target sample, as GRES), and
    Final = (J&F + N-acc + T-acc) / 3. Definition from the GRES paper applied to video; no official code published."""
    has_nt = counts["TP"] + counts["FN"] > 0
    n_acc = counts["TP"] / (counts["TP"] + counts["FN"]) if has_nt else 0.0
    t_den = counts["TN"] + counts["FP"]
    t_acc = counts["TN"] / t_den if has_nt and t_den else 0.0
    return {"N-acc": n_acc, "T-acc": t_acc, "Final": (jf + n_acc + t_acc) / 3, "counts": dict(counts),
            "note": V2_NOTE}
