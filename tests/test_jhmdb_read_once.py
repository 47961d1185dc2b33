"""J-HMDB scoring opens each puppet_mask.mat once: the read that finds a video's frame count keeps the scored
frames' masks (RLEs) for the scorer, with the numbers of the path that reads every file again (COCO results and
PNG predictions)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io

from lvsbench.core.codecs import rle_encode
from lvsbench.datasets.registry import load
from lvsbench.formats.coco_json import jhmdb_image_id, write_coco_results
from lvsbench.formats.png_tree import write_png_prediction
from lvsbench.scoring import score
from lvsbench.synth import get_writer


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("jhmdb_once")
    root = get_writer("jhmdb")(tmp / "jhmdb", videos=6, seed=4, height=48, width=64)
    ds = load("jhmdb", root)
    rng = np.random.default_rng(3)
    results = []
    for e in ds.expressions():
        for f in ds.expression_frames(e):
            gt = ds.read_masks(e.video_id, f).mask(e.object_ids)
            m = gt ^ (rng.random(gt.shape) < 0.2)
            results.append({"image_id": jhmdb_image_id(e.video_id, f), "category_id": 1,
                            "segmentation": rle_encode(m), "score": 0.9})
            results.append({"image_id": jhmdb_image_id(e.video_id, f), "category_id": 1,
                            "segmentation": rle_encode(rng.random(gt.shape) < 0.3), "score": 0.4})
            write_png_prediction(tmp / "png", e.video_id, e.id, f, m)
    write_coco_results(tmp / "r.json", results)
    return root, tmp / "r.json", tmp / "png"


def _opens(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the reads of .mat files by path (scipy.io's whole-file and header-only readers)."""
    opened: Counter[str] = Counter()
    for name in ("loadmat", "whosmat"):
        real = getattr(scipy.io, name)

        def counting(path, *a, _real=real, **k):  # type: ignore[no-untyped-def]
            opened[str(path)] += 1
            return _real(path, *a, **k)

        monkeypatch.setattr(scipy.io, name, counting)
    return opened


@pytest.mark.parametrize("which", ["coco", "png"])
def test_each_mask_file_opened_once(case: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch,
                                    which: str) -> None:
    root, coco, png = case
    preds = coco if which == "coco" else png
    reread_ds = load("jhmdb", root)
    reread_ds.expressions()  # frame counts read before scoring: the scorer reads the masks again
    reread = score(preds, reread_ds, "jhmdb")
    opened = _opens(monkeypatch)
    ds = load("jhmdb", root)
    r = score(preds, ds, "jhmdb")
    masks = {str(ds.mask_path(v)) for v in ds.videos()}
    assert opened and set(opened) == masks and set(opened.values()) == {1}
    e = ds.expressions()[0]
    assert ds.read_mask_rles(e.video_id, e.frames[0]) is not None  # the kept masks were scored
    assert reread_ds.read_mask_rles(e.video_id, e.frames[0]) is None
    assert r.values == reread.values
    pd.testing.assert_frame_equal(r.per_sample, reread.per_sample, check_exact=True)
    assert 0 < r.values["mean_iou"] < 1
