"""Per-expression scoring of the 2023-2026 benchmarks: the seven protocols of `lvsbench.protocols.PROTOCOLS`
with family "per-expression" (mevis, mevis-v2, revos, revos-visa-png, refsav, long-rvos, reasonvos), each
reproducing one official evaluator. One entry point, `score_per_expression` (also reached through
`lvsbench.scoring.score` and `lvsbench score`): dataset + predictions -> one row per expression, the benchmark
figures, every missing item, and what the official script would have reported (`official_equivalent`, applying the
protocol's `missing_rules` with `lvsbench.metrics.official_missing`).

Drivers (all stream one frame at a time in meta order, the order aggregates are taken in; the official scripts build
(T, H, W) stacks, per-frame values are identical):
- `evaluate`: the mask-dict datasets (MeViS v1/v2, ReVOS, Ref-SAV: meta + `mask_dict.json`, ground truth = uint8
  sum of the targets' masks), predictions as Sa2VA's RLE results JSON or a PNG tree read as raw grayscale values
  (MeViS `tools/eval_mevis.py` @ 7c0620b, VISA `tools/eval_revos.py` @ ec158fd, Sa2VA `tools/eval/eval_revos.py`,
  `eval_ref_sav.py` @ 9832e1a).
- `evaluate_long_rvos`, `evaluate_reasonvos`: per-object PNG ground truth (Long_RVOS `eval/eval_long_rvos` @ 447682a,
  VideoLISA `evaluation/reason_vos/eval_reason_vos.py` @ 146f2bc).

lvsbench never scores a missing prediction silently: it is refused with the full list unless `allow_missing`, which
scores it as an empty mask and records it.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lvsbench.core.errors import ConfigError, Problem, ValidationFailed
from lvsbench.core.io import sha256_file, sha256_tree
from lvsbench.datasets.long_rvos import LongRVOSDataset
from lvsbench.datasets.mevis import MaskDictDataset
from lvsbench.datasets.reasonvos import ReasonVOSDataset
from lvsbench.datasets.refsav import RefSAVDataset
from lvsbench.datasets.revos import ReVOSDataset
from lvsbench.formats.predictions import PngTreePredictions
from lvsbench.formats.raw_png import MissingPrediction, RawPngTree
from lvsbench.formats.rle_results import RleResultsPredictions
from lvsbench.metrics import long_rvos as lr
from lvsbench.metrics import reasonvos as rv
from lvsbench.metrics.functional import j_and_f
from lvsbench.metrics.modern import (
    ExpressionScores,
    mevis_aggregate,
    mevis_frame,
    mevis_v2_scores,
    no_target_counts,
    pixel_accuracy,
    revos_frame,
    revos_rounded,
    subset_aggregate,
)
from lvsbench.metrics.names import units_of
from lvsbench.metrics.official_missing import MissingInput, MissingKind, official_equivalent
from lvsbench.protocols import PER_EXPRESSION, Protocol, get_protocol

MASK_DICT_PROTOCOLS: tuple[str, ...] = ("mevis", "mevis-v2", "revos", "revos-visa-png", "refsav")
"""Protocols scored by `evaluate` (mask-dict datasets); long-rvos and reasonvos have their own drivers."""
_PER_FRAME = ("J", "F", "A", "R")


def frame_metrics(proto: Protocol) -> tuple[str, ...]:
    """The metrics measured per frame and averaged per expression (J&F, N-acc... are derived from them)."""
    return tuple(m for m in proto.metrics if m in _PER_FRAME)


def refsav_frame(gt: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    """(J_t, F_t, A_t) of one Ref-SAV frame: `gt` the uint8 target sum, `pred` the 0/1 prediction (Sa2VA
    eval_ref_sav.py @ 9832e1a: eval_revos.py without R)."""
    j, f = j_and_f(gt, pred)
    return j, f, pixel_accuracy(gt, pred)


# ---------------------------------------------------------------------------------------------------- mask-dict


class ExpressionPredictions(typing.Protocol):
    """What the driver needs from a prediction source (`RawPngTree`, `RleResultsPredictions`)."""

    def frames(self, video_id: str, exp_id: str, frames: Sequence[str], missing_ok: bool = False
               ) -> list[np.ndarray | None]: ...


@dataclass
class MaskDictResult:
    """Per-expression values (raw, in [0, 1]) keyed `<video>_<exp_id>` in meta order, and what was missing (one
    kind per expression: video, expression, frame or error)."""

    protocol: Protocol
    order: list[str] = field(default_factory=list)
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    scored: dict[str, dict[str, float]] = field(default_factory=dict)
    missing: dict[str, MissingKind] = field(default_factory=dict)
    missing_detail: dict[str, str] = field(default_factory=dict)
    type_id: dict[str, int] = field(default_factory=dict)
    no_target: dict[str, bool] = field(default_factory=dict)
    pred_empty: dict[str, bool] = field(default_factory=dict)

    def aggregate(self, per_expression: dict[str, dict[str, float] | None] | None = None, *,
                  count_missing: bool = True) -> dict[str, Any]:
        """Aggregates over `per_expression` (default: the scored expressions), meta order. `count_missing=False`
        leaves expressions with missing predictions out of the MeViS v2 no-target counts."""
        per = per_expression if per_expression is not None else {k: v for k, v in self.scored.items()}
        rows = [(k, per[k]) for k in self.order if per.get(k) is not None]
        if self.protocol.subsets:
            return subset_aggregate([(self.type_id[k], revos_rounded(v)) for k, v in rows],
                                    dict(self.protocol.subsets), frame_metrics(self.protocol))
        out = mevis_aggregate([v for _, v in rows], n_meta=len(self.order))
        if self.protocol.name == "mevis-v2":
            flags = [(self.no_target[k], self.pred_empty[k]) for k, _ in rows
                     if k in self.pred_empty and (count_missing or k not in self.missing)]
            out.update(mevis_v2_scores(out["JF"], no_target_counts(flags)))
        return out

    def merge(self, other: MaskDictResult) -> MaskDictResult:
        """Append another (later) video's results; meta order is kept by merging videos in meta order."""
        self.order += other.order
        for name in ("keys", "scored", "missing", "missing_detail", "type_id", "no_target", "pred_empty"):
            getattr(self, name).update(getattr(other, name))
        return self

    def official_equivalent(self) -> dict[str, Any]:
        """What the official script would report on these predictions (zeros / drops for missing ones)."""
        eq = official_equivalent(self.order, self.scored, self.missing, self.protocol.name,
                                 frame_metrics(self.protocol))
        eq["aggregate"] = self.aggregate(eq["per_expression"], count_missing=False)
        return eq


