"""A small synthetic ReasonVOS (`OUT/ReasonVOS/{JPEGImages/, Annotations/<source>_<video>_<obj_id>/,
meta_expressions.json}`), as `lvsbench.datasets.reasonvos` and VideoLISA's evaluator read it.

Sources cycle over MeViS, MOSE, BURST and VIPSeg. Every object gets one query phrased as a question about what
it does or looks like (`is_sent` alternates between sentence and phrase queries); expression ids count up over
the whole file, as in the release. Annotations are 0/255 grayscale PNGs for every frame of the video (the
evaluator scores the sorted listing of the object's folder).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lvsbench.core.codecs import encode_binary_png, encode_jpeg
from lvsbench.core.io import atomic_dir, atomic_write_bytes, atomic_write_text
from lvsbench.synth.objects import object_masks
from lvsbench.synth.scene import describe, render_video

SOURCES: tuple[str, ...] = ("MeViS", "MOSE", "BURST", "VIPSeg")


def write_synthetic(out: str | Path, *, videos: int = 12, seed: int = 0, force: bool = False, height: int = 64,
                    width: int = 112, frames: int = 6) -> Path:
    """Write the dataset under `out` (atomically) and return it."""
    if videos < 1:
        raise ValueError("need at least one video")
    out = Path(out)
    rng = np.random.default_rng([seed, 0x52564F53])
    meta: dict[str, dict] = {}
    exp_id = 0
    with atomic_dir(out, force=force) as top:
        tmp = top / "ReasonVOS"
        for i in range(videos):
            vid = f"{rng.bytes(4).hex()}"
            src = SOURCES[i % len(SOURCES)]
            scene = render_video(rng, vid, frames, height, width, similar=None)
            frame_names = [f"{t:05d}" for t in range(frames)]
            for t, name in enumerate(frame_names):
                atomic_write_bytes(tmp / "JPEGImages" / vid / f"{name}.jpg", encode_jpeg(scene.frames[t], quality=90))
            exps = []
            for o, m in object_masks(scene).items():
                for t, name in enumerate(frame_names):
                    atomic_write_bytes(tmp / "Annotations" / f"{src}_{vid}_{o - 1}" / f"{name}.png",
                                       encode_binary_png(m[t]))
                what = describe(rng, scene.actors, o, use_motion=True, extra=0.0)
                sent = exp_id % 2 == 0
                text = f"Which object in the video is {what}?" if sent else f"the object that is {what}"
                exps.append({"obj_id": o - 1, "exp_id": exp_id, "exp_text": text, "is_sent": sent})
                exp_id += 1
            meta[vid] = {"source": src, "frames": frame_names, "expressions": exps}
        atomic_write_text(tmp / "meta_expressions.json", json.dumps({"videos": meta}))
    return out


__all__ = ["SOURCES", "write_synthetic"]
