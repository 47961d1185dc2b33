"""Direct PNG decoding of mask files: inflate the IDAT stream (zlib-ng when installed) and undo the row filters
with numpy, for the 8-bit greyscale / palette masks that dominate prediction trees; anything else returns None and
the caller falls back to OpenCV / Pillow (`lvsbench.core.codecs`); 8-bit grayscale rows that numpy cannot undo
quickly go to libspng when the optional pyspng is installed. Every fast result equals OpenCV's decode: rows
are checked (two-valued rows are exact by construction, others are verified against the filter equations).
"""

from __future__ import annotations

import functools
import struct
import zlib

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_colour_type(data: bytes) -> int | None:
    """IHDR colour type of PNG bytes (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA), None if not a PNG."""
    if len(data) < 26 or data[:8] != PNG_SIGNATURE:
        return None
    return data[25]


def _palette_as_grayscale(data: bytes) -> bytes | None:
    """The same PNG re-labelled as 8-bit grayscale: IHDR colour type 3 -> 0 (CRC recomputed), PLTE and tRNS
    dropped. The compressed samples are untouched, so a grayscale decoder returns the palette indices."""
    out = [data[:8]]
    pos, n = 8, len(data)
    while pos + 12 <= n:
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > n:
            return None
        if ctype == b"IHDR":
            ihdr = bytearray(data[pos + 8:pos + 8 + length])
            ihdr[9] = 0
            out.append(data[pos:pos + 8] + bytes(ihdr) + struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr))))
        elif ctype not in (b"PLTE", b"tRNS"):
            out.append(data[pos:end])
        pos = end
    return b"".join(out)


def _inflate_module():  # noqa: ANN202 - a module with a zlib-compatible `decompress`
    """zlib-ng's inflate when the optional `zlib-ng` package is installed (several times faster than zlib on mask
    PNGs, whose long zero runs make zlib's per-call overhead dominate), else the standard library's zlib. Both
    return the same bytes (the DEFLATE stream and its Adler-32 are checked either way)."""
    try:
        from zlib_ng import zlib_ng

        return zlib_ng
    except ImportError:
        return zlib


_INFLATE = _inflate_module()
_INFLATE_ERRORS: tuple[type[BaseException], ...] = (zlib.error, getattr(_INFLATE, "error", zlib.error))
_MAX_FAST_PIXELS = 1 << 28
"""Frames larger than this go to the general decoder (which applies Pillow's decompression-bomb limit)."""


def _png_chunks(data: bytes) -> tuple[bytes, list[bytes]] | None:
    """(IHDR body, IDAT bodies) of a well-formed PNG (every chunk's CRC checked, as Pillow does) whose critical
    chunks are only those a mask needs; None for anything else (the general decoder then decides, and names the
    error)."""
    pos, n = 8, len(data)
    ihdr: bytes | None = None
    idat: list[bytes] = []
    while pos + 12 <= n:
        (length,) = struct.unpack_from(">I", data, pos)
        ctype = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > n:
            return None
        body = data[pos + 8:pos + 8 + length]
        if struct.unpack_from(">I", data, end - 4)[0] != zlib.crc32(ctype + body):
            return None  # a damaged chunk: Pillow reports it
        if ctype == b"IHDR":
            if ihdr is not None or length != 13:
                return None
            ihdr = body
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"IEND":
            return (ihdr, idat) if ihdr is not None and idat else None
        elif ctype == b"tRNS" and ihdr is not None and ihdr[9] == 0:
            return None  # grayscale with a transparent sample value: leave the interpretation to Pillow
        elif not ctype[:1].islower() and ctype not in (b"PLTE", b"tRNS"):
            return None  # an unknown critical chunk: not ours to skip
        pos = end
    return None


