"""The one table of metric names: each name is printed as it is, is the key of `values` in `lvsbench score` results,
the `metric` of leaderboard and published-number CSVs, and a column of the leaderboards (in this order).

A name stands for one definition with its unit, direction and source; `P@K` is the one name whose comparison
depends on the protocol (strict `>` in MTTR's A2D / J-HMDB code, `>=` in Locater's A2D-S+ code), which the
protocol record in every results JSON states. docs/metrics.md carries `markdown_table()` (a test checks it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher", "lower"]

V2_NOTE = "definition from the GRES paper applied to video; no official code published"
"""How MeViS v2's no-target metrics are defined (recorded in its protocol and in its results)."""


@dataclass(frozen=True)
class Metric:
    """One metric name and what it means."""

    name: str
    """Printed name = key of `values` = leaderboard column."""
    unit: str
    """"fraction" (0..1) or "difference" (of two fractions, -1..1): stored as such, printed x100 with two decimals
    (`format_value`: percent, percentage points for a difference)."""
    direction: Direction
    description: str
    defined_by: str
    """The paper (and code at a commit) whose definition this is."""
    in_markdown: bool = True
    """Shown in the Markdown leaderboards (COCO's per-area APs and its recalls are in the CSV only)."""


_DAVIS_CODE = "davis2017-evaluation @ac7c43f (Pont-Tuset et al. arXiv:1704.00675)"
_DAVIS_PAPER = "Perazzi et al. CVPR'16 (DAVIS)"
_COCO = ("Lin et al. ECCV'14 (COCO), pycocotools COCOeval segm with useCats=0, as MTTR (Botach et al. CVPR'22) "
         "trainer.py @2cc35ab")
_MTTR = "Gavrilyuk et al. CVPR'18 (A2D-Sentences); MTTR metrics.py @2cc35ab"


def _davis(stat: str) -> list[Metric]:
    src = f"{_DAVIS_PAPER}; {_DAVIS_CODE}"
    text = {"Mean": "mean over objects of the per-object mean {w}",
            "Recall": "mean over objects of the fraction of scored frames with {l} > 0.5",
            "Decay": "mean over objects of mean {l} on the first quarter of scored frames minus the last quarter "
                     "(4 inclusive bins; the decay option says how bins are indexed from 256 frames on)"}[stat]
    return [Metric(f"{letter}-{stat}", "difference" if stat == "Decay" else "fraction",
                   "lower" if stat == "Decay" else "higher", text.format(w=w, l=letter), src)
            for letter, w in (("J", "region similarity J (IoU)"), ("F", "boundary F-measure"))]


_COCO_LABELS: tuple[tuple[str, str, bool], ...] = (
    ("mAP 0.5:0.95", "AP averaged over IoU .50:.05:.95 (COCOeval stats[0]; the A2D papers' 'mAP')", True),
    ("AP 0.5", "AP at IoU 0.5 (stats[1])", True),
    ("AP 0.75", "AP at IoU 0.75 (stats[2])", True),
    ("AP 0.5:0.95 S", "AP, small objects (stats[3]; -1 = no GT of that size)", False),
    ("AP 0.5:0.95 M", "AP, medium objects (stats[4])", False),
    ("AP 0.5:0.95 L", "AP, large objects (stats[5])", False),
    ("AR@1 0.5:0.95", "AR with 1 detection per image (stats[6])", False),
    ("AR@10 0.5:0.95", "AR with 10 detections (stats[7])", False),
    ("AR@100 0.5:0.95", "AR with 100 detections (stats[8])", False),
    ("AR@100 0.5:0.95 S", "AR@100, small objects (stats[9])", False),
    ("AR@100 0.5:0.95 M", "AR@100, medium objects (stats[10])", False),
    ("AR@100 0.5:0.95 L", "AR@100, large objects (stats[11])", False),
)
COCO_STAT_NAMES: tuple[str, ...] = tuple(label for label, _, _ in _COCO_LABELS)
"""Names of COCOeval.stats[0..11]; the first six are MTTR's `ap_labels`."""
COCO_PREFIX = "coco "
"""COCOeval stats are reported as `coco <MTTR label>` (e.g. "coco mAP 0.5:0.95"), never as a bare "mAP"."""

