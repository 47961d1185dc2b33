"""Refer-DAVIS17: the real ImageSets split sizes, text-file parsing (latin-1 annot2, misspelled names, ReferFormer's
expression ids), the synthetic native-layout round trip (masks pixel-exact), and malformed inputs."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from lvsbench.core.codecs import DAVIS_PALETTE
from lvsbench.core.errors import ConfigError, DataFormatError
from lvsbench.core.io import sha256_tree
from lvsbench.datasets.layout import LayoutDataset, validate_layout, write_dataset
from lvsbench.datasets.rdavis import TEXT_FILES, RDAVISDataset
from lvsbench.synth.rdavis import MISSPELLED, plan, write_synthetic

SMALL = {"videos": 6, "seed": 5, "height": 40, "width": 64, "frames": 4}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic(tmp_path_factory.mktemp("rdavis") / "ref-davis", **SMALL)


@pytest.fixture(scope="module")
def truth() -> dict:
    return {v.name: v for v in plan(**SMALL)}


# ---------------------------------------------------------------------------------------------- real files


def test_real_image_sets(real_annotations: Path) -> None:
    root = real_annotations / "refer_davis17"
    train, val = RDAVISDataset(root, "train"), RDAVISDataset(root, "valid")
    assert (len(train.videos()), len(val.videos())) == (60, 30)
    assert val.split == "val" and not set(train.videos()) & set(val.videos())
    assert {"classic-car", "dogs-scale", "motorbike"} <= set(train.videos()) | set(val.videos())
    # Metadata-only: the text files and pixels are not public; what is missing is listed, nothing raises.
    missing = {Path(p.path).name for p in val.missing()}
    assert {name for name, _ in TEXT_FILES} <= missing and "480p" in missing
    assert val.expressions() == []


# ---------------------------------------------------------------------------------------------- text files


def _tiny_root(tmp_path: Path, lines: dict[int, list[str]], encodings: dict[int, str] | None = None) -> Path:
    sets = tmp_path / "DAVIS" / "ImageSets" / "2017"
    sets.mkdir(parents=True)
    (sets / "train.txt").write_text("bear\nmotorbike\n")
    (sets / "val.txt").write_text("classic-car\ndogs-scale\n")
    text = tmp_path / "davis_text_annotations"
    text.mkdir()
    for a, (name, enc) in enumerate(TEXT_FILES):
        data = "".join(f"{line}\n" for line in lines.get(a, []))
        (text / name).write_bytes(data.encode((encodings or {}).get(a, enc)))
    return tmp_path


def test_expression_ids_follow_referformer(tmp_path: Path) -> None:
    """Objects are ordered by *string* obj_id (ReferFormer's sort): "1" < "10" < "2"; id = 4k + annotator."""
    lines = {a: [f'clasic-car 1 "one {a}"', f'clasic-car 2 "two {a}"', f'classic-car 10 "ten {a}"'] for a in range(4)}
    del lines[3][2]  # annot2 full-video lacks object 10: the other ids do not move
    ds = RDAVISDataset(_tiny_root(tmp_path, lines), "val")
    got = {e.id: (e.object_ids[0], e.text) for e in ds.expressions()}
    assert got["0"] == (1, "one 0") and got["3"] == (1, "one 3")
    assert got["4"] == (10, "ten 0") and "7" not in got
    assert got["8"] == (2, "two 0") and got["11"] == (2, "two 3")
    assert len(got) == 11 and {e.video_id for e in ds.expressions()} == {"classic-car"}
    only2 = RDAVISDataset(tmp_path, "val", annotator=2)
    assert {e.id for e in only2.expressions()} == {"2", "6", "10"}
    assert {e.id: e.text for e in only2.expressions()} == {k: v[1] for k, v in got.items() if int(k) % 4 == 2}


def test_text_parse_whitespace_and_latin1(tmp_path: Path) -> None:
    lines = {0: ['dog-scale   1   "a   dog  on the  scale"  '], 2: ['dogs-scale 1 "le chien \u00e0 gauche"']}
    ds = RDAVISDataset(_tiny_root(tmp_path, lines), "val")
    assert [(e.id, e.video_id, e.text) for e in ds.expressions()] == [
        ("0", "dogs-scale", "a dog on the scale"), ("2", "dogs-scale", "le chien \u00e0 gauche")]


_LATIN1_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\r\n"), max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["bear", "motor-bike", "motorbike"]), st.integers(1, 254), _LATIN1_TEXT),
                min_size=1, max_size=6, unique_by=lambda r: (r[0].replace("motor-bike", "motorbike"), r[1])),
       st.sampled_from([2, 3]))
