"""A small synthetic Long-RVOS (`{train,valid}/{JPEGImages,Annotations,meta_expressions.json}`), as
`lvsbench.datasets.long_rvos` and the official evaluator read it.

Annotations are 0/255 grayscale PNGs `Annotations/<video>/<obj_id>/<frame>.png`, written only on frames where the
object is visible (the evaluator reads an absent PNG as empty). Each object has one expression whose type cycles
over static (appearance only), dynamic (motion only) and static+dynamic; obj_ids are strings ("0", "1", ...).
Every fourth video also has an expression on an object that never appears (no annotation folder), which the
evaluator scores as empty ground truth. One video in three is in valid, the rest in train.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lvsbench.core.codecs import encode_binary_png, encode_jpeg
from lvsbench.core.io import atomic_dir, atomic_write_bytes, atomic_write_text
from lvsbench.synth.objects import object_masks
from lvsbench.synth.scene import describe, render_video

TYPES: tuple[str, ...] = ("static", "dynamic", "static+dynamic")


def _text(rng: np.random.Generator, scene, object_id: int, typ: str) -> str:
    if typ == "static":
        return describe(rng, scene.actors, object_id, use_motion=False, extra=0.0)
    a = scene.actor(object_id)
    noun = f"the {a.cls}"
    if typ == "dynamic":
        return f"{noun} that keeps {a.motion}"
    return describe(rng, scene.actors, object_id, use_motion=True, extra=1.0)


def write_synthetic(out: str | Path, *, videos: int = 12, seed: int = 0, force: bool = False, height: int = 64,
                    width: int = 112, frames: int = 10) -> Path:
    """Write the dataset under `out` (atomically) and return it."""
    if videos < 1:
        raise ValueError("need at least one video")
    out = Path(out)
    rng = np.random.default_rng([seed, 0x4C52564F])
    metas: dict[str, dict] = {"train": {}, "valid": {}}
    k = 0
    with atomic_dir(out, force=force) as tmp:
        for i in range(videos):
            split = "valid" if i % 3 == 0 else "train"
            vid = f"lrvos_{i:05d}"
            scene = render_video(rng, vid, frames, height, width, similar=None)
            frame_names = [f"{t:05d}" for t in range(frames)]
            base = tmp / split
            for t, name in enumerate(frame_names):
                atomic_write_bytes(base / "JPEGImages" / vid / f"{name}.jpg", encode_jpeg(scene.frames[t], quality=90))
            exps = {}
            for o, m in object_masks(scene).items():
                for t, name in enumerate(frame_names):
                    if m[t].any():
                        atomic_write_bytes(base / "Annotations" / vid / str(o - 1) / f"{name}.png",
                                           encode_binary_png(m[t]))
                typ = TYPES[k % 3]
                k += 1
                exps[str(len(exps))] = {"exp": _text(rng, scene, o, typ), "obj_id": str(o - 1), "type": typ}
            if i % 4 == 1:
                exps[str(len(exps))] = {"exp": "the unicorn in the sky", "obj_id": "99", "type": "static"}
            metas[split][vid] = {"frames": frame_names, "expressions": exps}
        for split, videos_meta in metas.items():
            if videos_meta:
                atomic_write_text(tmp / split / "meta_expressions.json", json.dumps({"videos": videos_meta}))
    return out


__all__ = ["TYPES", "write_synthetic"]
