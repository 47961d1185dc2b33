"""The streamed COCO mAP (`CocoAccumulator`: COCOeval's per-image part in `update`, pycocotools' accumulate at
`compute`) and the RLE pixel counts (`rle_counts`) equal pycocotools' COCOeval and full-mask counts (`==`)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

from lvsbench.core.codecs import rle_decode, rle_encode
from lvsbench.metrics.referring import CocoAccumulator, coco_map, rle_counts

H, W = 110, 120  # 13200 pixels: masks fall in COCO's small (< 32**2), medium and large (> 96**2) area ranges


@st.composite
def _mask(draw: st.DrawFn) -> np.ndarray:
    """A rectangle (possibly empty) with a few flipped pixels: every area range, shared and disjoint pixels."""
    m = np.zeros((H, W), dtype=bool)
    y0, x0 = draw(st.integers(0, H)), draw(st.integers(0, W))
    m[y0:y0 + draw(st.integers(0, H)), x0:x0 + draw(st.integers(0, W))] = True
    for _ in range(draw(st.integers(0, 3))):
        m[draw(st.integers(0, H - 1)), draw(st.integers(0, W - 1))] ^= True
    return m


def _as_rle(m: np.ndarray, as_list: bool) -> dict:
    """A compressed RLE (str counts), or the same mask as an uncompressed one (list counts)."""
    if not as_list:
        return rle_encode(m)
    flat = m.T.reshape(-1)
    edges = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    return {"size": [H, W], "counts": ([0] if flat[0] else []) + runs}


_SCORES = st.sampled_from([0.0, 0.1, 0.5, 0.5000001, 0.9, 1.0])  # few values: ties within and across images


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_mask(), st.lists(st.tuples(_mask(), _SCORES, st.booleans()), max_size=5)),
                min_size=1, max_size=6))
def test_streamed_coco_equals_cocoeval(images: list) -> None:
    gt = {f"img{k:02d}": g for k, (g, _) in enumerate(images)}
    dets = [{"image_id": f"img{k:02d}", "mask": m, "score": s} for k, (_, c) in enumerate(images) for m, s, _ in c]
    acc, other = CocoAccumulator(), CocoAccumulator()
    for k, (g, cands) in enumerate(reversed(images)):  # update / merge order does not matter
        k = len(images) - 1 - k
        (acc if k % 2 else other).update(f"img{k:02d}", rle_encode(g) if k % 3 else g,
                                         [(_as_rle(m, as_list), s) for m, s, as_list in cands])
    assert acc.merge(other).compute() == coco_map(gt, dets)
    keep = sorted(gt)[::2]
    assert acc.select(keep).compute() == coco_map({k: gt[k] for k in keep},
                                                  [d for d in dets if d["image_id"] in keep])


def test_streamed_coco_keeps_the_100_best_candidates() -> None:
    """COCOeval keeps maxDets[-1] = 100 candidates per image (best first, first listed among ties): the 101st
    and later never count, even when they match."""
    rng = np.random.default_rng(0)
    gt = {"a": np.zeros((H, W), bool), "b": np.zeros((H, W), bool)}
    gt["a"][10:60, 20:90] = True
    gt["b"][:5, :5] = True
    dets = []
    for iid, g in gt.items():
        for n in range(130):
            m = g.copy() if n % 40 == 39 else rng.random((H, W)) < 0.02
            dets.append({"image_id": iid, "mask": m, "score": float(n % 7) / 7})
    acc = CocoAccumulator()
    for iid, g in gt.items():
        acc.update(iid, g, [(rle_encode(d["mask"]), d["score"]) for d in dets if d["image_id"] == iid])
    assert acc.compute() == coco_map(gt, dets)


def test_streamed_coco_without_candidates() -> None:
    g = np.zeros((H, W), bool)
    g[:40, :40] = True
    acc = CocoAccumulator()
    acc.update("a", g, [])
    assert acc.compute() == coco_map({"a": g}, [])


@settings(max_examples=200, deadline=None)
@given(_mask(), _mask(), st.booleans(), st.integers(0, 3))
def test_rle_counts_equal_mask_counts(g: np.ndarray, p: np.ndarray, as_list: bool, zeros: int) -> None:
    """I and U from pycocotools' RLE merge / area equal the decoded masks' counts, also for a prediction whose
    uncompressed counts hold zero-length runs."""
    pred = _as_rle(p, as_list)
    if as_list and zeros:
        runs = pred["counts"]
        at = zeros % (len(runs) + 1)
        pred = {"size": [H, W], "counts": runs[:at] + [0, 0] + runs[at:]}
    gr = mask_utils.encode(np.asfortranarray(g.view(np.uint8)))
    pr = mask_utils.frPyObjects(pred, H, W) if as_list else pred
    dense = rle_decode(pred)
    assert np.array_equal(dense, p)
    assert rle_counts(gr, pr) == (int(np.count_nonzero(g & p)), int(np.count_nonzero(g | p)))
