"""A2D / JHMDB referring metrics: float32 artefacts, tie rules, the named "mAP" variants, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lvsbench.metrics.referring import (
    COCO_STAT_NAMES,
    LBDT_THRESHOLDS,
    LocaterAccumulator,
    TopOneAccumulator,
    coco_map,
    coco_stats,
    locater_frame_iou,
    mttr_iou,
    top1,
)


def _mask_with(inter: int, union: int, width: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A (gt, pred) pair with exactly `inter` shared and `union` total foreground pixels (pred inside gt)."""
    h = max(1, -(-union // width))
    gt = np.zeros(h * width, bool)
    pred = np.zeros(h * width, bool)
    gt[:union] = True
    pred[:inter] = True
    return gt.reshape(h, width), pred.reshape(h, width)


def test_float32_artefacts_of_mttr_iou() -> None:
    g, p = _mask_with(1, 2)
    i, u, iou = mttr_iou(g, p)
    assert (i, u, iou) == (1.0, 2.0, 0.5000002384185791) and i.dtype == np.float32
    assert mttr_iou(*_mask_with(50, 100))[2] == 0.5
    assert mttr_iou(*_mask_with(30, 50))[2] == 0.6000000238418579
    assert mttr_iou(*_mask_with(0, 9))[2] == 1.111110989882036e-07
    z = np.zeros((4, 4), bool)
    assert mttr_iou(z, z)[2] == 1.0

    acc = TopOneAccumulator()
    acc.update("a", *_mask_with(1, 2))  # 0.50000024 > 0.5 counts
    acc.update("b", *_mask_with(50, 100))  # exactly 0.5 does not
    res = acc.compute()
    assert res["P@0.5"] == 0.5 and res["P@0.6"] == 0.0
    assert res["overall_iou"] == 51 / 102
    assert res["mean_iou"] == np.mean([0.5000002384185791, 0.5])
    # LBDT counts IoU >= t: both samples reach 0.5, none 0.55
    assert res["prec_mAP"] == np.mean([1.0] + [0.0] * 9)
    assert res["locater_mAP"] == np.mean([0.5, 0, 0, 0, 0])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 5000), st.integers(0, 5000))
def test_mttr_iou_equals_torch_float32(a: int, b: int) -> None:
    inter, union = min(a, b), max(a, b)
    g, p = _mask_with(inter, union)
    # MTTR's compute_iou arithmetic in torch float32
    gt_t, pr_t = torch.from_numpy(g)[None], torch.from_numpy(p)[None]
    i_t = (pr_t & gt_t).float().sum()
    u_t = (pr_t | gt_t).float().sum()
    want = ((i_t + 1e-6) / (u_t + 1e-6)).item()
    assert mttr_iou(g, p) == (i_t.item(), u_t.item(), want)
    li, lu, liou = locater_frame_iou(g, p)
    assert liou == (1.0 if union == 0 else (i_t / u_t).item())


def test_top1_last_among_ties() -> None:
    m = np.zeros((2, 2), bool)
    assert top1([(m, 0.6), (m, 0.6)]) == 1
    assert top1([(m, 0.9), (m, 0.6), (m, 0.9), (m, 0.1)]) == 2
    assert top1([(m, 0.1)]) == 0
    assert top1([(m, -1.0), (m, -2.0)]) == 0
    with pytest.raises(ValueError):
        top1([])
    with pytest.raises(ValueError, match="NaN"):
        top1([(m, 0.5), (m, float("nan"))])


def test_prec_map_thresholds_are_lbdt_k_over_100() -> None:
    assert LBDT_THRESHOLDS == (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
    acc = TopOneAccumulator()
    # IoU 0.6 + float32 eps artefact: counted for thresholds 0.5, 0.55, 0.6 under >=
    acc.update("s", *_mask_with(30, 50))
    assert acc.compute()["prec_mAP"] == 0.3


def test_locater_accumulator_empty_target_rule() -> None:
    z = np.zeros((8, 8), bool)
    obj = z.copy()
    obj[:2, :2] = True
    acc = LocaterAccumulator()
    acc.update(("v", 0), z, z)  # empty prediction on an empty target: IoU 1, correct at every K
    acc.update(("v", 1), z, obj)  # anything predicted on an empty target: IoU 0, U grows by 4
    acc.update(("v", 2), *_mask_with(3, 5, width=8))  # 0.6 counts at P@0.6 under >=
    res = acc.compute()
    assert res["P@0.5"] == res["P@0.6"] == 2 / 3 and res["P@0.7"] == 1 / 3
    assert res["overall_iou"] == 3 / 9
    assert res["mean_iou"] == np.mean([1.0, 0.0, float(np.float32(3) / np.float32(5))])
    assert res["locater_mAP"] == np.mean([2 / 3, 2 / 3, 1 / 3, 1 / 3, 1 / 3])
    assert list(res["per_sample"].columns) == ["sample_id", "inter", "union", "iou"]


def test_accumulator_rejects_duplicates_and_empty() -> None:
    acc = TopOneAccumulator()
    with pytest.raises(ValueError, match="no samples"):
        acc.compute()
    g, p = _mask_with(1, 2)
    acc.update("x", g, p)
    with pytest.raises(ValueError, match="twice"):
        acc.update("x", g, p)
    with pytest.raises(ValueError, match=r"\(1, 64\).*\(2, 64\)"):
        acc.update("y", g, np.zeros((2, 64), bool))


def _rect(y0: int, y1: int, x0: int, x1: int, shape: tuple[int, int] = (40, 50)) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def test_coco_map_perfect_and_tie_rule() -> None:
    gt = {"a": _rect(0, 20, 0, 20), "b": _rect(10, 30, 10, 40)}
    perfect = [{"image_id": k, "mask": v, "score": 0.9} for k, v in gt.items()]
    res = coco_map(gt, perfect)
    assert tuple(res) == COCO_STAT_NAMES
    assert res["mAP 0.5:0.95"] == 1.0 and res["AP 0.5"] == 1.0 and res["AR@1 0.5:0.95"] == 1.0
    # COCOeval keeps the FIRST listed among tied scores at maxDets=1 (stable mergesort) -> AR@1 differs by order
    wrong = _rect(30, 40, 40, 50)
    first_good = [{"image_id": "a", "mask": gt["a"], "score": 0.5}, {"image_id": "a", "mask": wrong, "score": 0.5}]
    first_bad = first_good[::-1]
    one = {"a": gt["a"]}
    assert coco_map(one, first_good)["AR@1 0.5:0.95"] == 1.0
    assert coco_map(one, first_bad)["AR@1 0.5:0.95"] == 0.0


def test_coco_validation_and_empty() -> None:
    gt = {"a": _rect(0, 20, 0, 20)}
    with pytest.raises(ValueError, match="'zz'"):
        coco_stats(gt, [{"image_id": "zz", "mask": gt["a"], "score": 1.0}])
    with pytest.raises(ValueError, match=r"\(40, 50\)"):
        coco_stats(gt, [{"image_id": "a", "mask": np.zeros((5, 5), bool), "score": 1.0}])
    with pytest.raises(ValueError, match="NaN"):
        coco_stats(gt, [{"image_id": "a", "mask": gt["a"], "score": math.nan}])
    # no detections: 0 where GT exists, -1 (COCO's "no GT in this area range") for medium / large
    assert coco_stats(gt, []).tolist() == [0.0, 0.0, 0.0, 0.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0]


def test_coco_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    gt = {"a": _rect(0, 20, 0, 20)}
    coco_stats(gt, [{"image_id": "a", "mask": gt["a"], "score": 1.0}])
    out = capsys.readouterr()
    assert out.out == ""
