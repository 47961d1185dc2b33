"""Decode an A2D-Sentences-test-sized synthetic dataset from its h5 files: lvsbench reader vs an MTTR-style path.

Writes 737 videos x 3 annotated frames (2,211 `a2d_annotation_with_instances/<vid>/<fid>.h5` files, masks only:
320 x W frames, W in {568, 426, 320}, 1-3 instances, gzip-compressed as MATLAB v7.3 stores them), plus the text
files, then times on one core (pinned when the OS allows):

- lvsbench: `A2DDataset.read_labels` for every annotated frame (label map, 0 background, instance + 1);
- baseline: what MTTR's loader and COCO-GT script do per frame (`list(f['instance'])`, `np.array(f['reMask'])`,
  add the axis when N == 1, transpose with a full copy, `f['reBBox'][:, idx]` per instance), then the same label
  map from the (N, H, W) copies.

Both produce identical label maps (checked). Prints annotated frames/s for each and the ratio.
Usage: python benchmarks/bench_a2d_decode.py [--videos 737] [--dir DIR] [--repeat 2] [--compression gzip|none]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from lvsbench.datasets.a2d import A2DDataset


def make_dataset(root: Path, videos: int, seed: int = 0, compression: str | None = "gzip") -> None:
    """Text files + h5 frame files laid out as the release; masks are random ellipses."""
    rng = np.random.default_rng(seed)
    h5dir = root / "text_annotations" / "a2d_annotation_with_instances"
    rows, texts = [], ["video_id,instance_id,query"]
    yy, xx = np.ogrid[:320, :568]
    for v in range(videos):
        vid = f"v{v:05d}aaaaa"[:11]
        w = int(rng.choice([568, 426, 320]))
        n_inst = int(rng.integers(1, 4))
        frames = sorted(rng.choice(np.arange(1, 61), 3, replace=False).tolist())
        rows.append(f"{vid},11,00:00:00,00:00:02,320,{w},60,3,1")
        texts += [f"{vid},{i},the person number {i}" for i in range(n_inst)]
        for fr in frames:
            present = [i for i in range(n_inst) if i == 0 or rng.random() < 0.8]
            masks = []
            for _ in present:
                cy, cx = rng.uniform(60, 260), rng.uniform(60, w - 60)
                ry, rx = rng.uniform(20, 90), rng.uniform(20, 120)
                masks.append((((yy - cy) / ry) ** 2 + ((xx[:, :w] - cx) / rx) ** 2 <= 1).astype(np.uint8))
            m = np.stack(masks)  # (N, H, W)
            boxes = np.asarray([[np.nonzero(k)[1].min(), np.nonzero(k)[0].min(), np.nonzero(k)[1].max() + 1,
                                 np.nonzero(k)[0].max() + 1] for k in m], dtype=np.float64).T
            rem = m.transpose(0, 2, 1)
            if len(present) == 1:
                rem = rem[0]
            p = h5dir / vid / f"{fr:05d}.h5"
            p.parent.mkdir(parents=True, exist_ok=True)
            with h5py.File(p, "w") as f:
                f.create_dataset("reMask", data=np.ascontiguousarray(rem), compression=compression)
                f.create_dataset("reBBox", data=boxes)
                f.create_dataset("id", data=np.full((1, len(present)), 11.0))
                f.create_dataset("instance", data=np.asarray(present, dtype=np.float64))
    (root / "Release").mkdir(parents=True, exist_ok=True)
    (root / "Release" / "videoset.csv").write_text("\n".join(rows) + "\n")
    (root / "text_annotations" / "a2d_annotation.txt").write_text("\n".join(texts) + "\n")
    (root / "text_annotations" / "a2d_missed_videos.txt").write_text("")


def baseline_labels(path: Path) -> np.ndarray:
    """MTTR-style per-frame decoding (element-wise instance list, full-copy transposes), then a label map."""
    with h5py.File(path, "r") as f:
        instances = list(f["instance"])
        masks = np.array(f["reMask"])
        if len(instances) == 1:
            masks = masks[np.newaxis]
        masks = np.transpose(masks, (0, 2, 1)).copy()
        boxes = [f["reBBox"][:, i] if len(instances) > 1 else np.array(f["reBBox"]).squeeze()
                 for i in range(len(instances))]
    assert len(boxes) == len(instances)
    lab = np.zeros(masks.shape[1:], dtype=np.uint8)
    for k, inst in enumerate(instances):
        lab[masks[k] != 0] = int(inst) + 1
    return lab


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", type=int, default=737)
    ap.add_argument("--dir", type=Path, default=None, help="Reuse/keep the generated data here.")
    ap.add_argument("--repeat", type=int, default=2, help="Timed passes (the best one is reported).")
    ap.add_argument("--compression", choices=["gzip", "none"], default="gzip",
                    help="reMask storage (MATLAB v7.3 compresses with gzip by default).")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    tmp = None
    root = args.dir
    if root is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_a2d_")
        root = Path(tmp.name)
    if not (root / "Release" / "videoset.csv").is_file():
        t0 = time.perf_counter()
        make_dataset(root, args.videos, compression=None if args.compression == "none" else "gzip")
        print(f"generated {args.videos} videos in {time.perf_counter() - t0:.1f}s under {root}")
    ds = A2DDataset(root, "test")
    work = [(v, f) for v in ds.videos() for f in ds.annotated_frames(v)]
    paths = [ds.annotation_file(v, f) for v, f in work]
    # warm the page cache and check that both paths agree
    for (v, f), p in zip(work, paths, strict=True):
        assert np.array_equal(ds.read_labels(v, f), baseline_labels(p))
    ours, base = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        for v, f in work:
            ds.read_labels(v, f)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for p in paths:
            baseline_labels(p)
        base.append(time.perf_counter() - t0)
    n = len(work)
    fo, fb = n / min(ours), n / min(base)
    print(f"annotated frames: {n} ({len(ds.videos())} videos)")
    print(f"lvsbench A2DDataset.read_labels: {fo:8.0f} frames/s")
    print(f"MTTR-style baseline:             {fb:8.0f} frames/s")
    print(f"ratio: {fo / fb:.2f}x")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
