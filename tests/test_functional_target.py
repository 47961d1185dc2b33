"""`TargetFrame` / `j_and_f_target` (the target's boundary map and dilation made once and shared by the predictions
scored against it) against `j_and_f`: equal with `==`, on every kind of mask, size, radius and dtype."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lvsbench.metrics.functional import TargetFrame, j_and_f, j_and_f_target


@st.composite
def _mask(draw: st.DrawFn, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["empty", "full", "blobs", "noise", "edge"]))
    m = np.zeros(shape, dtype=bool)
    if kind == "full":
        m[:] = True
    elif kind == "blobs":
        for _ in range(draw(st.integers(1, 3))):
            y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
            m[y0:y0 + int(rng.integers(1, h + 1)), x0:x0 + int(rng.integers(1, w + 1))] = True
    elif kind == "noise":
        m = rng.random(shape) < rng.random()
    elif kind == "edge":  # touching the image border, where the windows are clipped
        m[-int(rng.integers(1, h + 1)):, :int(rng.integers(1, w + 1))] = True
    if draw(st.booleans()):  # uint8 as the drivers pass raw predictions: any non-zero value is foreground
        return m.astype(np.uint8) * np.uint8(draw(st.sampled_from([1, 2, 255])))
    return m


@st.composite
def _pairs(draw: st.DrawFn) -> tuple[np.ndarray, list[np.ndarray], float]:
    shape = (draw(st.integers(1, 40)), draw(st.integers(1, 40)))
    gt = draw(_mask(shape))
    preds = [draw(_mask(shape)) for _ in range(draw(st.integers(1, 3)))]
    return gt, preds, draw(st.sampled_from([0.008, 0.05, 1, 2, 3, 5, 8]))


@settings(max_examples=600, deadline=None)
@given(_pairs())
def test_shared_target_equals_j_and_f(case: tuple[np.ndarray, list[np.ndarray], float]) -> None:
    gt, preds, bound_th = case
    target = TargetFrame(gt, bound_th)
    for p in preds:  # one target, several predictions, as the drivers use it
        assert j_and_f_target(target, p) == j_and_f(gt, p, bound_th=bound_th)


def test_large_frame_with_the_mevis_radius() -> None:
    """480x854 (radius 8): a target and predictions near it, away from it, empty, and around the image edge."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:480, :854]
    gt = ((yy - 200) / 90) ** 2 + ((xx - 400) / 150) ** 2 <= 1
    shifted = [np.roll(gt, (int(dy), int(dx)), axis=(0, 1)) for dy, dx in rng.integers(-40, 40, size=(5, 2))]
    preds = [*shifted, np.zeros_like(gt), gt, ~gt, np.roll(gt, (250, 400), axis=(0, 1)).astype(np.uint8) * 255]
    target = TargetFrame(gt)
    for p in preds:
        assert j_and_f_target(target, p) == j_and_f(gt, p)
    empty = TargetFrame(np.zeros_like(gt))
    for p in preds:
        assert j_and_f_target(empty, p) == j_and_f(np.zeros_like(gt), p)


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        j_and_f_target(TargetFrame(np.zeros((4, 5), bool)), np.zeros((5, 4), bool))
