"""Qualitative strips: frames with the ground truth and the prediction drawn over them, as embedded PNGs.

A strip shows up to `max_frames` scored frames of one sample side by side, in two rows: the ground truth (green)
on top, the prediction (magenta) below, each as a translucent fill with a solid outline, so misses and false
positives read at a glance. Images are PNG-encoded and inlined as `data:` URIs (the report stays one file).
"""

from __future__ import annotations

import base64
import io

import numpy as np

GT_COLOUR = (40, 200, 60)
PRED_COLOUR = (230, 40, 200)


def _outline(mask: np.ndarray, width: int = 2) -> np.ndarray:
    """Pixels of `mask` within `width` pixels (4-neighbour steps) of its outside (image border counts as outside)."""
    inner = mask
    for _ in range(width):
        m = np.pad(inner, 1, constant_values=False)
        inner = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    return mask & ~inner


def draw(rgb: np.ndarray, mask: np.ndarray | None, colour: tuple[int, int, int], alpha: float = 0.45
         ) -> np.ndarray:
    """`rgb` with `mask` as a translucent fill and an opaque outline."""
    out = rgb.astype(np.float32).copy()
    if mask is not None and mask.any():
        m = mask.astype(bool)
        c = np.asarray(colour, dtype=np.float32)
        out[m] = (1 - alpha) * out[m] + alpha * c
        out[_outline(m)] = c
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _resize(img: np.ndarray, h: int, w: int, nearest: bool) -> np.ndarray:
    import cv2

    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return cv2.resize(img, (w, h), interpolation=interp)


def make_strip(tiles: list[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]], tile_height: int = 96,
               gap: int = 3) -> np.ndarray:
    """Two-row RGB strip from (frame RGB, GT mask, predicted mask) triples (masks may be None = empty)."""
    if not tiles:
        raise ValueError("no frames for the strip")
    cols = []
    for rgb, gt, pred in tiles:
        h, w = rgb.shape[:2]
        tw = max(1, round(w * tile_height / h))
        small = _resize(rgb, tile_height, tw, nearest=False)

        def m(x: np.ndarray | None, tw: int = tw) -> np.ndarray | None:
            return None if x is None else _resize(x.astype(np.uint8), tile_height, tw, nearest=True).astype(bool)

        top, bottom = draw(small, m(gt), GT_COLOUR), draw(small, m(pred), PRED_COLOUR)
        col = np.full((2 * tile_height + gap, tw, 3), 255, dtype=np.uint8)
        col[:tile_height], col[tile_height + gap:] = top, bottom
        cols.append(col)
    width = sum(c.shape[1] for c in cols) + gap * (len(cols) - 1)
    strip = np.full((cols[0].shape[0], width, 3), 255, dtype=np.uint8)
    x = 0
    for c in cols:
        strip[:, x:x + c.shape[1]] = c
        x += c.shape[1] + gap
    return strip


def png_data_uri(rgb: np.ndarray) -> str:
    """`data:image/png;base64,...` of an RGB uint8 image."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
