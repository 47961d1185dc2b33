"""`lvsbench score` against the real peers, davis2017-evaluation and vos-benchmark, on one DAVIS-like workload,
all measured in the same run, plus a plain general-decoder pass over the same PNGs (the floor any PNG-based
evaluator starts from).

The peers are run unchanged from their public sources at pinned commits, imported from paths given on the command
line (never installed into this project's environment):

    # once: check the peers out at the pinned commits, e.g. under /tmp/peers
    git clone https://github.com/davisvideochallenge/davis2017-evaluation /tmp/peers/davis2017-evaluation
    git -C /tmp/peers/davis2017-evaluation checkout ac7c43fca936f9722837b7fbd337d284ba37004b
    git clone https://github.com/hkchengrex/vos-benchmark /tmp/peers/vos-benchmark
    git -C /tmp/peers/vos-benchmark checkout acb47337f2c5677c0e6556590baad0563dfbb000

    python benchmarks/bench_peers.py --davis2017 /tmp/peers/davis2017-evaluation \\
        --vos-benchmark /tmp/peers/vos-benchmark --data /tmp/bench_peers [--long] [--quick]

Workload: the ellipse scenes of `benchmarks/bench_score_e2e.py` (30 sequences x 80 frames at 854x480, 1-3
objects), written in the DAVIS 2017 release layout (`JPEGImages/480p`, palette `Annotations/480p`,
`ImageSets/2017/val.txt`) with predictions as a davis2017 results folder (one palette PNG per frame, ids = objects).
Protocol: DAVIS-2017 semi-supervised (first and last frames dropped, objects 1..max id of frame 0) =
`lvsbench score --protocol davis-semi`, `DAVISEvaluation(task="semi-supervised")`, vos-benchmark's default
`skip_first_and_last=True`.

Each run is a fresh process pinned to one core (`sched_setaffinity`), single-threaded OpenCV. The machine these
numbers come from is shared (load 10-15 on 2 cores), so the figure compared is **CPU time** (user + system of the
process and its children, `getrusage`), not wall time; the load average is printed before and after. Frame-objects
= scored frames x ground-truth objects.

Agreement checked (the script fails otherwise): the davis2017 global J&F-Mean, J-Mean, F-Mean, and every
per-object J / F mean, equal lvsbench's with `==`; vos-benchmark's per-object values (which it multiplies by 100)
equal lvsbench's per-object values times 100 with `==`, and its global means (means of those x100 values) are
compared within 2 ulp, since (mean of 100x) and 100 x (mean of x) can round differently.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_score_e2e import _vm_hwm_mb, in_fresh_process, scenes  # noqa: E402

# ------------------------------------------------------------------------------------------------ workload


def build_davis_workload(out: Path, videos: int, frames: int, shape: tuple[int, int], max_objects: int = 3,
                         seed: int = 0) -> tuple[Path, Path]:
    """Write (DAVIS root, results folder). GT and predictions are palette PNGs with the DAVIS palette."""
    from lvsbench.core.codecs import encode_jpeg, write_palette_png

    davis, res = out / "davis", out / "results"
    h, w = shape
    jpg = encode_jpeg(np.full((h, w, 3), 110, np.uint8))
    names = []
    for vid, frame_names, labels, preds in scenes(videos, frames, shape, max_objects, seed):
        names.append(vid)
        (davis / "JPEGImages" / "480p" / vid).mkdir(parents=True, exist_ok=True)
        n_obj = 1 + max(k for k, _ in preds)
        for f in frame_names:
            (davis / "JPEGImages" / "480p" / vid / f"{f}.jpg").write_bytes(jpg)
            write_palette_png(davis / "Annotations" / "480p" / vid / f"{f}.png", labels[f])
            pl = np.zeros(shape, np.uint8)
            for k in range(n_obj):
                pl[preds[(k, f)]] = k + 1
            write_palette_png(res / vid / f"{f}.png", pl)
    (davis / "ImageSets" / "2017").mkdir(parents=True, exist_ok=True)
    (davis / "ImageSets" / "2017" / "val.txt").write_text("".join(f"{n}\n" for n in sorted(names)))
    return davis, res


def workload_pngs(davis: Path, res: Path) -> list[Path]:
    """The PNGs a semi-supervised evaluation must read: all GT frames (frame 0 gives the objects), the
    predictions of the scored frames (first and last dropped)."""
    out = []
    for seq in (davis / "ImageSets" / "2017" / "val.txt").read_text().split():
        gts = sorted((davis / "Annotations" / "480p" / seq).glob("*.png"))
        out += gts
        out += [res / seq / p.name for p in gts[1:-1]]
    return out


# ------------------------------------------------------------------------------------------------ measured runs


def _warm(root: Path) -> None:
    """Read every file of the workload once, untimed, so that no run pays for disk reads: the first run measured
    otherwise met a page cache the kernel had reclaimed in the meantime (session 6: lvsbench, run first, 3.4 s of
    CPU and 3.9 s wall, against 2.7 s for both with the files cached)."""
    for top, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(top, name), "rb") as f:
                while f.read(1 << 20):
                    pass


def _cpu() -> float:
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def _run_lvsbench(davis: Path, res: Path, _: dict) -> dict:
    from lvsbench.datasets import load
    from lvsbench.scoring import score

    r = score(res, load("davis", davis, "val"), "davis-semi", workers=1)
    ps = r.per_sample
    per_obj = {f"{v}_{o}": (jm, fm) for v, o, jm, fm in zip(ps["video_id"], ps["object_id"], ps["J-Mean"],
                                                             ps["F-Mean"], strict=True)}
    return {"J&F": r.values["J&F-Mean"], "J": r.values["J-Mean"], "F": r.values["F-Mean"], "per_object": per_obj,
            "frame_objects": r.results["counts"]["frame_objects"]}


def _run_davis2017(davis: Path, res: Path, paths: dict) -> dict:
    sys.path.insert(0, paths["davis2017"])
    from davis2017.evaluation import DAVISEvaluation

    m = DAVISEvaluation(davis_root=str(davis), task="semi-supervised", gt_set="val").evaluate(str(res))
    j, f = m["J"], m["F"]
    # evaluation_method.py's global figures, verbatim in meaning
    final_mean = (np.mean(j["M"]) + np.mean(f["M"])) / 2.0
    per_obj = {k: (float(j["M_per_object"][k]), float(f["M_per_object"][k])) for k in j["M_per_object"]}
    return {"J&F": float(final_mean), "J": float(np.mean(j["M"])), "F": float(np.mean(f["M"])), "per_object": per_obj}


def _run_vos_benchmark(davis: Path, res: Path, paths: dict) -> dict:
    sys.path.insert(0, paths["vos_benchmark"])
    from vos_benchmark.benchmark import benchmark

    # vos-benchmark writes results.csv into the mask root: give it a folder of links to the sequences
    masks = Path(tempfile.mkdtemp(prefix="vosb-masks-"))
    for seq in os.listdir(res):
        (masks / seq).symlink_to(res / seq)
    jf, j, f, objs = benchmark([str(davis / "Annotations" / "480p")], [str(masks)], num_processes=1, verbose=False)
    per_obj = {f"{name}_{k}": (float(iou[k]), float(bf[k])) for name, (iou, bf) in objs[0].items() for k in iou}
    return {"J&F": float(jf[0]), "J": float(j[0]), "F": float(f[0]), "per_object": per_obj, "scale": 100}


def _run_decode(davis: Path, res: Path, paths: dict) -> dict:
    import cv2

    for p in workload_pngs(davis, res):
        a = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        assert a is not None
    return {}


def _run_decode_pil(davis: Path, res: Path, paths: dict) -> dict:
    from PIL import Image

    for p in workload_pngs(davis, res):
        with Image.open(p) as im:
            np.asarray(im)
    return {}


RUNS = {"lvsbench": _run_lvsbench, "davis2017": _run_davis2017, "vos-benchmark": _run_vos_benchmark,
        "decode-cv2": _run_decode, "decode-pil": _run_decode_pil}


def _child(kind: str, davis: str, res: str, paths: dict, q: mp.Queue) -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    import cv2

    cv2.setNumThreads(1)
    c0, t0 = _cpu(), time.perf_counter()
    out = RUNS[kind](Path(davis), Path(res), paths)
    out.update(kind=kind, cpu_s=_cpu() - c0, wall_s=time.perf_counter() - t0, peak_rss_mb=_vm_hwm_mb(),
               peak_rss_children_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    q.put(out)


def run_isolated(kind: str, davis: Path, res: Path, paths: dict) -> dict:
    return in_fresh_process(_child, kind, str(davis), str(res), paths)


def _ulps(a: float, b: float) -> float:
    return abs(a - b) / math.ulp(max(abs(a), abs(b)))


def compare(lv: dict, peer: dict, name: str) -> str:
    """Raise unless the peer agrees with lvsbench (see the module docstring); returns a one-line verdict."""
    scale = peer.get("scale", 1)
    mine = {k: (a * scale, b * scale) for k, (a, b) in lv["per_object"].items()}
    if set(mine) != set(peer["per_object"]):
        raise SystemExit(f"{name}: different objects: {sorted(set(mine) ^ set(peer['per_object']))[:10]}")
    bad = [k for k in mine if mine[k] != peer["per_object"][k]]
    if bad:
        pairs = [(mine[k], peer["per_object"][k]) for k in bad[:3]]
        raise SystemExit(f"{name}: per-object J/F differ for {bad[:5]}: {pairs}")
    glob = {m: (lv[m] * scale, peer[m]) for m in ("J&F", "J", "F")}
    if scale == 1:
        if any(a != b for a, b in glob.values()):
            raise SystemExit(f"{name}: global values differ: {glob}")
        return f"{name}: {len(mine)} per-object J and F means and the global J&F / J / F identical (==)"
    worst = max(_ulps(a, b) for a, b in glob.values())
    if worst > 2:
        raise SystemExit(f"{name}: global values differ by {worst} ulp: {glob}")
    return (f"{name}: {len(mine)} per-object J and F means identical (== after its x100); global J&F / J / F "
            f"(means of x100 values) within {worst:.0f} ulp of 100 x lvsbench's")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--davis2017", type=Path, required=True, help="davis2017-evaluation checkout (ac7c43f)")
    ap.add_argument("--vos-benchmark", type=Path, required=True, help="vos-benchmark checkout")
    ap.add_argument("--data", type=Path, default=None, help="keep/reuse the generated workload here")
    ap.add_argument("--quick", action="store_true", help="6 sequences x 20 frames (smoke run)")
    ap.add_argument("--long", action="store_true", help="also one 300-frame 1280x720 video with 5 objects "
                                                        "(lvsbench vs vos-benchmark; davis2017 would need ~26 GB)")
    ap.add_argument("--skip-davis2017", action="store_true")
    args = ap.parse_args()
    paths = {"davis2017": str(args.davis2017.resolve()), "vos_benchmark": str(args.vos_benchmark.resolve())}
    data = args.data or Path(tempfile.mkdtemp(prefix="lvsbench-peers-"))
    videos, frames = (6, 20) if args.quick else (30, 80)
    davis, res = data / "davis", data / "results"
    if not (davis / "ImageSets" / "2017" / "val.txt").is_file():
        t0 = time.perf_counter()
        build_davis_workload(data, videos, frames, (480, 854))
        print(f"workload written in {time.perf_counter() - t0:.1f} s ({data})")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; cpus: {os.cpu_count()}")
    _warm(data)
    out = {k: run_isolated(k, davis, res, paths) for k in ("lvsbench", "decode-cv2", "decode-pil", "vos-benchmark")
           + (() if args.skip_davis2017 else ("davis2017",))}
    lv = out["lvsbench"]
    n = lv["frame_objects"]
    print(f"workload: {videos} sequences x {frames} frames at 854x480, {n} frame-objects (semi-supervised), "
          f"{len(workload_pngs(davis, res))} PNGs read")
    print(f"{'run':<16} {'CPU s':>8} {'CPU ms/frame-object':>20} {'wall s':>8} {'peak RSS MB':>12}")
    for k, r in out.items():
        rss = max(r["peak_rss_mb"], r["peak_rss_children_mb"])
        print(f"{k:<16} {r['cpu_s']:8.2f} {1000 * r['cpu_s'] / n:20.3f} {r['wall_s']:8.2f} {rss:12.0f}")
    for k in ("davis2017", "vos-benchmark"):
        if k in out:
            print(f"RATIO {k} / lvsbench (CPU): x{out[k]['cpu_s'] / lv['cpu_s']:.2f}")
    for k in ("decode-cv2", "decode-pil"):
        print(f"RATIO lvsbench / {k} (CPU): x{lv['cpu_s'] / out[k]['cpu_s']:.2f}")
    for k in ("davis2017", "vos-benchmark"):
        if k in out:
            print(compare(lv, out[k], k))
    print(f"values: {json.dumps({m: lv[m] for m in ('J&F', 'J', 'F')})}")
    if args.long:
        ldata = data / "long"
        ldavis, lres = ldata / "davis", ldata / "results"
        if not (ldavis / "ImageSets" / "2017" / "val.txt").is_file():
            build_davis_workload(ldata, 1, 300, (720, 1280), max_objects=5, seed=7)
        _warm(ldata)
        lo = {k: run_isolated(k, ldavis, lres, paths) for k in ("lvsbench", "vos-benchmark")}
        nl = lo["lvsbench"]["frame_objects"]
        for k, r in lo.items():
            rss = max(r["peak_rss_mb"], r["peak_rss_children_mb"])
            print(f"long {k:<14} CPU {r['cpu_s']:7.2f} s = {1000 * r['cpu_s'] / nl:6.3f} ms/frame-object "
                  f"({nl} frame-objects); peak RSS {rss:.0f} MB")
        ratio = lo["vos-benchmark"]["cpu_s"] / lo["lvsbench"]["cpu_s"]
        print(f"RATIO long vos-benchmark / lvsbench (CPU): x{ratio:.2f}")
        print(compare(lo["lvsbench"], lo["vos-benchmark"], "long vos-benchmark"))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
