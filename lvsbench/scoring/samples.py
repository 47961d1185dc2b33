"""The sample families: referring (a2d, jhmdb), jf (ryvos) and locater (a2d-plus).

A video's frames are streamed once: each ground-truth frame is decoded once and shared by every expression scored on
it (per-object masks, so overlapping A2D instances keep their shared pixels), each prediction is decoded once, and
only per-sample scalars are kept: (J, F) per (expression, frame) in a `SequenceAccumulator` (jf), or (I, U, IoU) per
sample in a `TopOneAccumulator` / `LocaterAccumulator` keyed by (video position, expression, frame rank), with the
COCO inputs of each sample in a `CocoAccumulator` (referring). Rows follow each expression's frame list (MTTR's COCO
image order), expressions in dataset order. COCO-results samples of a reader that kept its masks as RLEs when the
plan read its files (A2D: `keep_masks`) are scored on the RLEs, with no mask read again or decoded.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from lvsbench.core.codecs import rle_encode
from lvsbench.core.errors import LvsbenchError, Problem
from lvsbench.core.records import Expression
from lvsbench.formats.coco_json import CocoPredictions
from lvsbench.metrics.accumulate import SequenceAccumulator
from lvsbench.metrics.names import COCO_PREFIX, LOCATER_METRICS, TOP1_METRICS
from lvsbench.metrics.referring import CocoAccumulator, LocaterAccumulator, TopOneAccumulator, rle_counts, top1
from lvsbench.scoring.stream import Family, Job, VideoResult, error_text, gt_problem, read_mask

if TYPE_CHECKING:
    import pandas as pd

Layout = tuple[int, list[tuple[Expression, tuple[str, ...]]], list[str], dict[str, list[tuple[int, Expression, int]]]]
"""(video position in the dataset, items, frames in order, frame -> [(expression index, expression, rank of the
frame in the expression's frame list)])."""


_VIDEO_POSITIONS = ("video positions",)
"""`Job.cache` key of {video id: its position in the dataset's video order} (the first part of a sample's key:
the dataset's order, not the plan's, so that a video can be scored before the plan is whole)."""


def layout(job: Job, vid: str) -> Layout:
    """Which expressions are scored on which frame of a video, and in which order (memoised per process)."""
    got = job.cache.get(vid)
    if got is None:
        positions = job.cache.get(_VIDEO_POSITIONS)
        if positions is None:
            positions = job.cache[_VIDEO_POSITIONS] = {v: i for i, v in enumerate(job.dataset.videos())}
        pos = {f: i for i, f in enumerate(job.dataset.videos()[vid].frames)}
        items = job.plan.exp_frames[vid]
        at: dict[str, list[tuple[int, Expression, int]]] = {}
        for k, (e, frames) in enumerate(items):
            for n, f in enumerate(frames):
                at.setdefault(f, []).append((k, e, n))
        order = sorted(at, key=lambda f: (pos.get(f, len(pos)), f))
        got = job.cache[vid] = (positions[vid], items, order, at)
    return got


def _candidate_problem(job: Job, iid: str, sizes: Sequence[tuple[int, ...]], hw: tuple[int, ...]) -> Problem | None:
    """Why a COCO-results sample cannot be scored (a candidate of another size than the ground truth (H, W), or no
    candidate without --allow-missing), or None."""
    preds = job.preds
    assert isinstance(preds, CocoPredictions)
    bad = [j for j, size in enumerate(sizes) if tuple(size) != tuple(hw)]
    if bad:
        bh, bw = sizes[bad[0]]
        return Problem(preds.describe(iid), f"candidate(s) {bad[:5]}: size {bw}x{bh} (WxH) differs from the ground "
                                            f"truth {hw[1]}x{hw[0]}")
    if not sizes and not job.allow_missing:
        return Problem(preds.describe(iid), "no candidate for this sample")
    return None


@dataclass
class ExpressionVideo:
    """Accumulator of one video (or frame range) of an expression family."""

    video_id: str
    metric: Any
    """`SequenceAccumulator` over (expression index, frame position) for jf; else the sample accumulator."""
    coco: CocoAccumulator | None
    expressions: list[tuple[str, bool]]
    """(expression id, has scored frames), in dataset order."""
    needs_gt: bool
    """A frame without ground truth is not a sample (MTTR's samples are annotated frames); else an empty target."""
    heads: dict[tuple[int, int, int], tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    """Per sample: the row's columns before and after (inter, union, iou)."""
    problems: list[tuple[int, Problem]] = field(default_factory=list)
    failed: set[int] = field(default_factory=set)
    missing: Counter[int] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)

    def update(self, job: Job, t: int, frame: str) -> None:
        ds, vid = job.dataset, self.video_id
        index, _, _, at = layout(job, vid)
        video = ds.videos()[vid]
        vshape = (video.height, video.width)
        problems: list[Problem] = []
        rles = self._gt_rles(job, frame, at[frame])
        if rles is not None:
            for k, e, rank in at[frame]:
                self._rle_sample(job, problems, rles[e.object_ids[0]], frame, (index, k, rank), e)
            self.problems += [(t, p) for p in problems]
            return
        try:
            lab = ds.read_masks(vid, frame)
        except LvsbenchError as exc:
            problems.append(gt_problem(vid, frame, exc))
            self.failed.update(k for k, _, _ in at[frame])
            lab = None
        else:
            if lab is not None and vshape[0] and lab.shape != vshape:
                problems.append(Problem(f"ground truth {vid}/{frame}",
                                        f"label map size {lab.shape} != video size {vshape}"))
            else:
                for k, e, rank in at[frame]:
                    self._sample(job, problems, lab, vshape, t, frame, (index, k, rank), e)
        self.problems += [(t, p) for p in problems]

    def _sample(self, job: Job, problems: list[Problem], lab: Any, vshape: tuple[int, int], t: int, f: str,
                key: tuple[int, int, int], e: Expression) -> None:
        proto, preds, vid, k = job.plan.protocol, job.preds, self.video_id, key[1]
        if lab is None:
            if self.needs_gt:
                self.counts["skipped_frames"] += 1  # no ground truth on this frame: not a sample
                return
            gt = np.zeros(vshape, dtype=bool) if vshape[0] else None
        else:
            gt = lab.mask(e.object_ids)
            if proto.instance_annotated_only and not e.frames and not gt.any():
                # frames not listed by the reader: a frame where the instance is not annotated is not a sample
                # (MTTR / CMPC-V skip it); readers that list Expression.frames are trusted as they are
                self.counts["skipped_frames"] += 1
                return
        iid = job.plan.image_id(vid, e, f) if proto.image_id != "none" else None
        if isinstance(preds, CocoPredictions):
            assert gt is not None and iid is not None
            got = self._candidates(job, problems, iid, gt)
            if got is None:
                return
            pred, cands, top_score = got
            missing = not cands
        else:
            if gt is None:  # no GT and unknown video size: take the prediction's
                try:
                    m = preds.mask(vid, e.id, f)
                except LvsbenchError:
                    m = None  # reported by read_mask below
                gt = np.zeros(m.shape if m is not None else (0, 0), dtype=bool)
            pred, missing = read_mask(job, problems, vid, e.id, f, gt.shape)
            if pred is None:
                self.failed.add(k)
                return
            cands, top_score = None, math.nan if missing else 1.0  # one candidate of score 1
        self._count(k, missing)
        if isinstance(self.metric, SequenceAccumulator):
            self.metric.update(k, t, gt, pred)
            return
        self.metric.update(key, gt, pred)
        self._row(job, key, e, f, iid, (0 if missing else 1) if cands is None else len(cands), top_score, missing)
        if self.coco is not None and iid is not None:
            self.coco.update(iid, rle_encode(gt), [] if missing else cands or [(rle_encode(pred), 1.0)])

    def _gt_rles(self, job: Job, frame: str, at: list[tuple[int, Expression, int]]) -> dict[int, Any] | None:
        """The frame's per-object GT RLEs kept by the plan's read (`A2DDataset.read_mask_rles`) when the
        predictions are COCO RLEs and every expression scored here names one object of the frame, else None (then
        the masks are read and decoded)."""
        read = getattr(job.dataset, "read_mask_rles", None)
        if read is None or not isinstance(job.preds, CocoPredictions):
            return None
        rles = read(self.video_id, frame)
        if rles is None or any(len(e.object_ids) != 1 or e.object_ids[0] not in rles for _, e, _ in at):
            return None
        return rles  # type: ignore[no-any-return]

    def _rle_sample(self, job: Job, problems: list[Problem], gt: dict[str, Any], f: str, key: tuple[int, int, int],
                    e: Expression) -> None:
        """`_sample` of a COCO-results sample on RLEs: the same checks, rows and figures without decoding a mask
        (I and U by pycocotools' RLE merge / area, exact)."""
        from pycocotools import mask as mask_utils

        proto, preds, vid, k = job.plan.protocol, job.preds, self.video_id, key[1]
        assert isinstance(preds, CocoPredictions)
        if proto.instance_annotated_only and not e.frames and not mask_utils.area(gt):
            self.counts["skipped_frames"] += 1
            return
        iid = job.plan.image_id(vid, e, f)
        cands = preds.rles(iid)
        problem = _candidate_problem(job, iid, [tuple(m["size"]) for m, _ in cands], tuple(gt["size"]))
        if problem is not None:
            problems.append(problem)
            return
        missing = not cands
        self._count(k, missing)
        if missing:
            inter, union, top_score = 0, int(mask_utils.area(gt)), math.nan
        else:
            best = top1(cands)
            (inter, union), top_score = rle_counts(gt, cands[best][0]), cands[best][1]
        self.metric.add(key, inter, union)
        self._row(job, key, e, f, iid, len(cands), top_score, missing)
        if self.coco is not None:
            self.coco.update(iid, gt, cands)

    def _candidates(self, job: Job, problems: list[Problem], iid: str, gt: np.ndarray
                    ) -> tuple[np.ndarray, list[Any], float] | None:
        """(top-1 mask, every candidate's RLE and score, top-1 score) of a COCO-results sample; None on a
        problem."""
        preds = job.preds
        assert isinstance(preds, CocoPredictions)
        try:
            cands = preds.candidates(iid)
        except LvsbenchError as exc:
            problems.append(Problem(preds.describe(iid), error_text(exc)))
            return None
        problem = _candidate_problem(job, iid, [m.shape for m, _ in cands], gt.shape)
        if problem is not None:
            problems.append(problem)
            return None
        if not cands:
            return np.zeros(gt.shape, dtype=bool), [], math.nan
        best = top1(cands)
        return cands[best][0], preds.rles(iid), cands[best][1]

    def _count(self, k: int, missing: bool) -> None:
        self.counts["frame_objects"] += 1
        self.counts["missing_scored"] += missing
        self.missing[k] += missing

    def _row(self, job: Job, key: tuple[int, int, int], e: Expression, f: str, iid: str | None, n_candidates: int,
             top_score: float, missing: bool) -> None:
        """The sample's row heads: ids, and the candidate columns where the protocol picks a top-1."""
        head = {"video_id": self.video_id, "exp_id": str(e.id), "frame": f,
                **({"image_id": iid} if iid is not None else {})}
        tail = {"n_candidates": n_candidates, "top1_score": top_score} if job.plan.protocol.top1 != "none" else {}
        self.heads[key] = (head, {**tail, "missing": missing})

    def merge(self, other: ExpressionVideo) -> Self:
        self.metric.merge(other.metric)
        if self.coco is not None and other.coco is not None:
            self.coco.merge(other.coco)
        self.heads.update(other.heads)
        self.problems += other.problems
        self.failed |= other.failed
        self.missing.update(other.missing)
        self.counts.update(other.counts)
        return self

    def compute(self) -> VideoResult:
        problems = [p for _, p in sorted(self.problems, key=lambda p: p[0])]  # stable: a frame's order is kept
        res = VideoResult(problems=problems, counts=Counter(self.counts))
        if isinstance(self.metric, SequenceAccumulator):
            for k, (eid, has_frames) in enumerate(self.expressions):
                if k in self.failed or not has_frames:
                    continue
                jm, fm = float(np.mean(self.metric.j(k))), float(np.mean(self.metric.f(k)))
                res.rows.append({"video_id": self.video_id, "exp_id": str(eid), "J": jm, "F": fm,
                                 "J&F": (jm + fm) / 2, "n_frames": len(self.metric.frames(k)),
                                 "n_missing_frames": self.missing[k]})
            return res
        for key, i, u, iou in self.metric.items():
            head, tail = self.heads[key]
            res.rows.append({**head, "inter": i, "union": u, "iou": iou, **tail})
        res.samples, res.coco = self.metric, self.coco
        return res


def _start(kind: type, needs_gt: bool = False) -> Any:
    def start(job: Job, vid: str) -> ExpressionVideo:
        items = layout(job, vid)[1]
        exps = [(e.id, bool(frames)) for e, frames in items]
        if kind is SequenceAccumulator:
            return ExpressionVideo(vid, SequenceAccumulator(vid, range(len(items))), None, exps, needs_gt)
        coco = CocoAccumulator() if job.plan.protocol.image_id != "none" else None
        return ExpressionVideo(vid, kind(sort=True), coco, exps, needs_gt)

    return start


def frames(job: Job, vid: str) -> Sequence[str]:
    return layout(job, vid)[2]


def jf_values(protocol: Any, rows: pd.DataFrame, samples: Any = None, coco: Any = None) -> dict[str, float]:
    """MeViS `eval_mevis.py`: J and F means over expressions, J&F = (J + F) / 2."""
    j = float(np.mean(rows["J"].to_numpy(dtype=np.float64)))
    f = float(np.mean(rows["F"].to_numpy(dtype=np.float64)))
    return {"J&F": (j + f) / 2, "J": j, "F": f}


def sample_values(protocol: Any, rows: pd.DataFrame, samples: Any, coco: CocoAccumulator | None
                  ) -> dict[str, float]:
    """The per-sample figures of the rows' sample accumulator, and COCO mAP over the rows' images."""
    r = samples.compute()
    out = {k: float(r[k]) for k in (TOP1_METRICS if isinstance(samples, TopOneAccumulator) else LOCATER_METRICS)}
    if coco is not None:
        out = {**{COCO_PREFIX + k: v for k, v in coco.compute().items()}, **out}
    return out


def counts(job: Job, rows: pd.DataFrame) -> dict[str, int]:
    return {"expressions": int(rows[["video_id", "exp_id"]].drop_duplicates().shape[0]) if not rows.empty else 0}


REFERRING = Family(_start(TopOneAccumulator, needs_gt=True), frames, sample_values, counts,
                   samples=TopOneAccumulator)
JF = Family(_start(SequenceAccumulator), frames, jf_values, counts)
LOCATER = Family(_start(LocaterAccumulator), frames, sample_values, counts, samples=LocaterAccumulator)


__all__ = ["ExpressionVideo", "JF", "LOCATER", "Layout", "REFERRING", "counts", "frames", "jf_values", "layout",
           "sample_values"]
