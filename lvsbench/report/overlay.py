"""Qualitative strips: frames with the ground truth and the prediction drawn over them, as embedded PNGs.

A strip shows up to `max_frames` scored frames of one sample side by side, in two rows: the ground truth on top,
the prediction below, each drawn as a contour line (no fill, so the object itself stays visible) in the colour of
`CONTOUR_COLOURS` that differs most from the frame pixels under the line, with a one-pixel black or white halo;
a fixed colour would vanish on actors of that colour. Images are PNG-encoded (without `optimize`, which took ~14 s
of the demo for a few percent of size) and inlined as `data:` URIs (the report stays one file).
"""

from __future__ import annotations

import base64
import io

import numpy as np

CONTOUR_COLOURS: tuple[tuple[int, int, int], ...] = ((255, 255, 0), (0, 255, 255), (255, 0, 255), (0, 255, 0),
                                                    (255, 128, 0), (255, 255, 255), (0, 0, 255))
"""Candidate contour colours (saturated, far apart); `contrast_colour` picks one per tile."""


def _outline(mask: np.ndarray, width: int = 2) -> np.ndarray:
    """Pixels of `mask` within `width` pixels (4-neighbour steps) of its outside (image border counts as outside)."""
    inner = mask
    for _ in range(width):
        m = np.pad(inner, 1, constant_values=False)
        inner = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    return mask & ~inner


def contrast_colour(rgb: np.ndarray, where: np.ndarray) -> tuple[int, int, int]:
    """The candidate colour farthest from the pixels at `where` (by its 10th-percentile RGB distance, so that the
    line stands out along most of its length, not just on average)."""
    px = rgb[where].astype(np.float32)
    if px.size == 0:
        return CONTOUR_COLOURS[0]
    best, score = CONTOUR_COLOURS[0], -1.0
    for c in CONTOUR_COLOURS:
        d = float(np.percentile(np.linalg.norm(px - np.asarray(c, np.float32), axis=1), 10))
        if d > score:
            best, score = c, d
    return best


def draw(rgb: np.ndarray, mask: np.ndarray | None, colour: tuple[int, int, int] | None = None, width: int = 2
         ) -> np.ndarray:
    """`rgb` with the contour of `mask` drawn over it: a `width`-pixel line inside the mask's border, in `colour`
    (default: `contrast_colour` against the frame under the line) with a 1-pixel halo just outside, black or white,
    whichever contrasts with the line."""
    out = np.ascontiguousarray(rgb, dtype=np.uint8).copy()
    if mask is None or not mask.any():
        return out
    m = mask.astype(bool)
    line = _outline(m, width)
    p = np.pad(m, 1, constant_values=False)
    halo = ~m & (p[:-2, 1:-1] | p[2:, 1:-1] | p[1:-1, :-2] | p[1:-1, 2:])
    c = colour if colour is not None else contrast_colour(out, line | halo)
    out[halo] = (0, 0, 0) if sum(c) > 382 else (255, 255, 255)
    out[line] = c
    return out


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

        top, bottom = draw(small, m(gt)), draw(small, m(pred))
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
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


__all__ = ["CONTOUR_COLOURS", "contrast_colour", "draw", "make_strip", "png_data_uri"]