def test_text_parse_matches_referformer_formula(rows: list[tuple[str, int, str]], annotator: int) -> None:
    """Any latin-1 text (incl. U+0085, NBSP, inner quotes) parses as `" ".join(line.split()[2:])[1:-1]`."""
    lines = [f'{v} {o} "{t}"' for v, o, t in rows]
    with tempfile.TemporaryDirectory() as tmp:
        ds = RDAVISDataset(_tiny_root(Path(tmp), {annotator: lines}), "train", annotator=annotator)
        got = {(e.video_id, e.object_ids[0]): e.text for e in ds.expressions()}
    want = {(v.replace("motor-bike", "motorbike"), o): " ".join(line.split()[2:])[1:-1]
            for (v, o, _), line in zip(rows, lines, strict=True)}
    assert got == want


@pytest.mark.parametrize(("line", "message"), [
    ('bear 1', "expected"),
    ('bear one "a bear"', "not an integer"),
    ('bear 1 a bear', "double quotes"),
    ('bear 0 "a bear"', "outside"),
    ('polar-bear 1 "a bear"', "neither ImageSets"),
])
def test_malformed_text_lines(tmp_path: Path, line: str, message: str) -> None:
    root = _tiny_root(tmp_path, {1: ['bear 1 "a brown bear"', "", line]})
    with pytest.raises(DataFormatError, match=message) as exc:
        RDAVISDataset(root, "train")
    assert exc.value.path == root / "davis_text_annotations" / "Davis17_annot1_full_video.txt"
    assert exc.value.where == "line 3"


def test_duplicate_and_bad_utf8_lines(tmp_path: Path) -> None:
    root = _tiny_root(tmp_path / "a", {0: ['bear 1 "a"', 'bear 2 "b"', 'bear 1 "c"']})
    with pytest.raises(DataFormatError, match="already given on line 1") as exc:
        RDAVISDataset(root, "train")
    assert exc.value.where == "line 3"
    root = _tiny_root(tmp_path / "b", {0: ['bear 1 "a"', 'bear 2 "caf\u00e9"']}, encodings={0: "latin-1"})
    with pytest.raises(DataFormatError, match="utf-8") as exc:
        RDAVISDataset(root, "train")
    assert exc.value.where == "line 2"


# ---------------------------------------------------------------------------------------------- synthetic release


def test_synthetic_layout_is_the_release_layout(synth: Path, truth: dict) -> None:
    davis = synth / "DAVIS"
    val = (davis / "ImageSets" / "2017" / "val.txt").read_text()
    assert val.endswith("\n") and val.split() == sorted(v for v, t in truth.items() if t.split == "val")
    for ann in ("Annotations", "Annotations_unsupervised"):
        png = davis / ann / "480p" / "bear" / "00000.png"
        with Image.open(png) as img:
            assert img.mode == "P"
            assert np.array_equal(np.array(img.getpalette()[:768], dtype=np.uint8).reshape(-1, 3), DAVIS_PALETTE)
    assert sorted(p.name for p in (davis / "JPEGImages" / "480p" / "bear").iterdir()) == [
        f"{t:05d}.jpg" for t in range(SMALL["frames"])]
    raw = {name: (synth / "davis_text_annotations" / name).read_bytes() for name, _ in TEXT_FILES}
    assert all(b.isascii() for name, b in raw.items() if "annot1" in name)
    for name in ("Davis17_annot2.txt", "Davis17_annot2_full_video.txt"):
        assert not raw[name].isascii()
        with pytest.raises(UnicodeDecodeError):
            raw[name].decode("utf-8")
    assert all(len(b.splitlines()) == len(raw["Davis17_annot1.txt"].splitlines()) for b in raw.values())
    for wrong, _ in MISSPELLED.values():
        assert any(f"{wrong} ".encode() in b for b in raw.values())