_TABLE: list[Metric] = [
    Metric("J&F", "fraction", "higher", "(J + F) / 2, J and F averaged over each expression's frames, then over "
           "expressions", "Seo et al. ECCV'20 (Refer-YouTube-VOS); MeViS tools/eval_mevis.py @7c0620b"),
    Metric("J", "fraction", "higher", "region similarity (IoU, 1 when both masks are empty), mean over frames then "
           "over expressions", "Seo et al. ECCV'20; MeViS tools/eval_mevis.py @7c0620b (db_eval_iou)"),
    Metric("F", "fraction", "higher", "boundary F-measure (radius ceil(0.008 x diagonal)), mean over frames then "
           "over expressions", "Seo et al. ECCV'20; MeViS tools/eval_mevis.py @7c0620b (db_eval_boundary)"),
    Metric("A", "fraction", "higher", "pixel accuracy: share of pixels where the uint8 sum of the target masks "
           "equals the prediction value (an overlap pixel, sum 2, never matches), mean over frames then as the "
           "protocol aggregates", "VISA (Yan et al. ECCV'24) tools/metrics.py get_r2vos_accuracy @ec158fd; Sa2VA "
           "tools/eval/eval_revos.py, eval_ref_sav.py @9832e1a"),
    Metric("R", "fraction", "higher", "robustness: max(1 - neg / (|video foreground| + 1e-6), 0) with neg = "
           "sum((1 - GT) * P) in uint8 arithmetic, mean over frames, referring + reasoning subsets only",
           "VISA (Yan et al. ECCV'24) tools/metrics.py get_r2vos_robustness @ec158fd"),
    Metric("tIoU", "fraction", "higher", "temporal IoU |G & P| / |G | P| of the frames where GT / prediction are "
           "non-empty (1 when both sets are empty), mean over expressions",
           "Long-RVOS (CVPR'26) eval/eval_long_rvos @447682a"),
    Metric("vIoU", "fraction", "higher", "sum of J_t over frames in G & P / |G | P| (1 when both are empty), mean "
           "over expressions", "Long-RVOS (CVPR'26) eval/eval_long_rvos @447682a"),
    Metric("N-acc", "fraction", "higher", "no-target accuracy TP / (TP + FN): GT no-target expressions predicted "
           "empty in every frame (GRES definition applied to video; no official code published)",
           "GRES (Liu, Ding et al. CVPR'23) ReLA refer_evaluation.py @3ca9551; MeViS v2 (TPAMI'25)"),
    Metric("T-acc", "fraction", "higher", "target accuracy TN / (TN + FP): expressions with a target not predicted "
           "empty everywhere (GRES definition applied to video; no official code published)",
           "GRES (Liu, Ding et al. CVPR'23) ReLA refer_evaluation.py @3ca9551; MeViS v2 (TPAMI'25)"),
    Metric("Final", "fraction", "higher", "(J&F + N-acc + T-acc) / 3 (MeViS v2; no official code published)",
           "MeViS v2 (Ding et al. TPAMI'25) README"),
    Metric("J&F-Mean", "fraction", "higher", "(J-Mean + F-Mean) / 2", f"{_DAVIS_PAPER}; {_DAVIS_CODE}"),
    *_davis("Mean"), *_davis("Recall"), *_davis("Decay"),
    Metric("mean_iou", "fraction", "higher", "mean over samples of the top-1 IoU", _MTTR),
    Metric("overall_iou", "fraction", "higher", "sum of intersections / sum of unions over samples (top-1)", _MTTR),
    *[Metric(COCO_PREFIX + label, "fraction", "higher", text, _COCO, md) for label, text, md in _COCO_LABELS[:3]],
    Metric("prec_mAP", "fraction", "higher", "mean over t in .50:.05:.95 of the fraction of samples with top-1 "
           "IoU >= t", "LBDT (Ding et al. CVPR'22) eval.py @f361af5"),
    Metric("locater_mAP", "fraction", "higher", "mean of P@0.5..P@0.9 (printed 'mAP.5:.95' by Locater)",
           "Locater (Liang et al. TPAMI'23) tools/evaluate.py @5da6daa"),
    *[Metric(f"P@{k}", "fraction", "higher", f"fraction of samples whose top-1 IoU is > {k} (a2d, jhmdb: MTTR) or "
             f">= {k} (a2d-plus: Locater)", f"{_MTTR}; Locater tools/evaluate.py @5da6daa")
      for k in ("0.5", "0.6", "0.7", "0.8", "0.9")],
    *[Metric(COCO_PREFIX + label, "fraction", "higher", text, _COCO, md)
      for label, text, md in (*_COCO_LABELS[3:6], *sorted(_COCO_LABELS[6:]))],
]

