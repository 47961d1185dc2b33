"""Invariants of the per-frame metrics (hypothesis), edge cases, validation, and the fixed decay by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

from lvsbench.metrics.functional import (
    boundary_f_measure,
    boundary_map,
    boundary_radius,
    disk,
    j_and_f,
    j_and_f_empty_prediction,
    mask_box,
    pair_window,
    region_similarity,
)
from lvsbench.metrics.statistics import db_statistics, decay_bins

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ independent slow references (test-only)


def _ref_bmap(m: np.ndarray) -> np.ndarray:
    """Boundary map written differently: compare each pixel with zero-padded shifted copies, then apply the
    border rules (last row: right neighbour only; last column: lower only; corner never)."""
    h, w = m.shape
    pad = np.zeros((h + 1, w + 1), bool)
    pad[:h, :w] = m
    right, down, diag = pad[:h, 1:w + 1], pad[1:h + 1, :w], pad[1:h + 1, 1:w + 1]
    b = (m != right) | (m != down) | (m != diag)
    b[h - 1, :] = m[h - 1, :] != right[h - 1, :]
    b[:, w - 1] = m[:, w - 1] != down[:, w - 1]
    b[h - 1, w - 1] = False
    return b


def _ref_f(gt: np.ndarray, pred: np.ndarray, radius: int, void: np.ndarray | None = None) -> float:
    """Full-frame F through the exact Euclidean distance transform (an independent formulation of the same
    definition), not through dilation."""
    if void is not None:
        gt, pred = gt & ~void, pred & ~void
    gb, pb = _ref_bmap(gt), _ref_bmap(pred)
    n_gt, n_fg = int(gb.sum()), int(pb.sum())
    if n_fg == 0 and n_gt == 0:
        return 1.0
    if n_fg == 0 or n_gt == 0:
        return 0.0
    d_gt = ndimage.distance_transform_edt(~gb)
    d_fg = ndimage.distance_transform_edt(~pb)
    # integer squared distances: compare d^2 <= r^2 exactly
    p = np.count_nonzero(np.rint(d_gt[pb] ** 2) <= radius * radius) / float(n_fg)
    r = np.count_nonzero(np.rint(d_fg[gb] ** 2) <= radius * radius) / float(n_gt)
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


# ------------------------------------------------------------------ strategies


@st.composite
def mask_pair(draw: st.DrawFn, max_side: int = 40, margin: int = 0) -> tuple[np.ndarray, np.ndarray]:
    h = draw(st.integers(1 + 2 * margin, max_side))
    w = draw(st.integers(1 + 2 * margin, max_side))
    seed = draw(st.integers(0, 2**32 - 1))
    rs = np.random.RandomState(seed)

    def one() -> np.ndarray:
        m = np.zeros((h, w), bool)
        kind = draw(st.sampled_from(["noise", "rects", "empty", "full"]))
        if kind == "noise":
            m = rs.random_sample((h, w)) < draw(st.floats(0.05, 0.95))
        elif kind == "rects":
            for _ in range(draw(st.integers(1, 4))):
                y0, x0 = rs.randint(0, h), rs.randint(0, w)
                m[y0:y0 + rs.randint(1, h + 1), x0:x0 + rs.randint(1, w + 1)] = True
        elif kind == "full":
            m[:] = True
        if margin:
            inner = np.zeros_like(m)
            inner[margin:h - margin, margin:w - margin] = m[margin:h - margin, margin:w - margin]
            m = inner
        return m

    return one(), one()


# ------------------------------------------------------------------ properties


@SETTINGS
@given(mask_pair(), st.integers(0, 6))
def test_f_matches_independent_edt_reference_and_is_symmetric(pair: tuple[np.ndarray, np.ndarray], r: int) -> None:
    g, p = pair
    f = boundary_f_measure(g, p, radius=r)
    assert f == _ref_f(g, p, r)
    assert f == boundary_f_measure(p, g, radius=r)
    assert 0.0 <= f <= 1.0


@SETTINGS
@given(mask_pair(max_side=48))
def test_j_f_in_unit_interval_and_j_symmetric(pair: tuple[np.ndarray, np.ndarray]) -> None:
    g, p = pair
    j, f = j_and_f(g, p)
    assert 0.0 <= j <= 1.0 and 0.0 <= f <= 1.0
    assert j == region_similarity(p, g) == region_similarity(g, p)
    assert f == boundary_f_measure(g, p) == boundary_f_measure(p, g)
    union = np.count_nonzero(g | p)
    assert j == (1.0 if union == 0 else np.count_nonzero(g & p) / union)


@SETTINGS
@given(mask_pair(max_side=32, margin=1), st.integers(0, 5), st.tuples(*[st.integers(0, 7)] * 4))
def test_zero_padding_invariance_at_fixed_radius(pair: tuple[np.ndarray, np.ndarray], r: int,
                                                 pads: tuple[int, int, int, int]) -> None:
    # masks keep a 1-px zero margin: the image border is never a boundary, so an object touching it would
    # legitimately gain boundary pixels when padded
    g, p = pair
    top, bottom, left, right = pads
    gp = np.pad(g, ((top, bottom), (left, right)))
    pp = np.pad(p, ((top, bottom), (left, right)))
    assert j_and_f(gp, pp, radius=r) == j_and_f(g, p, radius=r)


@SETTINGS
@given(mask_pair(max_side=30), st.integers(0, 2**32 - 1))
def test_void_equals_masking_both_inputs(pair: tuple[np.ndarray, np.ndarray], seed: int) -> None:
    g, p = pair
    void = np.random.RandomState(seed).random_sample(g.shape) < 0.2
    j, f = j_and_f(g, p, void)
    assert f == boundary_f_measure(g & ~void, p & ~void)
    assert f == _ref_f(g, p, boundary_radius(g.shape), void)
    union = np.count_nonzero((g | p) & ~void)
    assert j == (1.0 if union == 0 else np.count_nonzero(g & p & ~void) / union)


@SETTINGS
@given(mask_pair(max_side=40), st.integers(0, 12), st.integers(0, 2**32 - 1))
def test_uint8_frames_equal_bool_frames_and_the_reference(pair: tuple[np.ndarray, np.ndarray], r: int,
                                                          seed: int) -> None:
    """uint8 frames are read as bytes (any non-zero value is foreground, no full-frame conversion); radii up to 12
    on frames from 1 px wide exercise the zero gap between the two boundary maps dilated together."""
    g, p = pair
    rs = np.random.RandomState(seed)
    g8 = g.astype(np.uint8) * 255
    p8 = p.astype(np.uint8) * rs.randint(1, 256, size=p.shape).astype(np.uint8)
    want = j_and_f(g, p, radius=r)
    assert j_and_f(g8, p8, radius=r) == j_and_f(g, p8, radius=r) == j_and_f(g8, p, radius=r) == want
    assert boundary_f_measure(g8, p8, radius=r) == want[1] == _ref_f(g, p, r)
    union = np.count_nonzero(g | p)
    assert want[0] == (1.0 if union == 0 else np.count_nonzero(g & p) / union)
    void = rs.random_sample(g.shape) < 0.2
    assert j_and_f(g8, p8, void, radius=r) == j_and_f(g, p, void, radius=r)
    assert j_and_f(g8, p8, void, radius=r)[1] == _ref_f(g, p, r, void)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([(120, 213), (240, 427), (97, 400)]))
def test_shifted_blobs_at_the_frame_radius(seed: int, shape: tuple[int, int]) -> None:
    """Prediction-like pairs (a blob and a shifted copy, also touching the border) at the radius of the frame."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    g = np.zeros(shape, bool)
    for _ in range(int(rng.integers(1, 3))):
        cy, cx = rng.integers(-10, h + 10), rng.integers(-10, w + 10)
        g |= ((yy - cy) / rng.integers(3, 60)) ** 2 + ((xx - cx) / rng.integers(3, 60)) ** 2 <= 1
    p = np.roll(g, tuple(int(x) for x in rng.integers(-8, 9, size=2)), axis=(0, 1))
    p8 = p.astype(np.uint8) * 255
    j, f = j_and_f(g, p8)
    assert f == _ref_f(g, p, boundary_radius(shape))
    union = np.count_nonzero(g | p)
    assert j == (1.0 if union == 0 else np.count_nonzero(g & p) / union)


