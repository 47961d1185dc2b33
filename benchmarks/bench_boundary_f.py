"""Benchmark: DAVIS boundary F per frame-object at 480x854, lvsbench vs a straightforward implementation of the
official algorithm (full-frame boundary map + full-frame cv2.dilate with skimage disk, per frame and object, as
davis2017-evaluation @ ac7c43f `db_eval_boundary` does; written here from its documented behaviour, see
docs/metrics.md).

Asserts bit-identical F on every pair, then prints per-frame-object medians and the speed-up ratio.
Single thread (cv2.setNumThreads(1)). Usage:

    .venv/bin/python benchmarks/bench_boundary_f.py [--sequences 20] [--frames 30] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from official_baseline import official_f  # noqa: E402

from lvsbench.metrics.functional import boundary_f_measure, j_and_f  # noqa: E402

H, W = 480, 854


def make_workload(n_seq: int, n_frames: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Moving, rotating, resizing ellipses and blobs (1-3 per sequence, semi-axes 8-170 px) with drifting, jittered
    predictions: occasional misses, spurious blobs, holes. Returns (gt, pred) bool pairs, one per frame-object."""
    rs = np.random.RandomState(seed)
    pairs = []
    for _ in range(n_seq):
        objs = []
        for _ in range(rs.randint(1, 4)):
            size = rs.choice([12, 30, 60, 110, 170])
            objs.append(dict(c=rs.uniform([60, 60], [H - 60, W - 60]), v=rs.uniform(-6, 6, 2),
                             ax=np.array([size, size * rs.uniform(0.4, 1.0)]), ang=rs.uniform(0, 180),
                             w=rs.uniform(-4, 4), blob=rs.rand() < 0.4))
        for t in range(n_frames):
            for o in objs:
                c = o["c"] + o["v"] * t
                ax = o["ax"] * (1 + 0.1 * np.sin(t / 7))
                ang = o["ang"] + o["w"] * t
                gt = np.zeros((H, W), np.uint8)
                cv2.ellipse(gt, (int(c[1]), int(c[0])), (int(ax[0]), int(ax[1])), ang, 0, 360, 1, -1)
                if o["blob"]:  # a second lobe: non-convex object
                    cv2.ellipse(gt, (int(c[1] + ax[0] * 0.8), int(c[0] + ax[1] * 0.5)),
                                (int(ax[0] * 0.5), int(ax[1] * 0.6)), -ang, 0, 360, 1, -1)
                pred = np.zeros((H, W), np.uint8)
                if rs.rand() > 0.03:  # 3% missed
                    d = rs.normal(0, 2.5, 2) + 0.05 * t
                    cv2.ellipse(pred, (int(c[1] + d[1]), int(c[0] + d[0])),
                                (max(1, int(ax[0] * rs.uniform(0.9, 1.1))), max(1, int(ax[1] * rs.uniform(0.9, 1.1)))),
                                ang + rs.normal(0, 3), 0, 360, 1, -1)
                    if rs.rand() < 0.2:  # spurious blob
                        cv2.circle(pred, (rs.randint(0, W), rs.randint(0, H)), rs.randint(3, 25), 1, -1)
                    if rs.rand() < 0.2:  # hole
                        cv2.circle(pred, (int(c[1]), int(c[0])), max(1, int(ax[1] * 0.3)), 0, -1)
                pairs.append((gt.astype(bool), pred.astype(bool)))
    return pairs


def _cpu_time(fn, pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """CPU seconds per call (process_time: less sensitive than wall time to other jobs on a shared machine)."""
    t0 = time.process_time()
    for g, p in pairs:
        fn(g, p)
    return (time.process_time() - t0) / len(pairs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sequences", type=int, default=20)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args()
    cv2.setNumThreads(1)
    pairs = make_workload(a.sequences, a.frames)
    areas = np.array([np.count_nonzero(g) for g, _ in pairs])
    print(f"workload: {len(pairs)} frame-objects at {H}x{W} (radius 8), GT area median {int(np.median(areas))} px "
          f"(min {areas.min()}, max {areas.max()}); cv2 threads: {cv2.getNumThreads()}")

    # exactness first: every F (and the J of j_and_f) bit-identical to the official algorithm
    mism = 0
    for g, p in pairs:
        f_ref = official_f(g, p)
        j, f = j_and_f(g, p)
        union = np.count_nonzero(g | p)
        j_ref = 1.0 if union == 0 else np.count_nonzero(g & p) / union
        mism += not (boundary_f_measure(g, p) == f_ref == f and j == j_ref)
    assert mism == 0, f"{mism} mismatches"
    print(f"bit-identical: {len(pairs)}/{len(pairs)} (F and J)")

    load0 = os.getloadavg()[0]
    base, ours, ours_jf, ratios = [], [], [], []
    for _ in range(a.repeats):  # interleaved, so contention hits both sides alike
        b = _cpu_time(official_f, pairs)
        o = _cpu_time(boundary_f_measure, pairs)
        ours_jf.append(_cpu_time(j_and_f, pairs))
        base.append(b)
        ours.append(o)
        ratios.append(b / o)
    load1 = os.getloadavg()[0]
    mb, mo, mjf = (statistics.median(x) * 1e3 for x in (base, ours, ours_jf))
    fmt = ", ".join
    print(f"official algorithm (full-frame bmap + cv2.dilate disk): median {mb:.3f} ms CPU per frame-object "
          f"(repeats: {fmt(f'{x * 1e3:.3f}' for x in base)})")
    print(f"lvsbench boundary_f_measure:                           median {mo:.3f} ms CPU per frame-object "
          f"(repeats: {fmt(f'{x * 1e3:.3f}' for x in ours)})")
    print(f"lvsbench j_and_f (J and F together):                   median {mjf:.3f} ms CPU per frame-object")
    print(f"load average during the run: {load0:.2f} -> {load1:.2f} (machine shared with other jobs)")
    print(f"speed-up F (median of per-repeat ratios): {statistics.median(ratios):.1f}x "
          f"(min {min(ratios):.1f}x, max {max(ratios):.1f}x)")


if __name__ == "__main__":
    main()