def test_synthetic_is_deterministic(tmp_path: Path, synth: Path, truth: dict) -> None:
    again = write_synthetic(tmp_path / "again", **SMALL)
    # the checksums below cover every frame, both annotation trees and the text files, not two empty trees
    files = [p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file()]
    n_frames = sum(len(t.frame_names) for t in truth.values())
    assert n_frames > 0 and sum(f.endswith(".jpg") for f in files) == n_frames
    assert sum(f.endswith(".png") for f in files) == 2 * n_frames  # Annotations and Annotations_unsupervised
    assert {name for name, _ in TEXT_FILES} <= {Path(f).name for f in files}
    assert sha256_tree(again) == sha256_tree(synth)


@pytest.mark.parametrize("annotations", ["unsupervised", "semi"])
def test_round_trip_to_layout(synth: Path, truth: dict, tmp_path: Path, annotations: str) -> None:
    ds = RDAVISDataset(synth, "val", annotations=annotations)
    assert ds.missing() == [] and ds.check() == []
    assert ds.annotation_path("bear", "00000").parts[-4] == {"semi": "Annotations"}.get(annotations,
                                                                                           "Annotations_unsupervised")
    write_dataset(ds, tmp_path / "out", source="synthetic rdavis", default_protocol="rdavis", progress=False)
    assert validate_layout(tmp_path / "out") == []
    out = LayoutDataset(tmp_path / "out")
    assert sorted(out.videos()) == sorted(v for v, t in truth.items() if t.split == "val")
    for vid, video in out.videos().items():
        t = truth[vid]
        assert video.frames == t.frame_names
        for i, name in enumerate(t.frame_names):
            np.testing.assert_array_equal(out.read_labels(vid, name), t.scene.labels[i])
        want = sorted((str(4 * (a.object_id - 1) + k), t.expected_text(a.object_id, k), (a.object_id,))
                      for a in t.scene.actors for k in range(4))
        assert sorted((e.id, e.text, e.object_ids) for e in out.video_expressions(vid)) == want
        assert out.object_categories(vid) == {a.object_id: t.category(a.object_id) for a in t.scene.actors}


def test_synthetic_quirks_are_undone(synth: Path, truth: dict) -> None:
    both = {e.key: e for s in ("train", "val") for e in RDAVISDataset(synth, s).expressions()}
    videos = {v for v, _ in both}
    assert set(MISSPELLED) <= videos and not {w for w, _ in MISSPELLED.values()} & videos
    accented = [e.text for e in both.values() if int(e.id) % 4 >= 2 and e.object_ids == (1,)]
    assert accented and all("\u00e9" in t for t in accented)
    assert all("  " not in e.text for e in both.values())
    for (vid, eid), e in both.items():
        assert e.text == truth[vid].expected_text(e.object_ids[0], int(eid) % 4)


# ---------------------------------------------------------------------------------------------- malformed input


@pytest.fixture()
def broken(synth: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(synth, tmp_path / "copy"))


