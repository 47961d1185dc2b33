"""The direct-inflate PNG path (`decode_png_inflate`) against Pillow, the reference decoder: every mask layout it
accepts must decode to exactly Pillow's samples, and everything else must fall back (return None)."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from lvsbench.core import codecs, png_decode
from lvsbench.core.codecs import encode_palette_png, read_binary_png, read_palette_png
from lvsbench.core.png_decode import decode_png_inflate


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(samples: np.ndarray, depth: int, colour: int, filters: list[int]) -> bytes:
    """A PNG written by the specification's forward filters (None/Sub/Up/Average/Paeth per row), independent of
    both decoders under test."""
    h, w = samples.shape
    per_byte = 8 // depth
    row_bytes = (w * depth + 7) // 8
    packed = np.zeros((h, row_bytes), dtype=np.uint8)
    for x in range(w):
        packed[:, x // per_byte] |= (samples[:, x].astype(np.uint8) << (8 - depth * (x % per_byte + 1)))
    out = bytearray()
    prev = np.zeros(row_bytes, dtype=np.int32)
    for y in range(h):
        cur = packed[y].astype(np.int32)
        left = np.concatenate(([0], cur[:-1]))
        up_left = np.concatenate(([0], prev[:-1]))
        kind = filters[y % len(filters)]
        if kind == 0:
            filt = cur
        elif kind == 1:
            filt = cur - left
        elif kind == 2:
            filt = cur - prev
        elif kind == 3:
            filt = cur - (left + prev) // 2
        else:
            p = left + prev - up_left
            pa, pb, pc = np.abs(p - left), np.abs(p - prev), np.abs(p - up_left)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, up_left))
            filt = cur - pred
        out.append(kind)
        out += (filt % 256).astype(np.uint8).tobytes()
        prev = cur
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    chunks = _chunk(b"IHDR", ihdr)
    if colour == 3:
        chunks += _chunk(b"PLTE", codecs.DAVIS_PALETTE[: 1 << depth].tobytes())
    return b"\x89PNG\r\n\x1a\n" + chunks + _chunk(b"IDAT", zlib.compress(bytes(out))) + _chunk(b"IEND", b"")


def _pillow(data: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(data))
    img.load()
    return np.asarray(img, dtype=np.uint8)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[np.ndarray, int, int, list[int]]:
    h = draw(st.integers(1, 24))
    w = draw(st.integers(1, 40))
    colour, depth = draw(st.sampled_from([(3, 1), (3, 2), (3, 4), (3, 8), (0, 8)]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    hi = (1 << depth) - 1
    samples = rng.integers(0, hi + 1, size=(h, w)).astype(np.uint8)
    if draw(st.booleans()):  # masks are mostly runs: blank a large part
        samples[rng.random((h, w)) < 0.7] = 0
    filters = draw(st.lists(st.integers(0, 2), min_size=1, max_size=5))
    return samples, depth, colour, filters


@settings(max_examples=300, deadline=None)
@given(_cases())
def test_inflate_path_equals_pillow(case: tuple[np.ndarray, int, int, list[int]]) -> None:
    samples, depth, colour, filters = case
    data = _png(samples, depth, colour, filters)
    got = decode_png_inflate(data)
    assert got is not None  # every layout drawn here is one the fast path handles
    np.testing.assert_array_equal(got, samples)
    np.testing.assert_array_equal(got, _pillow(data))
    assert got.flags.writeable and got.flags.c_contiguous


@settings(max_examples=60, deadline=None)
@given(_cases())
def test_average_and_paeth_rows_fall_back_and_readers_still_match(case: tuple[np.ndarray, int, int, list[int]]
                                                                   ) -> None:
    samples, depth, colour, filters = case
    data = _png(samples, depth, colour, [*filters, 3, 4])
    if samples.shape[0] > len(filters):  # an Average or Paeth row is present
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(png_decode, "_spng", lambda: None)  # the numpy path alone (libspng: `test_libspng_...`)
            assert decode_png_inflate(data) is None
    ref = _pillow(data)
    if colour == 3:
        np.testing.assert_array_equal(read_palette_png(data), ref)
    np.testing.assert_array_equal(read_binary_png(data), ref != 0)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 30), st.integers(1, 50), st.integers(0, 2**32 - 1), st.integers(1, 255))
def test_files_written_by_pillow_and_opencv(h: int, w: int, seed: int, n_labels: int) -> None:
    """What users' code writes: Pillow palette/grayscale (adaptive filters, small bit depths) and OpenCV (Sub)."""
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, n_labels + 1, size=(h, w)).astype(np.uint8)
    lab[rng.random((h, w)) < 0.6] = 0
    pal = encode_palette_png(lab)
    np.testing.assert_array_equal(read_palette_png(pal), lab)
    gray = io.BytesIO()
    Image.fromarray(lab, mode="L").save(gray, format="PNG")
    np.testing.assert_array_equal(read_binary_png(gray.getvalue()), lab != 0)
    ok, buf = cv2.imencode(".png", lab)
    assert ok
    fast = decode_png_inflate(buf.tobytes())
    assert fast is not None  # OpenCV writes Sub rows only
    np.testing.assert_array_equal(fast, lab)


