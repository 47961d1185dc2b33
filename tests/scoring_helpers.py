"""Small synthetic datasets (in the lvsbench layout) and oracle predictions for testing and benchmarking the scorer.

An oracle prediction is written from the ground truth itself, so every protocol must give its maximum on it; the
tests and `benchmarks/bench_score_e2e.py` build on these helpers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lvsbench.core.records import Expression, Video
from lvsbench.datasets.layout import LayoutDataset, LayoutWriter
from lvsbench.formats.coco_json import a2d_image_id, coco_result, jhmdb_image_id, write_coco_results
from lvsbench.formats.davis_anno import write_palette_prediction
from lvsbench.formats.png_tree import write_png_prediction
from lvsbench.protocols import get_protocol


@dataclass
class ToyVideo:
    """A video given by its label maps (frame name -> uint8 label map, in order) and its expressions
    (exp_id, text, object ids, scored frames or () for every annotated frame)."""

    id: str
    labels: dict[str, np.ndarray]
    expressions: list[tuple[str, str, tuple[int, ...], tuple[str, ...]]]
    frames: tuple[str, ...] | None = None
    objects: dict[int, dict[str, str]] = field(default_factory=dict)


def write_toy_dataset(out: str | Path, videos: Sequence[ToyVideo], *, name: str = "toy", split: str = "test",
                      default_protocol: str = "ryvos", frame_ext: str = ".png", force: bool = True) -> LayoutDataset:
    """Write `videos` in the lvsbench layout (flat grey frames) and open it."""
    w = LayoutWriter(out, name=name, split=split, source="tests.scoring_helpers", default_protocol=default_protocol,
                     frame_ext=frame_ext, force=force)
    for tv in videos:
        frames = tv.frames or tuple(tv.labels)
        h, wd = next(iter(tv.labels.values())).shape
        video = Video(tv.id, frames, h, wd)
        grey = np.full((h, wd, 3), 128, dtype=np.uint8)
        exps = [Expression(eid, tv.id, text, ids, fr) for eid, text, ids, fr in tv.expressions]
        w.add_video(video, ((f, grey) for f in frames), tv.labels, exps, tv.objects or None)
    w.finish(order=[v.id for v in videos])
    return LayoutDataset(out)


def ellipse(shape: tuple[int, int], cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    """Integer-exact filled axis-aligned ellipse."""
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    return ((yy - cy) / max(ry, 1e-9)) ** 2 + ((xx - cx) / max(rx, 1e-9)) ** 2 <= 1.0


def moving_objects_video(video_id: str, n_frames: int, n_objects: int, shape: tuple[int, int],
                         rng: np.random.Generator, frame_step: int = 1) -> ToyVideo:
    """A video of `n_objects` moving ellipses (ids 1..n), one expression per object ("0", "1", ...)."""
    h, w = shape
    params = [(rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w, rng.uniform(0.08, 0.2) * h,
               rng.uniform(0.06, 0.15) * w, rng.uniform(-2, 2), rng.uniform(-3, 3)) for _ in range(n_objects)]
    labels = {}
    for t in range(n_frames):
        lab = np.zeros(shape, dtype=np.uint8)
        for k, (cy, cx, ry, rx, vy, vx) in enumerate(params):
            lab[ellipse(shape, cy + vy * t, cx + vx * t, ry, rx)] = k + 1
        labels[f"{t * frame_step:05d}"] = lab
    exps = [(str(k), f"object number {k + 1}", (k + 1,), ()) for k in range(n_objects)]
    return ToyVideo(video_id, labels, exps)


def scored(ds: LayoutDataset) -> Iterable[tuple[Expression, str, np.ndarray]]:
    """(expression, frame, GT mask) for every scored frame of every expression."""
    for e in ds.expressions():
        for f in ds.expression_frames(e):
            lab = ds.read_masks(e.video_id, f)
            if lab is not None:
                yield e, f, lab.mask(e.object_ids)


def list_counts(m: np.ndarray) -> dict:
    """A COCO RLE with uncompressed (list) counts, as some prediction writers give them."""
    flat = m.T.reshape(-1)
    edges = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    return {"size": list(m.shape), "counts": ([0] if flat[0] else []) + runs}


def write_random_a2d_results(ds, out: str | Path, seed: int, png_out: str | Path | None = None) -> Path:  # noqa: ANN001
    """COCO results of 1-4 random candidates per sample of an A2D reader (`ds`): the ground truth, empty, noise, or
    noise over the ground truth; RLEs compressed or with list counts; scores with ties. With `png_out`, each sample's
    last candidate is also written as a PNG prediction tree."""
    from lvsbench.core.codecs import rle_encode

    rng = np.random.default_rng(seed)
    results = []
    for e in ds.expressions():
        for f in ds.expression_frames(e):
            gt = ds.read_masks(e.video_id, f).mask(e.object_ids)
            for _ in range(int(rng.integers(1, 5))):
                kind = rng.integers(4)
                m = gt.copy() if kind == 0 else np.zeros_like(gt) if kind == 1 else rng.random(gt.shape) < 0.3
                if kind == 3:
                    m |= gt
                seg = list_counts(m) if rng.integers(2) else rle_encode(m)
                results.append({"image_id": a2d_image_id(e.video_id, f, e.object_ids[0]), "category_id": 1,
                                "segmentation": seg, "score": float(rng.choice([0.25, 0.5, 0.75]))})
            if png_out is not None:
                write_png_prediction(png_out, e.video_id, e.id, f, m)
    write_coco_results(out, results)
    return Path(out)


def write_oracle_png(ds: LayoutDataset, out: str | Path, transform=None) -> Path:
    """PNG tree of the GT masks (optionally `transform(mask, expression, frame) -> mask`)."""
    for e, f, gt in scored(ds):
        write_png_prediction(out, e.video_id, e.id, f, gt if transform is None else transform(gt, e, f))
    Path(out).mkdir(parents=True, exist_ok=True)
    return Path(out)


def write_oracle_coco(ds: LayoutDataset, out: str | Path, protocol: str = "a2d", extra: int = 0,
                      rng: np.random.Generator | None = None) -> Path:
    """COCO results with the GT as top candidate (score 0.9) plus `extra` random lower-scored candidates."""
    rng = rng or np.random.default_rng(0)
    results = []
    for e, f, gt in scored(ds):
        iid = (jhmdb_image_id(e.video_id, f) if get_protocol(protocol).image_id == "jhmdb-frame"
               else a2d_image_id(e.video_id, f, e.object_ids[0]))
        results.append(coco_result(iid, gt, 0.9))
        for _ in range(extra):
            results.append(coco_result(iid, rng.random(gt.shape) < 0.05, float(rng.uniform(0, 0.5))))
    return write_coco_results(out, results)


def write_oracle_davis(ds: LayoutDataset, out: str | Path, runs: Sequence[int | None] = (0, 1, 2, 3),
                       relabel: dict[int, int] | None = None) -> Path:
    """Label-map predictions equal to the GT label maps (void removed), ids optionally relabelled."""
    for vid in ds.videos():
        for f in ds.annotated_frames(vid):
            lab = ds.read_labels(vid, f)
            assert lab is not None
            pred = np.where(lab == 255, 0, lab).astype(np.uint8)
            if relabel:
                out_lab = pred.copy()
                for a, b in relabel.items():
                    out_lab[pred == a] = b
                pred = out_lab
            for r in runs:
                write_palette_prediction(out, r, vid, f, pred)
    return Path(out)
