"""Geometry of the composed A2D-S+ videos, on a small in-memory dataset with known pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lvsbench.core.records import Expression, Video
from lvsbench.datasets.base import Dataset
from lvsbench.datasets.layout import LayoutDataset, LayoutWriter, validate_layout
from lvsbench.hardsplit.compose import (
    PARTNER_OFFSET,
    CompositionSpec,
    QuerySpec,
    compose_one,
    iter_composed_frames,
    partner_frame_map,
    partner_time_samples,
    partner_width,
    plan_composition,
)


class MemoryDataset(Dataset):
    """Videos whose frame k is filled with the value (video index * 40 + k) so sources can be traced."""

    name = "memory"
    split = "test"

    def __init__(self, specs: dict[str, tuple[int, int, int, tuple[int, ...], int]]) -> None:
        # vid -> (T, H, W, annotated 1-based frames, number of objects)
        self.root = Path(".")
        self._videos = {}
        self._exps = []
        self._labels: dict[tuple[str, str], np.ndarray] = {}
        self._ann: dict[str, tuple[str, ...]] = {}
        self.base = {}
        for k, (vid, (t, h, w, ann, n_obj)) in enumerate(specs.items()):
            frames = tuple(f"{i:05d}" for i in range(1, t + 1))
            self._videos[vid] = Video(vid, frames, h, w)
            self.base[vid] = 40 * k
            self._ann[vid] = tuple(f"{a:05d}" for a in ann)
            for a in self._ann[vid]:
                lab = np.zeros((h, w), np.uint8)
                for o in range(1, n_obj + 1):
                    lab[(o - 1) * 2:(o - 1) * 2 + 2, :] = o
                self._labels[(vid, a)] = lab
            for o in range(1, n_obj + 1):
                self._exps.append(Expression(str(o - 1), vid, f"actor {o} of {vid}", (o,), self._ann[vid]))

    def videos(self) -> dict[str, Video]:
        return self._videos

    def expressions(self) -> list[Expression]:
        return self._exps

    def read_frame(self, video_id: str, frame: str) -> np.ndarray:
        v = self._videos[video_id]
        return np.full((v.height, v.width, 3), self.base[video_id] + int(frame) - 1, np.uint8)

    def read_labels(self, video_id: str, frame: str) -> np.ndarray | None:
        return self._labels.get((video_id, frame))

    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        return self._ann[video_id]


DS_SPECS = {"q": (10, 16, 24, (3, 6, 9), 2), "long": (25, 32, 20, (2, 18, 20), 3), "short": (4, 8, 12, (1, 4), 1)}


@pytest.fixture
def ds() -> MemoryDataset:
    return MemoryDataset(DS_SPECS)


def _spec(ds: MemoryDataset, subset: str, partner: str, order: str = "query-first") -> CompositionSpec:
    qs = tuple(QuerySpec(e.id, e.text, e.object_ids, e.frames) for e in ds.video_expressions("q"))
    return CompositionSpec(subset, f"q+{partner}", "q", qs, partner, order)


@given(st.integers(1, 40), st.integers(1, 60), st.lists(st.integers(0, 59), max_size=6))
def test_partner_frame_map(t: int, tp: int, ann: list[int]) -> None:
    m = partner_frame_map(t, tp, ann)
    assert len(m) == t and all(0 <= i < tp for i in m)
    assert all(b - a in (0, 1) for a, b in zip(m, m[1:], strict=False))  # forward, contiguous or padded
    if tp >= t:
        assert m == list(range(m[0], m[0] + t))  # a window, no padding
        kept = sum(1 for a in set(ann) if a < tp and m[0] <= a <= m[-1])
        best = max(sum(1 for a in set(ann) if a < tp and s <= a < s + t) for s in range(tp - t + 1))
        assert kept == best
    else:
        assert m == list(range(tp)) + [tp - 1] * (t - tp)  # padding repeats the last frame


@given(st.integers(1, 40), st.integers(1, 90), st.lists(st.integers(0, 89), max_size=6))
@example(3, 42, [15, 26])  # found by hypothesis: the second annotated frame used to replace the last sample
def test_partner_time_samples_span_the_partner(t: int, tp: int, ann: list[int]) -> None:
    """A2D-S_t: T frames sampled over the partner's whole duration (Locater §4.1), never its last frame frozen."""
    m = partner_time_samples(t, tp, ann)
    assert len(m) == t and all(0 <= i < tp for i in m)
    assert all(a <= b for a, b in zip(m, m[1:], strict=False))  # forward only (streamed decoding)
    ann_in = sorted({a for a in ann if a < tp})
    if tp <= t:
        assert set(m) == set(range(tp))  # every partner frame shown ...
        assert max(m.count(i) for i in range(tp)) <= -(-t // tp) + 1  # ... about T / T_p times each
    else:
        assert len(set(m)) == t  # T distinct frames ...
        assert m[0] < -(-tp // t) + 1 and m[-1] >= tp - 1 - (-(-tp // t))  # ... from the start to the end
    if ann_in:
        assert ann_in[0] in m  # the partner's first annotated frame is always kept
    if len(ann_in) <= t and all(b - a > 2 * tp / t + 1 for a, b in zip(ann_in, ann_in[1:], strict=False)):
        assert set(ann_in) <= set(m)  # well-separated annotated frames are all kept


def test_partner_time_samples_examples() -> None:
    assert partner_time_samples(4, 2) == [0, 0, 1, 1]  # slowed down evenly, not [0, 1, 1, 1]
    assert partner_time_samples(3, 9) == [1, 4, 7]  # centres of three equal slices
    assert partner_time_samples(3, 9, [8]) == [1, 4, 8]  # the annotated frame replaces its nearest sample


def test_partner_width_keeps_aspect_ratio() -> None:
    assert partner_width((320, 568), (320, 426)) == 426
    assert partner_width((16, 24), (32, 20)) == 10
    assert partner_width((320, 500), (240, 320)) == 427


@pytest.mark.parametrize("partner", ["long", "short"])
@pytest.mark.parametrize("order", ["query-first", "partner-first"])
def test_spatial_geometry(ds: MemoryDataset, partner: str, order: str) -> None:
    spec = _spec(ds, "spatial", partner, order)
    plan = plan_composition(ds, spec)
    q, p = ds.videos()["q"], ds.videos()[partner]
    pw = partner_width((q.height, q.width), (p.height, p.width))
    assert (plan.video.height, plan.video.width) == (q.height, q.width + pw)  # width = sum, equal heights
    assert plan.video.num_frames == q.num_frames
    frames = list(iter_composed_frames(ds, spec, plan))
    fmap = partner_frame_map(q.num_frames, p.num_frames, [int(a) - 1 for a in ds.annotated_frames(partner)])
    qcols = slice(0, q.width) if order == "query-first" else slice(pw, pw + q.width)
    pcols = slice(q.width, q.width + pw) if order == "query-first" else slice(0, pw)
    for k, (name, rgb) in enumerate(frames):
        assert name == f"{k + 1:05d}" and rgb.shape == (q.height, q.width + pw, 3)
        assert (rgb[:, qcols] == ds.base["q"] + k).all()
        assert (rgb[:, pcols] == ds.base[partner] + fmap[k]).all()
    # labels on the query's annotated frames; query objects keep ids, partner objects are offset
    assert sorted(plan.labels) == list(ds.annotated_frames("q"))
    for lab in plan.labels.values():
        assert set(np.unique(lab[:, qcols])) <= {0, 1, 2}
        assert set(np.unique(lab[:, pcols])) <= {0} | {PARTNER_OFFSET + o for o in ds.object_ids(partner)}
    for e in plan.expressions:
        assert e.frames == ds.annotated_frames("q")
    assert set(plan.objects) == {1, 2} | {PARTNER_OFFSET + o for o in ds.object_ids(partner)}


@pytest.mark.parametrize("partner", ["long", "short"])
@pytest.mark.parametrize("order", ["query-first", "partner-first"])
def test_temporal_geometry(ds: MemoryDataset, partner: str, order: str) -> None:
    spec = _spec(ds, "temporal", partner, order)
    plan = plan_composition(ds, spec)
    q, p = ds.videos()["q"], ds.videos()[partner]
    t = q.num_frames
    assert plan.video.num_frames == 2 * t  # length 2T
    assert (plan.video.height, plan.video.width) == (q.height, q.width)  # partner resized to the query's size
    q_off, p_off = (0, t) if order == "query-first" else (t, 0)
    fmap = partner_time_samples(t, p.num_frames, [int(a) - 1 for a in ds.annotated_frames(partner)])
    for k, (_, rgb) in enumerate(iter_composed_frames(ds, spec, plan)):
        expect = ds.base["q"] + k - q_off if q_off <= k < q_off + t else ds.base[partner] + fmap[k - p_off]
        assert (rgb == expect).all()
    partner_frames = {f"{p_off + k + 1:05d}" for k in range(t)}
    scored_partner = {f for f in plan.labels if f in partner_frames}
    assert scored_partner  # the partner's annotated frames survive
    for e in plan.expressions:
        assert scored_partner <= set(e.frames)  # ... and are scored
        for f in scored_partner:
            assert not np.isin(plan.labels[f], e.object_ids).any()  # with an empty target
        own = {f"{q_off + int(a):05d}" for a in ds.annotated_frames("q")}
        assert own <= set(e.frames)
        assert all(np.isin(plan.labels[f], e.object_ids).any() for f in own)


def test_composed_videos_pass_layout_validation(ds: MemoryDataset, tmp_path: Path) -> None:
    for subset in ("spatial", "temporal"):
        out = tmp_path / subset
        w = LayoutWriter(out, name=f"t-{subset}", split="test", source="test", default_protocol="a2d-plus",
                         frame_ext=".png")
        for partner in ("long", "short"):
            compose_one(ds, _spec(ds, subset, partner), w)
        w.finish()
        assert validate_layout(out) == []
        lds = LayoutDataset(out)
        assert {len(lds.videos())} == {2} and len(lds.expressions()) == 4


def test_failed_source_leaves_nothing_half_written(ds: MemoryDataset, tmp_path: Path) -> None:
    from lvsbench.hardsplit.compose import SourceError

    class Broken(MemoryDataset):
        def read_frame(self, video_id: str, frame: str) -> np.ndarray:
            if video_id == "long" and int(frame) > 5:
                raise OSError("truncated file")
            return super().read_frame(video_id, frame)

    bad = Broken(DS_SPECS)
    w = LayoutWriter(tmp_path / "s", name="s", split="test", source="test", frame_ext=".png")
    with pytest.raises(SourceError) as err:
        compose_one(bad, _spec(bad, "temporal", "long"), w)
    assert err.value.video_id == "long"
    assert not (tmp_path / "s" / "JPEGImages" / "q+long").exists() and not w.has_video("q+long")
