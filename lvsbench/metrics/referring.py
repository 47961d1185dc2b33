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
import functools
import io
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from lvsbench.metrics.functional import as_mask
from lvsbench.metrics.names import COCO_STAT_NAMES

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COCO_STAT_NAMES",
    "CocoAccumulator",
    "LBDT_THRESHOLDS",
    "PK_THRESHOLDS",
    "LocaterAccumulator",
    "TopOneAccumulator",
    "coco_map",
    "coco_stats",
    "locater_frame_iou",
    "mttr_iou",
    "rle_counts",
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


def _locater_iou_from_counts(inter: int, union: int) -> tuple[np.float32, np.float32, float]:
    i32, u32 = np.float32(inter), np.float32(union)
    return i32, u32, 1.0 if union == 0 else float(i32 / u32)


def locater_frame_iou(gt: np.ndarray, pred: np.ndarray) -> tuple[np.float32, np.float32, float]:
    """Locater `evaluate.py` per-frame IoU: float32 I / U, and 1.0 when U = 0 (no epsilon)."""
    return _locater_iou_from_counts(*_counts(gt, pred))


def rle_counts(gt: Mapping[str, Any], pred: Mapping[str, Any]) -> tuple[int, int]:
    """(I, U) of two COCO RLEs of one size (`pred` in any JSON form), without decoding: pycocotools
    `merge(intersect)` and `area`.

    `gt` must be a pycocotools-encoded RLE (no zero-length run after the first): `rleMerge` stops when both current
    runs are empty, so two RLEs that both hold a zero-length run at the same place would lose their tail."""
    from pycocotools import mask as mask_utils

    shape = (int(gt["size"][0]), int(gt["size"][1]))
    p = _to_rle(pred, shape, "pred")  # str counts as bytes, list counts compressed: the forms pycocotools takes
    g_area, p_area, inter = (int(a) for a in mask_utils.area([gt, p, mask_utils.merge([gt, p], intersect=True)]))
    return inter, g_area + p_area - inter


def _disjoint_update(mine: dict[Any, Any], other: Mapping[Any, Any], what: str) -> None:
    twice = mine.keys() & other.keys()
    if twice:
        raise ValueError(f"{what}(s) {list(twice)[:5]} were added twice")
    mine.update(other)


class _IoUTable:
    """Per-sample (I, U, IoU) keyed by sample id; memory is O(samples), never O(pixels). Figures are reduced in the
    order samples were added (a merge appends), or with `sort` in sorted sample-id order, which makes them
    independent of the update and merge order."""

    rule = staticmethod(_mttr_iou_from_counts)
    """(I, U) -> (float32 I, float32 U, IoU)."""

    def __init__(self, *, sort: bool = False) -> None:
        self.sort = sort
        self._rows: dict[Hashable, tuple[float, float, float]] = {}

    def update(self, sample_id: Hashable, gt: np.ndarray, pred: np.ndarray) -> float:
        """Score one sample (`pred`: the mask the metric reads, e.g. the `top1` candidate); returns its IoU."""
        return self.add(sample_id, *_counts(gt, pred))

    def add(self, sample_id: Hashable, inter: int, union: int) -> float:
        """Score one sample from its pixel counts (e.g. `rle_counts`); returns its IoU."""
        if sample_id in self._rows:
            raise ValueError(f"sample {sample_id!r} was added twice")
        i32, u32, iou = self.rule(inter, union)
        self._rows[sample_id] = (float(i32), float(u32), iou)
        return iou

    def merge(self, other: _IoUTable) -> Self:
        _disjoint_update(self._rows, other._rows, "sample")
        return self

    def select(self, sample_ids: Iterable[Hashable]) -> Self:
        """A new accumulator of these samples only (per-group figures)."""
        out = type(self)(sort=self.sort)
        out._rows = {k: self._rows[k] for k in sample_ids}
        return out

    def __len__(self) -> int:
        return len(self._rows)

    def items(self) -> list[tuple[Hashable, float, float, float]]:
        """(sample id, I, U, IoU) in reduction order."""
        ids = sorted(self._rows) if self.sort else list(self._rows)  # type: ignore[type-var]
        return [(k, *self._rows[k]) for k in ids]

    def table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.items(), columns=["sample_id", "inter", "union", "iou"])

    def compute(self) -> dict[str, Any]:
        """P@0.5..0.9 (`_hits`), overall_iou, mean_iou, the class's extra figures, locater_mAP (mean of the five
        P@K), n_samples and `per_sample` (the `table()`)."""
        if not self._rows:
            raise ValueError("no samples were added")
        rows = self.items()
        ti = tu = 0.0
        for _, i, u, _ in rows:  # Python-float running sums, as MTTR
            ti += i
            tu += u
        iou = [r[3] for r in rows]
        n = len(iou)
        out: dict[str, Any] = {f"P@{k}": self._hits(iou, k) / n for k in PK_THRESHOLDS}
        out.update(overall_iou=ti / tu if tu else math.nan, mean_iou=float(np.mean(iou)), **self._extra(iou))
        out["locater_mAP"] = float(np.mean([out[f"P@{k}"] for k in PK_THRESHOLDS]))
        return {**out, "n_samples": n, "per_sample": self.table()}

    def _hits(self, iou: list[float], k: float) -> int:
        return sum(1 for x in iou if x > k)

    def _extra(self, iou: list[float]) -> dict[str, float]:
        return {}


