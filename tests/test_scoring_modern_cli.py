"""`lvsbench score` on MeViS / ReVOS (per-expression protocols): oracle predictions from `lvsbench synth`, one CSV
row per expression, incomplete predictions refused with the full list, --allow-missing / --ignore-extra recorded."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lvsbench.cli import main
from lvsbench.datasets.mevis import MeViSDataset
from lvsbench.datasets.revos import ReVOSDataset
from lvsbench.formats.png_tree import write_png_prediction
from lvsbench.formats.rle_results import write_rle_results
from lvsbench.synth import mevis as synth_mevis
from lvsbench.synth import revos as synth_revos

KW = {"videos": 6, "seed": 5, "height": 40, "width": 64, "frames": 4}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.fixture(scope="module")
def mevis(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("mevis_cli")
    root = synth_mevis.write_synthetic(base / "m", **KW)
    ds = MeViSDataset(root, "valid_u")
    for e in ds.expressions():
        for f in e.frames:
            write_png_prediction(base / "oracle", e.video_id, e.id, f, ds.target_sum(e, f))
    return root, base / "oracle"


def test_score_mevis_v2_oracle(mevis: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, preds = mevis
    rc, out, err = run(["score", str(preds), "--dataset", "mevis", "--root", str(root), "--split", "valid_u",
                        "--protocol", "mevis-v2", "--per-sample", str(tmp_path / "s.csv"), "--out",
                        str(tmp_path / "r.json"), "--json"], capsys)
    assert rc == 0, err
    res = json.loads((tmp_path / "r.json").read_text())
    assert res["protocol"]["name"] == "mevis-v2" and "no official code published" in res["protocol"]["notes"]
    v = res["values"]
    assert (v["J"], v["F"], v["N-acc"], v["T-acc"], v["Final"]) == (1.0, 1.0, 1.0, 1.0, 1.0)
    df = pd.read_csv(tmp_path / "s.csv", dtype={"exp_id": str})
    ds = MeViSDataset(root, "valid_u")
    assert list(df.columns[:4]) == ["video_id", "exp_id", "J", "F"]
    assert list(zip(df.video_id, df.exp_id, strict=True)) == [e.key for e in ds.expressions()]
    assert res["missing"] == [] and res["official_equivalent"]["dropped"] == []


def test_score_mevis_refuses_incomplete_then_allow_missing(mevis: tuple[Path, Path], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    root, oracle = mevis
    preds = tmp_path / "p"
    shutil.copytree(oracle, preds)
    ds = MeViSDataset(root, "valid_u")
    first, second = ds.expressions()[0], ds.expressions()[1]
    shutil.rmtree(preds / first.video_id / first.id)
    (preds / second.video_id / second.id / f"{second.frames[1]}.png").unlink()
    args = ["score", str(preds), "--dataset", "mevis", "--root", str(root), "--split", "valid_u"]
    rc, _, err = run(args, capsys)
    assert rc == 2
    assert f"{first.video_id}_{first.id}: expression missing" in err and f"{second.frames[1]}" in err
    rc, _, err = run([*args, "--allow-missing", "--out", str(tmp_path / "r.json")], capsys)
    assert rc == 0, err
    res = json.loads((tmp_path / "r.json").read_text())
    assert [(m["exp_id"], m["kind"]) for m in res["missing"]] == [(first.id, "expression"), (second.id, "frame")]
    eq = res["official_equivalent"]
    assert eq["dropped"] == [f"{first.video_id}_{first.id}", f"{second.video_id}_{second.id}"]
    assert eq["aggregates"]["n_scored"] == len(ds.expressions()) - 2 and eq["aggregates"]["J"] == 1.0
    assert res["aggregates"]["n_scored"] == len(ds.expressions()) and res["values"]["J"] < 1.0


def test_score_revos_rle_and_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = synth_revos.write_synthetic(tmp_path / "r", **KW)
    ds = ReVOSDataset(root, "valid")
    items = [(e.video_id, e.id, e.frames, [ds.target_sum(e, f) for f in e.frames]) for e in ds.expressions()]
    write_rle_results(tmp_path / "results.json", items)
    for vid, eid, frames, masks in items:
        for f, m in zip(frames, masks, strict=True):
            write_png_prediction(tmp_path / "png" / "Annotations", vid, eid, f, m)
    base = ["--dataset", "revos", "--root", str(root)]
    rc, out, err = run(["score", str(tmp_path / "results.json"), *base, "--per-sample", str(tmp_path / "a.csv"),
                        "--json"], capsys)
    assert rc == 0, err
    rle = json.loads(out)
    assert rle["protocol"]["name"] == "revos" and rle["predictions"]["format"] == "rle-json"
    rc, out, err = run(["score", str(tmp_path / "png"), *base, "--protocol", "revos-visa-png", "--json"], capsys)
    assert rc == 0, err
    png = json.loads(out)
    for sub in ("referring", "reason", "overall"):
        assert rle["aggregates"][sub]["J"] == png["aggregates"][sub]["J"] == 100.0
        assert png["aggregates"][sub]["A"] < rle["aggregates"][sub]["A"]  # 0/255 read raw: target pixels "wrong"
    df = pd.read_csv(tmp_path / "a.csv", dtype={"exp_id": str})
    assert list(df.columns[:7]) == ["video_id", "exp_id", "J", "F", "A", "R", "JF"]
    assert len(df) == len(ds.expressions()) and set(df.type_id) == {0, 1, 2}
    # an unexpected video is refused, then ignored and recorded
    doc = json.loads((tmp_path / "results.json").read_text())
    doc["not_a_video"] = {"0": {"prediction_masks": []}}
    (tmp_path / "extra.json").write_text(json.dumps(doc))
    rc, _, err = run(["score", str(tmp_path / "extra.json"), *base], capsys)
    assert rc == 2 and "not_a_video/0" in err and "unexpected video" in err
    rc, out, err = run(["score", str(tmp_path / "extra.json"), *base, "--ignore-extra", "--json"], capsys)
    assert rc == 0 and len(json.loads(out)["ignored_extra"]) == 1


def test_valid_split_without_masks_is_refused(mevis: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    root, preds = mevis
    rc, _, err = run(["score", str(preds), "--dataset", "mevis", "--root", str(root), "--split", "valid"], capsys)
    assert rc == 2 and "no public masks" in err and "submit mevis" in err


def test_converted_layout_points_to_the_native_protocol(mevis: tuple[Path, Path], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    root, preds = mevis
    rc, _, err = run(["convert", "mevis", "--root", str(root), "--split", "valid_u", "--out", str(tmp_path / "lay")],
                     capsys)
    assert rc == 0, err
    args = ["score", str(preds), "--dataset", "layout", "--root", str(tmp_path / "lay"), "--ignore-extra"]
    rc, _, err = run(args, capsys)
    assert rc == 2 and "--dataset mevis --root NATIVE_ROOT" in err and "--protocol ryvos" in err
    rc, out, err = run([*args, "--protocol", "ryvos", "--json", "--per-sample", str(tmp_path / "s.csv")], capsys)
    assert rc == 0, err
    ds = MeViSDataset(root, "valid_u")
    assert len(json.loads(out)["ignored_extra"]) == ds.counts()["no_target_expressions"]
    df = pd.read_csv(tmp_path / "s.csv", dtype={"exp_id": str})
    n_exact = 0
    for e in ds.expressions():
        if ds.no_target(e):
            continue
        overlap = any((np.add.reduce([m.view(np.uint8) for m in ds.read_object_masks(e.video_id, f).values()]) > 1)
                      .any() for f in e.frames)
        rows = df[(df.video_id == e.video_id) & (df.exp_id == e.id)]
        if not overlap:  # a label map is exact without overlaps (with them, the layout needs per-object masks)
            assert len(rows) == 1 and rows["J"].iloc[0] == 1.0, e.key
            n_exact += 1
    assert n_exact >= 3


PER_EXPRESSION_COLUMNS = {  # dataset -> (split, protocol, per-expression metric columns of the official output)
    "mevis": ("valid_u", "mevis-v2", ["J", "F", "JF"]),
    "revos": ("valid", "revos-visa-png", ["J", "F", "A", "R", "JF"]),
    "refsav": ("valid", "refsav", ["J", "F", "A", "JF"]),
    "long-rvos": ("valid", "long-rvos", ["J", "F", "JF", "tIoU", "vIoU"]),
    "reasonvos": (None, "reasonvos", ["J", "F", "JF"]),
}


@pytest.mark.parametrize("name", list(PER_EXPRESSION_COLUMNS))
def test_synth_run_score_per_sample_end_to_end(name: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """`lvsbench synth` -> `lvsbench run oracle` -> `lvsbench score --per-sample --out` for each of the five: one
    CSV row per expression (video_id, exp_id, then each metric under its name), `values` = the protocol's metrics."""
    from lvsbench.datasets.registry import load
    from lvsbench.protocols import PROTOCOLS

    split, protocol, cols = PER_EXPRESSION_COLUMNS[name]
    rc, _, err = run(["synth", name, "--out", str(tmp_path / "d"), "--videos", "3", "--seed", "2", "--height", "32",
                      "--width", "48", "--frames", "4"], capsys)
    assert rc == 0, err
    ds = load(name, tmp_path / "d", split)
    where = ["--dataset", name, "--root", str(tmp_path / "d"), *(["--split", split] if split else [])]
    rc, _, err = run(["run", "oracle", *where, "--out", str(tmp_path / "run"), "--quiet"], capsys)
    assert rc == 0, err
    preds = tmp_path / "run" / ("results.json" if name == "refsav" else "")
    rc, out, err = run(["score", str(preds), *where, "--protocol", protocol, "--per-sample", str(tmp_path / "s.csv"),
                        "--out", str(tmp_path / "r.json"), "--json"], capsys)
    assert rc == 0, err
    res = json.loads((tmp_path / "r.json").read_text())
    assert res["protocol"]["metrics"] == list(PROTOCOLS[protocol].metrics)  # the JSON file sorts its keys
    assert set(res["values"]) == set(PROTOCOLS[protocol].metrics) and res["values"]["J"] == 1.0
    df = pd.read_csv(tmp_path / "s.csv", dtype={"exp_id": str, "video_id": str})
    assert list(df.columns[:2 + len(cols)]) == ["video_id", "exp_id", *cols]
    want = [(e.video_id, e.id) for e in ds.expressions()]
    assert list(zip(df.video_id, df.exp_id, strict=True)) == want
    assert (df["J"] == df["J"].max()).all()  # the oracle: every expression at the maximum


