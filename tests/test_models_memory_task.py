"""The synthetic task where memory is needed (`EventDataset`) and the ablation driver (`memory_task`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from lvsbench.models.toydata import BASE_COLOURS, EVENT_COLOURS, EventDataset  # noqa: E402


def test_event_dataset_only_frame_zero_tells_the_actors_apart() -> None:
    ds = EventDataset(6, seed=2, split="test", frames=6)
    assert len(ds.expressions()) == 12
    for vid, video in ds.videos().items():
        exps = ds.video_expressions(vid)
        assert [e.object_ids for e in exps] == [(1,), (2,)]
        for k, name in enumerate(video.frames):
            rgb = ds.read_frame(vid, name)
            lab = ds.read_labels(vid, name)
            flat = [np.unique(rgb[lab == a].reshape(-1, 3), axis=0) for a in (1, 2)]
            assert all(len(c) == 1 for c in flat)  # each actor is one flat colour
            colours = [tuple(int(v) for v in c[0]) for c in flat]
            named = [next(w for w in EVENT_COLOURS if w in e.text.split()) for e in exps]
            if k == 0:  # the event: each actor shows the colour its expression names
                assert colours == [EVENT_COLOURS[n] for n in named]
            else:  # afterwards the two look exactly alike, in one of the shared colours
                assert colours[0] == colours[1] and colours[0] in BASE_COLOURS.values()
            assert (lab == 1).sum() > 20 and (lab == 2).sum() > 20
        assert EventDataset.after_event(video.frames[1]) and not EventDataset.after_event(video.frames[0])
    again = EventDataset(6, seed=2, split="test", frames=6)
    assert np.array_equal(again.read_frame("test0003", "00004"), ds.read_frame("test0003", "00004"))
    assert not np.array_equal(EventDataset(6, seed=2, split="train", frames=6).read_frame("train0003", "00004"),
                              ds.read_frame("test0003", "00004"))


def test_memory_task_driver_trains_and_scores_both_arms(tmp_path: Path) -> None:
    from lvsbench.models.memory_task import main

    for memory in ("locater", "none"):
        out = tmp_path / memory
        assert main(["--memory", memory, "--out", str(out), "--steps", "2", "--train-videos", "3",
                     "--test-videos", "2"]) == 0
        res = json.loads((out / "result.json").read_text())
        assert res["memory"] == memory and res["steps"] == 2
        assert res["event_frame"]["samples"] == 4 and res["after_event"]["samples"] == 20
        assert res["all_frames"]["samples"] == 24
        ckpt = json.loads((out / "recipe.json").read_text())["recipe"]["model"]
        assert ckpt["memory"] == memory
