"""Per-video drivers of the per-expression protocols: each scores one video's expressions into an
`ExpressionAccumulator`; `score_expressions` maps them over the videos (in a fork pool with `workers > 1`) and merges
the accumulators in whatever order they come: the values do not depend on the number of workers, bit for bit.

Drivers, chosen by the protocol's native dataset (`DRIVERS`), stream one frame at a time (the official scripts build
(T, H, W) stacks; per-frame values are identical):
- mask-dict datasets (MeViS v1/v2, ReVOS, Ref-SAV: ground truth = uint8 sum of the targets' masks), predictions as
  Sa2VA's RLE results JSON or a PNG tree read as raw values (MeViS `tools/eval_mevis.py` @ 7c0620b, VISA
  `tools/eval_revos.py` @ ec158fd, Sa2VA `tools/eval/eval_revos.py`, `eval_ref_sav.py` @ 9832e1a);
- per-object PNG ground truth: Long-RVOS (Long_RVOS `eval/eval_long_rvos` @ 447682a), ReasonVOS (VideoLISA
  `evaluation/reason_vos/eval_reason_vos.py` @ 146f2bc).
A missing prediction is recorded on the expression's result and scored as an empty mask only when `missing_as_empty`
(always for Long-RVOS / ReasonVOS, whose official rules read some missing frames as empty).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from lvsbench.core.errors import ConfigError, LvsbenchError, Problem, ValidationFailed
from lvsbench.core.forking import opencv_single_threaded
from lvsbench.datasets.long_rvos import LongRVOSDataset
from lvsbench.datasets.mevis import MeViSDataset
from lvsbench.datasets.reasonvos import ReasonVOSDataset
from lvsbench.datasets.refsav import RefSAVDataset
from lvsbench.datasets.revos import ReVOSDataset
from lvsbench.formats.png_tree import PngTreePredictions
from lvsbench.formats.raw_png import MissingPrediction, RawPngTree, decode_gray
from lvsbench.metrics import long_rvos as lr
from lvsbench.metrics import reasonvos as rv
from lvsbench.metrics.functional import TargetFrame, j_and_f_target
from lvsbench.metrics.modern import ExpressionScores, refsav_frame, revos_frame
from lvsbench.metrics.official_missing import MissingInput
from lvsbench.protocols import Protocol
from lvsbench.scoring.expressions import ExpressionAccumulator, ExpressionResult, expression_metrics

Plan = dict[str, list[tuple[int, Any]]]
"""Video -> its (meta index, expression) pairs, videos in meta order."""


def _plan(ds: Any) -> Plan:
    plan: Plan = {}
    for i, e in enumerate(ds.expressions()):
        plan.setdefault(e.video_id, []).append((i, e))
    return plan


@dataclass
class Job:
    """What every worker needs (inherited through fork, never pickled)."""

    ds: Any
    preds: Any
    proto: Protocol
    missing_as_empty: bool
    plan: Plan


# ---------------------------------------------------------------------------------------------------- mask-dict


def _mask_dict_predictions(job: Job, vid: str, exp_id: str, frames: Sequence[str], shape: tuple[int, int],
                           notes: list[str]) -> tuple[list[np.ndarray | None] | None, tuple[MissingInput, ...], str]:
    """The expression's predicted frames (None where missing), or None if it is not scored; what was missing. PNGs
    read with a conversion to grey are added to `notes`."""
    try:
        if isinstance(job.preds, RawPngTree):
            got = job.preds.frames(vid, exp_id, frames, missing_ok=True, notes=notes)
        else:
            got = job.preds.frames(vid, exp_id, frames, missing_ok=True)
        if absent := [f for f, p in zip(frames, got, strict=True) if p is None]:
            raise MissingPrediction("frame", f"{vid}/{exp_id}: {len(absent)} frame(s) missing: "
                                             f"{', '.join(absent[:5])}{' ...' if len(absent) > 5 else ''}")
        if bad := [(f, p.shape) for f, p in zip(frames, got, strict=True)
                   if p is not None and shape[0] and p.shape != shape]:
            got = [None] * len(frames)
            more = f" (and {len(bad) - 1} more frame(s) of this expression)" if len(bad) > 1 else ""
            raise MissingPrediction("error", f"{_where(job.preds, vid, exp_id, bad[0][0])}: prediction of "
                                             f"{_size(bad[0][1])}, the frame is {_size(shape)}{more}")
        return got, (), ""
    except MissingPrediction as exc:
        miss = (MissingInput(f"{vid}_{exp_id}", exc.kind),)
        if not job.missing_as_empty:
            return None, miss, str(exc)
        return ([None] * len(frames) if exc.kind in ("video", "expression") else got), miss, str(exc)


def _where(preds: Any, vid: str, exp_id: str, frame: str) -> str:
    """The file (PNG tree) or the results-JSON entry that holds one predicted frame, for messages."""
    if isinstance(preds, RawPngTree):
        return str(preds.tree.file(vid, exp_id, frame))
    if isinstance(preds, PngTreePredictions):
        return str(preds.file(vid, exp_id, frame))
    return f"{preds.path} [{vid}][{exp_id}] frame {frame}"


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]} (width x height)"


class _FrameTruth:
    """The ground truth of one video, decoded once per (target set, frame) and shared by the expressions that refer
    to the same objects (MeViS has ~16 expressions per video over a few objects); `score` adds one frame of one
    expression to its `ExpressionScores` under the protocol's metrics."""

    def __init__(self, job: Job, vid: str) -> None:
        self.ds, self.proto, self.vid = job.ds, job.proto, vid
        self.metrics = expression_metrics(job.proto)
        self.revos = "R" in job.proto.metrics
        video = job.ds.videos()[vid]
        self.known_size = bool(video.height)
        self.sums: dict[tuple[tuple[str, ...], str], np.ndarray] = {}
        self.targets: dict[tuple[tuple[str, ...], str], TargetFrame] = {}
        self.fg: dict[str, np.ndarray] = {}
        self.previous: tuple[dict, ...] = ()

    def next_frame(self) -> None:
        """Forget the frame before the previous one (frame-major scoring keeps one frame). The previous frame's
        arrays are freed only after the next frame's are made, so that malloc reuses their memory instead of
        returning it to the system and faulting it in again (7x fewer page faults, 3% of the time)."""
        self.previous = (self.sums, self.targets, self.fg)
        self.sums, self.targets, self.fg = {}, {}, {}

    def score(self, scores: ExpressionScores, me: Any, f: str, p: np.ndarray, shape: tuple[int, int]) -> None:
        """`shape`: the frame size, taken from the predictions when the dataset does not give it."""
        key = (tuple(me.anno_ids), f)
        if not self.known_size:
            gt = np.zeros(shape, dtype=np.uint8)
        elif (gt := self.sums.get(key)) is None:
            gt = self.sums[key] = self.ds.target_sum((self.vid, me.id), f)
        if self.revos:
            if (fg := self.fg.get(f)) is None:
                fg = self.fg[f] = self.ds.read_foreground(self.vid, f)
            scores.update(*revos_frame(gt, p, fg, binarize=self.proto.binarize))
        elif "A" in self.metrics:  # Ref-SAV: J, F, A on the 0/1 prediction
            scores.update(*refsav_frame(gt, (p != 0).view(np.uint8)))
        else:  # J and F binarise: the bool target, its boundary map and their dilation are shared too
            if (target := self.targets.get(key)) is None:
                target = self.targets[key] = TargetFrame(gt)
            scores.update(*j_and_f_target(target, p))


