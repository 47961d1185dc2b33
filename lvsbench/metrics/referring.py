"""A2D-Sentences / JHMDB-Sentences metrics as the MTTR / ReferFormer lineage computes them, plus the other
"mAP"s of the older literature under their own names.

Written from the behaviour of mttr2021/MTTR @ 2cc35ab and leonnnop/Locater `tools/evaluate.py` @ 5da6daa, documented
in `docs/metrics.md` (no upstream code):

* `coco_stats` / `coco_map`: pycocotools `COCOeval(iouType="segm")` with `params.useCats = 0` and default params,
  one GT annotation per sample and *every* candidate mask as a scored detection (MTTR `trainer.py`,
  ReferFormer `engine.py:evaluate_a2d`). Names of stats[0..5] are MTTR's `ap_labels`.
* `top1`, `mttr_iou`, `TopOneAccumulator`: MTTR `metrics.py:calculate_precision_at_k_and_iou_metrics` — top-1 =
  highest score, *last listed* among ties; IoU = float32 (I + 1e-6) / (U + 1e-6); P@K counts IoU > K (strict);
  overall IoU = sum I / sum U; mean IoU = mean of per-sample IoU.
* `prec_mAP` (LBDT `eval.py`): mean over t = k/100, k = 50, 55, ..., 95 of the fraction of samples with IoU >= t.
* `locater_mAP` (Locater `tools/evaluate.py`): mean of P@0.5..0.9 (labelled "mAP.5:.95" there).
* `locater_frame_iou`, `LocaterAccumulator`: Locater's own per-frame rule used by the `a2d-plus` protocol —
  float32 I / U, IoU := 1 when U = 0 (an empty prediction on an empty target scores 1), P@K counts IoU >= K.

Never report a bare "mAP": the three are different numbers.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from lvsbench.metrics.functional import as_mask
from lvsbench.metrics.names import COCO_STAT_NAMES

__all__ = [
    "COCO_STAT_NAMES",
    "LBDT_THRESHOLDS",
    "PK_THRESHOLDS",
    "LocaterAccumulator",
    "TopOneAccumulator",
    "coco_map",
    "coco_stats",
    "locater_frame_iou",
    "mttr_iou",
    "top1",
]

#: P@K thresholds of MTTR / ReferFormer / Locater.
PK_THRESHOLDS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)
#: LBDT's prec_mAP thresholds, generated as k / 100.0 exactly as LBDT does (0.55, 0.6, ... as nearest doubles).
LBDT_THRESHOLDS: tuple[float, ...] = tuple(k / 100.0 for k in range(50, 96, 5))

_EPS32 = np.float32(1e-6)


# ------------------------------------------------------------------------------------------------ COCO mAP


def _to_rle(mask_or_rle: np.ndarray | Mapping[str, Any], shape: tuple[int, int], what: str) -> dict:
    from pycocotools import mask as mask_utils

    if isinstance(mask_or_rle, Mapping):
        size = [int(x) for x in mask_or_rle["size"]]
        if tuple(size) != tuple(shape):
            raise ValueError(f"{what}: RLE size {tuple(size)} differs from the GT mask shape {tuple(shape)}")
        counts = mask_or_rle["counts"]
        if isinstance(counts, list):
            return mask_utils.frPyObjects({"size": size, "counts": counts}, size[0], size[1])
        return {"size": size, "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    m = as_mask(mask_or_rle, what)
    if m.shape != tuple(shape):
        raise ValueError(f"{what}: mask shape {m.shape} differs from the GT mask shape {tuple(shape)}")
    return mask_utils.encode(np.asfortranarray(m.view(np.uint8)))


def coco_stats(gt: Mapping[str, np.ndarray | Mapping[str, Any]], detections: Sequence[Mapping[str, Any]]
               ) -> np.ndarray:
    """COCOeval(segm, useCats=0).stats (12 floats) for one GT mask per sample id and scored candidate masks.

    `gt` maps sample id -> mask (H, W) (or an RLE dict); its order is the COCO image order. `detections` are
    dicts with `image_id`, `mask` (array or RLE dict; `segmentation` is accepted as an alias) and `score`, in the
    order the model listed them (pycocotools sorts per image with a stable mergesort, so the first listed wins a
    tie). pycocotools' progress printing is suppressed.
    """
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not gt:
        raise ValueError("coco_stats needs at least one ground-truth sample")
    images, anns, shapes = [], [], {}
    for k, (iid, g) in enumerate(gt.items()):
        if isinstance(g, Mapping):
            h, w = (int(x) for x in g["size"])
        else:
            h, w = as_mask(g, f"gt[{iid!r}]").shape
        rle = _to_rle(g, (h, w), f"gt[{iid!r}]")
        shapes[iid] = (h, w)
        images.append({"id": iid, "height": h, "width": w})
        anns.append({"id": k + 1, "image_id": iid, "category_id": 1, "segmentation": rle,
                     "area": float(mask_utils.area(rle)), "iscrowd": 0})
    preds = []
    for n, det in enumerate(detections):
        iid = det["image_id"]
        if iid not in shapes:
            raise ValueError(f"detection {n}: image_id {iid!r} is not a ground-truth sample")
        score = float(det["score"])
        if math.isnan(score):
            raise ValueError(f"detection {n} (image_id {iid!r}): score is NaN")
        seg = det["mask"] if "mask" in det else det["segmentation"]
        preds.append({"image_id": iid, "category_id": 1, "score": score,
                      "segmentation": _to_rle(seg, shapes[iid], f"detection {n} (image_id {iid!r})")})
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "referred"}]}
        coco_gt.createIndex()
        if preds:
            coco_dt = coco_gt.loadRes(preds)
        else:  # loadRes cannot take an empty list; an empty result set scores 0 AP / 0 AR
            coco_dt = COCO()
            coco_dt.dataset = {"images": images, "annotations": [], "categories": coco_gt.dataset["categories"]}
            coco_dt.createIndex()
        ev = COCOeval(coco_gt, coco_dt, iouType="segm")
        ev.params.useCats = 0
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats, dtype=np.float64)


def coco_map(gt: Mapping[str, np.ndarray | Mapping[str, Any]], detections: Sequence[Mapping[str, Any]]
             ) -> dict[str, float]:
    """`coco_stats` under explicit names (`COCO_STAT_NAMES`); "mAP 0.5:0.95" is the figure papers report."""
    return dict(zip(COCO_STAT_NAMES, (float(x) for x in coco_stats(gt, detections)), strict=True))


# ------------------------------------------------------------------------------------------------ top-1 metrics


def top1(candidates: Sequence[tuple[Any, float]]) -> int:
    """Index of the candidate a top-1 metric scores: the highest score, the *last listed* among equal scores
    (MTTR's `sorted(preds, key=score)[-1]`; the opposite of COCOeval's tie rule)."""
    if len(candidates) == 0:
        raise ValueError("top1 needs at least one candidate (MTTR fails with IndexError on a sample without one)")
    best = 0
    best_score = float(candidates[0][1])
    for k in range(len(candidates)):
        s = float(candidates[k][1])
        if math.isnan(s):
            raise ValueError(f"candidate {k}: score is NaN")
        if s >= best_score:
            best, best_score = k, s
    return best


def _counts(gt: np.ndarray, pred: np.ndarray) -> tuple[int, int]:
    g, p = as_mask(gt, "gt"), as_mask(pred, "pred")
    if g.shape != p.shape:
        raise ValueError(f"gt and pred shapes differ: gt {g.shape} vs pred {p.shape}")
    return int(np.count_nonzero(g & p)), int(np.count_nonzero(g | p))


def _mttr_iou_from_counts(inter: int, union: int) -> tuple[np.float32, np.float32, float]:
    i32, u32 = np.float32(inter), np.float32(union)
    iou = np.float32(i32 + _EPS32) / np.float32(u32 + _EPS32)
    return i32, u32, float(iou)


def mttr_iou(gt: np.ndarray, pred: np.ndarray) -> tuple[np.float32, np.float32, float]:
    """MTTR `compute_iou`: (I, U, IoU) with float32 counts and float32 (I + 1e-6) / (U + 1e-6).

    Counts are exact below 2**24 pixels. Empty GT with empty prediction gives 1.0; I = 0 gives 1e-6 / (U + 1e-6).
    """
    return _mttr_iou_from_counts(*_counts(gt, pred))


def locater_frame_iou(gt: np.ndarray, pred: np.ndarray) -> tuple[np.float32, np.float32, float]:
    """Locater `evaluate.py` per-frame IoU: float32 I / U, and 1.0 when U = 0 (no epsilon)."""
    inter, union = _counts(gt, pred)
    i32, u32 = np.float32(inter), np.float32(union)
    return i32, u32, 1.0 if union == 0 else float(i32 / u32)


class _IoUTable:
    """Per-sample (id, I, U, IoU) rows; memory is O(samples), never O(pixels)."""

    def __init__(self) -> None:
        self.ids: list[Hashable] = []
        self.inter: list[float] = []
        self.union: list[float] = []
        self.iou: list[float] = []
        self._seen: set[Hashable] = set()

    def add_counts(self, sample_id: Hashable, inter: float, union: float, iou: float) -> None:
        """Add a sample whose intersection, union and IoU were computed elsewhere (e.g. in a worker process)."""
        if sample_id in self._seen:
            raise ValueError(f"sample {sample_id!r} was added twice")
        self._seen.add(sample_id)
        self.ids.append(sample_id)
        self.inter.append(float(inter))
        self.union.append(float(union))
        self.iou.append(float(iou))

    def __len__(self) -> int:
        return len(self.ids)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"sample_id": self.ids, "inter": self.inter, "union": self.union, "iou": self.iou})

    def _overall(self) -> float:
        ti = tu = 0.0
        for i, u in zip(self.inter, self.union, strict=True):  # Python-float running sums, as MTTR
            ti += i
            tu += u
        return ti / tu if tu else math.nan


class TopOneAccumulator(_IoUTable):
    """Streaming MTTR / ReferFormer top-1 metrics over A2D / JHMDB samples.

    `add(sample_id, gt, pred)` takes the already selected top-1 mask; `add_candidates` selects it with `top1`.
    `results()` gives P@0.5..0.9 (IoU > K), overall_iou, mean_iou, prec_mAP (LBDT) and locater_mAP (mean of the
    five P@K reported here), all computed from MTTR's float32 IoU. `table()` is the per-sample DataFrame.
    """

    def add(self, sample_id: Hashable, gt: np.ndarray, pred: np.ndarray) -> float:
        i32, u32, iou = mttr_iou(gt, pred)
        self.add_counts(sample_id, float(i32), float(u32), iou)
        return iou

    def add_candidates(self, sample_id: Hashable, gt: np.ndarray, candidates: Sequence[tuple[np.ndarray, float]]
                       ) -> float:
        return self.add(sample_id, gt, candidates[top1(candidates)][0])

    def results(self) -> dict[str, Any]:
        n = len(self)
        if n == 0:
            raise ValueError("no samples were added")
        out: dict[str, Any] = {}
        for k in PK_THRESHOLDS:
            out[f"P@{k}"] = sum(1 for x in self.iou if x > k) / n
        out["overall_iou"] = self._overall()
        out["mean_iou"] = float(np.mean(self.iou))
        out["prec_mAP"] = float(np.mean([sum(1 for x in self.iou if x >= t) / n for t in LBDT_THRESHOLDS]))
        out["locater_mAP"] = float(np.mean([out[f"P@{k}"] for k in PK_THRESHOLDS]))
        out["n_samples"] = n
        out["per_sample"] = self.table()
        return out


class LocaterAccumulator(_IoUTable):
    """Locater's per-frame evaluation (`a2d-plus` protocol): `locater_frame_iou`, P@K counts IoU >= K,
    mean IoU over evaluated frames, locater_mAP = mean of the five P@K.

    Deviation: Locater sums I, U and IoU in float32 on the GPU (order-dependent above 2**24); here the sums are
    exact float64 sums of the same float32 per-frame values.
    """

    def add(self, sample_id: Hashable, gt: np.ndarray, pred: np.ndarray) -> float:
        i32, u32, iou = locater_frame_iou(gt, pred)
        self.add_counts(sample_id, float(i32), float(u32), iou)
        return iou

    def results(self) -> dict[str, Any]:
        n = len(self)
        if n == 0:
            raise ValueError("no samples were added")
        iou32 = np.asarray(self.iou, dtype=np.float32)  # Locater compares float32 tensors with float32(K)
        out: dict[str, Any] = {}
        for k in PK_THRESHOLDS:
            out[f"P@{k}"] = int(np.count_nonzero(iou32 >= np.float32(k))) / n
        out["overall_iou"] = self._overall()
        out["mean_iou"] = float(np.mean(self.iou))
        out["locater_mAP"] = float(np.mean([out[f"P@{k}"] for k in PK_THRESHOLDS]))
        out["n_samples"] = n
        out["per_sample"] = self.table()
        return out
