"""The DAVIS family (rdavis, rdavis-aligned, davis-semi): every annotator run of a video streamed in one pass.

Each frame's ground truth is decoded once for all runs; the per-object values go to a
`lvsbench.metrics.accumulate.LabelMapAccumulator` (ids aligned, or Hungarian-matched as davis2017 unsupervised),
which never holds davis2017's dense (n_pred, n_gt, T) matrices. Problems are kept with their frame position: the
single pass stops reading a run at its first problem (a ground-truth problem fails every run), and `compute` applies
that rule in frame order, so frame ranges scored by different workers report exactly the problems of one pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from lvsbench.core.errors import LvsbenchError, Problem
from lvsbench.core.records import VOID_LABEL
from lvsbench.formats.davis_anno import DavisAnnoPredictions
from lvsbench.metrics.accumulate import LabelMapAccumulator
from lvsbench.metrics.names import DAVIS_METRICS
from lvsbench.scoring.stream import Family, Job, VideoResult, error_text, gt_problem, size_problem
from lvsbench.scoring.validate import annotator_of

if TYPE_CHECKING:
    import pandas as pd

_GT = "ground truth"
"""The 'run' of a ground-truth problem (runs are annotator numbers or None); a string survives pickling."""


@dataclass
class DavisVideo:
    """Accumulator of one DAVIS-family video (or frame range): see the module docstring."""

    video_id: str
    metric: LabelMapAccumulator | None
    """None when the first annotated frame is unusable (`setup` says why) or has no object."""
    decay: str
    setup: list[Problem] = field(default_factory=list)
    """Problems of the first annotated frame, which every frame range reads alike."""
    problems: list[tuple[int, Hashable, Problem]] = field(default_factory=list)
    """(frame position, run or `_GT`, problem) in the order found."""
    missing_scored: int = 0
    rows_of: dict[str, Any] = field(default_factory=dict)
    """Row context: expression id per (annotator, object), category per object."""
    first: tuple[str, np.ndarray] | None = None
    """The first annotated frame's labels, reused when it is scored (dropped after the first update)."""

    def update(self, job: Job, t: int, frame: str) -> None:
        first, self.first = self.first, None
        metric = self.metric
        if metric is None:
            return
        failed = {run for _, run, _ in self.problems}
        if _GT in failed:
            failed.update(metric.runs)
        if first is not None and first[0] == frame:
            lab = first[1]
        else:
            try:
                lab = job.dataset.read_labels(self.video_id, frame)
            except LvsbenchError as exc:
                self.problems.append((t, _GT, gt_problem(self.video_id, frame, exc)))
                return
            if lab is None:
                self.problems.append((t, _GT, Problem(f"ground truth {self.video_id}/{frame}",
                                                      "frame has no annotation")))
                return
        preds = {}
        for run in metric.runs:
            if run not in failed:
                pl = self._prediction(job, t, run, frame, lab.shape)
                if pl is not None:
                    preds[run] = pl
        metric.update(t, lab, preds)

    def _prediction(self, job: Job, t: int, run: Hashable, frame: str, shape: tuple[int, ...]
                    ) -> np.ndarray | None:
        """The run's label map of this frame, None when missing (scored empty) or unusable (problem recorded)."""
        preds, vid, metric = job.preds, self.video_id, self.metric
        assert isinstance(preds, DavisAnnoPredictions) and metric is not None
        path = preds.describe(run, vid, frame)
        limit = job.plan.protocol.max_proposals if metric.hungarian else metric.n_gt
        try:
            pl = preds.label_map(run, vid, frame)  # type: ignore[arg-type]
        except LvsbenchError as exc:
            problem: Problem | None = Problem(path, error_text(exc))
        else:
            if pl is None:
                self.missing_scored += job.allow_missing
                problem = None if job.allow_missing else Problem(path, "frame missing")
            elif pl.shape != shape:
                problem = size_problem(path, pl.shape, shape)
            elif int(pl.max()) > limit:
                over = [int(i) for i in np.unique(pl) if i > limit]
                problem = Problem(path, f"more than {limit} proposals (ids {over[:10]}); davis2017 unsupervised stops "
                                        "here" if metric.hungarian else f"predicted id(s) {over[:10]} are not "
                                        f"ground-truth objects (1..{metric.n_gt}) of {vid}")
            else:
                return pl
        if problem is not None:
            self.problems.append((t, run, problem))
        return None

    def merge(self, other: DavisVideo) -> Self:
        if self.metric is not None and other.metric is not None:
            self.metric.merge(other.metric)
        self.problems += other.problems
        self.missing_scored += other.missing_scored
        return self

    def compute(self) -> VideoResult:
        res = VideoResult(problems=list(self.setup), counts=Counter(missing_scored=self.missing_scored))
        if res.problems or self.metric is None:
            return res
        failed: set[Hashable] = set()
        for _, run, problem in sorted(self.problems, key=lambda p: p[0]):  # stable: a frame's own order is kept
            if run == _GT or run not in failed:
                res.problems.append(problem)
                failed.update(self.metric.runs if run == _GT else (run,))
        if res.problems:
            return res
        scores = self.metric.compute(self.decay)  # type: ignore[arg-type]
        exp_of, cats = self.rows_of["exp_of"], self.rows_of["categories"]
        for run, obj, pid, (jm, jr, jd), (fm, fr, fd), n_t in scores:
            res.rows.append({
                "run": "single" if run is None else f"anno_{run}", "annotator": run, "video_id": self.video_id,
                "object_id": obj, "pred_id": pid, "exp_id": exp_of.get((run, obj)), "category": cats.get(obj),
                "J-Mean": jm, "J-Recall": jr, "J-Decay": jd, "F-Mean": fm, "F-Recall": fr, "F-Decay": fd,
                "J&F": (jm + fm) / 2, "n_frames": n_t,
            })
        res.counts["frame_objects"] = len(scores) and scores[0][5] * self.metric.n_gt * len(self.metric.runs)
        return res