def evaluate(ds: MaskDictDataset, preds: ExpressionPredictions, protocol: str | Protocol, *,
             missing_as_empty: bool = False, workers: int = 1) -> MaskDictResult:
    """Score every expression of a mask-dict dataset (MeViS, ReVOS, Ref-SAV: meta order, all listed frames) under
    one of their protocols. Missing predictions are left out and listed in `missing` (`missing_as_empty=True`
    scores them as empty masks and still lists them). `workers > 1` scores videos in a process pool (fork) and
    merges the per-video results in meta order: the values do not depend on it, bit for bit."""
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    if proto.name not in MASK_DICT_PROTOCOLS:
        raise ConfigError(f"protocol {proto.name} is not scored from a mask-dict dataset")
    if proto.dataset == "revos" and not isinstance(ds, ReVOSDataset):
        raise TypeError(f"protocol {proto.name} needs a ReVOS dataset")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    job = _MaskDictJob(ds, preds, proto, missing_as_empty)
    res = MaskDictResult(proto)
    for part in _map_videos(job, list(ds.meta()), workers):
        res.merge(part)
    return res


@dataclass
class _MaskDictJob:
    ds: Any
    preds: Any
    proto: Protocol
    missing_as_empty: bool


_JOB: _MaskDictJob | None = None


