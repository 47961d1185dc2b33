"""The synthetic task where memory is needed (`EventDataset`) and the ablation driver (`memory_task`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from lvsbench.models.memory_task import REPO_RECIPE  # noqa: E402
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


def _centres(lab: np.ndarray) -> list[np.ndarray]:
    return [np.argwhere(lab == a).mean(0) for a in (1, 2)]


def test_event_dataset_swapped_differs_only_on_the_event_frame() -> None:
    """The counterfactual the driver scores: frame 0 shows the event colours exchanged, everything else (the later
    frames pixel for pixel, the masks, the expressions) is the same video."""
    ds, sw = EventDataset(4, seed=3, frames=6), EventDataset(4, seed=3, frames=6, swap_event=True)
    assert ds.expressions() == sw.expressions()
    for vid, video in ds.videos().items():
        named = [next(w for w in EVENT_COLOURS if w in e.text.split()) for e in ds.video_expressions(vid)]
        for k, name in enumerate(video.frames):
            assert np.array_equal(ds.read_labels(vid, name), sw.read_labels(vid, name))
            same = np.array_equal(ds.read_frame(vid, name), sw.read_frame(vid, name))
            assert same == (k > 0)
        lab, rgb = sw.read_labels(vid, video.frames[0]), sw.read_frame(vid, video.frames[0])
        assert [tuple(int(v) for v in rgb[lab == a][0]) for a in (1, 2)] == [EVENT_COLOURS[named[1]],
                                                                            EVENT_COLOURS[named[0]]]


def test_event_dataset_actors_drift_slowly_and_never_meet() -> None:
    """The default task: each actor moves at most `speed[1]` pixels a frame (it stays near where the memory saw it
    last, at the scale of the 8-pixel patches: at most 4.5 pixels over the 5 frames after the event) and the two
    are always at least 2 r + 3 pixels apart, so following one needs no guess about which is which."""
    ds = EventDataset(20, seed=4, frames=6)
    for vid, video in ds.videos().items():
        cs = [_centres(ds.read_labels(vid, n)) for n in video.frames]
        for a in (0, 1):
            steps = [np.hypot(*(cs[k + 1][a] - cs[k][a])) for k in range(len(cs) - 1)]
            assert max(steps) <= 0.9 + 1.0  # speed plus the pixel grid's rounding of the disc's centre
        assert min(np.hypot(*(c[0] - c[1])) for c in cs) >= 2 * 4.5 + 3 - 1.0


def test_memory_task_recipe_trains_on_whole_videos_that_contain_the_event() -> None:
    """Every training clip is a whole video (frame 0, the event, included, every frame supervised), and nothing
    but the memory can carry the event to the later frames: the recipe has no frame difference (frame 1's
    difference to frame 0 would show the event colours) and the global memory's inference frames (segment centres)
    do not include frame 0."""
    from lvsbench.models.data import FrameCache
    from lvsbench.models.locater import global_indices
    from lvsbench.models.train import build_tokenizer, load_recipe, make_batch

    rec = load_recipe(REPO_RECIPE, "locater")
    assert rec.model_config["memory"] == "locater" and rec.model_config["frame_difference"] is False
    assert rec.data.hflip == 0.0
    assert 0 not in global_indices(rec.data.clip, int(rec.model_config["global_frames"]))
    ds = EventDataset(5, seed=1, frames=rec.data.clip, height=rec.data.size[0], width=rec.data.size[1])
    cache = FrameCache(ds, rec.data.size, build_tokenizer(rec, ds), progress=False)
    whole = {vid: cv.frames for vid, cv in cache.videos.items()}
    for step in range(4):
        batch = make_batch("locater", cache, rec, step)
        assert batch["frames"].shape[1] == rec.data.clip
        for clip in batch["frames"].numpy():
            assert any(np.array_equal(clip, v) for v in whole.values())
        assert bool((batch["weights"] == 1).all())


@pytest.mark.parametrize(("memory", "reach"), [("locater", 0), ("last-frame", 4), ("none", 5)])
def test_gradient_of_the_last_frame_reaches_the_event_frame_only_through_the_memory(memory: str,
                                                                                    reach: int) -> None:
    """The loss on the last frame of a clip has a gradient with respect to the pixels of frame 0 (the event) with
    Locater's memory; without memory it reaches no earlier frame, and the last-frame memory only the frame before
    (its chain over older frames goes through the detached predicted masks)."""
    import torch

    from lvsbench.models import build_model
    from lvsbench.models.train import load_recipe

    rec = load_recipe(REPO_RECIPE, "locater")
    torch.manual_seed(0)
    model = build_model("locater", {**rec.model_config, "memory": memory, "vocab_size": 20})
    h, w = rec.data.size
    frames = torch.randn(1, rec.data.clip, 3, h, w, requires_grad=True)
    out = model(frames, frames[:, [1, 4]].detach(), torch.randint(1, 20, (1, 6)))
    out["logits"][:, -1].sum().backward()
    assert frames.grad is not None
    per_frame = frames.grad.abs().flatten(2).sum(-1).sum(0)
    assert bool((per_frame[reach:] > 0).all()) and bool((per_frame[:reach] == 0).all()), per_frame


def test_memory_task_driver_trains_and_scores_both_arms(tmp_path: Path) -> None:
    from lvsbench.models.memory_task import main

    for memory in ("locater", "none"):
        out = tmp_path / memory
        assert main(["--memory", memory, "--out", str(out), "--steps", "2", "--train-videos", "3",
                     "--test-videos", "2"]) == 0
        res = json.loads((out / "result.json").read_text())
        assert res["memory"] == memory and res["steps"] == 2
        assert res["event_frame"]["samples"] == 4 and res["after_event"]["samples"] == 20
        assert res["all_frames"]["samples"] == 24 and res["after_event_swapped"]["samples"] == 20
        ckpt = json.loads((out / "recipe.json").read_text())["recipe"]["model"]
        assert ckpt["memory"] == memory
