"""The interface every dataset reader implements.

A reader turns native files into typed records (`Video`, `Expression`) eagerly, because the text metadata is small,
and gives frames and masks lazily, because pixels are not. Builders, adapters, the scorer and the converter to our
layout only ever see this interface, so each works on every dataset.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lvsbench.core.errors import LvsbenchError, Problem
from lvsbench.core.records import Expression, FrameMasks, Video

if TYPE_CHECKING:
    import pandas as pd


class Dataset(abc.ABC):
    """A split of a dataset: videos, expressions, frames and label maps.

    Label maps are uint8 (H, W): 0 background, 1..254 object ids, 255 void. `read_labels` returns None on a frame
    without annotation. A label map cannot hold overlapping objects (A2D instances): ground truth for scoring,
    training and conversion comes from `read_masks`, which readers of such datasets override.
    """

    name: str
    split: str
    root: Path
    _videos: dict[str, Video]
    """Built once by each reader (usually a cached property) from its native files."""
    _expressions: list[Expression]

    def videos(self) -> dict[str, Video]:
        """Videos of the split, keyed by id, in a stable order."""
        return self._videos

    def expressions(self) -> list[Expression]:
        """Expressions of the split, in a stable order."""
        return self._expressions

    @abc.abstractmethod
    def read_frame(self, video_id: str, frame: str) -> np.ndarray:
        """RGB uint8 (H, W, 3) of one frame."""

    @abc.abstractmethod
    def read_labels(self, video_id: str, frame: str) -> np.ndarray | None:
        """Label map of one frame, or None when the frame is not annotated."""

    @abc.abstractmethod
    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        """Frames of a video that carry ground truth, in video order."""

    # ------------------------------------------------------------------ derived, overridable

    def read_masks(self, video_id: str, frame: str) -> FrameMasks | None:
        """Per-object ground truth of one frame (objects may overlap), or None when the frame is not annotated.

        The default wraps `read_labels` (no overlaps); A2D and our layout return the overlapping objects' full
        masks too. Every consumer of ground-truth masks uses this, never `read_labels` directly.
        """
        lab = self.read_labels(video_id, frame)
        return None if lab is None else FrameMasks(lab)

    def iter_frames(self, video_id: str, frames: tuple[str, ...] | None = None) -> Iterator[tuple[str, np.ndarray]]:
        """Yield (frame name, RGB) in video order; readers of video containers override this to decode once."""
        names = self.videos()[video_id].frames if frames is None else frames
        for name in names:
            yield name, self.read_frame(video_id, name)

    def expression_frames(self, expression: Expression) -> tuple[str, ...]:
        """Frames on which an expression is scored: its own list, else every annotated frame of its video."""
        return expression.frames or self.annotated_frames(expression.video_id)

    @cached_property
    def _expressions_by_video(self) -> dict[str, list[Expression]]:
        out: dict[str, list[Expression]] = {}
        for e in self.expressions():
            out.setdefault(e.video_id, []).append(e)
        return out

    def video_expressions(self, video_id: str) -> list[Expression]:
        return self._expressions_by_video.get(video_id, [])

    def object_ids(self, video_id: str) -> tuple[int, ...]:
        """Ids of the objects referred to in a video (union over its expressions)."""
        ids = {o for e in self.video_expressions(video_id) for o in e.object_ids}
        return tuple(sorted(ids))

    def object_categories(self, video_id: str) -> dict[int, str]:
        """Category name per object id where the dataset has one (actor class, YouTube-VOS category)."""
        return {}

    def num_objects_in_video(self, video_id: str) -> int:
        """Objects in the video for Locater's Table VII bins: those referred to by its expressions, unless the
        dataset knows more (an A2D-S+ composed video holds both source videos' actors but only the query's
        expressions)."""
        return len(self.object_ids(video_id))

    def expressions_frame(self) -> pd.DataFrame:
        """One row per expression: ids, text, objects, number of scored frames, words, objects in the video."""
        import pandas as pd

        vids = self.videos()
        rows = []
        per_video: dict[str, tuple[dict[int, str], int]] = {}  # (categories, objects in the video)
        for e in self.expressions():
            got = per_video.get(e.video_id)
            if got is None:
                got = per_video[e.video_id] = (self.object_categories(e.video_id),
                                               self.num_objects_in_video(e.video_id))
            cats, n_objects = got
            rows.append({
                "video_id": e.video_id,
                "exp_id": e.id,
                "text": e.text,
                "object_ids": list(e.object_ids),
                "category": ",".join(cats.get(o, "") for o in e.object_ids) or None,
                "num_frames": vids[e.video_id].num_frames if e.video_id in vids else 0,
                "num_scored_frames": len(self.expression_frames(e)),
                "num_words": len(e.text.split()),
                "num_objects_in_video": n_objects,
            })
        return pd.DataFrame(rows)

    def missing(self) -> list[Problem]:
        """Top-level files or folders the reader expected but did not find (metadata-only mode lists them)."""
        return []

    def check(self, progress: bool = False) -> list[Problem]:
        """Decode every referenced frame and label map; return all problems (never stops at the first)."""
        from tqdm import tqdm

        problems: list[Problem] = list(self.missing())
        vids = self.videos()
        for vid, video in tqdm(vids.items(), desc=f"check {self.name}", unit="video", disable=not progress):
            try:
                for name, rgb in self.iter_frames(vid):
                    if rgb.shape[:2] != (video.height, video.width):
                        problems.append(Problem(f"{vid}/{name}", f"frame size {rgb.shape[:2]} != video size "
                                                                 f"{(video.height, video.width)}"))
            except LvsbenchError as exc:
                problems.append(Problem(vid, str(exc)))
            for name in self.annotated_frames(vid):
                try:
                    lab = self.read_labels(vid, name)
                except LvsbenchError as exc:
                    problems.append(Problem(f"{vid}/{name}", str(exc)))
                    continue
                if lab is not None and lab.shape != (video.height, video.width):
                    problems.append(Problem(f"{vid}/{name}", f"mask size {lab.shape} != frame size "
                                                             f"{(video.height, video.width)}"))
        return problems

    def counts(self) -> dict[str, int]:
        vids = self.videos()
        exps = self.expressions()
        return {
            "videos": len(vids),
            "expressions": len(exps),
            "frames": sum(v.num_frames for v in vids.values()),
            "annotated_frames": sum(len(self.annotated_frames(v)) for v in vids),
        }


__all__ = ["Dataset"]
