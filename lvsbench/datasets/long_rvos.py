"""Long-RVOS (Liang et al., CVPR 2026) in its release layout, as iSEE-Laboratory/Long_RVOS @ 447682a reads it.

```
ROOT/                                            (or ROOT/data/long_rvos, or ROOT/long_rvos)
  {train,valid,test}/JPEGImages/<video>/<frame>.jpg
  {train,valid,test}/Annotations/<video>/<obj_id>/<frame>.png    0/255 grayscale, only where annotated
  {train,valid,test}/meta_expressions.json
      {"videos": {<video>: {"frames": [...], "expressions": {<exp_id>: {"exp": str, "obj_id": <str or int>,
                                                                        "type": "static"|"dynamic"|"static+dynamic"}}}}}
```

One object per expression. The evaluators (`eval/eval_long_rvos/eval_{static,dynamic,hybrid}.py`) score every
frame of `frames` in meta order and read a missing ground-truth PNG as an empty mask, so every listed frame is
annotated here and `read_object_mask` returns an all-False mask where the PNG is absent (an object without any
folder, like golden `obj_id` "99", is empty everywhere). `type` "static+dynamic" is the "hybrid" subset.

Object ids are strings in the release. Labels: `int(obj_id) + 1` when every obj_id of a video is an integer in
0..253, else the rank of the obj_id among the video's (sorted) + 1; `native_object_id` maps back. Frames and
masks are optional (metadata-only mode).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lvsbench.core.errors import DataFormatError
from lvsbench.core.ids import check_id
from lvsbench.core.records import VOID_LABEL, Expression, FrameSource, Video
from lvsbench.datasets import native

if TYPE_CHECKING:
    import pandas as pd

SPLITS: tuple[str, ...] = ("valid", "train", "test")
DEFAULT_SPLIT = "valid"
TYPES: dict[str, str] = {"static": "static", "dynamic": "dynamic", "static+dynamic": "hybrid"}
"""Meta `type` -> subset name (the official scripts' file names: static_, dynamic_, hybrid_<split>.json)."""


def object_labels(obj_ids: list[str]) -> dict[str, int]:
    """Native obj_id -> label id for one video (see the module docstring)."""
    uniq = sorted(set(obj_ids), key=lambda o: (0, int(o), o) if o.isdigit() else (1, 0, o))
    if all(o.isdigit() and int(o) < VOID_LABEL - 1 for o in uniq):
        return {o: int(o) + 1 for o in uniq}
    if len(uniq) >= VOID_LABEL:
        raise ValueError(f"{len(uniq)} objects in one video; labels hold at most 254")
    return {o: k + 1 for k, o in enumerate(uniq)}


class LongRVOSDataset(native.ObjectMaskDataset):
    """A split of Long-RVOS; metadata-only when frames and annotations are absent."""

    name = "long-rvos"
    splits = SPLITS
    default_split = DEFAULT_SPLIT

    def __init__(self, root: str | Path, split: str | None = None) -> None:
        root = native.open_root("long-rvos", root)
        self.split = native.choose_split("long-rvos", split, SPLITS, DEFAULT_SPLIT)
        self.root = native.nested_root(root, f"{self.split}/meta_expressions.json", ".", "data/long_rvos", "long_rvos")
        self._notes: list[str] = []
        self._meta = self._read_meta()

    @property
    def split_dir(self) -> Path:
        return self.root / self.split

    @property
    def meta_path(self) -> Path:
        return self.split_dir / "meta_expressions.json"

    @property
    def annotations_dir(self) -> Path:
        return self.split_dir / "Annotations"

    @property
    def frames_root(self) -> Path:
        return self.split_dir / "JPEGImages"

    def _read_meta(self) -> dict[str, tuple[tuple[str, ...], list[tuple[str, str, str, str | None]]]]:
        """video -> (frames, [(exp_id, text, obj_id, type or None)]) in file order."""
        path = self.meta_path
        out = {}
        untyped = 0
        for vid, entry in native.meta_videos(path).items():
            key = f"videos.{vid}"
            frames = native.meta_frames(entry, path, key)
            exps = native.meta_expressions(entry, path, key)
            rows = []
            for eid, e in exps.items():
                ekey = f"{key}.expressions.{eid}"
                if not isinstance(e, dict) or not isinstance(e.get("exp"), str):
                    raise DataFormatError(path, "expression has no 'exp' text", ekey)
                if not isinstance(e.get("obj_id"), (str, int)) or isinstance(e.get("obj_id"), bool):
                    raise DataFormatError(path, "expression has no scalar 'obj_id'", ekey)
                obj = check_id(str(e["obj_id"]), "object id (a folder under Annotations/<video>/)", path,
                               f"{ekey}.obj_id")
                typ = e.get("type")
                if typ is None:
                    untyped += 1
                elif not isinstance(typ, str) or typ not in TYPES:
                    raise DataFormatError(path, f"type must be one of {', '.join(TYPES)}, got {typ!r}", f"{ekey}.type")
                rows.append((str(eid), e["exp"], obj, typ))
            out[vid] = (frames, rows)
        if untyped:
            self._notes.append(f"{untyped} expressions have no 'type' (the official per-type scripts stop on them "
                              "with KeyError)")
        return out

    # ------------------------------------------------------------------ metadata

    @cached_property
    def _labels(self) -> dict[str, dict[str, int]]:
        out = {}
        for vid, (_, rows) in self._meta.items():
            try:
                out[vid] = object_labels([r[2] for r in rows])
            except ValueError as exc:
                raise DataFormatError(self.meta_path, str(exc), f"videos.{vid}") from exc
        return out

    def native_object_id(self, video_id: str, label: int) -> str:
        """The release's obj_id (folder name under Annotations/<video>/) of a label id."""
        return next(o for o, lab in self._labels[video_id].items() if lab == label)

    def object_ids(self, video_id: str) -> tuple[int, ...]:
        return tuple(sorted(self._labels[video_id].values()))

    @cached_property
    def _types(self) -> dict[tuple[str, str], str | None]:
        return {(vid, r[0]): r[3] for vid, (_, rows) in self._meta.items() for r in rows}

    def expression_type(self, e: Expression | tuple[str, str]) -> str | None:
        """"static", "dynamic" or "hybrid" (meta "static+dynamic"); None when the meta has no type."""
        t = self._types[e.key if isinstance(e, Expression) else e]
        return None if t is None else TYPES[t]

    @cached_property
    def _videos(self) -> dict[str, Video]:
        out = {}
        for vid, (frames, _) in self._meta.items():
            d = self.split_dir / "JPEGImages" / vid
            h, w = native.probe_size(d / f"{f}.jpg" for f in frames)
            if not h:
                h, w = native.probe_size(p for o in self._labels[vid] for p in
                                         (self.annotations_dir / vid / o / f"{f}.png" for f in frames))
            out[vid] = Video(vid, frames, h, w, FrameSource("images", d, "{name}.jpg"))
        return out

    @cached_property
    def _expressions(self) -> list[Expression]:
        return [Expression(eid, vid, text, (self._labels[vid][obj],), frames)
                for vid, (frames, rows) in self._meta.items() for eid, text, obj, _ in rows]

    def expressions_frame(self) -> pd.DataFrame:
        df = super().expressions_frame()
        df["obj_id"] = [self.native_object_id(e.video_id, e.object_ids[0]) for e in self.expressions()]
        df["type"] = [self.expression_type(e) for e in self.expressions()]
        return df

    def counts(self) -> dict[str, int]:
        out = super().counts()
        for name in TYPES.values():
            out[f"{name}_expressions"] = sum(1 for e in self.expressions() if self.expression_type(e) == name)
        return out

    # ------------------------------------------------------------------ masks

    def object_mask_path(self, video_id: str, obj_id: str, frame: str) -> Path:
        return self.annotations_dir / video_id / obj_id / f"{frame}.png"

    def read_object_mask(self, video_id: str, label: int, frame: str) -> np.ndarray:
        """One object's bool mask on a frame; all False where its PNG is absent (as the official scripts read it)."""
        video = self._videos[video_id]
        path = self.object_mask_path(video_id, self.native_object_id(video_id, label), frame)
        m = native.read_object_png(path, video, frame)
        return np.zeros((video.height, video.width), dtype=bool) if m is None else m

    def read_object_masks(self, video_id: str, frame: str) -> dict[int, np.ndarray]:
        """Each object's own bool mask on a frame (label id -> mask)."""
        return {lab: self.read_object_mask(video_id, lab, frame) for lab in self.object_ids(video_id)}

    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        """Every frame (a missing PNG is an empty mask) when the split has annotations, else none."""
        return self._videos[video_id].frames if self.has_masks() else ()

    @property
    def notes(self) -> list[str]:
        """Facts `datasets info` reports: expressions without type, objects without any annotation folder."""
        out = list(self._notes)
        if self.has_masks():
            empty = [f"{vid}/{obj}" for vid in self._meta for obj in self._labels[vid]
                     if not (self.annotations_dir / vid / obj).is_dir()]
            if empty:
                out.append(f"{len(empty)} object(s) have no annotation folder and are empty in every frame, as the "
                           f"official evaluator reads them (e.g. {empty[0]})")
        return out


__all__ = ["DEFAULT_SPLIT", "LongRVOSDataset", "SPLITS", "TYPES", "object_labels"]
