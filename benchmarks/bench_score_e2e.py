"""End-to-end `lvsbench score` on a Refer-YouTube-VOS-like workload vs a straightforward implementation of the
official algorithm, measured in the same run.

Workload: 30 videos x 80 frames at 480x854, 1-3 moving, rotating filled ellipses per video (one
expression per object), written in the lvsbench layout (palette GT PNGs); predictions are drifting, jittered copies
written as a 0/255 PNG tree, with a 3% chance of a missed object per frame. Everything below is timed from the files
on disk: PNG decoding is included.

Baseline ("official algorithm, straightforwardly"): per video, read every GT and prediction PNG into float64
(objects x T x H x W) arrays (as davis2017-evaluation does), J vectorised over T, F per frame and object with the
boundary map and a full-frame `cv2.dilate` with the disk kernel; per-expression means, then the mean over
expressions (MeViS). It must give the same numbers as lvsbench, bit for bit.

    python benchmarks/bench_score_e2e.py                 # full workload (about 4,600 frame-objects)
    python benchmarks/bench_score_e2e.py --quick         # 4 videos x 20 frames, for CI
    python benchmarks/bench_score_e2e.py --long          # + peak memory of one 300-frame 720p video, 5 objects

Each measured run happens in a fresh process (spawn), single-threaded OpenCV, so peak RSS is per run.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from official_baseline import official_f  # noqa: E402  (benchmarks/official_baseline.py)

# ------------------------------------------------------------------------------------------------ workload


def _ellipse(shape: tuple[int, int], cy: float, cx: float, ry: float, rx: float, theta: float) -> np.ndarray:
    h, w = shape
    y0, y1 = max(int(cy - max(ry, rx)) - 1, 0), min(int(cy + max(ry, rx)) + 2, h)
    x0, x1 = max(int(cx - max(ry, rx)) - 1, 0), min(int(cx + max(ry, rx)) + 2, w)
    out = np.zeros(shape, bool)
    if y0 >= y1 or x0 >= x1:
        return out
    yy, xx = np.mgrid[y0:y1, x0:x1]
    dy, dx = yy - cy, xx - cx
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * dx + s * dy, -s * dx + c * dy
    out[y0:y1, x0:x1] = (u / rx) ** 2 + (v / ry) ** 2 <= 1
    return out


def scenes(videos: int, frames: int, shape: tuple[int, int], max_objects: int = 3, seed: int = 0
           ) -> Iterator[tuple[str, tuple[str, ...], dict[str, np.ndarray], dict[tuple[int, str], np.ndarray]]]:
    """The workload, one video at a time: (video id, frame names, GT label map per frame, prediction mask per
    (object index, frame)). Shared by every benchmark that needs this workload, whatever layout it writes."""
    rng = np.random.default_rng(seed)
    h, wd = shape
    for v in range(videos):
        vid = f"{v:04d}bench"
        n_obj = int(rng.integers(1, max_objects + 1))
        objs = [dict(cy=rng.uniform(0.25, 0.75) * h, cx=rng.uniform(0.2, 0.8) * wd, ry=rng.uniform(0.06, 0.18) * h,
                     rx=rng.uniform(0.05, 0.15) * wd, vy=rng.uniform(-1.5, 1.5), vx=rng.uniform(-3, 3),
                     th=rng.uniform(0, math.pi), om=rng.uniform(-0.05, 0.05)) for _ in range(n_obj)]
        names = tuple(f"{5 * t:05d}" for t in range(frames))
        labels: dict[str, np.ndarray] = {}
        preds: dict[tuple[int, str], np.ndarray] = {}
        for t, name in enumerate(names):
            lab = np.zeros(shape, np.uint8)
            for k, o in enumerate(objs):
                cy = (o["cy"] + o["vy"] * t) % h
                cx = (o["cx"] + o["vx"] * t) % wd
                gt = _ellipse(shape, cy, cx, o["ry"], o["rx"], o["th"] + o["om"] * t)
                lab[gt] = k + 1
                if rng.random() < 0.03:
                    pred = np.zeros(shape, bool)
                else:
                    drift = 0.05 * t
                    pred = _ellipse(shape, cy + rng.normal(0, 1.5) + drift, cx + rng.normal(0, 1.5) + drift,
                                    o["ry"] * rng.uniform(0.93, 1.07), o["rx"] * rng.uniform(0.93, 1.07),
                                    o["th"] + o["om"] * t + rng.normal(0, 0.05))
                preds[(k, name)] = pred
            labels[name] = lab
        yield vid, names, labels, preds


def build_workload(out: Path, videos: int, frames: int, shape: tuple[int, int], max_objects: int = 3,
                   seed: int = 0) -> tuple[Path, Path]:
    """Write the dataset (lvsbench layout) and the prediction PNG tree; returns (dataset dir, predictions dir)."""
    from lvsbench.core.records import Expression, Video
    from lvsbench.datasets.layout import LayoutWriter
    from lvsbench.formats.png_tree import write_png_prediction

    ds_dir, pred_dir = out / "dataset", out / "preds"
    w = LayoutWriter(ds_dir, name="ryvos-like", split="bench", source="benchmarks/bench_score_e2e.py",
                     default_protocol="ryvos", frame_ext=".jpg", force=True)
    h, wd = shape
    grey = np.full((h, wd, 3), 110, np.uint8)
    for vid, names, labels, preds in scenes(videos, frames, shape, max_objects, seed):
        n_obj = 1 + max(k for k, _ in preds)
        for (k, name), pred in preds.items():
            write_png_prediction(pred_dir, vid, str(k), name, pred)
        exps = [Expression(str(k), vid, f"ellipse {k + 1}", (k + 1,)) for k in range(n_obj)]
        w.add_video(Video(vid, names, h, wd), ((n, grey) for n in names), labels, exps)
    w.finish()
    return ds_dir, pred_dir


# ------------------------------------------------------------------------------------------------ baseline


def baseline_score(ds_dir: Path, pred_dir: Path) -> dict[str, float]:
    """MeViS-convention J/F the straightforward way: whole-video float64 arrays, full-frame dilation."""
    from PIL import Image

    meta = json.loads((ds_dir / "meta_expressions.json").read_text())["videos"]
    js, fs = [], []
    for vid, entry in meta.items():
        frames = entry["frames"]
        gt_all = np.stack([np.array(Image.open(ds_dir / "Annotations" / vid / f"{f}.png")) for f in frames]
                          ).astype(np.float64)
        n_obj = len(entry["expressions"])
        gt_masks = np.ones((n_obj, *gt_all.shape)) * np.arange(1, n_obj + 1)[:, None, None, None]
        gt_masks = (gt_masks == gt_all[None]).astype(np.float64)
        pred_masks = np.zeros_like(gt_masks)
        for k, eid in enumerate(entry["expressions"]):
            for t, f in enumerate(frames):
                pred_masks[k, t] = np.array(Image.open(pred_dir / vid / eid / f"{f}.png")) > 0
        for k in range(n_obj):
            a, s = gt_masks[k].astype(bool), pred_masks[k].astype(bool)
            inters = np.sum(s & a, axis=(-2, -1))
            union = np.sum(s | a, axis=(-2, -1))
            j = inters / union
            j[np.isclose(union, 0)] = 1
            f_vals = np.array([official_f(a[t], s[t]) for t in range(a.shape[0])])
            js.append(j.mean())
            fs.append(f_vals.mean())
    j, f = float(np.mean(js)), float(np.mean(fs))
    return {"J&F": (j + f) / 2, "J": j, "F": f}


# ------------------------------------------------------------------------------------------------ measured runs


def _vm_hwm_mb() -> float:
    """Peak RSS of this process image (VmHWM). Unlike ru_maxrss it is not inherited across fork + exec, so the
    workload generation in the parent does not leak into the measurement."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(kind: str, ds_dir: str, pred_dir: str, workers: int, queue: mp.Queue) -> None:
    import cv2

    cv2.setNumThreads(1)
    from PIL import Image

    from lvsbench.datasets.layout import LayoutDataset
    from lvsbench.metrics import functional  # noqa: F401  (imports are not part of the measurement)
    from lvsbench.scoring import score

    Image.init()

    def cpu() -> float:
        a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime

    c0 = cpu()
    t0 = time.perf_counter()
    if kind == "baseline":
        values = baseline_score(Path(ds_dir), Path(pred_dir))
        n = None
    else:
        r = score(pred_dir, LayoutDataset(ds_dir), "ryvos", workers=workers)
        values, n = r.values, r.results["counts"]["frame_objects"]
    wall = time.perf_counter() - t0
    cpu_s = cpu() - c0
    own = _vm_hwm_mb()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    queue.put({"kind": kind, "workers": workers, "wall_s": wall, "cpu_s": cpu_s, "values": values, "frame_objects": n,
               "peak_rss_mb": own, "peak_rss_worker_mb": kids})


