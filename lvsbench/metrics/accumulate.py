"""Streaming per-sequence J / F accumulation.

davis2017-evaluation loads whole sequences as float64 (n_obj, T, H, W) arrays (about 26 GB for a 300-frame 720p
video with 5 objects; `davis2017/davis.py:get_all_masks` @ ac7c43f). Here frames are fed one at a time and only
the per-frame scalars are kept, so the memory held is O(H*W) for the frame being scored plus 16 bytes per (object,
frame), whatever the video length.

Keys are arbitrary hashables: DAVIS object ids, Ref-YouTube-VOS / MeViS expression ids, or (gt_object, pred_id)
pairs for the Hungarian-matched unsupervised protocol. Frames must be added in temporal order (decay depends on it).
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
import pandas as pd

from lvsbench.metrics.functional import _check, _j_f, _resolve_radius
from lvsbench.metrics.names import DAVIS_METRICS
from lvsbench.metrics.statistics import DEFAULT_DECAY, DecayMode, db_statistics

__all__ = ["GLOBAL_MEASURES", "Accumulator", "SequenceAccumulator", "summarize"]


@runtime_checkable
class Accumulator(Protocol):
    """The one interface of every metric accumulator (torchmetrics' `Metric`: sufficient statistics updated per
    sample and reduced at the end; TrackEval's `eval_sequence` / `combine_sequences` split).

    - `update(...)`: add one unit (a frame, a sample, a sequence); the arguments are the accumulator's own.
    - `compute()`: the figures from everything added so far; pure, may be called more than once.
    - `merge(other)`: fold in an accumulator of the same kind filled elsewhere (another worker process, another
      shard) and return self. Merging in any grouping gives the same bits as one accumulator fed everything in the
      canonical order: accumulators keep per-unit statistics keyed by unit and reduce in a fixed order in
      `compute`, never running float sums whose value depends on arrival order.
    """

    def update(self, *args: Any, **kwargs: Any) -> Any: ...

    def compute(self) -> Any: ...

    def merge(self, other: Self) -> Self: ...


#: davis2017 `evaluation_method.py` global columns, in its order.
GLOBAL_MEASURES: tuple[str, ...] = DAVIS_METRICS


class _Track:
    __slots__ = ("frames", "j", "f", "_seen")

    def __init__(self) -> None:
        self.frames: list[Hashable] = []
        self.j = array("d")
        self.f = array("d")
        self._seen: set[Hashable] = set()


class SequenceAccumulator:
    """Per-frame J and F of every object (or expression) of one sequence, fed frame by frame.

    `radius` fixes the boundary radius; by default it follows each frame's size and `bound_th` as in davis2017.
    """

    def __init__(self, sequence: Hashable, objects: Iterable[Hashable] = (), *, bound_th: float = 0.008,
                 radius: int | None = None) -> None:
        self.sequence = sequence
        self.bound_th = bound_th
        self.radius = radius
        self._tracks: dict[Hashable, _Track] = {}
        for obj in objects:
            self._tracks.setdefault(obj, _Track())
        self._radius_cache: dict[tuple[int, int], int] = {}

    # ---------------------------------------------------------------- feeding

    def add(self, obj: Hashable, frame: Hashable, gt: np.ndarray, pred: np.ndarray,
            void: np.ndarray | None = None) -> tuple[float, float]:
        """Score one (object, frame) and record it; returns (J, F)."""
        track = self._tracks.setdefault(obj, _Track())
        if frame in track._seen:
            raise ValueError(f"sequence {self.sequence!r}: object {obj!r} frame {frame!r} was added twice")
        try:
            g, p, v = _check(gt, pred, void)
        except ValueError as exc:
            raise ValueError(f"sequence {self.sequence!r}, object {obj!r}, frame {frame!r}: {exc}") from None
        r = self._radius_cache.get(g.shape)
        if r is None:
            r = self._radius_cache[g.shape] = _resolve_radius(g.shape, self.bound_th, self.radius)
        j, f = _j_f(g, p, v, r, want_j=True, want_f=True)
        track._seen.add(frame)
        track.frames.append(frame)
        track.j.append(j)
        track.f.append(f)
        return j, f

    def add_label_maps(self, frame: Hashable, gt_labels: np.ndarray, pred_labels: np.ndarray,
                       void: np.ndarray | None = None, objects: Sequence[Hashable] | None = None
                       ) -> dict[Hashable, tuple[float, float]]:
        """Score every object of one frame from (H, W) integer label maps (object k = pixels labelled k).

        `objects` defaults to the objects declared so far. An object absent from both maps scores J = F = 1,
        as in davis2017.
        """
        gl, pl = np.asarray(gt_labels), np.asarray(pred_labels)
        if gl.shape != pl.shape or gl.ndim != 2:
            raise ValueError(f"sequence {self.sequence!r}, frame {frame!r}: label maps must be 2-D and equal in "
                             f"shape, got gt {gl.shape} vs pred {pl.shape}")
        out = {}
        for obj in self.objects if objects is None else objects:
            out[obj] = self.add(obj, frame, gl == obj, pl == obj, void)
        return out

    def add_masks(self, frame: Hashable, gt: Mapping[Hashable, np.ndarray], pred: Mapping[Hashable, np.ndarray],
                  void: np.ndarray | None = None) -> dict[Hashable, tuple[float, float]]:
        """Score one frame given per-object masks; every GT key must have a prediction (use an empty mask)."""
        missing = [k for k in gt if k not in pred]
        if missing:
            raise ValueError(f"sequence {self.sequence!r}, frame {frame!r}: no prediction for {missing}")
        return {k: self.add(k, frame, g, pred[k], void) for k, g in gt.items()}

    # ---------------------------------------------------------------- reading

    @property
    def objects(self) -> list[Hashable]:
        return list(self._tracks)

    def frames(self, obj: Hashable) -> list[Hashable]:
        return list(self._tracks[obj].frames)

    def j(self, obj: Hashable) -> np.ndarray:
        return np.frombuffer(self._tracks[obj].j, dtype=np.float64).copy()

    def f(self, obj: Hashable) -> np.ndarray:
        return np.frombuffer(self._tracks[obj].f, dtype=np.float64).copy()

    def per_frame(self) -> pd.DataFrame:
        """Long table: sequence, object, frame, J, F."""
        rows = [(self.sequence, obj, fr, j, f) for obj, t in self._tracks.items()
                for fr, j, f in zip(t.frames, t.j, t.f, strict=True)]
        return pd.DataFrame(rows, columns=["sequence", "object", "frame", "J", "F"])

    def statistics(self, decay: DecayMode = DEFAULT_DECAY) -> pd.DataFrame:
        """One row per object: n_frames and J/F mean, recall, decay (`db_statistics`)."""
        rows = []
        for obj in self._tracks:
            jm, jr, jd = db_statistics(self.j(obj), decay)
            fm, fr, fd = db_statistics(self.f(obj), decay)
            rows.append((self.sequence, obj, len(self._tracks[obj].frames), jm, jr, jd, fm, fr, fd))
        return pd.DataFrame(rows, columns=["sequence", "object", "n_frames", "J-Mean", "J-Recall", "J-Decay",
                                           "F-Mean", "F-Recall", "F-Decay"])


def summarize(stats: pd.DataFrame | Iterable[SequenceAccumulator],
              decay: DecayMode = DEFAULT_DECAY) -> dict[str, float]:
    """davis2017 global figures: plain `np.mean` over rows (objects or expressions, pooled across sequences) of
    each statistic, and J&F-Mean = (mean J-Mean + mean F-Mean) / 2. NaN decays propagate, as in the anchor."""
    if not isinstance(stats, pd.DataFrame):
        stats = pd.concat([acc.statistics(decay) for acc in stats], ignore_index=True)
    if len(stats) == 0:
        raise ValueError("no objects to summarize")
    col = {c: float(np.mean(stats[c].to_numpy(dtype=np.float64))) for c in GLOBAL_MEASURES[1:]}
    return {"J&F-Mean": (col["J-Mean"] + col["F-Mean"]) / 2.0, **col}