@settings(max_examples=150, deadline=None)
@given(_cases(), st.data())
def test_damaged_files_never_decode_to_other_values(case: tuple[np.ndarray, int, int, list[int]],
                                                    data: st.DataObject) -> None:
    samples, depth, colour, filters = case
    png = bytearray(_png(samples, depth, colour, filters))
    pos = data.draw(st.integers(8, len(png) - 1))
    png[pos] ^= data.draw(st.integers(1, 255))
    got = decode_png_inflate(bytes(png))
    if got is None:
        return
    np.testing.assert_array_equal(got, _pillow(bytes(png)))


def test_standard_zlib_gives_the_same_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    """The optional zlib-ng inflate and the standard library's are interchangeable."""
    rng = np.random.default_rng(7)
    lab = (rng.random((48, 64)) < 0.3).astype(np.uint8) * 3
    data = _png(lab, 8, 3, [0, 1, 2])
    fast = decode_png_inflate(data)
    monkeypatch.setattr(png_decode, "_INFLATE", zlib)
    np.testing.assert_array_equal(decode_png_inflate(data), fast)
    np.testing.assert_array_equal(fast, lab)


def test_other_layouts_fall_back() -> None:
    lab = np.arange(12, dtype=np.uint8).reshape(3, 4)
    interlaced = bytearray(_png(lab, 8, 0, [0]))
    interlaced[28] = 1  # IHDR interlace byte; fix the CRC so only the layout differs
    interlaced[29:33] = struct.pack(">I", zlib.crc32(bytes(interlaced[12:29])))
    assert decode_png_inflate(bytes(interlaced)) is None
    gray4 = _png(lab % 16, 4, 0, [0])  # Pillow scales low-depth grayscale: leave it to Pillow
    assert decode_png_inflate(gray4) is None
    rgb = io.BytesIO()
    Image.fromarray(np.zeros((3, 4, 3), np.uint8)).save(rgb, format="PNG")
    assert decode_png_inflate(rgb.getvalue()) is None
    assert decode_png_inflate(b"not a png at all, just bytes long enough to be looked at") is None


@pytest.mark.parametrize("data", [b"hello world" * 10, b"\x89PNG\r\n\x1a\n" + b"x" * 100, b"GIF89a" + bytes(60)])
def test_unreadable_files_give_one_clean_message(data: bytes, capfd: pytest.CaptureFixture[str]) -> None:
    """The message names the file and says what is wrong, with no library object reprs or OpenCV warnings."""
    from lvsbench.core.errors import DataFormatError

    with pytest.raises(DataFormatError) as info:
        read_binary_png(data, where="preds/v1/0/00000.png")
    text = str(info.value)
    assert text.startswith("preds/v1/0/00000.png") and "0x" not in text and "<_io" not in text
    out, err = capfd.readouterr()
    assert "[ WARN" not in out + err


# ------------------------------------------------------------------ Paeth rows (candidate + exactness check)


