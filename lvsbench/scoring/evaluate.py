"""`score()`: predictions x dataset x protocol -> numbers, per-sample and per-group tables, and a results JSON.

How it stays fast and small (measured in `docs/benchmarks.md`):

* Work is split by video. A video's frames are streamed in order: each ground-truth label map is decoded once and
  shared by every expression / object of that frame, each prediction PNG is decoded once, and only per-frame
  scalars are kept (J, F, I, U), so memory does not grow with video length or resolution beyond one frame.
  The official evaluator instead builds float64 (objects x T x H x W) arrays (2.8 GB for 30 x 80-frame videos).
* J and F come from `lvsbench.metrics.functional.j_and_f` (exact crop-to-bbox formulation, bit-identical to
  davis2017-evaluation); A2D metrics from `lvsbench.metrics.referring`.
* `workers > 1` scores videos in a process pool (fork where available), and long DAVIS-family videos by frame
  ranges as well (`_tasks`), so that a few long videos balance over the workers; per-frame values are merged in
  frame order and results in dataset order, so the numbers do not depend on the number of workers (bit-identical).

Nothing is scored until the predictions have passed `validate.check_inventory`; decode errors, size mismatches and
bad ids found while streaming are collected and raised together as `ValidationFailed`.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing as mp
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lvsbench import __version__
from lvsbench.core.codecs import rle_encode
from lvsbench.core.errors import ConfigError, DataFormatError, LvsbenchError, Problem, ValidationFailed, did_you_mean
from lvsbench.core.records import VOID_LABEL, Expression
from lvsbench.datasets.base import Dataset
from lvsbench.formats.predictions import CocoPredictions, DavisAnnoPredictions, Predictions, open_predictions
from lvsbench.metrics.names import COCO_PREFIX, DAVIS_METRICS, LOCATER_METRICS, TOP1_METRICS, format_value, units_of
from lvsbench.metrics.statistics import DECAY_MODES, DEFAULT_DECAY
from lvsbench.protocols import Protocol, default_protocol_for, get_protocol
from lvsbench.scoring.validate import MissingItem, Plan, annotator_of, build_plan, check_inventory

# ============================================================================ results


@dataclass
class ScoreResult:
    """What `score` returns: the headline values, tables, and the JSON written by `lvsbench score --out`."""

    protocol: Protocol
    values: dict[str, float]
    summary: pd.DataFrame
    per_sample: pd.DataFrame
    per_group: pd.DataFrame
    """One row per group of `by` (columns: the `by` column, n, the metrics); empty, with the metric columns, when
    scored without `by`."""
    results: dict[str, Any]
    missing: list[MissingItem] = field(default_factory=list)

    def table(self) -> str:
        """Human-readable summary (one metric per line, exact metric names, percent with two decimals as papers
        print them; `--json` and the results JSON keep full-precision fractions)."""
        p = self.protocol
        lines = [f"protocol {p.name}: {p.title}" + ("  [OFFLINE PROXY]" if p.proxy else "")]
        c = self.results["counts"]
        lines.append("  " + ", ".join(f"{k} {v}" for k, v in c.items()))
        if p.family == "davis":
            ds = self.results["dataset"]
            where = f"; annotations {ds['annotations']}" if ds.get("annotations") else ""
            lines.append(f"  decay {self.results['options']['decay']}{where}")
        lines.append("  values in percent (x100, two decimals; n/a = not defined on this data); --json gives full "
                     "precision")
        width = max(len(k) for k in self.values) if self.values else 0
        for k, v in self.values.items():
            lines.append(f"  {k:<{width}}  {format_value(k, v):>6}")
        if self.missing:
            lines.append(f"  {len(self.missing)} missing item(s) scored as empty (listed in the results JSON)")
        if not self.per_group.empty:
            shown = self.per_group.copy()
            for c in shown.columns[2:]:
                shown[c] = [format_value(str(c), v) for v in shown[c]]
            lines.append("")
            lines.append(shown.to_string(index=False))
        return "\n".join(lines)


# ============================================================================ per-video workers


@dataclass
class _VideoResult:
    video_id: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    gt_rles: dict[str, dict[str, Any]] = field(default_factory=dict)
    detections: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    frame_objects: int = 0
    missing_scored: int = 0


@dataclass
class _Job:
    dataset: Dataset
    preds: Predictions
    plan: Plan
    allow_missing: bool
    decay: str


_JOB: _Job | None = None


def _init_worker(job: _Job | None) -> None:
    global _JOB
    if job is not None:
        _JOB = job
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:  # pragma: no cover - cv2 is a hard dependency; be tolerant anyway
        pass


def _score_video(job: _Job, vid: str) -> _VideoResult:
    fam = job.plan.protocol.family
    if fam == "davis":
        return _video_davis(job, vid)
    return _video_expressions(job, vid)


def _gt_problem(res: _VideoResult, vid: str, frame: str, exc: LvsbenchError) -> None:
    path = str(exc.path) if isinstance(exc, DataFormatError) and exc.path else f"ground truth {vid}/{frame}"
    msg = exc.detail if isinstance(exc, DataFormatError) else str(exc)
    res.problems.append(Problem(path, f"ground truth: {msg}"))


def _size_problem(path: str, got: tuple[int, ...], want: tuple[int, ...]) -> Problem:
    return Problem(path, f"size {got[1]}x{got[0]} (WxH) differs from the ground truth {want[1]}x{want[0]}")


def _read_pred(job: _Job, res: _VideoResult, vid: str, eid: str, frame: str, shape: tuple[int, int]
               ) -> tuple[np.ndarray | None, bool]:
    """(mask, missing) of a PNG prediction; (None, _) when it cannot be used (a problem was recorded)."""
    preds = job.preds
    try:
        m = preds.mask(vid, eid, frame)
    except LvsbenchError as exc:
        msg = exc.detail if isinstance(exc, DataFormatError) else str(exc)
        res.problems.append(Problem(preds.describe(vid, eid, frame), msg))
        return None, False
    if m is None:
        if not job.allow_missing:
            res.problems.append(Problem(preds.describe(vid, eid, frame), "frame missing"))
            return None, True
        return np.zeros(shape, dtype=bool), True
    if m.shape != shape:
        res.problems.append(_size_problem(preds.describe(vid, eid, frame), m.shape, shape))
        return None, False
    return m, False


def _jf_boxed(gt: np.ndarray, pred: np.ndarray, radii: dict[tuple[int, ...], int]) -> tuple[float, float]:
    """`j_and_f(gt, pred)` from the two masks' boxes: scored on the window of the boxes (`pair_window`, exact), and
    in closed form against an empty prediction (`empty_prediction_j_f`)."""
    from lvsbench.metrics.functional import (
        _check,
        _j_f,
        boundary_radius,
        empty_prediction_j_f,
        mask_box,
        pair_window,
    )

    g, p, _ = _check(gt, pred, None)
    pbox = mask_box(p)
    if pbox[2] == 0:
        gbox = mask_box(g)
        return empty_prediction_j_f(gbox[2] == 0, gbox[2] * gbox[3] == g.size and bool(g.all()))
    r = radii.get(g.shape)
    if r is None:
        r = radii[g.shape] = boundary_radius(g.shape)
    win = pair_window(mask_box(g), pbox, g.shape)
    assert win is not None
    return _j_f(g[win], p[win], None, r, True, True)


def _video_expressions(job: _Job, vid: str) -> _VideoResult:
    """Expression families (referring, jf, locater): one GT decode per frame shared by the video's expressions."""
    from lvsbench.metrics.referring import locater_frame_iou, mttr_iou, top1

    ds, plan, preds = job.dataset, job.plan, job.preds
    proto = plan.protocol
    fam = proto.family
    res = _VideoResult(vid)
    read_masks = ds.read_masks  # per-object masks: overlapping A2D instances keep their shared pixels
    video = ds.videos()[vid]
    items = plan.exp_frames[vid]
    pos = {f: i for i, f in enumerate(video.frames)}
    at: dict[str, list[tuple[int, Expression]]] = {}
    rank: dict[tuple[int, str], int] = {}  # rows follow each expression's frame list (MTTR's COCO image order)
    for k, (e, frames) in enumerate(items):
        for n, f in enumerate(frames):
            at.setdefault(f, []).append((k, e))
            rank[(k, f)] = n
    order = sorted(at, key=lambda f: (pos.get(f, len(pos)), f))
    coco = isinstance(preds, CocoPredictions)
    per_exp: dict[int, dict[str, Any]] = {k: {"J": [], "F": [], "missing": 0, "failed": False}
                                          for k in range(len(items))}
    sample_rows: dict[tuple[int, int], dict[str, Any]] = {}
    vshape = (video.height, video.width)
    radii: dict[tuple[int, ...], int] = {}
    for f in order:
        try:
            lab = read_masks(vid, f)
        except LvsbenchError as exc:
            _gt_problem(res, vid, f, exc)
            for k, _ in at[f]:
                per_exp[k]["failed"] = True
            continue
        if lab is not None and vshape[0] and lab.shape != vshape:
            res.problems.append(Problem(f"ground truth {vid}/{f}", f"label map size {lab.shape} != video size "
                                                                   f"{vshape}"))
            continue
        for k, e in at[f]:
            if lab is None:
                if fam == "referring":
                    res.skipped += 1  # no ground truth on this frame: not a sample
                    continue
                shape = vshape
                gt = np.zeros(shape, dtype=bool) if shape[0] else None
            else:
                gt = lab.mask(e.object_ids)
                shape = gt.shape
            if proto.name == "a2d" and not e.frames and gt is not None and not gt.any():
                # frames not listed by the reader: a frame where the instance is not annotated is not a sample
                # (MTTR / CMPC-V skip it); readers that list Expression.frames are trusted as they are
                res.skipped += 1
                continue
            if coco:
                assert gt is not None
                iid = plan.image_id(vid, e, f)
                try:
                    cands = preds.candidates(iid)
                except LvsbenchError as exc:
                    res.problems.append(Problem(preds.describe(iid), exc.detail if isinstance(exc, DataFormatError)
                                                else str(exc)))
                    continue
                bad = [j for j, (m, _) in enumerate(cands) if m.shape != gt.shape]
                if bad:
                    bh, bw = cands[bad[0]][0].shape
                    res.problems.append(Problem(preds.describe(iid), f"candidate(s) {bad[:5]}: size {bw}x{bh} "
                                                f"(WxH) differs from the ground truth {gt.shape[1]}x{gt.shape[0]}"))
                    continue
                missing = not cands
                if missing and not job.allow_missing:
                    res.problems.append(Problem(preds.describe(iid), "no candidate for this sample"))
                    continue
                pred = cands[top1(cands)][0] if cands else np.zeros(gt.shape, dtype=bool)
                top_score = cands[top1(cands)][1] if cands else math.nan
                n_cand = len(cands)
            else:
                if gt is None:  # no GT and unknown video size: take the prediction's
                    try:
                        m = preds.mask(vid, e.id, f)
                    except LvsbenchError:
                        m = None  # reported by _read_pred below
                    gt = np.zeros(m.shape if m is not None else (0, 0), dtype=bool)
                pred, missing = _read_pred(job, res, vid, e.id, f, gt.shape)
                if pred is None:
                    per_exp[k]["failed"] = True
                    continue
                iid = plan.image_id(vid, e, f) if fam == "referring" else None
                top_score, n_cand = (1.0, 1) if not missing else (math.nan, 0)
            res.frame_objects += 1
            if missing:
                res.missing_scored += 1
                per_exp[k]["missing"] += 1
            if fam == "jf":
                jv, fv = _jf_boxed(gt, pred, radii)
                per_exp[k]["J"].append(jv)
                per_exp[k]["F"].append(fv)
                continue
            row: dict[str, Any] = {"video_id": vid, "exp_id": e.id, "frame": f}
            if fam == "referring":
                i32, u32, iou = mttr_iou(gt, pred)
                row.update(image_id=iid, inter=float(i32), union=float(u32), iou=iou, n_candidates=n_cand,
                           top1_score=top_score, missing=missing)
                res.gt_rles[iid] = rle_encode(gt)
                if not coco and not missing:
                    res.detections.append({"image_id": iid, "mask": rle_encode(pred), "score": 1.0})
            else:
                i32, u32, iou = locater_frame_iou(gt, pred)
                row.update(inter=float(i32), union=float(u32), iou=iou, missing=missing)
            sample_rows[(k, rank[(k, f)])] = row
    if fam == "jf":
        for k, (e, frames) in enumerate(items):
            acc = per_exp[k]
            if acc["failed"] or not frames:
                continue
            jm = float(np.mean(np.asarray(acc["J"], dtype=np.float64)))
            fm = float(np.mean(np.asarray(acc["F"], dtype=np.float64)))
            res.rows.append({"video_id": vid, "exp_id": e.id, "J": jm, "F": fm, "J&F": (jm + fm) / 2,
                             "n_frames": len(acc["J"]), "n_missing_frames": acc["missing"]})
    else:
        res.rows = [sample_rows[key] for key in sorted(sample_rows)]
    return res