class TopOneAccumulator(_IoUTable):
    """Streaming MTTR / ReferFormer top-1 metrics over A2D / JHMDB samples (`mttr_iou`; `update` takes the `top1`
    candidate): P@K counts IoU > K, prec_mAP (LBDT), all from MTTR's float32 IoU."""

    def _extra(self, iou: list[float]) -> dict[str, float]:
        return {"prec_mAP": float(np.mean([sum(1 for x in iou if x >= t) / len(iou) for t in LBDT_THRESHOLDS]))}


class LocaterAccumulator(_IoUTable):
    """Locater's per-frame evaluation (`a2d-plus` protocol): `locater_frame_iou`, P@K counts IoU >= K,
    mean IoU over evaluated frames, locater_mAP = mean of the five P@K.

    Deviation: Locater sums I, U and IoU in float32 on the GPU (order-dependent above 2**24); here the sums are
    exact float64 sums of the same float32 per-frame values.
    """

    rule = staticmethod(_locater_iou_from_counts)

    def _hits(self, iou: list[float], k: float) -> int:
        return int(np.count_nonzero(np.asarray(iou, dtype=np.float32) >= np.float32(k)))  # float32 as Locater


class CocoAccumulator:
    """COCOeval(segm, useCats=0) streamed per sample: `update` runs COCOeval's per-image part (`computeIoU` and
    `evaluateImg` for one GT and the image's scored candidates) so that it runs in the scoring workers, and keeps a
    few numbers per image; `compute()` is COCOeval's `accumulate` over them (`_accumulate`, vectorised, images in
    sorted-id order) and pycocotools' own `summarize`. Equal (`==`) to `coco_map` on the same inputs (pycocotools
    2.0.x `cocoeval.py`; tested against it)."""

    def __init__(self) -> None:
        self._images: dict[str, _ImageEval] = {}

    def update(self, image_id: str, gt: np.ndarray | Mapping[str, Any],
               candidates: Sequence[tuple[np.ndarray | Mapping[str, Any], float]]) -> None:
        """One COCO image: its GT (mask or RLE) and every candidate (mask or RLE, score) in listed order."""
        if image_id in self._images:
            raise ValueError(f"COCO image {image_id!r} was added twice")
        self._images[image_id] = _ImageEval.of(image_id, gt, candidates)

    def merge(self, other: CocoAccumulator) -> Self:
        _disjoint_update(self._images, other._images, "COCO image")
        return self

    def select(self, image_ids: Iterable[str]) -> Self:
        out = type(self)()
        out._images = {k: self._images[k] for k in image_ids}
        return out

    def compute(self) -> dict[str, float]:
        """`coco_map` of the images added: COCOeval `accumulate` on the per-image results, then its `summarize`."""
        from pycocotools.cocoeval import COCOeval

        if not self._images:
            raise ValueError("coco_stats needs at least one ground-truth sample")
        ev = COCOeval(iouType="segm")
        p = ev.params
        p.useCats = 0
        p.imgIds = list(np.unique(list(self._images)))  # as COCOeval.evaluate: sorted
        p.maxDets = sorted(p.maxDets)
        ev.eval = _accumulate([self._images[str(k)] for k in p.imgIds], p)
        with contextlib.redirect_stdout(io.StringIO()):
            ev.summarize()
        return dict(zip(COCO_STAT_NAMES, (float(x) for x in ev.stats), strict=True))