@SETTINGS
@given(mask_pair(max_side=25))
def test_boundary_map_matches_reference(pair: tuple[np.ndarray, np.ndarray]) -> None:
    g, _ = pair
    b = boundary_map(g)
    assert b.dtype == bool and b.shape == g.shape
    assert np.array_equal(b, _ref_bmap(g))
    assert np.array_equal(boundary_map(g.astype(np.uint8) * 7), b)


# ------------------------------------------------------- edge cases of davis2017 `db_eval_boundary` (@ac7c43f)


def test_boundary_map_rules() -> None:
    m = np.zeros((5, 6), bool)
    m[2, 3] = True  # interior pixel -> 2x2 block at rows 1..2, cols 2..3
    assert np.argwhere(boundary_map(m)).tolist() == [[1, 2], [1, 3], [2, 2], [2, 3]]
    assert not boundary_map(np.ones((4, 4), bool)).any()
    assert not boundary_map(np.ones((1, 1), bool)).any()
    corner = np.zeros((3, 3), bool)
    corner[0, 0] = True
    assert boundary_map(corner).sum() == 1
    last_col = np.zeros((4, 5), bool)
    last_col[:, 4] = True  # vertical line on the last column -> its boundary lies on column W-2
    assert np.array_equal(np.flatnonzero(boundary_map(last_col).any(axis=0)), [3])


