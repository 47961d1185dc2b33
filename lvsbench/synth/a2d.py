"""Synthetic A2D-Sentences in the released layout, with exact ground truth.

Writes the files `lvsbench.datasets.a2d` reads, with the release's names, encodings, dtypes and transposes:
headerless `Release/videoset.csv`; `Release/clips320H/<vid>.mp4` (mp4v) and/or extracted
`Release/pngs320H/<vid>/<fid>.png`; `Release/Annotations/mat/<vid>/<fid>.mat` (MATLAB v7.3: HDF5 with a 512-byte
MATLAB userblock, arrays transposed, N == 1 squeezed) and `Release/Annotations/col/<vid>/<fid>.png`;
`text_annotations/a2d_annotation.txt`, `a2d_missed_videos.txt` (no trailing newline) and
`a2d_annotation_with_instances/<vid>/<fid>.h5` (`instance`, `reMask`, `reBBox`, `id`, `reS_id`).

It reproduces the release's quirks: video ids starting with `-`, a `1 (copy)` row, missed videos (clips and .mat
but no sentences or .h5), an instance left out of one annotated frame, 1-5 sparse annotated frames, two frame
widths, and overlapping instance masks (`CARRY_ORDER`: an adult holding a baby, a baby riding a dog).
`generate()` returns the plan (scenes, splits, annotated frames, omissions) that the writer writes, so tests
compare what a reader returns with the generator's labels pixel for pixel (`expected_labels`).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from lvsbench.core.io import atomic_dir
from lvsbench.core.records import FrameMasks
from lvsbench.synth.scene import SceneVideo, render_video

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
MAT_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: %s HDF5 schema 1.00 ."
CARRY_ORDER: tuple[str, ...] = ("holding", "riding")
"""Carried pairs (their two instance masks overlap, as in the release): in each split, the first video with two
actors or more shows an adult holding a baby and, when the split has 3 videos or more, the next one a baby riding a
dog. Such a video is re-rendered from its own generator with the same number of actors, so every other video is the
one an unchanged generator would draw."""


@dataclass
class PlannedVideo:
    """One synthetic A2D video: its scene and everything the writer decides about it."""

    scene: SceneVideo
    subset: int  # 0 train, 1 test
    missed: bool
    annotated: tuple[int, ...]  # 1-based frame numbers with annotation files
    omitted: dict[int, tuple[int, ...]] = field(default_factory=dict)  # frame -> instances left out
    rows: list[tuple[str, str]] = field(default_factory=list)  # (instance id as written, query)

    @property
    def vid(self) -> str:
        return self.scene.video_id

    def instances(self, frame: int) -> tuple[int, ...]:
        """A2D instance ids annotated in a frame: actors whose instance mask is not empty, minus omissions."""
        s = self.scene
        present = [a.object_id - 1 for a in s.actors if s.instance_mask(frame - 1, a.object_id).any()]
        return tuple(i for i in present if i not in self.omitted.get(frame, ()))


def _video_id(rng: np.random.Generator, taken: set[str], prefix: str = "") -> str:
    while True:
        body = "".join(_ID_ALPHABET[int(i)] for i in rng.integers(0, len(_ID_ALPHABET), 11 - len(prefix)))
        vid = prefix + body
        if prefix or not vid.startswith("-"):
            if vid not in taken:
                taken.add(vid)
                return vid


def _annotated_frames(rng: np.random.Generator, n_frames: int) -> tuple[int, ...]:
    n = int(rng.choice([3, 5, 2, 1], p=[0.8, 0.1, 0.05, 0.05]))
    n = min(n, n_frames)
    return tuple(sorted({int(round((k + 1) * n_frames / (n + 1))) or 1 for k in range(n)}))


def generate(videos: int = 12, seed: int = 0, height: int = 160, width: int = 240,
             frames: int = 24) -> list[PlannedVideo]:
    """The deterministic plan of a synthetic A2D-Sentences dataset (rendered scenes included)."""
    if videos < 1:
        raise ValueError("need at least one video")
    rng = np.random.default_rng(seed)
    taken: set[str] = set()
    n_test = max(1, round(videos * 0.25)) if videos >= 2 else 0
    subsets = [1] * n_test + [0] * (videos - n_test)
    subsets = [subsets[int(i)] for i in rng.permutation(videos)]
    kinds = {flag: list(CARRY_ORDER[:1 if subsets.count(flag) < 3 else 2]) for flag in (0, 1)}
    plans: list[PlannedVideo] = []
    for i in range(videos):
        prefix = "--" if i == 0 else "-" if i == 1 else ""
        vid = _video_id(rng, taken, prefix)
        w = width if rng.random() < 0.6 else max(32, int(round(width * 0.75 / 2)) * 2)
        t = max(4, frames - int(rng.integers(0, max(1, frames // 4))))
        scene = render_video(rng, vid, t, height, w, similar=None)
        if videos >= 3 and kinds[subsets[i]] and len(scene.actors) >= 2:
            scene = render_video(np.random.default_rng([seed, i]), vid, t, height, w,
                                 num_actors=len(scene.actors), carry=kinds[subsets[i]].pop(0))
        plans.append(PlannedVideo(scene, subsets[i], False, _annotated_frames(rng, t)))
    # Missed videos: one train (and one test from 12 videos on) among those after the first two.
    if videos >= 6:
        train = [p for p in plans[2:] if p.subset == 0]
        test = [p for p in plans[2:] if p.subset == 1]
        if train:
            train[-1].missed = True
        if videos >= 12 and len(test) > 1:
            test[-1].missed = True
    for p in plans:
        if p.missed:
            continue
        for fr in list(p.annotated):  # drop annotated frames where nothing is visible
            if not p.instances(fr):
                p.annotated = tuple(x for x in p.annotated if x != fr)
        if not p.annotated:
            p.annotated = (1,)
    # Leave one instance out of one annotated frame (annotators skipped it; MTTR then skips that sample).
    for p in plans:
        if p.missed or len(p.annotated) < 2:
            continue
        fr = p.annotated[len(p.annotated) // 2]
        inst = p.instances(fr)
        if len(inst) >= 2:
            p.omitted[fr] = (inst[-1],)
            break
    copy_done = False
    for p in plans:
        if p.missed:
            continue
        for text, ids in p.scene.expressions:
            q = text if rng.random() > 0.1 else text[0].upper() + text[1:]
            q = q + " " if rng.random() < 0.06 else q
            p.rows.append((str(ids[0] - 1), q))
            if not copy_done and p.subset == 0 and ids[0] - 1 == 1:
                p.rows.append(("1 (copy)", q))
                copy_done = True
    return plans


def expected_masks(plan: PlannedVideo, frame: int) -> FrameMasks:
    """The ground truth a reader must return for an annotated frame: each instance's own mask (overlaps kept),
    object id = instance + 1."""
    inst = plan.instances(frame)
    return FrameMasks.from_instances([i + 1 for i in inst],
                                     [plan.scene.instance_mask(frame - 1, i + 1) for i in inst])


def expected_labels(plan: PlannedVideo, frame: int) -> np.ndarray:
    """The flattened label map a reader must return for an annotated frame (later instance wins)."""
    return expected_masks(plan, frame).labels


# ------------------------------------------------------------------------------------------ writers


def _bbox(mask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def _set_class(ds: h5py.Dataset, cls: str) -> None:
    ds.attrs["MATLAB_class"] = np.bytes_(cls)


def write_frame_h5(path: Path, plan: PlannedVideo, frame: int, with_instance: bool, mat_header: bool) -> None:
    """One annotated frame as the release stores it: MATLAB (H, W) arrays appear transposed in HDF5."""
    inst = plan.instances(frame)
    lab = plan.scene.labels[frame - 1]
    masks = np.stack([plan.scene.instance_mask(frame - 1, i + 1) for i in inst]).astype(np.uint8)  # (N, H, W)
    actors = {a.object_id - 1: a for a in plan.scene.actors}
    ids = np.asarray([[actors[i].a2d_id for i in inst]], dtype=np.float64)  # (1, N)
    boxes = np.asarray([_bbox(m) for m in masks], dtype=np.float64).T  # (4, N)
    sem = np.zeros(lab.shape, dtype=np.uint8)
    for i in inst:
        sem[lab == i + 1] = actors[i].a2d_id
    path.parent.mkdir(parents=True, exist_ok=True)
    remask = masks.transpose(0, 2, 1)  # (N, W, H)
    if len(inst) == 1:
        remask = remask[0]  # MATLAB drops the trailing singleton dimension: (W, H)
    kwargs = {"userblock_size": 512} if mat_header else {}
    with h5py.File(path, "w", **kwargs) as f:
        _set_class(f.create_dataset("reS_id", data=sem.T, compression="gzip"), "uint8")
        _set_class(f.create_dataset("reMask", data=np.ascontiguousarray(remask), compression="gzip"), "uint8")
        _set_class(f.create_dataset("reBBox", data=boxes), "double")
        _set_class(f.create_dataset("id", data=ids), "double")
        if with_instance:
            _set_class(f.create_dataset("instance", data=np.asarray(inst, dtype=np.float64)), "double")
    if mat_header:
        stamp = _dt.datetime(2015, 6, 1, 12, 0, 0).strftime("%a %b %d %H:%M:%S %Y").encode()
        text = (MAT_HEADER % stamp).ljust(116, b" ")
        header = text + b"\x00" * 8 + b"\x00\x02" + b"IM"
        with open(path, "r+b") as fh:
            fh.write(header)


def _write_mp4(path: Path, frames: np.ndarray, fps: float = 24.0) -> None:
    import cv2

    h, w = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write mp4v to {path}")
    try:
        for rgb in frames:
            writer.write(np.ascontiguousarray(rgb[..., ::-1]))
    finally:
        writer.release()


def _write_png_rgb(path: Path, rgb: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1])):
        raise RuntimeError(f"cannot write {path}")


def write_plan(out: Path, plans: list[PlannedVideo], frame_format: str = "both") -> None:
    """Write planned videos into `out` (an empty directory) in the released A2D-Sentences layout."""
    from lvsbench.datasets.a2d import class_table

    if frame_format not in ("both", "mp4", "png"):
        raise ValueError("frame_format must be both, mp4 or png")
    colours = {row["id"]: row["rgb"] for row in class_table()}
    rel, txt = out / "Release", out / "text_annotations"
    (rel / "clips320H").mkdir(parents=True, exist_ok=True)
    txt.mkdir(parents=True, exist_ok=True)
    lines = []
    for p in plans:
        s = p.scene
        secs = max(1, round(s.num_frames / 24))
        label = s.actors[0].a2d_id
        lines.append(f"{p.vid},{label},00:00:00,00:00:{secs:02d},{s.height},{s.width},{s.num_frames},"
                     f"{len(p.annotated)},{p.subset}")
        if frame_format in ("both", "mp4"):
            _write_mp4(rel / "clips320H" / f"{p.vid}.mp4", s.frames)
        if frame_format in ("both", "png"):
            for t in range(s.num_frames):
                _write_png_rgb(rel / "pngs320H" / p.vid / f"{t + 1:05d}.png", s.frames[t])
        for fr in p.annotated:
            name = f"{fr:05d}"
            write_frame_h5(rel / "Annotations" / "mat" / p.vid / f"{name}.mat", p, fr, False, True)
            sem = np.zeros((s.height, s.width, 3), dtype=np.uint8)
            lab = s.labels[fr - 1]
            for i in p.instances(fr):
                sem[lab == i + 1] = colours[s.actors[i].a2d_id]
            _write_png_rgb(rel / "Annotations" / "col" / p.vid / f"{name}.png", sem)
            if not p.missed:
                write_frame_h5(txt / "a2d_annotation_with_instances" / p.vid / f"{name}.h5", p, fr, True, False)
    (rel / "videoset.csv").write_text("\n".join(lines) + "\n")
    rows = ["video_id,instance_id,query"] + [f"{p.vid},{i},{q}" for p in plans for i, q in p.rows]
    (txt / "a2d_annotation.txt").write_text("\n".join(rows) + "\n")
    (txt / "a2d_missed_videos.txt").write_text("\n".join(p.vid for p in plans if p.missed))


def write_synthetic(out: str | Path, *, videos: int = 12, seed: int = 0, force: bool = False, height: int = 160,
                    width: int = 240, frames: int = 24, frame_format: str = "both") -> Path:
    """Write a synthetic A2D-Sentences dataset to `out` (atomically; refuses to overwrite without `force`).

    About 25% of the videos are test (split flag 1). The release has H = 320; the default here is smaller so that
    tests stay fast (`height=320` gives release-sized frames).
    """
    out = Path(out)
    plans = generate(videos, seed, height, width, frames)
    with atomic_dir(out, force=force) as tmp:
        write_plan(tmp, plans, frame_format)
    return out


__all__ = ["CARRY_ORDER", "MAT_HEADER", "PlannedVideo", "expected_labels", "expected_masks", "generate",
           "write_frame_h5", "write_plan", "write_synthetic"]