@st.composite
def _paeth_cases(draw: st.DrawFn) -> tuple[np.ndarray, int, int, list[int]]:
    """Masks with Paeth rows among None/Sub/Up rows: two-valued (0/v, where the candidate is always exact),
    few-valued and arbitrary (where it is checked), at every depth the direct path reads."""
    h = draw(st.integers(1, 24))
    w = draw(st.integers(1, 40))
    colour, depth = draw(st.sampled_from([(0, 8), (0, 8), (3, 8), (3, 1), (3, 2), (3, 4)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    hi = (1 << depth) - 1
    kind = draw(st.sampled_from(["two-valued", "blobs", "few", "noise"]))
    if kind in ("two-valued", "blobs"):
        v = draw(st.integers(1, hi))
        samples = np.zeros((h, w), np.uint8)
        if kind == "blobs":
            for _ in range(draw(st.integers(1, 3))):
                y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
                samples[y0:y0 + int(rng.integers(1, h + 1)), x0:x0 + int(rng.integers(1, w + 1))] = v
        else:
            samples[rng.random((h, w)) < rng.random()] = v
    elif kind == "few":
        samples = rng.choice(np.array([0, hi // 2, hi], np.uint8), size=(h, w))
    else:
        samples = rng.integers(0, hi + 1, size=(h, w)).astype(np.uint8)
    filters = draw(st.lists(st.sampled_from([0, 1, 2, 4, 4]), min_size=1, max_size=6))
    return samples, depth, colour, filters


@settings(max_examples=300, deadline=None)
@given(_paeth_cases())
def test_paeth_rows_decode_exactly_or_fall_back(case: tuple[np.ndarray, int, int, list[int]]) -> None:
    samples, depth, colour, filters = case
    data = _png(samples, depth, colour, filters)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(png_decode, "_MAX_PAETH_SHARE", 1)  # small images: any number of Paeth rows takes the path
        got = decode_png_inflate(data)
    if depth == 8 and len(np.unique(samples)) <= 2:
        assert got is not None  # two-valued bytes: the candidate is the reconstruction
    if got is not None:
        np.testing.assert_array_equal(got, samples)
        np.testing.assert_array_equal(got, _pillow(data))
        assert got.flags.writeable and got.flags.c_contiguous
    if colour == 3:
        np.testing.assert_array_equal(read_palette_png(data), samples)
    np.testing.assert_array_equal(read_binary_png(data), samples != 0)


def test_paeth_candidate_rejected_when_not_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """At (1, 2) upper (10) != upper-left (0) and the left byte is 100: Paeth predicts the left byte (|p - a| = 10 is
    the smallest), the candidate the upper one; the check sends the file to the general decoder."""
    monkeypatch.setattr(png_decode, "_MAX_PAETH_SHARE", 1)
    monkeypatch.setattr(png_decode, "_spng", lambda: None)
    samples = np.array([[0, 0, 10], [100, 100, 50]], np.uint8)
    data = _png(samples, 8, 0, [0, 4])
    assert decode_png_inflate(data) is None
    np.testing.assert_array_equal(read_binary_png(data), samples != 0)


def test_too_many_paeth_rows_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(png_decode, "_spng", lambda: None)
    samples = np.zeros((80, 30), np.uint8)
    samples[10:70, 5:25] = 255
    assert decode_png_inflate(_png(samples, 8, 0, [0] * 39 + [4])) is not None  # 2 Paeth rows in 80
    assert decode_png_inflate(_png(samples, 8, 0, [0] * 25 + [4])) is None  # 3 rows: more than 1 in 40


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_pillow_written_binary_masks(seed: int) -> None:
    """0/255 masks as `write_png_prediction`-style code writes them with Pillow (adaptive filters: None, Sub, Up
    and some Paeth rows), at a frame size where the direct path takes them."""
    rng = np.random.default_rng(seed)
    h, w = 240, int(rng.integers(100, 428))
    m = np.zeros((h, w), np.uint8)
    yy, xx = np.mgrid[:h, :w]
    for _ in range(int(rng.integers(1, 4))):
        cy, cx, ry, rx = rng.integers(0, h), rng.integers(0, w), rng.integers(5, 80), rng.integers(5, 80)
        m[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = 255
    buf = io.BytesIO()
    Image.fromarray(m, mode="L").save(buf, format="PNG")
    data = buf.getvalue()
    got = decode_png_inflate(data)
    if got is not None:
        np.testing.assert_array_equal(got, m)
    np.testing.assert_array_equal(read_binary_png(data), m != 0)


@settings(max_examples=300, deadline=None)
@given(_paeth_cases(), st.lists(st.sampled_from([0, 1, 2, 3, 4]), min_size=1, max_size=6))
def test_libspng_decodes_what_the_numpy_path_leaves(case: tuple[np.ndarray, int, int, list[int]],
                                                     filters: list[int]) -> None:
    """8-bit grayscale files with Average or many Paeth rows go to libspng (the optional pyspng): exactly Pillow's
    and OpenCV's samples, a writeable C-contiguous array; without pyspng they fall back (None)."""
    pytest.importorskip("pyspng")
    samples, depth, colour, _ = case
    data = _png(samples, depth, colour, filters)
    got = decode_png_inflate(data)
    if colour == 0 and depth == 8:
        assert got is not None
    if got is not None:
        np.testing.assert_array_equal(got, samples)
        np.testing.assert_array_equal(got, _pillow(data))
        if colour == 0:
            np.testing.assert_array_equal(got, cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE))
        assert got.flags.writeable and got.flags.c_contiguous
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(png_decode, "_spng", lambda: None)
        alone = decode_png_inflate(data)
    assert alone is None or np.array_equal(alone, samples)
    if set(filters[:samples.shape[0]]) & {3}:
        assert alone is None  # Average rows: only libspng takes them
