"""`lvsbench score --workers 1, 2, auto` on a MeViS-shaped workload (many expressions per video, some referring to
two objects), measured in the same run: wall-clock speed-up of the process pool over one worker, peak memory of
the parent and of the largest worker, and identical numbers whatever the worker count.

Workload: V videos x T frames at 320x180 with 2-4 moving ellipses each and E expressions per video, each
referring to one or two of the objects (MeViS valid: 140 videos, 2,236 expressions; Mei et al. / Ding et al.,
ICCV 2023); predictions are jittered copies of the referred objects' union as a 0/255 PNG tree. Protocol `ryvos`
(per-expression J and F over all frames, mean over expressions: the MeViS convention). Everything is read from disk.

    python benchmarks/bench_score_workers.py                  # 100 videos x 20 expressions x 8 frames
    python benchmarks/bench_score_workers.py --quick          # 12 videos x 6 expressions x 4 frames (smoke run)
    python benchmarks/bench_score_workers.py --data /tmp/mevis_like   # keep / reuse the workload

Each measurement is a fresh process (spawn, via bench_score_e2e.run_isolated), single-threaded OpenCV.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_score_e2e import _ellipse, run_isolated  # noqa: E402


def build_workload(out: Path, videos: int, expressions: int, frames: int, shape: tuple[int, int] = (180, 320),
                   seed: int = 0) -> tuple[Path, Path, int]:
    """Dataset (lvsbench layout) + prediction PNG tree; returns (dataset dir, predictions dir, expressions)."""
    from lvsbench.core.records import Expression, Video
    from lvsbench.datasets.layout import LayoutWriter
    from lvsbench.formats.png_tree import write_png_prediction

    rng = np.random.default_rng(seed)
    ds_dir, pred_dir = out / "dataset", out / "preds"
    w = LayoutWriter(ds_dir, name="mevis-like", split="bench", source="benchmarks/bench_score_workers.py",
                     default_protocol="ryvos", frame_ext=".jpg", force=True)
    h, wd = shape
    grey = np.full((h, wd, 3), 110, np.uint8)
    n_exp = 0
    for v in range(videos):
        vid = f"{v:04d}mevis"
        k_obj = int(rng.integers(2, 5))
        objs = [dict(cy=rng.uniform(0.25, 0.75) * h, cx=rng.uniform(0.2, 0.8) * wd, ry=rng.uniform(0.08, 0.2) * h,
                     rx=rng.uniform(0.06, 0.15) * wd, vy=rng.uniform(-1.5, 1.5), vx=rng.uniform(-3, 3),
                     th=rng.uniform(0, math.pi)) for _ in range(k_obj)]
        refs = [tuple(sorted(rng.choice(np.arange(1, k_obj + 1), size=int(rng.integers(1, 3)), replace=False)
                             .tolist())) for _ in range(expressions)]
        names = tuple(f"{5 * t:05d}" for t in range(frames))
        labels = {}
        for t, name in enumerate(names):
            lab = np.zeros(shape, np.uint8)
            preds = []
            for k, o in enumerate(objs):
                cy, cx = (o["cy"] + o["vy"] * t) % h, (o["cx"] + o["vx"] * t) % wd
                lab[_ellipse(shape, cy, cx, o["ry"], o["rx"], o["th"])] = k + 1
                preds.append(_ellipse(shape, cy + rng.normal(0, 1.5), cx + rng.normal(0, 1.5),
                                      o["ry"] * rng.uniform(0.93, 1.07), o["rx"] * rng.uniform(0.93, 1.07), o["th"]))
            labels[name] = lab
            for e, ref in enumerate(refs):
                mask = np.zeros(shape, bool)
                for k in ref:
                    mask |= preds[k - 1]
                write_png_prediction(pred_dir, vid, str(e), name, mask)
        exps = [Expression(str(e), vid, f"ellipses {' and '.join(map(str, ref))}", ref) for e, ref in enumerate(refs)]
        n_exp += len(exps)
        w.add_video(Video(vid, names, h, wd), ((n, grey) for n in names), labels, exps)
    w.finish()
    return ds_dir, pred_dir, n_exp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="12 videos x 6 expressions x 4 frames")
    ap.add_argument("--data", type=Path, default=None, help="keep/reuse the generated workload here")
    args = ap.parse_args()
    videos, exps, frames = (12, 6, 4) if args.quick else (100, 20, 8)
    from lvsbench.scoring.workers import cgroup_cpu_limit, cpu_count, resolve_workers

    tmp = Path(tempfile.mkdtemp(prefix="lvsbench-bench-workers-"))
    data = args.data or tmp
    try:
        ds_dir, pred_dir = data / "dataset", data / "preds"
        if not (ds_dir / "lvsbench.json").is_file():
            t0 = time.perf_counter()
            build_workload(data, videos, exps, frames)
            print(f"workload written in {time.perf_counter() - t0:.1f} s ({data})")
        print(f"workload: {videos} videos x {exps} expressions x {frames} frames at 320x180 "
              f"({videos * exps} expressions); cpus: affinity {len(os.sched_getaffinity(0))}, cgroup quota "
              f"{cgroup_cpu_limit()}, --workers auto = {cpu_count()}; load average before "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        runs = {w: run_isolated("lvsbench", ds_dir, pred_dir, resolve_workers(w)) for w in (1, 2, "auto")}
        one = runs[1]
        n = one["frame_objects"]
        for w, r in runs.items():
            print(f"--workers {w!s:<4}: wall {r['wall_s']:7.2f} s = {1000 * r['wall_s'] / n:5.3f} ms/frame-object; "
                  f"CPU {r['cpu_s']:7.2f} s; speed-up x{one['wall_s'] / r['wall_s']:.2f}; peak RSS parent "
                  f"{r['peak_rss_mb']:.0f} MB" + (f", largest worker {r['peak_rss_worker_mb']:.0f} MB"
                                                   if w != 1 else ""))
            assert r["values"] == one["values"], f"--workers {w} changed the numbers"
        print(f"frame-objects: {n}; values identical for every worker count: {one['values']}")
        print(f"RATIO --workers 1 / --workers 2 wall: x{one['wall_s'] / runs[2]['wall_s']:.2f}")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if args.data is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