def test_empty_boundary_rules() -> None:
    z = np.zeros((480, 854), bool)
    assert j_and_f(z, z) == (1.0, 1.0)
    obj = z.copy()
    obj[100:200, 100:300] = True
    assert j_and_f(obj, z) == (0.0, 0.0) and j_and_f(z, obj) == (0.0, 0.0)
    one = np.ones((1, 1), bool)
    assert j_and_f(one, np.zeros((1, 1), bool)) == (0.0, 1.0)  # J=0 but both boundaries are empty: F=1
    full = np.ones((480, 854), bool)
    inset = np.zeros_like(full)
    inset[4:-4, 4:-4] = True
    j, f = j_and_f(full, inset)
    assert f == 0.0 and 0.97 < j < 0.98


def test_radius_and_disk() -> None:
    assert boundary_radius((480, 854)) == 8
    assert boundary_radius((720, 1280)) == 12
    assert boundary_radius((1080, 1920)) == 18
    assert boundary_radius((600, 800)) == 8  # diagonal exactly 1000
    assert boundary_radius((1, 1)) == 1
    assert boundary_radius((480, 854), bound_th=3) == 3
    assert [int(disk(r).sum()) for r in range(1, 9)] == [5, 13, 29, 49, 81, 113, 149, 197]
    assert int(disk(12).sum()) == 441 and int(disk(18).sum()) == 1009
    with pytest.raises(ValueError):
        boundary_radius((10, 10), bound_th=2.5)


def test_shape_validation_names_shapes() -> None:
    a, b = np.zeros((4, 5), bool), np.zeros((5, 4), bool)
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(5, 4\)"):
        region_similarity(a, b)
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(5, 4\)"):
        boundary_f_measure(a, b)
    with pytest.raises(ValueError, match="void shape"):
        j_and_f(a, a, void=b)
    with pytest.raises(ValueError, match="2-D"):
        j_and_f(np.zeros((2, 4, 5)), np.zeros((2, 4, 5)))
    with pytest.raises(ValueError, match="radius"):
        boundary_f_measure(a, a, radius=-1)


# ------------------------------------------------------------------ decay: fixed vs compat, values by hand


def test_decay_bins_by_hand() -> None:
    assert decay_bins(78) == [(0, 20), (19, 40), (39, 59), (58, 78)]
    assert decay_bins(3) == [(0, 2), (1, 2), (1, 3), (2, 3)]
    # 256 frames: ids = [0, 64, 128, 191, 255]; the anchor's uint8(255) + 1 wraps to 0 (numpy >= 2)
    assert decay_bins(256, "compat")[3] == (191, 0)
    assert decay_bins(256, "fixed") == [(0, 65), (64, 129), (128, 192), (191, 256)]
    # 300 frames: ids = [0, 75, 150, 224, 299]; 299 -> uint8 43
    assert decay_bins(300, "compat")[3] == (224, 44)
    assert decay_bins(300, "fixed")[3] == (224, 300)


def test_fixed_decay_hand_computed() -> None:
    v = np.arange(300, dtype=np.float64)  # bin0 = 0..75 (mean 37.5), bin3 = 224..299 (mean 261.5)
    assert db_statistics(v, "fixed")[2] == 37.5 - 261.5
    assert math.isnan(db_statistics(v, "compat")[2])
    v = np.arange(256, dtype=np.float64)  # bin0 = 0..64 (mean 32), bin3 = 191..255 (mean 223)
    assert db_statistics(v, "fixed")[2] == 32.0 - 223.0
    assert math.isnan(db_statistics(v, "compat")[2])
    v = np.r_[np.ones(76), np.zeros(224)]  # bin0 all 1, bin3 all 0
    assert db_statistics(v, "fixed") == (76 / 300, 76 / 300, 1.0)
    v = np.array([0.9, 0.4, 0.6])  # ids [0,1,1,2,2]: bin0 = v[0:2], bin3 = v[2:3]
    assert db_statistics(v, "fixed")[2] == db_statistics(v, "compat")[2] == np.mean([0.9, 0.4]) - 0.6


