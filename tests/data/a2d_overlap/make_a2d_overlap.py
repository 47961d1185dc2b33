#!/usr/bin/env python3
"""A tiny A2D-Sentences release whose instance masks overlap (riders on horses, an adult holding a baby), plus a
COCO results file, and (optionally) the numbers MTTR's own evaluation gives on it.

Masks are built with exact integer arithmetic (`rect`, `ell`), so the files are identical everywhere. No evaluator
code is in this file: `--mttr DIR` imports, from a checkout of github.com/mttr2021/MTTR, its
`datasets/a2d_sentences/create_gt_in_coco_format.py` (the COCO ground truth, run unmodified on the h5 files written
here) and `metrics.py` (P@K, overall / mean IoU, `compute_iou`), and runs pycocotools' COCOeval as MTTR's
`trainer.py:evaluate_a2d_sentences` calls it (`iouType='segm'`, `params.useCats = 0`, default params).

The same evaluation also runs on a *flattened* copy of the release (each instance's mask replaced by its pixels in
a label map where the later instance wins, which is what a label-map reader scores): the `flattened` numbers show
what a reader that flattens the instances reports.

Usage:
  python make_a2d_overlap.py --write DIR                       # the release + preds.json only
  python make_a2d_overlap.py --mttr /tmp/MTTR --out a2d_overlap.json
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import io
import json
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

H, W = 120, 160
N_VIDEOSET_ROWS = 3782  # MTTR's get_text_annotations asserts the size of the real videoset.csv


def rect(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    m[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = 1
    return m


def ell(cy: int, cx: int, ry: int, rx: int) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W].astype(np.int64)
    return (((yy - cy) ** 2) * rx * rx + ((xx - cx) ** 2) * ry * ry <= rx * rx * ry * ry).astype(np.uint8)


def shift(m: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Translate a mask by (dy, dx) pixels, filling with background (no wrap-around)."""
    out = np.zeros_like(m)
    ys, yd = (slice(0, H - dy), slice(dy, H)) if dy >= 0 else (slice(-dy, H), slice(0, H + dy))
    xs, xd = (slice(0, W - dx), slice(dx, W)) if dx >= 0 else (slice(-dx, W), slice(0, W + dx))
    out[yd, xd] = m[ys, xs]
    return out


def horse(cx: int) -> np.ndarray:
    return ell(70, cx, 14, 30) | rect(80, 104, cx - 24, cx - 18) | rect(80, 104, cx + 18, cx + 24) | \
        ell(52, cx + 30, 8, 9)


def rider(cx: int, cy: int = 48) -> np.ndarray:
    return ell(cy, cx, 16, 7) | ell(cy - 20, cx, 5, 5)


def adult(cx: int) -> np.ndarray:
    return ell(62, cx, 38, 13) | ell(17, cx, 8, 8)


def baby(cx: int, cy: int) -> np.ndarray:
    return ell(cy, cx, 9, 7) | ell(cy - 11, cx, 4, 4)


def dog(cx: int, cy: int) -> np.ndarray:
    return ell(cy, cx, 7, 16) | ell(cy - 6, cx + 17, 5, 6) | rect(cy + 4, cy + 12, cx - 12, cx - 9) | \
        rect(cy + 4, cy + 12, cx + 9, cx + 12)


def cat(cx: int, cy: int) -> np.ndarray:
    return ell(cy, cx, 6, 12) | ell(cy - 5, cx + 12, 5, 5)


# (video id, {frame: [(instance id, mask, actor-action id), ...]}, [(instance id, query)])
# Instance order inside a frame is the order of the h5 arrays; where masks overlap, a flattening reader gives the
# shared pixels to the instance listed later.
def build_videos() -> list[tuple[str, dict[int, list[tuple[int, np.ndarray, int]]], list[tuple[int, str]]]]:
    videos = []
    # horse (instance 0, listed first) and rider (instance 1): the rider sits on the horse from frame 12 on.
    videos.append(("RiderHorse1", {
        5: [(0, horse(50), 78), (1, rider(120, 70), 18)],  # rider walks beside the horse: no overlap
        12: [(0, horse(60), 77), (1, rider(58), 19)],
        20: [(0, horse(80), 77), (1, rider(78), 19)],
    }, [(0, "brown horse galloping"), (1, "man riding the brown horse")]))
    # baby (instance 0) held by an adult (instance 1, listed later, whose mask covers the whole baby).
    videos.append(("AdultBaby02", {
        3: [(0, baby(40, 95), 28), (1, adult(110), 18)],  # baby walking, adult apart
        9: [(0, baby(72, 55), 29), (1, adult(70), 19)],  # held: the baby lies entirely inside the adult
        15: [(1, adult(75), 19), (0, baby(80, 60), 29)],  # baby listed last: its pixels stay its own
    }, [(0, "baby in arms of a woman"), (1, "woman holding a baby")]))
    # three dogs; dog 2 absent in frame 1; dogs 1 and 2 partly overlap in frame 7; id starts with '-'.
    videos.append(("-ThreeDogs3", {
        1: [(0, dog(30, 40), 78), (1, dog(100, 90), 77)],
        4: [(0, dog(34, 40), 78), (1, dog(95, 88), 77), (2, dog(130, 30), 76)],
        7: [(0, dog(38, 40), 78), (2, dog(104, 80), 76), (1, dog(90, 88), 77)],
    }, [(0, "dog lying at the top left"), (1, "dog running to the left"), (2, "puppy rolling")]))
    # a single cat: reMask stored 2-D (MATLAB drops the singleton dimension).
    videos.append(("SingleCat04", {
        2: [(0, cat(60, 70), 68)],
        6: [(0, cat(70, 72), 68)],
    }, [(0, "cat walking")]))
    return videos


