"""Typed, immutable records of what flows through lvsbench.

A reader of any dataset (native layout or ours) yields these; builders, adapters and the scorer consume them.
Masks are not records: they are numpy arrays fetched lazily through a `Dataset` (see `lvsbench.datasets.base`),
as label maps (uint8, 0 = background, 1..254 = object ids, 255 = void) per (video, frame), completed by
`FrameMasks` where objects overlap (A2D instances: a label map cannot hold a pixel that belongs to two objects).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

VOID_LABEL = 255
"""Label value that marks void pixels (DAVIS convention); never an object id."""

FrameKind = Literal["images", "video", "memory"]


@dataclass(frozen=True)
class FrameSource:
    """Where the frames of a video come from.

    - `images`: one file per frame, `path / pattern.format(name=frame_name)` (e.g. `"{name}.jpg"`).
    - `video`: one container file (`path`, e.g. A2D `clips320H/<vid>.mp4`); frame names map to 0-based decode
      indices through `index_base` (A2D frame `00001` is decode index 0, so `index_base=1`).
    - `memory`: frames held by a generator (synthetic data before it is written).
    """

    kind: FrameKind
    path: Path | None = None
    pattern: str = "{name}.jpg"
    index_base: int = 1

    def frame_path(self, name: str) -> Path:
        if self.kind != "images" or self.path is None:
            raise ValueError(f"frame_path only applies to image-per-frame sources, not {self.kind}")
        return self.path / self.pattern.format(name=name)


@dataclass(frozen=True)
class Video:
    """A video: its id, its ordered frame names, its frame size, and where its frames come from."""

    id: str
    frames: tuple[str, ...]
    height: int
    width: int
    source: FrameSource = field(default_factory=lambda: FrameSource("memory"))

    def __post_init__(self) -> None:
        if not isinstance(self.frames, tuple):
            object.__setattr__(self, "frames", tuple(self.frames))
        if len(set(self.frames)) != len(self.frames):
            raise ValueError(f"video {self.id}: duplicate frame names")

    @property
    def num_frames(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class Expression:
    """A referring expression: which video, what text, which object(s) it refers to, and which frames are scored.

    `object_ids` has one id (A2D, J-HMDB, Refer-YouTube-VOS, Refer-DAVIS17) or several (MeViS style);
    the target mask of the expression on a frame is the union of those objects. `frames` lists the frames that
    are scored (annotated frames; for J-HMDB the frozen evaluation frames); empty means "every annotated frame".
    `text` is the raw text; `normalized_text` is what the reference code feeds models.
    """

    id: str
    video_id: str
    text: str
    object_ids: tuple[int, ...]
    frames: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("object_ids", "frames"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        if any(not (0 < int(o) < VOID_LABEL) for o in self.object_ids):
            raise ValueError(f"expression {self.id}: object ids must be in 1..254, got {self.object_ids}")

    @property
    def normalized_text(self) -> str:
        """`" ".join(text.lower().split())`, the normalisation of MTTR / ReferFormer."""
        return normalize_text(self.text)

    @property
    def key(self) -> tuple[str, str]:
        return (self.video_id, self.id)


def normalize_text(text: str) -> str:
    return " ".join(text.lower().split())


def expression_mask(label_map: np.ndarray, object_ids: tuple[int, ...] | list[int]) -> np.ndarray:
    """Binary target of an expression on one frame: union of its objects in the label map."""
    if len(object_ids) == 1:
        return label_map == object_ids[0]
    return np.isin(label_map, np.asarray(object_ids, dtype=label_map.dtype))


def void_mask(label_map: np.ndarray) -> np.ndarray | None:
    """Void pixels of a label map, or None when there are none (cheap check first)."""
    v = label_map == VOID_LABEL
    return v if v.any() else None


@dataclass(frozen=True)
class FrameMasks:
    """Ground truth of one annotated frame: a label map, plus the full mask of every object that shares pixels
    with another.

    `labels` is (H, W) uint8 (0 background, 1..254 object ids, 255 void); where objects overlap it holds only one
    of them (for A2D the instance listed later, as a flattened map would). `overlapping` maps the id of each object
    involved in an overlap to its complete (H, W) bool mask, which replaces `labels == id` for that object.
    Without overlaps (every dataset but A2D) `overlapping` is empty and `mask` is `expression_mask(labels, ids)`.
    A2D instance masks may overlap (MTTR's `create_gt_in_coco_format.py` encodes each instance's own `reMask`),
    so scoring the flattened map would take the shared pixels away from the earlier instance.
    """

    labels: np.ndarray
    overlapping: Mapping[int, np.ndarray] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape  # type: ignore[return-value]

    def mask(self, object_ids: Sequence[int]) -> np.ndarray:
        """Target of an expression: the union of its objects' complete masks."""
        if not self.overlapping or not any(o in self.overlapping for o in object_ids):
            return expression_mask(self.labels, tuple(object_ids))
        out = np.zeros(self.labels.shape, dtype=bool)
        for o in object_ids:
            full = self.overlapping.get(o)
            out |= full if full is not None else self.labels == o
        return out

    def object_ids(self) -> tuple[int, ...]:
        """Ids of the objects present in the frame (void excluded)."""
        counts = np.bincount(self.labels.ravel(), minlength=256)
        ids = {int(i) for i in np.flatnonzero(counts) if 0 < i < VOID_LABEL}
        ids.update(o for o, m in self.overlapping.items() if m.any())
        return tuple(sorted(ids))

    @classmethod
    def from_instances(cls, object_ids: Sequence[int], masks: Sequence[np.ndarray] | np.ndarray) -> FrameMasks:
        """From one mask per object (listed in order; the label map keeps the later object where they overlap)."""
        masks = [np.asarray(m) != 0 for m in masks]
        if len(masks) != len(object_ids):
            raise ValueError(f"{len(masks)} masks for {len(object_ids)} object ids")
        if not masks:
            raise ValueError("from_instances needs at least one mask (or build FrameMasks from a label map)")
        labels = np.zeros(masks[0].shape, dtype=np.uint8)
        count = np.zeros(masks[0].shape, dtype=np.uint8)
        for o, m in zip(object_ids, masks, strict=True):
            if not 0 < int(o) < VOID_LABEL:
                raise ValueError(f"object ids must be in 1..254, got {o}")
            labels[m] = o
            count += m
        if count.max(initial=0) <= 1:
            return cls(labels)
        shared = count > 1
        over = {int(o): m for o, m in zip(object_ids, masks, strict=True) if (m & shared).any()}
        return cls(labels, over)


__all__ = ["Expression", "FrameKind", "FrameMasks", "FrameSource", "VOID_LABEL", "Video", "expression_mask",
           "normalize_text", "void_mask"]
