"""Per-frame region (J) and boundary (F) similarity, bit-identical to davis2017-evaluation.

Reproduces `davis2017.metrics.db_eval_iou` / `db_eval_boundary` (davisvideochallenge/davis2017-evaluation@ac7c43f,
itself the DAVIS-2016/2017 definition of Perazzi et al., CVPR 2016 and Pont-Tuset et al., arXiv:1704.00675),
written from its documented behaviour (`docs/metrics.md`), not from the upstream code.

Exactness argument for the fast formulation:

* Every boundary pixel of a mask lies in the bounding box of the union G|P grown by one pixel (a pixel is a boundary
  pixel only if it or its right / lower / lower-right neighbour is foreground). Growing the box by one pixel on the
  bottom/right as well makes the crop's last row/column either the image edge or all-zero, so the boundary map of the
  crop equals the crop of the full-frame boundary map.
* The dilated maps are only read at boundary pixels, which are all in the crop, and a dilation only spreads the
  boundary pixels themselves (all inside the crop; OpenCV pads dilation with the neutral value), so dilating the crop
  equals cropping the full-frame dilation. Both boundary maps are dilated in one call: they lie side by side in one
  buffer separated by `radius` zero columns, so that no pixel of one map reaches the other (a dilation moves a pixel
  by at most `radius` columns), and the per-call overhead of OpenCV is paid once instead of twice.
* The crop is found without converting the frames: bool and uint8 inputs are read as bytes (non-zero is foreground,
  the anchors' `astype(bool)`), one row reduction per frame and one column reduction over each mask's own rows; only
  the crop of a uint8 prediction is binarised. A frame is thus read about twice instead of five times (conversion,
  union, two reductions): those passes were most of the kernel's time on 480p frames with small objects.
* The structuring element is scikit-image's `disk(r)` = {x^2+y^2 <= r^2}, built here from integers. OpenCV's
  MORPH_ELLIPSE is a different (larger) set and is never used. The dilation by the disk is computed as the union
  (pixel-wise max) of dilations by the disk's maximal centred rectangles, one per distinct half-width
  w(dy) = isqrt(r^2 - dy^2): the union of those rectangles is exactly the disk, and OpenCV dilates by a rectangle
  separably, which is about 25% faster than its generic-kernel path (6 rectangles at r = 8).

All counts are integers and P, R, F follow the anchor's float64 operation order, so results are equal with `==`.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = [
    "as_mask",
    "boundary_map",
    "boundary_radius",
    "boundary_f_measure",
    "disk",
    "disk_rectangles",
    "j_and_f",
    "j_and_f_empty_prediction",
    "j_and_f_target",
    "region_similarity",
    "TargetFrame",
]


def as_mask(a: np.ndarray, name: str = "mask") -> np.ndarray:
    """A 2-D bool view/copy of `a`; any non-zero value is foreground (the anchors' `astype(bool)`)."""
    arr = np.asarray(a)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (H, W) array, got shape {arr.shape}")
    if arr.dtype != np.bool_:
        arr = arr.astype(bool)
    return arr


def _check(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None) -> tuple[np.ndarray, np.ndarray,
                                                                                np.ndarray | None]:
    g = as_mask(gt, "gt")
    p = as_mask(pred, "pred")
    if g.shape != p.shape:
        raise ValueError(f"gt and pred shapes differ: gt {g.shape} vs pred {p.shape}")
    v = None
    if void is not None:
        v = as_mask(void, "void")
        if v.shape != g.shape:
            raise ValueError(f"void shape {v.shape} differs from gt/pred shape {g.shape}")
    return g, p, v


def _operands(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None) -> tuple[np.ndarray, np.ndarray,
                                                                                  np.ndarray | None]:
    """`_check`, except that bool and uint8 frames are passed through unconverted (`_j_f` reads them as bytes):
    converting a 0/255 prediction to bool costs a full-frame pass that the crop makes unnecessary."""
    g, p = np.asarray(gt), np.asarray(pred)
    if g.ndim == 2 and g.shape == p.shape and g.dtype in _BYTE_DTYPES and p.dtype in _BYTE_DTYPES:
        return g, p, None if void is None else _check(g, p, void)[2]
    return _check(gt, pred, void)


_BYTE_DTYPES = (np.dtype(np.bool_), np.dtype(np.uint8))


@lru_cache(maxsize=64)
def disk(radius: int) -> np.ndarray:
    """scikit-image `morphology.disk(radius)` (strict radius, no decomposition) as uint8: x^2 + y^2 <= r^2."""
    if radius < 0:
        raise ValueError(f"disk radius must be >= 0, got {radius}")
    ax = np.arange(-radius, radius + 1, dtype=np.int64)
    k = (ax[:, None] ** 2 + ax[None, :] ** 2 <= radius * radius).astype(np.uint8)
    k.setflags(write=False)
    return k


@lru_cache(maxsize=64)
def disk_rectangles(radius: int) -> tuple[np.ndarray, ...]:
    """All-ones (2h+1, 2w+1) kernels whose union is `disk(radius)`: for each distinct half-width
    w = isqrt(r^2 - dy^2), the half-height h is the largest |dy| reaching that width."""
    widths = [math.isqrt(radius * radius - dy * dy) for dy in range(radius + 1)]
    kernels = []
    for w in sorted(set(widths), reverse=True):
        h = max(dy for dy in range(radius + 1) if widths[dy] >= w)
        k = np.ones((2 * h + 1, 2 * w + 1), dtype=np.uint8)
        k.setflags(write=False)
        kernels.append(k)
    return tuple(kernels)


def _dilate(b: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of a bool array by `disk(radius)` (zero outside the array), as bool."""
    return _dilate_u8(b.view(np.uint8), radius).view(bool)


def _dilate_u8(src: np.ndarray, radius: int) -> np.ndarray:
    """Dilation of a 0/1 uint8 array by `disk(radius)`: the max of its dilations by `disk_rectangles(radius)`."""
    import cv2  # here, not at import: scoring that never needs a boundary (A2D, on RLEs) starts without OpenCV

    kernels = disk_rectangles(radius)
    out = cv2.dilate(src, kernels[0])
    for k in kernels[1:]:
        cv2.max(out, cv2.dilate(src, k), dst=out)
    return out


def boundary_radius(shape: tuple[int, int], bound_th: float = 0.008) -> int:
    """Dilation radius in pixels: `bound_th` itself when >= 1, else ceil(bound_th * ||(H, W)||_2) (davis2017).

    The norm is computed as the correctly rounded sqrt of the exact integer H^2+W^2, which is what
    `np.linalg.norm(shape)` returns for image-sized integers.
    """
    if len(shape) != 2:
        raise ValueError(f"shape must be (H, W), got {shape}")
    h, w = int(shape[0]), int(shape[1])
    if bound_th >= 1:
        if bound_th != int(bound_th):
            raise ValueError(f"an absolute boundary threshold must be a whole number of pixels, got {bound_th}")
        return int(bound_th)
    if bound_th < 0:
        raise ValueError(f"bound_th must be >= 0, got {bound_th}")
    return int(math.ceil(bound_th * math.sqrt(h * h + w * w)))


def _bmap(m: np.ndarray) -> np.ndarray:
    """Boundary map of a bool (H, W) array (`_seg2bmap` semantics, same size, no resizing)."""
    b = np.zeros(m.shape, dtype=bool)
    _bmap_into(m, b)
    return b


def _bmap_into(m: np.ndarray, b: np.ndarray) -> None:
    """Write the boundary map of bool `m` into the all-False bool array `b` of the same shape (a view is fine)."""
    h, w = m.shape
    if h > 1 and w > 1:
        c = m[:-1, :-1]
        inner = b[:-1, :-1]
        np.not_equal(c, m[:-1, 1:], out=inner)
        inner |= c != m[1:, :-1]
        inner |= c != m[1:, 1:]
    if w > 1:  # last row: right neighbour only
        np.not_equal(m[-1, :-1], m[-1, 1:], out=b[-1, :-1])
    if h > 1:  # last column: lower neighbour only; the bottom-right corner stays 0
        np.not_equal(m[:-1, -1], m[1:, -1], out=b[:-1, -1])


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """DAVIS boundary map (`davis2017.metrics._seg2bmap` for same-size output), as a bool array.

    Pixel (y, x) is a boundary pixel iff it differs from (y, x+1), (y+1, x) or (y+1, x+1), considering only
    neighbours inside the image: the image border is never a boundary, an all-ones mask has none, and the
    bottom-right pixel never is one.
    """
    return _bmap(as_mask(mask))


def _bytes(m: np.ndarray) -> np.ndarray:
    """A bool or uint8 (H, W) array as uint8 without copying (bool is stored as 0/1 bytes)."""
    return m.view(np.uint8) if m.dtype == np.bool_ else m


def _extent(m: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1), inclusive, of the non-zero pixels of a uint8 (H, W) array; None when there is none.
    `max` along rows is a vectorised byte reduction, several times faster than `any` on a converted bool copy."""
    rows = np.maximum.reduce(m, axis=1).nonzero()[0]  # the ufunc and method directly: no wrapper layers
    if rows.size == 0:
        return None
    y0, y1 = int(rows[0]), int(rows[-1])
    cols = np.maximum.reduce(m[y0:y1 + 1], axis=0).nonzero()[0]
    return y0, y1, int(cols[0]), int(cols[-1])


def _union_crop(g: np.ndarray, p: np.ndarray) -> tuple[slice, slice] | None:
    """Slices of bbox(g | p) grown by one pixel on every side (clipped), or None when both are empty.
    `g` and `p` are bool or uint8 (non-zero is foreground); neither is copied."""
    h, w = g.shape
    eg, ep = _extent(_bytes(g)), _extent(_bytes(p))
    if eg is None:
        if ep is None:
            return None
        y0, y1, x0, x1 = ep
    elif ep is None:
        y0, y1, x0, x1 = eg
    else:
        y0, y1, x0, x1 = min(eg[0], ep[0]), max(eg[1], ep[1]), min(eg[2], ep[2]), max(eg[3], ep[3])
    return slice(max(y0 - 1, 0), min(y1 + 2, h)), slice(max(x0 - 1, 0), min(x1 + 2, w))


def _f_of_crops(gc: np.ndarray, pc: np.ndarray, radius: int) -> float:
    """F of two same-size bool crops (davis2017 `f_measure` P/R/F rules and float order). The two boundary maps
    are written side by side into one buffer, `radius` zero columns apart, and dilated together (module docstring);
    precision reads the dilation at the prediction's boundary pixels, recall at the ground truth's."""
    hc, wc = gc.shape
    buf = np.zeros((hc, 2 * wc + radius), dtype=bool)
    gb, pb = buf[:, :wc], buf[:, wc + radius:]
    _bmap_into(gc, gb)
    _bmap_into(pc, pb)
    n_fg = int(np.count_nonzero(pb))
    n_gt = int(np.count_nonzero(gb))
    hits_fg = hits_gt = 0
    if n_fg > 0 and n_gt > 0:  # the only case whose F reads the dilation
        dil = _dilate_u8(buf.view(np.uint8), radius).view(bool)
        hits_fg = int(np.count_nonzero(pb & dil[:, :wc]))
        hits_gt = int(np.count_nonzero(gb & dil[:, wc + radius:]))
    return _f_value(n_fg, n_gt, hits_fg, hits_gt)


def _resolve_radius(shape: tuple[int, int], bound_th: float, radius: int | None) -> int:
    if radius is None:
        return boundary_radius(shape, bound_th)
    if int(radius) != radius or radius < 0:
        raise ValueError(f"radius must be a non-negative integer, got {radius}")
    return int(radius)


def _j_f(g: np.ndarray, p: np.ndarray, v: np.ndarray | None, radius: int,
         want_j: bool, want_f: bool) -> tuple[float, float]:
    """J and F of one frame; `g` and `p` are bool or uint8 (non-zero is foreground), `v` bool or None."""
    crop = _union_crop(g, p)
    if crop is None:  # both empty: J = 1 (union 0), F = 1 (both boundaries empty)
        return 1.0, 1.0
    gc, pc = g[crop], p[crop]
    if gc.dtype != np.bool_:
        gc = gc != 0
    if pc.dtype != np.bool_:
        pc = pc != 0
    if v is not None:
        keep = ~v[crop]
        gc = gc & keep
        pc = pc & keep
    j = f = math.nan
    if want_j:
        union = int(np.count_nonzero(gc | pc))
        j = 1.0 if union == 0 else int(np.count_nonzero(gc & pc)) / union
    if want_f:
        f = _f_of_crops(gc, pc, radius)
    return j, f


def empty_prediction_j_f(empty: bool, fills_frame: bool) -> tuple[float, float]:
    """(J, F) of a ground-truth object against an empty prediction, in closed form from K = G & ~V
    (`empty`: K has no pixel; `fills_frame`: K is every pixel of the frame).

    With P empty: J = |K & P| / |K | P| = 0 / |K|, so J = 1.0 if K is empty (union 0) and 0.0 otherwise. The
    prediction has no boundary pixel (n_fg = 0), so F = 1.0 (P = R = 1) if K has no boundary pixel either and
    F = 0.0 (P = 1, R = 0) if it has one. A bool image has no boundary pixel iff it is constant (two 4-adjacent
    pixels that differ make the upper / left one a boundary pixel), i.e. K is empty or fills the frame. Hence
    (1, 1) if K is empty, (0, 1) if it fills the frame, else (0, 0): exactly what `j_and_f(gt, zeros, void)`
    computes (tested against it with hypothesis), without touching a pixel. In a label map G and V (= 255) are
    disjoint, so K = G.
    """
    if empty:
        return 1.0, 1.0
    return (0.0, 1.0) if fills_frame else (0.0, 0.0)


def j_and_f_empty_prediction(gt: np.ndarray, void: np.ndarray | None = None) -> tuple[float, float]:
    """`j_and_f(gt, zeros_like(gt), void)` in closed form (`empty_prediction_j_f`)."""
    g, _, v = _check(gt, gt, void)
    kept = int(np.count_nonzero(g if v is None else g & ~v))
    return empty_prediction_j_f(kept == 0, kept == g.size)


Box = tuple[int, int, int, int]
"""(x, y, w, h) of a mask's non-zero pixels (the `cv2.boundingRect` convention); w == 0 for an empty mask."""


def mask_box(mask: np.ndarray) -> Box:
    """Bounding box of a 2-D bool mask: one row reduction over the frame, one column reduction over its rows
    (measured a little faster than `cv2.boundingRect`, and exact)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return 0, 0, 0, 0
    y0, y1 = int(rows[0]), int(rows[-1])
    cols = np.flatnonzero(mask[y0:y1 + 1].any(axis=0))
    x0, x1 = int(cols[0]), int(cols[-1])
    return x0, y0, x1 - x0 + 1, y1 - y0 + 1


def pair_window(a: Box, b: Box, shape: tuple[int, int]) -> tuple[slice, slice] | None:
    """The union of two boxes grown by one pixel on every side and clipped to the image; None when both are empty.

    Cropping a (gt, pred) pair to this window and scoring the crops with the frame's radius gives the frame's J and F
    exactly: the window holds bbox(G | P) grown by one pixel, which is all `_j_f` reads (module docstring)."""
    boxes = [bx for bx in (a, b) if bx[2] > 0]
    if not boxes:
        return None
    x0 = min(bx[0] for bx in boxes)
    y0 = min(bx[1] for bx in boxes)
    x1 = max(bx[0] + bx[2] for bx in boxes)
    y1 = max(bx[1] + bx[3] for bx in boxes)
    h, w = shape
    return slice(max(y0 - 1, 0), min(y1 + 1, h)), slice(max(x0 - 1, 0), min(x1 + 1, w))


def region_similarity(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None) -> float:
    """J = |G & P & ~V| / |(G | P) & ~V|, and 1.0 when that union is empty (davis2017 `db_eval_iou`)."""
    g, p, v = _check(gt, pred, void)
    if v is None:
        union = int(np.count_nonzero(g | p))
        return 1.0 if union == 0 else int(np.count_nonzero(g & p)) / union
    keep = ~v
    union = int(np.count_nonzero((g | p) & keep))
    return 1.0 if union == 0 else int(np.count_nonzero(g & p & keep)) / union


def boundary_f_measure(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None,
                       bound_th: float = 0.008, *, radius: int | None = None) -> float:
    """DAVIS boundary F (davis2017 `db_eval_boundary` for one frame), bit-identical, computed on the union crop.

    `radius` overrides the radius derived from the frame size and `bound_th` (used e.g. to compare a frame with a
    zero-padded copy of itself at the same radius).
    """
    g, p, v = _operands(gt, pred, void)
    r = _resolve_radius(g.shape, bound_th, radius)
    return _j_f(g, p, v, r, want_j=False, want_f=True)[1]


def j_and_f(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None,
            bound_th: float = 0.008, *, radius: int | None = None) -> tuple[float, float]:
    """(J, F) for one frame and object, sharing the crop and void masking between the two."""
    g, p, v = _operands(gt, pred, void)
    r = _resolve_radius(g.shape, bound_th, radius)
    return _j_f(g, p, v, r, want_j=True, want_f=True)


def _f_value(n_fg: int, n_gt: int, hits_fg: int, hits_gt: int) -> float:
    """F from the boundary counts, with davis2017 `f_measure`'s rules for empty boundaries and its float order."""
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision = hits_fg / float(n_fg)
        recall = hits_gt / float(n_gt)
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


class TargetFrame:
    """One ground-truth frame prepared once for scoring several predictions against it (MeViS: the expressions of a
    video that refer to the same objects, ~3 per target set), so that what depends on the target alone is computed
    once: its box and pixel count, its pixels, boundary map and that map's dilation (bool or uint8 targets: any
    non-zero value is foreground). `j_and_f_target(target, pred)` equals `j_and_f(gt, pred)` bit for bit (tested
    with hypothesis).

    The boundary map and its dilation are kept on the window `win` = the target's box grown by radius + 1 (clipped):
    every boundary pixel of the target lies in its box grown by one pixel, and the dilation spreads them by at most
    `radius`, so both full-frame maps are zero outside `win`; the window's last row / column is the image edge or
    all-zero in the target (it is at least one pixel past the box), so the map computed on the window is the crop of
    the full-frame map, as for the union crop (module docstring)."""

    def __init__(self, gt: np.ndarray, bound_th: float = 0.008) -> None:
        g = np.asarray(gt)
        if g.ndim != 2:
            raise ValueError(f"gt must be a 2-D (H, W) array, got shape {g.shape}")
        if g.dtype not in _BYTE_DTYPES:
            g = as_mask(g, "gt")
        self.shape: tuple[int, int] = g.shape
        self.radius = boundary_radius(g.shape, bound_th)
        self.extent = _extent(_bytes(g))
        self.area = 0
        self.n_gt = 0
        if self.extent is None:
            return
        h, w = g.shape
        y0, y1, x0, x1 = self.extent
        grow = self.radius + 1
        self.win = (slice(max(y0 - grow, 0), min(y1 + grow + 1, h)), slice(max(x0 - grow, 0), min(x1 + grow + 1, w)))
        gw = g[self.win]
        self.gw = gw if gw.dtype == np.bool_ else gw != 0
        """The target on its window as bool (a uint8 target is converted there only: it is zero elsewhere)."""
        self.area = int(np.count_nonzero(self.gw))
        self.bmap = _bmap(self.gw)
        self.n_gt = int(np.count_nonzero(self.bmap))
        self.dil = _dilate(self.bmap, self.radius) if self.n_gt else self.bmap


def _overlap(a: tuple[slice, slice], b: tuple[slice, slice]) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """The intersection of two windows of one frame, as slices into each (both non-empty and intersecting)."""
    y0, y1 = max(a[0].start, b[0].start), min(a[0].stop, b[0].stop)
    x0, x1 = max(a[1].start, b[1].start), min(a[1].stop, b[1].stop)
    return ((slice(y0 - a[0].start, y1 - a[0].start), slice(x0 - a[1].start, x1 - a[1].start)),
            (slice(y0 - b[0].start, y1 - b[0].start), slice(x0 - b[1].start, x1 - b[1].start)))


def j_and_f_target(target: TargetFrame, pred: np.ndarray) -> tuple[float, float]:
    """`j_and_f(gt, pred)` (no void, the radius of `bound_th` given to `TargetFrame`) with the target's share
    precomputed: on the union crop only the prediction's boundary map is made and dilated (half the dilation work);
    precision reads the target's dilation, recall the prediction's, each on the overlap of the crop and the target's
    window, which holds every boundary pixel of the target. J = |G & P| / (|G| + |P| - |G & P|), exact integers."""
    p = np.asarray(pred)
    if p.ndim != 2 or p.shape != target.shape:
        raise ValueError(f"gt and pred shapes differ: gt {target.shape} vs pred {p.shape}")
    if p.dtype not in _BYTE_DTYPES:
        p = as_mask(p, "pred")
    h, w = p.shape
    eg, ep = target.extent, _extent(_bytes(p))
    if eg is None:
        if ep is None:
            return 1.0, 1.0
        y0, y1, x0, x1 = ep
    elif ep is None:
        y0, y1, x0, x1 = eg
    else:
        y0, y1, x0, x1 = min(eg[0], ep[0]), max(eg[1], ep[1]), min(eg[2], ep[2]), max(eg[3], ep[3])
    crop = (slice(max(y0 - 1, 0), min(y1 + 2, h)), slice(max(x0 - 1, 0), min(x1 + 2, w)))
    pc = p[crop]
    if pc.dtype != np.bool_:
        pc = pc != 0
    n_p = int(np.count_nonzero(pc))
    inter = 0
    if target.area and n_p:  # the target is zero outside its window
        in_crop, in_win = _overlap(crop, target.win)
        inter = int(np.count_nonzero(target.gw[in_win] & pc[in_crop]))
    union = target.area + n_p - inter
    j = 1.0 if union == 0 else inter / union
    pb = _bmap(pc)
    n_fg = int(np.count_nonzero(pb))
    hits_fg = hits_gt = 0
    if n_fg and target.n_gt:
        in_crop, in_win = _overlap(crop, target.win)
        hits_fg = int(np.count_nonzero(pb[in_crop] & target.dil[in_win]))
        hits_gt = int(np.count_nonzero(target.bmap[in_win] & _dilate(pb, target.radius)[in_crop]))
    return j, _f_value(n_fg, target.n_gt, hits_fg, hits_gt)