@dataclass
class _DavisPart:
    """Per-frame results of scored frames [lo, hi) of one DAVIS-family video: everything `_davis_finish` needs,
    so that frame ranges of a long video can be scored by different workers and merged exactly (in frame order)."""

    lo: int
    res: _VideoResult
    n_gt: int = 0
    problems: list[tuple[Any, Problem]] = field(default_factory=list)
    """(run, problem) in the order found; run is `_GT` for a ground-truth problem (every run fails with it)."""
    empty_j: list[list[float]] = field(default_factory=list)
    empty_f: list[list[float]] = field(default_factory=list)
    present: dict[Any, dict[int, dict[int, dict[int, tuple[float, float]]]]] = field(default_factory=dict)
    max_id: dict[Any, int] = field(default_factory=dict)


_GT = object()


def _video_davis(job: _Job, vid: str) -> _VideoResult:
    """DAVIS family (rdavis, rdavis-aligned, davis-semi): streams frames once for all annotator runs.

    For Hungarian matching, the per-frame (J, F) of every (predicted id, GT object) pair is kept only where the
    predicted id is present; elsewhere it equals the pair (empty prediction, GT object), computed once per frame.
    This reproduces davis2017's dense (n_pred, n_gt, T) matrices exactly without holding any mask history.
    """
    return _davis_finish(job, vid, [_davis_part(job, vid, 0, None)])


