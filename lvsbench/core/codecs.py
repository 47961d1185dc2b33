"""Mask codecs: COCO RLE, binary PNG, palette (indexed) PNG, label map <-> per-object masks.

Palette PNGs are read with PIL in 'P' mode so indices survive (cv2 grayscale converts a palette to luminance,
which silently changes object ids). Binary PNG reading treats any non-zero value as foreground, which covers
0/255 and 0/1 files alike.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError
from pycocotools import mask as coco_mask

from lvsbench.core.errors import DataFormatError


def _davis_palette() -> np.ndarray:
    """The 256-colour palette of DAVIS / YouTube-VOS annotation PNGs (PASCAL VOC bit-interleaving scheme)."""
    pal = np.zeros((256, 3), dtype=np.uint8)
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal[i] = (r, g, b)
    return pal


DAVIS_PALETTE: np.ndarray = _davis_palette()


# ---------------------------------------------------------------- COCO RLE


def rle_encode(mask: np.ndarray) -> dict:
    """Encode a 2-D binary mask as COCO compressed RLE with a str `counts` (JSON-serialisable)."""
    if mask.ndim != 2:
        raise ValueError(f"rle_encode expects a 2-D mask, got shape {mask.shape}")
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8, copy=False)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


MAX_MASK_PIXELS = 1 << 27
"""Largest mask accepted (134 Mpx, 8x an 8K frame): a header or RLE claiming more is refused before any
allocation, as Pillow refuses decompression bombs."""


def _rle_string_runs(counts: bytes) -> list[int]:
    """Run lengths of a compressed COCO RLE string (6-bit groups, continuation bit 0x20, sign bit 0x10, runs after
    the second stored as differences to the run two before), as pycocotools' `rleFrString` reads it
    (cocodataset/cocoapi, common/maskApi.c). Raises ValueError on a character outside the alphabet or a cut-off
    group, where pycocotools would read garbage."""
    runs: list[int] = []
    i, n = 0, len(counts)
    while i < n:
        x, k, more = 0, 0, True
        while more:
            if i >= n:
                raise ValueError("counts string ends inside a run length")
            c = counts[i] - 48
            if not 0 <= c < 64:
                raise ValueError(f"counts character {chr(counts[i])!r} outside the RLE alphabet")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            i += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
            if k > 13:
                raise ValueError("run length too long")
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return runs


def _rle_string_runs_fast(counts: bytes) -> np.ndarray | None:
    """`_rle_string_runs` vectorised (int64), for the strings it can decode exactly: every character in the
    alphabet, no cut-off group, groups of at most 6 characters (30-bit signed values), and few enough groups that
    no sum can leave int64. None otherwise, so that the caller runs `_rle_string_runs`, which names the problem.

    A group's characters are 5-bit digits, least significant first, each with a continuation bit (0x20); the last
    one's 0x10 bit sign-extends (x |= -1 << 5k, i.e. x - 2**5k for the non-negative x). Run m > 2 adds run m - 2,
    so odd runs are the running sum of the odd values and even runs from index 2 that of the even values."""
    c = np.frombuffer(counts, dtype=np.uint8) - np.uint8(48)  # a character below '0' wraps to >= 208
    if c.size == 0:
        return np.zeros(0, dtype=np.int64)
    if int(c.max()) >= 64 or c[-1] & 0x20:
        return None
    ends = np.flatnonzero((c & 0x20) == 0)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts + 1
    longest = int(lengths.max())
    if longest > 6 or ends.size * ends.size << (5 * longest) >= 1 << 62:
        return None
    digit = np.arange(c.size, dtype=np.int64) - np.repeat(starts, lengths)
    x = np.add.reduceat((c & 0x1F).astype(np.int64) << (5 * digit), starts)
    neg = (c[ends] & 0x10) != 0
    x[neg] -= np.left_shift(np.int64(1), 5 * lengths[neg])
    np.cumsum(x[1::2], out=x[1::2])
    np.cumsum(x[2::2], out=x[2::2])
    return x


def _rle_runs(rle: Any) -> tuple[int, int, np.ndarray] | str:
    """(H, W, run lengths) of a valid COCO RLE, or why it is not one (`rle_problem`'s rules and messages)."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        return "segmentation must be an RLE {size, counts}"
    size = rle["size"]
    if not (isinstance(size, list | tuple) and len(size) == 2
            and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in size)):
        return f"segmentation size {size!r} is not [H, W]"
    h, w = size
    if h * w > MAX_MASK_PIXELS:
        return f"segmentation size {h}x{w} is larger than {MAX_MASK_PIXELS} pixels"
    counts = rle["counts"]
    if isinstance(counts, list):
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            return "counts list must hold non-negative integers"
        total = sum(counts)
        runs = np.asarray(counts, dtype=np.int64) if total == h * w else None
    elif isinstance(counts, str | bytes):
        try:
            raw = counts.encode("ascii") if isinstance(counts, str) else counts
        except UnicodeEncodeError as exc:
            return f"counts string is not COCO RLE: {exc}"
        runs = _rle_string_runs_fast(raw)
        if runs is None:
            try:
                exact = _rle_string_runs(raw)
            except ValueError as exc:
                return f"counts string is not COCO RLE: {exc}"
            if any(r < 0 for r in exact):
                return "counts string decodes to a negative run length"
            total = sum(exact)
            runs = np.asarray(exact, dtype=np.int64) if total == h * w else None
        else:
            if runs.size and int(runs.min()) < 0:
                return "counts string decodes to a negative run length"
            total = int(runs.sum())
    else:
        return "counts must be a string or a list"
    if total != h * w or runs is None:
        return f"counts cover {total} pixels, the size {h}x{w} has {h * w}"
    return h, w, runs


