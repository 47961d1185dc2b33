"""Mask codecs: COCO RLE, binary PNG, palette (indexed) PNG, label map <-> per-object masks.

Palette PNGs are read with PIL in 'P' mode so indices survive (cv2 grayscale converts a palette to luminance,
which silently changes object ids). Binary PNG reading treats any non-zero value as foreground, which covers
0/255 and 0/1 files alike.
"""

from __future__ import annotations

import io
import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pycocotools import mask as coco_mask

from lvsbench.core.errors import DataFormatError
from lvsbench.core.png_decode import PNG_SIGNATURE, decode_png_fast, png_colour_type

if TYPE_CHECKING:
    from collections.abc import Sequence

    from PIL import Image


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
    groups = _group_values(c)
    if groups is None:
        return None
    x, longest = groups
    if x.size * x.size << (5 * longest) >= 1 << 62:
        return None
    np.cumsum(x[1::2], out=x[1::2])
    np.cumsum(x[2::2], out=x[2::2])
    return x


def _group_values(c: np.ndarray) -> tuple[np.ndarray, int] | None:
    """The signed value (int64) of each group of RLE characters `c` (character - 48, all in the alphabet, the last
    group complete) and the longest group's length; None when a group is longer than 6 characters (beyond 30 bits:
    `_rle_string_runs` decodes it)."""
    ends = np.flatnonzero((c & 0x20) == 0)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts + 1
    longest = int(lengths.max())
    if longest > 6:
        return None
    digit = np.arange(c.size, dtype=np.int64) - np.repeat(starts, lengths)
    x = np.add.reduceat((c & 0x1F).astype(np.int64) << (5 * digit), starts)
    neg = (c[ends] & 0x10) != 0
    x[neg] -= np.left_shift(np.int64(1), 5 * lengths[neg])
    return x, longest


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
    problem = _total_problem(total, (h, w))
    if problem is not None:
        return problem
    assert runs is not None  # None only where the total differs
    return h, w, runs


def rle_problem(rle: Any) -> str | None:
    """Why `rle` is not a valid COCO RLE of its size (None when it is): size [H, W] of non-negative ints, counts a
    list of non-negative ints or a compressed string, whose runs cover exactly H*W pixels. pycocotools decodes
    short, long or garbage counts without complaint (short ones padded with background), so this is checked
    first."""
    checked = _rle_runs(rle)
    return checked if isinstance(checked, str) else None


def rle_problems(rles: Sequence[Any]) -> list[str | None]:
    """`[rle_problem(r) for r in rles]`, with the compressed counts strings of well-formed RLEs decoded together
    in one vectorised pass (a results file holds thousands of small RLEs: one numpy pass per string costs more
    than its decoding). Anything else, and every string when one of them is outside what the vectorised decoder
    reads exactly (see `_rle_string_runs_fast`), goes through `rle_problem`: same verdicts, same messages."""
    out: list[str | None] = [None] * len(rles)
    batch: list[tuple[int, tuple[int, int], bytes]] = []  # (index, (H, W), counts)
    for i, rle in enumerate(rles):
        counts = rle.get("counts") if isinstance(rle, dict) else None
        size = rle.get("size") if isinstance(rle, dict) else None
        if (isinstance(counts, str | bytes) and isinstance(size, list | tuple) and len(size) == 2
                and all(type(x) is int and x >= 0 for x in size) and size[0] * size[1] <= MAX_MASK_PIXELS
                and (isinstance(counts, bytes) or counts.isascii())):
            batch.append((i, (size[0], size[1]), counts.encode("ascii") if isinstance(counts, str) else counts))
        else:
            out[i] = rle_problem(rle)
    verdicts = _string_batch_problems([(hw, raw) for _, hw, raw in batch]) if batch else []
    if verdicts is None:
        verdicts = [rle_problem(rles[i]) for i, _, _ in batch]
    for (i, _, _), v in zip(batch, verdicts, strict=True):
        out[i] = v
    return out


