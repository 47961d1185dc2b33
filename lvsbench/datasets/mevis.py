"""MeViS (Ding et al., ICCV 2023) and MeViS v2 (TPAMI 2025) in their release layout.

```
ROOT/{train,valid_u,valid}/JPEGImages/<video>/<frame>.jpg
ROOT/{train,valid_u}/mask_dict.json          {<anno_id>: [COCO RLE | null, one per frame of the video, meta order]}
ROOT/{train,valid_u,valid}/meta_expressions.json
    {"videos": {<video>: {"vid_id": int, "frames": [...], "expressions":
                          {<exp_id>: {"exp": str, "obj_id": [int...], "anno_id": [int...]}}}}}
```

(henghuiding/MeViS @ 7c0620b `README.md`, `tools/eval_mevis.py`.) `obj_id[i]` is the object's index within the
video and `anno_id[i]` its global key into `mask_dict.json`; an expression may name several objects, whose masks may
overlap. `valid_u` has public masks (local evaluation), `valid` has none (server). MeViS v2 keeps the structure and
adds no-target expressions, read here as an empty `anno_id` list (how v2 encodes them is unverified; an empty list
is the only encoding the v1 evaluator can read). Such expressions get `object_ids == ()`; `no_target(e)` says so.

Ground truth stays per object: object `obj_id` is label `obj_id + 1` (label maps hold 1..254), `read_object_masks`
returns each object's own mask, `read_masks` the per-object `FrameMasks` where the project has them, and
`target_sum` the uint8 sum of the expression's objects that every official evaluator scores (overlaps count 2).
RLE is decoded by pycocotools (`lvsbench.core.codecs.rle_decode`). Every frame of `frames` is scored, in meta order.

`MaskDictDataset` is shared with ReVOS (`lvsbench.datasets.revos`), whose layout is this one plus `type_id`,
`height`/`width` and a foreground file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lvsbench.core.codecs import rle_decode
from lvsbench.core.errors import ConfigError, DataFormatError, Problem
from lvsbench.core.records import VOID_LABEL, Expression, FrameMasks, FrameSource, Video
from lvsbench.core.textfiles import load_json
from lvsbench.datasets import native
from lvsbench.datasets.base import Dataset

if TYPE_CHECKING:
    import pandas as pd

SPLITS: tuple[str, ...] = ("train", "valid_u", "valid")
DEFAULT_SPLIT = "valid_u"
NO_TARGET_OPTIONS = ("keep", "drop")
MAX_ANNO_ID = (1 << 63) - 1
"""Annotation ids are global integer keys of `mask_dict.json`; bounded so that a huge one is named in the meta file."""


@dataclass(frozen=True)
class MetaExpression:
    """One expression of a MeViS-style meta file, with its objects' global annotation ids and (ReVOS) type."""

    id: str
    text: str
    obj_ids: tuple[int, ...]
    anno_ids: tuple[str, ...]
    type_id: int | None = None


@dataclass(frozen=True)
class MetaVideo:
    """One video of a MeViS-style meta file."""

    id: str
    frames: tuple[str, ...]
    expressions: tuple[MetaExpression, ...]
    height: int = 0
    width: int = 0


