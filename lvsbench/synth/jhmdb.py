"""Synthetic J-HMDB-Sentences in the released layout, with exact ground truth.

Writes `Rename_Images/<class>/<vid>/%05d.png`, `puppet_mask/<class>/<vid>/puppet_mask.mat` (`part_mask`,
(H, W, T) uint8 0/1, written by `scipy.io.savemat` as MATLAB v5), `jhmdb_annotation.txt` (`video_id,query`) and,
in place of MTTR's frozen list, `jhmdb_sentences_samples_metadata.json` in MTTR's format with 3 frames per video
drawn from the first min(#frames, T) frames. Each video's referred person is actor 1 of the scene (an "adult" whose
action gives the class folder); other actors are distractors, in "similar" videos of the same class and colour.
Video ids carry J-HMDB's awkward characters (`! ( ) + @`, one starts with `-`); one video has one mask fewer
than frames (the off-by-one guard).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lvsbench.core.io import atomic_dir
from lvsbench.synth.scene import SceneVideo, render_video

CLASS_OF_MOTION: dict[str, str] = {
    "walking": "walk",
    "running": "run",
    "jumping": "jump",
    "climbing": "climb_stairs",
    "none": "stand",
}
"""J-HMDB action class (folder) for the motion of the referred person."""

_NAME_PARTS = ("Hans_(Garten)", "Stairs!!!_at_home", "Peter+Paul", "me@park", "-Run_fast", "Kid_Play",
               "Jumping_Jack", "Walk_the_Dog")


@dataclass
class PlannedVideo:
    """One synthetic J-HMDB video: its scene, class, number of masks and the frozen evaluation frames."""

    scene: SceneVideo
    cls: str
    num_masks: int
    query: str
    eval_frames: tuple[int, ...]

    @property
    def vid(self) -> str:
        return self.scene.video_id

    @property
    def usable(self) -> int:
        return min(self.scene.num_frames, self.num_masks)


def generate(videos: int = 12, seed: int = 0, height: int = 120, width: int = 160,
             frames: int = 20) -> list[PlannedVideo]:
    """The deterministic plan of a synthetic J-HMDB-Sentences dataset (rendered scenes included)."""
    if videos < 1:
        raise ValueError("need at least one video")
    rng = np.random.default_rng(seed)
    motions = list(CLASS_OF_MOTION)
    plans = []
    for i in range(videos):
        motion = motions[int(rng.integers(len(motions)))]
        cls = CLASS_OF_MOTION[motion]
        part = _NAME_PARTS[i % len(_NAME_PARTS)] if i < len(_NAME_PARTS) else f"clip{i}"
        vid = f"{part}_{cls}_f_cm_np1_{'fr' if rng.random() < 0.5 else 'ba'}_med_{i}"
        if i == 4:
            vid = "-" + vid.lstrip("-")
        t = max(4, frames - int(rng.integers(0, max(1, frames // 4))))
        similar = bool(rng.random() < 0.4)
        n_actors = int(rng.integers(2, 4)) if similar else int(rng.integers(1, 3))
        scene = render_video(rng, vid, t, height, width, num_actors=n_actors, similar=similar,
                             primary=("adult", motion))
        query = next(text for text, ids in scene.expressions if ids == (1,))
        num_masks = t - 1 if i == 1 else t
        usable = min(t, num_masks)
        picks = rng.choice(np.arange(1, usable + 1), size=min(3, usable), replace=False)
        plans.append(PlannedVideo(scene, cls, num_masks, query, tuple(int(x) for x in picks)))
    return plans


def expected_labels(plan: PlannedVideo, frame: int) -> np.ndarray:
    """The label map a reader must return for a frame (1-based): 1 on the referred person, else 0."""
    return (plan.scene.labels[frame - 1] == 1).astype(np.uint8)


def write_plan(out: Path, plans: list[PlannedVideo]) -> None:
    """Write planned videos into `out` in the released J-HMDB-Sentences layout."""
    import cv2

    samples = []
    for p in plans:
        s = p.scene
        fdir = out / "Rename_Images" / p.cls / p.vid
        mdir = out / "puppet_mask" / p.cls / p.vid
        fdir.mkdir(parents=True, exist_ok=True)
        mdir.mkdir(parents=True, exist_ok=True)
        for t in range(s.num_frames):
            if not cv2.imwrite(str(fdir / f"{t + 1:05d}.png"), np.ascontiguousarray(s.frames[t][..., ::-1])):
                raise RuntimeError(f"cannot write {fdir}")
        part = (s.labels[: p.num_masks] == 1).astype(np.uint8).transpose(1, 2, 0)  # (H, W, T)
        _write_mat(mdir / "puppet_mask.mat", {"part_mask": part})
        for t in p.eval_frames:
            samples.append([p.vid, f"./jhmdb_sentences/Rename_Images/{p.cls}/{p.vid}/{t:05d}.png",
                            f"./jhmdb_sentences/puppet_mask/{p.cls}/{p.vid}/puppet_mask.mat", p.usable, p.query])
    rows = ["video_id,query"] + [f"{p.vid},{p.query}" for p in plans]
    (out / "jhmdb_annotation.txt").write_text("\n".join(rows) + "\n")
    (out / "jhmdb_sentences_samples_metadata.json").write_text(json.dumps(samples))


_MAT_HEADER = b"MATLAB 5.0 MAT-file, Platform: posix, Created on: Mon Jun  1 12:00:00 2015"


def _write_mat(path: Path, variables: dict[str, np.ndarray]) -> None:
    """`scipy.io.savemat` with a fixed creation date: savemat writes the current time into the 116-byte text
    header of every MATLAB v5 file, which would make the same seed give different bytes a second later."""
    import io

    import scipy.io

    buf = io.BytesIO()
    scipy.io.savemat(buf, variables)
    data = bytearray(buf.getvalue())
    data[:116] = _MAT_HEADER.ljust(116)
    path.write_bytes(bytes(data))


def write_synthetic(out: str | Path, *, videos: int = 12, seed: int = 0, force: bool = False, height: int = 120,
                    width: int = 160, frames: int = 20) -> Path:
    """Write a synthetic J-HMDB-Sentences dataset to `out` (atomically; no overwrite without `force`).

    The release has 240x320 frames; the default here is smaller so tests stay fast.
    """
    out = Path(out)
    plans = generate(videos, seed, height, width, frames)
    with atomic_dir(out, force=force) as tmp:
        write_plan(tmp, plans)
    return out


__all__ = ["CLASS_OF_MOTION", "PlannedVideo", "expected_labels", "generate", "write_plan", "write_synthetic"]
