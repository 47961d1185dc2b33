"""MeViS and ReVOS readers on `lvsbench synth mevis|revos` output: the reader returns exactly what the writer
planned (texts, objects, per-object masks, uint8 target sums with overlaps, no-target expressions, foreground),
metadata-only mode, errors naming the file and key, CLI info/convert, and oracle predictions in both formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lvsbench.cli import main
from lvsbench.core.errors import DataFormatError
from lvsbench.core.io import sha256_tree
from lvsbench.datasets.mevis import MeViSDataset
from lvsbench.datasets.registry import load
from lvsbench.datasets.revos import ReVOSDataset
from lvsbench.formats.png_tree import write_png_prediction
from lvsbench.formats.raw_png import RawPngTree
from lvsbench.formats.rle_results import RleResultsPredictions, write_rle_results
from lvsbench.scoring.per_expression import evaluate
from lvsbench.synth import mevis as synth_mevis
from lvsbench.synth import revos as synth_revos

KW = {"videos": 6, "seed": 3, "height": 40, "width": 64, "frames": 4}


@pytest.fixture(scope="module")
def mevis_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_mevis.write_synthetic(tmp_path_factory.mktemp("mevis") / "m", **KW)


@pytest.fixture(scope="module")
def revos_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_revos.write_synthetic(tmp_path_factory.mktemp("revos") / "r", **KW)


def test_same_seed_same_bytes(tmp_path: Path, mevis_root: Path, revos_root: Path) -> None:
    assert sha256_tree(synth_mevis.write_synthetic(tmp_path / "m", **KW)) == sha256_tree(mevis_root)
    assert sha256_tree(synth_revos.write_synthetic(tmp_path / "r", **KW)) == sha256_tree(revos_root)
    assert sha256_tree(synth_mevis.write_synthetic(tmp_path / "m4", **{**KW, "seed": 4})) != sha256_tree(mevis_root)


@pytest.mark.parametrize("split", ["valid_u", "train"])
def test_mevis_reader_returns_the_plan(mevis_root: Path, split: str) -> None:
    ds = MeViSDataset(mevis_root, split)
    planned = [v for v in synth_mevis.plan(**KW) if v.split == split]
    assert list(ds.videos()) == [v.video_id for v in planned]
    n_overlap = n_nt = 0
    for v in planned:
        video = ds.videos()[v.video_id]
        assert (video.height, video.width) == (KW["height"], KW["width"])
        exps = ds.video_expressions(v.video_id)
        assert [(e.id, e.text, e.object_ids) for e in exps] == [
            (p.exp_id, p.text, tuple(o + 1 for o in p.obj_ids)) for p in v.expressions]
        for t, f in enumerate(v.frame_names):
            masks = ds.read_object_masks(v.video_id, f)
            assert sorted(masks) == [o + 1 for o in sorted(v.objects)]
            for o, m in v.objects.items():
                assert np.array_equal(masks[o + 1], m[t])
            for p, e in zip(v.expressions, exps, strict=True):
                got = ds.target_sum(e, f)
                assert got.dtype == np.uint8 and np.array_equal(got, v.target_sum(p.obj_ids, t))
                n_overlap += int((got == 2).any())
        for e in exps:
            n_nt += ds.no_target(e)
            assert ds.no_target(e) == (not e.object_ids)
            assert e.frames == v.frame_names
    assert n_overlap > 0 and n_nt > 0
    df = ds.expressions_frame()
    assert {"obj_id", "anno_id", "no_target"} <= set(df.columns) and len(df) == len(ds.expressions())
    assert ds.missing() == [] and ds.check() == []


def test_mevis_valid_has_no_masks_and_metadata_only_mode(mevis_root: Path, tmp_path: Path) -> None:
    valid = MeViSDataset(mevis_root, "valid")
    assert valid.counts()["annotated_frames"] == 0 and valid.counts()["expressions"] > 0
    assert valid.read_labels(next(iter(valid.videos())), "00000") is None
    root = tmp_path / "meta_only"
    shutil.copytree(mevis_root / "valid_u", root / "valid_u", ignore=shutil.ignore_patterns("JPEGImages"))
    ds = MeViSDataset(root, "valid_u")
    assert [p.path for p in ds.missing()] == [str(root / "valid_u" / "JPEGImages")]
    full = MeViSDataset(mevis_root, "valid_u")
    assert ds.counts() == full.counts()
    vid = next(iter(ds.videos()))
    assert ds.videos()[vid].height == KW["height"]  # from the RLE size
    (root / "valid_u" / "mask_dict.json").unlink()
    meta_only = MeViSDataset(root, "valid_u")
    assert len(meta_only.missing()) == 2 and meta_only.counts()["expressions"] == full.counts()["expressions"]


def test_meta_errors_name_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "valid_u").mkdir()
    meta = {"videos": {"v": {"vid_id": 0, "frames": ["00000"], "expressions": {
        "0": {"exp": "x", "obj_id": [0, 1], "anno_id": [5]}}}}}
    (tmp_path / "valid_u" / "meta_expressions.json").write_text(json.dumps(meta))
    with pytest.raises(DataFormatError, match=r"meta_expressions\.json.*videos\.v\.expressions\.0.*2 obj_id for 1"):
        MeViSDataset(tmp_path, "valid_u")
    meta["videos"]["v"]["expressions"]["0"] = {"exp": "x", "obj_id": [0], "anno_id": [5]}
    meta["videos"]["v"]["expressions"]["1"] = {"exp": "y", "obj_id": [1], "anno_id": [5]}
    (tmp_path / "valid_u" / "meta_expressions.json").write_text(json.dumps(meta))
    with pytest.raises(DataFormatError, match="anno_id 5 is obj_id 0"):
        MeViSDataset(tmp_path, "valid_u")


def test_revos_reader_types_and_foreground(revos_root: Path) -> None:
    ds = ReVOSDataset(revos_root, "valid")
    planned = [v for v in synth_revos.plan(**KW, splits=("valid", "train")) if v.split == "valid"]
    assert list(ds.videos()) == [v.video_id for v in planned]
    for v in planned:
        fg = synth_revos.foreground(v)
        for e, p in zip(ds.video_expressions(v.video_id), v.expressions, strict=True):
            assert ds.type_id(e) == p.type_id
            assert ds.no_target(e) == (p.type_id == 2)
        for t, f in enumerate(v.frame_names):
            assert np.array_equal(ds.read_foreground(v.video_id, f), fg[t].view(np.uint8))
    df = ds.expressions_frame()
    assert set(df["type"]) == {"referring", "reasoning", "no-target"}
    assert ds.check() == []
    assert load("revos", revos_root, "train").counts()["videos"] == len(synth_revos.plan(**KW)) - len(planned)


def test_revos_check_finds_a_wrong_foreground(revos_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "r"
    shutil.copytree(revos_root, root)
    fg = json.loads((root / "mask_dict_foreground.json").read_text())
    vid = next(iter(fg))
    fg[vid]["masks_rle"][1] = fg[vid]["masks_rle"][0] if fg[vid]["masks_rle"][0] != fg[vid]["masks_rle"][1] else {
        "size": [KW["height"], KW["width"]], "counts": "0"}
    (root / "mask_dict_foreground.json").write_text(json.dumps(fg))
    problems = ReVOSDataset(root, "valid").check()
    assert any(f"{vid}/00001" in p.path and "foreground differs" in p.message for p in problems)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    assert int(exc.value.code or 0) == 0, out.err
    return out.out


def test_cli_info_and_convert(mevis_root: Path, revos_root: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    info = json.loads(run(["datasets", "info", "mevis", "--root", str(mevis_root), "--check", "--json"], capsys))
    assert set(info["splits"]) == {"train", "valid_u", "valid"}
    assert info["splits"]["valid_u"]["problems"] == []
    out = json.loads(run(["convert", "revos", "--root", str(revos_root), "--split", "valid", "--out",
                          str(tmp_path / "lay"), "--json"], capsys))
    ds = ReVOSDataset(revos_root, "valid")
    n_nt = ds.counts()["no_target_expressions"]
    assert out["counts"]["expressions"] == len(ds.expressions()) - n_nt
    assert out["notes"] == [f"{n_nt} no-target expressions left out (no_target=drop)"]
    lay = load("layout", tmp_path / "lay")
    assert len(lay.expressions()) == out["counts"]["expressions"]


def test_oracle_predictions_in_both_formats(mevis_root: Path, revos_root: Path, tmp_path: Path) -> None:
    ds = MeViSDataset(mevis_root, "valid_u")
    for e in ds.expressions():
        for f in e.frames:
            write_png_prediction(tmp_path / "png", e.video_id, e.id, f, ds.target_sum(e, f))
    res = evaluate(ds, RawPngTree(tmp_path / "png"), "mevis")
    assert not res.missing and all(v == {"J": 1.0, "F": 1.0} for v in res.scored.values())
    assert res.aggregate()["JF"] == 1.0

    rv = ReVOSDataset(revos_root, "valid")
    items = [(e.video_id, e.id, e.frames, [rv.target_sum(e, f) for f in e.frames]) for e in rv.expressions()]
    path = write_rle_results(tmp_path / "results.json", items)
    preds = RleResultsPredictions(path)
    for vid, eid, frames, masks in items:  # exact round trip, 0/1 values
        assert all(np.array_equal(a, (b != 0).view(np.uint8)) for a, b in zip(preds.frames(vid, eid, frames), masks,
                                                                             strict=True))
    res = evaluate(rv, preds, "revos")
    assert not res.missing
    for key, v in res.scored.items():
        assert v["J"] == 1.0 and v["F"] == 1.0
        overlap = any((rv.target_sum(res.keys[key], f) > 1).any() for f in rv.videos()[res.keys[key][0]].frames)
        # a perfect binary prediction is "wrong" on pixels where two target objects overlap (uint8 sum 2)
        assert (v["A"] < 1.0 and v["R"] == 0.0) if overlap else (v["A"] == 1.0 and v["R"] == 1.0), key
    agg = res.aggregate()
    assert agg["overall"]["J"] == 100.0 and set(agg) == {"referring", "reason", "overall"}


def test_torch_clips(mevis_root: Path) -> None:
    pytest.importorskip("torch")
    from lvsbench.datasets.torch import TorchClips

    ds = MeViSDataset(mevis_root, "valid_u")
    clips = TorchClips(ds, window=None)
    assert len(clips) == len(ds.expressions())
    n_checked = 0
    for i, e in enumerate(ds.expressions()):
        item = clips[i]
        assert item["exp_id"] == e.id and item["frames"].shape == (KW["frames"], 3, KW["height"], KW["width"])
        assert bool(item["valid"].all())
        sums = [ds.target_sum(e, f) for f in e.frames]
        overlapping = any(
            (np.add.reduce([m.view(np.uint8) for m in ds.read_object_masks(e.video_id, f).values()]) > 1).any()
            for f in e.frames)
        if not overlapping:  # label maps are exact without overlaps (with them: `read_masks`)
            assert np.array_equal(item["masks"].numpy(), np.stack(sums) > 0), e.key
            n_checked += 1
    assert n_checked >= 3


def test_read_masks_keeps_overlaps(mevis_root: Path) -> None:
    from lvsbench.core import records

    if not hasattr(records, "FrameMasks"):
        pytest.skip("per-object FrameMasks API not in this tree yet")
    ds = MeViSDataset(mevis_root, "valid_u")
    for e in ds.expressions():
        for f in e.frames:
            assert np.array_equal(ds.read_masks(e.video_id, f).mask(e.object_ids), ds.target_sum(e, f) > 0)


def test_submit_mevis_layout_and_completeness(mevis_root: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import zipfile

    ds = MeViSDataset(mevis_root, "valid")
    first = ds.expressions()[0]
    for e in ds.expressions():
        for f in e.frames:
            if e.key == first.key and f == e.frames[-1]:
                continue
            write_png_prediction(tmp_path / "preds", e.video_id, e.id, f, np.zeros((KW["height"], KW["width"])))
    with pytest.raises(SystemExit) as exc:
        main(["submit", "mevis", str(tmp_path / "preds"), "--out", str(tmp_path / "s.zip"), "--root",
              str(mevis_root)])
    assert exc.value.code == 2 and f"{first.video_id}/{first.id}/{first.frames[-1]}.png" in capsys.readouterr().err
    assert not (tmp_path / "s.zip").exists()
    write_png_prediction(tmp_path / "preds", first.video_id, first.id, first.frames[-1],
                         np.zeros((KW["height"], KW["width"])))
    report = json.loads(run(["submit", "mevis", str(tmp_path / "preds"), "--out", str(tmp_path / "s.zip"),
                             "--root", str(mevis_root), "--json"], capsys))
    names = zipfile.ZipFile(tmp_path / "s.zip").namelist()
    want = sorted(f"{e.video_id}/{e.id}/{f}.png" for e in ds.expressions() for f in e.frames)
    assert sorted(names) == want and report["files"] == len(want)  # bare video folders, no Annotations/


def test_raw_png_fast_path_equals_opencv(tmp_path: Path) -> None:
    """8-bit grayscale PNGs are inflated directly; values equal cv2.imread(IMREAD_GRAYSCALE) whatever the writer
    (OpenCV, Pillow with its adaptive filters) and the values (0/255, 0/1, noise); palette PNGs go through OpenCV
    (luminance of the colour, as the official scripts read them)."""
    import cv2
    from PIL import Image

    from lvsbench.formats.raw_png import decode_gray

    rng = np.random.default_rng(0)
    masks = [(rng.random((37, 53)) < 0.3).astype(np.uint8) * v for v in (1, 255)]
    masks.append(rng.integers(0, 256, (37, 53), dtype=np.uint8))
    blob = np.zeros((40, 60), np.uint8)
    blob[10:30, 5:50] = 255
    masks.append(blob)
    for i, m in enumerate(masks):
        for writer in ("cv2", "pil"):
            p = tmp_path / f"{i}_{writer}.png"
            if writer == "cv2":
                cv2.imwrite(str(p), m)
            else:
                Image.fromarray(m, "L").save(p)
            want = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
            assert np.array_equal(decode_gray(p.read_bytes(), p), want), p
    pal = Image.fromarray((blob > 0).astype(np.uint8), "P")
    pal.putpalette([0, 0, 0, 128, 0, 0] + [0] * 762)
    pal.save(tmp_path / "pal.png")
    got = decode_gray((tmp_path / "pal.png").read_bytes(), "pal.png")
    assert np.array_equal(got, cv2.imread(str(tmp_path / "pal.png"), cv2.IMREAD_GRAYSCALE)) and got.max() == 38