def _video_worker(vid: str) -> MaskDictResult:
    assert _JOB is not None
    return _evaluate_video(_JOB, vid)


def _map_videos(job: _MaskDictJob, videos: list[str], workers: int) -> Any:
    """Per-video results in the order of `videos`; a fork pool inherits the job (nothing is pickled but the
    results), as `lvsbench.scoring.evaluate` does for the other protocols."""
    global _JOB
    import multiprocessing as mp

    if workers <= 1 or len(videos) <= 1 or "fork" not in mp.get_all_start_methods():
        for vid in videos:
            yield _evaluate_video(job, vid)
        return
    getattr(job.ds, "mask_dict", None)  # parse the JSON once, before forking
    _JOB = job
    try:
        with mp.get_context("fork").Pool(min(workers, len(videos)), initializer=_init_worker) as pool:
            yield from pool.imap(_video_worker, videos, chunksize=1)
    finally:
        _JOB = None


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def _evaluate_video(job: _MaskDictJob, vid: str) -> MaskDictResult:
    """One video's expressions. The ground truth of a (target set, frame) is decoded once and shared by the
    expressions that refer to the same objects (MeViS has ~16 expressions per video over a few objects)."""
    ds, preds, proto = job.ds, job.preds, job.proto
    revos = proto.dataset == "revos"
    metrics = frame_metrics(proto)
    res = MaskDictResult(proto)
    mv = ds.meta()[vid]
    video = ds.videos()[vid]
    gt_cache: dict[tuple[tuple[str, ...], str], np.ndarray] = {}
    gt_bool: dict[tuple[tuple[str, ...], str], np.ndarray] = {}
    fg_cache: dict[str, np.ndarray] = {}
    for me in mv.expressions:
        key = f"{vid}_{me.id}"
        res.order.append(key)
        res.keys[key] = (vid, me.id)
        res.no_target[key] = not me.anno_ids
        if me.type_id is not None:
            res.type_id[key] = me.type_id
        shape = (video.height, video.width)
        try:
            got = preds.frames(vid, me.id, mv.frames, missing_ok=True)
            absent = [f for f, p in zip(mv.frames, got, strict=True) if p is None]
            if absent:
                raise MissingPrediction("frame", f"{vid}/{me.id}: {len(absent)} frame(s) missing: "
                                                 f"{', '.join(absent[:5])}{' ...' if len(absent) > 5 else ''}")
            bad = [p.shape for p in got if p is not None and shape[0] and p.shape != shape]
            if bad:
                got = [None] * len(mv.frames)
                raise MissingPrediction("error", f"{vid}/{me.id}: prediction size {bad[0]} != frame size "
                                                 f"{shape}")
        except MissingPrediction as exc:
            res.missing[key] = exc.kind
            res.missing_detail[key] = str(exc)
            if not job.missing_as_empty:
                continue
            if exc.kind in ("video", "expression"):
                got = [None] * len(mv.frames)
        if not shape[0]:
            shape = next((p.shape for p in got if p is not None), shape)
        pred = [np.zeros(shape, dtype=np.uint8) if p is None else p for p in got]
        res.pred_empty[key] = not any(p.any() for p in pred)
        acc = ExpressionScores(metrics)
        targets = tuple(me.anno_ids)
        for f, p in zip(mv.frames, pred, strict=True):
            if not video.height:
                gt = np.zeros(shape, dtype=np.uint8)
            elif (gt := gt_cache.get((targets, f))) is None:
                gt = gt_cache[targets, f] = ds.target_sum((vid, me.id), f)
            if revos:
                if (fg := fg_cache.get(f)) is None:
                    fg = fg_cache[f] = ds.read_foreground(vid, f)
                acc.update(*revos_frame(gt, p, fg, binarize=proto.binarize))
            elif "A" in metrics:  # Ref-SAV: J, F, A on the 0/1 prediction
                acc.update(*refsav_frame(gt, (p != 0).view(np.uint8)))
            else:  # J and F binarise: the bool target is shared too
                if (gb := gt_bool.get((targets, f))) is None:
                    gb = gt_bool[targets, f] = gt != 0
                acc.update(*mevis_frame(gb, p))
        res.scored[key] = acc.compute()
    return res


