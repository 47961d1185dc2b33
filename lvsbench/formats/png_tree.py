"""`png-tree`: `[Annotations/]<video>/<exp_id>/<frame>.png`, single channel, any non-zero pixel is foreground.

Refer-YouTube-VOS submissions (ReferFormer `inference_ytvos.py`, MTTR), MeViS (no `Annotations/`); `lvsbench run`
writes 0/255 under `Annotations/`. ReasonVOS names the video folder `<source>_<video>_<obj_id>` (VideoLISA's
layout, `Protocol.prediction_dir`). Reader and writer side by side.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench.core.codecs import encode_binary_png, read_binary_png
from lvsbench.core.errors import DataFormatError
from lvsbench.core.ids import id_problem
from lvsbench.core.io import atomic_write_bytes
from lvsbench.core.records import Expression
from lvsbench.formats.base import (
    ANNOTATIONS_PREFIX,
    Inventory,
    Outputs,
    Predictions,
    Writer,
    WriteUnit,
    WriteVideo,
    read_file,
)
from lvsbench.protocols import Protocol


def png_prediction_path(root: str | Path, video_id: str, exp_id: str, frame: str) -> Path:
    return Path(root) / video_id / str(exp_id) / f"{frame}.png"


def write_png_prediction(root: str | Path, video_id: str, exp_id: str, frame: str, mask: np.ndarray) -> Path:
    """Write one binary mask as `<root>/<video>/<exp_id>/<frame>.png` (L mode, 0/255), atomically.

    This is the Refer-YouTube-VOS submission format (without the `Annotations/` prefix, which `lvsbench submit`
    adds) and MeViS' layout."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask for {video_id}/{exp_id}/{frame} must be 2-D, got shape {mask.shape}")
    path = png_prediction_path(root, video_id, exp_id, frame)
    atomic_write_bytes(path, encode_binary_png(mask))
    return path


class PngTreePredictions(Predictions):
    """`[Annotations/]<video>/<exp_id>/<frame>.png` on disk; any non-zero pixel is foreground."""

    format = "png-tree"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise DataFormatError(self.path, "not a directory")
        pref = self.path / ANNOTATIONS_PREFIX
        self.base = pref if pref.is_dir() else self.path
        self._inv: Inventory | None = None

    def file(self, video_id: str, exp_id: str, frame: str) -> Path:
        return self.base / video_id / str(exp_id) / f"{frame}.png"

    def describe(self, *key: Any) -> str:
        if len(key) == 3:
            return str(self.file(*key))
        return str(self.base.joinpath(*[str(k) for k in key]))

    def inventory(self) -> Inventory:
        if self._inv is not None:
            return self._inv
        inv = Inventory(self.format)
        for v in sorted(os.scandir(self.base), key=lambda e: e.name):
            if not v.is_dir():
                if not v.name.startswith("."):
                    inv.stray.append((v.path, "file outside any <video>/<exp_id>/ folder"))
                continue
            for e in sorted(os.scandir(v.path), key=lambda e: e.name):
                if not e.is_dir():
                    inv.stray.append((e.path, "file outside any <video>/<exp_id>/ folder"))
                    continue
                frames = set()
                for f in os.scandir(e.path):
                    if f.is_file() and f.name.lower().endswith(".png"):
                        frames.add(f.name[:-4])
                    elif not f.name.startswith("."):
                        inv.stray.append((f.path, "not a .png file"))
                bad = id_problem(v.name) or id_problem(e.name)
                if bad:
                    inv.stray.append((e.path, bad))
                    continue
                inv.items[(v.name, e.name)] = frames
        self._inv = inv
        return inv

    def raw_bytes(self, video_id: str, exp_id: str, frame: str) -> bytes | None:
        """The PNG file's bytes, or None when absent."""
        return read_file(self.file(video_id, exp_id, frame))

    def mask(self, video_id: str, exp_id: str, frame: str) -> np.ndarray | None:
        p = self.file(video_id, exp_id, frame)
        data = read_file(p)
        return None if data is None else read_binary_png(data, where=p)


class PngTreeWriter(Writer):
    """`Annotations/<folder>/<exp_id>/<frame>.png`, 0/255; `folder` is the video id unless the protocol's
    `prediction_dir` names another folder (given by the dataset, e.g. `ReasonVOSDataset.prediction_video`)."""

    fmt = "png-tree"

    def __init__(self, out: Path, protocol: Protocol, folder: Callable[[Expression], str] | None = None) -> None:
        super().__init__(out, protocol)
        self.folder = folder or (lambda e: e.video_id)

    def add_frames(self, video: WriteVideo, units: Sequence[WriteUnit], outputs: Outputs) -> None:
        for u in units:
            for e in u.expressions:
                for frame, fo in outputs.get(e.id, {}).items():
                    write_png_prediction(self.out / ANNOTATIONS_PREFIX, self.folder(e), e.id, frame, fo.mask)
                    self._score(video.id, e.id, frame, fo.score)

    @classmethod
    def dirs(cls, run_dir: Path) -> list[Path]:
        return [run_dir / ANNOTATIONS_PREFIX] if (run_dir / ANNOTATIONS_PREFIX).is_dir() else []
