"""ReasonVOS (Bai et al., "VideoLISA", NeurIPS 2024), as showlab/VideoLISA @ 146f2bc reads it.

```
ROOT/                                                  (or ROOT/ReasonVOS)
  JPEGImages/<video>/<frame>.jpg
  Annotations/<source>_<video>_<obj_id>/<frame>.png    one folder per referred object, 0/255 grayscale
  meta_expressions.json   {"videos": {<video>: {"source": "MeViS"|"MOSE"|"BURST"|"VIPSeg", "frames": [...],
                            "expressions": [{"obj_id", "exp_id", "exp_text", "is_sent"}, ...]}}}
```

One object per expression; `expressions` is a list. There is a single evaluation split ("test"). The evaluator
(`evaluation/reason_vos/eval_reason_vos.py`) ignores the meta `frames`: an expression is scored on the **sorted
listing of its object's annotation folder** (`*.png`), so `Expression.frames` is that listing when the folder
exists (meta `frames` otherwise, e.g. metadata-only). Expression ids are the meta `exp_id` (unique in the
release); the official key of an expression is `<source>_<video>_<obj_id>_<exp_id>` (`official_key`) and
predictions live in `<pred>/<source>_<video>_<obj_id>/<exp_id>/<frame>.png` (`prediction_video`).
Object `obj_id` is label `obj_id + 1`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lvsbench.core.errors import DataFormatError, Problem
from lvsbench.core.ids import check_id
from lvsbench.core.records import VOID_LABEL, Expression, FrameSource, Video
from lvsbench.datasets import native

if TYPE_CHECKING:
    import pandas as pd

SPLITS: tuple[str, ...] = ("test",)
DEFAULT_SPLIT = "test"


@dataclass(frozen=True)
class ReasonExpression:
    exp_id: str
    text: str
    obj_id: int
    is_sent: bool


@dataclass(frozen=True)
class ReasonVideo:
    id: str
    source: str
    frames: tuple[str, ...]
    expressions: tuple[ReasonExpression, ...]


def read_meta(path: Path) -> dict[str, ReasonVideo]:
    """Read `meta_expressions.json`; every structural problem names the file and the key."""
    out: dict[str, ReasonVideo] = {}
    seen: dict[str, str] = {}
    for vid, entry in native.meta_videos(path).items():
        key = f"videos.{vid}"
        if not isinstance(entry, dict) or not isinstance(entry.get("source"), str):
            raise DataFormatError(path, "video entry has no 'source' string", key)
        check_id(entry["source"], "source (folders are <source>_<video>_<obj_id>)", path, f"{key}.source")
        frames = native.meta_frames(entry, path, key)
        exps = entry.get("expressions")
        if not isinstance(exps, list):
            raise DataFormatError(path, "'expressions' must be a list", f"{key}.expressions")
        rows = []
        for k, e in enumerate(exps):
            ekey = f"{key}.expressions[{k}]"
            if not isinstance(e, dict) or not isinstance(e.get("exp_text"), str) or "exp_id" not in e:
                raise DataFormatError(path, "expression needs 'exp_id' and 'exp_text'", ekey)
            if "obj_id" not in e:
                raise DataFormatError(path, "expression has no integer 'obj_id'", ekey)
            obj = native.meta_int(e["obj_id"], path, f"{ekey}.obj_id", 0, VOID_LABEL - 2, "obj_id")
            if isinstance(e["exp_id"], bool) or not isinstance(e["exp_id"], int | str):
                raise DataFormatError(path, f"exp_id must be an integer or a string, got {e['exp_id']!r}", ekey)
            eid = check_id(str(e["exp_id"]), "expression id", path, f"{ekey}.exp_id")
            if eid in seen:
                raise DataFormatError(path, f"exp_id {eid} already used in video {seen[eid]}", ekey)
            seen[eid] = vid
            sent = e.get("is_sent", False)
            if not isinstance(sent, bool | int) or sent not in (0, 1):  # bool("false") would be True
                raise DataFormatError(path, f"is_sent must be true or false, got {sent!r}", f"{ekey}.is_sent")
            rows.append(ReasonExpression(eid, e["exp_text"], obj, bool(sent)))
        out[vid] = ReasonVideo(vid, entry["source"], frames, tuple(rows))
    return out


class ReasonVOSDataset(native.ObjectMaskDataset):
    """The ReasonVOS benchmark (split "test"); metadata-only when frames and annotations are absent."""

    name = "reasonvos"
    splits = SPLITS
    default_split = DEFAULT_SPLIT

    def __init__(self, root: str | Path, split: str | None = None) -> None:
        self.root = native.nested_root(native.open_root("reasonvos", root), "meta_expressions.json", "ReasonVOS")
        self.split = native.choose_split("reasonvos", split, SPLITS, DEFAULT_SPLIT)
        self._meta = read_meta(self.meta_path)

    @property
    def meta_path(self) -> Path:
        return self.root / "meta_expressions.json"

    @property
    def annotations_dir(self) -> Path:
        return self.root / "Annotations"

    @property
    def frames_root(self) -> Path:
        return self.root / "JPEGImages"

    # ------------------------------------------------------------------ metadata

    def meta(self) -> dict[str, ReasonVideo]:
        return self._meta

    def object_folder(self, video_id: str, label: int) -> str:
        """`<source>_<video>_<obj_id>`: the annotation (and prediction) folder of an object."""
        return f"{self._meta[video_id].source}_{video_id}_{label - 1}"

    def prediction_video(self, e: Expression) -> str:
        """The folder that holds an expression's predictions, `<source>_<video>_<obj_id>`."""
        return self.object_folder(e.video_id, e.object_ids[0])

    def official_key(self, e: Expression) -> str:
        """`<source>_<video>_<obj_id>_<exp_id>`, the key of `eval_reason_vos.py`'s output."""
        return f"{self.prediction_video(e)}_{e.id}"

    def source(self, video_id: str) -> str:
        return self._meta[video_id].source

    @cached_property
    def _gt_listing(self) -> dict[str, tuple[str, ...] | None]:
        """Object folder -> sorted PNG stems (the official frame list), None where the folder is absent."""
        out: dict[str, tuple[str, ...] | None] = {}
        for vid, mv in self._meta.items():
            for e in mv.expressions:
                folder = f"{mv.source}_{vid}_{e.obj_id}"
                d = self.annotations_dir / folder
                out[folder] = tuple(p[:-4] for p in sorted(x.name for x in d.iterdir()) if p.endswith("png")) \
                    if d.is_dir() else None
        return out

    def has_ground_truth(self, e: Expression) -> bool:
        """Whether the expression's object has an annotation folder (the official evaluator skips it otherwise)."""
        return self._gt_listing.get(self.prediction_video(e)) is not None

    @cached_property
    def _videos(self) -> dict[str, Video]:
        out = {}
        for vid, mv in self._meta.items():
            d = self.root / "JPEGImages" / vid
            h, w = native.probe_size(d / f"{f}.jpg" for f in mv.frames)
            if not h:
                h, w = native.probe_size(self.annotations_dir / f"{mv.source}_{vid}_{e.obj_id}" / f"{f}.png"
                                         for e in mv.expressions for f in mv.frames)
            out[vid] = Video(vid, mv.frames, h, w, FrameSource("images", d, "{name}.jpg"))
        return out

    @cached_property
    def _expressions(self) -> list[Expression]:
        out = []
        for vid, mv in self._meta.items():
            for e in mv.expressions:
                listed = self._gt_listing[f"{mv.source}_{vid}_{e.obj_id}"]
                out.append(Expression(e.exp_id, vid, e.text, (e.obj_id + 1,), listed or mv.frames))
        return out

    def expressions_frame(self) -> pd.DataFrame:
        df = super().expressions_frame()
        metas = {(vid, e.exp_id): (mv.source, e) for vid, mv in self._meta.items() for e in mv.expressions}
        df["source"] = [metas[e.key][0] for e in self.expressions()]
        df["obj_id"] = [metas[e.key][1].obj_id for e in self.expressions()]
        df["is_sent"] = [metas[e.key][1].is_sent for e in self.expressions()]
        df["has_ground_truth"] = [self.has_ground_truth(e) for e in self.expressions()]
        return df

    def counts(self) -> dict[str, int]:
        out = super().counts()
        out["sentence_expressions"] = sum(1 for mv in self._meta.values() for e in mv.expressions if e.is_sent)
        out["expressions_without_ground_truth"] = sum(1 for e in self.expressions() if not self.has_ground_truth(e))
        return out

    # ------------------------------------------------------------------ masks

    def read_object_mask(self, video_id: str, label: int, frame: str) -> np.ndarray | None:
        """One object's bool mask, or None where its PNG is absent."""
        return native.read_object_png(self.annotations_dir / self.object_folder(video_id, label) / f"{frame}.png",
                                      self._videos[video_id], frame)

    def read_object_masks(self, video_id: str, frame: str) -> dict[int, np.ndarray]:
        """Each annotated object's own bool mask on a frame (objects without a PNG there are left out)."""
        out = {}
        for lab in self.object_ids(video_id):
            m = self.read_object_mask(video_id, lab, frame)
            if m is not None:
                out[lab] = m
        return out

    @cached_property
    def _annotated(self) -> dict[str, tuple[str, ...]]:
        out = {}
        for vid, mv in self._meta.items():
            have: set[str] = set()
            for e in mv.expressions:
                have.update(self._gt_listing[f"{mv.source}_{vid}_{e.obj_id}"] or ())
            listed = [f for f in mv.frames if f in have]
            out[vid] = tuple(listed + sorted(have - set(listed)))
        return out

    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        """Frames where at least one referred object has a PNG (meta order, then any extra names sorted)."""
        return self._annotated[video_id]

    def check(self, progress: bool = False) -> list[Problem]:
        problems = super().check(progress)
        if self.has_masks():
            for folder, listed in self._gt_listing.items():
                if listed is None:
                    problems.append(Problem(str(self.annotations_dir / folder),
                                            "missing: the official evaluator skips this object's expressions"))
        return problems


__all__ = ["DEFAULT_SPLIT", "ReasonExpression", "ReasonVOSDataset", "ReasonVideo", "SPLITS", "read_meta"]
