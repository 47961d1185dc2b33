"""A small synthetic MeViS (v2 style: with no-target expressions) in the release layout.

```
OUT/{train,valid_u,valid}/JPEGImages/<video>/<t:05d>.jpg
OUT/{train,valid_u}/mask_dict.json           {<anno_id>: [COCO RLE | null per frame]}   (valid: no masks, as released)
OUT/{train,valid_u,valid}/meta_expressions.json
```

Per video: one object per rendered actor (`obj_id` 0-based, `anno_id` global and unique), an expression per actor,
a multi-object expression over the first two actors, and in the first video of each split a "group" object (the
union of actors 1 and 2) referred to together with actor 1, so that the target masks overlap (uint8 sum 2).
Every other video of each split has a no-target expression naming a class absent from it
(`obj_id` = `anno_id` = `[]`, the MeViS v2 reading). Objects absent from a frame are `null` in `mask_dict.json`.
RLE through pycocotools.

Everything is a pure function of (videos, seed, sizes): `plan(...)` returns what the writer writes; ReVOS
(`lvsbench.synth.revos`) writes the same plan in its own layout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench.core.codecs import encode_jpeg, rle_encode
from lvsbench.core.io import atomic_dir, atomic_write_bytes, atomic_write_text
from lvsbench.synth.scene import ACTOR_CLASSES, SceneVideo, describe, render_video


@dataclass(frozen=True)
class SynthExpression:
    exp_id: str
    text: str
    obj_ids: tuple[int, ...]
    type_id: int  # ReVOS: 0 referring, 1 reasoning, 2 no-target (MeViS ignores it)


@dataclass(frozen=True)
class SynthMaskDictVideo:
    """One planned video: id, split, rendered scene, per-object masks (T, H, W) bool and expressions."""

    video_id: str
    split: str
    scene: SceneVideo
    objects: dict[int, np.ndarray]
    expressions: tuple[SynthExpression, ...]

    @property
    def frame_names(self) -> tuple[str, ...]:
        return tuple(f"{t:05d}" for t in range(self.scene.num_frames))

    def target_sum(self, obj_ids: tuple[int, ...], t: int) -> np.ndarray:
        """uint8 sum of the objects' masks on frame t (the evaluators' multi-object ground truth)."""
        out = np.zeros(self.scene.labels.shape[1:], dtype=np.uint8)
        for o in obj_ids:
            out += self.objects[o][t].view(np.uint8)
        return out


def _reasoning(text: str) -> str:
    return f"which object should you look at to find {text}?"


def plan(videos: int = 12, seed: int = 0, height: int = 64, width: int = 112, frames: int = 6,
         splits: tuple[str, ...] = ("valid_u", "train", "valid")) -> list[SynthMaskDictVideo]:
    """The dataset as data; video i goes to `splits[i % len(splits)]`."""
    if videos < 1:
        raise ValueError("need at least one video")
    rng = np.random.default_rng([seed, 0x4D455649])
    out = []
    first_of_split: set[str] = set()
    for i in range(videos):
        split = splits[i % len(splits)]
        vid = f"{int(rng.integers(0, 16 ** 10)):010x}"
        scene = render_video(rng, vid, frames, height, width, num_actors=int(rng.integers(2, 4)), similar=None)
        actors = sorted(scene.actors, key=lambda a: a.object_id)
        objects = {a.object_id - 1: scene.labels == a.object_id for a in actors}
        exps: list[SynthExpression] = []
        texts = {a.object_id - 1: describe(rng, scene.actors, a.object_id) for a in actors}
        for k, (o, text) in enumerate(texts.items()):
            reasoning = k % 2 == 1
            exps.append(SynthExpression(str(len(exps)), _reasoning(text) if reasoning else text, (o,),
                                        1 if reasoning else 0))
        exps.append(SynthExpression(str(len(exps)), f"{texts[0]} and {texts[1]}", (0, 1), 0))
        if split not in first_of_split:
            first_of_split.add(split)
            group = max(objects) + 1
            objects[group] = objects[0] | objects[1]
            exps.append(SynthExpression(str(len(exps)), f"{texts[0]} and the group it belongs to", (0, group), 1))
        if (i // len(splits)) % 2 == 0:
            present = {a.cls for a in actors}
            absent = next(c for c in ACTOR_CLASSES if c not in present)
            exps.append(SynthExpression(str(len(exps)), f"the {absent} moving in the video", (), 2))
        out.append(SynthMaskDictVideo(vid, split, scene, objects, tuple(exps)))
    return out


def anno_ids(videos: list[SynthMaskDictVideo]) -> dict[tuple[str, int], int]:
    """Global annotation id of every (video, obj_id), numbered in plan order."""
    out: dict[tuple[str, int], int] = {}
    for v in videos:
        for o in sorted(v.objects):
            out[v.video_id, o] = len(out)
    return out


def mask_entries(v: SynthMaskDictVideo, obj_id: int) -> list[dict[str, Any] | None]:
    """`mask_dict.json` value of one object: RLE per frame, null where the object is absent."""
    return [rle_encode(m) if m.any() else None for m in v.objects[obj_id]]


def meta_entry(v: SynthMaskDictVideo, index: int, annos: dict[tuple[str, int], int], *, revos: bool
               ) -> dict[str, Any]:
    entry: dict[str, Any] = {"vid_id": index}
    if revos:
        entry.update(height=v.scene.height, width=v.scene.width)
    entry["frames"] = list(v.frame_names)
    exps = {}
    for e in v.expressions:
        d: dict[str, Any] = {"exp": e.text, "obj_id": list(e.obj_ids),
                             "anno_id": [annos[v.video_id, o] for o in e.obj_ids]}
        if revos:
            d["type_id"] = e.type_id
        exps[e.exp_id] = d
    entry["expressions"] = exps
    return entry


def shared_object_entry(v: SynthMaskDictVideo, index: int, mask_dict: dict[str, Any], expressions: int
                        ) -> tuple[dict[str, Any], dict[int, int]]:
    """A MeViS meta entry of `v` whose expressions are its planned ones repeated to `expressions` (new ids, the same
    objects: MeViS shares objects between expressions), its objects added to `mask_dict` under the next anno ids;
    returns the entry and {anno id: object id}. For workloads with many expressions per object (tests, benchmarks)."""
    annos = {}
    for o in sorted(v.objects):
        annos[v.video_id, o] = len(mask_dict)
        mask_dict[str(len(mask_dict))] = mask_entries(v, o)
    entry = meta_entry(v, index, annos, revos=False)
    exps = list(entry["expressions"].values())
    entry["expressions"] = {str(k): dict(exps[k % len(exps)]) for k in range(expressions)}
    return entry, {a: o for (_, o), a in annos.items()}


def write_frames(v: SynthMaskDictVideo, folder: Path) -> None:
    for t, name in enumerate(v.frame_names):
        atomic_write_bytes(folder / v.video_id / f"{name}.jpg", encode_jpeg(v.scene.frames[t], quality=90))


def write_synthetic(out: str | Path, *, videos: int = 12, seed: int = 0, force: bool = False, height: int = 64,
                    width: int = 112, frames: int = 6) -> Path:
    """Write the dataset of `plan(videos, seed, height, width, frames)` under `out` (atomically) and return it."""
    out = Path(out)
    vids = plan(videos, seed, height, width, frames)
    annos = anno_ids(vids)
    with atomic_dir(out, force=force) as tmp:
        for split in ("train", "valid_u", "valid"):
            sel = [v for v in vids if v.split == split]
            meta = {"videos": {v.video_id: meta_entry(v, k, annos, revos=False) for k, v in enumerate(sel)}}
            atomic_write_text(tmp / split / "meta_expressions.json", json.dumps(meta))
            for v in sel:
                write_frames(v, tmp / split / "JPEGImages")
            if split != "valid":
                masks = {str(annos[v.video_id, o]): mask_entries(v, o) for v in sel for o in sorted(v.objects)}
                atomic_write_text(tmp / split / "mask_dict.json", json.dumps(masks))
    return out


__all__ = ["SynthExpression", "SynthMaskDictVideo", "anno_ids", "mask_entries", "meta_entry", "plan",
           "shared_object_entry", "write_frames", "write_synthetic"]