def _davis_part(job: _Job, vid: str, lo: int, hi: int | None) -> _DavisPart:
    """Score frames lo..hi-1 of the video's scored frames (all from `lo` when `hi` is None)."""
    from lvsbench.metrics.functional import _j_f, boundary_radius, empty_prediction_j_f, mask_box, pair_window

    ds, plan = job.dataset, job.plan
    preds = job.preds
    assert isinstance(preds, DavisAnnoPredictions)
    proto = plan.protocol
    res = _VideoResult(vid)
    out = _DavisPart(lo, res)
    frames_all = plan.davis_frames[vid]
    scored = plan.scored_frames(vid)
    read_labels = ds.read_labels
    try:
        lab0 = read_labels(vid, frames_all[0])
    except LvsbenchError as exc:
        _gt_problem(res, vid, frames_all[0], exc)
        return out
    if lab0 is None:
        res.problems.append(Problem(f"ground truth {vid}/{frames_all[0]}", "first frame has no annotation"))
        return out
    ids0 = np.flatnonzero(np.bincount(lab0.ravel(), minlength=256))
    ids0 = ids0[(ids0 > 0) & (ids0 != VOID_LABEL)]
    n_gt = int(ids0.max()) if ids0.size else 0  # davis2017: objects 1..max id of the first frame
    out.n_gt = n_gt
    if n_gt == 0 or not scored:
        return out
    runs = plan.runs
    limit = proto.max_proposals if proto.matching == "hungarian" else n_gt
    empty_j = out.empty_j = [[] for _ in range(n_gt)]
    empty_f = out.empty_f = [[] for _ in range(n_gt)]
    # present[run][pred id][gt index] -> {t: (J, F)}, t indexing the video's scored frames
    present = out.present = {r: {} for r in runs}
    max_id = out.max_id = dict.fromkeys(runs, 0)
    failed: set[Any] = set()
    problems = out.problems
    radius: int | None = None
    rshape: tuple[int, ...] = ()
    for t in range(lo, len(scored) if hi is None else hi):
        f = scored[t]
        if f == frames_all[0]:
            lab = lab0
        else:
            try:
                lab = read_labels(vid, f)
            except LvsbenchError as exc:
                path = str(exc.path) if isinstance(exc, DataFormatError) and exc.path else f"ground truth {vid}/{f}"
                msg = exc.detail if isinstance(exc, DataFormatError) else str(exc)
                problems.append((_GT, Problem(path, f"ground truth: {msg}")))
                failed.update(runs)
                continue
            if lab is None:
                problems.append((_GT, Problem(f"ground truth {vid}/{f}", "frame has no annotation")))
                failed.update(runs)
                continue
        # one compare per GT object gives its box; every pair below is scored on the window of its two boxes
        # (`pair_window`: exact), and an object against an empty prediction in closed form
        shape = lab.shape
        if radius is None or shape != rshape:
            rshape, radius = shape, boundary_radius(shape)
        void = None
        if proto.void:
            v = lab == VOID_LABEL
            if mask_box(v)[2]:
                void = v
        gboxes = [mask_box(lab == i) for i in range(1, n_gt + 1)]
        n_px = lab.size
        for i, bx in enumerate(gboxes):
            fills = bx[2] * bx[3] == n_px and bool((lab == i + 1).all())  # only checked when the box is the frame
            jf = empty_prediction_j_f(bx[2] == 0, fills)
            empty_j[i].append(jf[0])
            empty_f[i].append(jf[1])
        for r in runs:
            if r in failed:
                continue
            path = preds.describe(r, vid, f)
            try:
                pl = preds.label_map(r, vid, f)
            except LvsbenchError as exc:
                problems.append((r, Problem(path, exc.detail if isinstance(exc, DataFormatError) else str(exc))))
                failed.add(r)
                continue
            if pl is None:
                if not job.allow_missing:
                    problems.append((r, Problem(path, "frame missing")))
                    failed.add(r)
                else:
                    res.missing_scored += 1
                continue
            if pl.shape != shape:
                problems.append((r, _size_problem(path, pl.shape, shape)))
                failed.add(r)
                continue
            top = int(pl.max())
            if top > limit:
                over = [int(i) for i in np.unique(pl) if i > limit]
                why = (f"more than {limit} proposals (ids {over[:10]}); davis2017 unsupervised stops here"
                       if proto.matching == "hungarian" else
                       f"predicted id(s) {over[:10]} are not ground-truth objects (1..{n_gt}) of {vid}")
                problems.append((r, Problem(path, why)))
                failed.add(r)
                continue
            for j in range(1, top + 1):
                pbox = mask_box(pl == j)
                if pbox[2] == 0:
                    continue  # id absent from this frame: the pair is (empty prediction, GT), kept above
                max_id[r] = max(max_id[r], j)
                for i in (range(n_gt) if proto.matching == "hungarian" else (j - 1,)):
                    win = pair_window(gboxes[i], pbox, shape)
                    assert win is not None
                    sub_v = void[win] if void is not None else None
                    jf = _j_f(lab[win] == i + 1, pl[win] == j, sub_v, radius, True, True)
                    present[r].setdefault(j, {}).setdefault(i, {})[t] = jf
    return out


