"""Parity with the golden values of davis2017-evaluation (J, F, db_statistics) and MTTR / pycocotools (A2D).

Masks are rebuilt by the generator scripts in tests/data/golden (loaded by path); only numbers are stored there.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from lvsbench.metrics.functional import boundary_f_measure, boundary_radius, j_and_f, region_similarity
from lvsbench.metrics.statistics import db_statistics


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def golden_jf(golden_dir: Path) -> tuple[ModuleType, dict]:
    return _load(golden_dir / "make_golden_jf.py"), json.loads((golden_dir / "golden_jf.json").read_text())


@pytest.fixture(scope="module")
def golden_a2d(golden_dir: Path) -> tuple[ModuleType, dict]:
    return _load(golden_dir / "make_golden_a2d.py"), json.loads((golden_dir / "golden_a2d.json").read_text())


def _same(got: float, want: float) -> bool:
    return (math.isnan(got) and math.isnan(want)) or got == want


def test_jf_all_cases_exact(golden_jf: tuple[ModuleType, dict]) -> None:
    mg, ref = golden_jf
    by_name = {c["name"]: c for c in ref["cases"]}
    cases = mg.build_cases()
    assert len(cases) == len(by_name) == 30
    mismatches = []
    for case in cases:
        r = by_name[case["name"]]
        assert mg.sha(case["gt"]) == r["gt_sha256"], case["name"]
        assert mg.sha(case["pred"]) == r["pred_sha256"], case["name"]
        assert boundary_radius(case["gt"].shape) == r["bound_pix"], case["name"]
        j = region_similarity(case["gt"], case["pred"], case["void"])
        f = boundary_f_measure(case["gt"], case["pred"], case["void"])
        jf = j_and_f(case["gt"], case["pred"], case["void"])
        # uint8 0/1 input must give the same numbers as bool input
        j8, f8 = j_and_f(case["gt"].astype(np.uint8), case["pred"].astype(np.uint8) * 255,
                         None if case["void"] is None else case["void"].astype(np.uint8))
        if not (j == r["J"] and f == r["F"] and jf == (j, f) and (j8, f8) == (j, f)):
            mismatches.append((case["name"], j, r["J"], f, r["F"], jf, (j8, f8)))
    assert mismatches == []


def test_db_statistics_compat_exact(golden_jf: tuple[ModuleType, dict]) -> None:
    mg, ref = golden_jf
    by_name = {s["name"]: s for s in ref["db_statistics"]}
    seqs = mg.build_sequences()
    assert len(seqs) == len(by_name) == 7
    for name, values in seqs:
        r = by_name[name]
        m, o, d = db_statistics(values, decay="compat")
        assert _same(m, r["mean"]) and _same(o, r["recall"]) and _same(d, r["decay"]), (name, m, o, d)
    assert math.isnan(by_name["ramp_256"]["decay"]) and math.isnan(by_name["ramp_300"]["decay"])


def test_db_statistics_fixed_agrees_below_256(golden_jf: tuple[ModuleType, dict]) -> None:
    mg, ref = golden_jf
    by_name = {s["name"]: s for s in ref["db_statistics"]}
    for name, values in mg.build_sequences():
        if len(values) >= 256:
            continue
        assert db_statistics(values, decay="fixed") == db_statistics(values, decay="compat")
        assert _same(db_statistics(values, decay="fixed")[2], by_name[name]["decay"])
    # the numpy-1.x value of the anchor for exactly 256 frames (recorded in meta) is the correct decay
    ramp_256 = dict(mg.build_sequences())["ramp_256"]
    assert db_statistics(ramp_256, decay="fixed")[2] == 0.7490196078431373


# ------------------------------------------------------------------ A2D / JHMDB (golden_a2d.json)


def test_a2d_coco_stats(golden_a2d: tuple[ModuleType, dict]) -> None:
    from lvsbench.metrics.referring import COCO_STAT_NAMES, coco_map, coco_stats

    mg, ref = golden_a2d
    samples = mg.build()
    for (iid, g, plist, _), img in zip(samples, ref["images"], strict=True):
        assert img["image_id"] == iid and int(g.sum()) == img["gt_area"]
        assert [(int(p.sum()), s) for p, s in plist] == [(q["area"], q["score"]) for q in img["preds"]]
    gt = {iid: g for iid, g, _, _ in samples}
    dets = [{"image_id": iid, "mask": p, "score": s} for iid, _, plist, _ in samples for p, s in plist]
    stats = coco_stats(gt, dets)
    assert stats.shape == (12,)
    assert np.max(np.abs(stats - np.asarray(ref["coco_stats"]))) <= 1e-12
    named = coco_map(gt, dets)
    assert tuple(named) == COCO_STAT_NAMES and "mAP" not in named
    assert abs(named["mAP 0.5:0.95"] - 0.25600282009625114) <= 1e-12
    # RLE input (str counts, as in a COCO results JSON) gives the same stats
    from lvsbench.core.codecs import rle_encode

    dets_rle = [{"image_id": d["image_id"], "segmentation": rle_encode(d["mask"]), "score": d["score"]} for d in dets]
    assert np.array_equal(coco_stats({k: rle_encode(v) for k, v in gt.items()}, dets_rle), stats)


def test_a2d_top1_metrics_exact(golden_a2d: tuple[ModuleType, dict]) -> None:
    from lvsbench.metrics.referring import TopOneAccumulator, top1

    mg, ref = golden_a2d
    acc = TopOneAccumulator()
    for iid, g, plist, _ in mg.build():
        acc.update(iid, g, plist[top1(plist)][0])
    res = acc.compute()
    for k, want in ref["precision_at_k"].items():
        assert res[f"P@{k}"] == want, k
    assert res["overall_iou"] == ref["overall_iou"]
    assert res["mean_iou"] == ref["mean_iou"]
    table = res["per_sample"]
    assert table["sample_id"].tolist() == [r["image_id"] for r in ref["per_image_top1"]]
    assert table["inter"].tolist() == [r["inter"] for r in ref["per_image_top1"]]
    assert table["union"].tolist() == [r["union"] for r in ref["per_image_top1"]]
    assert table["iou"].tolist() == [r["iou"] for r in ref["per_image_top1"]]
    assert res["locater_mAP"] == np.mean(list(ref["precision_at_k"].values()))
