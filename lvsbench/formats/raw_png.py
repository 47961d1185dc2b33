"""Per-expression PNG trees read the way the 2023-2026 evaluators read them: `cv2.imread(path, IMREAD_GRAYSCALE)`,
raw 8-bit values, no binarisation (MeViS `tools/eval_mevis.py` @ 7c0620b, VISA `tools/eval_revos.py` @ ec158fd).

The raw values matter only for VISA's A and R (0/255 vs 0/1 PNGs give different numbers); J and F binarise.
Palette PNGs come back as the palette colour's luminance, as in the official scripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from lvsbench.core.codecs import decode_png_inflate
from lvsbench.core.errors import DataFormatError, LvsbenchError
from lvsbench.formats.png_tree import PngTreePredictions

MissingKindName = Literal["video", "expression", "frame", "error"]


class MissingPrediction(LvsbenchError):
    """A prediction the official script would not find: `kind` is video / expression / frame / error."""

    def __init__(self, kind: MissingKindName, message: str) -> None:
        self.kind = kind
        super().__init__(message)


def decode_gray(data: bytes, where: str | Path) -> np.ndarray:
    """`cv2.imread(..., IMREAD_GRAYSCALE)` on bytes: uint8 (H, W). An 8-bit grayscale PNG (what lvsbench, VISA and
    Sa2VA write) is inflated directly (`lvsbench.core.codecs.decode_png_inflate`: its samples are exactly what OpenCV
    returns, several times faster); palette and every other PNG go through OpenCV (a palette PNG reads as the
    colour's luminance there, not as the index)."""
    if len(data) > 25 and data[24] == 8 and data[25] == 0:  # IHDR bit depth 8, colour type 0 (grayscale)
        fast = decode_png_inflate(data)
        if fast is not None:
            return fast
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if arr is None:
        raise DataFormatError(where, "cannot decode image")
    return arr


class RawPngTree:
    """`[Annotations/]<video>/<exp_id>/<frame>.png`, frames returned as raw grayscale uint8."""

    format = "png-tree"

    def __init__(self, path: str | Path) -> None:
        self.tree = PngTreePredictions(path)
        self.path = self.tree.path

    def has_video(self, video_id: str) -> bool:
        return (self.tree.base / video_id).is_dir()

    def frames(self, video_id: str, exp_id: str, frames: Sequence[str], missing_ok: bool = False
               ) -> list[np.ndarray | None]:
        """One array per frame; a missing frame raises `MissingPrediction`, or is None with `missing_ok`."""
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
            out.append(decode_gray(data, where))
        return out


__all__ = ["MissingKindName", "MissingPrediction", "RawPngTree", "decode_gray"]
