"""The hard-split FrameCache: composed frames from cached sources are the bytes of a fresh decode, and written
videos the files of a fresh composition, under eviction and decoder recycling; an unreadable source fails exactly
the compositions that reach the bad frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lvsbench.core.errors import DataFormatError
from lvsbench.core.io import sha256_tree
from lvsbench.datasets.layout import LayoutWriter
from lvsbench.hardsplit.compose import (
    CompositionSpec,
    FrameCache,
    QuerySpec,
    SourceError,
    _Source,
    compose_one,
    iter_composed_frames,
    plan_composition,
)


@pytest.fixture(scope="module", params=["png", "mp4"])
def ds(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):  # noqa: ANN201
    """PNG frames, and mp4 clips as released (a reopened decoder skips the held frames without converting them)."""
    from lvsbench.hardsplit.build import load_a2d
    from lvsbench.synth.a2d import write_synthetic

    root = write_synthetic(tmp_path_factory.mktemp("cache") / "a2d", videos=16, seed=4, height=32, width=48,
                           frames=8, frame_format=request.param)
    return load_a2d(root)


def _specs(ds) -> list[CompositionSpec]:  # noqa: ANN001
    vids = sorted(ds.videos())
    out = []
    for k, q in enumerate(vids):
        p = vids[(k * 5 + 3) % len(vids)]
        if p == q:
            continue
        qs = (QuerySpec("0", "x", (1,), ()),)
        for subset, order in (("spatial", "query-first"), ("temporal", "partner-first"), ("temporal", "query-first")):
            out.append(CompositionSpec(subset, f"{q}+{p}", q, qs, p, order))
    return out


@pytest.mark.parametrize("budget, max_open", [(1 << 30, 8), (1 << 30, 1), (20_000, 1)])
def test_cached_frames_are_the_fresh_decode(ds, budget: int, max_open: int) -> None:  # noqa: ANN001
    cache = FrameCache(budget)
    cache.max_open = max_open  # 1: every source's decoder is recycled and reopened past its held frames
    specs = _specs(ds)
    for spec in specs + specs[::-1]:
        plan = plan_composition(ds, spec)
        fresh = list(iter_composed_frames(ds, spec, plan))
        cached = list(iter_composed_frames(ds, spec, plan, cache))
        assert [n for n, _ in fresh] == [n for n, _ in cached]
        assert all(a.dtype == b.dtype and np.array_equal(a, b) for (_, a), (_, b) in zip(fresh, cached, strict=True))
    if budget > 1 << 20:
        assert cache.decoded == len({v for s in specs for v in (s.query_video, s.partner_video)})


@pytest.mark.parametrize("budget", [1 << 30, 20_000])
def test_written_videos_are_the_bytes_of_a_fresh_composition(ds, tmp_path: Path, budget: int) -> None:  # noqa: ANN001
    """compose_one through a FrameCache (ground truth read once, whole frames encoded once per size and format,
    shared by a .jpg and a .png writer) writes the files that composing each video from scratch writes."""
    specs = _specs(ds) + [CompositionSpec("multi", v, v, (QuerySpec("0", "x", (1,), ()),)) for v in sorted(ds.videos())]
    cache = FrameCache(budget)
    for ext in (".jpg", ".png"):
        trees = []
        for name, c in (("fresh", None), ("cached", cache)):
            writers: dict[tuple[str, str], LayoutWriter] = {}
            for spec in specs:
                key = (spec.subset, spec.order)
                if key not in writers:
                    writers[key] = LayoutWriter(tmp_path / ext / name / "-".join(key), name="t", split="test",
                                                source="t", frame_ext=ext)
                compose_one(ds, spec, writers[key], c)
            trees.append(sha256_tree(tmp_path / ext / name))
        assert trees[0] == trees[1]


def test_unreadable_frame_fails_only_readers_that_reach_it(ds, tmp_path: Path) -> None:  # noqa: ANN001
    vid = sorted(ds.videos())[0]
    frames = [f for _, f in ds.iter_frames(vid)]

    class Broken:
        def iter_frames(self, video_id: str):  # noqa: ANN202
            yield from ((i, f) for i, f in enumerate(frames[:3]))
            raise DataFormatError(tmp_path / "x.png", "not an image")

    src = _Source(Broken(), vid)  # type: ignore[arg-type]
    assert np.array_equal(src.get(2), frames[2]) and np.array_equal(src.get(0), frames[0])
    for _ in range(2):
        with pytest.raises(SourceError, match="not an image"):
            src.get(3)
    assert np.array_equal(src.get(1), frames[1])
    short = _Source(ds, vid)
    with pytest.raises(SourceError, match=f"ends before frame {len(frames) + 1}"):
        short.get(len(frames))


def test_reopened_decoder_continues_past_the_held_frames(ds) -> None:  # noqa: ANN001
    """A source whose decoder was closed (to bound open files) reopens it past the frames it holds: the reader skips
    those without converting them (mp4: decoded, not retrieved), and the next frames are the fresh decode's."""
    vid = sorted(ds.videos())[0]
    fresh = [f for _, f in ds.iter_frames(vid)]
    assert len(fresh) >= 6
    src = _Source(ds, vid)
    assert np.array_equal(src.get(2), fresh[2])
    src.close()
    assert np.array_equal(src.get(5), fresh[5]) and np.array_equal(src.get(3), fresh[3])
    src.close()
    assert all(np.array_equal(src.get(i), f) for i, f in enumerate(fresh))
    with pytest.raises(SourceError, match=f"ends before frame {len(fresh) + 1}"):
        src.get(len(fresh))
