"""Parity with MTTR's own A2D evaluation on instances whose masks overlap (riders on horses, an adult holding a baby).

`tests/data/a2d_overlap/make_a2d_overlap.py` writes a tiny A2D-Sentences release (h5 files, text files) and a COCO
results file; `a2d_overlap.json` holds the numbers MTTR @ 2cc35ab computed on exactly those files
(`create_gt_in_coco_format.py`, COCOeval segm useCats=0, `metrics.py`), and on a flattened copy (`flattened`).
Here the files go through lvsbench's real path: native reader -> COCO ground truth / scorer, and the lvsbench
layout (`Overlaps/`) -> scorer.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lvsbench.core.records import FrameMasks
from lvsbench.datasets.a2d import A2DDataset
from lvsbench.datasets.layout import LayoutDataset, LayoutWriter, validate_layout
from lvsbench.metrics.referring import COCO_STAT_NAMES
from lvsbench.scoring import score

DATA = Path(__file__).parent / "data" / "a2d_overlap"


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_a2d_overlap", DATA / "make_a2d_overlap.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = _builder().write(tmp_path_factory.mktemp("a2d_overlap"))
    ref = json.loads((DATA / "a2d_overlap.json").read_text())
    assert hashlib.sha256((out / "preds.json").read_bytes()).hexdigest() == ref["preds_sha256"]  # same inputs
    return out, ref


def _assert_equal_numbers(r, ref: dict, same_order: bool = True) -> None:  # noqa: ANN001
    for name, want in zip(COCO_STAT_NAMES, ref["coco_stats"], strict=True):
        assert abs(r.values[f"coco {name}"] - want) <= 1e-12, name
    for k, want in ref["precision_at_k"].items():
        assert r.values[f"P@{k}"] == want, k
    assert r.values["overall_iou"] == ref["overall_iou"]
    assert r.values["mean_iou"] == ref["mean_iou"]
    per = r.per_sample.set_index("image_id")
    want_ids = [row["image_id"] for row in ref["per_image_top1"]]
    got_ids = list(r.per_sample["image_id"])
    assert (got_ids == want_ids) if same_order else (sorted(got_ids) == sorted(want_ids))  # MTTR COCO image order
    for row in ref["per_image_top1"]:
        got = per.loc[row["image_id"]]
        assert (got["iou"], got["inter"], got["union"]) == (row["iou"], row["inter"], row["union"]), row["image_id"]


def test_fixture_has_overlaps_that_change_every_headline_number(case: tuple[Path, dict]) -> None:
    """Flattening the instances (what a label-map reader scores) changes mAP, P@K and per-sample IoUs."""
    _, ref = case
    flat = ref["flattened"]
    assert abs(flat["coco_stats"][0] - ref["coco_stats"][0]) > 0.05
    assert flat["precision_at_k"]["0.8"] != ref["precision_at_k"]["0.8"]
    assert flat["mean_iou"] != ref["mean_iou"]
    changed = [a["image_id"] for a, b in zip(ref["per_image_top1"], flat["per_image_top1"], strict=True)
               if a["iou"] != b["iou"]]
    assert len(changed) >= 5
    ds = A2DDataset(case[0] / "a2d", "test")
    over = [(v, f) for v in ds.videos() for f in ds.annotated_frames(v) if ds.read_masks(v, f).overlapping]
    assert len(over) == 5 and len(ds.annotated_frames("AdultBaby02")) == 3


def test_native_reader_equals_mttr(case: tuple[Path, dict]) -> None:
    """files -> A2DDataset -> score(): every MTTR number, and MTTR's COCO ground truth byte for byte."""
    from lvsbench.datasets.coco_gt import build_coco_gt

    root, ref = case
    ds = A2DDataset(root / "a2d", "test")
    gt = build_coco_gt(ds)
    assert hashlib.sha256(json.dumps(gt).encode()).hexdigest() == ref["coco_gt_sha256"]
    r = score(root / "preds.json", ds)
    assert r.protocol.name == "a2d"
    _assert_equal_numbers(r, ref)


