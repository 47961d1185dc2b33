"""A small synthetic Refer-YouTube-VOS in the Codalab release layout, with pixel-exact train ground truth.

The tree is the release's: `meta_expressions/{train,valid,test}/meta_expressions.json` (4-space indented, no
trailing newline; train expressions carry `obj_id`, valid/test ones only `exp`; the valid meta lists valid *and*
test videos, as the real one lists 507 = 202 + 305), `train/{JPEGImages,Annotations}`, `train/meta.json`,
`valid/{JPEGImages,meta.json}` and `test/JPEGImages`. Like the real release, valid has no masks; masks exist for train
only, which is what the held-out proxy split scores. Video ids are 10 hex digits; frame names are sparse 0-based
5-digit numbers, normally every 5th frame, with the release's quirks reproduced: some videos start after 00000, one
has a 10-gap, one is sampled every 3 frames. Annotation PNGs are palette images with the YouTube-VOS palette;
object ids are not always contiguous (one video per split uses {1, 3, ...}). Each object has two full-video
expressions; `with_urvos_release=True` also writes the original URVOS release file
(`urvos_original_release/meta_expressions_valid.json`, objects with category, full-video and first-frame
expressions) so that valid/test expressions get their obj_ids.

Everything is a pure function of (videos, seed, sizes): `plan(...)` returns the ground truth the writer writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench.core.codecs import encode_jpeg, encode_palette_png
from lvsbench.core.io import atomic_dir, atomic_write_bytes, atomic_write_text
from lvsbench.datasets.ryvos import YTVOS_PALETTE, in_heldout_v1
from lvsbench.synth.scene import SceneVideo, describe, render_video

CATEGORY = {"adult": "person", "baby": "person", "car": "sedan"}
"""YouTube-VOS category of a scene class where the names differ (others keep the class name)."""


@dataclass(frozen=True)
class SynthRYVOSVideo:
    """One planned video: its split, sparse frame names, rendered scene and scene id -> dataset obj_id map."""

    video_id: str
    split: str
    frame_names: tuple[str, ...]
    scene: SceneVideo
    id_map: dict[int, int]

    def labels(self, t: int) -> np.ndarray:
        """Ground-truth label map of frame index t with dataset object ids."""
        lut = np.zeros(256, dtype=np.uint8)
        for s, d in self.id_map.items():
            lut[s] = d
        return lut[self.scene.labels[t]]

    def expressions(self) -> list[tuple[str, str, int]]:
        """(exp_id, text, obj_id) in object order, exp ids "0".."n-1" (the competition numbering)."""
        rows = sorted(self.scene.expressions, key=lambda e: e[1][0])
        return [(str(k), text, self.id_map[ids[0]]) for k, (text, ids) in enumerate(rows)]

    def category(self, obj_id: int) -> str:
        inv = {d: s for s, d in self.id_map.items()}
        cls = self.scene.actor(inv[obj_id]).cls
        return CATEGORY.get(cls, cls)


def _frame_names(rng: np.random.Generator, n: int, quirk: str) -> tuple[str, ...]:
    step = 3 if quirk == "step3" else 5
    start = step * int(rng.integers(1, 30)) if quirk == "late_start" else 0
    names, t = [], start
    for i in range(n):
        names.append(f"{t:05d}")
        t += 2 * step if (quirk == "gap10" and i == n // 2) else step
    return tuple(names)


def plan(videos: int = 12, seed: int = 0, height: int = 72, width: int = 128,
         frames: int = 8) -> list[SynthRYVOSVideo]:
    """The synthetic dataset as data: ~half train, a quarter valid, a quarter test (train only when < 3 videos).

    At least one train video is in `train-heldout-v1` and one outside it when there are two or more train videos,
    so both sides of the proxy split are populated.
    """
    if videos < 1:
        raise ValueError("need at least one video")
    rng = np.random.default_rng([seed, 0x52595653])
    n_eval = max(1, round(videos / 4)) if videos >= 3 else 0
    n_train = videos - 2 * n_eval
    splits = ["train"] * n_train + ["valid"] * n_eval + ["test"] * n_eval
    used: set[str] = set()
    out = []
    for i, split in enumerate(splits):
        while True:
            vid = rng.bytes(5).hex()
            if vid in used:
                continue
            if split == "train" and n_train >= 2 and i < 2 and in_heldout_v1(vid) != (i == 0):
                continue
            break
        used.add(vid)
        quirk = {1: "gap10", 2: "late_start", 3: "step3"}.get(i % 6, "")
        names = _frame_names(rng, frames, quirk)
        scene = render_video(rng, vid, frames, height, width, similar=None, expressions_per_actor=2)
        ids = sorted(a.object_id for a in scene.actors)
        sparse = i in (0, n_train, n_train + n_eval) and len(ids) > 1
        id_map = {s: (s + 1 if sparse and s >= 2 else s) for s in ids}
        out.append(SynthRYVOSVideo(vid, split, names, scene, id_map))
    return out


def _dump(doc: Any) -> str:
    return json.dumps(doc, indent=4)


def _first_frame_texts(rng: np.random.Generator, v: SynthRYVOSVideo) -> dict[int, list[str]]:
    return {a.object_id: [describe(rng, v.scene.actors, a.object_id, use_motion=False)]
            for a in v.scene.actors}


def write_synthetic(out: str | Path, *, videos: int = 12, seed: int = 0, force: bool = False, height: int = 72,
                    width: int = 128, frames: int = 8, with_urvos_release: bool = False) -> Path:
    """Write the dataset of `plan(videos, seed, height, width, frames)` under `out` (atomically) and return it."""
    out = Path(out)
    videos_plan = plan(videos, seed, height, width, frames)
    metas: dict[str, dict[str, Any]] = {"train": {}, "valid": {}, "test": {}}
    object_meta: dict[str, dict[str, Any]] = {"train": {}, "valid": {}}
    urvos: dict[str, Any] = {}
    text_rng = np.random.default_rng([seed, 0x55525653])
    with atomic_dir(out, force=force) as tmp:
        for v in sorted(videos_plan, key=lambda x: x.video_id):
            img_dir = tmp / v.split / "JPEGImages" / v.video_id
            for t, name in enumerate(v.frame_names):
                atomic_write_bytes(img_dir / f"{name}.jpg", encode_jpeg(v.scene.frames[t], quality=90))
                if v.split == "train":
                    atomic_write_bytes(tmp / "train" / "Annotations" / v.video_id / f"{name}.png",
                                       encode_palette_png(v.labels(t), YTVOS_PALETTE))
            exps = v.expressions()
            entry = {
                "expressions": {eid: ({"exp": text, "obj_id": str(obj)} if v.split == "train" else {"exp": text})
                                for eid, text, obj in exps},
                "frames": list(v.frame_names),
            }
            metas[v.split][v.video_id] = entry
            if v.split in ("valid", "test"):
                metas["valid"][v.video_id] = entry
            objects: dict[str, Any] = {}
            first = _first_frame_texts(text_rng, v)
            urvos_objects: dict[str, Any] = {}
            for s, d in sorted(v.id_map.items(), key=lambda x: x[1]):
                present = [n for t, n in enumerate(v.frame_names) if (v.scene.labels[t] == s).any()]
                objects[str(d)] = {"category": v.category(d), "frames": present}
                urvos_objects[str(d)] = {"category": v.category(d),
                                         "expressions": [text for _, text, o in exps if o == d],
                                         "expressions_first_frame": first[s], "frames": present}
            meta_split = "train" if v.split == "train" else "valid"
            object_meta[meta_split][v.video_id] = {"objects": objects}
            if v.split != "train":
                urvos[v.video_id] = {"objects": urvos_objects}
        for split, entries in metas.items():
            atomic_write_text(tmp / "meta_expressions" / split / "meta_expressions.json", _dump({"videos": entries}))
        for split, entries in object_meta.items():
            atomic_write_text(tmp / split / "meta.json", json.dumps({"videos": entries}))
        if with_urvos_release:
            urvos_sorted = {k: urvos[k] for k in sorted(urvos)}
            atomic_write_text(tmp / "urvos_original_release" / "meta_expressions_valid.json",
                              _dump({"videos": urvos_sorted}))
    return out


__all__ = ["CATEGORY", "SynthRYVOSVideo", "plan", "write_synthetic"]