def in_fresh_process(target, *args: object) -> dict:  # noqa: ANN001 - a picklable function(*args, queue)
    """Run `target(*args, queue)` in a spawned process and return what it put on the queue, so that each
    measurement has its own peak RSS and nothing imported by an earlier one."""
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    out = q.get()
    p.join()
    return out


def run_isolated(kind: str, ds_dir: Path, pred_dir: Path, workers: int = 1) -> dict:
    return in_fresh_process(_measure, kind, str(ds_dir), str(pred_dir), workers)


def count_frame_objects(ds_dir: Path) -> int:
    meta = json.loads((ds_dir / "meta_expressions.json").read_text())["videos"]
    return sum(len(v["frames"]) * len(v["expressions"]) for v in meta.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="4 videos x 20 frames (CI smoke run)")
    ap.add_argument("--long", action="store_true", help="also: peak RSS on one 300-frame 720p video, 5 objects")
    ap.add_argument("--skip-baseline", action="store_true", help="do not run the (slow, memory-hungry) baseline")
    ap.add_argument("--data", type=Path, default=None, help="keep/reuse the generated workload here")
    args = ap.parse_args()
    videos, frames = (4, 20) if args.quick else (30, 80)
    tmp = Path(tempfile.mkdtemp(prefix="lvsbench-bench-"))
    data = args.data or tmp
    try:
        ds_dir, pred_dir = data / "dataset", data / "preds"
        if not (ds_dir / "lvsbench.json").is_file():
            t0 = time.perf_counter()
            build_workload(data, videos, frames, (480, 854))
            print(f"workload written in {time.perf_counter() - t0:.1f} s ({data})")
        n = count_frame_objects(ds_dir)
        print(f"workload: {videos} videos x {frames} frames at 854x480, {n} frame-objects; cpus available: "
              f"{len(os.sched_getaffinity(0))}, load average {os.getloadavg()[0]:.2f}")
        one = run_isolated("lvsbench", ds_dir, pred_dir, 1)
        two = run_isolated("lvsbench", ds_dir, pred_dir, 2)

        def per_fo(r: dict, key: str) -> float:
            return 1000 * r[key] / n

        print(f"lvsbench score, 1 worker : wall {one['wall_s']:7.2f} s = {per_fo(one, 'wall_s'):5.2f} ms/frame-object;"
              f" CPU {one['cpu_s']:7.2f} s = {per_fo(one, 'cpu_s'):5.2f} ms/frame-object; "
              f"peak RSS {one['peak_rss_mb']:.0f} MB")
        print(f"lvsbench score, 2 workers: wall {two['wall_s']:7.2f} s = {per_fo(two, 'wall_s'):5.2f} ms/frame-object;"
              f" CPU {two['cpu_s']:7.2f} s; wall speed-up x{one['wall_s'] / two['wall_s']:.2f}; peak RSS "
              f"{two['peak_rss_mb']:.0f} MB parent, {two['peak_rss_worker_mb']:.0f} MB largest worker")
        assert two["values"] == one["values"], "results depend on the number of workers"
        print(f"values: {json.dumps(one['values'])}")
        if not args.skip_baseline:
            base = run_isolated("baseline", ds_dir, pred_dir)
            print(f"baseline (float64 arrays, full-frame dilation): wall {base['wall_s']:7.2f} s = "
                  f"{per_fo(base, 'wall_s'):5.2f} ms/frame-object; CPU {base['cpu_s']:7.2f} s = "
                  f"{per_fo(base, 'cpu_s'):5.2f} ms/frame-object; peak RSS {base['peak_rss_mb']:.0f} MB")
            same = base["values"] == one["values"]
            print(f"baseline values: {json.dumps(base['values'])}  identical: {same}")
            print(f"RATIO baseline/lvsbench, 1 worker: wall x{base['wall_s'] / one['wall_s']:.2f}, "
                  f"CPU x{base['cpu_s'] / one['cpu_s']:.2f}")
            if not same:
                raise SystemExit("baseline and lvsbench disagree")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        if args.long:
            long_dir = data / "long"
            if not (long_dir / "dataset" / "lvsbench.json").is_file():
                build_workload(long_dir, 1, 300, (720, 1280), max_objects=5, seed=7)
            nl = count_frame_objects(long_dir / "dataset")
            lr = run_isolated("lvsbench", long_dir / "dataset", long_dir / "preds", 1)
            print(f"long video (300 frames, 1280x720, {nl // 300} objects): {lr['wall_s']:.1f} s, "
                  f"{1000 * lr['wall_s'] / nl:.2f} ms/frame-object, peak RSS {lr['peak_rss_mb']:.0f} MB "
                  f"(the official code would hold about {(2 + 2 * (nl // 300)) * 8 * 300 * 720 * 1280 / 1e9:.0f} GB)")
    finally:
        if args.data is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