def _mask_dict_result(index: int, vid: str, me: Any, values: Any, **fields: Any) -> ExpressionResult:
    """A mask-dict expression's result (both scoring orders): official key `<video>_<exp>`, group = `type_id`."""
    return ExpressionResult(index, f"{vid}_{me.id}", vid, me.id, values, me.type_id, no_target=not me.anno_ids,
                            **fields)


def _mask_dict_video(job: Job, vid: str) -> ExpressionAccumulator:
    """One video's expressions: frame by frame when every prediction is a plain file of the frame's size
    (`_frame_major`), else expression by expression (`_expression_major`); both give the same values."""
    acc = _frame_major(job, vid)
    return _expression_major(job, vid) if acc is None else acc


def _expression_major(job: Job, vid: str) -> ExpressionAccumulator:
    """Each expression's frames read together (`_mask_dict_predictions`: missing frames, wrong sizes and unusable
    files decide whether and how it is scored), then scored; the ground truth is kept for the whole video."""
    ds = job.ds
    acc = ExpressionAccumulator(job.proto)
    mv = ds.meta()[vid]
    video = ds.videos()[vid]
    truth = _FrameTruth(job, vid)
    for index, e in job.plan[vid]:
        me, shape = ds.meta_expression(e), (video.height, video.width)
        notes: list[str] = []
        got, miss, detail = _mask_dict_predictions(job, vid, me.id, mv.frames, shape, notes)
        result = _mask_dict_result(index, vid, me, None, missing=miss, detail=detail, warnings=tuple(notes))
        if got is None:
            acc.update(result)
            continue
        if not shape[0]:
            shape = next((p.shape for p in got if p is not None), shape)
        pred = [np.zeros(shape, dtype=np.uint8) if p is None else p for p in got]
        scores = ExpressionScores(truth.metrics)
        for f, p in zip(mv.frames, pred, strict=True):
            truth.score(scores, me, f, p, shape)
        acc.update(replace(result, values=scores.compute(), pred_empty=not any(p.any() for p in pred)))
    return acc


