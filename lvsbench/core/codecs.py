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


def rle_problem(rle: Any) -> str | None:
    """Why `rle` is not a valid COCO RLE of its size (None when it is): size [H, W] of non-negative ints, counts a
    list of non-negative ints or a compressed string, whose runs cover exactly H*W pixels. pycocotools decodes
    short, long or garbage counts without complaint (short ones padded with background), so this is checked
    first."""
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
        runs = counts
    elif isinstance(counts, str | bytes):
        try:
            raw = counts.encode("ascii") if isinstance(counts, str) else counts
            runs = _rle_string_runs(raw)
        except (UnicodeEncodeError, ValueError) as exc:
            return f"counts string is not COCO RLE: {exc}"
        if any(r < 0 for r in runs):
            return "counts string decodes to a negative run length"
    else:
        return "counts must be a string or a list"
    total = sum(runs)
    if total != h * w:
        return f"counts cover {total} pixels, the size {h}x{w} has {h * w}"
    return None


def rle_decode(rle: dict) -> np.ndarray:
    """Decode COCO RLE (compressed str/bytes counts or uncompressed list counts) to a bool mask (H, W).

    Raises ValueError naming the rule when the RLE is malformed (`rle_problem`)."""
    problem = rle_problem(rle)
    if problem is not None:
        raise ValueError(problem)
    h, w = (int(x) for x in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        obj = coco_mask.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    else:
        obj = {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    return coco_mask.decode(obj).astype(bool)


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
    interlaced, whose rows use filter types None (0), Sub (1) or Up (2). Returns None for every other PNG, so the
    caller falls back to a general decoder.

    Why: mask PNGs are mostly long zero runs; inflating them is the floor of decoding, and libpng's row-by-row
    machinery costs several times that. DAVIS/YouTube-VOS annotations use filter 0 on every row, OpenCV writes
    Sub, Pillow mixes None/Sub/Up/Paeth (Paeth and Average rows fall back). Reconstruction follows the PNG
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
        body = _unfilter_sub_up(filters, body)
        if body is None:
            return None
    if depth == 8:
        return body if body.flags.writeable else body.copy()  # a contiguous array the caller may modify
    per_byte = 8 // depth
    shifts = np.arange(8 - depth, -1, -depth, dtype=np.uint8)  # most significant sample first
    samples = (body[:, :, None] >> shifts) & np.uint8((1 << depth) - 1)
    return np.ascontiguousarray(samples.reshape(height, row_bytes * per_byte)[:, :width])


def _unfilter_sub_up(filters: np.ndarray, body: np.ndarray) -> np.ndarray | None:
    """Undo PNG filters None/Sub/Up for one-byte pixels (None when a row uses Average or Paeth). Consecutive rows
    with the same filter are reconstructed together: Sub is a running sum along the row, a run of Up rows a running
    sum down the columns starting from the row above the run (both modulo 256, as uint8 arithmetic is)."""
    if int(filters.max()) > 2:
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
            if a == 0:  # Up on the first row adds the zero row above it: nothing to do for that row
                np.cumsum(out[a:b], axis=0, dtype=np.uint8, out=out[a:b])
            else:
                block = np.cumsum(out[a - 1:b], axis=0, dtype=np.uint8)
                out[a:b] = block[1:]
    return out


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
