"""An in-memory synthetic dataset (no files) for fast model tests, benchmarks and experiments.

It renders scenes with `lvsbench.synth.scene.render_video`, the renderer behind `lvsbench synth a2d`, and serves
them through the `Dataset` interface with A2D-like sparse annotation (a few annotated frames per video, an
expression scored on the annotated frames where its actor is visible). `similar(video_id)` says whether the video
has several actors of the same class and colour, the subset on which a language-blind model can only guess.
"""

from __future__ import annotations

import numpy as np

from lvsbench.core.records import Expression, Video
from lvsbench.datasets.base import Dataset
from lvsbench.synth.scene import render_video


class _InMemory(Dataset):
    """Videos held as arrays: `_videos`, `_frames` (video id -> [T, H, W, 3] uint8) and `_expressions`."""

    _videos: dict[str, Video]
    _frames: dict[str, np.ndarray]
    _expressions: list[Expression]

    def videos(self) -> dict[str, Video]:
        return self._videos

    def expressions(self) -> list[Expression]:
        return self._expressions

    def read_frame(self, video_id: str, frame: str) -> np.ndarray:
        return self._frames[video_id][self._videos[video_id].frames.index(frame)]


class SceneDataset(_InMemory):
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

    def read_labels(self, video_id: str, frame: str) -> np.ndarray | None:
        return self._labels[video_id].get(frame)

    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        return tuple(self._labels[video_id])

    def similar(self, video_id: str) -> bool:
        return self._similar[video_id]


EVENT_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35), "green": (35, 165, 55), "blue": (40, 75, 225), "yellow": (240, 215, 35),
    "purple": (135, 50, 185), "orange": (245, 130, 25),
}
"""Colours an actor can flash in the event of `EventDataset`."""

BASE_COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (245, 245, 245), "black": (25, 25, 25), "brown": (125, 75, 35), "pink": (245, 120, 195),
}
"""Colours the actors of an `EventDataset` video share outside the event."""

EVENT_TEMPLATES: tuple[str, ...] = ("the {noun} that was {colour} at the start", "the {noun} that flashed {colour}",
                                    "the {noun} that was {colour} first")


