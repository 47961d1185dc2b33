"""A small synthetic DAVIS 2016/2017 (semi-supervised VOS) in the official release layout.

```
OUT/JPEGImages/480p/<seq>/<t:05d>.jpg        every frame, 0-based
OUT/Annotations/480p/<seq>/<t:05d>.png       palette PNGs (DAVIS palette): 0 background, ids 1..N, 255 void
OUT/ImageSets/2017/{train,val}.txt           sorted names, LF, trailing newline
OUT/ImageSets/2016/{train,val}.txt           every other sequence of each 2017 list
```

The scenes are those of `lvsbench.synth.rdavis.plan` (same names, splits, actors and masks). To exercise the
official void rule of the semi-supervised task (void is background: a prediction over it is a false positive),
every third frame, starting with frame 1, carries a void band (255) over the top rows where no object is. The folder
says 480p whatever the synthetic frame size is, as in the release. Same arguments, same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lvsbench.core.io import atomic_dir
from lvsbench.core.records import VOID_LABEL
from lvsbench.synth.rdavis import SynthDAVISVideo, plan, write_davis_tree


def ground_truth(video: SynthDAVISVideo) -> list[np.ndarray]:
    """The label maps written for a planned sequence: the scene's labels plus the void band on frames 1, 4, 7 ..."""
    out = []
    for t, lab in enumerate(video.scene.labels):
        lab = lab.copy()
        if t % 3 == 1:
            band = lab[: max(1, lab.shape[0] // 8)]
            band[band == 0] = VOID_LABEL
        out.append(lab)
    return out


def write_synthetic(out: str | Path, *, videos: int = 12, seed: int = 0, force: bool = False, height: int = 64,
                    width: int = 112, frames: int = 6) -> Path:
    """Write the DAVIS layout of `plan(videos, seed, height, width, frames)` under `out` (atomically)."""
    out = Path(out)
    seqs = sorted(plan(videos, seed, height, width, frames), key=lambda v: v.name)
    with atomic_dir(out, force=force) as tmp:
        write_davis_tree(tmp, seqs, ("Annotations",), [ground_truth(v) for v in seqs], years=("2017", "2016"))
    return out


__all__ = ["ground_truth", "write_synthetic"]
