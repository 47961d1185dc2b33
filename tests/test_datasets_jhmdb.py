"""J-HMDB-Sentences: counts on the official text file and MTTR's frozen evaluation list (shipped as package data),
the synthetic release-layout round trip through the CLI with pixel-exact masks and MTTR-style COCO ground truth,
and malformed inputs that must name the file and the line/key/frame."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from click.testing import CliRunner

from lvsbench.cli import cli
from lvsbench.core.codecs import rle_decode
from lvsbench.core.errors import ConfigError, DataFormatError, ValidationFailed
from lvsbench.core.io import sha256_file
from lvsbench.datasets import load
from lvsbench.datasets.jhmdb import (
    SAMPLES_NAME,
    JHMDBDataset,
    fallback_frames,
    read_samples,
    sample_class,
)
from lvsbench.datasets.layout import LayoutDataset
from lvsbench.synth.jhmdb import expected_labels, generate

SMALL = {"videos": 8, "seed": 2, "height": 40, "width": 56, "frames": 7}


@pytest.fixture(scope="module")
def real_root(real_annotations: Path) -> Path:
    return real_annotations / "jhmdb_sentences"


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("jhmdb") / "jhmdb_sentences"
    result = CliRunner().invoke(cli, ["synth", "jhmdb", "--out", str(out), "--videos", "8", "--seed", "2",
                                      "--height", "40", "--width", "56", "--frames", "7"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def plans() -> dict:
    return {p.vid: p for p in generate(**SMALL)}


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


# ------------------------------------------------------------------------------------------ real files


def test_real_counts(real_root: Path) -> None:
    ds = JHMDBDataset(real_root)
    c = ds.counts()
    assert (c["videos"], c["expressions"], c["scored_frames"], c["frozen_samples"]) == (928, 928, 2784, 2784)
    assert c["frames"] == 31838  # sum of the usable frames (min(#frames, #masks)) in MTTR's list
    assert all(len(e.frames) == 3 for e in ds.expressions())
    classes = Counter(ds.action_class(v) for v in ds.videos())
    assert len(classes) == 21 and classes["brush_hair"] == 41 and classes["pour"] == 55
    assert any("!" in v or "(" in v for v in ds.videos())


def test_packaged_samples_are_mttrs(real_root: Path, tmp_path: Path) -> None:
    """The package copy is byte-identical to MTTR's file (sha256 of mttr2021/MTTR
    `datasets/jhmdb_sentences/jhmdb_sentences_samples_metadata.json` @ 2cc35ab, blob dde92e9ea3b2); without a root
    copy the reader uses it. tests/data holds no second copy of it."""
    from importlib import resources

    packaged = resources.files("lvsbench").joinpath("data", SAMPLES_NAME)
    assert not (real_root / SAMPLES_NAME).exists()
    assert sha256_file(str(packaged)) == "7a4744a30ca20b432b9ba629f95965d7c64e84b54f438031c9916718199f2fd5"
    root = tmp_path / "textonly"
    root.mkdir()
    shutil.copy(real_root / "jhmdb_annotation.txt", root)
    ds = JHMDBDataset(root)
    assert ds.samples_path is None and ds.counts()["frozen_samples"] == 2784
    e = ds.expressions()[0]
    assert e.video_id == "100_pullups_pullup_f_nm_np1_fr_med_1" and e.frames == ("00002", "00008", "00018")
    assert {Path(p.path).name for p in ds.missing()} == {"Rename_Images", "puppet_mask"}
    samples = read_samples()
    assert sample_class(samples[0]) == "pullup"


def test_fallback_frames_rule() -> None:
    a = fallback_frames("some_video_walk_1", 12)
    assert a == fallback_frames("some_video_walk_1", 12) and len(a) == 3
    assert list(a) == sorted(a) and all(1 <= int(f) <= 12 for f in a)
    assert fallback_frames("v", 2) in (("00001", "00002"),)
    assert fallback_frames("v", 0) == ()


# ------------------------------------------------------------------------------------------ synthetic round trip


def test_synthetic_layout_is_the_release_layout(synth: Path, plans: dict) -> None:
    lines = (synth / "jhmdb_annotation.txt").read_text().splitlines()
    assert lines[0] == "video_id,query" and len(lines) == 9
    assert any(v.startswith("-") for v in plans) and any("!" in v or "@" in v for v in plans)
    short = [p for p in plans.values() if p.num_masks < p.scene.num_frames]
    assert short
    for p in plans.values():
        mat = scipy.io.loadmat(str(synth / "puppet_mask" / p.cls / p.vid / "puppet_mask.mat"))
        assert mat["part_mask"].shape == (p.scene.height, p.scene.width, p.num_masks)
        assert mat["part_mask"].dtype == np.uint8
        assert len(list((synth / "Rename_Images" / p.cls / p.vid).glob("*.png"))) == p.scene.num_frames
    samples = json.loads((synth / SAMPLES_NAME).read_text())
    assert len(samples) == 3 * len(plans)
    s = samples[0]
    assert s[1].startswith("./jhmdb_sentences/Rename_Images/") and s[2].endswith("/puppet_mask.mat")


def test_synthetic_cli_round_trip(synth: Path, plans: dict, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["datasets", "info", "jhmdb", "--root", str(synth), "--json", "--check"])
    assert res.exit_code == 0, res.output
    entry = json.loads(res.stdout)["splits"]["test"]
    assert entry["problems"] == [] and entry["missing"] == []
    assert entry["counts"]["videos"] == 8 and entry["counts"]["scored_frames"] == 24
    out = tmp_path / "layout"
    res = runner.invoke(cli, ["convert", "jhmdb", "--root", str(synth), "--out", str(out), "--frame-ext", "png"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["layout", "validate", str(out)])
    assert res.exit_code == 0, res.output
    lay = LayoutDataset(out)
    assert lay.card["default_protocol"] == "jhmdb" and set(lay.videos()) == set(plans)
    for vid, plan in plans.items():
        assert lay.videos()[vid].num_frames == plan.usable
        for fr in lay.annotated_frames(vid):
            assert np.array_equal(lay.read_labels(vid, fr), expected_labels(plan, int(fr)))
        assert np.array_equal(lay.read_frame(vid, "00001"), plan.scene.frames[0])
        (e,) = lay.video_expressions(vid)
        assert e.text == plan.query and e.object_ids == (1,)
        assert e.frames == tuple(f"{t:05d}" for t in plan.eval_frames)


def test_coco_ground_truth(synth: Path, plans: dict, tmp_path: Path) -> None:
    target = tmp_path / "gt.json"
    res = CliRunner().invoke(cli, ["convert", "jhmdb", "--root", str(synth), "--out", str(target), "--to", "coco"])
    assert res.exit_code == 0, res.output
    gt = json.loads(target.read_text())
    samples = json.loads((synth / SAMPLES_NAME).read_text())
    assert [im["id"] for im in gt["images"]] == [f"v_{s[0]}_f_{int(Path(s[1]).stem)}" for s in samples]
    for im, ann in zip(gt["images"], gt["annotations"], strict=True):
        assert set(ann) == {"id", "image_id", "category_id", "segmentation", "area", "iscrowd"}  # no bbox
        vid, t = im["id"][2:].rsplit("_f_", 1)
        want = expected_labels(plans[vid], int(t)).astype(bool)
        assert np.array_equal(rle_decode(ann["segmentation"]), want) and ann["area"] == float(want.sum())
    res = CliRunner().invoke(cli, ["convert", "jhmdb", "--root", str(synth), "--out", str(target), "--to", "coco"])
    assert res.exit_code != 0 and "already exists" in str(res.exception)


def test_fallback_when_no_samples_file(synth: Path, tmp_path: Path) -> None:
    root = _copy(synth, tmp_path)
    (root / SAMPLES_NAME).unlink()
    ds = JHMDBDataset(root)
    for e in ds.expressions():
        assert e.frames == fallback_frames(e.video_id, ds.videos()[e.video_id].num_frames)
    all_frames = JHMDBDataset(root, eval_frames="all")
    e = all_frames.expressions()[0]
    assert e.frames == all_frames.videos()[e.video_id].frames


def test_registry_and_split(synth: Path) -> None:
    assert isinstance(load("jhmdb", synth), JHMDBDataset)
    with pytest.raises(ConfigError):
        load("jhmdb", synth, "train")


# ------------------------------------------------------------------------------------------ malformed inputs


def _video(root: Path, plans: dict, k: int = 0) -> tuple[str, Path, Path]:
    p = list(plans.values())[k]
    return p.vid, root / "Rename_Images" / p.cls / p.vid, root / "puppet_mask" / p.cls / p.vid / "puppet_mask.mat"


def test_corrupt_and_missing_frames(synth: Path, plans: dict, tmp_path: Path) -> None:
    root = _copy(synth, tmp_path)
    vid, fdir, _ = _video(root, plans)
    (fdir / "00002.png").write_bytes(b"not a png")
    (fdir / "00001.png").unlink()
    problems = {pr.path: pr.message for pr in JHMDBDataset(root).check()}
    assert "decode" in problems[str(fdir / "00002.png")]
    assert "missing frame" in problems[str(fdir / "00001.png")]
    res = CliRunner().invoke(cli, ["datasets", "info", "jhmdb", "--root", str(root), "--check"])
    assert isinstance(res.exception, ValidationFailed)


def test_bad_puppet_masks(synth: Path, plans: dict, tmp_path: Path) -> None:
    root = _copy(synth, tmp_path)
    vid, _, mat = _video(root, plans, 2)
    scipy.io.savemat(str(mat), {"other": np.zeros((2, 2), np.uint8)})
    with pytest.raises(DataFormatError) as err:
        JHMDBDataset(root).videos()
    assert err.value.path == mat and err.value.where == "part_mask"
    p = plans[vid]
    scipy.io.savemat(str(mat), {"part_mask": np.zeros((p.scene.height + 1, p.scene.width, p.num_masks), np.uint8)})
    ds = JHMDBDataset(root)
    with pytest.raises(DataFormatError, match="part_mask frames are") as err:
        ds.read_labels(vid, "00001")
    assert err.value.where == "part_mask"
    assert any(pr.path == str(mat) for pr in ds.check())
    mat.write_bytes(b"garbage")
    with pytest.raises(DataFormatError) as err:
        JHMDBDataset(root).videos()
    assert err.value.path == mat


def test_truncated_annotation_row(synth: Path, tmp_path: Path) -> None:
    root = _copy(synth, tmp_path)
    p = root / "jhmdb_annotation.txt"
    lines = p.read_text().splitlines()
    lines[5] = lines[5].split(",")[0]
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError) as err:
        JHMDBDataset(root).expressions()
    assert err.value.path == p and err.value.where == "line 6"


def test_bad_samples_file(synth: Path, tmp_path: Path) -> None:
    root = _copy(synth, tmp_path)
    (root / SAMPLES_NAME).write_text(json.dumps([["v", "x.png", "m.mat", 3]]))
    with pytest.raises(DataFormatError) as err:
        JHMDBDataset(root).expressions()
    assert err.value.where == "item 0"
