"""Prediction formats: writers, readers, auto-detection, and errors that name the file."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from lvsbench.core.codecs import rle_encode
from lvsbench.core.errors import DataFormatError, LvsbenchError
from lvsbench.formats.coco_json import a2d_image_id, coco_result, jhmdb_image_id, write_coco_results
from lvsbench.formats.davis_anno import write_palette_prediction
from lvsbench.formats.png_tree import write_png_prediction
from lvsbench.formats.predictions import detect_format, open_predictions


def _mask(h: int = 12, w: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w)) < 0.3


def test_image_ids_follow_mttr() -> None:
    # frame numbers unpadded (MTTR's int frame index), object id = instance + 1
    assert a2d_image_id("-abc", "00012", 1) == "v_-abc_f_12_i_0"
    assert a2d_image_id("x", "00001", 3) == "v_x_f_1_i_2"
    assert jhmdb_image_id("Pour_(!)_x", "00003") == "v_Pour_(!)_x_f_3"
    assert jhmdb_image_id("v", "frame_a") == "v_v_f_frame_a"


def test_png_tree_round_trip_and_file_format(tmp_path: Path) -> None:
    m = _mask()
    p = write_png_prediction(tmp_path / "preds", "vid", "3", "00005", m)
    assert p == tmp_path / "preds" / "vid" / "3" / "00005.png"
    img = Image.open(p)
    assert img.mode == "L" and set(np.unique(np.asarray(img)).tolist()) <= {0, 255}
    assert not [q for q in p.parent.iterdir() if q.name.endswith(".tmp")]  # atomic: no temp left
    assert detect_format(tmp_path / "preds") == "png-tree"
    preds = open_predictions(tmp_path / "preds")
    assert preds.inventory().items == {("vid", "3"): {"00005"}}
    np.testing.assert_array_equal(preds.mask("vid", "3", "00005"), m)
    assert preds.mask("vid", "3", "00006") is None


def test_png_tree_with_annotations_prefix_any_nonzero_and_palette(tmp_path: Path) -> None:
    base = tmp_path / "sub" / "Annotations" / "v" / "0"
    base.mkdir(parents=True)
    m = _mask(seed=1)
    Image.fromarray(m.astype(np.uint8), mode="L").save(base / "00000.png")  # 0/1
    write_palette_prediction(tmp_path / "pal", None, "v", "00001", m.astype(np.uint8) * 7)
    (tmp_path / "sub" / "Annotations" / "v" / "0" / "00001.png").write_bytes(
        (tmp_path / "pal" / "v" / "00001.png").read_bytes())  # palette index 7
    assert detect_format(tmp_path / "sub") == "png-tree"
    preds = open_predictions(tmp_path / "sub")
    np.testing.assert_array_equal(preds.mask("v", "0", "00000"), m)
    np.testing.assert_array_equal(preds.mask("v", "0", "00001"), m)


@pytest.mark.parametrize("prefix", ["", "Annotations/"])
def test_png_zip_matches_tree_and_pickles(tmp_path: Path, prefix: str) -> None:
    masks = {(v, e, f): _mask(seed=hash((v, e, f)) % 1000) for v in ("a", "b") for e in ("0", "1")
             for f in ("00000", "00005")}
    for (v, e, f), m in masks.items():
        write_png_prediction(tmp_path / "tree", v, e, f, m)
    z = tmp_path / "s.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for (v, e, f) in masks:
            zf.write(tmp_path / "tree" / v / e / f"{f}.png", f"{prefix}{v}/{e}/{f}.png")
    assert detect_format(z) == "png-zip"
    preds = open_predictions(z)
    assert preds.inventory().items == {(v, e): {"00000", "00005"} for v in ("a", "b") for e in ("0", "1")}
    for key, m in masks.items():
        np.testing.assert_array_equal(preds.mask(*key), m)
    clone = pickle.loads(pickle.dumps(preds))  # worker processes get a copy that reopens the archive
    np.testing.assert_array_equal(clone.mask("a", "1", "00005"), masks[("a", "1", "00005")])
    assert preds.describe("a", "0", "00000") == f"{z}!{prefix}a/0/00000.png"


def test_coco_results_keep_candidate_order_and_accept_wrappers(tmp_path: Path) -> None:
    m1, m2 = _mask(seed=2), _mask(seed=3)
    res = [coco_result("img1", m1, 0.5), coco_result("img1", m2, 0.5), coco_result("img2", m2, 0.1)]
    assert res[0]["category_id"] == 1 and isinstance(res[0]["segmentation"]["counts"], str)
    path = write_coco_results(tmp_path / "r.json", res)
    json.loads(path.read_text())
    assert detect_format(path) == "coco-json"
    preds = open_predictions(path)
    got = preds.candidates("img1")
    assert [s for _, s in got] == [0.5, 0.5]
    np.testing.assert_array_equal(got[0][0], m1)
    np.testing.assert_array_equal(got[1][0], m2)
    assert preds.inventory().candidates == {"img1": 2, "img2": 1}
    assert preds.candidates("nope") == []
    # {"annotations": [...]} wrapper, uncompressed list counts, no .json suffix
    h, w = m1.shape
    flat = m1.flatten(order="F").astype(np.uint8)
    runs, cur, n = [], 0, 0
    for v in flat:
        if v != cur:
            runs.append(n)
            cur, n = v, 0
        n += 1
    runs.append(n)
    other = tmp_path / "results.txt"
    other.write_text(json.dumps({"annotations": [{"image_id": 7, "segmentation": {"size": [h, w], "counts": runs},
                                                  "score": 1}]}))
    assert detect_format(other) == "coco-json"
    p2 = open_predictions(other)
    np.testing.assert_array_equal(p2.candidates("7")[0][0], m1)


def test_davis_anno_trees(tmp_path: Path) -> None:
    lab = (np.arange(12 * 16).reshape(12, 16) % 4).astype(np.uint8)
    for k in (0, 2):
        p = write_palette_prediction(tmp_path / "out" / "valid", k, "bear", "00000", lab)
        assert p == tmp_path / "out" / "valid" / f"anno_{k}" / "bear" / "00000.png"
    assert Image.open(p).mode == "P"
    assert detect_format(tmp_path / "out") == "davis-anno"
    preds = open_predictions(tmp_path / "out")
    assert preds.annotators == [0, 2]
    np.testing.assert_array_equal(preds.label_map(2, "bear", "00000"), lab)
    assert preds.label_map(0, "bear", "00001") is None
    write_palette_prediction(tmp_path / "single", None, "bear", "00000", lab)
    single = open_predictions(tmp_path / "single")
    assert detect_format(tmp_path / "single") == "davis-anno" and single.annotators == [None]
    np.testing.assert_array_equal(single.label_map(None, "bear", "00000"), lab)
    with pytest.raises(LvsbenchError, match="label maps"):
        single.mask("bear", "0", "00000")


def test_forced_format_and_unknown_format(tmp_path: Path) -> None:
    write_palette_prediction(tmp_path / "d", None, "s", "00000", np.zeros((4, 4), np.uint8))
    assert open_predictions(tmp_path / "d", format="png-tree").format == "png-tree"
    with pytest.raises(LvsbenchError, match="unknown prediction format"):
        open_predictions(tmp_path / "d", format="bogus")


# ------------------------------------------------------------------------------------------------ malformed inputs


@pytest.mark.parametrize("text,match,where", [
    ("[{\"image_id\": 1,", "invalid JSON", "line 1"),
    ("{\"foo\": 1}", "expected a JSON list", None),
    ("[{\"image_id\": \"a\", \"score\": 1}]", "missing 'segmentation'", "result [0]"),
    ("[{\"image_id\": \"a\", \"score\": \"high\", \"segmentation\": {\"size\": [2, 2], \"counts\": \"04\"}}]",
     "not a finite number", "result [0]"),
    ("[{\"image_id\": \"a\", \"score\": 1, \"segmentation\": [[0, 0, 1, 1]]}]", "must be an RLE", "result [0]"),
    ("[{\"image_id\": \"a\", \"score\": 1, \"segmentation\": {\"size\": [2], \"counts\": \"04\"}}]", r"not \[H, W\]",
     "result [0]"),
])
def test_malformed_coco_json_names_file_and_entry(tmp_path: Path, text: str, match: str, where: str | None) -> None:
    p = tmp_path / "bad.json"
    p.write_text(text)
    with pytest.raises(DataFormatError, match=match) as err:
        open_predictions(p)
    assert str(p) in str(err.value)
    if where:
        assert where in str(err.value)


def test_undecodable_rle_names_file_and_image(tmp_path: Path) -> None:
    p = tmp_path / "r.json"
    p.write_text(json.dumps([{"image_id": "v_x_f_1_i_0", "score": 0.3,
                              "segmentation": {"size": [4, 4], "counts": "\u00ff\u00ff"}}]))
    with pytest.raises(DataFormatError) as err:  # refused when read, before any scoring
        open_predictions(p)
    assert str(p) in str(err.value) and "v_x_f_1_i_0" in str(err.value)


def test_corrupt_png_in_tree_and_zip_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "t" / "v" / "0" / "00000.png"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(DataFormatError) as err:
        open_predictions(tmp_path / "t").mask("v", "0", "00000")
    assert str(bad) in str(err.value)
    z = tmp_path / "s.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("Annotations/v/0/00000.png", b"garbage")
    with pytest.raises(DataFormatError) as err:
        open_predictions(z).mask("v", "0", "00000")
    assert f"{z}!Annotations/v/0/00000.png" in str(err.value)


def test_unreadable_inputs_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="not found") as err:
        open_predictions(tmp_path / "nothing")
    assert "nothing" in str(err.value)
    txt = tmp_path / "preds.bin"
    txt.write_bytes(b"\x00\x01binary")
    with pytest.raises(DataFormatError) as err:
        detect_format(txt)
    assert str(txt) in str(err.value)


def test_stray_files_are_inventoried(tmp_path: Path) -> None:
    write_png_prediction(tmp_path, "v", "0", "00000", _mask())
    (tmp_path / "README.txt").write_text("hi")
    (tmp_path / "v" / "0" / "notes.txt").write_text("hi")
    stray = dict(open_predictions(tmp_path).inventory().stray)
    assert set(stray) == {str(tmp_path / "README.txt"), str(tmp_path / "v" / "0" / "notes.txt")}


# ------------------------------------------------------------------------------------------------ properties


@settings(max_examples=40, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 9), st.integers(1, 9))), st.floats(0, 1))
def test_coco_result_round_trip(mask: np.ndarray, score: float) -> None:
    r = coco_result("x", mask, score)
    assert r["segmentation"] == rle_encode(mask)
    assert r["score"] == score
    json.dumps(r)


@settings(max_examples=25, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 7), st.integers(1, 7))))
def test_png_and_palette_writers_round_trip(tmp_path_factory: pytest.TempPathFactory, arr: np.ndarray) -> None:
    root = tmp_path_factory.mktemp("rt")
    write_png_prediction(root / "png", "v", "e", "f", arr)
    write_palette_prediction(root / "pal", 1, "v", "f", arr)
    np.testing.assert_array_equal(open_predictions(root / "png").mask("v", "e", "f"), arr != 0)
    np.testing.assert_array_equal(open_predictions(root / "pal").label_map(1, "v", "f"), arr)


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40))), st.booleans())
def test_fast_png_decoder_equals_pil(arr: np.ndarray, optimize: bool) -> None:
    import io

    from lvsbench.core.codecs import encode_palette_png, read_binary_png, read_palette_png
    from lvsbench.core.png_decode import decode_png_fast

    pal = encode_palette_png(arr)
    np.testing.assert_array_equal(decode_png_fast(pal), arr)  # palette indices, not colours
    np.testing.assert_array_equal(read_palette_png(pal, require_palette=True), arr)
    buf = io.BytesIO()
    Image.fromarray(arr, mode="L").save(buf, format="PNG", optimize=optimize)
    np.testing.assert_array_equal(decode_png_fast(buf.getvalue()), arr)
    np.testing.assert_array_equal(read_binary_png(buf.getvalue()), arr != 0)
    with pytest.raises(DataFormatError, match="not a palette"):
        read_palette_png(buf.getvalue(), require_palette=True, where="f.png")


def test_fast_png_decoder_declines_other_pngs_and_truncation(tmp_path: Path) -> None:
    import io

    from lvsbench.core.codecs import read_binary_png
    from lvsbench.core.png_decode import decode_png_fast

    rgb = io.BytesIO()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(rgb, format="PNG")
    assert decode_png_fast(rgb.getvalue()) is None
    deep = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint16)).save(deep, format="PNG")
    assert decode_png_fast(deep.getvalue()) is None
    good = io.BytesIO()
    Image.fromarray((_mask(40, 60) * 255).astype(np.uint8), mode="L").save(good, format="PNG")
    half = good.getvalue()[: len(good.getvalue()) // 2]
    assert decode_png_fast(half) is None
    with pytest.raises(DataFormatError, match="truncated") as err:
        read_binary_png(half, where=tmp_path / "x.png")
    assert str(tmp_path / "x.png") in str(err.value)


def test_run_output_folder_with_coco_results_is_scorable_as_is(tmp_path: Path) -> None:
    """`lvsbench run` writes A2D/J-HMDB predictions to <out>/coco_results.json; the folder itself opens."""
    from lvsbench.formats.coco_json import COCO_RESULTS_NAME

    m = _mask(seed=4)
    write_coco_results(tmp_path / COCO_RESULTS_NAME, [coco_result("img1", m, 0.9)])
    (tmp_path / "run.json").write_text("{}")
    assert detect_format(tmp_path) == "coco-json"
    preds = open_predictions(tmp_path)
    np.testing.assert_array_equal(preds.candidates("img1")[0][0], m)