def rle_problem(rle: Any) -> str | None:
    """Why `rle` is not a valid COCO RLE of its size (None when it is): size [H, W] of non-negative ints, counts a
    list of non-negative ints or a compressed string, whose runs cover exactly H*W pixels. pycocotools decodes
    short, long or garbage counts without complaint (short ones padded with background), so this is checked
    first."""
    checked = _rle_runs(rle)
    return checked if isinstance(checked, str) else None


def rle_decode(rle: dict) -> np.ndarray:
    """Decode COCO RLE (compressed str/bytes counts or uncompressed list counts) to a bool mask (H, W), C order.

    Raises ValueError naming the rule when the RLE is malformed (`rle_problem`). The runs are validated first, so
    decoding is pycocotools' `rleDecode` (alternating background / foreground runs in column-major order, starting
    with background) written with `np.repeat`, then one transpose to row-major: equal to `pycocotools.mask.decode`
    (tested), about twice as fast, and without its Fortran-ordered result that made every later row-major
    operation strided."""
    checked = _rle_runs(rle)
    if isinstance(checked, str):
        raise ValueError(checked)
    h, w, runs = checked
    if h == 0 or w == 0:
        return np.zeros((h, w), dtype=bool)
    values = np.zeros(runs.size, dtype=np.uint8)
    values[1::2] = 1
    column_major = np.repeat(values, runs).reshape(w, h)
    import cv2

    return cv2.transpose(column_major).view(bool)