def open_expression_predictions(path: str | Path, fmt: str | None = None) -> Any:
    """A results JSON (Sa2VA per-expression RLE, `rle-json`) or a PNG tree (`png-tree`, raw values)."""
    p = Path(path)
    fmt = fmt or ("rle-json" if p.is_file() and p.suffix.lower() == ".json" else "png-tree")
    if fmt == "rle-json":
        return RleResultsPredictions(p)
    if fmt == "png-tree":
        if not p.is_dir():
            raise ConfigError(f"{p}: the {fmt} format needs a folder <video>/<exp_id>/<frame>.png (zip archives "
                              "are not read by the per-expression protocols yet: unzip first)")
        return RawPngTree(p)
    raise ConfigError(f"{p}: format {fmt!r} is not read by the per-expression protocols (png-tree, rle-json)")




def per_sample_frame(res: MaskDictResult) -> pd.DataFrame:
    """One row per scored expression: video_id, exp_id, then each metric under its name, on the scale of the
    official per-expression output (MeViS: raw [0, 1] as eval_mevis.py saves them; ReVOS, Ref-SAV: round(100 x, 2)
    as revos_valid.csv / ref_sav_valid.csv, plus the unrounded `<metric>_raw`), then type / no-target / missing
    columns."""
    rows = []
    for k in res.order:
        if k not in res.scored:
            continue
        vid, eid = res.keys[k]
        raw = res.scored[k]
        row: dict[str, Any] = {"video_id": vid, "exp_id": eid}
        if res.protocol.subsets:
            row.update(revos_rounded(raw))
            row.update({f"{m}_raw": v for m, v in raw.items()})
            row["type_id"] = res.type_id[k]
            row["subset"] = dict(res.protocol.subsets).get(res.type_id[k], "")
        else:
            row.update(raw)
            row["JF"] = (raw["J"] + raw["F"]) / 2
            row["no_target"] = res.no_target[k]
            row["pred_empty"] = res.pred_empty.get(k)
        row["missing"] = res.missing.get(k, "")
        rows.append(row)
    return pd.DataFrame(rows)




# ---------------------------------------------------------------------------------------------------- PNG ground truth


@dataclass
class ExpressionResults:
    """Rows (video_id, exp_id, key, [subset], metrics...) in meta order, figures, missing items, official view."""

    protocol: str
    rows: pd.DataFrame
    aggregates: dict[str, Any]
    missing: list[MissingInput] = field(default_factory=list)
    official_equivalent: dict[str, Any] = field(default_factory=dict)

    def per_sample_frame(self) -> pd.DataFrame:
        """The `--per-sample` CSV: video_id, exp_id, then each metric under its name, then the subset."""
        tail = [c for c in ("type", "type_id", "subset") if c in self.rows.columns]
        head = [c for c in self.rows.columns if c not in ("key", *tail)]
        return self.rows[head + tail]


def missing_problems(missing: list[MissingInput]) -> list[Problem]:
    """One `Problem` per missing input (key, kind, the first frames concerned)."""
    def frames(m: MissingInput) -> str:
        more = " ..." if len(m.frames) > 10 else ""
        return f" (frames {', '.join(m.frames[:10])}{more})" if m.frames else ""

    return [Problem(m.key, f"{m.kind} missing{frames(m)}") for m in missing]


def _refuse(missing: list[MissingInput], allow_missing: bool, what: str) -> None:
    if missing and not allow_missing:
        raise ValidationFailed(missing_problems(missing), f"{what}: predictions incomplete (--allow-missing scores "
                                                          "them as empty masks and records them)")


