"""`davis-anno`: `[valid/]anno_<k>/<seq>/<frame>.png` indexed PNGs, one label map per annotator run, or a single
run's `<seq>/<frame>.png`. Ref-DAVIS17 (ReferFormer `inference_davis.py`), davis2017 results folders. The writer
composes a unit's expressions as ReferFormer does (probabilities < 0.5 dropped, background 0.1, argmax). Reader and
writer side by side.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench.core.codecs import DAVIS_PALETTE, encode_palette_png, read_palette_png
from lvsbench.core.errors import ConfigError, DataFormatError, LvsbenchError
from lvsbench.core.io import atomic_write_bytes
from lvsbench.core.records import Expression
from lvsbench.formats.base import Inventory, Outputs, Predictions, Writer, WriteUnit, WriteVideo, png_frames, read_file

_ANNO_DIR = re.compile(r"^anno_(\d+)$")


def annotator_dirs(root: Path) -> dict[int, Path]:
    """`anno_<k>/` folders of a results folder (or of its `valid/`), by k."""
    for base in (root, root / "valid"):
        if not base.is_dir():
            continue
        found = {}
        for entry in os.scandir(base):
            m = _ANNO_DIR.match(entry.name)
            if m and entry.is_dir():
                found[int(m.group(1))] = Path(entry.path)
        if found:
            return dict(sorted(found.items()))
    return {}


def davis_annotator(expression: Expression) -> int:
    """Annotator setting of a Refer-DAVIS17 expression: id = 4k + a (ReferFormer `create_meta_expressions`)."""
    try:
        return int(expression.id) % 4
    except ValueError:
        raise ConfigError(f"expression {expression.video_id}/{expression.id}: Ref-DAVIS17 expression ids must be "
                          "integers 4k + annotator") from None


def davis_label(expression: Expression) -> int:
    """Palette index written for a Refer-DAVIS17 expression: its object id, so the output scores under both
    `rdavis` (Hungarian matching, invariant to the labelling) and `rdavis-aligned` / `davis-semi` (value v is the
    referent with object id v). ReferFormer writes k + 1 for expression 4k + a (k = position of the object among the
    video's objects sorted by the string id), which is the same whenever a video's ids are 1..N with N < 10."""
    if len(expression.object_ids) != 1:
        raise ConfigError(f"expression {expression.video_id}/{expression.id}: a palette needs one object per "
                          f"expression, got {expression.object_ids}")
    return int(expression.object_ids[0])


# ============================================================================ writer


def palette_prediction_path(root: str | Path, annotator: int | None, video_id: str, frame: str) -> Path:
    base = Path(root) if annotator is None else Path(root) / f"anno_{int(annotator)}"
    return base / video_id / f"{frame}.png"


def write_palette_prediction(root: str | Path, annotator: int | None, video_id: str, frame: str,
                             label_map: np.ndarray, palette: np.ndarray = DAVIS_PALETTE) -> Path:
    """Write one label map as `<root>/anno_<annotator>/<video>/<frame>.png`, an indexed PNG with the DAVIS palette
    (ReferFormer `inference_davis.py` layout). `annotator=None` writes a single run `<root>/<video>/<frame>.png`
    (davis2017 results folder)."""
    lab = np.asarray(label_map)
    if lab.ndim != 2:
        raise ValueError(f"label map for {video_id}/{frame} must be 2-D, got shape {lab.shape}")
    path = palette_prediction_path(root, annotator, video_id, frame)
    atomic_write_bytes(path, encode_palette_png(lab, palette))
    return path


class DavisWriter(Writer):
    """`anno_<k>/<seq>/<frame>.png` palettes: ReferFormer's composition of one annotator's expressions."""

    fmt = "davis-anno"
    keep_probs = True

    def add_frames(self, video: WriteVideo, units: Sequence[WriteUnit], outputs: Outputs) -> None:
        for u in units:
            frames = sorted({f for e in u.expressions for f in outputs.get(e.id, {})}, key=video.index)
            for frame in frames:
                stack = [np.full((video.height, video.width), 0.1, dtype=np.float32)]
                labels = [0]
                for e in u.expressions:
                    fo = outputs.get(e.id, {}).get(frame)
                    if fo is None:
                        continue
                    p = fo.prob if fo.prob is not None else fo.mask.astype(np.float32)
                    stack.append(np.where(p < self.threshold, 0.0, p).astype(np.float32))
                    labels.append(davis_label(e))
                    self._score(video.id, e.id, frame, fo.score)
                idx = np.argmax(np.stack(stack), axis=0)
                label_map = np.asarray(labels, dtype=np.uint8)[idx]
                write_palette_prediction(self.out, u.group, video.id, frame, label_map)

    @classmethod
    def dirs(cls, run_dir: Path) -> list[Path]:
        return sorted(p for p in run_dir.glob("anno_*") if p.is_dir())


# ============================================================================ reader


class DavisAnnoPredictions(Predictions):
    """`[valid/]anno_<k>/<seq>/<frame>.png` indexed PNGs (ReferFormer Ref-DAVIS17 output), or one run's
    `<seq>/<frame>.png` (davis2017 results folder; its annotator is `None`)."""

    format = "davis-anno"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise DataFormatError(self.path, "not a directory")
        dirs = annotator_dirs(self.path)
        self.runs: dict[int | None, Path] = dict(dirs) if dirs else {None: self.path}
        self._inv: Inventory | None = None

    @property
    def annotators(self) -> list[int | None]:
        return list(self.runs)

    def file(self, annotator: int | None, video_id: str, frame: str) -> Path:
        base = self.runs.get(annotator)
        if base is None:
            base = self.path / f"anno_{annotator}"
        return base / video_id / f"{frame}.png"

    def describe(self, *key: Any) -> str:
        if len(key) == 3:
            return str(self.file(*key))
        if len(key) == 2:
            return str(self.file(key[0], key[1], "x").parent)
        return str(self.path)

    def inventory(self) -> Inventory:
        if self._inv is not None:
            return self._inv
        inv = Inventory(self.format)
        for ann, base in self.runs.items():
            for v in sorted(os.scandir(base), key=lambda e: e.name):
                if not v.is_dir():
                    if not v.name.startswith("."):
                        inv.stray.append((v.path, "file outside any <seq>/ folder"))
                    continue
                frames = png_frames(v.path, inv)
                inv.items[(ann, v.name)] = frames
        self._inv = inv
        return inv

    def label_map(self, annotator: int | None, video_id: str, frame: str) -> np.ndarray | None:
        p = self.file(annotator, video_id, frame)
        data = read_file(p)
        return None if data is None else read_palette_png(data, require_palette=False, where=p)

    def mask(self, video_id: str, exp_id: str, frame: str) -> np.ndarray | None:
        raise LvsbenchError(f"{self.path}: davis-anno predictions are label maps per annotator; "
                            "use a davis protocol (rdavis, rdavis-aligned, davis-semi)")


__all__ = [
    "DavisAnnoPredictions",
    "DavisWriter",
    "annotator_dirs",
    "davis_annotator",
    "davis_label",
    "palette_prediction_path",
    "write_palette_prediction",
]
