"""Benchmark: MeViS per-expression scoring (`lvsbench.scoring.per_expression.evaluate`, protocol `mevis`) against
the loop of MeViS `tools/eval_mevis.py` @ 7c0620b written straightforwardly from its description (per expression:
(h, w) from `00000.png`, uint8 GT stack summed from the RLEs by `pycocotools.mask.decode`, prediction stack read
with `cv2.imread(..., IMREAD_GRAYSCALE)`, vectorised `db_eval_iou`, full-frame `db_eval_boundary` per frame,
`np.mean`).

Data: `lvsbench synth mevis`'s scenes (`lvsbench.synth.mevis.plan`) at 480x854 as a valid_u split of `--videos`
videos (meta + mask_dict; no JPEGs, scoring does not read frames), each video's expressions repeated (new ids, same
objects) up to `--per-video` per video, as MeViS valid_u has ~16 expressions per video over a few objects;
predictions = the target shifted by a few pixels, 0/255 PNGs. Defaults give the issue's valid_u-sized set: 50
videos, 800 expressions, 30 frames.

Measures, in one run: (1) CPU seconds of each side in one process (interleaved repeats); (2) wall seconds on
`--workers` processes each: the baseline spread over a process pool per expression (as eval_mevis.py's worker
queue) and `evaluate(..., workers=N)`. Asserts identical per-expression J and F on both. Prints the load average
and which packages of the optional `fast` extra (zlib-ng, pyspng) are installed. The prediction files are read once
before any timing, so that neither side pays for bringing them into the page cache.

    .venv/bin/python benchmarks/bench_modern_mevis.py [--videos 50] [--per-video 16] [--frames 30] [--repeats 1]
        [--workers 2] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from official_baseline import official_f  # noqa: E402
from pycocotools import mask as coco_mask  # noqa: E402

from lvsbench.datasets.mevis import MetaExpression, MeViSDataset  # noqa: E402
from lvsbench.formats.png_tree import write_png_prediction  # noqa: E402
from lvsbench.formats.raw_png import RawPngTree  # noqa: E402
from lvsbench.scoring.per_expression import evaluate  # noqa: E402
from lvsbench.synth.mevis import plan, shared_object_entry  # noqa: E402


def build(work: Path, videos: int, frames: int, per_video: int = 0) -> tuple[Path, Path]:
    """A valid_u split of `videos` synthetic MeViS videos (`lvsbench.synth.mevis.plan`, one video at a time so that
    480p frames are never all in memory; no JPEGs: scoring reads masks only), each video's expressions repeated up
    to `per_video` (new ids, same objects), and shifted-target predictions as 0/255 PNGs."""
    root, preds = work / "mevis", work / "pred"
    if root.exists():
        return root, preds
    rng = np.random.default_rng(0)
    meta: dict[str, dict] = {"videos": {}}
    mask_dict: dict[str, list] = {}
    for i in range(videos):
        v = plan(1, seed=1000 + i, height=480, width=854, frames=frames, splits=("valid_u",))[0]
        entry, obj_of = shared_object_entry(v, i, mask_dict, max(per_video, len(v.expressions)))
        meta["videos"][v.video_id] = entry
        for eid, e in entry["expressions"].items():
            dy, dx = (int(x) for x in rng.integers(-6, 7, size=2))
            objs = tuple(obj_of[a] for a in e["anno_id"])
            for t, f in enumerate(v.frame_names):
                m = np.roll(v.target_sum(objs, t) > 0, (dy, dx), axis=(0, 1))
                write_png_prediction(preds, v.video_id, eid, f, m)
    (root / "valid_u").mkdir(parents=True)
    (root / "valid_u" / "mask_dict.json").write_text(json.dumps(mask_dict))
    (root / "valid_u" / "meta_expressions.json").write_text(json.dumps(meta))
    return root, preds


def extras() -> str:
    """Which of the `fast` extra's packages are installed (lvsbench's prediction decoding uses them when present)."""
    from importlib.metadata import PackageNotFoundError, version

    def one(name: str) -> str:
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            return f"{name} not installed"

    return ", ".join(one(n) for n in ("zlib-ng", "pyspng"))


_BASE: tuple[MeViSDataset, Path] | None = None


def _base_one(item: tuple[str, str]) -> tuple[str, tuple[float, float]]:
    assert _BASE is not None
    ds, preds = _BASE
    vid, eid = item
    return f"{vid}_{eid}", _base_expression(ds, preds, vid, ds.meta_expression((vid, eid)))


def baseline(ds: MeViSDataset, preds: Path, workers: int = 1) -> dict[str, tuple[float, float]]:
    """eval_mevis.py's per-expression work, in meta order; `workers > 1`: a fork pool over expressions (the
    official script's worker queue), results keyed as the official `out_dict`."""
    global _BASE
    items = [(vid, e.id) for vid, mv in ds.meta().items() for e in mv.expressions]
    if workers <= 1:
        return dict(_base_one_ds(ds, preds, it) for it in items)
    _BASE = (ds, preds)
    try:
        with mp.get_context("fork").Pool(workers, initializer=cv2.setNumThreads, initargs=(1,)) as pool:
            return dict(pool.imap_unordered(_base_one, items, chunksize=1))
    finally:
        _BASE = None


