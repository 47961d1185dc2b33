"""Training data for the reference models: every frame of a split decoded once, at the model's small resolution,
held in memory; clips sampled from it by a per-step seeded generator.

Why in memory: the synthetic training sets are a few hundred short videos, a few tens of MB at 64-96 px, and decoding
an mp4 or PNG per sample would cost more than the tiny model's forward pass on 2 CPU cores. Why per-step seeding
(`numpy.random.default_rng([seed, step])`): a resumed run draws exactly the batches an uninterrupted run draws.

Frames are resized with antialiased bilinear interpolation (`resize_uint8`), the same function the adapters use at
inference, so training and inference see identical pixels. Targets are the expression's mask resized the same way
(a soft target: the fraction of each low-resolution pixel covered by the object).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from lvsbench.core.errors import DataFormatError
from lvsbench.core.records import Expression, FrameMasks
from lvsbench.datasets.base import Dataset
from lvsbench.models.text import Tokenizer


def resize_uint8(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """uint8 [T, 3, H, W] (any device) -> uint8 [T, 3, h, w], antialiased bilinear. Training caches and adapters
    both go through this, so a model sees the same pixels in both."""
    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    x = F.interpolate(frames.float(), size=size, mode="bilinear", align_corners=False, antialias=True)
    return x.round_().clamp_(0, 255).to(torch.uint8)


def normalise(frames_u8: torch.Tensor) -> torch.Tensor:
    """uint8 frames at the model size -> float in [-1, 1] (Locater's mean = std = 0.5)."""
    return frames_u8.float() / 127.5 - 1.0


def to_uint8_small(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """One RGB frame (H, W, 3) uint8 -> (3, h, w) uint8 at the model size."""
    arr = np.ascontiguousarray(rgb)
    if not arr.flags.writeable:
        arr = arr.copy()
    t = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)
    return resize_uint8(t, size)[0].numpy()


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Binary mask (H, W) -> soft target (h, w) uint8 0..255 (covered fraction x 255)."""
    t = torch.from_numpy(mask.astype(np.float32))[None, None]
    if tuple(t.shape[-2:]) != tuple(size):
        t = F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=True)
    return (t[0, 0] * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()


@dataclass
class CachedVideo:
    """All frames of one video at the model size (uint8 [T, 3, h, w]) and its original size."""

    id: str
    names: tuple[str, ...]
    frames: np.ndarray
    height: int
    width: int
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {n: i for i, n in enumerate(self.names)}


@dataclass(frozen=True)
class Sample:
    """One supervised (expression, annotated frame) pair."""

    expression: int
    video: str
    frame: int
    target: int  # index into FrameCache.targets


class FrameCache:
    """A split decoded at the model size: frames of every video, soft targets of every (expression, annotated frame).

    `blank=True` replaces every expression by "" (the language-blind control): the model then sees only `<cls>`.
    """

    def __init__(self, dataset: Dataset, size: tuple[int, int], tokenizer: Tokenizer, *, blank: bool = False,
                 progress: bool = False, with_targets: bool = True) -> None:
        self.dataset = dataset
        self.size = (int(size[0]), int(size[1]))
        self.tokenizer = tokenizer
        self.blank = blank
        self.videos: dict[str, CachedVideo] = {}
        self.expressions: list[Expression] = list(dataset.expressions())
        vids = dataset.videos()
        for vid, video in tqdm(vids.items(), desc=f"cache {dataset.name}/{dataset.split}", unit="video",
                               disable=not progress, leave=False):
            small = [to_uint8_small(rgb, self.size) for _, rgb in dataset.iter_frames(vid)]
            if len(small) != video.num_frames:
                raise DataFormatError(getattr(dataset, "root", None), f"decoded {len(small)} frames, the dataset "
                                      f"lists {video.num_frames}", where=f"video {vid}")
            self.videos[vid] = CachedVideo(vid, video.frames, np.stack(small), video.height, video.width)
        texts = ["" if blank else e.text for e in self.expressions]
        self.ids = tokenizer.encode(texts)
        self.ids_flipped = tokenizer.encode([mirror_text(t) for t in texts])
        self.samples: list[Sample] = []
        self.targets: list[np.ndarray] = []
        self.sample_index: dict[tuple[int, int], int] = {}
        self.frames_of_expression: dict[int, list[int]] = {}
        self.anchor_samples: dict[tuple[str, int], list[int]] = {}
        self.anchors: list[tuple[str, int]] = []
        self.frames_of_video: dict[str, list[int]] = {}
        if with_targets:
            self._load_targets()

    def _load_targets(self) -> None:
        labels_cache: dict[tuple[str, str], FrameMasks | None] = {}
        for ei, e in enumerate(self.expressions):
            cv = self.videos.get(e.video_id)
            if cv is None:
                continue
            for name in self.dataset.expression_frames(e):
                key = (e.video_id, name)
                if key not in labels_cache:
                    labels_cache[key] = self.dataset.read_masks(*key)
                lab = labels_cache[key]
                if lab is None or name not in cv.index:
                    continue
                self.targets.append(resize_mask(lab.mask(e.object_ids), self.size))
                s = Sample(ei, e.video_id, cv.index[name], len(self.targets) - 1)
                self.sample_index[(ei, s.frame)] = len(self.samples)
                self.frames_of_expression.setdefault(ei, []).append(s.frame)
                if (e.video_id, s.frame) not in self.anchor_samples:
                    self.anchors.append((e.video_id, s.frame))
                    self.frames_of_video.setdefault(e.video_id, []).append(s.frame)
                self.anchor_samples.setdefault((e.video_id, s.frame), []).append(len(self.samples) - 1)
                self.samples.append(s)
        if not self.samples:
            raise DataFormatError(getattr(self.dataset, "root", None),
                                  f"split {self.dataset.split!r} has no annotated (expression, frame) pair to train on")

    def nbytes(self) -> int:
        return sum(v.frames.nbytes for v in self.videos.values()) + sum(t.nbytes for t in self.targets)

    # ------------------------------------------------------------------ batches

    def _target(self, ei: int, frame: int) -> tuple[np.ndarray, float]:
        si = self.sample_index.get((ei, frame))
        if si is None:
            return np.zeros(self.size, dtype=np.uint8), 0.0
        return self.targets[self.samples[si].target], 1.0

    def _pick(self, rng: np.random.Generator, clips: int, max_expressions: int
              ) -> list[tuple[str, int, list[int]]]:
        """`clips` annotated (video, frame) anchors, each with up to `max_expressions` of the expressions scored
        there. Several expressions of one video share the clip (encoded once), and in "similar" videos they are
        the hard negatives of each other: same frames, different targets."""
        out = []
        for p in rng.integers(0, len(self.anchors), size=clips):
            vid, frame = self.anchors[int(p)]
            ss = self.anchor_samples[(vid, frame)]
            if len(ss) > max_expressions:
                ss = sorted(int(i) for i in rng.choice(ss, size=max_expressions, replace=False))
            out.append((vid, frame, list(ss)))
        return out

    def _add_rows(self, rows: tuple[list, list, list, list], clip_index: int, ss: list[int], idx: list[int],
                  flip: bool, valid: list[float] | None = None) -> None:
        """Append, per sampled expression `ss` of clip `clip_index`, its (mirrored when `flip`) targets on frames
        `idx`, their loss weights (times `valid`), its token ids and the clip index to `rows`."""
        tg, wt, ids, vidx = rows
        for si in ss:
            ei = self.samples[si].expression
            tw = [self._target(ei, i) for i in idx]
            tg.append(_flip(np.stack([t for t, _ in tw]), flip))
            wt.append([w for _, w in tw] if valid is None else [w * vv for (_, w), vv in zip(tw, valid, strict=True)])
            ids.append(self.ids_flipped[ei] if flip else self.ids[ei])
            vidx.append(clip_index)

    def locater_batch(self, rng: np.random.Generator, clips: int, clip: int, global_frames: int,
                      frame_difference: bool, max_expressions: int = 4, hflip: float = 0.0
                      ) -> dict[str, torch.Tensor]:
        """Clips of `clip` consecutive frames holding a sampled annotated frame (`clip_window`), plus
        `global_frames` frames drawn one per equal segment of the whole video; expressions of the clip's video
        with `video_index`. Loss weights are 1 on the annotated frames of the clip where the expression is scored.
        With probability `hflip` a clip is mirrored, frames, masks and the words left/right alike
        (`mirror_text`)."""
        from lvsbench.models.locater import global_indices

        fr, pf, gf, gp = [], [], [], []
        rows: tuple[list, list, list, list] = ([], [], [], [])
        for ci, (vid, frame, ss) in enumerate(self._pick(rng, clips, max_expressions)):
            cv = self.videos[vid]
            flip = hflip > 0 and rng.random() < hflip
            t_idx = clip_window(frame, clip, len(cv.names))
            g_idx = global_indices(len(cv.names), global_frames, rng)
            fr.append(_flip(cv.frames[t_idx], flip))
            gf.append(_flip(cv.frames[g_idx], flip))
            if frame_difference:
                pf.append(_flip(cv.frames[[max(0, i - 1) for i in t_idx]], flip))
                gp.append(_flip(cv.frames[[max(0, i - 1) for i in g_idx]], flip))
            self._add_rows(rows, ci, ss, t_idx, flip)
        out = {"frames": torch.from_numpy(np.stack(fr)), "global_frames": torch.from_numpy(np.stack(gf)),
               **_rows_tensors(*rows)}
        if frame_difference:
            out["prev_frames"] = torch.from_numpy(np.stack(pf))
            out["global_prev"] = torch.from_numpy(np.stack(gp))
        return out

    def urvos_batch(self, rng: np.random.Generator, clips: int, memory: int, max_expressions: int = 4,
                    hflip: float = 0.0) -> dict[str, torch.Tensor]:
        """A sampled annotated target frame plus up to `memory` other annotated frames of the same video, with each
        expression's ground-truth masks there (URVOS trains its memory attention on reference frames with known
        masks). `valid` marks real reference frames, `weights` the frames where the expression is scored."""
        fr, valid = [], []
        rows: tuple[list, list, list, list] = ([], [], [], [])
        for ci, (vid, frame, ss) in enumerate(self._pick(rng, clips, max_expressions)):
            cv = self.videos[vid]
            flip = hflip > 0 and rng.random() < hflip
            others = [f for f in self.frames_of_video[vid] if f != frame]
            chosen = [int(c) for c in rng.permutation(others)[:memory]] if others else []
            v = [1.0] * (1 + len(chosen)) + [0.0] * (memory - len(chosen))
            idx = [frame, *chosen, *([frame] * (memory - len(chosen)))]
            fr.append(_flip(cv.frames[idx], flip))
            self._add_rows(rows, ci, ss, idx, flip, v)
            valid.extend([v] * len(ss))
        return {"frames": torch.from_numpy(np.stack(fr)), "valid": torch.tensor(valid, dtype=torch.float32),
                **_rows_tensors(*rows)}


def _rows_tensors(tg: list, wt: list, ids: list, vidx: list) -> dict[str, torch.Tensor]:
    return {"targets": torch.from_numpy(np.stack(tg)), "weights": torch.tensor(wt, dtype=torch.float32),
            "ids": torch.from_numpy(np.stack(ids)), "video_index": torch.tensor(vidx, dtype=torch.long)}


def clip_window(frame: int, clip: int, num_frames: int) -> list[int]:
    """Indices of the `clip` consecutive frames that end at `frame`, or, where the video starts less than `clip`
    frames before it, the first `clip` frames (so a clip never repeats frame 0 when the video has enough frames:
    the local memory is written once per frame in training as at inference). Frames past the end repeat the last
    one (videos shorter than a clip)."""
    start = max(0, min(frame - clip + 1, num_frames - clip))
    return [min(num_frames - 1, start + i) for i in range(clip)]


_MIRROR = {"left": "right", "right": "left"}
_MIRROR_RE = re.compile(r"\b(left|right)\b", re.IGNORECASE)


def mirror_text(text: str) -> str:
    """The expression of the horizontally mirrored video: "left" and "right" swapped (as MTTR's flip augmentation
    does), everything else unchanged."""
    def swap(m: re.Match[str]) -> str:
        w = _MIRROR[m.group(1).lower()]
        return w.capitalize() if m.group(1)[0].isupper() else w

    return _MIRROR_RE.sub(swap, text)


def _flip(arr: np.ndarray, flip: bool) -> np.ndarray:
    """Mirror the last axis (width) of frames [..., H, W] when `flip`."""
    return np.ascontiguousarray(arr[..., ::-1]) if flip else arr


def expression_texts(dataset: Dataset) -> Sequence[str]:
    return [e.text for e in dataset.expressions()]


__all__ = ["CachedVideo", "FrameCache", "Sample", "clip_window", "expression_texts", "mirror_text", "normalise",
           "resize_mask", "resize_uint8", "to_uint8_small"]
