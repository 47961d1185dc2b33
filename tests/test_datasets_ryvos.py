"""Refer-YouTube-VOS: counts on the real competition/URVOS files, the held-out proxy split, the synthetic
release-layout round trip (native -> our layout -> validate, masks pixel-exact), and malformed inputs."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lvsbench.core.errors import ConfigError, DataFormatError
from lvsbench.core.io import sha256_tree
from lvsbench.datasets.layout import LayoutDataset, validate_layout, write_dataset
from lvsbench.datasets.ryvos import (
    HELDOUT_V1_SALT,
    YTVOS_PALETTE,
    RYVOSDataset,
    in_heldout_v1,
    read_urvos_release,
)
from lvsbench.synth.ryvos import plan, write_synthetic

SMALL = {"videos": 8, "seed": 3, "height": 40, "width": 64, "frames": 5}


@pytest.fixture(scope="module")
def real_root(real_annotations: Path) -> Path:
    return real_annotations / "refer_youtube_vos"


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic(tmp_path_factory.mktemp("ryvos") / "ref-youtube-vos", with_urvos_release=True, **SMALL)


@pytest.fixture(scope="module")
def truth() -> dict:
    return {v.video_id: v for v in plan(**SMALL)}


# ---------------------------------------------------------------------------------------------- real files


def test_competition_valid_counts(real_root: Path) -> None:
    ds = RYVOSDataset(real_root, "valid-competition")
    assert ds.counts() == {"videos": 507, "expressions": 2096, "frames": 13710, "annotated_frames": 0}


def test_valid_202_from_packaged_list(real_root: Path) -> None:
    ds = RYVOSDataset(real_root, "valid")
    assert (len(ds.videos()), len(ds.expressions())) == (202, 834)
    assert ds.counts()["frames"] == 5486
    # The server scores every frame of `frames` for every expression: 22,046 PNGs.
    assert sum(len(ds.expression_frames(e)) for e in ds.expressions()) == 22046
    assert ds.notes and "202" in ds.notes[0]
    ids = (real_root / "derived_valid_202_video_ids.txt").read_text().split()
    assert set(ds.videos()) == set(ids)


def test_valid_is_valid_minus_test(real_root: Path, tmp_path: Path) -> None:
    """With a test meta present (built here from the 305 test ids), valid = valid meta - test meta."""
    meta_dir = tmp_path / "meta_expressions"
    (meta_dir / "valid").mkdir(parents=True)
    (meta_dir / "test").mkdir()
    src = real_root / "meta_expressions" / "valid" / "meta_expressions.json"
    shutil.copy(src, meta_dir / "valid" / "meta_expressions.json")
    full = json.loads(src.read_text())["videos"]
    test_ids = (real_root / "derived_test_305_video_ids.txt").read_text().split()
    (meta_dir / "test" / "meta_expressions.json").write_text(json.dumps({"videos": {v: full[v] for v in test_ids}}))
    valid = RYVOSDataset(tmp_path, "valid")
    assert (len(valid.videos()), len(valid.expressions()), valid.notes) == (202, 834, [])
    test = RYVOSDataset(tmp_path, "test")
    assert (len(test.videos()), len(test.expressions())) == (305, 1262)
    assert not valid.scorable  # no URVOS release under this root: obj_ids unavailable
    assert all(e.object_ids == () for e in valid.expressions())


def test_urvos_release_gives_obj_ids_and_categories(real_root: Path) -> None:
    ds = RYVOSDataset(real_root, "valid-competition")  # finds urvos_original_release/ under the root
    assert ds.scorable
    got = {(e.video_id, e.id): (e.object_ids[0], ds.object_categories(e.video_id)[e.object_ids[0]])
           for e in ds.expressions()}
    with open(real_root / "derived_valid_expid_to_objid.csv", newline="") as f:
        want = {(r["video_id"], r["exp_id"]): (int(r["obj_id"]), r["category"]) for r in csv.DictReader(f)}
    assert got == want
    off = RYVOSDataset(real_root, "valid-competition", urvos_release="none")
    assert not off.scorable


def test_urvos_release_reader_and_first_frame_expressions(real_root: Path) -> None:
    release = read_urvos_release(real_root / "urvos_original_release" / "meta_expressions_valid.json")
    objs = [o for v in release.values() for o in v]
    assert (len(release), len(objs)) == (507, 1063)
    assert sum(len(o.expressions) for o in objs) == 2096
    assert sum(len(o.expressions_first_frame) for o in objs) == 1933
    ds = RYVOSDataset(real_root, "valid", first_frame_expressions=True)
    first = [e for e in ds.expressions() if e.id.startswith("ff")]
    assert (len(ds.expressions()) - len(first), len(first)) == (834, 776)
    assert len({e.key for e in ds.expressions()}) == len(ds.expressions())


# ---------------------------------------------------------------------------------------------- held-out split


def test_heldout_v1_is_a_fixed_function_of_the_id() -> None:
    assert HELDOUT_V1_SALT == "lvsbench/ryvos/train-heldout-v1"
    rng = np.random.default_rng(0)
    ids = [rng.bytes(5).hex() for _ in range(20000)]
    share = sum(map(in_heldout_v1, ids)) / len(ids)
    assert 0.09 < share < 0.11
    # Frozen membership: a change of the rule must bump the version (train-heldout-v2), never edit v1.
    pinned = {"66a852c1bb": True, "ca3aca414c": True, "2afad1a402": True, "ffe42279f3": False,
              "cd18ec08f6": False, "0062f687f1": False, "ffffffffff": False}
    assert {v: in_heldout_v1(v) for v in pinned} == pinned


def test_heldout_partitions_train(synth: Path) -> None:
    train = set(RYVOSDataset(synth, "train").videos())
    held = set(RYVOSDataset(synth, "train-heldout-v1").videos())
    rest = set(RYVOSDataset(synth, "train-minus-heldout-v1").videos())
    assert held and rest and held | rest == train and not held & rest
    assert all(in_heldout_v1(v) for v in held)


# ---------------------------------------------------------------------------------------------- synthetic release


def test_synthetic_layout_is_the_release_layout(synth: Path, truth: dict) -> None:
    splits = {s: sorted(v for v, t in truth.items() if t.split == s) for s in ("train", "valid", "test")}
    for split in ("train", "valid", "test"):
        meta = json.loads((synth / "meta_expressions" / split / "meta_expressions.json").read_text())
        want = splits[split] + (splits["test"] if split == "valid" else [])
        assert sorted(meta["videos"]) == sorted(want)
        has_obj = {"obj_id" in e for v in meta["videos"].values() for e in v["expressions"].values()}
        assert has_obj == {split == "train"}
    assert not (synth / "meta_expressions" / "valid" / "meta_expressions.json").read_text().endswith("\n")
    assert not (synth / "valid" / "Annotations").exists()
    vid = splits["train"][0]
    png = next((synth / "train" / "Annotations" / vid).glob("*.png"))
    with Image.open(png) as img:
        assert img.mode == "P"
        assert np.array_equal(np.array(img.getpalette()[:768], dtype=np.uint8).reshape(-1, 3), YTVOS_PALETTE)
    names = [t.frame_names for t in truth.values()]
    assert all(len(n[0]) == 5 and n[0].isdigit() for n in names)
    steps = {int(b) - int(a) for n in names for a, b in zip(n, n[1:], strict=False)}
    assert 5 in steps and steps - {5}  # mostly every 5th frame, with the release's irregular steps
    assert any(n[0] != "00000" for n in names)
    meta_json = json.loads((synth / "train" / "meta.json").read_text())["videos"][vid]["objects"]
    assert {int(k) for k in meta_json} == set(truth[vid].id_map.values())


def test_synthetic_is_deterministic(tmp_path: Path, synth: Path) -> None:
    again = write_synthetic(tmp_path / "again", with_urvos_release=True, **SMALL)
    assert sha256_tree(again) == sha256_tree(synth)
    other = write_synthetic(tmp_path / "other", **{**SMALL, "seed": 4})
    assert sha256_tree(other) != sha256_tree(synth)


@pytest.mark.parametrize("split", ["train", "train-heldout-v1"])
def test_round_trip_to_layout(synth: Path, truth: dict, tmp_path: Path, split: str) -> None:
    ds = RYVOSDataset(synth, split)
    assert ds.missing() == [] and ds.check() == []
    card = write_dataset(ds, tmp_path / "out", source="synthetic ryvos", default_protocol="ryvos", progress=False)
    assert card["counts"]["videos"] == len(ds.videos())
    assert validate_layout(tmp_path / "out") == []
    out = LayoutDataset(tmp_path / "out")
    assert list(out.videos()) == list(ds.videos())
    for vid, video in out.videos().items():
        t = truth[vid]
        assert video.frames == t.frame_names and (video.height, video.width) == t.scene.frames.shape[1:3]
        for i, name in enumerate(t.frame_names):
            np.testing.assert_array_equal(out.read_labels(vid, name), t.labels(i))
            np.testing.assert_array_equal(ds.read_labels(vid, name), t.labels(i))
        want = [(eid, text, (obj,)) for eid, text, obj in t.expressions()]
        assert [(e.id, e.text, e.object_ids) for e in out.video_expressions(vid)] == want
        assert out.object_categories(vid) == {o: t.category(o) for o in t.id_map.values()}


def test_synthetic_valid_and_test_splits(synth: Path, truth: dict) -> None:
    valid = RYVOSDataset(synth, "valid")
    test = RYVOSDataset(synth, "test")
    comp = RYVOSDataset(synth, "valid-competition")
    assert set(valid.videos()) == {v for v, t in truth.items() if t.split == "valid"}
    assert set(test.videos()) == {v for v, t in truth.items() if t.split == "test"}
    assert set(comp.videos()) == set(valid.videos()) | set(test.videos())
    for ds in (valid, test):
        assert ds.scorable and ds.check() == [] and ds.counts()["annotated_frames"] == 0
        for e in ds.expressions():
            t = truth[e.video_id]
            assert (e.id, e.text, e.object_ids[0]) in t.expressions()
            assert ds.expression_frames(e) == t.frame_names
        v0 = next(iter(ds.videos().values()))
        assert ds.read_frame(v0.id, v0.frames[-1]).shape == (v0.height, v0.width, 3)
    bare = RYVOSDataset(synth, "valid", urvos_release="none")
    assert not bare.scorable


# ---------------------------------------------------------------------------------------------- malformed input


@pytest.fixture()
def broken(synth: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(synth, tmp_path / "copy"))


def _train_frame(root: Path) -> tuple[str, str]:
    ds = RYVOSDataset(root, "train")
    vid = next(iter(ds.videos()))
    return vid, ds.videos()[vid].frames[1]


def test_corrupt_png_names_file(broken: Path) -> None:
    vid, frame = _train_frame(broken)
    path = broken / "train" / "Annotations" / vid / f"{frame}.png"
    path.write_bytes(path.read_bytes()[:40])
    ds = RYVOSDataset(broken, "train")
    with pytest.raises(DataFormatError) as exc:
        ds.read_labels(vid, frame)
    assert str(path) in str(exc.value)
    assert [p.path for p in ds.check()] == [f"{vid}/{frame}"]


def test_non_palette_annotation(broken: Path) -> None:
    vid, frame = _train_frame(broken)
    path = broken / "train" / "Annotations" / vid / f"{frame}.png"
    Image.open(path).convert("RGB").save(path)
    with pytest.raises(DataFormatError, match="not a palette") as exc:
        RYVOSDataset(broken, "train").read_labels(vid, frame)
    assert exc.value.path == path


def test_missing_frame_and_mask(broken: Path) -> None:
    vid, frame = _train_frame(broken)
    (broken / "train" / "JPEGImages" / vid / f"{frame}.jpg").unlink()
    (broken / "train" / "Annotations" / vid / f"{frame}.png").unlink()
    ds = RYVOSDataset(broken, "train")
    with pytest.raises(DataFormatError, match="missing") as exc:
        ds.read_frame(vid, frame)
    assert exc.value.where == f"{vid}/{frame}"
    with pytest.raises(DataFormatError, match="annotation of a train frame is missing"):
        ds.read_labels(vid, frame)
    assert len(ds.check()) == 2


def _edit_meta(root: Path, split: str, edit) -> Path:
    path = root / "meta_expressions" / split / "meta_expressions.json"
    doc = json.loads(path.read_text())
    edit(doc["videos"])
    path.write_text(json.dumps(doc))
    return path


def test_malformed_meta_expressions(broken: Path) -> None:
    path = broken / "meta_expressions" / "train" / "meta_expressions.json"
    vid = next(iter(json.loads(path.read_text())["videos"]))
    _edit_meta(broken, "train", lambda v: v[vid]["expressions"]["1"].pop("exp"))
    with pytest.raises(DataFormatError, match="no 'exp'") as exc:
        RYVOSDataset(broken, "train")
    assert (exc.value.path, exc.value.where) == (path, f"videos.{vid}.expressions.1")
    _edit_meta(broken, "train", lambda v: v[vid]["expressions"]["1"].update(exp="x", obj_id="one"))
    with pytest.raises(DataFormatError, match="not an integer"):
        RYVOSDataset(broken, "train")
    path.write_text('{"videos": {\n  "a": [}')
    with pytest.raises(DataFormatError, match="invalid JSON") as exc:
        RYVOSDataset(broken, "train")
    assert exc.value.where == "line 2"


def test_urvos_release_mismatch_is_an_error(broken: Path) -> None:
    vid = next(iter(RYVOSDataset(broken, "valid").videos()))
    _edit_meta(broken, "valid", lambda v: v[vid]["expressions"]["0"].update(exp="something else"))
    with pytest.raises(DataFormatError, match="differ") as exc:
        RYVOSDataset(broken, "valid")
    assert exc.value.where == f"videos.{vid}"


def test_bad_options(synth: Path) -> None:
    with pytest.raises(ConfigError, match="unknown split"):
        RYVOSDataset(synth, "val")
    with pytest.raises(ConfigError, match="not a file"):
        RYVOSDataset(synth, "valid", urvos_release=synth / "nope.json")
    with pytest.raises(ConfigError, match="URVOS"):
        RYVOSDataset(synth, "valid", urvos_release="none", first_frame_expressions=True)


# ---------------------------------------------------------------------------------------------- command line


def _cli(*args: str) -> dict:
    from click.testing import CliRunner

    from lvsbench.cli import cli

    result = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_cli_synth_info_check_convert_validate(tmp_path: Path) -> None:
    sizes = {"videos": 6, "seed": 1, "height": 32, "width": 48, "frames": 4}
    root = tmp_path / "ryvos"
    _cli("synth", "ryvos", "--out", str(root), *(f"--{k}={v}" for k, v in sizes.items()))
    info = _cli("datasets", "info", "ryvos", "--root", str(root), "--check")
    assert set(info["splits"]) == {"train", "valid"}
    assert all(e["problems"] == [] and e["missing"] == [] for e in info["splits"].values())
    truth = {v.video_id: v for v in plan(**sizes)}
    assert info["splits"]["valid"]["counts"]["videos"] == sum(t.split == "valid" for t in truth.values())
    out = tmp_path / "layout"
    summary = _cli("convert", "ryvos", "--root", str(root), "--split", "train-heldout-v1", "--out", str(out))
    assert summary["counts"]["videos"] == sum(in_heldout_v1(v) for v, t in truth.items() if t.split == "train")
    assert _cli("layout", "validate", str(out))["valid"]
    ds = LayoutDataset(out)
    for vid in ds.videos():
        for i, name in enumerate(truth[vid].frame_names):
            np.testing.assert_array_equal(ds.read_labels(vid, name), truth[vid].labels(i))


def test_cli_info_on_real_files(real_root: Path) -> None:
    info = _cli("datasets", "info", "ryvos", "--root", str(real_root), "--split", "valid-competition")
    assert info["splits"]["valid-competition"]["counts"]["expressions"] == 2096
