"""Helpers shared by the readers whose releases store one mask per object (Ref-SAV, Long-RVOS, ReasonVOS):
flattening per-object masks into a label map, reading a listed JPEG frame, and the metadata-only report."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from lvsbench.core.codecs import read_image_rgb
from lvsbench.core.errors import DataFormatError, Problem


def flatten_object_masks(masks: Mapping[int, np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """uint8 label map of per-object masks; where objects overlap the larger label wins (the per-object masks
    keep the overlap; a label map cannot)."""
    lab = np.zeros(shape, dtype=np.uint8)
    for label, m in sorted(masks.items()):
        lab[m] = label
    return lab


def read_listed_frame(path: Path, video_id: str, frame: str) -> np.ndarray:
    """RGB of a frame the meta file lists; a missing file names the frame."""
    if not path.is_file():
        raise DataFormatError(path, "frame listed in the meta file is missing", f"{video_id}/{frame}")
    return read_image_rgb(path)


def metadata_only_problems(frames: Path, masks: Path) -> list[Problem]:
    """What a reader in metadata-only mode lacks: the frames folder and/or the masks (file or folder)."""
    out = []
    if not frames.is_dir():
        out.append(Problem(str(frames), "missing (metadata-only: no frames)"))
    if not masks.exists():
        out.append(Problem(str(masks), "missing (metadata-only: no masks)"))
    return out


def meta_videos(path: Path) -> dict:
    """The `videos` object of a meta-expressions JSON (every reader here starts from one)."""
    from lvsbench.datasets.ryvos import load_json

    doc = load_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("videos"), dict):
        raise DataFormatError(path, "top-level key 'videos' (an object) is missing", "videos")
    return doc["videos"]


def meta_frames(entry: object, path: Path, key: str) -> tuple[str, ...]:
    """A video entry's `frames`: a list of distinct frame names, else an error naming the key."""
    frames = entry.get("frames") if isinstance(entry, dict) else None
    if not isinstance(frames, list) or not all(isinstance(f, str) for f in frames):
        raise DataFormatError(path, "'frames' must be a list of frame names", f"{key}.frames")
    if len(set(frames)) != len(frames):
        raise DataFormatError(path, "duplicate frame names", f"{key}.frames")
    return tuple(frames)


def frame_masks(masks: Mapping[int, np.ndarray], shape: tuple[int, int]) -> object:
    """Per-object ground truth of one frame as `lvsbench.core.records.FrameMasks` (objects that overlap keep their full
    masks), for the scorer's per-object API; `FrameMasks` is looked up when called, so this module does not
    depend on it at import time."""
    from lvsbench.core import records

    cls = records.FrameMasks  # type: ignore[attr-defined]
    if not masks:
        return cls(np.zeros(shape, dtype=np.uint8))
    return cls.from_instances(list(masks), list(masks.values()))