def _png(arr: np.ndarray, mode: str | None = None) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    (Image.fromarray(arr) if mode is None else Image.fromarray(arr, mode=mode)).save(buf, format="PNG")
    return buf.getvalue()


def test_mevis_prediction_png_problems_name_the_file(mevis: tuple[Path, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Issue #20: an empty PNG, JPEG bytes named .png and a palette index past the PLTE are refused (exit 2, the file
    named); a wrong-size PNG is refused with the file and the frame size, and with --allow-missing scored the
    official way (eval_mevis.py's worker dies: the expression is dropped)."""
    import shutil

    root, oracle = mevis
    ds = MeViSDataset(root, "valid_u")
    e = ds.expressions()[0]
    video = ds.videos()[e.video_id]
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 64
    palette = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", (64).to_bytes(4, "big") + (40).to_bytes(4, "big")
                                             + bytes([8, 3, 0, 0, 0]))
               + _chunk(b"PLTE", b"\x00\x00\x00\xff\xff\xff")
               + _chunk(b"IDAT", zlib.compress(b"".join(b"\x00" + b"\x07" * 64 for _ in range(40))))
               + _chunk(b"IEND", b""))
    wrong = _png(np.zeros((video.height + 3, video.width + 5), np.uint8), "L")
    for name, data, want in [("empty", b"", "empty file (0 bytes)"),
                             ("jpeg", jpeg, "not a PNG file (no PNG signature; JPEG content)"),
                             ("palette", palette, "palette index 7 but the PNG's palette has 2 colour(s)"),
                             ("size", wrong, f"prediction of {video.width + 5}x{video.height + 3} (width x height), "
                                             f"the frame is {video.width}x{video.height}")]:
        preds = tmp_path / name
        shutil.copytree(oracle, preds)
        target = preds / e.video_id / e.id / f"{e.frames[0]}.png"
        target.write_bytes(data)
        args = ["score", str(preds), "--dataset", "mevis", "--root", str(root), "--split", "valid_u"]
        rc, _, err = run(args, capsys)
        assert rc == 2 and f"{target}: {want}" in err, (name, err)
    rc, _, err = run([*args, "--allow-missing", "--out", str(tmp_path / "r.json")], capsys)
    assert rc == 0, err
    res = json.loads((tmp_path / "r.json").read_text())
    assert [m["kind"] for m in res["missing"]] == ["error"] and str(target) in res["missing"][0]["detail"]
    assert res["official_equivalent"]["dropped"] == [f"{e.video_id}_{e.id}"]