class EventDataset(_InMemory):
    """A task where memory is needed: the referred actor is named by an event at the start of the video.

    Each video shows `actors` identical actors (same shape, same colour) drifting slowly over a textured background,
    never touching. On frame 0 only (the event), each actor shows its own colour; from frame 1 on they look exactly
    alike again (`colours`: how many of `EVENT_COLOURS` the events use). Every actor has an expression naming it by
    its event colour ("the ball that was red at the start"), and every frame is annotated. On frames 1..T-1 the
    current frame says nothing about which actor is meant: a model that sees one frame at a time can only guess
    (mean IoU about 1 / `actors` if it picks one actor, about the same if it segments all), while a model that
    carries what it saw on frame 0 (its memory) can follow the actor. `after_event(frame)` tells which frames those
    are. Deterministic in `seed`.

    `swap_event=True` is the counterfactual of the same videos: on frame 0 each actor shows the next actor's event
    colour (the expressions, the masks and every later frame are unchanged, pixel for pixel). A model that takes
    the referent from its memory of frame 0 then follows the other actor after the event (mean IoU after the event
    far below the unswapped one); a model without memory cannot tell the two versions apart after frame 0.
    """

    name = "event"

    def __init__(self, videos: int, seed: int = 0, split: str = "train", frames: int = 8, height: int = 32,
                 width: int = 48, actors: int = 2, radius: float = 4.5, speed: tuple[float, float] = (0.3, 0.9),
                 colours: int = 3, swap_event: bool = False) -> None:
        self.split = split
        self.root = None  # type: ignore[assignment]
        rng = np.random.default_rng([seed, {"train": 0, "test": 1}.get(split, 2)])
        self._videos: dict[str, Video] = {}
        self._expressions: list[Expression] = []
        self._frames: dict[str, np.ndarray] = {}
        self._labels: dict[str, np.ndarray] = {}
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        for i in range(videos):
            vid = f"{split}{i:04d}"
            names = tuple(f"{k + 1:05d}" for k in range(frames))
            paths = self._paths(rng, frames, height, width, actors, radius, speed)
            base = np.array(list(BASE_COLOURS.values())[int(rng.integers(len(BASE_COLOURS)))], np.float32)
            flash = [str(c) for c in rng.choice(list(EVENT_COLOURS)[:colours], size=actors, replace=False)]
            noun = str(rng.choice(["ball", "blob", "one"]))
            bg = self._background(rng, height, width, yy, xx)
            video = np.empty((frames, height, width, 3), np.uint8)
            labels = np.zeros((frames, height, width), np.uint8)
            for t in range(frames):
                img = bg + rng.normal(0.0, 4.0, bg.shape).astype(np.float32)
                for a in range(actors):
                    cx, cy = paths[a][t]
                    m = (xx - cx) ** 2 + (yy - cy) ** 2 <= radius ** 2
                    shown = flash[(a + 1) % actors if swap_event else a]
                    img[m] = np.array(EVENT_COLOURS[shown], np.float32) if t == 0 else base
                    labels[t][m] = a + 1
                video[t] = np.clip(img, 0, 255).astype(np.uint8)
            self._videos[vid] = Video(vid, names, height, width)
            self._frames[vid] = video
            self._labels[vid] = labels
            for a in range(actors):
                tmpl = EVENT_TEMPLATES[int(rng.integers(len(EVENT_TEMPLATES)))]
                self._expressions.append(Expression(str(a), vid, tmpl.format(noun=noun, colour=flash[a]), (a + 1,),
                                                    names))

    @staticmethod
    def _background(rng: np.random.Generator, h: int, w: int, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        img = np.full((h, w, 3), rng.uniform(80, 170), np.float32) + rng.uniform(-15, 15, 3).astype(np.float32)
        for _ in range(3):
            fx, fy, ph = rng.uniform(0.02, 0.2), rng.uniform(0.02, 0.2), rng.uniform(0, 2 * np.pi)
            img += 8.0 * np.sin(2 * np.pi * (fx * xx + fy * yy) + ph)[..., None]
        return img

    @staticmethod
    def _paths(rng: np.random.Generator, frames: int, h: int, w: int, actors: int, r: float,
               speed: tuple[float, float]) -> list[list[tuple[float, float]]]:
        """Straight drifts that bounce off the borders; redrawn until the actors never come within 2 r + 3 px."""
        for _ in range(1000):
            paths = []
            for _a in range(actors):
                x, y = rng.uniform(r + 1, w - r - 1), rng.uniform(r + 1, h - r - 1)
                ang, sp = rng.uniform(0, 2 * np.pi), rng.uniform(*speed)
                vx, vy = sp * np.cos(ang), sp * np.sin(ang)
                p = []
                for _t in range(frames):
                    p.append((x, y))
                    x, y = x + vx, y + vy
                    if not r + 1 <= x <= w - r - 1:
                        vx = -vx
                        x = float(np.clip(x, r + 1, w - r - 1))
                    if not r + 1 <= y <= h - r - 1:
                        vy = -vy
                        y = float(np.clip(y, r + 1, h - r - 1))
                paths.append(p)
            if all(np.hypot(paths[a][t][0] - paths[b][t][0], paths[a][t][1] - paths[b][t][1]) >= 2 * r + 3
                   for t in range(frames) for a in range(actors) for b in range(a + 1, actors)):
                return paths
        raise RuntimeError("EventDataset: could not place the actors apart; use a larger frame or fewer actors")

    @staticmethod
    def after_event(frame: str) -> bool:
        """True for the frames after the event (frame names are 1-based: "00001" is the event frame)."""
        return int(frame) > 1

    def read_labels(self, video_id: str, frame: str) -> np.ndarray | None:
        return self._labels[video_id][self._videos[video_id].frames.index(frame)]

    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        return self._videos[video_id].frames


__all__ = ["BASE_COLOURS", "EVENT_COLOURS", "EVENT_TEMPLATES", "EventDataset", "SceneDataset"]