def test_corrupt_and_non_palette_png(broken: Path) -> None:
    unsup = broken / "DAVIS" / "Annotations_unsupervised" / "480p" / "bear"
    (unsup / "00001.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    Image.open(unsup / "00002.png").convert("L").save(unsup / "00002.png")
    ds = RDAVISDataset(broken, "val")
    with pytest.raises(DataFormatError) as exc:
        ds.read_labels("bear", "00001")
    assert exc.value.path == unsup / "00001.png"
    with pytest.raises(DataFormatError, match="not a palette"):
        ds.read_labels("bear", "00002")
    assert sorted(p.path for p in ds.check()) == ["bear/00001", "bear/00002"]
    semi = RDAVISDataset(broken, "val", annotations="semi")  # the other annotation set is untouched
    assert semi.check() == []


def test_missing_frame(broken: Path) -> None:
    frame = broken / "DAVIS" / "JPEGImages" / "480p" / "bear" / "00003.jpg"
    frame.unlink()
    mask = broken / "DAVIS" / "Annotations_unsupervised" / "480p" / "bear" / "00002.png"
    mask.unlink()
    ds = RDAVISDataset(broken, "val")
    assert ds.videos()["bear"].frames == ("00000", "00001", "00002", "00003")  # the mask still lists 00003
    with pytest.raises(DataFormatError, match="frame missing") as exc:
        ds.read_frame("bear", "00003")
    assert (exc.value.path, exc.value.where) == (frame, "bear/00003")
    with pytest.raises(DataFormatError, match="annotation missing") as exc:
        ds.read_labels("bear", "00002")
    assert exc.value.path == mask
    problems = ds.check()
    assert [p.path for p in problems] == ["bear", "bear/00002"] and str(frame) in problems[0].message


def test_unknown_video_in_synthetic_text(broken: Path) -> None:
    path = broken / "davis_text_annotations" / "Davis17_annot2.txt"
    path.write_bytes(path.read_bytes() + b'lab-coat 1 "a white coat"\n')
    with pytest.raises(DataFormatError, match="neither ImageSets") as exc:
        RDAVISDataset(broken, "train")
    assert exc.value.path == path and exc.value.where == f"line {len(path.read_bytes().splitlines())}"


def test_bad_options(synth: Path) -> None:
    with pytest.raises(ConfigError, match="annotator"):
        RDAVISDataset(synth, "val", annotator=4)
    with pytest.raises(ConfigError, match="annotations"):
        RDAVISDataset(synth, "val", annotations="davis")
    with pytest.raises(ConfigError, match="unknown split"):
        RDAVISDataset(synth, "test-dev")
    assert {e.id for e in RDAVISDataset(synth, "val", annotator="3").expressions()} == {
        e.id for e in RDAVISDataset(synth, "val").expressions() if int(e.id) % 4 == 3}


# ---------------------------------------------------------------------------------------------- command line


def _cli(*args: str) -> dict:
    import json

    from click.testing import CliRunner

    from lvsbench.cli import cli

    result = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_cli_synth_info_check_convert_validate(tmp_path: Path) -> None:
    sizes = {"videos": 4, "seed": 2, "height": 32, "width": 48, "frames": 4}
    root = tmp_path / "rdavis"
    _cli("synth", "rdavis", "--out", str(root), *(f"--{k}={v}" for k, v in sizes.items()))
    info = _cli("datasets", "info", "rdavis", "--root", str(root), "--check", "-o", "annotator=3")
    assert set(info["splits"]) == {"train", "val"}
    assert all(e["problems"] == [] and e["missing"] == [] for e in info["splits"].values())
    truth = {v.name: v for v in plan(**sizes)}
    n_val = sum(len(t.scene.actors) for t in truth.values() if t.split == "val")
    assert info["splits"]["val"]["counts"]["expressions"] == n_val
    out = tmp_path / "layout"
    summary = _cli("convert", "rdavis", "--root", str(root), "--out", str(out), "-o", "annotations=semi")
    assert summary["split"] == "val" and summary["counts"]["expressions"] == 4 * n_val
    assert _cli("layout", "validate", str(out))["valid"]
    ds = LayoutDataset(out)
    for vid in ds.videos():
        for i, name in enumerate(truth[vid].frame_names):
            np.testing.assert_array_equal(ds.read_labels(vid, name), truth[vid].scene.labels[i])
