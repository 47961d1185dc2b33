"""`a2d-plus` protocol (Locater `tools/evaluate.py`): per-frame IoU, empty target + empty prediction = 1, P@K >= K,
false positives on contrasting frames lower overall IoU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lvsbench.formats.png_tree import write_png_prediction
from lvsbench.scoring import score
from tests.scoring_helpers import ToyVideo, write_oracle_png, write_toy_dataset

H, W = 30, 40


def _rect(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


@pytest.fixture()
def tsplit(tmp_path: Path):  # noqa: ANN201
    """A concatenated A2D-S_t-like video: frames 00001-00002 show the referent, 00003-00004 are contrasting frames
    with an all-zero target; all four are evaluated."""
    obj = _rect(5, 15, 5, 15)  # 100 px
    zero = np.zeros((H, W), np.uint8)
    labels = {"00001": obj.astype(np.uint8), "00002": obj.astype(np.uint8), "00003": zero, "00004": zero}
    ds = write_toy_dataset(tmp_path / "ds", [ToyVideo("cat_v1+v2", labels, [("0", "the cat jumping", (1,), ())])],
                           name="a2d-plus-t", default_protocol="a2d-plus")
    return ds, obj


def test_hand_computed_contrasting_frames(tsplit, tmp_path: Path) -> None:
    ds, obj = tsplit
    p = tmp_path / "p"
    write_png_prediction(p, "cat_v1+v2", "0", "00001", obj)  # I = U = 100 -> 1
    write_png_prediction(p, "cat_v1+v2", "0", "00002", _rect(5, 15, 5, 10))  # I = 50, U = 100 -> 0.5
    write_png_prediction(p, "cat_v1+v2", "0", "00003", np.zeros((H, W), bool))  # empty/empty -> 1
    write_png_prediction(p, "cat_v1+v2", "0", "00004", _rect(20, 25, 20, 30))  # FP of 50 px -> 0, U += 50
    r = score(p, ds)
    assert r.protocol.name == "a2d-plus"
    assert r.per_sample["iou"].tolist() == [1.0, 0.5, 1.0, 0.0]
    assert r.values["P@0.5"] == 0.75  # Locater counts IoU >= K: the exact 0.5 counts
    assert r.values["P@0.6"] == r.values["P@0.9"] == 0.5
    assert r.values["overall_iou"] == (100 + 50) / (100 + 100 + 0 + 50)
    assert r.values["mean_iou"] == 2.5 / 4
    assert r.values["locater_mAP"] == pytest.approx((0.75 + 0.5 * 4) / 5, abs=1e-15)
    assert set(r.values) == {"P@0.5", "P@0.6", "P@0.7", "P@0.8", "P@0.9", "overall_iou", "mean_iou", "locater_mAP"}
    # the same files under MTTR's rule: strict > 0.5, float32 eps IoU
    r_mttr = score(p, ds, "a2d")
    assert r_mttr.values["P@0.5"] == 0.5


def test_oracle_and_empty(tsplit, tmp_path: Path) -> None:
    ds, _ = tsplit
    write_oracle_png(ds, tmp_path / "oracle")
    r = score(tmp_path / "oracle", ds)
    assert all(v == 1.0 for v in r.values.values())
    for f in ("00001", "00002", "00003", "00004"):
        write_png_prediction(tmp_path / "empty", "cat_v1+v2", "0", f, np.zeros((H, W), bool))
    e = score(tmp_path / "empty", ds).values
    # two referent frames score 0, the two contrasting frames score 1; sum I = 0
    assert e["P@0.5"] == 0.5 and e["mean_iou"] == 0.5 and e["overall_iou"] == 0.0 and e["locater_mAP"] == 0.5