def test_statistics_recall_strict_and_nan() -> None:
    m, o, _ = db_statistics([0.5, 0.5, 0.5000001, float("nan")])
    assert o == 0.25  # strict > 0.5; the NaN frame stays in the denominator
    assert m == np.nanmean([0.5, 0.5, 0.5000001])
    assert all(math.isnan(x) for x in db_statistics([]))
    with pytest.raises(ValueError):
        db_statistics([0.1], decay="bogus")  # type: ignore[arg-type]


# ------------------------------------------------------------------ streaming accumulation


def test_sequence_accumulator_matches_per_frame_functions() -> None:
    from lvsbench.metrics.accumulate import GLOBAL_MEASURES, SequenceAccumulator, summarize

    rs = np.random.RandomState(3)
    h, w, n_frames = 48, 64, 12
    acc = SequenceAccumulator("seq", objects=[1, 2, 3])
    expected: dict[int, list[tuple[float, float]]] = {1: [], 2: [], 3: []}
    for t in range(n_frames):
        gt = np.zeros((h, w), np.uint8)
        pred = np.zeros((h, w), np.uint8)
        gt[5 + t:20 + t, 4:30] = 1
        pred[6 + t:21 + t, 5:31] = 1
        gt[30:40, 40 + t // 2:50 + t // 2] = 2
        if t % 3:
            pred[30:41, 40:52] = 2
        # object 3 never appears in GT nor prediction: J = F = 1 every frame (davis2017 convention)
        noise = rs.random_sample((h, w)) < 0.05
        pred[noise & (pred == 0)] = 1
        res = acc.add_label_maps(t, gt, pred)
        for k in (1, 2, 3):
            want = j_and_f(gt == k, pred == k)
            assert res[k] == want
            expected[k].append(want)
    for k in (1, 2, 3):
        assert acc.j(k).tolist() == [x[0] for x in expected[k]]
        assert acc.f(k).tolist() == [x[1] for x in expected[k]]
        assert acc.frames(k) == list(range(n_frames))
    assert acc.j(3).tolist() == [1.0] * n_frames and acc.f(3).tolist() == [1.0] * n_frames
    stats = acc.compute()
    assert stats["object"].tolist() == [1, 2, 3] and stats["n_frames"].tolist() == [n_frames] * 3
    for _, row in stats.iterrows():
        assert (row["J-Mean"], row["J-Recall"], row["J-Decay"]) == db_statistics(acc.j(row["object"]))
        assert (row["F-Mean"], row["F-Recall"], row["F-Decay"]) == db_statistics(acc.f(row["object"]))
    g = summarize([acc])
    assert tuple(g) == GLOBAL_MEASURES
    assert g["J-Mean"] == np.mean(stats["J-Mean"].to_numpy())
    assert g["J&F-Mean"] == (np.mean(stats["J-Mean"].to_numpy()) + np.mean(stats["F-Mean"].to_numpy())) / 2
    assert len(acc.per_frame()) == 3 * n_frames


def test_sequence_accumulator_nan_decay_propagates_and_fixed_mode() -> None:
    from lvsbench.metrics.accumulate import SequenceAccumulator, summarize

    acc = SequenceAccumulator("long", radius=1)
    m = np.zeros((6, 6), bool)
    m[1:4, 1:4] = True
    for t in range(256):
        acc.update("o", t, m, m if t < 128 else np.zeros_like(m))
    assert math.isnan(summarize([acc], decay="compat")["J-Decay"])  # anchor-compatible: uint8 index cast
    fixed = summarize([acc], decay="fixed")
    assert fixed["J-Decay"] == 1.0 - 0.0 and fixed["J-Mean"] == 0.5
    assert summarize([acc]) == fixed  # the one default (DEFAULT_DECAY) is "fixed"


def test_sequence_accumulator_errors_name_the_item() -> None:
    from lvsbench.metrics.accumulate import SequenceAccumulator

    acc = SequenceAccumulator("vid7")
    z = np.zeros((4, 4), bool)
    acc.update("exp0", "00000", z, z)
    with pytest.raises(ValueError, match="exp0.*00000.*twice"):
        acc.update("exp0", "00000", z, z)
    with pytest.raises(ValueError, match=r"vid7.*exp0.*00005.*\(4, 4\).*\(4, 5\)"):
        acc.update("exp0", "00005", z, np.zeros((4, 5), bool))


@pytest.mark.parametrize("r", list(range(0, 21)) + [24, 30])
def test_rectangle_union_dilation_equals_disk_dilation(r: int) -> None:
    import cv2

    from lvsbench.metrics.functional import _dilate, disk_rectangles

    union = np.zeros_like(disk(r))
    for k in disk_rectangles(r):
        h, w = k.shape
        union[r - h // 2:r + h // 2 + 1, r - w // 2:r + w // 2 + 1] = 1
    assert np.array_equal(union, disk(r))
    rs = np.random.RandomState(r)
    b = rs.random_sample((3 * r + 7, 4 * r + 5)) < 0.02
    assert np.array_equal(_dilate(b, r), cv2.dilate(b.view(np.uint8), disk(r)).view(bool))


# ------------------------------------------------------------------ closed forms and windows used by the scorer


def _small_masks(draw: st.DrawFn, p_fill: float | None = None) -> np.ndarray:
    h = draw(st.integers(1, 12))
    w = draw(st.integers(1, 12))
    kind = draw(st.sampled_from(["random", "empty", "full", "rect"]))
    if kind == "empty":
        return np.zeros((h, w), bool)
    if kind == "full":
        return np.ones((h, w), bool)
    if kind == "rect":
        m = np.zeros((h, w), bool)
        y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        m[y0:draw(st.integers(y0 + 1, h)), x0:draw(st.integers(x0 + 1, w))] = True
        return m
    seed = draw(st.integers(0, 2**31 - 1))
    return np.random.default_rng(seed).random((h, w)) < (p_fill if p_fill is not None else 0.4)


@st.composite
def _gt_void(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray | None]:
    g = _small_masks(draw)
    if not draw(st.booleans()):
        return g, None
    kind = draw(st.sampled_from(["disjoint", "overlapping", "all"]))
    v = np.random.default_rng(draw(st.integers(0, 2**31 - 1))).random(g.shape) < 0.3
    if kind == "disjoint":
        v &= ~g  # a label map: void (255) and an object never share a pixel
    elif kind == "all":
        v[:] = True
    return g, v


@SETTINGS
@given(_gt_void())
def test_empty_prediction_closed_form_equals_j_and_f(gv: tuple[np.ndarray, np.ndarray | None]) -> None:
    g, v = gv
    assert j_and_f_empty_prediction(g, v) == j_and_f(g, np.zeros_like(g), v)


@st.composite
def _pair_in_frame(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    out = []
    for _ in range(2):
        m = np.zeros((h, w), bool)
        if draw(st.booleans()):
            y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
            y1, x1 = int(rng.integers(y0 + 1, h + 1)), int(rng.integers(x0 + 1, w + 1))
            m[y0:y1, x0:x1] = rng.random((y1 - y0, x1 - x0)) < draw(st.sampled_from([0.5, 0.9, 1.0]))
        out.append(m)
    v = (rng.random((h, w)) < 0.2) & ~out[0] if draw(st.booleans()) else None
    return out[0], out[1], v


@SETTINGS
@given(_pair_in_frame(), st.integers(1, 6))
def test_pair_window_scores_like_the_full_frame(pair: tuple[np.ndarray, np.ndarray, np.ndarray | None],
                                                radius: int) -> None:
    """Scoring the crops of `pair_window(mask_box(g), mask_box(p))` at the frame's radius is exact."""
    g, p, v = pair
    win = pair_window(mask_box(g), mask_box(p), g.shape)
    full = j_and_f(g, p, v, radius=radius)
    if win is None:
        assert not g.any() and not p.any() and full == (1.0, 1.0)
        return
    assert j_and_f(g[win], p[win], None if v is None else v[win], radius=radius) == full


def test_mask_box_is_the_bounding_rect() -> None:
    m = np.zeros((7, 9), bool)
    assert mask_box(m) == (0, 0, 0, 0)
    m[2, 3] = m[5, 7] = True
    assert mask_box(m) == (3, 2, 5, 4)