def _base_one_ds(ds: MeViSDataset, preds: Path, item: tuple[str, str]) -> tuple[str, tuple[float, float]]:
    vid, eid = item
    return f"{vid}_{eid}", _base_expression(ds, preds, vid, ds.meta_expression((vid, eid)))


def _base_expression(ds: MeViSDataset, preds: Path, vid: str, e: MetaExpression) -> tuple[float, float]:
    """One expression as eval_mevis.py's worker computes it."""
    md = ds.mask_dict
    frames = ds.meta()[vid].frames
    h, w = cv2.imread(str(preds / vid / e.id / "00000.png"), cv2.IMREAD_GRAYSCALE).shape
    t_len = len(frames)
    gt = np.zeros((t_len, h, w), np.uint8)
    pr = np.zeros((t_len, h, w), np.uint8)
    for t, f in enumerate(frames):
        for a in e.anno_ids:
            if md[a][t]:
                gt[t] += coco_mask.decode(md[a][t])  # as eval_mevis.py: pycocotools on the stored RLE
        pr[t] = cv2.imread(str(preds / vid / e.id / f"{f}.png"), cv2.IMREAD_GRAYSCALE)
    g, p = gt.astype(bool), pr.astype(bool)
    inter = np.sum(g & p, axis=(-2, -1))
    union = np.sum(g | p, axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        j = inter / union
    j[np.isclose(union, 0)] = 1
    f_res = np.array([official_f(gt[t], pr[t]) for t in range(t_len)])
    return j.mean(), f_res.mean()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=50, help="synthetic valid_u videos")
    ap.add_argument("--per-video", type=int, default=16, help="expressions per valid_u video (0: as synthesised)")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2, help="processes of the wall-clock comparison")
    ap.add_argument("--work", type=Path, default=None, help="keep the generated data here (default: a temp dir)")
    a = ap.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root, preds = build(a.work or Path(tmp), a.videos, a.frames, a.per_video)
        ds = MeViSDataset(root, "valid_u")
        ds.mask_dict  # noqa: B018 - JSON parsing is not part of either measurement
        for png in preds.rglob("*.png"):  # both sides read the same files: lvsbench, measured first, must not be the
            png.read_bytes()  # one that pays for bringing them into the page cache
        n = sum(len(e.frames) for e in ds.expressions())
        print(f"{len(ds.videos())} videos, {len(ds.expressions())} expressions, {n} expression-frames at 480x854")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"optional `fast` extra: {extras()}")

        def check(res: object, ref: dict[str, tuple[float, float]]) -> None:
            same = all(ref[k] == (v["J"], v["F"]) for k, v in res.scored.items()) and len(ref) == len(res.scored)
            assert same, "per-expression J/F differ from the baseline"

        ours_t, base_t, ours_w, base_w = [], [], [], []
        for _ in range(a.repeats):
            t0 = time.process_time()
            res = evaluate(ds, RawPngTree(preds), "mevis")
            ours_t.append(time.process_time() - t0)
            t0 = time.process_time()
            ref = baseline(ds, preds)
            base_t.append(time.process_time() - t0)
            check(res, ref)
            t0 = time.perf_counter()
            res = evaluate(ds, RawPngTree(preds), "mevis", workers=a.workers)
            ours_w.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ref = baseline(ds, preds, a.workers)
            base_w.append(time.perf_counter() - t0)
            check(res, ref)
        print(f"identical J and F on {len(ref)} expressions (1 process and {a.workers} processes)")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for label, b, o, unit in (("1 process, CPU s", base_t, ours_t, "CPU"),
                                  (f"{a.workers} processes, wall s", base_w, ours_w, "wall")):
            ratio = statistics.median(x / y for x, y in zip(b, o, strict=True))
            print(f"{label}: baseline {', '.join(f'{t:.1f}' for t in b)} "
                  f"({1000 * statistics.median(b) / n:.2f} ms per expression-frame); lvsbench "
                  f"{', '.join(f'{t:.1f}' for t in o)} ({1000 * statistics.median(o) / n:.2f} ms); "
                  f"speed-up ({unit}) {ratio:.2f}x")


if __name__ == "__main__":
    main()
