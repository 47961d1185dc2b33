"""A small synthetic ReVOS in the release layout (cilinyan/ReVOS-api @ 2633da9 `README.md`).

```
OUT/JPEGImages/<video>/<t:05d>.jpg                 train and valid videos together
OUT/mask_dict.json                                 {<anno_id>: [COCO RLE | null per frame]}
OUT/mask_dict_foreground.json                      {<video>: {"masks_rle": [...], "foreground_ratio": [...]}}
OUT/meta_expressions_{train,valid}_.json           with height, width and type_id (0 referring, 1 reasoning,
                                                   2 no-target)
```

Same plan as the synthetic MeViS (`lvsbench.synth.mevis.plan`: multi-object, overlapping and no-target
expressions), split valid / train. The foreground file is what VISA's `tools/generate_foreground_mask.py`
@ ec158fd computes: per frame the union of every object referred to by any expression of the video, re-encoded
(also where empty), and its share of the frame.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lvsbench.core.codecs import rle_encode
from lvsbench.core.io import atomic_dir, atomic_write_text
from lvsbench.synth.mevis import SynthMaskDictVideo, anno_ids, mask_entries, meta_entry, plan, write_frames


def foreground(v: SynthMaskDictVideo) -> np.ndarray:
    """(T, H, W) bool union of the objects referred to by the video's expressions."""
    used = {o for e in v.expressions for o in e.obj_ids}
    out = np.zeros(v.scene.labels.shape, dtype=bool)
    for o in used:
        out |= v.objects[o]
    return out


def write_synthetic(out: str | Path, *, videos: int = 12, seed: int = 0, force: bool = False, height: int = 64,
                    width: int = 112, frames: int = 6) -> Path:
    """Write the dataset of `plan(videos, seed, ..., splits=("valid", "train"))` under `out` (atomically)."""
    out = Path(out)
    vids = plan(videos, seed, height, width, frames, splits=("valid", "train"))
    annos = anno_ids(vids)
    with atomic_dir(out, force=force) as tmp:
        for split in ("train", "valid"):
            sel = [v for v in vids if v.split == split]
            meta = {"videos": {v.video_id: meta_entry(v, k, annos, revos=True) for k, v in enumerate(sel)}}
            atomic_write_text(tmp / f"meta_expressions_{split}_.json", json.dumps(meta))
        masks = {str(annos[v.video_id, o]): mask_entries(v, o) for v in vids for o in sorted(v.objects)}
        atomic_write_text(tmp / "mask_dict.json", json.dumps(masks))
        fg = {}
        for v in vids:
            f = foreground(v)
            area = v.scene.height * v.scene.width
            fg[v.video_id] = {"masks_rle": [rle_encode(m) for m in f],
                              "foreground_ratio": [float(np.uint64(m.sum()) / area) for m in f]}
        atomic_write_text(tmp / "mask_dict_foreground.json", json.dumps(fg))
        for v in vids:
            write_frames(v, tmp / "JPEGImages")
    return out


__all__ = ["foreground", "write_synthetic"]