def _frame_missing(key: str, frames: tuple[str, ...], absent: list[str]) -> list[MissingInput]:
    out = []
    if absent and absent[0] == frames[0]:
        out.append(MissingInput(key, "first_frame", (frames[0],)))
        absent = absent[1:]
    if absent:
        out.append(MissingInput(key, "frames", tuple(absent)))
    return out


def _png_expression(preds: PngTreePredictions, pred_video: str, exp_id: str, frames: tuple[str, ...],
                    shape: tuple[int, int], key: str, gt_of: Callable[[str], np.ndarray],
                    score: Callable[[np.ndarray, np.ndarray], Any]) -> tuple[list[Any], list[MissingInput]]:
    """Per-frame scores of one expression from a PNG tree (missing or wrongly sized frames scored as empty)."""
    missing: list[MissingInput] = []
    if not (preds.base / pred_video).is_dir():
        missing.append(MissingInput(key, "video"))
    elif not (preds.base / pred_video / exp_id).is_dir():
        missing.append(MissingInput(key, "expression"))
    have = not missing
    absent, wrong, out = [], [], []
    empty = np.zeros(shape, dtype=bool)
    for frame in frames:
        pred = preds.mask(pred_video, exp_id, frame) if have else None
        if pred is None:
            if have:
                absent.append(frame)
            pred = empty
        elif pred.shape != shape:
            wrong.append(frame)
            pred = empty
        out.append(score(gt_of(frame), pred))
    missing += _frame_missing(key, frames, absent)
    if wrong:
        missing.append(MissingInput(key, "size", tuple(wrong)))
    return out, missing


def evaluate_long_rvos(ds: LongRVOSDataset, preds: PngTreePredictions,
                       allow_missing: bool = False) -> ExpressionResults:
    """Long-RVOS as `eval/eval_long_rvos/eval_{static,dynamic,hybrid,overall}.py` (Long_RVOS @ 447682a)."""
    acc = lr.LongRVOSAccumulator()
    missing: list[MissingInput] = []
    rows = []
    videos = ds.videos()
    untyped = [f"{e.video_id}_{e.id}" for e in ds.expressions() if ds.expression_type(e) is None]
    if untyped:
        raise ValidationFailed([Problem(k, "expression has no 'type' (static/dynamic/static+dynamic)")
                                for k in untyped], "long-rvos")
    for e in ds.expressions():
        key = f"{e.video_id}_{e.id}"
        video = videos[e.video_id]
        label = e.object_ids[0]
        frame_scores, miss = _png_expression(
            preds, e.video_id, e.id, e.frames, (video.height, video.width), key,
            lambda f, v=e.video_id, lab=label: ds.read_object_mask(v, lab, f), lr.frame_scores)
        missing += miss
        scores = lr.expression_scores(frame_scores)
        typ = ds.expression_type(e)
        assert typ is not None
        acc.update(key, typ, scores)
        rows.append({"video_id": e.video_id, "exp_id": e.id, "key": key, "type": typ,
                     "J": scores.J, "F": scores.F, "JF": (scores.J + scores.F) / 2, "tIoU": scores.tIoU,
                     "vIoU": scores.vIoU})
    _refuse(missing, allow_missing, "long-rvos")
    order = [r["key"] for r in rows]
    return ExpressionResults("long-rvos", pd.DataFrame(rows), acc.compute(order), missing,
                             acc.official_equivalent(order, missing))


