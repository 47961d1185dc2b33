"""Ref-SAV (Sa2VA, Yuan et al. 2025) evaluation release, as bytedance/Sa2VA @ 9832e1a reads it.

```
ROOT/                                              (or ROOT/ref_sav_eval)
  meta_expressions_valid.json   {"videos": {<video>: {"vid_id", "height", "width", "frames": [...], "expressions":
                                   {<exp_id>: {"exp": str, "obj_id": [int...], "anno_id": [int...], "type_id": 0|1}}}}}
  mask_dict.json                {<anno_id>: [COCO RLE | null, one per frame of the video, meta order]}
  videos/<video>/<frame>.jpg    frames, as Sa2VA's `evaluation/dataset/refVOS.py` opens them
  videos/<video>.mp4            or one container per video (decoded in order; frame name = 0-based frame index)
```

`type_id` 0 is a long expression, 1 a short one (`tools/eval/eval_ref_sav.py` averages the two subsets
separately, then takes their mean). The meta schema is ReVOS's (cilinyan/ReVOS-api); the exact contents of the
`Dense-World/Sa2VA-Eval` release (mp4 or frames) are unverified, so both are read.

The layout is MeViS / ReVOS's mask-dict layout, so the reader is a `MaskDictDataset` (meta parsing, RLE decoding,
per-object masks, target sums and checks are shared with MeViS and ReVOS); what Ref-SAV adds is the folder, the
mandatory `type_id` subsets and frames possibly stored as mp4. An expression may name several objects, whose masks
may overlap. Ground truth stays per object: object `obj_id` is label `obj_id + 1`, `read_object_masks` returns each
object's own mask and `target_sum` the uint8 sum that the official evaluator scores (J and F binarise it; the
accuracy A compares raw values, so an overlap pixel, value 2, never matches a 0/1 prediction). RLE is decoded by
pycocotools (`lvsbench.core.codecs.rle_decode`). Every frame of `frames` is scored, in meta order. Frames and masks are
optional (metadata-only mode).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lvsbench.core.errors import ConfigError, Problem
from lvsbench.core.records import Expression, FrameSource, Video
from lvsbench.datasets import native
from lvsbench.datasets.mevis import MaskDictDataset

if TYPE_CHECKING:
    import pandas as pd

SPLITS: tuple[str, ...] = ("valid",)
DEFAULT_SPLIT = "valid"
META_FILE = "meta_expressions_valid.json"
SUBSETS: dict[int, str] = {0: "long", 1: "short"}
"""`type_id` -> subset name, as `eval_ref_sav.py` splits the expressions."""


class RefSAVDataset(MaskDictDataset):
    """The Ref-SAV evaluation split ("valid"); metadata-only when frames and masks are absent.

    Option `frames`: "auto" (default: `videos/<video>/` folders, else `videos/<video>.mp4`), "jpg" or "mp4".
    """

    name = "refsav"
    splits = SPLITS
    default_split = DEFAULT_SPLIT
    types = SUBSETS
    sized = True

    def __init__(self, root: str | Path, split: str | None = None, *, frames: str = "auto") -> None:
        root = native.open_root("refsav", root)
        split = native.choose_split("refsav", split, SPLITS, DEFAULT_SPLIT)
        if frames not in ("auto", "jpg", "mp4"):
            raise ConfigError(f"refsav: frames must be auto, jpg or mp4, got {frames!r}")
        self.frames_option = frames
        self._decoded: native.Recent[list[np.ndarray]] = native.Recent(2)
        super().__init__(native.nested_root(root, META_FILE, "ref_sav_eval"), split)

    @property
    def meta_path(self) -> Path:
        return self.root / META_FILE

    @property
    def mask_dict_path(self) -> Path:
        return self.root / "mask_dict.json"

    def frames_dir(self, video_id: str) -> Path:
        return self.root / "videos" / video_id

    # ------------------------------------------------------------------ metadata

    def subset(self, e: Expression | tuple[str, str]) -> str:
        """"long" or "short"."""
        return SUBSETS[self.type_id(e)]

    def _source(self, vid: str) -> FrameSource:
        d, mp4 = self.frames_dir(vid), self.root / "videos" / f"{vid}.mp4"
        if self.frames_option == "mp4" or (self.frames_option == "auto" and not d.is_dir() and mp4.is_file()):
            return FrameSource("video", mp4, index_base=0)
        return FrameSource("images", d, "{name}.jpg")

    @cached_property
    def _videos(self) -> dict[str, Video]:
        return {vid: Video(vid, mv.frames, mv.height, mv.width, self._source(vid)) for vid, mv in self._meta.items()}

    def expressions_frame(self) -> pd.DataFrame:
        df = super().expressions_frame().drop(columns=["no_target"])
        metas = [self.meta_expression(e) for e in self.expressions()]
        df["type_id"] = [m.type_id for m in metas]
        df["subset"] = [SUBSETS[m.type_id] for m in metas if m.type_id is not None]
        return df

    def counts(self) -> dict[str, int]:
        out = super().counts()
        out.pop("no_target_expressions", None)
        counts = {f"{name}_expressions": sum(1 for e in self.expressions() if self.type_id(e) == t)
                  for t, name in SUBSETS.items()}
        return {**{k: v for k, v in out.items() if k != "multi_object_expressions"}, **counts,
                "multi_object_expressions": out["multi_object_expressions"]}

    # ------------------------------------------------------------------ frames

    def read_frame(self, video_id: str, frame: str) -> np.ndarray:
        video = self._videos[video_id]
        if video.source.kind == "images":
            return native.read_listed_frame(video.source.frame_path(frame), video_id, frame)
        frames = self._decoded.get(video_id, lambda: list(native.decode_container(video.source.path)))
        return native.container_frame(frames, video, frame, f"{video_id}/{frame}")

    def missing(self) -> list[Problem]:
        return native.metadata_only_problems(self.root / "videos", self.mask_dict_path)


__all__ = ["DEFAULT_SPLIT", "META_FILE", "RefSAVDataset", "SPLITS", "SUBSETS"]