def test_held_baby_keeps_its_pixels(case: tuple[Path, dict]) -> None:
    """Frame 9: the baby (instance 0, listed first) lies inside the adult (instance 1): flattened it has no pixel."""
    ds = A2DDataset(case[0] / "a2d", "test")
    fm = ds.read_masks("AdultBaby02", "00009")
    baby, adult = fm.mask((1,)), fm.mask((2,))
    assert baby.sum() > 200 and (baby & ~adult).sum() == 0
    assert not (ds.read_labels("AdultBaby02", "00009") == 1).any()
    assert np.array_equal(fm.labels, ds.read_labels("AdultBaby02", "00009"))
    ann = ds.read_annotation("AdultBaby02", "00009")  # the slow, checked reader gives the same masks
    assert np.array_equal(ann.masks[0].astype(bool), baby) and np.array_equal(ann.masks[1].astype(bool), adult)


def _layout(ds: A2DDataset, out: Path, flattened: bool) -> LayoutDataset:
    w = LayoutWriter(out, name="a2d-overlap", split="test", source="test", default_protocol="a2d")
    for vid, video in ds.videos().items():
        gt = {f: (ds.read_labels(vid, f) if flattened else ds.read_masks(vid, f)) for f in ds.annotated_frames(vid)}
        frames = ((n, np.zeros((video.height, video.width, 3), np.uint8)) for n in video.frames)
        w.add_video(video, frames, gt, ds.video_expressions(vid))
    w.finish(order=list(ds.videos()))
    return LayoutDataset(out)


def test_layout_round_trip_keeps_overlaps(case: tuple[Path, dict], tmp_path: Path) -> None:
    """The lvsbench layout stores the overlapping instances (`Overlaps/`, format version 2) and scores the same;
    a layout of flattened label maps (format version 1) gives exactly MTTR's numbers on the flattened release."""
    root, ref = case
    ds = A2DDataset(root / "a2d", "test")
    exact = _layout(ds, tmp_path / "exact", flattened=False)
    assert validate_layout(exact.root) == []
    assert exact.card["format_version"] == 2 and exact.card["counts"]["overlap_masks"] == 10
    assert sorted(p.name for p in (exact.root / "Overlaps" / "AdultBaby02" / "00009").iterdir()) == ["1.png", "2.png"]
    _assert_equal_numbers(score(root / "preds.json", exact), ref, same_order=False)  # the layout sorts videos
    flat = _layout(ds, tmp_path / "flat", flattened=True)
    assert flat.card["format_version"] == 1 and not (flat.root / "Overlaps").exists()
    _assert_equal_numbers(score(root / "preds.json", flat), ref["flattened"], same_order=False)


# ---------------------------------------------------------------------------------------------- lvsbench synth a2d


def test_synth_a2d_writes_overlapping_instances(tmp_path: Path) -> None:
    """`lvsbench synth a2d` renders an adult holding a baby and a baby riding a dog; the .h5 and .mat readers
    return every instance's own mask, the layout keeps them, and only the unflattened truth gives an oracle 1.0."""
    from lvsbench.datasets.coco_gt import build_coco_gt
    from lvsbench.datasets.layout import write_dataset
    from lvsbench.formats.coco_json import coco_result, write_coco_results
    from lvsbench.synth.a2d import expected_masks, generate, write_synthetic

    kw = {"videos": 6, "seed": 3, "height": 48, "width": 64, "frames": 12}
    root = write_synthetic(tmp_path / "synth", **kw)
    plans = {p.vid: p for p in generate(**kw)}
    h5, mat = A2DDataset(root, "all"), A2DDataset(root, "all", annotations="mat")
    overlapping = []
    for vid in h5.videos():
        for fr in h5.annotated_frames(vid):
            want = expected_masks(plans[vid], int(fr))
            for ds in (h5, mat):
                got = ds.read_masks(vid, fr)
                assert np.array_equal(got.labels, want.labels) and set(got.overlapping) == set(want.overlapping)
                assert all(np.array_equal(got.overlapping[o], m) for o, m in want.overlapping.items())
            if want.overlapping:
                overlapping.append((plans[vid].scene.carried[0][2], plans[vid].subset))
    assert {k for k, _ in overlapping} == {"holding", "riding"} and any(s == 1 for _, s in overlapping)

    test = A2DDataset(root, "test")
    write_dataset(test, tmp_path / "lay", source="synth", default_protocol="a2d", frame_ext=".png", progress=False)
    lay = LayoutDataset(tmp_path / "lay")
    assert lay.card["format_version"] == 2 and validate_layout(lay.root) == []
    gt = build_coco_gt(test)
    oracle = [{"image_id": a["image_id"], "category_id": 1, "segmentation": a["segmentation"], "score": 0.9}
              for a in gt["annotations"]]
    write_coco_results(tmp_path / "oracle.json", oracle)
    flat = []
    for im in gt["images"]:
        vid, rest = im["id"][2:].rsplit("_f_", 1)
        frame, inst = (int(x) for x in rest.split("_i_"))
        flat.append(coco_result(im["id"], test.read_labels(vid, f"{frame:05d}") == inst + 1, 0.9))
    write_coco_results(tmp_path / "flat.json", flat)
    for ds in (test, lay):
        r = score(tmp_path / "oracle.json", ds)
        assert r.values["coco mAP 0.5:0.95"] == 1.0 and r.values["mean_iou"] == 1.0
        assert score(tmp_path / "flat.json", ds).values["mean_iou"] < 1.0  # flattened masks are not the truth


