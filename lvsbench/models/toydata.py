"""An in-memory synthetic dataset (no files) for fast model tests, benchmarks and experiments.

It renders scenes with `lvsbench.synth.scene.render_video`, the renderer behind `lvsbench synth a2d`, and serves
them through the `Dataset` interface with A2D-like sparse annotation (a few annotated frames per video, an
expression scored on the annotated frames where its actor is visible). `similar(video_id)` says whether the video
has several actors of the same class and colour, the subset on which a language-blind model can only guess.
"""

from __future__ import annotations

import numpy as np

from lvsbench.datasets.base import Dataset
from lvsbench.records import Expression, Video
from lvsbench.synth.scene import render_video


class SceneDataset(Dataset):
    name = "scene"

    def __init__(self, videos: int, seed: int = 0, split: str = "train", frames: int = 12, height: int = 48,
                 width: int = 64, annotated: tuple[int, ...] | None = None, similar: bool | None = None) -> None:
        self.split = split
        self.root = None  # type: ignore[assignment]
        rng = np.random.default_rng(seed)
        ann = annotated if annotated is not None else (frames // 4, frames // 2, (3 * frames) // 4)
        self._videos: dict[str, Video] = {}
        self._expressions: list[Expression] = []
        self._frames: dict[str, np.ndarray] = {}
        self._labels: dict[str, dict[str, np.ndarray]] = {}
        self._similar: dict[str, bool] = {}
        for i in range(videos):
            vid = f"{split}{i:04d}"
            scene = render_video(rng, vid, frames, height, width, similar=similar)
            names = tuple(f"{k + 1:05d}" for k in range(frames))
            self._videos[vid] = Video(vid, names, height, width)
            self._frames[vid] = scene.frames
            self._labels[vid] = {names[k]: scene.labels[k] for k in sorted(set(ann))}
            kinds = [(a.cls, a.colour) for a in scene.actors]
            self._similar[vid] = len(set(kinds)) < len(kinds)
            for j, (text, ids) in enumerate(scene.expressions):
                scored = tuple(n for n, lab in self._labels[vid].items() if np.isin(lab, ids).any())
                if scored:
                    self._expressions.append(Expression(str(j), vid, text, ids, scored))

    def videos(self) -> dict[str, Video]:
        return self._videos

    def expressions(self) -> list[Expression]:
        return self._expressions

    def read_frame(self, video_id: str, frame: str) -> np.ndarray:
        return self._frames[video_id][self._videos[video_id].frames.index(frame)]

    def read_labels(self, video_id: str, frame: str) -> np.ndarray | None:
        return self._labels[video_id].get(frame)

    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        return tuple(self._labels[video_id])

    def similar(self, video_id: str) -> bool:
        return self._similar[video_id]