def _plain_pngs(paths: list[list[str]], header: bytes) -> list[list[bytes]] | None:
    """The bytes of every file, or None when one is absent, unreadable or does not start its IHDR with `header`
    (then `_expression_major` reads the tree the documented way, `RawPngTree.frames`, and reports the problem).
    Plain `open` on strings: building a `Path` per file cost 40 us, 4% of scoring a 480p frame."""
    out = []
    for row in paths:
        files = []
        for path in row:
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                return None
            if data[12:26] != header:
                return None
            files.append(data)
        out.append(files)
    return out


def _frame_major(job: Job, vid: str) -> ExpressionAccumulator | None:
    """The video scored frame by frame: each frame's ground truth and every expression's prediction of it are
    decoded, scored and dropped while they are in the CPU cache (480p frames: expression by expression, each
    array was read again from memory after 30 other frames had been decoded; 15% of the time on MeViS-sized
    sets). Only for PNG trees whose files are all present, 8-bit grayscale and of the frame's size, and whose
    reading raises nothing: None otherwise, and `_expression_major` scores the video (and reports what is missing
    or wrong exactly as before). Per expression the frames are scored in meta order, so the values are the same."""
    ds, preds = job.ds, job.preds
    video = ds.videos()[vid]
    if not isinstance(preds, RawPngTree) or not video.height or not preds.has_video(vid):
        return None
    mv, shape = ds.meta()[vid], (video.height, video.width)
    ihdr = struct.pack(">II", video.width, video.height) + bytes((8, 0))  # width, height, depth 8, grayscale
    try:
        exps = [(index, ds.meta_expression(e)) for index, e in job.plan[vid]]
        paths = [[os.path.join(preds.tree.base, vid, str(me.id), f"{f}.png") for f in mv.frames] for _, me in exps]
        files = _plain_pngs(paths, b"IHDR" + ihdr)
        if files is None:
            return None
        truth = _FrameTruth(job, vid)
        scores = [ExpressionScores(truth.metrics) for _ in exps]
        empty = [True] * len(exps)
        for t, f in enumerate(mv.frames):
            truth.next_frame()
            for i, (_, me) in enumerate(exps):
                p = decode_gray(files[i][t], paths[i][t])
                if p.shape != shape:
                    return None
                truth.score(scores[i], me, f, p, shape)
                empty[i] = empty[i] and not p.any()
    except LvsbenchError:
        return None  # `_expression_major` meets the same problem in its own order and reports it
    acc = ExpressionAccumulator(job.proto)
    for (index, me), sc, e in zip(exps, scores, empty, strict=True):
        acc.update(_mask_dict_result(index, vid, me, sc.compute(), pred_empty=e))
    return acc