def decode_png_inflate(data: bytes) -> np.ndarray | None:
    """Sample values (uint8, H x W) of a mask PNG decoded by inflating its IDAT stream directly: palette PNGs of
    bit depth 1, 2, 4 or 8 (the indices, as Pillow's 'P' mode gives them) and 8-bit grayscale PNGs, not
    interlaced, whose rows use filter types None (0), Sub (1), Up (2) or, in at most one row in
    `_MAX_PAETH_SHARE`, Paeth (4). An 8-bit grayscale PNG with other rows (Average, more Paeth rows, or Paeth rows
    not reconstructed exactly, `_unfilter`) goes to libspng when pyspng is installed (`_spng_gray`). Returns None
    for every other PNG, so the caller falls back to a general decoder.

    Why: mask PNGs are mostly long zero runs; inflating them is the floor of decoding, and libpng's row-by-row
    machinery costs several times that. DAVIS/YouTube-VOS annotations use filter 0 on every row, OpenCV writes
    Sub, Pillow mixes None/Sub/Up/Paeth (Average rows and many Paeth rows fall back). Reconstruction follows the PNG
    specification (ISO/IEC 15948, section 9: filter arithmetic modulo 256 on bytes, one byte per pixel here).
    Equality with Pillow is fuzzed in the tests.
    """
    if len(data) < 45 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        return None
    parsed = _png_chunks(data)
    if parsed is None:
        return None
    ihdr, idat = parsed
    width, height, depth, colour, compression, filter_method, interlace = struct.unpack(">IIBBBBB", ihdr)
    if compression or filter_method or interlace or not width or not height or width * height > _MAX_FAST_PIXELS:
        return None
    if not (colour == 3 and depth in (1, 2, 4, 8)) and not (colour == 0 and depth == 8):
        return None
    row_bytes = (width * depth + 7) // 8
    try:
        raw = _INFLATE.decompress(b"".join(idat))
    except _INFLATE_ERRORS:
        return None
    if len(raw) != height * (row_bytes + 1):
        return None
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, row_bytes + 1)
    filters = rows[:, 0]
    body = rows[:, 1:]
    if filters.any():
        body = _unfilter(filters, body)
        if body is None:
            return _spng_gray(data, height, width) if colour == 0 else None
    if depth == 8:
        return body if body.flags.writeable else body.copy()  # a contiguous array the caller may modify
    per_byte = 8 // depth
    shifts = np.arange(8 - depth, -1, -depth, dtype=np.uint8)  # most significant sample first
    samples = (body[:, :, None] >> shifts) & np.uint8((1 << depth) - 1)
    return np.ascontiguousarray(samples.reshape(height, row_bytes * per_byte)[:, :width])


@functools.cache
def _spng():  # noqa: ANN202 - the pyspng module or None
    """libspng's decoder (the optional `pyspng` package), imported on first need: twice as fast as OpenCV's
    libpng on the Paeth- and Average-filtered rows that Pillow's adaptive filtering writes."""
    try:
        import pyspng

        return pyspng
    except ImportError:
        return None


def _spng_gray(data: bytes, height: int, width: int) -> np.ndarray | None:
    """The samples of an 8-bit grayscale PNG that `decode_png_inflate` has already checked (chunks, CRCs, no tRNS,
    not interlaced, inflated stream of the right length) but whose filters it does not undo, by libspng (decode
    flags 0: no gamma or other transformation, the samples as stored); None when pyspng is not installed or
    refuses the file (the caller falls back to OpenCV). Equality with Pillow is fuzzed in the tests."""
    spng = _spng()
    if spng is None:
        return None
    try:
        arr = spng.load(data, "L")
    except RuntimeError:
        return None
    if arr.shape != (height, width) or arr.dtype != np.uint8:
        return None
    return np.ascontiguousarray(arr) if arr.flags.writeable else arr.copy()


_MAX_PAETH_SHARE = 40
"""Paeth rows are reconstructed one row at a time (`_unpaeth_row`); beyond one Paeth row in this many rows (12 in
a 480-row frame) OpenCV's decoder is faster (measured on Pillow-written 480x854 masks), and the direct path gives
up (libspng, when installed, is faster still: about as fast per file as the direct path without Paeth rows)."""


def _unfilter(filters: np.ndarray, body: np.ndarray) -> np.ndarray | None:
    """Undo PNG filters None/Sub/Up/Paeth for one-byte pixels (None when a row uses Average, or when Paeth rows
    are too many or not all reconstructed exactly). Consecutive rows with the same filter are reconstructed
    together: Sub is a running sum along the row, a run of Up rows a running sum down the columns starting from the
    row above the run (both modulo 256, as uint8 arithmetic is); Paeth rows one by one (`_unpaeth_row`), then
    checked all at once (`_paeth_exact`)."""
    top = int(filters.max())
    if top > 4 or (top > 2 and (bool((filters == 3).any())
                                or int(np.count_nonzero(filters == 4)) * _MAX_PAETH_SHARE > filters.size)):
        return None
    out = body.copy()
    change = np.flatnonzero(np.diff(filters)) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [len(filters)]))
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        kind = int(filters[a])
        if kind == 1:
            np.cumsum(out[a:b], axis=1, dtype=np.uint8, out=out[a:b])
        elif kind == 2 and max(a, 1) < b:  # Up on the first row adds the zero row above it: nothing to do
            _unup(out, max(a, 1), b)
        elif kind == 4:
            for y in range(a, b):
                out[y] = _unpaeth_row(out[y], out[y - 1] if y else np.zeros_like(out[y]))
    if top == 4 and not _paeth_exact(filters, body, out):
        return None
    return out