def _accumulate(images: list[_ImageEval], p: Any) -> dict[str, Any]:
    """COCOeval `accumulate` (pycocotools 2.0.x) for one category and one non-crowd GT per image, vectorised: the
    same arrays in the same order (images in `p.imgIds` order, each one's candidates best first), the same float
    operations. Its backward precision loop `pr[i-1] = max(pr[i-1], pr[i])` is a suffix maximum; its
    `try: q[ri] = pr[pi] ... except: pass` stops at the first recall threshold past the last candidate."""
    n_t, n_r, n_a, n_m = len(p.iouThrs), len(p.recThrs), len(p.areaRng), len(p.maxDets)
    precision, recall, scores = -np.ones((n_t, n_r, 1, n_a, n_m)), -np.ones((n_t, 1, n_a, n_m)), \
        -np.ones((n_t, n_r, 1, n_a, n_m))
    n_dt = [len(im.scores) for im in images]
    img = np.repeat(np.arange(len(images)), n_dt)
    rank = np.concatenate([np.arange(n) for n in n_dt]) if images else np.zeros(0, dtype=np.int64)
    dt_scores = np.concatenate([im.scores for im in images])
    dt_areas = np.concatenate([im.dt_areas for im in images])
    gt_areas = np.array([im.gt_area for im in images])
    match = np.array([im.match for im in images]).reshape(len(images), n_t)
    matched = rank[None, :] == match[img].T  # (T, candidates): the candidate takes its image's GT
    for a, (lo, hi) in enumerate(p.areaRng):
        gt_ig = (gt_areas < lo) | (gt_areas > hi)
        npig = int(np.count_nonzero(~gt_ig))
        if npig == 0:
            continue
        dt_ig = (matched & gt_ig[img][None, :]) | (~matched & ((dt_areas < lo) | (dt_areas > hi))[None, :])
        for m, max_det in enumerate(p.maxDets):
            keep = rank < max_det
            kept = dt_scores[keep]
            inds = np.argsort(-kept, kind="mergesort")
            sorted_scores = kept[inds]
            dtm, ig = matched[:, keep][:, inds], dt_ig[:, keep][:, inds]
            tp_sum = np.cumsum(np.logical_and(dtm, np.logical_not(ig)), axis=1).astype(dtype=float)
            fp_sum = np.cumsum(np.logical_and(np.logical_not(dtm), np.logical_not(ig)), axis=1).astype(dtype=float)
            nd = tp_sum.shape[1]
            for t in range(n_t):
                tp, fp = tp_sum[t], fp_sum[t]
                rc = tp / npig
                pr = tp / (fp + tp + np.spacing(1))
                recall[t, 0, a, m] = rc[-1] if nd else 0
                pr = np.maximum.accumulate(pr[::-1])[::-1]
                at = np.searchsorted(rc, p.recThrs, side="left")
                at = at[at < nd]
                q, ss = np.zeros(n_r), np.zeros(n_r)
                q[:len(at)], ss[:len(at)] = pr[at], sorted_scores[at]
                precision[t, :, 0, a, m], scores[t, :, 0, a, m] = q, ss
    return {"params": p, "counts": [n_t, n_r, 1, n_a, n_m], "precision": precision, "recall": recall,
            "scores": scores}


@functools.cache
def _coco_params() -> Any:
    """COCOeval's default segm parameters (iouThrs, maxDets, areaRng), which `coco_stats` uses."""
    from pycocotools.cocoeval import Params

    return Params(iouType="segm")


class _ImageEval:
    """COCOeval's per-image state for one non-crowd GT: the kept candidates' scores (best first, ties in listed
    order; the best `maxDets[-1]` = 100), their areas, the GT area, and per IoU threshold the candidate that takes
    the GT (-1: none)."""

    __slots__ = ("gt_area", "dt_areas", "scores", "match")

    def __init__(self, gt_area: int, dt_areas: np.ndarray, scores: np.ndarray, match: np.ndarray) -> None:
        self.gt_area, self.dt_areas, self.scores, self.match = gt_area, dt_areas, scores, match

    @classmethod
    def of(cls, image_id: str, gt: np.ndarray | Mapping[str, Any],
           candidates: Sequence[tuple[np.ndarray | Mapping[str, Any], float]]) -> _ImageEval:
        """COCOeval `loadRes`, `computeIoU` and the matching of `evaluateImg` for one image (the checks and
        messages of `coco_stats`). With one GT, the best-first candidate whose IoU reaches min(t, 1 - 1e-10)
        takes it at threshold t, whatever the area range."""
        from pycocotools import mask as mask_utils

        params = _coco_params()
        if isinstance(gt, Mapping):
            shape = (int(gt["size"][0]), int(gt["size"][1]))
        else:
            shape = as_mask(gt, f"gt[{image_id!r}]").shape
        g = _to_rle(gt, shape, f"gt[{image_id!r}]")
        scores = []
        for n, (_, s) in enumerate(candidates):
            score = float(s)
            if math.isnan(score):
                raise ValueError(f"detection {n} (image_id {image_id!r}): score is NaN")
            scores.append(-score)
        order = np.argsort(scores, kind="mergesort")[:params.maxDets[-1]]  # COCOeval: stable, first listed wins
        dts = [_to_rle(candidates[i][0], shape, f"detection {i} (image_id {image_id!r})") for i in order]
        thrs = params.iouThrs
        if dts:
            ious = np.asarray(mask_utils.iou(dts, [g], [0]), dtype=np.float64).reshape(1, -1)
            reach = ~(ious < np.minimum(thrs, 1 - 1e-10)[:, None])
            match = np.where(reach.any(axis=1), reach.argmax(axis=1), -1)
        else:
            match = np.full(len(thrs), -1)
        areas = mask_utils.area(dts).astype(np.int64) if dts else np.zeros(0, dtype=np.int64)
        return cls(int(mask_utils.area(g)), areas, np.asarray([-scores[i] for i in order], dtype=np.float64), match)
