"""The scorer's streaming core: a job, the per-family strategy, and the accumulators a video is scored into.

Every family scores a video the same way (TrackEval's `eval_sequence` / `combine_sequences` split, torchmetrics'
update / compute / merge): `Family.start(job, video)` makes the video's empty accumulator, the worker feeds it the
frames `Family.frames(job, video)` in order (`update(job, t, frame)`, t = the frame's position in that list), and
returns it. Accumulators keep per-frame and per-sample values keyed by position and reduce them in that order in
`compute`, so frame ranges of a video scored by different workers merge to exactly the single pass, in any grouping
and order (`lvsbench.metrics.accumulate.Accumulator`). `ScoreAccumulator` holds one accumulator per video and
computes them in the plan's video order.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from lvsbench.core.errors import DataFormatError, LvsbenchError, Problem
from lvsbench.datasets.base import Dataset
from lvsbench.formats.base import Predictions
from lvsbench.metrics.referring import CocoAccumulator
from lvsbench.scoring.validate import Plan

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class VideoResult:
    """What one video gave: its per-sample (or per-object) rows, problems, counts, and for per-sample families the
    sample accumulators the headline values are computed from (merged over videos)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    samples: Any = None
    """A `TopOneAccumulator` / `LocaterAccumulator` keyed by (video position, expression, frame rank), or None."""
    coco: CocoAccumulator | None = None


@dataclass(frozen=True)
class Family:
    """How a protocol family is scored (`lvsbench.scoring.evaluate.FAMILIES`, keyed by `Protocol.family`)."""

    start: Callable[[Job, str], Any]
    """The video's empty accumulator (`Accumulator` with `update(job, t, frame)`; reads what every frame range
    needs, e.g. the first annotated frame)."""
    frames: Callable[[Job, str], Sequence[str]]
    """The frames the video's accumulator is fed, in order."""
    values: Callable[[Any, pd.DataFrame, Any, CocoAccumulator | None], dict[str, float]]
    """(protocol, rows, samples, coco) -> headline values of these rows (the whole set or one group)."""
    counts: Callable[[Job, pd.DataFrame], dict[str, int]]
    """Counts beyond videos / samples / frames for the results' `counts`."""
    per_run: bool = False
    """Rows are per (annotator run, object): values are also given per run, and the decay mode and annotation set
    are recorded."""
    samples: type | None = None
    """The per-sample accumulator class of a per-sample family (`TopOneAccumulator`, `LocaterAccumulator`)."""


@dataclass
class Job:
    """Everything a worker needs; inherited by forked workers (nothing is pickled), pickled once on spawn."""

    dataset: Dataset
    preds: Predictions
    plan: Plan
    allow_missing: bool
    decay: str
    family: Family
    cache: dict[Any, Any] = field(default_factory=dict)
    """Per-process memo of per-video layouts (`lvsbench.scoring.samples`)."""


def error_text(exc: LvsbenchError) -> str:
    return exc.detail if isinstance(exc, DataFormatError) else str(exc)


def gt_problem(vid: str, frame: str, exc: LvsbenchError) -> Problem:
    path = str(exc.path) if isinstance(exc, DataFormatError) and exc.path else f"ground truth {vid}/{frame}"
    return Problem(path, f"ground truth: {error_text(exc)}")


def size_problem(path: str, got: tuple[int, ...], want: tuple[int, ...]) -> Problem:
    return Problem(path, f"size {got[1]}x{got[0]} (WxH) differs from the ground truth {want[1]}x{want[0]}")


def read_mask(job: Job, problems: list[Problem], vid: str, eid: str, frame: str, shape: tuple[int, int]
              ) -> tuple[np.ndarray | None, bool]:
    """(mask, missing) of a PNG prediction; (None, _) when it cannot be used (a problem was recorded)."""
    preds = job.preds
    try:
        m = preds.mask(vid, eid, frame)
    except LvsbenchError as exc:
        problems.append(Problem(preds.describe(vid, eid, frame), error_text(exc)))
        return None, False
    if m is None:
        if not job.allow_missing:
            problems.append(Problem(preds.describe(vid, eid, frame), "frame missing"))
            return None, True
        return np.zeros(shape, dtype=bool), True
    if m.shape != shape:
        problems.append(size_problem(preds.describe(vid, eid, frame), m.shape, shape))
        return None, False
    return m, False


def merge_all(accs: Sequence[Any]) -> Any:
    """`a.merge(b).merge(c)...` of the non-None accumulators, None if there are none."""
    todo = [a for a in accs if a is not None]
    return functools.reduce(lambda a, b: a.merge(b), todo) if todo else None


class ScoreAccumulator:
    """A whole scoring run: one accumulator per video (its parts merged as they arrive), computed in plan order."""

    def __init__(self, videos: Sequence[str]) -> None:
        self.videos = list(videos)
        self.parts: dict[str, Any] = {}

    def update(self, part: Any) -> None:
        have = self.parts.get(part.video_id)
        self.parts[part.video_id] = part if have is None else have.merge(part)

    def merge(self, other: ScoreAccumulator) -> Self:
        for part in other.parts.values():
            self.update(part)
        return self

    def compute(self) -> list[VideoResult]:
        return [self.parts[v].compute() for v in self.videos if v in self.parts]


__all__ = ["Family", "Job", "ScoreAccumulator", "VideoResult", "error_text", "gt_problem", "merge_all", "read_mask",
           "size_problem"]