def _unup(out: np.ndarray, a: int, b: int) -> None:
    """Undo Up on rows a..b-1 (a >= 1) of `out` in place: each row is the running sum down the columns of its
    filtered bytes, starting from row a - 1. In a mask the filtered bytes are zero except near the object's edges,
    so the columns where every filtered byte of the run is zero are copies of row a - 1 (one broadcast each side),
    and only the columns in between are accumulated, all rows at once (7x faster than row-by-row additions on
    480x854 masks)."""
    block = out[a:b]
    cols = np.flatnonzero(np.maximum.reduce(block, axis=0))
    if cols.size == 0:
        block[:] = out[a - 1]
        return
    c0, c1 = int(cols[0]), int(cols[-1]) + 1
    block[:, :c0] = out[a - 1, :c0]
    block[:, c1:] = out[a - 1, c1:]
    inner = block[:, c0:c1]
    inner[0] += out[a - 1, c0:c1]
    np.add.accumulate(inner, axis=0, dtype=np.uint8, out=inner)


def _unpaeth_row(filt: np.ndarray, up: np.ndarray) -> np.ndarray:
    """A candidate reconstruction of one Paeth row (PNG specification 9.4), exact where it passes `_paeth_exact`.

    With a, b, c the reconstructed left, upper and upper-left bytes: where b == c, pa = |b - c| = 0 and the
    predictor is a, so the row is a running sum of its filtered bytes (as Sub). Where b != c the predictor depends
    on a; the candidate takes b, which is exact for two-valued rows (0/255 masks: a equals b or c, and either way
    the predictor is b) and is checked afterwards for any other content. At x = 0, a = c = 0 and the predictor is b.
    So the row is a running sum restarted from b at every position where b != c: few in a mask row (its edges)."""
    out = np.cumsum(filt, dtype=np.uint8)
    restarts = (np.flatnonzero(up[1:] != up[:-1]) + 1).tolist()
    if up[0]:
        restarts.insert(0, 0)
    for s in restarts:  # out[s] must be filt[s] + up[s]; it is filt[s] + out[s - 1] (0 for s = 0)
        delta = int(up[s]) - int(out[s - 1]) if s else int(up[s])
        if delta:
            out[s:] += np.uint8(delta % 256)
    return out


def _paeth_exact(filters: np.ndarray, body: np.ndarray, out: np.ndarray) -> bool:
    """Whether every Paeth row of `out` satisfies its filter equation out = body + Paeth(left, up, up-left) (mod
    256) with the neighbours taken from `out` itself. The rows above the first Paeth row are exact (None/Sub/Up);
    if the equations hold, each Paeth row is the unique solution given the row above it (the equation fixes each
    byte from the one on its left), so by induction down the rows `out` is the exact reconstruction.

    Shortcut: when the Paeth rows and the rows above them hold at most two distinct values (a 0/255 mask), every
    candidate is exact without evaluating the equations: by induction along each row, the left, upper and
    upper-left bytes are exact and two-valued, so where upper != upper-left the left byte equals one of them and the
    predictor is the upper byte, which is the candidate's choice (`_unpaeth_row`)."""
    ys = np.flatnonzero(filters == 4)
    near = out[np.union1d(ys, ys[ys > 0] - 1)]
    lo, hi = near.min(), near.max()
    if not np.count_nonzero((near != lo) & (near != hi)):
        return True
    cur = out[ys].astype(np.int16)
    up = np.zeros_like(cur)
    above = ys > 0
    up[above] = out[ys[above] - 1]
    left = np.zeros_like(cur)
    left[:, 1:] = cur[:, :-1]
    up_left = np.zeros_like(cur)
    up_left[:, 1:] = up[:, :-1]
    p = left + up - up_left
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - up_left)
    pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, up_left))
    return bool(np.array_equal((body[ys] + pred.astype(np.uint8)), out[ys]))


def decode_png_fast(data: bytes) -> np.ndarray | None:
    """Sample values (uint8, H x W) of an 8-bit-or-less grayscale or palette PNG by the fastest exact path: the
    direct inflate (`decode_png_inflate`), else OpenCV; None for any other PNG (other depths or colour types,
    transparency) or when neither can decode it, so that the caller falls back to PIL, which raises the error
    that names the file.

    OpenCV's libpng/zlib decode is about 1.5x faster than PIL's, but OpenCV expands palette images to colour;
    re-labelling the header as grayscale keeps the indices exact (the pixel data is not touched). Equality with PIL
    is tested on random label maps.
    """
    direct = decode_png_inflate(data)
    if direct is not None:
        return direct
    if len(data) < 45 or data[:8] != PNG_SIGNATURE or _png_chunks(data) is None:
        return None  # damaged or unusual: Pillow names the problem (OpenCV would only print a warning)
    bit_depth, colour_type = data[24], data[25]
    if bit_depth != 8 or colour_type not in (0, 3):
        return None
    if colour_type == 3:
        relabelled = _palette_as_grayscale(data)
        if relabelled is None:
            return None
        data = relabelled
    elif b"tRNS" in data:
        return None
    import cv2

    try:
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        return None
    if arr is None or arr.ndim != 2 or arr.dtype != np.uint8:
        return None
    return arr


__all__ = ["PNG_SIGNATURE", "decode_png_fast", "decode_png_inflate", "png_colour_type"]
