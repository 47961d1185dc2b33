"""A2D scoring with workers: the ground truth arrives video by video (`VideoReads`: chunks sent by the reading
workers, or read by the scoring process itself when none has arrived) and the scoring process scores each video as
it arrives while reads go on (`score_arrivals`), leaving a large backlog to the pool. Here the arrivals are fed by
hand, so that every branch runs whatever the timing; the numbers must equal a one-process run."""

from __future__ import annotations

import multiprocessing as mp
import queue
from pathlib import Path

import pandas as pd
import pytest

from lvsbench.datasets.a2d_masks import VideoReads, _claim
from lvsbench.datasets.registry import load
from lvsbench.formats.predictions import open_predictions
from lvsbench.protocols import get_protocol
from lvsbench.scoring import score
from lvsbench.scoring import workers as workers_module
from lvsbench.scoring.evaluate import FAMILIES
from lvsbench.scoring.stream import Job
from lvsbench.scoring.validate import Plan, build_plan
from lvsbench.synth import get_writer
from tests.scoring_helpers import write_random_a2d_results


def test_video_reads_takes_arrivals_first_and_reads_from_the_back_meanwhile() -> None:
    """The consumer takes what the workers sent first; with nothing sent it reads an untaken chunk itself, from the
    back (the workers take them from the front); the workers' tasks of chunks it took report nothing."""
    chunks = [[("a", [], (4, 4)), ("b", [], (4, 4))], [("c", [], (4, 4))], [("d", [], (4, 4))]]
    claims = mp.get_context("fork").Array("b", len(chunks))
    arrived: queue.SimpleQueue = queue.SimpleQueue()
    installed: list[tuple[str, object]] = []
    reads = VideoReads(chunks, claims, arrived, lambda v, f: installed.append((v, f)))
    assert next(reads) == "d" and list(claims) == [0, 0, 1]  # nothing arrived: the last chunk is read here
    assert _claim(claims, 0)  # a worker takes the first chunk and sends it
    arrived.put([("a", [1]), ("b", None)])
    assert next(reads) == "a" and installed[-2:] == [("a", [1]), ("b", None)]  # a chunk is installed whole
    assert reads.reading  # the workers' tasks of chunks 1 and 2 have not reported
    assert next(reads) == "b"
    assert next(reads) == "c" and list(claims) == [1, 1, 1]  # chunk 1 was not taken by a worker: read here
    arrived.put(None)
    arrived.put(None)  # the workers found chunks 1 and 2 taken
    assert not reads.reading
    assert list(reads) == [] and [v for v, _ in installed] == ["d", "a", "b", "c"]
    assert not _claim(claims, 1)  # a chunk is taken once
    failing = VideoReads(chunks[:1], mp.get_context("fork").Array("b", [1]), queue.SimpleQueue(), lambda v, f: None)
    failing._arrived.put(ValueError("worker bug"))
    with pytest.raises(ValueError, match="worker bug"):  # a worker's exception is raised, not swallowed
        next(failing)


class _Scripted:
    """Arrivals of a dataset's videos read in this process (as `VideoReads` installs them): `reading` until the
    last `backlog` videos."""

    def __init__(self, ds: object, videos: list[str], backlog: int) -> None:
        self.ds, self.videos, self.backlog, self.given = ds, videos, backlog, 0

    @property
    def reading(self) -> bool:
        return self.given <= len(self.videos) - self.backlog  # the video last given is one of the first ones

    def __iter__(self) -> _Scripted:
        return self

    def __next__(self) -> str:
        if self.given == len(self.videos):
            raise StopIteration
        vid = self.videos[self.given]
        self.ds.frame_instances(vid)  # type: ignore[attr-defined]
        self.given += 1
        return vid


@pytest.mark.parametrize("backlog", [0, 3, 6])
def test_scoring_as_videos_arrive_equals_one_process(tmp_path: Path, backlog: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers_module, "SMALL_BACKLOG", 3)
    root = get_writer("a2d")(tmp_path / "a2d", videos=40, seed=3, height=40, width=56, frames=6)
    ref_ds = load("a2d", root, "test")
    preds = write_random_a2d_results(ref_ds, tmp_path / "r.json", seed=11)
    ref = score(preds, ref_ds, "a2d")
    assert 0 < ref.values["mean_iou"] < 1

    ds = load("a2d", root, "test")
    proto, p = get_protocol("a2d"), open_predictions(preds)
    with ds.keep_masks(1):  # keep the RLEs; the reads happen in `_Scripted`
        pass
    videos = [v for v in ref_ds.videos() if ref_ds.video_expressions(v)]
    assert len(videos) > 6
    frame = ref_ds.annotated_frames(videos[1])[0]
    assert ds.read_mask_rles(videos[1], frame) is None
    ds.video_expressions(videos[0])  # a video is planned from its own files: no other video is read
    assert ds.read_mask_rles(videos[1], frame) is None
    early = Job(ds, p, Plan(proto, []), False, "fixed", FAMILIES[proto.family])
    scored = workers_module.score_arrivals(early, _Scripted(ds, videos, backlog))
    left_to_pool = backlog > 3
    assert [a.video_id for a in scored] == (videos[:len(videos) - backlog] if left_to_pool else videos)
    plan = build_plan(ds, proto, p)
    assert {v: plan.exp_frames[v] for v in early.plan.exp_frames} == early.plan.exp_frames
    done = workers_module.run(Job(ds, p, plan, False, "fixed", FAMILIES[proto.family]), 2, False, scored)
    rows = pd.DataFrame([row for r in done.compute() for row in r.rows])
    pd.testing.assert_frame_equal(rows, ref.per_sample[list(rows.columns)], check_exact=True)