def _string_batch_problems(items: list[tuple[tuple[int, int], bytes]]) -> list[str | None] | None:
    """`rle_problem`'s verdict on each ((H, W), counts string), all strings decoded as `_rle_string_runs_fast`
    decodes one, with the running sums segmented per string; None when a string is outside what it reads exactly
    (then each string goes through `rle_problem`)."""
    lengths = np.fromiter((len(raw) for _, raw in items), dtype=np.int64, count=len(items))
    c = np.frombuffer(b"".join(raw for _, raw in items), dtype=np.uint8) - np.uint8(48)
    if c.size == 0:
        return [_total_problem(0, hw) for hw, _ in items]
    nonempty = lengths > 0
    if int(c.max()) >= 64 or (c[np.cumsum(lengths)[nonempty] - 1] & 0x20).any():
        return None  # a character outside the alphabet, or a cut-off group
    groups = _group_values(c)
    if groups is None:
        return None
    x, longest = groups
    ends = np.flatnonzero((c & 0x20) == 0)
    per_string = np.bincount(np.searchsorted(np.cumsum(lengths), ends, side="right"), minlength=len(items))
    most = int(per_string.max())
    if most * most << (5 * longest) >= 1 << 62 or x.size << (5 * longest) >= 1 << 62:
        return None
    first = np.concatenate([[0], np.cumsum(per_string)[:-1]])  # each string's first group
    pos = np.arange(x.size) - np.repeat(first, per_string)  # a group's index within its string
    owner = np.repeat(np.arange(len(items)), per_string)
    for sel in (pos % 2 == 1, (pos % 2 == 0) & (pos > 0)):  # run m > 2 adds run m - 2, within its string
        if not sel.any():
            continue
        xs, who = x[sel], owner[sel]
        run = np.cumsum(xs)
        head = np.concatenate([[True], who[1:] != who[:-1]])
        x[sel] = run - np.repeat((run - xs)[head], np.diff(np.append(np.flatnonzero(head), xs.size)))
    has = per_string > 0
    total = np.zeros(len(items), dtype=np.int64)
    low = np.zeros(len(items), dtype=np.int64)
    total[has] = np.add.reduceat(x, first[has])
    low[has] = np.minimum.reduceat(x, first[has])
    return ["counts string decodes to a negative run length" if low[k] < 0 else _total_problem(int(total[k]), hw)
            for k, (hw, _) in enumerate(items)]


def _total_problem(total: int, hw: tuple[int, int]) -> str | None:
    h, w = hw
    return None if total == h * w else f"counts cover {total} pixels, the size {h}x{w} has {h * w}"


def rle_decode(rle: dict) -> np.ndarray:
    """Decode COCO RLE (compressed str/bytes counts or uncompressed list counts) to a bool mask (H, W), C order.

    Raises ValueError naming the rule when the RLE is malformed (`rle_problem`: pycocotools decodes short, long or
    garbage counts without complaint). Decoding is pycocotools' `rleDecode`; its result is column-major, so it is
    transposed once into a row-major array (`cv2.transpose` of the contiguous transpose view), which keeps every
    later row-major operation unstrided."""
    checked = _rle_runs(rle)
    if isinstance(checked, str):
        raise ValueError(checked)
    h, w, _ = checked
    if h == 0 or w == 0:
        return np.zeros((h, w), dtype=bool)
    counts = rle["counts"]
    if isinstance(counts, list):
        obj = coco_mask.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    else:
        obj = {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    import cv2

    return cv2.transpose(coco_mask.decode(obj).T).view(bool)


def rle_area(rle: dict) -> int:
    problem = rle_problem(rle)
    if problem is not None:
        raise ValueError(problem)
    h, w = (int(x) for x in rle["size"])
    counts = rle["counts"]
    obj = {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    return int(coco_mask.area(obj))


# ---------------------------------------------------------------- PNG


def _read_source(src: str | Path | bytes, where: str | Path | None) -> tuple[bytes, str | Path | None]:
    """Bytes of a file or buffer, and the name errors should carry (the path unless `where` says otherwise)."""
    if isinstance(src, bytes | bytearray):
        return bytes(src), where
    try:
        return Path(src).read_bytes(), where or src
    except OSError as exc:
        raise DataFormatError(where or src, f"cannot read: {exc}") from exc


def _open(data: bytes, where: str | Path | None) -> Image.Image:
    from PIL import Image, UnidentifiedImageError  # here: the PNG fast path and the A2D reader never need Pillow

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
    if data[:8] != PNG_SIGNATURE:
        if data[:4] == PNG_SIGNATURE[:4]:
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
    from PIL import Image

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
    from PIL import Image

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
    from PIL import Image

    try:
        with Image.open(path) as img:
            w, h = img.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataFormatError(path, f"cannot read image header: {exc}") from exc
    return h, w


def encode_jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def encode_png_rgb(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buf, format="PNG")
    return buf.getvalue()


__all__ = ["DAVIS_PALETTE", "MASK_MODES", "MAX_MASK_PIXELS", "check_png_header", "encode_binary_png", "encode_jpeg",
           "encode_palette_png", "encode_png_rgb", "image_size", "label_map_to_masks", "masks_to_label_map",
           "read_binary_png", "read_image_rgb", "read_palette_png", "rle_area", "rle_decode", "rle_encode",
           "rle_problem", "rle_problems", "write_binary_png", "write_palette_png"]