def _int_list(value: Any, path: Path, key: str, hi: int, what: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise DataFormatError(path, f"{what} must be a list of integers, got {type(value).__name__}", key)
    return tuple(native.meta_int(v, path, key, 0, hi, what) for v in value)


def read_mask_dict_meta(path: Path, *, types: Mapping[int, str] | None = None, with_size: bool = False
                        ) -> dict[str, MetaVideo]:
    """Read a MeViS / ReVOS / Ref-SAV `meta_expressions*.json`; every structural problem names the file and the key.
    `types`: the `type_id` values the release defines (ReVOS, Ref-SAV), each expression must have one of them."""
    out: dict[str, MetaVideo] = {}
    for vid, entry in native.meta_videos(path).items():
        key = f"videos.{vid}"
        frames = native.meta_frames(entry, path, key)
        exps = native.meta_expressions(entry, path, key)
        rows = []
        obj_of_anno: dict[str, int] = {}
        for eid, e in exps.items():
            ekey = f"{key}.expressions.{eid}"
            if not isinstance(e, dict) or not isinstance(e.get("exp"), str):
                raise DataFormatError(path, "expression has no 'exp' text", ekey)
            objs = _int_list(e.get("obj_id", []), path, f"{ekey}.obj_id", VOID_LABEL - 2, "obj_id")
            annos = tuple(str(a) for a in _int_list(e.get("anno_id", []), path, f"{ekey}.anno_id", MAX_ANNO_ID,
                                                    "anno_id"))
            if len(objs) != len(annos):
                raise DataFormatError(path, f"{len(objs)} obj_id for {len(annos)} anno_id", ekey)
            for o, a in zip(objs, annos, strict=True):
                if obj_of_anno.setdefault(a, o) != o:
                    raise DataFormatError(path, f"anno_id {a} is obj_id {obj_of_anno[a]} in another expression "
                                                f"and {o} here", ekey)
            type_id = None
            if types is not None:
                if "type_id" not in e:
                    raise DataFormatError(path, "expression has no 'type_id'", ekey)
                type_id = native.meta_int(e["type_id"], path, f"{ekey}.type_id", min(types), max(types), "type_id")
                if type_id not in types:
                    raise DataFormatError(path, f"type_id must be one of "
                                                f"{', '.join(f'{t} ({n})' for t, n in types.items())}, got {type_id}",
                                          f"{ekey}.type_id")
            rows.append(MetaExpression(str(eid), e["exp"], objs, annos, type_id))
        if len(set(obj_of_anno.values())) != len(obj_of_anno):
            raise DataFormatError(path, "two anno_ids share one obj_id", key)
        h, w = native.meta_size(entry, path, key) if with_size else (0, 0)
        out[vid] = MetaVideo(vid, frames, tuple(rows), h, w)
    return out


class MaskDictDataset(Dataset):
    """A split whose masks are COCO RLE per (annotation id, frame) in one `mask_dict.json` (MeViS, ReVOS).

    Subclasses set the paths (`meta_path`, `mask_dict_path`, `frames_dir`) and how the meta is read.
    Option `no_target`: "keep" (default) or "drop" the expressions without any object (the lvsbench layout cannot
    hold them, so `convert` drops them and says so).
    """

    name = "mevis"
    has_ground_truth = True
    types: Mapping[int, str] | None = None
    """The `type_id` values of the release (ReVOS, Ref-SAV); None: the meta has no `type_id`."""
    sized = False
    """Whether the meta gives each video's `height` and `width` (ReVOS, Ref-SAV)."""

    def __init__(self, root: str | Path, split: str, *, no_target: str = "keep") -> None:
        self.root = native.open_root(self.name, root)
        self.split = split
        if no_target not in NO_TARGET_OPTIONS:
            raise ConfigError(f"{self.name}: no_target must be one of {', '.join(NO_TARGET_OPTIONS)}")
        self.no_target_option = no_target
        self.notes: list[str] = []
        self._meta = self._read_meta()
        if no_target == "drop":
            dropped = sum(1 for mv in self._meta.values() for e in mv.expressions if not e.anno_ids)
            if dropped:
                self.notes.append(f"{dropped} no-target expressions left out (no_target=drop)")

    # ------------------------------------------------------------------ paths (subclasses)

    @property
    def meta_path(self) -> Path:
        raise NotImplementedError

    @property
    def mask_dict_path(self) -> Path:
        raise NotImplementedError

    def frames_dir(self, video_id: str) -> Path:
        raise NotImplementedError

    def _read_meta(self) -> dict[str, MetaVideo]:
        return read_mask_dict_meta(self.meta_path, types=self.types, with_size=self.sized)

    # ------------------------------------------------------------------ metadata

    def meta(self) -> dict[str, MetaVideo]:
        """The meta file as read (videos and expressions in file order: the official evaluators' order)."""
        return self._meta

    @cached_property
    def _meta_exp(self) -> dict[tuple[str, str], MetaExpression]:
        return {(vid, e.id): e for vid, mv in self._meta.items() for e in mv.expressions}

    def meta_expression(self, e: Expression | tuple[str, str]) -> MetaExpression:
        return self._meta_exp[e.key if isinstance(e, Expression) else e]

    def type_id(self, e: Expression | tuple[str, str]) -> int:
        """The expression's `type_id` (releases with `types`)."""
        t = self.meta_expression(e).type_id
        assert t is not None, f"{self.name} has no type_id"
        return t

    def no_target(self, e: Expression | tuple[str, str]) -> bool:
        """True for an expression that refers to no object (MeViS v2, ReVOS type_id 2)."""
        return not self.meta_expression(e).anno_ids

    @cached_property
    def _objects(self) -> dict[str, dict[int, str]]:
        """Per video: label id (obj_id + 1) -> anno_id, over every expression of the video."""
        out: dict[str, dict[int, str]] = {}
        for vid, mv in self._meta.items():
            objs: dict[int, str] = {}
            for e in mv.expressions:
                for o, a in zip(e.obj_ids, e.anno_ids, strict=True):
                    objs[o + 1] = a
            out[vid] = dict(sorted(objs.items()))
        return out

    def object_ids(self, video_id: str) -> tuple[int, ...]:
        return tuple(self._objects[video_id])

    @cached_property
    def _videos(self) -> dict[str, Video]:
        out = {}
        for vid, mv in self._meta.items():
            d = self.frames_dir(vid)
            h, w = mv.height, mv.width
            if not h:
                h, w = native.probe_size(d / f"{f}.jpg" for f in mv.frames)
            if not h and self.has_masks():
                h, w = self._rle_size(vid)
            out[vid] = Video(vid, mv.frames, h, w, FrameSource("images", d, "{name}.jpg"))
        return out

    @cached_property
    def _expressions(self) -> list[Expression]:
        out = []
        for vid, mv in self._meta.items():
            for e in mv.expressions:
                if not e.anno_ids and self.no_target_option == "drop":
                    continue
                out.append(Expression(e.id, vid, e.text, tuple(o + 1 for o in e.obj_ids), mv.frames))
        return out

    def expressions_frame(self) -> pd.DataFrame:
        df = super().expressions_frame()
        metas = [self.meta_expression(e) for e in self.expressions()]
        df["obj_id"] = [list(m.obj_ids) for m in metas]
        df["anno_id"] = [list(m.anno_ids) for m in metas]
        df["no_target"] = [not m.anno_ids for m in metas]
        return df

    def counts(self) -> dict[str, int]:
        out = super().counts()
        out["no_target_expressions"] = sum(1 for e in self.expressions() if self.no_target(e))
        out["multi_object_expressions"] = sum(1 for e in self.expressions() if len(e.object_ids) > 1)
        return out

    # ------------------------------------------------------------------ masks

    @cached_property
    def mask_dict(self) -> dict[str, list[Any]]:
        """`mask_dict.json`: anno_id -> per-frame RLE or None (loaded once, on first use)."""
        if not self.has_ground_truth:
            raise ConfigError(f"{self.name} split {self.split!r} has no public masks")
        doc = load_json(self.mask_dict_path)
        if not isinstance(doc, dict):
            raise DataFormatError(self.mask_dict_path, "top level must be an object anno_id -> list of RLE")
        return doc

    def _rle(self, anno_id: str, video_id: str, t: int) -> dict | None:
        entries = self.mask_dict.get(anno_id)
        if not isinstance(entries, list):
            raise DataFormatError(self.mask_dict_path, f"anno_id of video {video_id} is missing", anno_id)
        if t >= len(entries):
            raise DataFormatError(self.mask_dict_path, f"{len(entries)} entries for the "
                                  f"{len(self._meta[video_id].frames)} frames of video {video_id}", anno_id)
        rle = entries[t]
        if rle is not None and not (isinstance(rle, dict) and "size" in rle and "counts" in rle):
            raise DataFormatError(self.mask_dict_path, "entry is neither null nor an RLE {size, counts}",
                                  f"{anno_id}[{t}]")
        return rle or None

    def _rle_size(self, video_id: str) -> tuple[int, int]:
        for a in self._objects[video_id].values():
            for t in range(len(self._meta[video_id].frames)):
                rle = self._rle(a, video_id, t)
                if rle is not None:
                    h, w = self._rle_mask(rle, a, t).shape
                    return h, w
        return 0, 0

    def _frame_index(self, video_id: str, frame: str) -> int:
        try:
            return self._frame_pos[video_id][frame]
        except KeyError:
            raise DataFormatError(self.meta_path, f"frame {frame!r} is not listed", f"videos.{video_id}.frames") \
                from None

    @cached_property
    def _frame_pos(self) -> dict[str, dict[str, int]]:
        return {vid: {f: i for i, f in enumerate(mv.frames)} for vid, mv in self._meta.items()}

    def _rle_mask(self, rle: dict, anno_id: str, t: int) -> np.ndarray:
        try:
            return rle_decode(rle)
        except ValueError as exc:  # bad size or counts (`lvsbench.core.codecs.rle_problem`)
            raise DataFormatError(self.mask_dict_path, f"invalid RLE: {exc}", f"{anno_id}[{t}]") from exc

    def _decode(self, anno_id: str, video_id: str, t: int, shape: tuple[int, int]) -> np.ndarray | None:
        rle = self._rle(anno_id, video_id, t)
        if rle is None:
            return None
        m = self._rle_mask(rle, anno_id, t)
        if shape[0] and m.shape != shape:
            raise DataFormatError(self.mask_dict_path, f"mask size {m.shape} != frame size {shape}",
                                  f"{anno_id}[{t}]")
        return m

    def read_object_masks(self, video_id: str, frame: str) -> dict[int, np.ndarray]:
        """Each object's own bool mask on a frame (label id -> mask; all-False where the object is absent)."""
        t = self._frame_index(video_id, frame)
        video = self._videos[video_id]
        shape = (video.height, video.width)
        out = {}
        for label, a in self._objects[video_id].items():
            m = self._decode(a, video_id, t, shape)
            out[label] = np.zeros(shape, dtype=bool) if m is None else m
        return out

    def target_sum(self, e: Expression | tuple[str, str], frame: str) -> np.ndarray:
        """uint8 sum of the expression's object masks on a frame (what eval_mevis.py / eval_revos.py score: J and
        F binarise it, ReVOS A and R compare the raw values; 2 where two target objects overlap)."""
        vid, _ = e.key if isinstance(e, Expression) else e
        t = self._frame_index(vid, frame)
        video = self._videos[vid]
        shape = (video.height, video.width)
        out = np.zeros(shape, dtype=np.uint8)
        for a in self.meta_expression(e).anno_ids:
            m = self._decode(a, vid, t, shape)
            if m is not None:
                out += m.view(np.uint8)
        return out

    def read_labels(self, video_id: str, frame: str) -> np.ndarray | None:
        """Label map of all objects of the video (label obj_id + 1). A label map cannot hold overlapping objects:
        larger objects are painted first, so an object lying inside another stays visible, and a shared pixel
        goes to the smaller one. Exact per-object ground truth: `read_object_masks` / `read_masks` / `target_sum`."""
        if not self.has_ground_truth:
            return None
        video = self._videos[video_id]
        lab = np.zeros((video.height, video.width), dtype=np.uint8)
        masks = self.read_object_masks(video_id, frame)
        for label in sorted(masks, key=lambda o: (-int(np.count_nonzero(masks[o])), o)):
            lab[masks[label]] = label
        return lab

    def read_masks(self, video_id: str, frame: str) -> FrameMasks | None:
        """Per-object ground truth (overlapping objects keep their full masks), for the scorer's per-object API;
        None on a split without masks."""
        if not self.has_ground_truth:
            return None
        video = self._videos[video_id]
        return native.frame_masks(self.read_object_masks(video_id, frame), (video.height, video.width))

    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        return self._videos[video_id].frames if self.has_masks() else ()

    # ------------------------------------------------------------------ frames

    def frame_path(self, video_id: str, frame: str) -> Path:
        return self.frames_dir(video_id) / f"{frame}.jpg"

    def read_frame(self, video_id: str, frame: str) -> np.ndarray:
        return native.read_listed_frame(self.frame_path(video_id, frame), video_id, frame)

    def missing(self) -> list[Problem]:
        out = []
        dirs = {self.frames_dir(v).parent for v in self._meta}
        out += [Problem(str(d), "missing (metadata-only: no frames)") for d in sorted(dirs) if not d.is_dir()]
        if self.has_ground_truth and not native.present(self.mask_dict_path):
            out.append(Problem(str(self.mask_dict_path), "missing (metadata-only: no masks)"))
        return out

    def check(self, progress: bool = False) -> list[Problem]:
        problems = super().check(progress)
        if self.has_masks():
            for vid, mv in self._meta.items():
                for a in self._objects[vid].values():
                    entries = self.mask_dict.get(a)
                    if not isinstance(entries, list) or len(entries) != len(mv.frames):
                        n = len(entries) if isinstance(entries, list) else "no"
                        problems.append(Problem(f"{self.mask_dict_path}:{a}", f"{n} entries for the "
                                                f"{len(mv.frames)} frames of video {vid}"))
        return problems

    def has_masks(self) -> bool:
        return self.has_ground_truth and native.present(self.mask_dict_path)


class MeViSDataset(MaskDictDataset):
    """A split of MeViS (v1 or v2) read from the release layout; metadata-only when frames/masks are absent.

    Options: `meta` (file name of the meta file inside the split folder, default `meta_expressions.json`; the
    PVUW 2026 text track ships `meta_expressions_text_release.json`), `no_target` (see `MaskDictDataset`).
    """

    name = "mevis"
    splits = SPLITS
    default_split = DEFAULT_SPLIT

    def __init__(self, root: str | Path, split: str | None = None, *, meta: str = "meta_expressions.json",
                 no_target: str = "keep") -> None:
        split = native.choose_split("mevis", split, SPLITS, DEFAULT_SPLIT)
        self.meta_name = meta
        self.has_ground_truth = split != "valid"
        super().__init__(root, split, no_target=no_target)

    @property
    def meta_path(self) -> Path:
        return self.root / self.split / self.meta_name

    @property
    def mask_dict_path(self) -> Path:
        return self.root / self.split / "mask_dict.json"

    def frames_dir(self, video_id: str) -> Path:
        return self.root / self.split / "JPEGImages" / video_id


__all__ = ["DEFAULT_SPLIT", "MAX_ANNO_ID", "MaskDictDataset", "MeViSDataset", "MetaExpression", "MetaVideo",
           "NO_TARGET_OPTIONS", "SPLITS", "read_mask_dict_meta"]