def _chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def test_mevis_rgba_prediction_is_read_as_grey_with_a_warning(mevis: tuple[Path, Path], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Issue #20: an RGBA / 16-bit prediction is read as `cv2.imread(path, 0)` reads it in eval_mevis.py (the
    official value), and the results JSON's `warnings` name the file and the conversion."""
    import shutil

    import cv2

    root, oracle = mevis
    ds = MeViSDataset(root, "valid_u")
    e = ds.expressions()[0]
    preds = tmp_path / "p"
    shutil.copytree(oracle, preds)
    rgba = preds / e.video_id / e.id / f"{e.frames[0]}.png"
    m = cv2.imread(str(rgba), cv2.IMREAD_GRAYSCALE)
    rgba.write_bytes(_png(np.stack([m, m, m, np.full_like(m, 255)], -1), "RGBA"))
    deep = preds / e.video_id / e.id / f"{e.frames[1]}.png"
    deep.write_bytes(_png((cv2.imread(str(deep), cv2.IMREAD_GRAYSCALE) != 0).astype("<u2") * 65535))
    rc, _, err = run(["score", str(preds), "--dataset", "mevis", "--root", str(root), "--split", "valid_u", "--out",
                      str(tmp_path / "r.json")], capsys)
    assert rc == 0, err
    res = json.loads((tmp_path / "r.json").read_text())
    assert res["values"]["J"] == 1.0  # same pixels once read as grey
    w = res["warnings"]
    assert len(w) == 2 and w[0].startswith(f"{rgba}: 8-bit RGBA PNG") and "alpha ignored" in w[0]
    assert w[1].startswith(f"{deep}: 16-bit grayscale PNG") and "divided by 256" in w[1]


def test_reasonvos_wrong_size_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue #20: ReasonVOS said "size missing" with only the expression key; the file and the frame size now."""
    rc, out, err = run(["synth", "reasonvos", "--out", str(tmp_path / "r"), "--videos", "2", "--frames", "4",
                        "--height", "32", "--width", "48"], capsys)
    assert rc == 0, err
    rc, out, err = run(["run", "oracle", "--dataset", "reasonvos", "--root", str(tmp_path / "r"), "--split", "test",
                        "--out", str(tmp_path / "p"), "--quiet"], capsys)
    assert rc == 0, err
    target = sorted((tmp_path / "p").rglob("*.png"))[0]
    target.write_bytes(_png(np.zeros((35, 53), np.uint8), "L"))
    rc, _, err = run(["score", str(tmp_path / "p"), "--dataset", "reasonvos", "--root", str(tmp_path / "r"),
                      "--split", "test", "--ignore-extra"], capsys)
    assert rc == 2 and f"{target}: prediction of 53x35 (width x height), the frame is 48x32" in err, err