def _davis_finish(job: _Job, vid: str, parts: list[_DavisPart]) -> _VideoResult:
    """Merge the parts of a video (consecutive frame ranges, in order) and compute its per-object rows.

    The merge is exactly the single pass: per-frame values are concatenated in frame order, and a problem of a run
    in a later part is dropped when the run already failed in an earlier one (the single pass stops reading a run at
    its first problem; a ground-truth problem fails every run)."""
    from lvsbench.metrics.statistics import db_statistics

    ds, plan = job.dataset, job.plan
    proto = plan.protocol
    if proto.matching == "hungarian":
        from scipy.optimize import linear_sum_assignment  # only here: scipy.optimize is a slow import
    first = parts[0]
    res = first.res
    if res.problems or first.n_gt == 0 or not first.empty_j:
        return res  # frame 0 unreadable / without objects, or nothing scored: the same in every part
    runs = plan.runs
    n_gt = first.n_gt
    failed: set[Any] = set()
    empty_j: list[list[float]] = [[] for _ in range(n_gt)]
    empty_f: list[list[float]] = [[] for _ in range(n_gt)]
    present: dict[Any, dict[int, dict[int, dict[int, tuple[float, float]]]]] = {r: {} for r in runs}
    max_id: dict[Any, int] = dict.fromkeys(runs, 0)
    for part in parts:
        for run, problem in part.problems:
            if run is _GT:
                res.problems.append(problem)
                failed.update(runs)
            elif run not in failed:
                res.problems.append(problem)
                failed.add(run)
        res.missing_scored += part.res.missing_scored if part is not first else 0
        for i in range(n_gt):
            empty_j[i] += part.empty_j[i]
            empty_f[i] += part.empty_f[i]
        for r in runs:
            max_id[r] = max(max_id[r], part.max_id[r])
            for j, by_gt in part.present[r].items():
                for i, vals in by_gt.items():
                    present[r].setdefault(j, {}).setdefault(i, {}).update(vals)
    if res.problems:
        return res
    n_t = len(empty_j[0])
    res.frame_objects = n_t * n_gt * len(runs)
    ej = np.asarray(empty_j, dtype=np.float64)  # (n_gt, T)
    ef = np.asarray(empty_f, dtype=np.float64)
    exp_of = {(annotator_of(e), e.object_ids[0]): e.id for e in ds.video_expressions(vid) if len(e.object_ids) == 1}
    cats = ds.object_categories(vid)
    for r in runs:
        if proto.matching == "hungarian":
            n_res = max(max_id[r], n_gt)
            jm = np.broadcast_to(ej, (n_res, n_gt, n_t)).copy()
            fm = np.broadcast_to(ef, (n_res, n_gt, n_t)).copy()
            for j, by_gt in present[r].items():
                for i, vals in by_gt.items():
                    for t, (jv, fv) in vals.items():
                        jm[j - 1, i, t] = jv
                        fm[j - 1, i, t] = fv
            all_metrics = (np.mean(jm, axis=2) + np.mean(fm, axis=2)) / 2
            rows_i, cols_i = linear_sum_assignment(-all_metrics)
            pairs = [(int(c) + 1, int(p) + 1, jm[p, c], fm[p, c]) for p, c in zip(rows_i, cols_i, strict=True)]
        else:
            pairs = []
            for i in range(n_gt):
                jv, fv = ej[i].copy(), ef[i].copy()
                for t, (a, b) in present[r].get(i + 1, {}).get(i, {}).items():
                    jv[t], fv[t] = a, b
                pairs.append((i + 1, i + 1, jv, fv))
        for obj, pid, jv, fv in pairs:
            jstat = db_statistics(jv, decay=job.decay)  # type: ignore[arg-type]
            fstat = db_statistics(fv, decay=job.decay)  # type: ignore[arg-type]
            res.rows.append({
                "run": "single" if r is None else f"anno_{r}", "annotator": r, "video_id": vid, "object_id": obj,
                "pred_id": pid, "exp_id": exp_of.get((r, obj)), "category": cats.get(obj),
                "J-Mean": jstat[0], "J-Recall": jstat[1], "J-Decay": jstat[2],
                "F-Mean": fstat[0], "F-Recall": fstat[1], "F-Decay": fstat[2],
                "J&F": (jstat[0] + fstat[0]) / 2, "n_frames": n_t,
            })
    return res


