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

An expression may name several objects, whose masks may overlap. Ground truth stays per object: object `obj_id`
is label `obj_id + 1`, `read_object_masks` returns each object's own mask and `target_sum` the uint8 sum that the
official evaluator scores (J and F binarise it; the accuracy A compares raw values, so an overlap pixel, value 2,
never matches a 0/1 prediction). RLE is decoded by pycocotools (`lvsbench.codecs.rle_decode`). Every frame of
`frames` is scored, in meta order. Frames and masks are optional (metadata-only mode).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lvsbench.codecs import rle_decode
from lvsbench.datasets.base import Dataset
from lvsbench.datasets.per_object import (
    flatten_object_masks,
    frame_masks,
    meta_frames,
    meta_videos,
    metadata_only_problems,
    read_listed_frame,
)
from lvsbench.datasets.ryvos import load_json
from lvsbench.errors import ConfigError, DataFormatError, Problem
from lvsbench.records import VOID_LABEL, Expression, FrameSource, Video

SPLITS: tuple[str, ...] = ("valid",)
DEFAULT_SPLIT = "valid"
META_FILE = "meta_expressions_valid.json"
SUBSETS: dict[int, str] = {0: "long", 1: "short"}
"""`type_id` -> subset name, as `eval_ref_sav.py` splits the expressions."""


@dataclass(frozen=True)
class SavExpression:
    """One expression of the meta file: objects (video-local obj_id), their global anno_ids, and type_id."""

    id: str
    text: str
    obj_ids: tuple[int, ...]
    anno_ids: tuple[str, ...]
    type_id: int


@dataclass(frozen=True)
class SavVideo:
    id: str
    frames: tuple[str, ...]
    height: int
    width: int
    expressions: tuple[SavExpression, ...]


