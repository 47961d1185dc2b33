"""COCO-format ground truth for A2D-Sentences and J-HMDB-Sentences, as MTTR/ReferFormer build it.

Reproduces (written from the behaviour, no upstream code; mttr2021/MTTR @ 2cc35ab) MTTR's
`datasets/{a2d,jhmdb}_sentences/create_gt_in_coco_format.py`, so that files written here are interchangeable with
theirs and existing evaluation code (pycocotools `COCO`, `loadRes`) reads them:

- A2D: for every text row of the split in file order and every annotated frame (sorted) whose h5 `instance` field
  holds the row's instance: image `v_<vid>_f_<frame number>_i_<instance>` (frame number without zero padding),
  one annotation with the RLE of that instance's mask, its area, bbox xywh from `reBBox` (x1, y1, x2 - x1,
  y2 - y1), `iscrowd` 0, `category_id` 1. Rows whose instance id is not an integer (`1 (copy)`) are skipped.
- J-HMDB: for every frozen sample in the samples file's order: image `v_<vid>_f_<t>`, one annotation with the RLE
  of `part_mask[..., t-1]`, its area, `iscrowd` 0, `category_id` 1, and no bbox.

Categories are `[{"id": 1, "name": "dummy_class"}]`; annotation ids count from 1. The JSON is written with
`json.dumps` defaults, as MTTR's `json.dump` writes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from lvsbench.core.codecs import rle_encode
from lvsbench.core.errors import ConfigError, DataFormatError
from lvsbench.core.io import atomic_write_text, check_overwrite
from lvsbench.datasets.base import Dataset

CATEGORIES = [{"id": 1, "name": "dummy_class"}]


def a2d_image_id(video_id: str, frame: int | str, instance: int | str) -> str:
    """MTTR's A2D image id: `v_<vid>_f_<frame>_i_<instance>`, frame as an unpadded integer."""
    return f"v_{video_id}_f_{int(frame)}_i_{instance}"


def jhmdb_image_id(video_id: str, frame: int | str) -> str:
    """MTTR's J-HMDB image id: `v_<vid>_f_<frame>`, frame as an unpadded 1-based integer."""
    return f"v_{video_id}_f_{int(frame)}"


def _rle(mask: np.ndarray) -> tuple[dict[str, Any], float]:
    rle = rle_encode(mask)
    return rle, float(coco_mask.area(rle))


def build_a2d_coco_gt(ds: Any, progress: bool = False) -> dict[str, Any]:
    """COCO ground truth of an `A2DDataset` split (MTTR `create_gt_in_coco_format.py` for A2D-Sentences)."""
    from tqdm import tqdm

    from lvsbench.datasets.a2d_masks import FrameAnnotation

    videos = ds.videos()
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    seen: set[str] = set()
    cache: dict[tuple[str, str], FrameAnnotation] = {}
    rows = [r for r in ds.annotation_rows if r.video_id in videos]
    for row in tqdm(rows, desc="coco gt a2d", unit="query", disable=not progress):
        if row.instance_id is None:
            continue  # '1 (copy)': int() fails in MTTR's try block, the row yields nothing
        vid = row.video_id
        for frame in ds.annotated_frames(vid):
            key = (vid, frame)
            ann = cache.get(key)
            if ann is None:
                if len(cache) > 64:
                    cache.clear()
                ann = cache[key] = ds.read_annotation(vid, frame)
            k = ann.index(row.instance_id)
            if k is None:
                continue  # the instance has no mask on this frame: no sample (CMPC-V, MTTR)
            image_id = a2d_image_id(vid, frame, row.instance_id)
            if image_id in seen:
                raise DataFormatError(ds.annotation_path, f"image id {image_id} would appear twice",
                                      f"line {row.line}")
            seen.add(image_id)
            mask = ann.masks[k]
            images.append({"id": image_id, "height": int(mask.shape[0]), "width": int(mask.shape[1])})
            if ann.boxes is None:
                raise DataFormatError(ds.annotation_file(vid, frame), "key 'reBBox' missing", "reBBox")
            x1, y1, x2, y2 = (float(v) for v in ann.boxes[k])
            seg, area = _rle(mask)
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "segmentation": seg, "area": area, "bbox": [x1, y1, x2 - x1, y2 - y1],
                                "iscrowd": 0})
    return {"categories": CATEGORIES, "images": images, "annotations": annotations}