# ============================================================================ aggregation


def aggregate(protocol: Protocol, rows: pd.DataFrame, gt_rles: dict[str, dict[str, Any]] | None = None,
              detections: list[dict[str, Any]] | None = None) -> dict[str, float]:
    """The protocol's headline values from its per-sample rows (used for the whole set and for every group)."""
    from lvsbench.metrics.referring import LocaterAccumulator, TopOneAccumulator, coco_map

    fam = protocol.family
    if rows.empty:
        return dict.fromkeys(protocol.metrics, math.nan)
    if fam == "jf":
        j = float(np.mean(rows["J"].to_numpy(dtype=np.float64)))
        f = float(np.mean(rows["F"].to_numpy(dtype=np.float64)))
        return {"J&F": (j + f) / 2, "J": j, "F": f}
    if fam == "davis":
        per_run = []
        for _, sub in rows.groupby("run", sort=False):
            v = {m: float(np.mean(sub[m].to_numpy(dtype=np.float64))) for m in DAVIS_METRICS[1:]}
            v = {"J&F-Mean": (v["J-Mean"] + v["F-Mean"]) / 2, **v}
            per_run.append(v)
        return {m: float(np.mean([v[m] for v in per_run])) for m in DAVIS_METRICS}
    acc = TopOneAccumulator() if fam == "referring" else LocaterAccumulator()
    ids = rows["image_id"] if "image_id" in rows else rows["video_id"] + "/" + rows["exp_id"] + "/" + rows["frame"]
    for sid, i, u, iou in zip(ids, rows["inter"], rows["union"], rows["iou"], strict=True):
        acc.add_counts(sid, i, u, iou)  # values computed in the workers with the same metric functions
    r = acc.results()
    names = TOP1_METRICS if fam == "referring" else LOCATER_METRICS
    out = {k: float(r[k]) for k in names}
    if fam == "referring" and gt_rles is not None:
        keep = set(ids)
        gt = {k: v for k, v in gt_rles.items() if k in keep}
        dets = [d for d in (detections or []) if d["image_id"] in keep]
        stats = coco_map(gt, dets)
        out = {**{COCO_PREFIX + k: v for k, v in stats.items()}, **out}
    return out


# ============================================================================ checksums


def dataset_checksum(dataset: Dataset) -> tuple[str, str]:
    """(kind, sha256) identifying the ground truth: the card of a layout dataset; otherwise a reader's own
    `checksum()`, else the sha256 of its annotation metadata (videos, frames, expressions, objects)."""
    from lvsbench.datasets.layout import LayoutDataset, card_checksum

    if isinstance(dataset, LayoutDataset):
        return "card", card_checksum(dataset.root)
    fn = getattr(dataset, "checksum", None)
    if callable(fn):
        return "reader", str(fn())
    h = hashlib.sha256()
    for vid, v in dataset.videos().items():
        h.update(json.dumps([vid, list(v.frames), v.height, v.width, list(dataset.annotated_frames(vid))]).encode())
    for e in dataset.expressions():
        h.update(json.dumps([e.video_id, e.id, e.text, list(e.object_ids), list(e.frames)]).encode())
    return "metadata", h.hexdigest()


# ============================================================================ entry point


Task = tuple[str, int, int | None]
"""(video id, first scored frame, end) for a worker: a whole video (0, None) or a frame range of a DAVIS-family one."""


