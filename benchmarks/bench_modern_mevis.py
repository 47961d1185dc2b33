"""Benchmark: MeViS per-expression scoring (`lvsbench.scoring.per_expression.evaluate`, protocol `mevis`) against
the loop of
MeViS `tools/eval_mevis.py` @ 7c0620b written straightforwardly from its description (per expression: (h, w) from
`00000.png`, uint8 GT stack summed from the RLEs, prediction stack read with `cv2.imread(..., IMREAD_GRAYSCALE)`,
vectorised `db_eval_iou`, full-frame `db_eval_boundary` per frame, `np.mean`), in one process each.

Data: `lvsbench synth mevis` at 480x854 (split valid_u), predictions = the target shifted by a few pixels, 0/255 PNGs.
Asserts identical per-expression J and F, then prints CPU seconds per repeat (interleaved) and the median ratio.
Single thread. Usage:

    .venv/bin/python benchmarks/bench_modern_mevis.py [--videos 9] [--frames 30] [--repeats 3] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from official_baseline import official_f  # noqa: E402

from lvsbench.codecs import rle_decode  # noqa: E402
from lvsbench.datasets.mevis import MeViSDataset  # noqa: E402
from lvsbench.formats.raw_png import RawPngTree  # noqa: E402
from lvsbench.predictions import write_png_prediction  # noqa: E402
from lvsbench.scoring.per_expression import evaluate  # noqa: E402
from lvsbench.synth.mevis import write_synthetic  # noqa: E402


def build(work: Path, videos: int, frames: int) -> tuple[Path, Path]:
    root, preds = work / "mevis", work / "pred"
    if not root.exists():
        write_synthetic(root, videos=videos, seed=1, height=480, width=854, frames=frames)
        ds = MeViSDataset(root, "valid_u")
        rng = np.random.default_rng(0)
        for e in ds.expressions():
            dy, dx = (int(v) for v in rng.integers(-6, 7, size=2))
            for f in e.frames:
                m = np.roll(ds.target_sum(e, f) > 0, (dy, dx), axis=(0, 1))
                write_png_prediction(preds, e.video_id, e.id, f, m)
    return root, preds


def baseline(ds: MeViSDataset, preds: Path) -> dict[str, tuple[float, float]]:
    """eval_mevis.py's per-expression work, in meta order, one process."""
    md = ds.mask_dict
    out = {}
    for vid, mv in ds.meta().items():
        for e in mv.expressions:
            h, w = cv2.imread(str(preds / vid / e.id / "00000.png"), cv2.IMREAD_GRAYSCALE).shape
            t_len = len(mv.frames)
            gt = np.zeros((t_len, h, w), np.uint8)
            pr = np.zeros((t_len, h, w), np.uint8)
            for t, f in enumerate(mv.frames):
                for a in e.anno_ids:
                    if md[a][t]:
                        gt[t] += rle_decode(md[a][t]).astype(np.uint8)
                pr[t] = cv2.imread(str(preds / vid / e.id / f"{f}.png"), cv2.IMREAD_GRAYSCALE)
            g, p = gt.astype(bool), pr.astype(bool)
            inter = np.sum(g & p, axis=(-2, -1))
            union = np.sum(g | p, axis=(-2, -1))
            with np.errstate(invalid="ignore", divide="ignore"):
                j = inter / union
            j[np.isclose(union, 0)] = 1
            f_res = np.array([official_f(gt[t], pr[t]) for t in range(t_len)])
            out[f"{vid}_{e.id}"] = (j.mean(), f_res.mean())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=9, help="synthetic videos (a third go to valid_u)")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work", type=Path, default=None, help="keep the generated data here (default: a temp dir)")
    a = ap.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root, preds = build(a.work or Path(tmp), a.videos, a.frames)
        ds = MeViSDataset(root, "valid_u")
        ds.mask_dict  # noqa: B018 - JSON parsing is not part of either measurement
        n = sum(len(e.frames) for e in ds.expressions())
        print(f"{len(ds.videos())} videos, {len(ds.expressions())} expressions, {n} expression-frames at 480x854")
        ours_t, base_t = [], []
        for _ in range(a.repeats):
            t0 = time.process_time()
            res = evaluate(ds, RawPngTree(preds), "mevis")
            ours_t.append(time.process_time() - t0)
            t0 = time.process_time()
            ref = baseline(ds, preds)
            base_t.append(time.process_time() - t0)
            same = all(ref[k] == (v["J"], v["F"]) for k, v in res.scored.items()) and len(ref) == len(res.scored)
            assert same, "per-expression J/F differ from the baseline"
        ratios = [b / o for b, o in zip(base_t, ours_t, strict=True)]
        print(f"identical J and F on {len(ref)} expressions")
        print(f"baseline (eval_mevis.py loop) CPU s: {', '.join(f'{t:.2f}' for t in base_t)}  "
              f"({1000 * statistics.median(base_t) / n:.2f} ms per expression-frame)")
        print(f"lvsbench evaluate           CPU s: {', '.join(f'{t:.2f}' for t in ours_t)}  "
              f"({1000 * statistics.median(ours_t) / n:.2f} ms per expression-frame)")
        print(f"speed-up (median of per-repeat ratios): {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
