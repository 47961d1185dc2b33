"""Per-expression PNG trees read the way the 2023-2026 evaluators read them: `cv2.imread(path, IMREAD_GRAYSCALE)`,
raw 8-bit values, no binarisation (MeViS `tools/eval_mevis.py` @ 7c0620b, VISA `tools/eval_revos.py` @ ec158fd).

The raw values matter only for VISA's A and R (0/255 vs 0/1 PNGs give different numbers); J and F binarise.
Palette PNGs come back as the palette colour's luminance, as in the official scripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from lvsbench.core.codecs import check_png_header, read_palette_png
from lvsbench.core.errors import DataFormatError, LvsbenchError
from lvsbench.core.png_decode import decode_png_inflate
from lvsbench.formats.png_tree import PngTreePredictions

MissingKindName = Literal["video", "expression", "frame", "error"]


class MissingPrediction(LvsbenchError):
    """A prediction the official script would not find: `kind` is video / expression / frame / error."""

    def __init__(self, kind: MissingKindName, message: str) -> None:
        self.kind = kind
        super().__init__(message)


def decode_gray(data: bytes, where: str | Path, notes: list[str] | None = None) -> np.ndarray:
    """`cv2.imread(..., IMREAD_GRAYSCALE)` on bytes: uint8 (H, W). An 8-bit grayscale PNG (what lvsbench, VISA and
    Sa2VA write) is inflated directly (`core.png_decode.decode_png_inflate`: its samples are exactly what OpenCV
    returns, several times faster); palette and every other PNG go through OpenCV (a palette PNG reads as the
    colour's luminance there, not as the index).

    Refused with the file named (`DataFormatError`): an empty file, anything that is not a PNG (a JPEG renamed .png
    would be read by OpenCV, with lossy mask edges), a header past `MAX_MASK_PIXELS`, and a palette PNG with indices
    beyond its PLTE (invalid PNG; libpng reads them as black). What OpenCV converts to grey (RGB, alpha, 16-bit,
    palette) is read exactly as the official script reads it, and said in `notes` when given."""
    if not data:
        raise DataFormatError(where, "empty file (0 bytes): write the mask again as an 8-bit grayscale PNG")
    check_png_header(data, where)
    depth, colour = (data[24], data[25]) if len(data) > 25 else (0, -1)
    if depth == 8 and colour == 0:  # IHDR bit depth 8, colour type 0 (grayscale)
        fast = decode_png_inflate(data)
        if fast is not None:
            return fast
    import cv2  # here: the grayscale fast path above and the other formats start without OpenCV

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if arr is None:
        raise DataFormatError(where, "cannot decode image")
    if colour == 3:
        i, n_colours = 8, 256
        while i + 8 <= len(data) and data[i + 4:i + 8] not in (b"PLTE", b"IDAT"):
            i += 12 + int.from_bytes(data[i:i + 4], "big")
        if data[i + 4:i + 8] == b"PLTE":
            n_colours = int.from_bytes(data[i:i + 4], "big") // 3
        top = int(read_palette_png(data, True, where).max(initial=0))
        if top >= n_colours:
            raise DataFormatError(where, f"palette index {top} but the PNG's palette has {n_colours} colour(s): an "
                                         "invalid PNG (OpenCV reads such pixels as black); write the mask again as "
                                         "an 8-bit grayscale PNG")
    if notes is not None and not (depth == 8 and colour == 0):
        kind = {0: "grayscale", 2: "RGB", 3: "palette", 4: "grayscale+alpha", 6: "RGBA"}.get(colour, str(colour))
        how = {2: "the luminance of the colour", 3: "the luminance of the palette colour, not the index",
               4: "the grey channel, alpha ignored (a mask kept in the alpha channel is lost)",
               6: "the luminance of the colour, alpha ignored (a mask kept in the alpha channel is lost)"}.get(
                   colour, "the grey value")
        scaled = {16: "; 16-bit values are divided by 256 (0/1 masks read as empty)"}.get(depth, "")
        notes.append(f"{where}: {depth}-bit {kind} PNG read as cv2.imread(path, IMREAD_GRAYSCALE) reads it in the "
                     f"official script: {how}{scaled}")
    return arr


class RawPngTree:
    """`[Annotations/]<video>/<exp_id>/<frame>.png`, frames returned as raw grayscale uint8."""

    format = "png-tree"

    def __init__(self, path: str | Path) -> None:
        self.tree = PngTreePredictions(path)
        self.path = self.tree.path

    def has_video(self, video_id: str) -> bool:
        return (self.tree.base / video_id).is_dir()

    def frames(self, video_id: str, exp_id: str, frames: Sequence[str], missing_ok: bool = False,
               notes: list[str] | None = None) -> list[np.ndarray | None]:
        """One array per frame; a missing frame raises `MissingPrediction`, or is None with `missing_ok`; PNGs read
        with a conversion to grey are listed in `notes` (`decode_gray`)."""
        if not self.has_video(video_id):
            raise MissingPrediction("video", f"{self.tree.base / video_id}: video folder missing")
        if not (self.tree.base / video_id / exp_id).is_dir():
            raise MissingPrediction("expression", f"{self.tree.base / video_id / exp_id}: expression folder missing")
        out = []
        for f in frames:
            data = self.tree.raw_bytes(video_id, exp_id, f)
            where = self.tree.file(video_id, exp_id, f)
            if data is None:
                if not missing_ok:
                    raise MissingPrediction("frame", f"{where}: frame missing")
                out.append(None)
                continue
            out.append(decode_gray(data, where, notes))
        return out


__all__ = ["MissingKindName", "MissingPrediction", "RawPngTree", "decode_gray"]
