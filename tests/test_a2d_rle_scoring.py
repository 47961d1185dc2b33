"""A2D scoring on RLEs (the plan's read keeps each instance mask as an RLE; samples are scored without decoding a
mask) equals the decoded path, with one process or several, on random candidates: ties, empty masks, masks of
every size, uncompressed (list) counts, several candidates per sample."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lvsbench.core.errors import LvsbenchError
from lvsbench.datasets.registry import load
from lvsbench.scoring import score
from lvsbench.scoring import workers as workers_module
from lvsbench.scoring.workers import SMALL_BACKLOG
from lvsbench.synth import get_writer
from tests.scoring_helpers import write_random_a2d_results


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("a2d_rle")
    root = get_writer("a2d")(tmp / "a2d", videos=8, seed=5, height=48, width=64, frames=8)
    preds = write_random_a2d_results(load("a2d", root, "test"), tmp / "r.json", seed=7, png_out=tmp / "png")
    return root, preds, tmp / "png"


@pytest.mark.parametrize("backlog", [SMALL_BACKLOG, 0])
def test_rle_path_equals_decoded_path(case: tuple[Path, Path, Path], backlog: int,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Also with the videos that arrive after the reads scored in this process or (backlog 0) in a pool."""
    monkeypatch.setattr(workers_module, "SMALL_BACKLOG", backlog)
    root, preds, _ = case
    dense_ds = load("a2d", root, "test")
    dense_ds.expressions()  # the plan is read before scoring: no mask kept, the scorer reads and decodes them
    dense = score(preds, dense_ds, "a2d", by="category")
    assert dense_ds.read_mask_rles(*dense.per_sample[["video_id", "frame"]].iloc[0]) is None
    for workers in (1, 2, 3):
        ds = load("a2d", root, "test")
        r = score(preds, ds, "a2d", workers=workers, by="category")
        assert ds.read_mask_rles(*r.per_sample[["video_id", "frame"]].iloc[0]) is not None  # the RLE path ran
        assert r.values == dense.values
        pd.testing.assert_frame_equal(r.per_sample, dense.per_sample, check_exact=True)
        pd.testing.assert_frame_equal(r.per_group, dense.per_group, check_exact=True)
    assert 0 < dense.values["coco mAP 0.5:0.95"] < 1 and 0 < dense.values["mean_iou"] < 1


def test_png_predictions_read_the_kept_masks(case: tuple[Path, Path, Path]) -> None:
    """PNG predictions: the GT masks are decoded from the RLEs the plan's read kept (no file reopened), with the
    numbers of the path that reads the files again."""
    root, _, png = case
    reread_ds = load("a2d", root, "test")
    reread_ds.expressions()
    reread = score(png, reread_ds, "a2d")
    for workers in (1, 2):
        ds = load("a2d", root, "test")
        r = score(png, ds, "a2d", workers=workers)
        assert ds.read_mask_rles(*r.per_sample[["video_id", "frame"]].iloc[0]) is not None
        assert r.values == reread.values
        pd.testing.assert_frame_equal(r.per_sample, reread.per_sample, check_exact=True)
    assert 0 < reread.values["mean_iou"] < 1


def test_unreadable_predictions_while_workers_read(case: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """With workers the ground truth is read in the background while the predictions are parsed: a prediction
    file that cannot be read stops the reads and gives its own error (naming the file), and the same dataset
    then scores with the reads done again."""
    import multiprocessing as mp

    root, preds, _ = case
    bad = tmp_path / "bad.json"
    bad.write_text('[{"image_id": ')
    ds = load("a2d", root, "test")
    with pytest.raises(LvsbenchError, match="bad.json"):
        score(bad, ds, "a2d", workers=2)
    assert not mp.active_children()  # the reading pool is gone
    r = score(preds, ds, "a2d", workers=2)
    assert r.values == score(preds, load("a2d", root, "test"), "a2d").values


def test_workers_read_with_spawn_too(case: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Where fork is not available (macOS, Windows) the reading workers are spawned: the shared claim flags reach
    them through the pool's initializer, and the numbers are those of one process."""
    import multiprocessing as mp

    root, preds, _ = case
    one = score(preds, load("a2d", root, "test"), "a2d")
    monkeypatch.setattr(mp, "get_all_start_methods", lambda: ["spawn"])
    ds = load("a2d", root, "test")
    two = score(preds, ds, "a2d", workers=2)
    assert ds.read_mask_rles(*two.per_sample[["video_id", "frame"]].iloc[0]) is not None  # the workers' reads
    assert two.values == one.values
    pd.testing.assert_frame_equal(two.per_sample, one.per_sample, check_exact=True)