# ---------------------------------------------------------------------------------------------------- PNG ground truth


def _long_rvos_plan(ds: LongRVOSDataset) -> Plan:
    untyped = [f"{e.video_id}_{e.id}" for e in ds.expressions() if ds.expression_type(e) is None]
    if untyped:
        raise ValidationFailed([Problem(k, "expression has no 'type' (static/dynamic/static+dynamic)")
                                for k in untyped], "long-rvos")
    return _plan(ds)


def _png_expression(preds: PngTreePredictions, pred_video: str, exp_id: str, frames: tuple[str, ...],
                    shape: tuple[int, int], key: str, gt_of: Callable[[str], np.ndarray],
                    score: Callable[[np.ndarray, np.ndarray], Any]) -> tuple[list[Any], list[MissingInput], str]:
    """Per-frame scores of one expression from a PNG tree (missing or wrongly sized frames scored as empty), what
    was missing, and the first wrongly sized file with its size and the frame size (empty if none)."""
    missing: list[MissingInput] = []
    if not (preds.base / pred_video).is_dir():
        missing.append(MissingInput(key, "video"))
    elif not (preds.base / pred_video / exp_id).is_dir():
        missing.append(MissingInput(key, "expression"))
    have = not missing
    absent, wrong, out = [], [], []
    detail = ""
    empty = np.zeros(shape, dtype=bool)
    for frame in frames:
        pred = preds.mask(pred_video, exp_id, frame) if have else None
        if pred is None:
            if have:
                absent.append(frame)
            pred = empty
        elif pred.shape != shape:
            if not wrong:
                detail = f"{preds.file(pred_video, exp_id, frame)}: prediction of {_size(pred.shape)}, the frame is " \
                         f"{_size(shape)}"
            wrong.append(frame)
            pred = empty
        out.append(score(gt_of(frame), pred))
    first = int(absent[:1] == [frames[0]])  # some scripts take the frame size from the first frame
    if first:
        missing.append(MissingInput(key, "first_frame", (frames[0],)))
    if absent[first:]:
        missing.append(MissingInput(key, "frames", tuple(absent[first:])))
    if wrong:
        missing.append(MissingInput(key, "size", tuple(wrong)))
    return out, missing, detail


def _long_rvos_video(job: Job, vid: str) -> ExpressionAccumulator:
    """Long-RVOS as `eval/eval_long_rvos/eval_{static,dynamic,hybrid,overall}.py` (Long_RVOS @ 447682a)."""
    ds: LongRVOSDataset = job.ds
    acc = ExpressionAccumulator(job.proto)
    video = ds.videos()[vid]
    for index, e in job.plan[vid]:
        key, label = f"{vid}_{e.id}", e.object_ids[0]
        frame_scores, miss, detail = _png_expression(
            job.preds, vid, e.id, e.frames, (video.height, video.width), key,
            lambda f, lab=label: ds.read_object_mask(vid, lab, f), lr.frame_scores)
        acc.update(ExpressionResult(index, key, vid, e.id, lr.expression_scores(frame_scores),
                                    ds.expression_type(e), tuple(miss), detail))
    return acc


