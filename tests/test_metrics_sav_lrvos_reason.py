"""Invariants of the Ref-SAV / Long-RVOS / ReasonVOS metric functions (the golden parity is in
test_modern_golden_sav_lrvos_reason.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lvsbench.datasets.long_rvos import object_labels
from lvsbench.metrics import long_rvos as lr
from lvsbench.metrics.functional import j_and_f
from lvsbench.metrics.modern import pixel_accuracy, refsav_frame, revos_rounded, subset_aggregate

masks = st.lists(arrays(np.bool_, (6, 7)), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(masks, masks)
def test_long_rvos_expression_invariants(gts: list[np.ndarray], preds: list[np.ndarray]) -> None:
    n = min(len(gts), len(preds))
    frames = [lr.frame_scores(g, p) for g, p in zip(gts[:n], preds[:n], strict=True)]
    s = lr.expression_scores(frames)
    assert 0 <= s["vIoU"] <= s["tIoU"] <= 1
    js = np.array([j_and_f(g, p)[0] for g, p in zip(gts[:n], preds[:n], strict=True)])
    assert s["J"] == js.mean()  # np.mean semantics, also beyond 8 frames
    g_any = np.array([g.any() for g in gts[:n]])
    p_any = np.array([p.any() for p in preds[:n]])
    if not (g_any | p_any).any():
        assert (s["tIoU"], s["vIoU"]) == (1, 1) and type(s["tIoU"]) is int
    else:
        assert s["tIoU"] == (g_any & p_any).sum() / (g_any | p_any).sum()


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, (5, 9), elements=st.integers(0, 3)), arrays(np.uint8, (5, 9), elements=st.integers(0, 1)))
def test_refsav_accuracy_is_raw_value_agreement(gt: np.ndarray, pred: np.ndarray) -> None:
    assert pixel_accuracy(gt, pred) == np.mean(gt == pred)
    j, f, a = refsav_frame(gt, pred)
    assert (j, f) == j_and_f(gt > 0, pred > 0)


def test_refsav_subsets_and_overall() -> None:
    subsets = {0: "long", 1: "short"}

    def compute(rows: list[tuple[int, dict[str, float]]]) -> dict:
        return subset_aggregate([(t, revos_rounded(v)) for t, v in rows], subsets, ("J", "F", "A"))

    got = compute([(0, {"J": 0.5, "F": 0.25, "A": 1.0}), (1, {"J": 1.0, "F": 1.0, "A": 0.99675}),
                   (0, {"J": 0.0, "F": 0.0, "A": 0.5})])
    assert got["long"] == {"J": 25.0, "F": 12.5, "A": 75.0, "JF": 18.75, "n": 2}
    assert got["short"]["A"] == 99.68 and got["overall"]["J"] == (25.0 + 100.0) / 2
    assert np.isnan(compute([(0, {"J": 0.5, "F": 0.5, "A": 0.5})])["short"]["J"])  # upstream: empty subset -> NaN


def test_long_rvos_overall_is_pooled_not_mean_of_types() -> None:
    zero = {"J": 0.0, "F": 0.0, "tIoU": 0.0, "vIoU": 0.0}
    got = lr.aggregate([("static", {"J": 1.0, "F": 1.0, "tIoU": 1, "vIoU": 1}), ("dynamic", zero), ("dynamic", zero)],
                       ("dynamic", "static", "hybrid"))
    assert got["overall"]["J"] == 1 / 3 and got["hybrid"]["n"] == 0


def test_long_rvos_object_labels() -> None:
    assert object_labels(["0", "3", "3"]) == {"0": 1, "3": 4}
    assert object_labels(["7", "obj", "300"]) == {"7": 1, "300": 2, "obj": 3}