def _tasks(job: _Job, videos: list[str], workers: int) -> list[Task]:
    """Whole videos, and for the DAVIS family frame ranges of the long ones too, so that a few long videos still
    balance over the workers: ranges of about total / (4 x workers) scored frames (at least 16), merged exactly in
    frame order by `_davis_finish`."""
    plan = job.plan
    if workers <= 1 or plan.protocol.family != "davis":
        return [(v, 0, None) for v in videos]
    lengths = {v: len(plan.scored_frames(v)) for v in videos}
    step = max(16, math.ceil(sum(lengths.values()) / (4 * workers)))
    out: list[Task] = []
    for v in videos:
        n = lengths[v]
        if n <= step:
            out.append((v, 0, None))
        else:
            out += [(v, lo, min(lo + step, n)) for lo in range(0, n, step)]
    return out


def _score_task(task: Task) -> _VideoResult | _DavisPart:
    assert _JOB is not None
    vid, lo, hi = task
    if _JOB.plan.protocol.family == "davis":
        return _davis_part(_JOB, vid, lo, hi)
    return _score_video(_JOB, vid)


def _iter_results(job: _Job, videos: list[str], workers: int, progress: bool) -> Iterator[_VideoResult]:
    global _JOB
    from tqdm import tqdm

    bar = tqdm(total=len(videos), desc=f"score {job.plan.protocol.name}", unit="video", disable=not progress,
               file=sys.stderr)
    try:
        tasks = _tasks(job, videos, workers)
        if workers <= 1 or len(tasks) <= 1:
            for vid in videos:
                yield _score_video(job, vid)
                bar.update()
            return
        methods = mp.get_all_start_methods()
        if "fork" in methods:
            ctx = mp.get_context("fork")
            _JOB = job  # inherited by the forked workers; nothing is pickled
            init_arg: _Job | None = None
        else:  # pragma: no cover - spawn platforms pickle the job once per worker
            ctx = mp.get_context("spawn")
            init_arg = job
        n_parts: dict[str, int] = {}
        for vid, _, _ in tasks:
            n_parts[vid] = n_parts.get(vid, 0) + 1
        pending: list[_DavisPart] = []
        with ctx.Pool(min(workers, len(tasks)), initializer=_init_worker, initargs=(init_arg,)) as pool:
            for (vid, _, _), r in zip(tasks, pool.imap(_score_task, tasks, chunksize=1), strict=True):
                if isinstance(r, _VideoResult):
                    yield r
                    bar.update()
                    continue
                pending.append(r)  # imap keeps the task order: a video's ranges arrive consecutively, in order
                if len(pending) == n_parts[vid]:
                    yield _davis_finish(job, vid, pending)
                    pending = []
                    bar.update()
    finally:
        _JOB = None
        bar.close()


def _resolve_protocol(dataset: Dataset, protocol: str | Protocol | None) -> Protocol:
    if isinstance(protocol, Protocol):
        return protocol
    return get_protocol(protocol) if protocol else default_protocol_for(dataset)


def _select_annotations(dataset: Dataset, proto: Protocol) -> Dataset:
    """The dataset read with the annotation set `proto` is defined on (DAVIS readers: `with_annotations`).

    davis2017-evaluation picks the folder from its task (`davis.py`: Annotations for semi-supervised,
    Annotations_unsupervised for unsupervised), so a protocol does too; an explicit contrary choice is refused."""
    need = proto.annotations
    have = getattr(dataset, "annotations", None)
    card = getattr(dataset, "card", None)
    if have is None and isinstance(card, dict) and card.get("native_annotations"):
        have = card["native_annotations"]  # a layout converted from a DAVIS reader: its masks are fixed
        if need is not None and have != need:
            raise ConfigError(f"protocol {proto.name} is defined on the {need!r} annotations, but {dataset.root} "
                              f"was converted from {card.get('native_dataset')} with annotations={have}; convert "
                              f"again with -o annotations={need}, or choose a protocol for the {have!r} set")
    if need is None or have is None or have == need:
        return dataset
    if getattr(dataset, "annotations_chosen", True):
        raise ConfigError(f"protocol {proto.name} is defined on the {need!r} annotations, but {dataset.name} was "
                          f"opened with annotations={have}; drop that option (or pass --dataset-option "
                          f"annotations={need}), or choose a protocol for the {have!r} set"
                          + (" (rdavis-aligned reads either)" if dataset.name == "rdavis" else ""))
    return dataset.with_annotations(need)  # type: ignore[attr-defined, no-any-return]


def _bin_objects(n: Any) -> str | None:
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return None
    n = int(n)
    return str(n) if n < 5 else ">=5"


def _bin_words(n: Any) -> str | None:
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return None
    n = int(n)
    for lo, hi in ((1, 5), (6, 10), (11, 15)):
        if lo <= n <= hi:
            return f"{lo}-{hi}"
    return "16+" if n > 15 else "0"


def _attach_metadata(df: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """Join per-sample rows with the expression table (text, category, word count, objects in video ...) and add
    the binned columns `num_objects_bin` (1, 2, 3, 4, >=5: objects in the video) and `num_words_bin`."""
    meta = dataset.expressions_frame()
    if df.empty or meta.empty or "exp_id" not in df:
        return df
    meta = meta.drop(columns=[c for c in meta.columns if c in df.columns and c not in ("video_id", "exp_id")])
    meta = meta.astype({"video_id": str, "exp_id": str})
    out = df.merge(meta, on=["video_id", "exp_id"], how="left")
    if "num_objects_in_video" not in out:
        out["num_objects_in_video"] = [dataset.num_objects_in_video(v) for v in out["video_id"]]
    out["num_objects_in_video"] = out["num_objects_in_video"].fillna(
        pd.Series([dataset.num_objects_in_video(v) for v in out["video_id"]], index=out.index))
    out["num_objects_bin"] = [_bin_objects(n) for n in out["num_objects_in_video"]]
    if "num_words" in out:
        out["num_words_bin"] = [_bin_words(n) for n in out["num_words"]]
    return out


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.floating):
        return _json_safe(float(v))
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json_safe(x) for x in v]
    return v