def _reasonvos_video(job: Job, vid: str) -> ExpressionAccumulator:
    """ReasonVOS as `evaluation/reason_vos/eval_reason_vos.py` (VideoLISA @ 146f2bc)."""
    ds: ReasonVOSDataset = job.ds
    acc = ExpressionAccumulator(job.proto)
    video = ds.videos()[vid]
    shape = (video.height, video.width)
    for index, e in job.plan[vid]:
        key, label = ds.official_key(e), e.object_ids[0]
        miss = [] if ds.has_ground_truth(e) else [MissingInput(key, "ground_truth")]

        def gt_of(f: str, lab: int = label) -> np.ndarray:
            m = ds.read_object_mask(vid, lab, f)
            return np.zeros(shape, dtype=bool) if m is None else m

        frame_scores, more, detail = _png_expression(job.preds, ds.prediction_video(e), e.id, e.frames, shape, key,
                                                     gt_of, rv.frame_scores)
        acc.update(ExpressionResult(index, key, vid, e.id, rv.expression_scores(frame_scores),
                                    missing=tuple(miss + more), detail=detail))
    return acc


# ---------------------------------------------------------------------------------------------------- mapping


@dataclass(frozen=True)
class Driver:
    reader: type
    plan: Callable[[Any], Plan]
    video: Callable[[Job, str], ExpressionAccumulator]


DRIVERS: dict[str, Driver] = {
    "mevis": Driver(MeViSDataset, _plan, _mask_dict_video),
    "revos": Driver(ReVOSDataset, _plan, _mask_dict_video),
    "refsav": Driver(RefSAVDataset, _plan, _mask_dict_video),
    "long-rvos": Driver(LongRVOSDataset, _long_rvos_plan, _long_rvos_video),
    "reasonvos": Driver(ReasonVOSDataset, _plan, _reasonvos_video),
}
"""`Protocol.dataset` -> the native reader it needs and how its videos are scored."""

_JOB: Job | None = None


def _video_worker(vid: str) -> ExpressionAccumulator:
    assert _JOB is not None
    return DRIVERS[_JOB.proto.dataset or ""].video(_JOB, vid)


def _map_videos(job: Job, workers: int) -> Iterator[ExpressionAccumulator]:
    """One accumulator per video: a thin loop, in a fork pool that inherits the job when `workers > 1` (nothing is
    pickled but the accumulators), as `lvsbench.scoring.evaluate` does for the other protocols."""
    global _JOB
    videos = list(job.plan)
    video = DRIVERS[job.proto.dataset or ""].video
    if workers > 1 and len(videos) > 1:
        import multiprocessing as mp  # not before: a one-process run does not pay for it (socket, pickle, ...)
    if workers <= 1 or len(videos) <= 1 or "fork" not in mp.get_all_start_methods():
        yield from (video(job, vid) for vid in videos)
        return
    getattr(job.ds, "mask_dict", None)  # parse the JSON once, before forking
    # longest videos first (expression-frames), so that no long video is left to run alone at the end
    videos.sort(key=lambda vid: -sum(len(e.frames) for _, e in job.plan[vid]))
    _JOB = job
    try:  # the workers inherit a one-thread OpenCV (`core.forking`: a forked child must not resize OpenCV's pool)
        with opencv_single_threaded(), mp.get_context("fork").Pool(min(workers, len(videos))) as pool:
            yield from pool.imap_unordered(_video_worker, videos, chunksize=1)
    finally:
        _JOB = None


def score_expressions(ds: Any, preds: Any, proto: Protocol, *, missing_as_empty: bool = True,
                      workers: int = 1) -> ExpressionAccumulator:
    """Every expression of a native dataset scored under one of its protocols, all listed frames, meta order.
    `workers > 1` scores videos in a process pool and merges their accumulators as they come."""
    driver = DRIVERS.get(proto.dataset or "")
    if driver is None:
        raise ConfigError(f"protocol {proto.name} is not scored per expression")
    if not isinstance(ds, driver.reader):
        raise TypeError(f"protocol {proto.name} needs a {driver.reader.__name__}, got {type(ds).__name__}")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    acc = ExpressionAccumulator(proto)
    for part in _map_videos(Job(ds, preds, proto, missing_as_empty, driver.plan(ds)), workers):
        acc.merge(part)
    return acc


__all__ = ["DRIVERS", "Driver", "Job", "Plan", "score_expressions"]