def start(job: Job, vid: str) -> DavisVideo:
    """The video's accumulator: the GT object count from its first annotated frame (davis2017: objects 1..max id
    of the first frame), and the row context."""
    ds, plan = job.dataset, job.plan
    proto = plan.protocol
    acc = DavisVideo(vid, None, job.decay)
    f0 = plan.davis_frames[vid][0]
    try:
        lab0 = ds.read_labels(vid, f0)
    except LvsbenchError as exc:
        acc.setup.append(gt_problem(vid, f0, exc))
        return acc
    if lab0 is None:
        acc.setup.append(Problem(f"ground truth {vid}/{f0}", "first frame has no annotation"))
        return acc
    ids0 = np.flatnonzero(np.bincount(lab0.ravel(), minlength=256))
    ids0 = ids0[(ids0 > 0) & (ids0 != VOID_LABEL)]
    n_gt = int(ids0.max()) if ids0.size else 0
    if n_gt and plan.scored_frames(vid):
        acc.metric = LabelMapAccumulator(vid, n_gt, plan.runs, hungarian=proto.matching == "hungarian",
                                         void=proto.void)
        acc.first = (f0, lab0)
        acc.rows_of = {"categories": ds.object_categories(vid),
                       "exp_of": {(annotator_of(e), e.object_ids[0]): e.id for e in ds.video_expressions(vid)
                                  if len(e.object_ids) == 1}}
    return acc


def frames(job: Job, vid: str) -> Sequence[str]:
    return job.plan.scored_frames(vid)


def values(protocol: Any, rows: pd.DataFrame, samples: Any = None, coco: Any = None) -> dict[str, float]:
    """davis2017's global means over objects, per annotator run, then averaged over runs (ReferFormer)."""
    per_run = []
    for _, sub in rows.groupby("run", sort=False):
        v = {m: float(np.mean(sub[m].to_numpy(dtype=np.float64))) for m in DAVIS_METRICS[1:]}
        per_run.append({"J&F-Mean": (v["J-Mean"] + v["F-Mean"]) / 2, **v})
    return {m: float(np.mean([v[m] for v in per_run])) for m in DAVIS_METRICS}


def counts(job: Job, rows: pd.DataFrame) -> dict[str, int]:
    runs = len(job.plan.runs)
    return {"expressions": len(job.dataset.expressions()), "runs": runs, "objects": int(len(rows) // max(runs, 1))}


FAMILY = Family(start, frames, values, counts, per_run=True)


__all__ = ["DavisVideo", "FAMILY", "counts", "frames", "start", "values"]