def score(preds: str | Path | Predictions, dataset: Dataset, protocol: str | Protocol | None = None,
          allow_missing: bool = False, workers: int = 1, by: str | None = None, *, allow_extra: bool = False,
          format: str | None = None, decay: str = DEFAULT_DECAY, progress: bool = False) -> ScoreResult:
    """Score predictions on a dataset under a named protocol.

    - `preds`: a path (format auto-detected, or `format`) or an opened `Predictions`.
    - `protocol`: a name from `PROTOCOLS`; default from the dataset (card `default_protocol`, else its name). The
      per-expression protocols of the native MeViS / ReVOS / Ref-SAV / Long-RVOS / ReasonVOS readers go to
      `lvsbench.scoring.per_expression.score_per_expression` (`per_sample`: one row per expression; `decay` does
      not apply).
    - `allow_missing`: score missing frames / expressions / videos / images / runs as empty predictions and record
      every missing item in the results (otherwise refuse with the full list).
    - `allow_extra`: ignore (but record) predictions for unknown videos / expressions / frames / image ids.
    - `workers`: processes, parallel over videos; results do not depend on it.
    - `by`: a per-sample column to group by (e.g. `num_objects_bin`, `category`, `num_words_bin`, `subset`), or
      `table_vii_group`: Locater's Table VII grouping (`lvsbench.hardsplit.stats.table_vii_group`).
    - `decay`: "fixed" (default; correct bins for any length) or "compat" (davis2017's uint8 index cast, NaN or
      wrong from 256 scored frames on); identical below 256 frames. Recorded in `results["options"]["decay"]`.

    A DAVIS-family protocol defined on one annotation set (`Protocol.annotations`) reads that set from a DAVIS
    reader opened without an explicit `annotations` option, and refuses (`ConfigError`) a reader explicitly opened
    on the other set.

    Raises `ValidationFailed` listing every problem (missing items, unexpected items, undecodable files, size
    mismatches, out-of-range ids), each with its path.
    """
    from lvsbench.scoring.per_expression import per_expression_protocol, score_per_expression

    name = protocol.name if isinstance(protocol, Protocol) else protocol
    if not per_expression_protocol(dataset, name) and name is None:
        name = default_protocol_for(dataset).name  # a converted copy may name a per-expression protocol
    if per_expression_protocol(dataset, name):  # the 2023-2026 benchmarks, one row per expression
        if isinstance(preds, Predictions):
            raise ConfigError(f"protocol {name or dataset.name}: pass the prediction path (PNG tree or results "
                              "JSON), not an opened Predictions")
        return score_per_expression(preds, dataset, name, allow_missing=allow_missing, allow_extra=allow_extra,
                                    by=by, format=format, workers=workers)
    if decay not in DECAY_MODES:
        raise ConfigError(f"decay must be one of {', '.join(DECAY_MODES)} ('compat' = the official davis2017 "
                          f"value), got {decay!r}")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    p = preds if isinstance(preds, Predictions) else open_predictions(preds, format)
    proto = _resolve_protocol(dataset, protocol)
    dataset = _select_annotations(dataset, proto)
    plan = build_plan(dataset, proto, p)
    rep = check_inventory(p, dataset, plan)
    problems = list(rep.problems)
    if not allow_extra:
        problems += rep.extra
    if not allow_missing:
        problems += [m.problem() for m in rep.missing]
    if problems:
        raise ValidationFailed(problems, f"predictions {p.path} for {dataset.name} ({proto.name})")
    job = _Job(dataset, p, plan, allow_missing, decay)
    rows: list[dict[str, Any]] = []
    gt_rles: dict[str, dict[str, Any]] = {}
    dets: list[dict[str, Any]] = []
    counts = {"videos": 0, "samples": 0, "frame_objects": 0, "skipped_frames": 0, "missing_scored": 0}
    for r in _iter_results(job, plan.videos, workers, progress):
        problems += r.problems
        rows += r.rows
        gt_rles.update(r.gt_rles)
        dets += r.detections
        counts["videos"] += 1
        counts["frame_objects"] += r.frame_objects
        counts["skipped_frames"] += r.skipped
        counts["missing_scored"] += r.missing_scored
    if problems:
        raise ValidationFailed(problems, f"predictions {p.path} for {dataset.name} ({proto.name})")
    if isinstance(p, CocoPredictions):
        dets = [{"image_id": iid, "mask": seg, "score": s} for iid in gt_rles for seg, s in p.rles(iid)]
    df = pd.DataFrame(rows)
    if proto.family != "davis" and not df.empty:
        df["exp_id"] = df["exp_id"].astype(str)
    df = _attach_metadata(df, dataset)
    counts["samples"] = len(df)
    if proto.family == "davis":
        counts["expressions"] = len(dataset.expressions())
    else:
        counts["expressions"] = int(df[["video_id", "exp_id"]].drop_duplicates().shape[0]) if not df.empty else 0
    if proto.family == "davis":
        counts["runs"] = len(plan.runs)
        counts["objects"] = int(len(df) // max(len(plan.runs), 1))
    if df.empty:
        raise ValidationFailed([Problem(str(p.path), f"nothing to score: no {proto.name} samples in "
                                                     f"{dataset.name}")], "scoring")
    values = aggregate(proto, df, gt_rles if proto.family == "referring" else None, dets)
    runs_values: dict[str, dict[str, float]] = {}
    if proto.family == "davis":
        for run, sub in df.groupby("run", sort=False):
            runs_values[str(run)] = aggregate(proto, sub)
    per_group = pd.DataFrame(columns=["group", "n", *values])
    if by == "table_vii_group" and by not in df.columns:  # a named grouping, added only when asked for
        from lvsbench.hardsplit.stats import table_vii_group

        df[by] = [table_vii_group(dataset, n) for n in df["num_objects_in_video"]]
    if by:
        if by not in df.columns:
            raise ConfigError(f"--by {by!r}: no such per-sample column{did_you_mean(by, map(str, df.columns))} "
                              f"(available: {', '.join(map(str, df.columns))})")
        grows = []
        for key, sub in df.groupby(by, sort=True, dropna=False):
            gv = aggregate(proto, sub, gt_rles if proto.family == "referring" else None, dets)
            grows.append({by: key, "n": len(sub), **gv})
        per_group = pd.DataFrame(grows)
    summary = pd.DataFrame({"metric": list(values), "value": list(values.values())})
    ds_kind, ds_sum = dataset_checksum(dataset)
    results: dict[str, Any] = {
        "lvsbench_version": __version__,
        "protocol": proto.header(),
        "values": values,
        "units": units_of(values),
        "counts": counts,
        "dataset": {"name": dataset.name, "split": getattr(dataset, "split", None), "root": str(dataset.root),
                    "checksum": ds_sum, "checksum_kind": ds_kind,
                    **({"annotations": dataset.annotations} if proto.family == "davis"
                       and getattr(dataset, "annotations", None) else {})},
        "predictions": {"path": str(p.path), "format": p.format, "checksum": p.checksum()},
        "options": {"allow_missing": allow_missing, "allow_extra": allow_extra, "workers": workers, "by": by,
                    "decay": decay},
        "missing": [m.as_dict() for m in rep.missing],
        "ignored_extra": [{"path": e.path, "message": e.message} for e in rep.extra],
    }
    if runs_values:
        results["runs"] = runs_values
    if by:
        results["groups"] = {"by": by, "rows": per_group.to_dict(orient="records")}
    results = _json_safe(results)
    return ScoreResult(proto, values, summary, df, per_group, results, list(rep.missing))


def write_results(result: ScoreResult, out: str | Path | None = None, per_sample: str | Path | None = None,
                  force: bool = False) -> None:
    """Write the results JSON and the per-sample CSV atomically (refusing to overwrite without `force`)."""
    from lvsbench.core.io import atomic_write_json, atomic_write_text, check_overwrite

    for target in (out, per_sample):
        if target is not None:
            check_overwrite(target, force)
    if out is not None:
        atomic_write_json(out, result.results)
    if per_sample is not None:
        atomic_write_text(per_sample, result.per_sample.to_csv(index=False))


def cpu_count() -> int:
    """Cores this process may really use: the CPU affinity mask (taskset, Slurm --cpus-per-task, docker
    --cpuset-cpus), capped by a cgroup CPU quota rounded up (docker --cpus, Kubernetes limits: cgroup v2 `cpu.max`,
    v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`). `os.cpu_count()` reports the host's cores instead, which
    oversubscribes a container: 64 workers on a 4-CPU quota are throttled, not faster."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        n = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    return max(1, min(n, math.ceil(quota))) if quota is not None else max(1, n)


def cgroup_cpu_limit(proc_cgroup: str | Path = "/proc/self/cgroup", fs: str | Path = "/sys/fs/cgroup") -> float | None:
    """CPUs allowed by the cgroup quota of this process (the smallest along its cgroup path), None if unlimited
    or not on Linux. v2: `<fs>/<path>/cpu.max` = "max 100000" or "<quota> <period>"; v1: the `cpu` controller's
    `cpu.cfs_quota_us` (-1 = unlimited) / `cpu.cfs_period_us`."""
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        return None
    fs = Path(fs)
    limits: list[float] = []
    for line in lines:
        hid, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        rel = path.strip("/")
        if hid == "0" and controllers == "":  # cgroup v2 (unified)
            for d in _ancestors(fs, rel):
                q = _read_v2(d / "cpu.max")
                if q is not None:
                    limits.append(q)
        elif "cpu" in controllers.split(","):  # cgroup v1
            for base in (fs / controllers, fs / "cpu", fs / "cpu,cpuacct"):
                if base.is_dir():
                    for d in _ancestors(base, rel):
                        q = _read_v1(d)
                        if q is not None:
                            limits.append(q)
                    break
    return min(limits) if limits else None


def _ancestors(base: Path, rel: str) -> list[Path]:
    """`base/a/b`, `base/a`, `base` (a container often sees its own cgroup as the root)."""
    parts = [p for p in rel.split("/") if p]
    return [base.joinpath(*parts[:k]) for k in range(len(parts), -1, -1)]


def _read_v2(path: Path) -> float | None:
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def _read_v1(d: Path) -> float | None:
    try:
        quota = int((d / "cpu.cfs_quota_us").read_text())
        period = int((d / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 or period <= 0 else quota / period


def resolve_workers(workers: int | str) -> int:
    """`--workers`: a positive count, or `auto` = `cpu_count()` (the cores this process may use)."""
    if isinstance(workers, str):
        text = workers.strip().lower()
        if text == "auto":
            return cpu_count()
        try:
            workers = int(text)
        except ValueError:
            raise ConfigError(f"--workers {workers!r}: expected a number of processes or 'auto'") from None
    if workers < 1:
        raise ConfigError(f"workers must be >= 1 or 'auto', got {workers}")
    return workers