def build_jhmdb_coco_gt(ds: Any, progress: bool = False) -> dict[str, Any]:
    """COCO ground truth of a `JHMDBDataset` (MTTR `create_gt_in_coco_format.py` for J-HMDB-Sentences)."""
    from tqdm import tqdm

    videos = ds.videos()
    order: list[tuple[str, str]] = []
    if ds.eval_frames == "frozen":
        from lvsbench.datasets.jhmdb import sample_frame

        order = [(s[0], sample_frame(s)) for s in ds.samples if s[0] in videos]
    covered = {v for v, _ in order}
    for e in ds.expressions():
        if e.video_id not in covered:
            order.extend((e.video_id, f) for f in ds.expression_frames(e))
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    seen: set[str] = set()
    for vid, frame in tqdm(order, desc="coco gt jhmdb", unit="sample", disable=not progress):
        masks = ds.masks(vid)
        t = int(frame)
        if not 1 <= t <= masks.shape[0]:
            raise DataFormatError(ds.mask_path(vid), f"part_mask has {masks.shape[0]} masks, no mask for frame "
                                                     f"{frame}", f"frame {frame}")
        image_id = jhmdb_image_id(vid, t)
        if image_id in seen:
            raise DataFormatError(ds.samples_path or "jhmdb samples", f"image id {image_id} would appear twice")
        seen.add(image_id)
        mask = masks[t - 1]
        images.append({"id": image_id, "height": int(mask.shape[0]), "width": int(mask.shape[1])})
        seg, area = _rle(mask != 0)
        annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                            "segmentation": seg, "area": area, "iscrowd": 0})
    return {"categories": CATEGORIES, "images": images, "annotations": annotations}


def build_coco_gt(ds: Dataset, progress: bool = False) -> dict[str, Any]:
    """COCO ground truth of an A2D-Sentences or J-HMDB-Sentences split."""
    from lvsbench.datasets.a2d import A2DDataset
    from lvsbench.datasets.jhmdb import JHMDBDataset

    if isinstance(ds, A2DDataset):
        return build_a2d_coco_gt(ds, progress)
    if isinstance(ds, JHMDBDataset):
        return build_jhmdb_coco_gt(ds, progress)
    raise ConfigError(f"COCO ground truth is defined for A2D-Sentences and J-HMDB-Sentences, not {ds.name}")


def default_coco_name(ds: Dataset) -> str:
    """MTTR's file names: `a2d_sentences_<split>_annotations_in_coco_format.json`,
    `jhmdb_sentences_gt_annotations_in_coco_format.json`."""
    from lvsbench.datasets.jhmdb import JHMDBDataset

    if isinstance(ds, JHMDBDataset):  # the J-HMDB image-id rule, as `build_coco_gt` dispatches
        return "jhmdb_sentences_gt_annotations_in_coco_format.json"
    return f"a2d_sentences_{ds.split}_annotations_in_coco_format.json"


def write_coco_gt(ds: Dataset, path: str | Path, force: bool = False, progress: bool = False) -> dict[str, Any]:
    """Build and write the COCO ground truth (atomic; refuses to overwrite without `force`)."""
    path = Path(path)
    check_overwrite(path, force)
    gt = build_coco_gt(ds, progress)
    atomic_write_text(path, json.dumps(gt))
    return gt


__all__ = ["CATEGORIES", "a2d_image_id", "build_a2d_coco_gt", "build_coco_gt", "build_jhmdb_coco_gt",
           "default_coco_name", "jhmdb_image_id", "write_coco_gt"]
