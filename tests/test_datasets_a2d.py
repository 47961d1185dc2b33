"""A2D-Sentences: counts on the official text files, the synthetic release-layout round trip through the CLI
(synth -> info -> check -> convert -> layout validate, masks pixel-exact; COCO ground truth as MTTR builds it), and
malformed inputs that must name the file and the line/key/frame."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from lvsbench.cli import cli
from lvsbench.core.codecs import rle_decode
from lvsbench.core.errors import DataFormatError, ValidationFailed
from lvsbench.datasets import load
from lvsbench.datasets.a2d import A2DDataset, class_table
from lvsbench.datasets.a2d_masks import read_frame_annotation
from lvsbench.datasets.a2d_text import actor_action, read_annotation_txt, read_videoset
from lvsbench.datasets.layout import LayoutDataset
from lvsbench.synth.a2d import expected_labels, generate

SMALL = {"videos": 12, "seed": 5, "height": 48, "width": 72, "frames": 8}


@pytest.fixture(scope="module")
def real_root(real_annotations: Path) -> Path:
    return real_annotations / "a2d_sentences"


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("a2d") / "a2d_sentences"
    result = CliRunner().invoke(cli, ["synth", "a2d", "--out", str(out), "--videos", "12", "--seed", "5",
                                      "--height", "48", "--width", "72", "--frames", "8"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def plans() -> dict:
    return {p.vid: p for p in generate(**SMALL)}


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


# ------------------------------------------------------------------------------------------ real text files


def test_real_counts(real_root: Path) -> None:
    test = A2DDataset(real_root, "test")
    train = A2DDataset(real_root, "train")
    assert (len(test.videos()), len(test.expressions())) == (737, 1295)
    assert (len(train.videos()), len(train.expressions())) == (3017, 5359)
    assert len(test.missed) == 28
    assert test.counts()["missed_videos"] == 9 and train.counts()["missed_videos"] == 19
    assert test.counts()["annotated_frames_listed"] == 2342 and train.counts()["annotated_frames_listed"] == 9518
    rows = read_annotation_txt(real_root / "a2d_annotation.txt")
    assert len(rows) == 6655
    copy = [r for r in rows if r.instance_id is None]
    assert [(r.video_id, r.raw_instance, r.line) for r in copy] == [("T6bNPuKV-wY", "1 (copy)", 3181)]
    assert len(read_videoset(real_root / "videoset.csv")) == 3782
    assert len(read_videoset(real_root / "videoset.with_header.csv")) == 3782
    ids = [e.video_id for e in test.expressions()]
    assert any(v.startswith("-") for v in ids)
    shipped = (real_root / "extra" / "lvsbench_derived" / "a2d_s_test_video_ids.txt").read_text().split()
    assert sorted(test.videos()) == sorted(shipped)


def test_real_metadata_only(real_root: Path) -> None:
    ds = A2DDataset(real_root, "test")
    missing = {Path(p.path).name for p in ds.missing()}
    assert {"a2d_annotation_with_instances", "clips320H"} <= missing
    assert ds.annotated_frames("-4KMQsUaSAQ") == ()
    e = next(e for e in ds.expressions() if e.video_id == "-4KMQsUaSAQ")
    assert (e.id, e.object_ids) == ("0", (1,))
    assert ds.videos()["-4KMQsUaSAQ"].height == 320


def test_real_four_column_variant(real_root: Path) -> None:
    """The LoSh-style file with a 4th short_query column parses to the same rows (query text differs)."""
    ds = A2DDataset(real_root, "test",
                    annotation_file=real_root / "extra" / "a2d_annotation.BCMKC_modified_4col.txt")
    assert (len(ds.videos()), len(ds.expressions())) == (737, 1295)
    assert ds.annotation_rows[0].short_query is not None


def test_actor_action_ids() -> None:
    assert actor_action(79) == (7, 9) and actor_action(11) == (1, 1)
    table = class_table()
    assert sum(r["valid_43"] for r in table) == 43
    assert next(r for r in table if r["id"] == 11)["rgb"] == (52, 1, 1)


# ------------------------------------------------------------------------------------------ synthetic round trip


def test_synthetic_layout_is_the_release_layout(synth: Path, plans: dict) -> None:
    vs = (synth / "Release" / "videoset.csv").read_text().splitlines()
    assert len(vs) == 12 and vs[0].startswith("--") and all(len(r.split(",")) == 9 for r in vs)
    assert {r.split(",")[8] for r in vs} == {"0", "1"}
    missed = (synth / "text_annotations" / "a2d_missed_videos.txt").read_bytes()
    assert missed and not missed.endswith(b"\n")
    txt = (synth / "text_annotations" / "a2d_annotation.txt").read_text().splitlines()
    assert txt[0] == "video_id,instance_id,query" and any(",1 (copy)," in line for line in txt)
    mat = next((synth / "Release" / "Annotations" / "mat").rglob("*.mat"))
    assert mat.read_bytes()[:19] == b"MATLAB 7.3 MAT-file"
    with h5py.File(mat, "r") as f:
        assert "instance" not in f and f["reMask"].dtype == np.uint8
    shapes = set()
    for p in (synth / "text_annotations" / "a2d_annotation_with_instances").rglob("*.h5"):
        with h5py.File(p, "r") as f:
            n = f["instance"].shape[0]
            shapes.add((n == 1, f["reMask"].ndim))
            assert f["reBBox"].shape == (4, n) and f["id"].shape == (1, n)
            vid = p.parent.name
            h, w = plans[vid].scene.height, plans[vid].scene.width
            assert f["reMask"].shape[-2:] == (w, h)  # transposed as MATLAB arrays appear in HDF5
    assert shapes == {(True, 2), (False, 3)}  # N == 1 is stored 2-D
    assert any(p.omitted for p in plans.values())
    assert (synth / "Release" / "clips320H").is_dir() and (synth / "Release" / "pngs320H").is_dir()


def test_synthetic_cli_round_trip(synth: Path, plans: dict, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["datasets", "info", "a2d", "--root", str(synth), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    per = info["splits"]
    assert per["test"]["counts"]["videos"] + per["train"]["counts"]["videos"] == 12 - sum(
        p.missed for p in plans.values())
    assert per["test"]["missing"] == [] and per["train"]["missing"] == []
    res = runner.invoke(cli, ["datasets", "info", "a2d", "--root", str(synth), "--check"])
    assert res.exit_code == 0, res.output
    assert "check: ok" in res.output
    for split in ("train", "test"):
        out = tmp_path / f"layout-{split}"
        res = runner.invoke(cli, ["convert", "a2d", "--root", str(synth), "--out", str(out), "--split", split,
                                  "--frame-ext", "png"])
        assert res.exit_code == 0, res.output
        res = runner.invoke(cli, ["layout", "validate", str(out)])
        assert res.exit_code == 0, res.output
        lay = LayoutDataset(out)
        assert lay.card["default_protocol"] == "a2d"
        native = A2DDataset(synth, split)
        assert set(lay.videos()) == set(native.videos())
        n_checked = 0
        for vid in lay.videos():
            plan = plans[vid]
            assert plan.subset == (1 if split == "test" else 0) and not plan.missed
            assert lay.annotated_frames(vid) == tuple(f"{f:05d}" for f in plan.annotated)
            for fr in lay.annotated_frames(vid):
                assert np.array_equal(lay.read_labels(vid, fr), expected_labels(plan, int(fr)))
                n_checked += 1
            # PNG frames are lossless: the converted frames are the rendered ones
            assert np.array_equal(lay.read_frame(vid, "00001"), plan.scene.frames[0])
            for e in lay.video_expressions(vid):
                inst = e.object_ids[0] - 1
                assert e.frames == tuple(f"{f:05d}" for f in plan.annotated if inst in plan.instances(f))
                assert e.text == dict((int(i), q) for i, q in plan.rows if i.isdigit())[inst]
            assert lay.object_categories(vid) == {a.object_id: a.cls for a in plan.scene.actors
                                                  if any(a.object_id - 1 in plan.instances(f)
                                                         for f in plan.annotated)}
        assert n_checked > 0


def test_mp4_frames_decode(synth: Path, plans: dict) -> None:
    ds = A2DDataset(synth, "test", frames="mp4")
    vid = next(iter(ds.videos()))
    assert ds.videos()[vid].source.kind == "video"
    frames = dict(ds.iter_frames(vid))
    assert list(frames) == list(ds.videos()[vid].frames)
    diff = np.abs(frames["00002"].astype(int) - plans[vid].scene.frames[1]).mean()
    assert diff < 12  # mp4v is lossy; the masks, not the frames, are exact
    assert np.array_equal(ds.read_frame(vid, "00002"), frames["00002"])
    assert ds.check() == []


def test_mat_annotations_match_h5(synth: Path) -> None:
    h5 = A2DDataset(synth, "all", annotations="h5")
    mat = A2DDataset(synth, "all", annotations="mat")
    for vid in h5.videos():
        assert mat.annotated_frames(vid) == h5.annotated_frames(vid)
        for fr in h5.annotated_frames(vid):
            a, b = h5.read_annotation(vid, fr), mat.read_annotation(vid, fr)
            assert np.array_equal(a.masks, b.masks) and a.ids == b.ids
        assert mat.object_categories(vid) == h5.object_categories(vid)


def test_coco_ground_truth(synth: Path, plans: dict, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["convert", "a2d", "--root", str(synth), "--out", str(tmp_path), "--to", "coco"])
    assert res.exit_code == 0, res.output
    path = tmp_path / "a2d_sentences_test_annotations_in_coco_format.json"
    gt = json.loads(path.read_text())
    assert list(gt) == ["categories", "images", "annotations"]
    assert gt["categories"] == [{"id": 1, "name": "dummy_class"}]
    assert [a["id"] for a in gt["annotations"]] == list(range(1, len(gt["annotations"]) + 1))
    expected_ids = []
    for vid, plan in plans.items():
        if plan.subset != 1 or plan.missed:
            continue
        for i, _ in plan.rows:
            if i.isdigit():
                expected_ids += [f"v_{vid}_f_{f}_i_{i}" for f in plan.annotated if int(i) in plan.instances(f)]
    assert [im["id"] for im in gt["images"]] == expected_ids
    for im, ann in zip(gt["images"], gt["annotations"], strict=True):
        assert ann["image_id"] == im["id"] and ann["iscrowd"] == 0 and ann["category_id"] == 1
        vid, rest = im["id"][2:].rsplit("_f_", 1)
        frame, inst = (int(x) for x in rest.split("_i_"))
        want = plans[vid].scene.instance_mask(frame - 1, inst + 1)  # the instance's own mask (may overlap)
        got = rle_decode(ann["segmentation"])
        assert np.array_equal(got, want)
        assert ann["area"] == float(want.sum())
        ys, xs = np.nonzero(want)
        assert ann["bbox"] == [float(xs.min()), float(ys.min()), float(xs.max() + 1 - xs.min()),
                               float(ys.max() + 1 - ys.min())]
    # pycocotools reads it as the evaluation code does
    from pycocotools.coco import COCO

    coco = COCO(str(path))
    assert len(coco.getImgIds()) == len(gt["images"])


def test_doubled_instances_folder(synth: Path, tmp_path: Path) -> None:
    root = _copy(synth, tmp_path)
    d = root / "text_annotations" / "a2d_annotation_with_instances"
    tmp = root / "text_annotations" / "tmp"
    d.rename(tmp)
    d.mkdir()
    tmp.rename(d / "a2d_annotation_with_instances")
    ds = A2DDataset(root, "test")
    assert ds.instances_dir == d / "a2d_annotation_with_instances"
    assert ds.counts()["annotated_frames"] > 0 and ds.check() == []


def test_registry_load_and_options(synth: Path) -> None:
    ds = load("a2d", synth, "train", frames="png", drop_unlocated=True)
    assert isinstance(ds, A2DDataset) and ds.split == "train"
    df = ds.expressions_frame()
    assert len(df) == len(ds.expressions()) and set(df["category"]) <= set(class_table()[i]["actor"]
                                                                           for i in range(1, 64))


# ------------------------------------------------------------------------------------------ malformed inputs


def _first_h5(root: Path) -> Path:
    return sorted((root / "text_annotations" / "a2d_annotation_with_instances").rglob("*.h5"))[0]


def test_truncated_videoset_row(synth: Path, tmp_path: Path) -> None:
    root = _copy(synth, tmp_path)
    p = root / "Release" / "videoset.csv"
    lines = p.read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:5])
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError) as err:
        A2DDataset(root, "test").videos()
    assert err.value.path == p and err.value.where == "line 3"
    res = CliRunner().invoke(cli, ["datasets", "info", "a2d", "--root", str(root), "--split", "test"])
    assert res.exit_code != 0 and "line 3" in str(res.exception)


def test_truncated_annotation_row_and_bad_instance(synth: Path, tmp_path: Path) -> None:
    root = _copy(synth, tmp_path)
    p = root / "text_annotations" / "a2d_annotation.txt"
    lines = p.read_text().splitlines()
    bad = lines[:]
    bad[3] = bad[3].rsplit(",", 1)[0].split(",")[0]
    p.write_text("\n".join(bad) + "\n")
    with pytest.raises(DataFormatError) as err:
        A2DDataset(root, "all").expressions()
    assert err.value.path == p and err.value.where == "line 4"
    bad = lines[:]
    vid = bad[2].split(",")[0]
    bad[2] = f"{vid},x1,some query"
    p.write_text("\n".join(bad) + "\n")
    with pytest.raises(DataFormatError, match="not an integer") as err:
        A2DDataset(root, "all").expressions()
    assert err.value.where == "line 3"
    bad = lines[:]
    bad.insert(3, bad[2])
    p.write_text("\n".join(bad) + "\n")
    with pytest.raises(DataFormatError, match="already described on line 3") as err:
        A2DDataset(root, "all").expressions()
    assert err.value.where == "line 4"


def test_unknown_instance_id(synth: Path, tmp_path: Path) -> None:
    root = _copy(synth, tmp_path)
    p = root / "text_annotations" / "a2d_annotation.txt"
    lines = p.read_text().splitlines()
    vid = lines[1].split(",")[0]
    lines.insert(2, f"{vid},9,the purple unicorn")
    p.write_text("\n".join(lines) + "\n")
    ds = A2DDataset(root, "all")
    problems = ds.check()
    assert [(pr.path, pr.message) for pr in problems] == [
        (f"{p} (line 3)", f"instance 9 of video {vid} is in no annotated frame")]
    frame = ds.annotated_frames(vid)[0]
    with pytest.raises(DataFormatError) as err:
        ds.instance_mask(vid, frame, 9)
    assert err.value.path == ds.annotation_file(vid, frame) and err.value.where == "instance"
    e = next(e for e in ds.expressions() if e.video_id == vid and e.object_ids == (10,))
    assert ds.expression_frames(e) == ()
    assert all(e.object_ids != (10,) for e in A2DDataset(root, "all", drop_unlocated=True).expressions())


def test_corrupt_and_missing_frames(synth: Path, tmp_path: Path) -> None:
    root = _copy(synth, tmp_path)
    ds = A2DDataset(root, "test")
    vid = next(iter(ds.videos()))
    pngs = root / "Release" / "pngs320H" / vid
    (pngs / "00002.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (pngs / "00003.png").unlink()
    problems = A2DDataset(root, "test").check()
    paths = {pr.path: pr.message for pr in problems}
    assert str(pngs / "00002.png") in paths and "decode" in paths[str(pngs / "00002.png")]
    assert str(pngs / "00003.png") in paths and "missing frame" in paths[str(pngs / "00003.png")]
    with pytest.raises(DataFormatError) as err:
        A2DDataset(root, "test").read_frame(vid, "00003")
    assert err.value.where == "frame 00003"
    res = CliRunner().invoke(cli, ["datasets", "info", "a2d", "--root", str(root), "--split", "test", "--check"])
    assert isinstance(res.exception, ValidationFailed) and len(res.exception.problems) == 2


def test_missing_mp4_and_short_container(synth: Path, tmp_path: Path) -> None:
    root = _copy(synth, tmp_path)
    shutil.rmtree(root / "Release" / "pngs320H")
    ds = A2DDataset(root, "test")
    vids = list(ds.videos())
    (root / "Release" / "clips320H" / f"{vids[0]}.mp4").unlink()
    vs = root / "Release" / "videoset.csv"
    vs.write_text("\n".join(
        ",".join(r.split(",")[:6] + [str(int(r.split(",")[6]) + 2)] + r.split(",")[7:]) if r.startswith(vids[1])
        else r for r in vs.read_text().splitlines()) + "\n")
    problems = A2DDataset(root, "test").check()
    msgs = {pr.path: pr.message for pr in problems}
    assert "missing" in msgs[str(root / "Release" / "clips320H" / f"{vids[0]}.mp4")]
    assert "container ends after" in msgs[str(root / "Release" / "clips320H" / f"{vids[1]}.mp4")]


def test_h5_without_remask_and_wrong_shape(synth: Path, tmp_path: Path) -> None:
    root = _copy(synth, tmp_path)
    p = _first_h5(root)
    vid, frame = p.parent.name, p.stem
    with h5py.File(p, "a") as f:
        del f["reMask"]
    ds = A2DDataset(root, "all")
    with pytest.raises(DataFormatError) as err:
        ds.read_labels(vid, frame)
    assert err.value.path == p and err.value.where == "reMask"
    assert any(pr.path == str(p) and "reMask" in pr.message for pr in ds.check())
    with h5py.File(p, "a") as f:
        n = f["instance"].shape[0]
        f.create_dataset("reMask", data=np.zeros((n, 5, 7) if n > 1 else (5, 7), dtype=np.uint8))
    with pytest.raises(DataFormatError, match="expected") as err:
        A2DDataset(root, "all").read_labels(vid, frame)
    assert err.value.where == "reMask"
    with h5py.File(p, "a") as f:
        del f["reMask"]
        h, w = ds.videos()[vid].height, ds.videos()[vid].width
        f.create_dataset("reMask", data=np.zeros((n + 1, w, h), dtype=np.uint8))
    with pytest.raises(DataFormatError, match=r"expected \(N=") as err:
        A2DDataset(root, "all").read_labels(vid, frame)
    with pytest.raises(DataFormatError):
        read_frame_annotation(root / "nope.h5")


def test_corrupt_col_png_is_not_read(synth: Path, tmp_path: Path) -> None:
    """Annotations/col is informative only: the reader never needs it (it is an RGB map of actor-action ids), so
    garbage in every col PNG changes nothing: no problem reported, the same masks read."""
    root = _copy(synth, tmp_path)
    cols = sorted((root / "Release" / "Annotations" / "col").rglob("*.png"))
    assert cols and Image.open(cols[0]).mode == "RGB"
    for col in cols:
        col.write_bytes(b"not a png")
    clean, broken = A2DDataset(synth, "test"), A2DDataset(root, "test")
    assert broken.check() == []
    frames = [(v, f) for v in clean.videos() for f in clean.annotated_frames(v)]
    assert len(frames) > 0
    for vid, frame in frames:
        assert np.array_equal(broken.read_labels(vid, frame), clean.read_labels(vid, frame)), (vid, frame)


def test_torch_clips(synth: Path, plans: dict) -> None:
    """Clips are MTTR windows centred on each scored frame, clamped to the video; targets are exact masks."""
    pytest.importorskip("torch")
    from lvsbench.datasets.torch import TorchClips

    ds = A2DDataset(synth, "test")
    clips = TorchClips(ds, window=4)
    assert len(clips) == sum(len(ds.expression_frames(e)) for e in ds.expressions())
    item = clips[0]
    e = ds.expressions()[0]
    center = ds.expression_frames(e)[0]
    assert item["frames"].shape == (4, 3, ds.videos()[e.video_id].height, ds.videos()[e.video_id].width)
    assert item["frame_names"][2] == center and item["valid"].tolist() == [False, False, True, False]
    want = plans[e.video_id].scene.instance_mask(int(center) - 1, e.object_ids[0])
    assert np.array_equal(item["masks"][2].numpy(), want)
    assert np.allclose(item["frames"][2].permute(1, 2, 0).numpy() * 255,
                       plans[e.video_id].scene.frames[int(center) - 1], atol=1e-3)
