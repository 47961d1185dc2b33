"""Malformed and hostile inputs: every case is a named error (exit 2, the file named) or the unmutated result.

- The generated suite (`tests/malformed.py`, `tests/malformed_native.py`): ~700 mutations of `lvsbench synth`
  datasets (A2D with its .h5 masks, J-HMDB with its .mat masks, Refer-YouTube-VOS, Ref-DAVIS17, MeViS, ReVOS,
  Ref-SAV, Long-RVOS, ReasonVOS, the lvsbench layout) and of their oracle predictions (PNG trees of every protocol,
  zip, COCO RLE, Ref-SAV RLE JSON, DAVIS runs), run through `datasets info --check`, `layout validate` and `score`.
- Hypothesis fuzzing of the parsers: only `LvsbenchError` may escape.
- Hostile files: zip slip, zip bomb, absolute and `../` ids, a pickle payload in a checkpoint.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lvsbench.core.codecs import read_binary_png, read_palette_png, rle_decode, rle_encode, rle_problem
from lvsbench.core.errors import DataFormatError, LvsbenchError
from lvsbench.core.ids import check_id, id_problem
from lvsbench.core.textfiles import load_json, read_text
from lvsbench.formats.coco_json import CocoPredictions
from lvsbench.formats.png_tree import PngZipPredictions
from tests.malformed import run_suite

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_generated_suite_names_every_error_or_equals_the_baseline(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    res = run_suite(tmp_path)
    bad = [f"{k} {c} [{cmd}]: {out[-300:]}" for k in ("traceback", "silent") for c, cmd, out in res[k]]
    assert not bad, "\n".join(bad)
    assert res["cases"][0] >= 700
    assert len(res["named"]) > 1000 and len(res["baseline"]) > 250  # both outcomes are exercised
    # MeViS / ReVOS prediction PNGs with alpha: the official grey reading, with the file named in `warnings`
    assert {c.rsplit(":", 1)[1] for c, _, _ in res["warned"]} == {"rgba", "gray-alpha"}
    print(f"malformed-input suite: {res['cases'][0]} cases, {len(res['named'])} named errors, "
          f"{len(res['baseline'])} baseline-equal, {len(res['warned'])} official values with a named warning, "
          f"0 tracebacks, 0 silent ({time.perf_counter() - t0:.0f}s)")


# ------------------------------------------------------------------------------------------ fuzzing


def _must_be_ours(fn, *args) -> None:  # noqa: ANN001
    try:
        fn(*args)
    except LvsbenchError:
        pass


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_text_and_json_readers(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "f.json"
    p.write_bytes(data)
    _must_be_ours(read_text, p)
    _must_be_ours(load_json, p)
    _must_be_ours(CocoPredictions, p)


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_png_readers(data: bytes) -> None:
    for blob in (data, b"\x89PNG\r\n\x1a\n" + data):
        _must_be_ours(read_binary_png, blob, "x.png")
        _must_be_ours(read_palette_png, blob, False, "x.png")


@FUZZ
@given(st.dictionaries(st.sampled_from(["size", "counts"]),
                       st.one_of(st.text(max_size=20), st.lists(st.integers(-5, 50), max_size=6),
                                 st.integers(), st.none())))
def test_fuzz_rle(rle: dict) -> None:
    if rle_problem(rle) is None:
        m = rle_decode(rle)  # a valid RLE decodes to its size
        assert m.shape == tuple(rle["size"])
    else:
        with pytest.raises(ValueError):
            rle_decode(rle)


ZIP_NAMES = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=12)


@FUZZ
@given(st.lists(st.tuples(ZIP_NAMES,
                          st.binary(max_size=40)), max_size=5))
def test_fuzz_zip(tmp_path: Path, members: list[tuple[str, bytes]]) -> None:
    z = tmp_path / "p.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for name, data in members:
            if name:
                zf.writestr(name, data)
    try:
        preds = PngZipPredictions(z)
        inv = preds.inventory()
        for v, e in inv.items:
            for f in inv.items[(v, e)]:
                _must_be_ours(preds.mask, v, e, f)
    except LvsbenchError:
        pass


@given(st.text(max_size=30))
def test_ids_never_escape(value: str) -> None:
    if id_problem(value) is None:
        assert "/" not in value and "\\" not in value and value not in (".", "..") and "\0" not in value
        assert (Path("/base") / value).resolve().parent == Path("/base")


def test_rle_valid_round_trip_and_bad_counts() -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        m = rng.random((int(rng.integers(1, 20)), int(rng.integers(1, 20)))) < 0.4
        r = rle_encode(m)
        assert rle_problem(r) is None and (rle_decode(r) == m).all()
    assert "cover 10 pixels" in rle_problem({"size": [10, 10], "counts": [4, 6]})
    assert "alphabet" in rle_problem({"size": [2, 2], "counts": "~~"})


# ------------------------------------------------------------------------------------------ hostile files


def test_zip_bomb_refused_quickly_without_expanding(tmp_path: Path) -> None:
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Annotations/v/0/00000.png", b"\0" * (1 << 30))  # 1 GiB of zeros -> about 1 MB
    assert z.stat().st_size < 4 << 20
    t0 = time.perf_counter()
    with pytest.raises(DataFormatError, match="refused unread"):
        PngZipPredictions(z).inventory()
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("name", ["../evil.png", "/abs/evil.png", "Annotations/../../evil.png", "a\\..\\evil.png",
                                  "v/e/\x01.png"])
def test_zip_slip_names_refused(tmp_path: Path, name: str) -> None:
    z = tmp_path / "slip.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(name, b"x")
    with pytest.raises(DataFormatError, match="unsafe member name"):
        PngZipPredictions(z).inventory()


@pytest.mark.parametrize("bad", ["/etc/passwd", "../up", "a/b", "..", "x\x00y", "a\\b", "\n"])
def test_hostile_ids_refused(bad: str) -> None:
    with pytest.raises(DataFormatError, match="bad video id"):
        check_id(bad, "video id", "meta.json", "videos")
    assert check_id("-0M4B2GNBjk", "video id", None) == "-0M4B2GNBjk"  # A2D ids may start with '-'
    assert check_id("#20_Rhythm_(clap)!_u_nm", "video id", None)


def test_absolute_expression_id_never_written_outside(tmp_path: Path) -> None:
    from lvsbench.cli import main

    root = tmp_path / "ryvos"
    with pytest.raises(SystemExit):
        main(["synth", "ryvos", "--out", str(root), "--videos", "1", "--frames", "4"])
    meta = root / "meta_expressions" / "train" / "meta_expressions.json"
    doc = json.loads(meta.read_text())
    vid = next(iter(doc["videos"]))
    exps = doc["videos"][vid]["expressions"]
    exps[str(tmp_path / "escaped")] = exps.pop(next(iter(exps)))
    meta.write_text(json.dumps(doc))
    out = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        import contextlib

        with contextlib.redirect_stderr(out):
            main(["run", "oracle", "--dataset", "ryvos", "--root", str(root), "--split", "train", "--out",
                  str(tmp_path / "run")])
    assert exc.value.code == 2 and "expression id" in out.getvalue() and "meta_expressions.json" in out.getvalue()
    assert not (tmp_path / "escaped").exists()


def test_imagesets_entry_with_dotdot_refused(tmp_path: Path) -> None:
    from lvsbench.datasets.davis import read_image_set

    p = tmp_path / "val.txt"
    p.write_text("bike-packing\n../../etc\n")
    with pytest.raises(DataFormatError, match="entry 2"):
        read_image_set(p)


class _Payload:
    def __reduce__(self):  # noqa: ANN204 - what a hostile checkpoint holds
        return (os.mkdir, (str(Path(os.environ["LVSBENCH_PAYLOAD_DIR"]) / "pwned"),))


def test_pickle_payload_checkpoint_does_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    from lvsbench.adapters.checkpoints import load_checkpoint

    monkeypatch.setenv("LVSBENCH_PAYLOAD_DIR", str(tmp_path))
    ckpt = tmp_path / "evil.pth"
    torch.save({"model": _Payload()}, ckpt)
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(LvsbenchError, match="trust"):
        load_checkpoint(ckpt)
    assert not (tmp_path / "pwned").exists()


def test_load_json_names_the_first_repeated_key(tmp_path: Path) -> None:
    """A key given twice in one object is refused with its name (a JSON reader silently keeps the last one), at
    any depth; the same key in different objects is fine."""
    p = tmp_path / "r.json"
    p.write_text('[{"a": 1, "b": 2}, {"a": 3, "seg": {"size": [1, 1], "counts": "x", "size": [2, 2]}, "b": 4}]')
    with pytest.raises(DataFormatError, match="key 'size' is given twice") as info:
        load_json(p)
    assert info.value.path == p
    p.write_text('[{"a": 1, "b": {"a": 2}}, {"a": 3}]')
    assert load_json(p) == [{"a": 1, "b": {"a": 2}}, {"a": 3}]