def evaluate_reasonvos(ds: ReasonVOSDataset, preds: PngTreePredictions,
                       allow_missing: bool = False) -> ExpressionResults:
    """ReasonVOS as `evaluation/reason_vos/eval_reason_vos.py` (VideoLISA @ 146f2bc)."""
    acc = rv.ReasonVOSAccumulator()
    missing: list[MissingInput] = []
    rows = []
    videos = ds.videos()
    for e in ds.expressions():
        key = ds.official_key(e)
        video = videos[e.video_id]
        shape = (video.height, video.width)
        label = e.object_ids[0]
        if not ds.has_ground_truth(e):
            missing.append(MissingInput(key, "ground_truth"))

        def gt_of(f: str, v: str = e.video_id, lab: int = label, hw: tuple[int, int] = shape) -> np.ndarray:
            m = ds.read_object_mask(v, lab, f)
            return np.zeros(hw, dtype=bool) if m is None else m

        frame_scores, miss = _png_expression(preds, ds.prediction_video(e), e.id, e.frames, shape, key, gt_of,
                                             rv.frame_scores)
        missing += miss
        scores = rv.expression_scores(frame_scores)
        acc.update(key, scores)
        rows.append({"video_id": e.video_id, "exp_id": e.id, "key": key, "J": scores[0], "F": scores[1],
                     "JF": (scores[0] + scores[1]) / 2})
    _refuse(missing, allow_missing, "reasonvos")
    order = [r["key"] for r in rows]
    return ExpressionResults("reasonvos", pd.DataFrame(rows), acc.compute(order), missing,
                             acc.official_equivalent(order, missing))



def extra_predictions(dataset: Any, protocol: str, preds: Any) -> list[Problem]:
    """Predictions for videos, expressions or frames the split does not have (the official scripts ignore them)."""
    out: list[Problem] = []
    if isinstance(preds, RleResultsPredictions):
        known = {e.key: e for e in dataset.expressions()}
        videos = {k[0] for k in known}
        for vid, exps in preds.doc.items():
            for eid, item in (exps.items() if isinstance(exps, dict) else ()):
                e = known.get((vid, str(eid)))
                n = len(item.get("prediction_masks") or []) if isinstance(item, dict) else 0
                if e is None:
                    why = "unexpected expression id" if vid in videos else "unexpected video (not in the split)"
                    out.append(Problem(f"{preds.path}:{vid}/{eid}", f"prediction for an expression not in the split: "
                                                                     f"{why}"))
                elif n > len(e.frames):
                    out.append(Problem(f"{preds.path}:{vid}/{eid}", f"{n} masks for {len(e.frames)} frames"))
        return out
    tree = preds.tree if isinstance(preds, RawPngTree) else preds
    folder = (lambda e: dataset.prediction_video(e)) if protocol == "reasonvos" else (lambda e: e.video_id)
    expected = {(folder(e), e.id): set(e.frames) for e in dataset.expressions()}
    for key, frames in tree.inventory().items.items():
        if key not in expected:
            out.append(Problem(tree.describe(*key), "prediction folder for an expression not in the split"))
        elif frames - expected[key]:
            out.append(Problem(tree.describe(*key), f"{len(frames - expected[key])} frame(s) not scored: "
                                                    f"{', '.join(sorted(frames - expected[key])[:5])}"))
    out += [Problem(path, why) for path, why in tree.inventory().stray]
    return out


def official_notes(dataset: Any, protocol: str, preds: Any) -> list[str]:
    """Where the official script, run on the same files, would see something else than lvsbench does."""
    notes = []
    tree = preds.tree if isinstance(preds, RawPngTree) else preds
    if protocol in ("long-rvos", "reasonvos") and isinstance(tree, PngTreePredictions) and tree.base != tree.path:
        notes.append("the official script needs the folder that holds the video folders (the predictions' "
                     f"{tree.base.relative_to(tree.path)}/ folder); given the predictions folder it finds no video and "
                     "scores "
                     + ("every expression 0" if protocol == "long-rvos" else "nothing (every expression skipped)"))
    if isinstance(preds, RleResultsPredictions):
        reordered = [f"{e.video_id}/{e.id}" for e in dataset.expressions()
                     if isinstance((item := (preds.doc.get(e.video_id) or {}).get(e.id)), dict)
                     and isinstance(item.get("frames"), list) and tuple(item["frames"]) != e.frames]
        if reordered:
            notes.append(f"{len(reordered)} expression(s) list their frames in another order than the meta file "
                         f"(e.g. {reordered[0]}); masks are matched by position in the meta order, as "
                         "eval_ref_sav.py does (Sa2VA's inference sorts the frames)")
    return notes




