"""A small synthetic Ref-SAV evaluation release (`ref_sav_eval/`), as `lvsbench.datasets.refsav` reads it.

```
OUT/ref_sav_eval/meta_expressions_valid.json   {"videos": {<video>: {"vid_id", "height", "width", "frames",
                                                 "expressions": {<id>: {"exp", "obj_id": [...], "anno_id": [...],
                                                                        "type_id": 0 long | 1 short}}}}}
OUT/ref_sav_eval/mask_dict.json                {<anno_id>: [COCO RLE | null per frame]}  (pycocotools encoding)
OUT/ref_sav_eval/videos/<video>/<frame>.jpg
```

Every object gets a short expression (type 1: appearance only) and a long one (type 0: every true attribute,
motion included); every other video with two or more objects also has a two-object long expression. In the
first video (three objects) object 2's mask also covers part of object 1 (`lvsbench.synth.objects`), so its
two-object target has overlap pixels (value 2 in the official uint8 sum). Ref-SAV has no no-target expressions.
Everything is a pure function of (videos, seed, sizes); the same seed gives the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lvsbench.core.codecs import encode_jpeg, rle_encode
from lvsbench.core.io import atomic_dir, atomic_write_bytes, atomic_write_text
from lvsbench.synth.objects import object_masks
from lvsbench.synth.scene import describe, render_video


def write_synthetic(out: str | Path, *, videos: int = 12, seed: int = 0, force: bool = False, height: int = 64,
                    width: int = 112, frames: int = 6) -> Path:
    """Write the dataset under `out` (atomically) and return it."""
    if videos < 1:
        raise ValueError("need at least one video")
    out = Path(out)
    rng = np.random.default_rng([seed, 0x52534156])
    meta: dict[str, dict] = {}
    mask_dict: dict[str, list] = {}
    anno = 0
    names = [f"sav_{i:06d}" for i in range(videos)]
    with atomic_dir(out, force=force) as tmp:
        base = tmp / "ref_sav_eval"
        for i, vid in enumerate(names):
            scene = render_video(rng, vid, frames, height, width, num_actors=3 if i == 0 else None,
                                 similar=None)
            frame_names = [f"{t:05d}" for t in range(frames)]
            for t, name in enumerate(frame_names):
                atomic_write_bytes(base / "videos" / vid / f"{name}.jpg", encode_jpeg(scene.frames[t], quality=90))
            masks = object_masks(scene, overlap=(i == 0))
            anno_of = {}
            for o, m in masks.items():
                anno_of[o] = anno
                mask_dict[str(anno)] = [rle_encode(x) if x.any() else None for x in m]
                anno += 1
            rows: list[tuple[str, list[int], int]] = []
            for a in scene.actors:
                long_text = describe(rng, scene.actors, a.object_id, use_motion=True, extra=1.0) + " in this video"
                rows.append((long_text, [a.object_id], 0))
                rows.append((describe(rng, scene.actors, a.object_id, use_motion=False, extra=0.0), [a.object_id], 1))
            ids = sorted(masks)
            if len(ids) >= 2 and i % 2 == 0:
                texts = [describe(rng, scene.actors, o, use_motion=True, extra=0.0) for o in ids[:2]]
                rows.append((f"{texts[0]} and {texts[1]}", ids[:2], 0))
            exps = {str(k): {"exp": text, "obj_id": [o - 1 for o in objs], "anno_id": [anno_of[o] for o in objs],
                             "type_id": type_id} for k, (text, objs, type_id) in enumerate(rows)}
            meta[vid] = {"vid_id": i, "height": height, "width": width, "frames": frame_names, "expressions": exps}
        atomic_write_text(base / "meta_expressions_valid.json", json.dumps({"videos": meta}))
        atomic_write_text(base / "mask_dict.json", json.dumps(mask_dict))
    return out


__all__ = ["write_synthetic"]
