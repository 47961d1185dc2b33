"""Per-object masks of a rendered scene for the writers of benchmarks that store one mask per object (Ref-SAV,
Long-RVOS, ReasonVOS), where annotated objects may overlap.

A scene's label map holds one object per pixel; `object_masks(scene, overlap=True)` also lets object 2 cover the
left third of object 1 in every frame, so that a two-object target sums to 2 on shared
pixels, as in the real annotations (each object annotated on its own).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lvsbench.core.codecs import encode_jpeg
from lvsbench.core.io import atomic_write_bytes
from lvsbench.synth.scene import SceneVideo


def object_masks(scene: SceneVideo, overlap: bool = False) -> dict[int, np.ndarray]:
    """Scene object id -> (T, H, W) bool masks; with `overlap`, object 2 also covers part of object 1."""
    ids = sorted(a.object_id for a in scene.actors)
    out = {o: scene.labels == o for o in ids}
    if overlap and len(ids) >= 2:
        a, b = out[ids[0]], out[ids[1]].copy()
        for t in range(a.shape[0]):
            xs = np.flatnonzero(a[t].any(axis=0))
            if xs.size:
                cut = int(xs[0] + (xs[-1] - xs[0]) // 3) + 1
                b[t, :, :cut] |= a[t, :, :cut]
        out[ids[1]] = b
    return out


def write_jpegs(folder: Path, frames: np.ndarray, names: Sequence[str]) -> None:
    """Frame t of `frames` as `folder/<names[t]>.jpg`, JPEG quality 90 (every synthetic writer's frames)."""
    for t, name in enumerate(names):
        atomic_write_bytes(folder / f"{name}.jpg", encode_jpeg(frames[t], quality=90))


__all__ = ["object_masks", "write_jpegs"]
