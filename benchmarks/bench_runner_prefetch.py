"""`lvsbench run` end to end: frames decoded in a worker thread while the adapter computes, vs decoded inline.

A synthetic Refer-YouTube-VOS-style dataset (JPEG frames, several expressions per video) is run through an adapter
that stands for a device: each `predict` call sleeps `--ms-per-frame` per frame and expression (like waiting for a
GPU; the sleep releases the GIL) and returns 1/4-resolution probability maps, which the runner upsamples,
thresholds and writes as PNGs. The same run is timed twice in the same process:

- baseline: `prefetch=0`, frames decoded and PNGs written inline between adapter calls (a straightforward loop);
- lvsbench: `prefetch=2`, a decode thread keeps two clips ahead and a writer thread encodes and writes the PNGs.

Both write identical predictions (checked). Prints frames/s, peak RSS and the speed-up.
Usage: python benchmarks/bench_runner_prefetch.py [--videos 24] [--frames 30] [--height 360] [--width 640]
       [--ms-per-frame 4] [--batch-frames 8]
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench.adapters.base import Adapter, Capabilities, Clip, Prediction, Query
from lvsbench.datasets.registry import load
from lvsbench.run.runner import RunOptions, run
from lvsbench.synth import get_writer


class SleepyDevice(Adapter):
    """Stands for a model on an accelerator: compute time is a sleep proportional to the clip length."""

    name = "sleepy-device"
    capabilities = Capabilities()
    ms_per_frame = 4.0

    def predict(self, clip: Clip, queries: Sequence[Query], states: Sequence[Any]) -> list[Prediction]:
        time.sleep(self.ms_per_frame * len(clip) * len(queries) / 1000.0)
        # probabilities at 1/4 resolution (like MTTR / ReferFormer mask heads), from the pixels so decoding matters
        small = clip.frames[:, ::4, ::4, :].mean(-1, dtype=np.float32) / 255.0
        return [Prediction(masks=np.clip(small + 0.1 * k, 0, 1), scores=np.ones(len(clip)))
                for k in range(len(queries))]


def digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted((root / "Annotations").rglob("*.png")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=24)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--ms-per-frame", type=float, default=4.0)
    ap.add_argument("--batch-frames", type=int, default=8)
    args = ap.parse_args()
    SleepyDevice.ms_per_frame = args.ms_per_frame
    with tempfile.TemporaryDirectory() as tmp:
        root = get_writer("ryvos")(Path(tmp) / "ds", videos=args.videos, seed=0, height=args.height,
                                   width=args.width, frames=args.frames)
        ds = load("ryvos", root, split="train")
        n_frames = sum(v.num_frames for v in ds.videos().values())
        print(f"dataset: {len(ds.videos())} videos, {n_frames} frames {args.height}x{args.width}, "
              f"{len(ds.expressions())} expressions; device stand-in {args.ms_per_frame} ms/frame")
        times = {}
        digests = {}
        for label, prefetch in (("inline (baseline)", 0), ("decode+write threads", 2)):
            out = Path(tmp) / f"out{prefetch}"
            t = time.perf_counter()
            r = run(SleepyDevice(), ds, RunOptions(out=out, progress=False, batch_frames=args.batch_frames,
                                                   prefetch=prefetch))
            times[prefetch] = time.perf_counter() - t
            digests[prefetch] = digest(out)
            s = r.session
            print(f"{label:22s} {times[prefetch]:7.2f} s  {r.frames / times[prefetch]:7.1f} frames/s  "
                  f"peak RSS {s['peak_memory']['rss_peak_bytes'] / 2**20:.0f} MiB")
        assert digests[0] == digests[2], "prefetching changed the predictions"
        print(f"speed-up (baseline / lvsbench): {times[0] / times[2]:.2f}x")


if __name__ == "__main__":
    main()
