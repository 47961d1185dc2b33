"""Streaming per-sequence J / F accumulation.

davis2017-evaluation loads whole sequences as float64 (n_obj, T, H, W) arrays (about 26 GB for a 300-frame 720p
video with 5 objects; `davis2017/davis.py:get_all_masks` @ ac7c43f). Here frames are fed one at a time and only
the per-frame scalars are kept, so the memory held is O(H*W) for the frame being scored plus 16 bytes per (object,
frame), whatever the video length.

Keys are arbitrary hashables: DAVIS object ids, Ref-YouTube-VOS / MeViS expression ids, or (gt_object, pred_id)
pairs for the Hungarian-matched unsupervised protocol. Frame keys must sort in temporal order (decay depends on it):
values are reduced in sorted frame order, so accumulators of frame ranges merge to exactly the single pass.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

import numpy as np

from lvsbench.core.records import VOID_LABEL
from lvsbench.metrics.functional import (
    _check,
    _j_f,
    _resolve_radius,
    boundary_radius,
    empty_prediction_j_f,
    j_and_f_empty_prediction,
    mask_box,
    pair_window,
)
from lvsbench.metrics.names import DAVIS_METRICS
from lvsbench.metrics.statistics import DEFAULT_DECAY, DecayMode, db_statistics

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GLOBAL_MEASURES", "Accumulator", "LabelMapAccumulator", "SequenceAccumulator", "pair_j_f", "summarize"]


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


class SequenceAccumulator:
    """Per-frame J and F of every object (or expression) of one sequence, fed frame by frame.

    Values are kept per (object, frame) and read in sorted frame order, so frame keys must sort in temporal order
    (frame positions, or names of equal width) and accumulators of frame ranges merge to exactly the single pass.
    `radius` fixes the boundary radius; by default it follows each frame's size and `bound_th` as in davis2017.
    """

    def __init__(self, sequence: Hashable, objects: Iterable[Hashable] = (), *, bound_th: float = 0.008,
                 radius: int | None = None) -> None:
        self.sequence = sequence
        self.bound_th = bound_th
        self.radius = radius
        self._tracks: dict[Hashable, dict[Hashable, tuple[float, float]]] = {obj: {} for obj in objects}
        self._radius_cache: dict[tuple[int, int], int] = {}

    def update(self, obj: Hashable, frame: Hashable, gt: np.ndarray, pred: np.ndarray,
               void: np.ndarray | None = None) -> tuple[float, float]:
        """Score one (object, frame) and record it; returns (J, F)."""
        track = self._tracks.setdefault(obj, {})
        if frame in track:
            raise ValueError(f"sequence {self.sequence!r}: object {obj!r} frame {frame!r} was added twice")
        try:
            g, p, v = _check(gt, pred, void)
        except ValueError as exc:
            raise ValueError(f"sequence {self.sequence!r}, object {obj!r}, frame {frame!r}: {exc}") from None
        r = self._radius_cache.get(g.shape)
        if r is None:
            r = self._radius_cache[g.shape] = _resolve_radius(g.shape, self.bound_th, self.radius)
        jf = track[frame] = pair_j_f(g, p, v, r)
        return jf

    def add_label_maps(self, frame: Hashable, gt_labels: np.ndarray, pred_labels: np.ndarray,
                       void: np.ndarray | None = None, objects: Sequence[Hashable] | None = None
                       ) -> dict[Hashable, tuple[float, float]]:
        """`update` every object of one frame from (H, W) integer label maps (object k = pixels labelled k).

        `objects` defaults to the objects declared so far. An object absent from both maps scores J = F = 1,
        as in davis2017.
        """
        gl, pl = np.asarray(gt_labels), np.asarray(pred_labels)
        if gl.shape != pl.shape or gl.ndim != 2:
            raise ValueError(f"sequence {self.sequence!r}, frame {frame!r}: label maps must be 2-D and equal in "
                             f"shape, got gt {gl.shape} vs pred {pl.shape}")
        return {obj: self.update(obj, frame, gl == obj, pl == obj, void)
                for obj in (self.objects if objects is None else objects)}

    def merge(self, other: SequenceAccumulator) -> Self:
        """Fold in the frames `other` scored (another frame range or other objects of the same sequence)."""
        if other.sequence != self.sequence:
            raise ValueError(f"cannot merge sequence {other.sequence!r} into {self.sequence!r}")
        for obj, values in other._tracks.items():
            track = self._tracks.setdefault(obj, {})
            twice = track.keys() & values.keys()
            if twice:
                raise ValueError(f"sequence {self.sequence!r}: object {obj!r} frame(s) {sorted(twice)[:5]} were "
                                 "added twice")
            track.update(values)
        return self

    @property
    def objects(self) -> list[Hashable]:
        return list(self._tracks)

    def frames(self, obj: Hashable) -> list[Hashable]:
        return sorted(self._tracks[obj])  # type: ignore[type-var]

    def j(self, obj: Hashable) -> np.ndarray:
        return self._column(obj, 0)

    def f(self, obj: Hashable) -> np.ndarray:
        return self._column(obj, 1)

    def _column(self, obj: Hashable, n: int) -> np.ndarray:
        track = self._tracks[obj]
        return np.array([track[fr][n] for fr in self.frames(obj)], dtype=np.float64)

    def per_frame(self) -> pd.DataFrame:
        """Long table: sequence, object, frame, J, F."""
        import pandas as pd

        rows = [(self.sequence, obj, fr, *self._tracks[obj][fr]) for obj in self._tracks for fr in self.frames(obj)]
        return pd.DataFrame(rows, columns=["sequence", "object", "frame", "J", "F"])

    def compute(self, decay: DecayMode = DEFAULT_DECAY) -> pd.DataFrame:
        """One row per object: n_frames and J/F mean, recall, decay (`db_statistics`)."""
        import pandas as pd

        rows = []
        for obj in self._tracks:
            jm, jr, jd = db_statistics(self.j(obj), decay)
            fm, fr, fd = db_statistics(self.f(obj), decay)
            rows.append((self.sequence, obj, len(self._tracks[obj]), jm, jr, jd, fm, fr, fd))
        return pd.DataFrame(rows, columns=["sequence", "object", "n_frames", "J-Mean", "J-Recall", "J-Decay",
                                           "F-Mean", "F-Recall", "F-Decay"])


def pair_j_f(g: np.ndarray, p: np.ndarray, v: np.ndarray | None, radius: int) -> tuple[float, float]:
    """`j_and_f` of two checked bool masks, scored on the window of their boxes (`pair_window`: exact), and in
    closed form against an empty prediction (`j_and_f_empty_prediction`)."""
    pbox = mask_box(p)
    if pbox[2] == 0:
        return j_and_f_empty_prediction(g, v)
    win = pair_window(mask_box(g), pbox, g.shape)
    assert win is not None
    return _j_f(g[win], p[win], None if v is None else v[win], radius, True, True)


ObjectScore = tuple[Hashable, int, int, tuple[float, float, float], tuple[float, float, float], int]
"""(run, GT object, matched predicted id, J (mean, recall, decay), F (mean, recall, decay), frames)."""


class LabelMapAccumulator:
    """davis2017's per-object J and F of one sequence from uint8 label maps (objects 1..n_gt, void 255), for
    several prediction runs at once, ids aligned or Hungarian-matched (davis2017-evaluation @ac7c43f
    `evaluation.py`: `_evaluate_semisupervised`, `_evaluate_unsupervised`).

    davis2017's dense (n_pred, n_gt, T) float64 matrices are never held while streaming: per frame position t this
    keeps the (J, F) of every GT object against an empty prediction (closed form, `empty_prediction_j_f`), and of a
    (predicted id, GT object) pair only where the id is present (scored on the window of the two boxes, exact).
    `compute` rebuilds the matrices in sorted frame order, so frame ranges merge to exactly the single pass.
    """

    def __init__(self, sequence: Hashable, n_gt: int, runs: Sequence[Hashable] = (None,), *, hungarian: bool = False,
                 void: bool = False) -> None:
        self.sequence, self.n_gt, self.runs, self.hungarian, self.void = sequence, n_gt, list(runs), hungarian, void
        self._empty: dict[int, tuple[tuple[float, ...], tuple[float, ...]]] = {}
        self._present: dict[Hashable, dict[tuple[int, int], dict[int, tuple[float, float]]]] = {r: {} for r in runs}
        self._radius: tuple[tuple[int, ...], int] = ((), 0)

    def update(self, t: int, gt_labels: np.ndarray, preds: Mapping[Hashable, np.ndarray]) -> None:
        """Frame position `t`: the GT label map and the predicted label map of every run that has one (a run without
        one scores the frame as an empty prediction). Aligned ids must be <= n_gt."""
        if t in self._empty:
            raise ValueError(f"sequence {self.sequence!r}: frame position {t} was added twice")
        lab, n_gt = gt_labels, self.n_gt
        if self._radius[0] != lab.shape:
            self._radius = (lab.shape, boundary_radius(lab.shape))
        radius = self._radius[1]
        void = None
        if self.void:
            v = lab == VOID_LABEL
            void = v if mask_box(v)[2] else None
        gboxes = [mask_box(lab == i) for i in range(1, n_gt + 1)]
        empty = [empty_prediction_j_f(bx[2] == 0, bx[2] * bx[3] == lab.size and bool((lab == i + 1).all()))
                 for i, bx in enumerate(gboxes)]  # `all()` only where the box is the frame
        self._empty[t] = (tuple(e[0] for e in empty), tuple(e[1] for e in empty))
        for run, pl in preds.items():
            present = self._present[run]
            for j in range(1, int(pl.max()) + 1):
                pbox = mask_box(pl == j)
                if pbox[2] == 0:
                    continue  # id absent from this frame: the pair is (empty prediction, GT), kept above
                for i in range(n_gt) if self.hungarian else (j - 1,):
                    win = pair_window(gboxes[i], pbox, lab.shape)
                    assert win is not None
                    present.setdefault((j, i), {})[t] = _j_f(lab[win] == i + 1, pl[win] == j,
                                                             None if void is None else void[win], radius, True, True)

    def merge(self, other: LabelMapAccumulator) -> Self:
        """Fold in the frames `other` scored (another frame range of the same sequence and runs)."""
        if (other.sequence, other.n_gt, other.runs) != (self.sequence, self.n_gt, self.runs):
            raise ValueError(f"cannot merge sequence {other.sequence!r} into {self.sequence!r}")
        twice = self._empty.keys() & other._empty.keys()
        if twice:
            raise ValueError(f"sequence {self.sequence!r}: frame position(s) {sorted(twice)[:5]} were added twice")
        self._empty.update(other._empty)
        for run, pairs in other._present.items():
            for pair, values in pairs.items():
                self._present[run].setdefault(pair, {}).update(values)
        return self

    def compute(self, decay: DecayMode = DEFAULT_DECAY) -> list[ObjectScore]:
        """Per run (in order) and GT object: its matched predicted id and `db_statistics` of J and F."""
        ts = sorted(self._empty)
        if not ts or not self.n_gt:
            return []
        col = {t: k for k, t in enumerate(ts)}
        ej = np.array([self._empty[t][0] for t in ts], dtype=np.float64).T.copy()  # (n_gt, T)
        ef = np.array([self._empty[t][1] for t in ts], dtype=np.float64).T.copy()
        out: list[ObjectScore] = []
        for run in self.runs:
            present = self._present[run]
            n_res = max([self.n_gt] + [j for j, _ in present])  # aligned ids are <= n_gt
            jm = np.broadcast_to(ej, (n_res, *ej.shape)).copy()  # (pred id, GT object, T) as davis2017
            fm = np.broadcast_to(ef, (n_res, *ef.shape)).copy()
            for (j, i), values in present.items():
                for t, (jv, fv) in values.items():
                    jm[j - 1, i, col[t]], fm[j - 1, i, col[t]] = jv, fv
            if self.hungarian:
                from scipy.optimize import linear_sum_assignment  # only here: scipy.optimize is a slow import

                all_metrics = (np.mean(jm, axis=2) + np.mean(fm, axis=2)) / 2
                rows, cols = linear_sum_assignment(-all_metrics)
                pairs = [(int(c), int(p)) for p, c in zip(rows, cols, strict=True)]
            else:
                pairs = [(i, i) for i in range(self.n_gt)]
            out += [(run, i + 1, p + 1, db_statistics(jm[p, i], decay), db_statistics(fm[p, i], decay), len(ts))
                    for i, p in pairs]
        return out


def summarize(stats: pd.DataFrame | Iterable[SequenceAccumulator],
              decay: DecayMode = DEFAULT_DECAY) -> dict[str, float]:
    """davis2017 global figures: plain `np.mean` over rows (objects or expressions, pooled across sequences) of
    each statistic, and J&F-Mean = (mean J-Mean + mean F-Mean) / 2. NaN decays propagate, as in the anchor."""
    import pandas as pd

    if not isinstance(stats, pd.DataFrame):
        stats = pd.concat([acc.compute(decay) for acc in stats], ignore_index=True)
    if len(stats) == 0:
        raise ValueError("no objects to summarize")
    col = {c: float(np.mean(stats[c].to_numpy(dtype=np.float64))) for c in GLOBAL_MEASURES[1:]}
    return {"J&F-Mean": (col["J-Mean"] + col["F-Mean"]) / 2.0, **col}