def _ints(value: Any, path: Path, key: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise DataFormatError(path, f"must be a list of integers, got {type(value).__name__}", key)
    try:
        return tuple(int(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise DataFormatError(path, f"must be a list of integers: {exc}", key) from exc


def read_meta(path: Path) -> dict[str, SavVideo]:
    """Read `meta_expressions_valid.json`; every structural problem names the file and the key."""
    out: dict[str, SavVideo] = {}
    for vid, entry in meta_videos(path).items():
        key = f"videos.{vid}"
        frames = meta_frames(entry, path, key)
        try:
            h, w = int(entry["height"]), int(entry["width"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFormatError(path, "video has no integer 'height'/'width'", key) from exc
        exps = entry.get("expressions")
        if not isinstance(exps, dict):
            raise DataFormatError(path, "'expressions' (an object) is missing", f"{key}.expressions")
        rows = []
        obj_of_anno: dict[str, int] = {}
        for eid, e in exps.items():
            ekey = f"{key}.expressions.{eid}"
            if not isinstance(e, dict) or not isinstance(e.get("exp"), str):
                raise DataFormatError(path, "expression has no 'exp' text", ekey)
            objs = _ints(e.get("obj_id", []), path, f"{ekey}.obj_id")
            annos = tuple(str(a) for a in _ints(e.get("anno_id", []), path, f"{ekey}.anno_id"))
            if len(objs) != len(annos):
                raise DataFormatError(path, f"{len(objs)} obj_id for {len(annos)} anno_id", ekey)
            for o, a in zip(objs, annos, strict=True):
                if not 0 <= o < VOID_LABEL - 1:
                    raise DataFormatError(path, f"obj_id {o} outside 0..253", f"{ekey}.obj_id")
                if obj_of_anno.setdefault(a, o) != o:
                    raise DataFormatError(path, f"anno_id {a} is obj_id {obj_of_anno[a]} in another expression "
                                                f"and {o} here", ekey)
            if e.get("type_id") not in SUBSETS:
                raise DataFormatError(path, f"type_id must be 0 (long) or 1 (short), got {e.get('type_id')!r}",
                                      f"{ekey}.type_id")
            rows.append(SavExpression(str(eid), e["exp"], objs, annos, int(e["type_id"])))
        out[vid] = SavVideo(vid, frames, h, w, tuple(rows))
    return out


class RefSAVDataset(Dataset):
    """The Ref-SAV evaluation split ("valid"); metadata-only when frames and masks are absent.

    Option `frames`: "auto" (default: `videos/<video>/` folders, else `videos/<video>.mp4`), "jpg" or "mp4".
    """

    name = "refsav"
    splits = SPLITS
    default_split = DEFAULT_SPLIT

    def __init__(self, root: str | Path, split: str | None = None, *, frames: str = "auto") -> None:
        root = Path(root)
        if not root.is_dir():
            raise ConfigError(f"refsav: root {root} is not a directory")
        self.root = root / "ref_sav_eval" if (root / "ref_sav_eval" / META_FILE).is_file() else root
        self.split = split or DEFAULT_SPLIT
        if self.split not in SPLITS:
            raise ConfigError(f"refsav: unknown split {self.split!r}; the evaluation release has only 'valid'")
        if frames not in ("auto", "jpg", "mp4"):
            raise ConfigError(f"refsav: frames must be auto, jpg or mp4, got {frames!r}")
        self.frames_option = frames
        self._meta = read_meta(self.meta_path)
        self._decoded: OrderedDict[str, list[np.ndarray]] = OrderedDict()

    @property
    def meta_path(self) -> Path:
        return self.root / META_FILE

    @property
    def mask_dict_path(self) -> Path:
        return self.root / "mask_dict.json"

    # ------------------------------------------------------------------ metadata

    def meta(self) -> dict[str, SavVideo]:
        """The meta file as read (videos and expressions in file order: the official evaluator's order)."""
        return self._meta

    @cached_property
    def _meta_exp(self) -> dict[tuple[str, str], SavExpression]:
        return {(vid, e.id): e for vid, mv in self._meta.items() for e in mv.expressions}

    def meta_expression(self, e: Expression | tuple[str, str]) -> SavExpression:
        return self._meta_exp[e.key if isinstance(e, Expression) else e]

    def type_id(self, e: Expression | tuple[str, str]) -> int:
        return self.meta_expression(e).type_id

    def subset(self, e: Expression | tuple[str, str]) -> str:
        """"long" or "short"."""
        return SUBSETS[self.type_id(e)]

    @cached_property
    def _objects(self) -> dict[str, dict[int, str]]:
        """Per video: label id (obj_id + 1) -> anno_id, over every expression of the video."""
        out: dict[str, dict[int, str]] = {}
        for vid, mv in self._meta.items():
            objs = {o + 1: a for e in mv.expressions for o, a in zip(e.obj_ids, e.anno_ids, strict=True)}
            out[vid] = dict(sorted(objs.items()))
        return out

    def object_ids(self, video_id: str) -> tuple[int, ...]:
        return tuple(self._objects[video_id])

    def _source(self, vid: str) -> FrameSource:
        d, mp4 = self.root / "videos" / vid, self.root / "videos" / f"{vid}.mp4"
        if self.frames_option == "mp4" or (self.frames_option == "auto" and not d.is_dir() and mp4.is_file()):
            return FrameSource("video", mp4, index_base=0)
        return FrameSource("images", d, "{name}.jpg")

    @cached_property
    def _videos(self) -> dict[str, Video]:
        return {vid: Video(vid, mv.frames, mv.height, mv.width, self._source(vid)) for vid, mv in self._meta.items()}

    def videos(self) -> dict[str, Video]:
        return self._videos

    @cached_property
    def _expressions(self) -> list[Expression]:
        return [Expression(e.id, vid, e.text, tuple(o + 1 for o in e.obj_ids), mv.frames)
                for vid, mv in self._meta.items() for e in mv.expressions]

    def expressions(self) -> list[Expression]:
        return self._expressions

    def expressions_frame(self) -> pd.DataFrame:
        df = super().expressions_frame()
        metas = [self.meta_expression(e) for e in self.expressions()]
        df["obj_id"] = [list(m.obj_ids) for m in metas]
        df["anno_id"] = [list(m.anno_ids) for m in metas]
        df["type_id"] = [m.type_id for m in metas]
        df["subset"] = [SUBSETS[m.type_id] for m in metas]
        return df

    def counts(self) -> dict[str, int]:
        out = super().counts()
        for t, name in SUBSETS.items():
            out[f"{name}_expressions"] = sum(1 for e in self.expressions() if self.type_id(e) == t)
        out["multi_object_expressions"] = sum(1 for e in self.expressions() if len(e.object_ids) > 1)
        return out

    # ------------------------------------------------------------------ masks

    def has_masks(self) -> bool:
        return self.mask_dict_path.is_file()

    @cached_property
    def mask_dict(self) -> dict[str, list[Any]]:
        """`mask_dict.json`: anno_id -> per-frame RLE or null (loaded once, on first use)."""
        doc = load_json(self.mask_dict_path)
        if not isinstance(doc, dict):
            raise DataFormatError(self.mask_dict_path, "top level must be an object anno_id -> list of RLE")
        return doc

    @cached_property
    def _frame_pos(self) -> dict[str, dict[str, int]]:
        return {vid: {f: i for i, f in enumerate(mv.frames)} for vid, mv in self._meta.items()}

    def _index(self, video_id: str, frame: str) -> int:
        try:
            return self._frame_pos[video_id][frame]
        except KeyError:
            raise DataFormatError(self.meta_path, f"frame {frame!r} is not listed", f"videos.{video_id}.frames") \
                from None

    def _decode(self, anno_id: str, video_id: str, t: int) -> np.ndarray | None:
        entries = self.mask_dict.get(anno_id)
        if not isinstance(entries, list) or t >= len(entries):
            n = len(entries) if isinstance(entries, list) else 0
            raise DataFormatError(self.mask_dict_path, f"{n} entries for the {len(self._meta[video_id].frames)} "
                                                       f"frames of video {video_id}", anno_id)
        rle = entries[t]
        if not rle:
            return None
        if not (isinstance(rle, dict) and "size" in rle and "counts" in rle):
            raise DataFormatError(self.mask_dict_path, "entry is neither null nor an RLE {size, counts}",
                                  f"{anno_id}[{t}]")
        m = rle_decode(rle)
        video = self._videos[video_id]
        if m.shape != (video.height, video.width):
            raise DataFormatError(self.mask_dict_path, f"mask size {m.shape} != video size "
                                                       f"{(video.height, video.width)}", f"{anno_id}[{t}]")
        return m

    def read_object_masks(self, video_id: str, frame: str) -> dict[int, np.ndarray]:
        """Each object's own bool mask on a frame (label id -> mask; all False where the object is absent)."""
        t = self._index(video_id, frame)
        video = self._videos[video_id]
        out = {}
        for label, a in self._objects[video_id].items():
            m = self._decode(a, video_id, t)
            out[label] = np.zeros((video.height, video.width), dtype=bool) if m is None else m
        return out

    def target_sum(self, e: Expression | tuple[str, str], frame: str) -> np.ndarray:
        """uint8 sum of the expression's object masks on a frame, as `eval_ref_sav.py` builds its ground truth
        (2 where two target objects overlap)."""
        vid = e.video_id if isinstance(e, Expression) else e[0]
        t = self._index(vid, frame)
        video = self._videos[vid]
        out = np.zeros((video.height, video.width), dtype=np.uint8)
        for a in self.meta_expression(e).anno_ids:
            m = self._decode(a, vid, t)
            if m is not None:
                out += m.view(np.uint8)
        return out

    def read_masks(self, video_id: str, frame: str) -> object:
        """Per-object `FrameMasks` of a frame: overlapping objects keep their own full masks."""
        video = self._videos[video_id]
        return frame_masks(self.read_object_masks(video_id, frame), (video.height, video.width))

    def read_labels(self, video_id: str, frame: str) -> np.ndarray | None:
        """Label map of the video's objects (obj_id + 1; where objects overlap the larger obj_id wins).
        Overlaps are kept by `read_object_masks` and `target_sum`, not here."""
        video = self._videos[video_id]
        return flatten_object_masks(self.read_object_masks(video_id, frame), (video.height, video.width))

    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        return self._videos[video_id].frames if self.has_masks() else ()

    # ------------------------------------------------------------------ frames

    def read_frame(self, video_id: str, frame: str) -> np.ndarray:
        video = self._videos[video_id]
        if video.source.kind == "images":
            return read_listed_frame(video.source.frame_path(frame), video_id, frame)
        frames = self._decoded.get(video_id)
        if frames is None:
            frames = list(decode_container(video.source.path))
            self._decoded[video_id] = frames
            while len(self._decoded) > 2:
                self._decoded.popitem(last=False)
        i = int(frame) if frame.isdigit() else -1
        if not 0 <= i < len(frames):
            raise DataFormatError(video.source.path, f"container has {len(frames)} frames, no frame {frame}",
                                  f"{video_id}/{frame}")
        return frames[i]

    def missing(self) -> list[Problem]:
        return metadata_only_problems(self.root / "videos", self.mask_dict_path)

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


def decode_container(path: Path | None) -> Iterator[np.ndarray]:
    """RGB frames of a video file, decoded sequentially by OpenCV (seeking in mp4 is not frame-exact)."""
    import cv2

    if path is None or not path.is_file():
        raise DataFormatError(str(path), "missing video file")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise DataFormatError(path, "cannot open video container")
    n = 0
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            n += 1
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    if n == 0:
        raise DataFormatError(path, "no decodable frames")