METRICS: dict[str, Metric] = {m.name: m for m in _TABLE}
"""Every metric name lvsbench reports, in leaderboard column order (CSV-only COCO columns last, ARs sorted)."""

COCO_METRICS: tuple[str, ...] = tuple(COCO_PREFIX + n for n in COCO_STAT_NAMES)
PK_METRICS: tuple[str, ...] = ("P@0.5", "P@0.6", "P@0.7", "P@0.8", "P@0.9")
TOP1_METRICS: tuple[str, ...] = (*PK_METRICS, "overall_iou", "mean_iou", "prec_mAP", "locater_mAP")
DAVIS_METRICS: tuple[str, ...] = ("J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")
JF_METRICS: tuple[str, ...] = ("J&F", "J", "F")
LOCATER_METRICS: tuple[str, ...] = (*PK_METRICS, "overall_iou", "mean_iou", "locater_mAP")
"""The names each protocol family writes into `values`, in that order."""


def metric(name: str) -> Metric | None:
    """The table entry of a name (None for a name lvsbench does not define)."""
    return METRICS.get(name)


# ---------------------------------------------------------------------------------------------- units
# One place for how a value is stored and how it is printed: values are stored (results JSON, `--json`, per-sample
# CSVs) as fractions at full precision, and printed (CLI tables, leaderboards, report tables and charts) as percent
# with two decimals, as the papers print them; a difference of two fractions prints in percentage points.

PRINTED_UNIT: dict[str, str] = {"fraction": "percent", "difference": "percentage points"}
"""Printed unit of each stored unit (value x 100, two decimals)."""
NOT_APPLICABLE = "n/a"
"""How an undefined value is printed: pycocotools' -1 (no ground truth of that area range)."""


def unit_of(name: str) -> str:
    """Stored unit of a metric value (the table's `unit`); a name outside the table is a fraction too (every value
    lvsbench computes is one)."""
    m = METRICS.get(name)
    return m.unit if m is not None else "fraction"


def printed_unit(name: str) -> str:
    """Unit of a printed value: "percent" or "percentage points"."""
    return PRINTED_UNIT[unit_of(name)]


def units_of(names: Iterable[str]) -> dict[str, str]:
    """`{name: stored unit}` for a results JSON's `units`, next to its `values`."""
    return {n: unit_of(n) for n in names}


def is_applicable(name: str, value: float | None) -> bool:
    """False for pycocotools' -1 ("not applicable": no ground truth in that area range) and for a missing value."""
    if value is None:
        return False
    return not (name.startswith(COCO_PREFIX) and float(value) == -1.0)


def as_percent(name: str, value: float | None) -> float | None:
    """The printed number as a float (x100), None when not applicable; NaN stays NaN."""
    if not is_applicable(name, value):
        return None
    return 100.0 * float(value)  # type: ignore[arg-type]


def format_value(name: str, value: float | None, signed: bool = False) -> str:
    """A value as printed everywhere: percent with two decimals ("46.10"), "n/a" for COCO's -1, "nan" for NaN,
    -0.00 as 0.00."""
    x = as_percent(name, value)
    if x is None:
        return NOT_APPLICABLE
    if math.isnan(x):
        return "nan"
    s = f"{x:+.2f}" if signed else f"{x:.2f}"
    if float(s) == 0.0:
        return "+0.00" if signed else "0.00"
    return s


def markdown_table() -> str:
    """The table as Markdown (docs/metrics.md holds this text; tests/test_metric_names.py checks it)."""
    lines = ["| name | unit | better | definition | defined by |", "|---|---|---|---|---|"]
    for m in _TABLE:
        lines.append(f"| `{m.name}` | {m.unit} | {m.direction} | {m.description} | {m.defined_by} |")
    return "\n".join(lines) + "\n"


__all__ = ["COCO_METRICS", "COCO_PREFIX", "COCO_STAT_NAMES", "DAVIS_METRICS", "Direction", "JF_METRICS",
           "LOCATER_METRICS", "METRICS", "Metric", "NOT_APPLICABLE", "PK_METRICS", "PRINTED_UNIT", "TOP1_METRICS",
           "as_percent", "format_value", "is_applicable", "markdown_table", "metric", "printed_unit", "unit_of",
           "units_of", "V2_NOTE"]
