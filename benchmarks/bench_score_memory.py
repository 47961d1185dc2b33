"""Benchmark: peak memory of streaming J/F accumulation over a long high-resolution video, vs the float64
(objects x frames x H x W) arrays the official davis2017-evaluation loader allocates.

Each measurement runs in a fresh subprocess and reports its peak RSS (`resource.getrusage(...).ru_maxrss`) and the
tracemalloc peak of the scoring loop. The official loader's footprint, about (2 + 2 * n_obj) * 8 * T * H * W bytes
(davis2017-evaluation @ ac7c43f: `davis2017/davis.py:get_all_masks` and `results.py:read_masks` build float64
(T,H,W) label stacks plus float64 (n_obj,T,H,W) per-object stacks for GT and
predictions), is measured for a few frames with that allocation pattern and extrapolated to the full video.
Usage:

    .venv/bin/python benchmarks/bench_score_memory.py [--frames 300] [--objects 5] [--height 720] [--width 1280]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def _frame(t: int, n_obj: int, h: int, w: int, pred: bool) -> np.ndarray:
    import cv2

    lab = np.zeros((h, w), np.uint8)
    for k in range(1, n_obj + 1):
        cy = h * (0.2 + 0.6 * ((k * 0.37 + t * 0.003) % 1.0))
        cx = w * (0.15 + 0.7 * ((k * 0.61 + t * 0.002 * k) % 1.0))
        ax = (int(w * (0.03 + 0.025 * k)), int(h * (0.04 + 0.02 * k)))
        ang = (t * 2 + 40 * k) % 180
        if pred:
            cy, cx = cy + 3 * np.sin(t / 5 + k), cx + 4 * np.cos(t / 7 + k)
            if (t + k) % 37 == 0:  # an occasional missed object
                continue
        cv2.ellipse(lab, (int(cx), int(cy)), ax, ang, 0, 360, k, -1)
    return lab


def child_streaming(frames: int, n_obj: int, h: int, w: int) -> dict:
    import tracemalloc

    import cv2

    from lvsbench.metrics.accumulate import SequenceAccumulator, summarize

    cv2.setNumThreads(1)
    rss_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    t0 = time.process_time()
    acc = SequenceAccumulator("long_video", objects=list(range(1, n_obj + 1)))
    for t in range(frames):  # frames are produced and scored one at a time (as decoded from PNG by `score`)
        acc.add_label_maps(t, _frame(t, n_obj, h, w, False), _frame(t, n_obj, h, w, True))
    res = summarize([acc], decay="fixed")
    cpu = time.process_time() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "rss_after_imports": rss_imports,
            "tracemalloc_peak": peak, "cpu_s": cpu, "J&F-Mean": res["J&F-Mean"]}


def child_official(frames: int, n_obj: int, h: int, w: int) -> dict:
    """The official loader's footprint (davis2017-evaluation @ ac7c43f `get_all_masks` / `read_masks`): per side
    (GT, prediction) a float64 (T,H,W) label stack and a float64 (n_obj,T,H,W) per-object stack, all held at once."""
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    held = []
    for pred in (False, True):
        stack = np.zeros((frames, h, w))
        for t in range(frames):
            stack[t] = _frame(t, n_obj, h, w, pred)
        per_obj = np.empty((n_obj, frames, h, w))
        for k in range(n_obj):
            per_obj[k] = stack == k + 1
        held += [stack, per_obj]
    return {"peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "rss_after_imports": rss0}


def _run(mode: str, frames: int, n_obj: int, h: int, w: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--frames", str(frames), "--objects", str(n_obj),
                          "--height", str(h), "--width", str(w)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--objects", type=int, default=5)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--official-frames", type=int, default=3, help="frames for the measured official-pattern run")
    ap.add_argument("--child", choices=["streaming", "official"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    n, k, h, w = a.frames, a.objects, a.height, a.width
    if a.child:
        fn = child_streaming if a.child == "streaming" else child_official
        print(json.dumps(fn(n, k, h, w)))
        return

    mb = 1 / 2**20
    short = _run("streaming", max(n // 10, 1), k, h, w)
    full = _run("streaming", n, k, h, w)
    off = _run("official", a.official_frames, k, h, w)
    formula_full = (2 + 2 * k) * 8 * n * h * w
    formula_short = (2 + 2 * k) * 8 * a.official_frames * h * w
    off_measured = off["peak_rss"] - off["rss_after_imports"]
    extrapolated = off_measured / a.official_frames * n
    print(f"video: {n} frames of {h}x{w}, {k} objects ({n * k} frame-objects)")
    print(f"streaming, {max(n // 10, 1)} frames: peak RSS {short['peak_rss'] * mb:.1f} MB "
          f"(after imports {short['rss_after_imports'] * mb:.1f} MB), tracemalloc peak "
          f"{short['tracemalloc_peak'] * mb:.2f} MB")
    print(f"streaming, {n} frames: peak RSS {full['peak_rss'] * mb:.1f} MB "
          f"(after imports {full['rss_after_imports'] * mb:.1f} MB), tracemalloc peak "
          f"{full['tracemalloc_peak'] * mb:.2f} MB, {full['cpu_s'] * 1e3 / (n * k):.2f} ms CPU per frame-object "
          f"incl. drawing the synthetic frames; J&F-Mean {full['J&F-Mean']:.6f}")
    print(f"official allocation pattern, {a.official_frames} frames: measured {off_measured * mb:.1f} MB above "
          f"imports (formula (2+2*{k})*8*T*H*W = {formula_short * mb:.1f} MB)")
    print(f"official allocation pattern, {n} frames: formula {formula_full / 1e9:.2f} GB, "
          f"extrapolated from the measurement {extrapolated / 1e9:.2f} GB")
    print(f"memory ratio official/streaming (peak RSS): {formula_full / full['peak_rss']:.0f}x; "
          f"streaming peak grows {full['peak_rss'] / short['peak_rss']:.3f}x for 10x the frames")
    assert full["peak_rss"] < 300 * 2**20, "streaming peak RSS above 300 MB"


if __name__ == "__main__":
    main()