# ---------------------------------------------------------------------------------------------- FrameMasks


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_frame_masks_keep_every_object(n: int, seed: int) -> None:
    """Any list of (possibly overlapping) object masks: each object's target is its own mask, unions are unions,
    the label map is the flattened one (later wins), and only objects sharing a pixel carry a full mask."""
    rng = np.random.RandomState(seed)
    ids = [int(i) for i in rng.choice(np.arange(1, 255), n, replace=False)]
    masks = [rng.rand(7, 9) < 0.4 for _ in ids]
    fm = FrameMasks.from_instances(ids, masks)
    flat = np.zeros((7, 9), np.uint8)
    for o, m in zip(ids, masks, strict=True):
        flat[m] = o
    assert np.array_equal(fm.labels, flat)
    for o, m in zip(ids, masks, strict=True):
        assert np.array_equal(fm.mask((o,)), m)
    assert np.array_equal(fm.mask(tuple(ids)), np.logical_or.reduce(masks))
    shared = np.sum(masks, axis=0) > 1
    assert set(fm.overlapping) == {o for o, m in zip(ids, masks, strict=True) if (m & shared).any()}
    assert fm.object_ids() == tuple(sorted(o for o, m in zip(ids, masks, strict=True) if m.any()))


def test_composition_keeps_overlaps() -> None:
    """A2D-S+ composition (offset, nearest resize, side by side) transforms every object's own mask."""
    from lvsbench.hardsplit.compose import hconcat, hconcat_masks, offset_masks, resize_labels, resize_masks

    a, b = np.zeros((8, 10), bool), np.zeros((8, 10), bool)
    a[1:6, 1:7], b[3:8, 4:9] = True, True
    fm = FrameMasks.from_instances([1, 2], [a, b])
    other = FrameMasks(np.full((8, 5), 3, np.uint8))
    for got, want in ((offset_masks(fm, 100), {101: a, 102: b}),):
        assert all(np.array_equal(got.mask((o,)), m) for o, m in want.items())
    r = resize_masks(fm, (16, 20))
    for o, m in ((1, a), (2, b)):
        assert np.array_equal(r.mask((o,)), resize_labels(m.astype(np.uint8), (16, 20)).astype(bool))
    for left, right, pad_a in ((fm, other, lambda m: hconcat(m, np.zeros((8, 5), bool))),
                               (other, fm, lambda m: hconcat(np.zeros((8, 5), bool), m))):
        c = hconcat_masks(left, right)
        assert np.array_equal(c.mask((1,)), pad_a(a)) and np.array_equal(c.mask((2,)), pad_a(b))
        assert c.mask((3,)).sum() == 40


def test_layout_validate_names_bad_overlap_masks(case: tuple[Path, dict], tmp_path: Path) -> None:
    from lvsbench.core.codecs import encode_palette_png

    ds = A2DDataset(case[0] / "a2d", "test")
    lay = _layout(ds, tmp_path / "lay", flattened=False)
    d = lay.root / "Overlaps" / "AdultBaby02" / "00009"
    (d / "1.png").write_bytes(encode_palette_png(np.full((4, 4), 2, np.uint8)))
    (d / "x.png").write_bytes(b"")
    (lay.root / "Overlaps" / "AdultBaby02" / "00042").mkdir()
    msgs = {(Path(p.path).relative_to(lay.root).as_posix(), p.message.split(" ")[0]) for p in validate_layout(lay.root)}
    assert msgs >= {("Overlaps/AdultBaby02/00009/1.png", "mask"), ("Overlaps/AdultBaby02/00009/1.png", "an"),
                    ("Overlaps/AdultBaby02/00009/x.png", "expected"), ("Overlaps/AdultBaby02/00042", "overlap")}