# ---------------------------------------------------------------------------------------------------- lvsbench score

PNG_EVALUATORS: dict[str, tuple[type, Callable[..., ExpressionResults]]] = {
    "long-rvos": (LongRVOSDataset, evaluate_long_rvos),
    "reasonvos": (ReasonVOSDataset, evaluate_reasonvos),
}
READERS: dict[str, type] = {"mevis": MaskDictDataset, "revos": ReVOSDataset, "refsav": RefSAVDataset,
                            "long-rvos": LongRVOSDataset, "reasonvos": ReasonVOSDataset}
"""Protocol `dataset` -> the native reader it needs."""


def headline_values(proto: Protocol, aggregates: dict[str, Any]) -> dict[str, float]:
    """`values`: exactly `proto.metrics`, in order, from the overall figures (`J&F` is the scripts' `JF`), stored
    as fractions like every other protocol's (`lvsbench.metrics.names`); a protocol of scale "percent" (ReVOS,
    Ref-SAV: the official round(100 x, 2) figures) keeps those exact figures in `aggregates` and the per-sample
    table, and its `values` are them / 100."""
    overall = aggregates.get("overall", aggregates)
    div = 100.0 if proto.scale == "percent" else 1.0
    return {m: overall["JF" if m == "J&F" else m] / div for m in proto.metrics}


def _format_of(path: Path, fmt: str | None, proto: Protocol) -> str:
    if fmt is None:
        fmt = "rle-json" if path.is_file() and path.suffix.lower() == ".json" else "png-tree"
    if fmt not in proto.formats:
        raise ConfigError(f"{path}: protocol {proto.name} reads {', '.join(proto.formats)}, not {fmt}")
    return fmt