def flatten(insts: list[tuple[int, np.ndarray, int]]) -> list[tuple[int, np.ndarray, int]]:
    """Each instance replaced by its pixels in the label map where the later instance wins."""
    lab = np.zeros((H, W), np.int32)
    for k, (_, m, _) in enumerate(insts):
        lab[m != 0] = k + 1
    return [(i, (lab == k + 1).astype(np.uint8), a) for k, (i, _, a) in enumerate(insts)]


def bbox(m: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(m)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def write_release(out: Path, flattened: bool = False) -> None:
    """The A2D-Sentences files MTTR and lvsbench read (h5 arrays transposed as MATLAB stores them)."""
    import h5py

    rel, txt = out / "Release", out / "text_annotations"
    rel.mkdir(parents=True, exist_ok=True)
    txt.mkdir(parents=True, exist_ok=True)
    videos = build_videos()
    rows = []
    for vid, frames, _ in videos:
        rows.append(f"{vid},{frames[min(frames)][0][2]},00:00:00,00:00:01,{H},{W},24,{len(frames)},1")
    for k in range(N_VIDEOSET_ROWS - len(videos)):  # train-split filler so that the row count is the real one
        rows.append(f"filler{k:05d},11,00:00:00,00:00:01,{H},{W},24,3,0")
    (rel / "videoset.csv").write_text("\n".join(rows) + "\n")
    text = ["video_id,instance_id,query"] + [f"{vid},{i},{q}" for vid, _, qs in videos for i, q in qs]
    (txt / "a2d_annotation.txt").write_text("\n".join(text) + "\n")
    (txt / "a2d_missed_videos.txt").write_text("filler00000")
    for vid, frames, _ in videos:
        d = txt / "a2d_annotation_with_instances" / vid
        d.mkdir(parents=True, exist_ok=True)
        for fr, insts in frames.items():
            boxes = np.asarray([bbox(m) for _, m, _ in insts], dtype=np.float64).T  # (4, N), x1 y1 x2 y2
            insts = flatten(insts) if flattened else insts
            masks = np.stack([m for _, m, _ in insts]).astype(np.uint8)
            remask = masks.transpose(0, 2, 1)  # (N, W, H)
            if len(insts) == 1:
                remask = remask[0]
            with h5py.File(d / f"{fr:05d}.h5", "w") as f:
                f.create_dataset("instance", data=np.asarray([i for i, _, _ in insts], dtype=np.float64))
                f.create_dataset("reMask", data=np.ascontiguousarray(remask))
                f.create_dataset("reBBox", data=boxes)
                f.create_dataset("id", data=np.asarray([[a for _, _, a in insts]], dtype=np.float64))


def samples() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(image id, the instance's own mask, its flattened mask) of every sample, in MTTR's COCO image order."""
    out = []
    for vid, frames, qs in build_videos():
        for inst, _ in qs:
            for fr in sorted(frames):
                own = {i: m for i, m, _ in frames[fr]}
                flat = {i: m for i, m, _ in flatten(frames[fr])}
                if inst in own:
                    out.append((f"v_{vid}_f_{fr}_i_{inst}", own[inst], flat[inst]))
    return out


def predictions() -> list[tuple[str, np.ndarray, float]]:
    """Scored candidate masks per sample, in list order (order matters for ties), all integer-exact."""
    out = []
    for k, (iid, own, flat) in enumerate(samples()):
        overlapped = not np.array_equal(own, flat)
        if overlapped:
            # the model finds the whole instance (right under MTTR, wrong against a flattened mask) ...
            out.append((iid, shift(own, k % 3, 0), 0.9))
            # ... and the visible part with a lower score (it counts for COCO mAP at low IoU thresholds)
            out.append((iid, flat, 0.55))
        elif k % 4 == 0:
            out.append((iid, own, 0.7))
            out.append((iid, shift(own, 4, 4), 0.7))  # tie: P@K takes the last listed, COCOeval the first
        elif k % 4 == 1:
            out.append((iid, shift(own, 0, 6), 0.8))
            out.append((iid, rect(0, 10, 0, 10), 0.2))
        elif k % 4 == 2:
            out.append((iid, own & shift(own, 3, 0), 0.65))
        else:
            out.append((iid, np.zeros((H, W), np.uint8), 0.95))  # empty top prediction
            out.append((iid, own | shift(own, 0, 2), 0.3))
    return out


def to_rle(m: np.ndarray) -> dict:
    from pycocotools import mask as mu

    r = mu.encode(np.asfortranarray(m.astype(np.uint8)))
    return {"size": [int(r["size"][0]), int(r["size"][1])], "counts": r["counts"].decode("ascii")}


def write_predictions(path: Path) -> None:
    res = [{"image_id": iid, "category_id": 1, "segmentation": to_rle(m), "score": s} for iid, m, s in predictions()]
    path.write_text(json.dumps(res))


def write(out: Path) -> Path:
    """Release in `out/a2d` and COCO results in `out/preds.json` (what the parity test reads)."""
    write_release(out / "a2d")
    write_predictions(out / "preds.json")
    return out


# ---------------------------------------------------------------------------------------------- MTTR (external)


def _mttr_create_gt(mttr: Path, dataset_path: Path, output_path: Path) -> None:
    """Run MTTR's `create_a2d_sentences_ground_truth_test_annotations` unmodified on `dataset_path`.

    Its module imports `datasets.a2d_sentences.a2d_sentences_dataset` only for `get_image_id`; that module needs
    torchvision (not installed here), so it is replaced by a module holding MTTR's own `get_image_id`, taken with
    `ast` from the fetched file (no code is rewritten). The script's globals `dataset_path` / `output_path` are set
    as its `__main__` would use them.
    """
    src = (mttr / "datasets" / "a2d_sentences" / "a2d_sentences_dataset.py").read_text()
    fn = next(n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef) and n.name == "get_image_id")
    stub = types.ModuleType("datasets.a2d_sentences.a2d_sentences_dataset")
    exec(compile(ast.Module([fn], []), str(mttr / "datasets/a2d_sentences/a2d_sentences_dataset.py"), "exec"),
         stub.__dict__)
    pkg, sub = types.ModuleType("datasets"), types.ModuleType("datasets.a2d_sentences")
    pkg.__path__, sub.__path__ = [str(mttr / "datasets")], [str(mttr / "datasets" / "a2d_sentences")]
    pkg.a2d_sentences, sub.a2d_sentences_dataset = sub, stub
    saved = {k: sys.modules.get(k) for k in (pkg.__name__, sub.__name__, stub.__name__)}
    sys.modules.update({pkg.__name__: pkg, sub.__name__: sub, stub.__name__: stub})
    try:
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "datasets.a2d_sentences.create_gt_in_coco_format",
            mttr / "datasets" / "a2d_sentences" / "create_gt_in_coco_format.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mod.dataset_path = str(dataset_path)
        mod.output_path = str(output_path)
        with contextlib.redirect_stderr(io.StringIO()):
            mod.create_a2d_sentences_ground_truth_test_annotations()
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def _mttr_numbers(mttr: Path, root: Path, preds_path: Path, work: Path) -> dict:
    import torch
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    from pycocotools.mask import decode

    gt_path = work / "a2d_sentences_test_annotations_in_coco_format.json"
    _mttr_create_gt(mttr, root, gt_path)
    sys.path.insert(0, str(mttr))
    try:
        import metrics as mttr_metrics  # MTTR metrics.py, imported not copied
    finally:
        sys.path.remove(str(mttr))
    predictions = json.loads(preds_path.read_text())
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        # trainer.py:evaluate_a2d_sentences
        coco_gt = COCO(str(gt_path))
        coco_pred = coco_gt.loadRes(predictions)
        coco_eval = COCOeval(coco_gt, coco_pred, iouType='segm')
        coco_eval.params.useCats = 0
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
        pk, oiou, miou = mttr_metrics.calculate_precision_at_k_and_iou_metrics(coco_gt, coco_pred)
    per = []
    for image_id in coco_gt.imgs.keys():  # the loop of calculate_precision_at_k_and_iou_metrics, per sample
        gt_mask = decode(coco_gt.imgToAnns[image_id][0]['segmentation'])
        pred = sorted(coco_pred.imgToAnns[image_id], key=lambda a: a['score'])[-1]
        iou, inter, union = mttr_metrics.compute_iou(torch.tensor(decode(pred['segmentation'])).unsqueeze(0),
                                                     torch.tensor(gt_mask).unsqueeze(0))
        per.append({"image_id": image_id, "iou": iou.item(), "inter": inter.item(), "union": union.item(),
                    "gt_area": float(coco_gt.imgToAnns[image_id][0]["area"])})
    return {
        "coco_gt_sha256": hashlib.sha256(gt_path.read_bytes()).hexdigest(),
        "coco_stats": [float(x) for x in coco_eval.stats],
        "precision_at_k": dict(zip(["0.5", "0.6", "0.7", "0.8", "0.9"], [float(x) for x in pk], strict=True)),
        "overall_iou": float(oiou),
        "mean_iou": float(miou),
        "per_image_top1": per,
    }


MTTR_FILES = ("metrics.py", "datasets/a2d_sentences/create_gt_in_coco_format.py",
              "datasets/a2d_sentences/a2d_sentences_dataset.py", "trainer.py")


def _git_blob(path: Path) -> str:
    """git's object id of a file (`git hash-object`), to show the files ran unmodified."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def run_mttr(mttr: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        write(t)
        write_release(t / "flat", flattened=True)
        (t / "w_exact").mkdir()
        (t / "w_flat").mkdir()
        exact = _mttr_numbers(mttr, t / "a2d", t / "preds.json", t / "w_exact")
        flat = _mttr_numbers(mttr, t / "flat", t / "preds.json", t / "w_flat")
        preds_sha = hashlib.sha256((t / "preds.json").read_bytes()).hexdigest()
    return {**exact, "preds_sha256": preds_sha, "flattened": flat}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", type=Path, help="write the release (DIR/a2d) and COCO results (DIR/preds.json)")
    ap.add_argument("--mttr", type=Path, help="checkout of github.com/mttr2021/MTTR (external reference)")
    ap.add_argument("--commit", help="MTTR commit of the checkout (when DIR is an export without .git)")
    ap.add_argument("--out", type=Path, default=Path("a2d_overlap.json"))
    a = ap.parse_args()
    if a.write:
        write(a.write)
    if a.mttr:
        import platform

        import pycocotools
        import torch

        res = run_mttr(a.mttr.resolve())
        import subprocess

        commit = a.commit or subprocess.run(["git", "-C", str(a.mttr), "rev-parse", "HEAD"], capture_output=True,
                                text=True).stdout.strip() or "unknown"
        from importlib.metadata import version

        res = {"meta": {
            "reference": "github.com/mttr2021/MTTR@" + commit + ": datasets/a2d_sentences/create_gt_in_coco_format.py"
                         " (COCO ground truth from the h5 files), trainer.py:evaluate_a2d_sentences's COCOeval call "
                         "(segm, useCats=0), metrics.py calculate_precision_at_k_and_iou_metrics and compute_iou; "
                         "imported from the checkout, not copied",
            "mttr_commit": commit,
            "mttr_files_git_blob": {f: _git_blob(a.mttr / f) for f in MTTR_FILES},
            "command": "python tests/data/a2d_overlap/make_a2d_overlap.py --mttr <MTTR checkout at mttr_commit> "
                       "--commit <mttr_commit> --out tests/data/a2d_overlap/a2d_overlap.json",
            "versions": {"python": platform.python_version(), "numpy": np.__version__,
                         "pycocotools": version("pycocotools"), "torch": torch.__version__,
                         "h5py": version("h5py"), "pandas": version("pandas")},
            "note": "get_image_id taken with ast from MTTR's a2d_sentences_dataset.py (that module imports "
                    "torchvision, not installed); `flattened` = the same evaluation on a copy whose instance masks "
                    "were flattened into a label map (later instance wins)",
            "pycocotools_module": getattr(pycocotools, "__file__", ""),
        }, **res}
        res["meta"].pop("pycocotools_module")
        a.out.write_text(json.dumps(res, indent=1) + "\n")
        print(json.dumps({k: v for k, v in res.items() if k not in ("per_image_top1", "flattened")}, indent=1))
        f = res["flattened"]
        print("flattened mAP", f["coco_stats"][0], "P@K", f["precision_at_k"], "mean IoU", f["mean_iou"])
