"""Our dataset layout: writer/reader round trip, dataset card, and `layout validate` on each kind of corruption."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lvsbench.core.codecs import encode_palette_png
from lvsbench.core.errors import OutputExistsError
from lvsbench.core.records import Expression, Video
from lvsbench.datasets.layout import CARD_NAME, META_NAME, LayoutDataset, LayoutWriter, validate_layout


def _video(rng: np.random.Generator, vid: str, t: int = 4, h: int = 12, w: int = 16):
    frames = tuple(f"{i * 5:05d}" for i in range(t))
    rgb = {f: rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for f in frames}
    labels = {}
    for i, f in enumerate(frames[::2]):
        lab = np.zeros((h, w), dtype=np.uint8)
        lab[1 + i: 5 + i, 2:6] = 1
        lab[6:10, 8 + i: 12 + i] = 2
        labels[f] = lab
    exps = [Expression("0", vid, "the left square", (1,)), Expression("1", vid, "both squares", (1, 2))]
    return Video(vid, frames, h, w), rgb, labels, exps


def write_small(out: Path, ext: str = ".png") -> dict:
    rng = np.random.default_rng(0)
    writer = LayoutWriter(out, name="toy", split="test", source="unit test", frame_ext=ext)
    truth = {}
    for vid in ("-neg_id", "b"):
        video, rgb, labels, exps = _video(rng, vid)
        writer.add_video(video, rgb.items(), labels, exps, objects={1: {"category": "dog"}})
        truth[vid] = (video, rgb, labels, exps)
    writer.finish()
    return truth


def test_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    truth = write_small(out)
    ds = LayoutDataset(out)
    assert ds.name == "toy" and ds.split == "test"
    assert list(ds.videos()) == ["-neg_id", "b"]
    for vid, (video, rgb, labels, exps) in truth.items():
        got = ds.videos()[vid]
        assert (got.frames, got.height, got.width) == (video.frames, video.height, video.width)
        assert ds.annotated_frames(vid) == tuple(labels)
        for f, lab in labels.items():
            np.testing.assert_array_equal(ds.read_labels(vid, f), lab)
        for f, img in rgb.items():
            np.testing.assert_array_equal(ds.read_frame(vid, f), img)  # PNG frames are lossless
        assert ds.video_expressions(vid) == exps
        assert ds.object_categories(vid) == {1: "dog"}
    meta = json.loads((out / META_NAME).read_text())
    # ReferFormer reads int(exp["obj_id"]): a single object is written as a string
    assert meta["videos"]["b"]["expressions"]["0"]["obj_id"] == "1"
    assert meta["videos"]["b"]["expressions"]["1"]["obj_id"] == [1, 2]
    card = json.loads((out / CARD_NAME).read_text())
    assert card["counts"] == {"videos": 2, "expressions": 4, "frames": 8, "annotated_frames": 4, "objects": 4}
    assert set(card["checksums"]) == {META_NAME, "Annotations", "JPEGImages"}
    assert validate_layout(out) == []
    df = ds.expressions_frame()
    assert len(df) == 4 and set(df["num_objects_in_video"]) == {2}


def test_writer_refuses_overwrite_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    write_small(out)
    with pytest.raises(OutputExistsError):
        LayoutWriter(out, name="x", split="y", source="z")
    LayoutWriter(out, name="x", split="y", source="z", force=True)
    # an interrupted writer leaves fragments; resume skips finished videos
    rng = np.random.default_rng(1)
    w = LayoutWriter(tmp_path / "r", name="x", split="y", source="z")
    video, rgb, labels, exps = _video(rng, "v1")
    w.add_video(video, rgb.items(), labels, exps)
    w2 = LayoutWriter(tmp_path / "r", name="x", split="y", source="z", resume=True)
    assert w2.has_video("v1") and not w2.has_video("v2")


def _corrupt_and_validate(tmp_path: Path, corrupt) -> list[str]:
    out = tmp_path / "ds"
    write_small(out)
    corrupt(out)
    return [str(p) for p in validate_layout(out)]


def _edit_meta(out: Path, fn) -> None:
    meta = json.loads((out / META_NAME).read_text())
    fn(meta)
    (out / META_NAME).write_text(json.dumps(meta))


def test_missing_frame(tmp_path: Path) -> None:
    probs = _corrupt_and_validate(tmp_path, lambda o: (o / "JPEGImages" / "b" / "00005.png").unlink())
    assert any("JPEGImages/b/00005" in p and "absent" in p for p in probs)


def test_mask_size_mismatch(tmp_path: Path) -> None:
    def corrupt(o: Path) -> None:
        (o / "Annotations" / "b" / "00000.png").write_bytes(encode_palette_png(np.ones((5, 5), dtype=np.uint8)))
    probs = _corrupt_and_validate(tmp_path, corrupt)
    assert any("Annotations/b/00000.png" in p and "mask size 5x5 != frame size 16x12" in p for p in probs)


def test_object_id_absent(tmp_path: Path) -> None:
    probs = _corrupt_and_validate(
        tmp_path, lambda o: _edit_meta(o, lambda m: m["videos"]["b"]["expressions"]["0"].update(obj_id="7")))
    assert any("videos.b.expressions.0" in p and "[7] absent from every mask" in p for p in probs)


def test_frame_listed_but_absent(tmp_path: Path) -> None:
    probs = _corrupt_and_validate(
        tmp_path, lambda o: _edit_meta(o, lambda m: m["videos"]["b"]["frames"].append("00099")))
    assert any("JPEGImages/b/00099" in p and "listed" in p for p in probs)


def test_unreadable_image(tmp_path: Path) -> None:
    probs = _corrupt_and_validate(tmp_path, lambda o: (o / "JPEGImages" / "b" / "00010.png").write_bytes(b"junk"))
    assert any("JPEGImages/b/00010.png" in p and "unreadable" in p for p in probs)


def test_duplicate_expression_id(tmp_path: Path) -> None:
    def corrupt(o: Path) -> None:
        text = (o / META_NAME).read_text()
        text = text.replace('"1": {"exp": "both squares"', '"0": {"exp": "both squares"', 1)
        (o / META_NAME).write_text(text)
    probs = _corrupt_and_validate(tmp_path, corrupt)
    assert any(META_NAME in p and "duplicate key '0'" in p for p in probs)


def test_non_palette_annotation(tmp_path: Path) -> None:
    def corrupt(o: Path) -> None:
        Image.fromarray(np.zeros((12, 16), dtype=np.uint8), mode="L").save(o / "Annotations" / "b" / "00000.png")
    probs = _corrupt_and_validate(tmp_path, corrupt)
    assert any("Annotations/b/00000.png" in p and "not a palette" in p for p in probs)


def test_all_problems_reported_at_once_via_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ds"
    write_small(out)
    (out / "JPEGImages" / "b" / "00005.png").unlink()
    (out / "JPEGImages" / "-neg_id" / "00010.png").write_bytes(b"junk")
    from lvsbench.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["layout", "validate", str(out), "--json"])
    assert exc.value.code == 2
    payload = json.loads(capsys.readouterr().out)["error"]  # one JSON error object listing every problem
    assert len(payload["problems"]) == 2


def test_cli_exit_codes(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "ds"
    write_small(out)
    ok = subprocess.run([sys.executable, "-m", "lvsbench.cli", "layout", "validate", str(out)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "valid" in ok.stdout
    (out / "JPEGImages" / "b" / "00005.png").unlink()
    bad = subprocess.run([sys.executable, "-m", "lvsbench.cli", "layout", "validate", str(out)],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "JPEGImages/b/00005" in bad.stderr
    missing = subprocess.run([sys.executable, "-m", "lvsbench.cli", "layout", "validate", str(tmp_path / "nope")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "nope" in missing.stderr
    helped = subprocess.run([sys.executable, "-m", "lvsbench.cli", "layout", "validate", "--help"],
                            capture_output=True, text=True)
    assert helped.returncode == 0 and "every problem" in helped.stdout
