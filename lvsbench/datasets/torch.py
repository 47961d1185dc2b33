"""A `torch.utils.data.Dataset` over any lvsbench `Dataset`: one item per (expression, clip).

torch is imported only when a `TorchClips` is built, so the rest of lvsbench works without it. An item is a dict
with `frames` (T, 3, H, W) float32 in [0, 1], `masks` (T, H, W) bool (the expression's target on each clip frame;
all False on frames without annotation), `valid` (T,) bool (frame carries ground truth), `text` (normalised as
MTTR/ReferFormer feed models), `raw_text`, `video_id`, `exp_id` and `frame_names`.

Clips: with `window=None` every frame of the video; otherwise `window` frames centred on each scored frame of the
expression, clamped to the video's ends (MTTR's windowing for A2D/J-HMDB), one item per scored frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lvsbench.core.errors import MissingDependencyError
from lvsbench.core.records import Expression
from lvsbench.datasets.base import Dataset


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("torch", "models", "the torch dataset wrapper") from exc
    return torch


def clip_items(ds: Dataset, window: int | None) -> list[tuple[Expression, tuple[str, ...], tuple[str, ...]]]:
    """(expression, clip frame names, scored frames in the clip) for every item of the wrapper."""
    items = []
    videos = ds.videos()
    for e in ds.expressions():
        names = videos[e.video_id].frames
        scored = ds.expression_frames(e)
        if window is None:
            items.append((e, names, tuple(scored)))
            continue
        pos = {n: i for i, n in enumerate(names)}
        for f in scored:
            if f not in pos:
                continue
            c = pos[f]
            idx = [min(max(c + k - window // 2, 0), len(names) - 1) for k in range(window)]
            items.append((e, tuple(names[i] for i in idx), (f,)))
    return items


class TorchClips:
    """Map-style torch dataset (implements `__len__`/`__getitem__`; usable with `torch.utils.data.DataLoader`)."""

    def __init__(self, ds: Dataset, window: int | None = 8) -> None:
        self.torch = _torch()
        self.ds = ds
        self.window = window
        self.items = clip_items(ds, window)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        torch = self.torch
        e, names, scored = self.items[i]
        video = self.ds.videos()[e.video_id]
        unique = tuple(dict.fromkeys(names))
        order = {n: k for k, n in enumerate(video.frames)}
        decoded = dict(self.ds.iter_frames(e.video_id, tuple(sorted(unique, key=order.__getitem__))))
        frames = np.stack([decoded[n] for n in names]).astype(np.float32) / 255.0
        masks = np.zeros((len(names), video.height, video.width), dtype=bool)
        valid = np.zeros(len(names), dtype=bool)
        for k, n in enumerate(names):
            if n in scored:
                lab = self.ds.read_masks(e.video_id, n)
                if lab is not None:
                    masks[k] = lab.mask(e.object_ids)
                    valid[k] = True
        return {
            "frames": torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous(),
            "masks": torch.from_numpy(masks),
            "valid": torch.from_numpy(valid),
            "text": e.normalized_text,
            "raw_text": e.text,
            "video_id": e.video_id,
            "exp_id": e.id,
            "frame_names": list(names),
        }


__all__ = ["TorchClips", "clip_items"]
