"""Per-object masks of a rendered scene for the writers of benchmarks that store one mask per object (Ref-SAV,
Long-RVOS, ReasonVOS), where annotated objects may overlap.

A scene's label map holds one object per pixel; `object_masks(scene, overlap=True)` also lets object 2 cover the
left third of object 1 in every frame, so that a two-object target sums to 2 on shared
pixels, as in the real annotations (each object annotated on its own).
"""

from __future__ import annotations

import numpy as np

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


__all__ = ["object_masks"]