def rle_area(rle: dict) -> int:
    problem = rle_problem(rle)
    if problem is not None:
        raise ValueError(problem)
    h, w = (int(x) for x in rle["size"])
    counts = rle["counts"]
    obj = {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    return int(coco_mask.area(obj))


# ---------------------------------------------------------------- PNG


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_colour_type(data: bytes) -> int | None:
    """IHDR colour type of PNG bytes (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA), None if not a PNG."""
    if len(data) < 26 or data[:8] != _PNG_SIGNATURE:
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
    `_MAX_PAETH_SHARE`, Paeth (4). Returns None for every other PNG (and for Paeth rows not reconstructed exactly,
    `_unfilter`), so the caller falls back to a general decoder.

    Why: mask PNGs are mostly long zero runs; inflating them is the floor of decoding, and libpng's row-by-row
    machinery costs several times that. DAVIS/YouTube-VOS annotations use filter 0 on every row, OpenCV writes
    Sub, Pillow mixes None/Sub/Up/Paeth (Average rows and many Paeth rows fall back). Reconstruction follows the PNG
    specification (ISO/IEC 15948, section 9: filter arithmetic modulo 256 on bytes, one byte per pixel here).
    Equality with Pillow is fuzzed in the tests.
    """
    if len(data) < 45 or data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
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
            return None
    if depth == 8:
        return body if body.flags.writeable else body.copy()  # a contiguous array the caller may modify
    per_byte = 8 // depth
    shifts = np.arange(8 - depth, -1, -depth, dtype=np.uint8)  # most significant sample first
    samples = (body[:, :, None] >> shifts) & np.uint8((1 << depth) - 1)
    return np.ascontiguousarray(samples.reshape(height, row_bytes * per_byte)[:, :width])


_MAX_PAETH_SHARE = 40
"""Paeth rows are reconstructed one row at a time (`_unpaeth_row`); beyond one Paeth row in this many rows (12 in
a 480-row frame) OpenCV's decoder is faster (measured on Pillow-written 480x854 masks), and the direct path gives
up."""


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
        elif kind == 2:
            for y in range(max(a, 1), b):  # Up on the first row adds the zero row above it: nothing to do
                np.add(out[y - 1], out[y], out=out[y])  # row by row: 3x faster than cumsum along axis 0
        elif kind == 4:
            for y in range(a, b):
                out[y] = _unpaeth_row(out[y], out[y - 1] if y else np.zeros_like(out[y]))
    if top == 4 and not _paeth_exact(filters, body, out):
        return None
    return out


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
    if len(data) < 45 or data[:8] != _PNG_SIGNATURE or _png_chunks(data) is None:
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


def _read_source(src: str | Path | bytes, where: str | Path | None) -> tuple[bytes, str | Path | None]:
    """Bytes of a file or buffer, and the name errors should carry (the path unless `where` says otherwise)."""
    if isinstance(src, bytes | bytearray):
        return bytes(src), where
    try:
        return Path(src).read_bytes(), where or src
    except OSError as exc:
        raise DataFormatError(where or src, f"cannot read: {exc}") from exc


def _open(data: bytes, where: str | Path | None) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
        return img
    except Image.DecompressionBombError as exc:
        raise DataFormatError(where, f"image too large to decode safely ({exc}); is the file damaged?") from exc
    except UnidentifiedImageError as exc:
        raise DataFormatError(where, "cannot decode image: not an image file (no PNG or JPEG content that Pillow "
                                     "recognises); write it again as a PNG") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        detail = re.sub(r"\s*<[^<>]* at 0x[0-9a-fA-F]+>", "", str(exc))  # no object reprs in user messages
        raise DataFormatError(where, f"cannot decode image: {detail}") from exc


MASK_MODES = ("1", "L", "P", "I", "I;16", "RGB")
"""Pillow modes a mask PNG may have: one channel (bilevel, gray, palette indices, 16/32-bit gray), where a
non-zero sample is foreground, or RGB, where a pixel with any non-zero channel is foreground. A mode with alpha
(LA, PA, RGBA) is refused: its colour channels are often non-zero everywhere (white, transparent background), so
no rule reads it without guessing."""


def check_png_header(data: bytes, where: str | Path | None) -> None:
    """Refuse what is not a PNG (a JPEG renamed .png) and a header that claims more than `MAX_MASK_PIXELS`."""
    if data[:8] != _PNG_SIGNATURE:
        if data[:4] == _PNG_SIGNATURE[:4]:
            raise DataFormatError(where, "cannot decode image: damaged PNG signature")
        kind = "JPEG" if data[:3] == b"\xff\xd8\xff" else "other"
        raise DataFormatError(where, f"not a PNG file (no PNG signature; {kind} content): masks must be PNG, "
                                     "write it again as a PNG")
    if len(data) >= 24 and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        if w * h > MAX_MASK_PIXELS:
            raise DataFormatError(where, f"PNG header claims {w}x{h} pixels (more than {MAX_MASK_PIXELS}): "
                                         "refused as a decompression bomb")


def read_binary_png(src: str | Path | bytes, where: str | Path | None = None) -> np.ndarray:
    """Read a mask PNG as bool (H, W): any non-zero pixel is foreground (0/255, 0/1 and palette files alike;
    see `MASK_MODES` for the rule of each mode). Errors name `where` (e.g. `archive.zip!member`), else the path."""
    data, where = _read_source(src, where)
    check_png_header(data, where)
    fast = decode_png_fast(data)
    if fast is not None:
        return fast != 0
    img = _open(data, where)
    if img.mode not in MASK_MODES:
        raise DataFormatError(where, f"mask PNG of mode {img.mode} (with alpha or several channels): a mask is "
                                     "a one-channel PNG (L, P or 1; RGB is read as any non-zero channel); "
                                     "save it without alpha")
    arr = np.asarray(img)
    if arr.ndim == 3:
        return arr.any(axis=-1)
    return arr != 0


def encode_binary_png(mask: np.ndarray) -> bytes:
    """Binary mask -> 8-bit grayscale PNG bytes with values 0/255 (the Refer-YouTube-VOS submission format)."""
    buf = io.BytesIO()
    Image.fromarray((np.asarray(mask) != 0).astype(np.uint8) * 255, mode="L").save(buf, format="PNG")
    return buf.getvalue()


def write_binary_png(path: str | Path, mask: np.ndarray) -> None:
    from lvsbench.core.io import atomic_write_bytes

    atomic_write_bytes(path, encode_binary_png(mask))


def read_palette_png(src: str | Path | bytes, require_palette: bool = True,
                     where: str | Path | None = None) -> np.ndarray:
    """Read an indexed PNG as uint8 indices (H, W). Raise if it is not a palette image and `require_palette`
    (otherwise 8-bit grayscale is accepted too). Errors name `where`, else the path."""
    data, where = _read_source(src, where)
    check_png_header(data, where)
    kind = png_colour_type(data)
    if kind == 3 or (kind == 0 and not require_palette):
        fast = decode_png_fast(data)
        if fast is not None:
            return fast
    img = _open(data, where)
    if img.mode != "P":
        if require_palette:
            raise DataFormatError(where, f"not a palette (indexed) PNG: mode {img.mode}")
        if img.mode not in ("L", "1"):
            raise DataFormatError(where, f"expected an indexed or grayscale PNG, got mode {img.mode}")
    return np.asarray(img, dtype=np.uint8).copy()


def encode_palette_png(label_map: np.ndarray, palette: np.ndarray = DAVIS_PALETTE) -> bytes:
    arr = np.asarray(label_map)
    if arr.ndim != 2:
        raise ValueError(f"label map must be 2-D, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ValueError("label map values must be in 0..255")
        arr = arr.astype(np.uint8)
    img = Image.fromarray(arr, mode="P")
    img.putpalette(palette.astype(np.uint8).reshape(-1).tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def write_palette_png(path: str | Path, label_map: np.ndarray, palette: np.ndarray = DAVIS_PALETTE) -> None:
    """Write a uint8 label map as an indexed PNG with the DAVIS palette; indices are preserved exactly."""
    from lvsbench.core.io import atomic_write_bytes

    atomic_write_bytes(path, encode_palette_png(label_map, palette))


# ---------------------------------------------------------------- label maps


def label_map_to_masks(label_map: np.ndarray, ignore: tuple[int, ...] = (0, 255)) -> dict[int, np.ndarray]:
    """Split a label map into {object id: bool mask} for every id present (background and void skipped)."""
    ids = [int(i) for i in np.unique(label_map) if int(i) not in ignore]
    return {i: label_map == i for i in ids}


def masks_to_label_map(masks: dict[int, np.ndarray], shape: tuple[int, int] | None = None) -> np.ndarray:
    """Merge {object id: bool mask} into a uint8 label map. Overlaps are an error (a label map cannot hold them)."""
    if not masks and shape is None:
        raise ValueError("masks_to_label_map needs masks or a shape")
    if shape is None:
        shape = next(iter(masks.values())).shape
    out = np.zeros(shape, dtype=np.uint8)
    taken = np.zeros(shape, dtype=bool)
    for oid, m in sorted(masks.items()):
        if not 0 < oid <= 255:
            raise ValueError(f"object id {oid} outside 1..255")
        m = np.asarray(m, dtype=bool)
        if m.shape != tuple(shape):
            raise ValueError(f"mask of object {oid} has shape {m.shape}, expected {tuple(shape)}")
        if (taken & m).any():
            raise ValueError(f"mask of object {oid} overlaps another object")
        out[m] = oid
        taken |= m
    return out


# ---------------------------------------------------------------- frames


def read_image_rgb(path: str | Path) -> np.ndarray:
    """Read a frame as uint8 RGB (H, W, 3)."""
    img = _open(*_read_source(path, None))
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img)


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) of an image without decoding its pixels."""
    try:
        with Image.open(path) as img:
            w, h = img.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataFormatError(path, f"cannot read image header: {exc}") from exc
    return h, w


def encode_jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def encode_png_rgb(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buf, format="PNG")
    return buf.getvalue()