def score_per_expression(preds: str | Path, dataset: Any, protocol: str | Protocol | None = None,
                         allow_missing: bool = False, allow_extra: bool = False, by: str | None = None,
                         format: str | None = None, workers: int = 1) -> Any:
    """Score a native 2023-2026 dataset under one of its per-expression protocols: a `ScoreResult` whose `values`
    are `protocol.metrics` (overall figures), whose `per_sample` has one row per expression (video_id, exp_id,
    then the metrics as the official per-expression output writes them), and whose results JSON also carries the
    subset figures (`aggregates`) and `official_equivalent`.

    Missing predictions are refused with the full list (`ValidationFailed`) unless `allow_missing`; predictions for
    items outside the split likewise unless `allow_extra` (then listed in `ignored_extra`). `by` does not apply.
    `workers > 1` scores the videos of the mask-dict protocols in a process pool (identical results; Long-RVOS and
    ReasonVOS run in one process).
    """
    from lvsbench import __version__
    from lvsbench.scoring.evaluate import ScoreResult, _json_safe, dataset_checksum

    proto = protocol if isinstance(protocol, Protocol) else get_protocol(protocol or dataset.name)
    if proto.name not in PER_EXPRESSION:
        raise ConfigError(f"protocol {proto.name!r} is not a per-expression protocol ({', '.join(PER_EXPRESSION)})")
    assert proto.dataset is not None
    reader = READERS[proto.dataset]
    if not isinstance(dataset, reader) or (proto.dataset == "mevis" and isinstance(dataset, ReVOSDataset)):
        raise ConfigError(f"protocol {proto.name} scores the native {proto.dataset} release per expression (lvsbench "
                          f"score PRED --dataset {proto.dataset} --root NATIVE_ROOT), got dataset "
                          f"{getattr(dataset, 'name', '?')!r}; a copy converted to the lvsbench layout is scored with "
                          "--protocol ryvos (J and F, the MeViS convention; no-target expressions are not in the "
                          "layout)")
    if by is not None:
        raise ConfigError(f"--by does not apply to the {proto.name} protocol (one row per expression; the subset "
                          "figures are in the results JSON under 'aggregates')")
    path = Path(preds)
    fmt = _format_of(path, format, proto)
    if hasattr(dataset, "has_masks") and not dataset.has_masks():
        server = " or use `lvsbench submit mevis` for the server split" if dataset.name == "mevis" else ""
        raise ConfigError(f"{dataset.name} split {dataset.split!r} has no public masks; score a split with ground "
                          f"truth{server}")
    if proto.name in MASK_DICT_PROTOCOLS:
        src: Any = open_expression_predictions(path, fmt)
    else:
        src = PngTreePredictions(path)
    extra = extra_predictions(dataset, proto.name, src)
    missing: list[Problem]
    if proto.name in MASK_DICT_PROTOCOLS:
        res = evaluate(dataset, src, proto, missing_as_empty=True, workers=workers)
        aggregates = res.aggregate()
        eq = res.official_equivalent()
        per_sample = per_sample_frame(res)
        missing = [Problem(k, f"{res.missing[k]} missing ({res.missing_detail[k]})")
                   for k in res.order if k in res.missing]
        missing_json = [{"key": k, "video_id": res.keys[k][0], "exp_id": res.keys[k][1], "kind": res.missing[k],
                         "detail": res.missing_detail[k]} for k in res.order if k in res.missing]
        official = {"rule": eq["rule"], "dropped": eq["dropped"], "zeroed": eq["zeroed"],
                    "aggregates": eq["aggregate"]}
        counts = {"videos": len(dataset.meta()), "expressions": len(res.order), "scored": len(res.scored),
                  "missing": len(res.missing)}
    else:
        ev = PNG_EVALUATORS[proto.name][1](dataset, src, allow_missing=True)
        aggregates = ev.aggregates
        per_sample = ev.per_sample_frame()
        missing = missing_problems(ev.missing)
        missing_json = [{"key": m.key, "kind": m.kind, "frames": list(m.frames)} for m in ev.missing]
        official = {"rule": dict(proto.missing_rules), **ev.official_equivalent}
        counts = {"videos": int(ev.rows["video_id"].nunique()), "expressions": len(ev.rows),
                  "scored": len(ev.rows), "missing": len(ev.missing)}
    problems = ([] if allow_missing else missing) + ([] if allow_extra else extra)
    if problems:
        raise ValidationFailed(problems, f"predictions {path} for {dataset.name} ({proto.name}): missing items "
                                         "(--allow-missing scores them as empty masks) or unexpected ones "
                                         "(--ignore-extra ignores them); both are recorded when allowed")
    values = headline_values(proto, aggregates)
    ds_kind, ds_sum = dataset_checksum(dataset)
    checksum = sha256_file(path) if path.is_file() else sha256_tree(path)
    results: dict[str, Any] = {
        "lvsbench_version": __version__,
        "protocol": proto.header(),
        "values": values,
        "units": units_of(values),
        "aggregates": aggregates,
        "counts": counts,
        "dataset": {"name": dataset.name, "split": dataset.split, "root": str(dataset.root), "checksum": ds_sum,
                    "checksum_kind": ds_kind},
        "predictions": {"path": str(path), "format": fmt, "checksum": checksum},
        "options": {"allow_missing": allow_missing, "allow_extra": allow_extra, "workers": workers},
        "missing": missing_json,
        "ignored_extra": [{"path": e.path, "message": e.message} for e in extra],
        "official_equivalent": {"reproduces": proto.reproduces, **official,
                                "notes": official_notes(dataset, proto.name, src)},
    }
    summary = pd.DataFrame({"metric": list(values), "value": list(values.values())})
    per_group = pd.DataFrame(columns=["group", "n", *values])  # no --by for these protocols (refused earlier)
    return ScoreResult(proto, values, summary, per_sample, per_group, _json_safe(results), [])


def per_expression_protocol(dataset: Any, protocol: str | None) -> bool:
    """Whether scoring takes the per-expression path: the protocol is one of the seven, or none is given and the
    dataset is one of the native 2023-2026 readers."""
    if protocol:
        return protocol in PER_EXPRESSION
    return isinstance(dataset, tuple(READERS.values()))
