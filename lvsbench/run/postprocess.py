"""Adapter answers -> what writers take: validate a `Prediction`, resize its masks to the frame size (on the
tensor's device), threshold probabilities, and pick the top-1 candidate with the metrics' rule
(`lvsbench.metrics.referring.top1`: highest score, last listed among ties, MTTR)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lvsbench.adapters.base import Prediction
from lvsbench.core.errors import ConfigError
from lvsbench.formats.base import FrameOutput
from lvsbench.metrics.referring import top1


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    if _is_torch(x):
        import torch

        x = x.detach()
        if x.dtype in (torch.bfloat16, torch.float16):
            x = x.float()
        return x.cpu().numpy()
    return np.asarray(x)


def _is_float(x: Any) -> bool:
    if _is_torch(x):
        return bool(x.is_floating_point())
    return np.issubdtype(np.asarray(x).dtype, np.floating)


def _resize_stack(x: Any, h: int, w: int, probs: bool) -> Any:
    """Resize (N, h', w') masks to (N, h, w): bilinear (align_corners=False) for probabilities, nearest for binary.
    torch tensors are resized on their device; numpy arrays with PIL."""
    if tuple(x.shape[-2:]) == (h, w):
        return x
    if _is_torch(x):
        import torch.nn.functional as F  # noqa: N812

        y = x[:, None].float()
        y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False) if probs else \
            F.interpolate(y, size=(h, w), mode="nearest")
        return y[:, 0] if probs else y[:, 0] > 0.5
    from PIL import Image

    arr = np.asarray(x)
    out = np.empty((arr.shape[0], h, w), dtype=np.float32 if probs else bool)
    for i in range(arr.shape[0]):
        if probs:
            out[i] = np.asarray(Image.fromarray(arr[i].astype(np.float32), mode="F").resize((w, h),
                                                                                             Image.BILINEAR))
        else:
            img = Image.fromarray((arr[i] != 0).astype(np.uint8) * 255, mode="L").resize((w, h), Image.NEAREST)
            out[i] = np.asarray(img) > 127
    return out


def prepare_masks(x: Any, h: int, w: int, threshold: float, keep_probs: bool,
                  where: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, h', w') masks from an adapter -> (binary bool (N, H, W), probabilities float32 or None)."""
    if x is None:
        raise ConfigError(f"{where}: no masks")
    if len(x.shape) != 3:
        raise ConfigError(f"{where}: masks must be (T, H, W), got shape {tuple(x.shape)}")
    if _is_float(x):
        lo, hi = (float(v) for v in ((x.min(), x.max()) if x.numel() else (0, 0))) if _is_torch(x) else (
            (float(np.min(x)), float(np.max(x))) if np.asarray(x).size else (0.0, 0.0))
        if lo < 0.0 or hi > 1.0:
            raise ConfigError(f"{where}: float masks must be probabilities in [0, 1], got values in "
                              f"[{lo:.4g}, {hi:.4g}] (apply a sigmoid to logits)")
        p = _resize_stack(x, h, w, probs=True)
        binary = _to_numpy(p > threshold)
        return binary.astype(bool, copy=False), (_to_numpy(p).astype(np.float32, copy=False) if keep_probs else None)
    b = _resize_stack(x, h, w, probs=False)
    binary = _to_numpy(b).astype(bool, copy=False)
    return binary, (binary.astype(np.float32) if keep_probs else None)


def _take(x: Any, idx: list[int]) -> Any:
    """Rows `idx` of an array or tensor (no copy when all rows are kept in order)."""
    if len(idx) == x.shape[0] and idx == list(range(len(idx))):
        return x
    if _is_torch(x):
        import torch

        return x[torch.as_tensor(idx, device=x.device, dtype=torch.long)]
    return np.asarray(x)[idx]


def process_prediction(pred: Prediction, clip_len: int, h: int, w: int, threshold: float, keep_probs: bool,
                       want_candidates: bool, where: str, keep: list[int] | None = None) -> list[FrameOutput]:
    """Validate one `Prediction` and convert the frames at positions `keep` (default: all) into per-frame outputs
    at the frame size. Frames that are not kept are never resized or copied."""
    if not isinstance(pred, Prediction):
        raise ConfigError(f"{where}: predict must return Prediction objects, got {type(pred).__name__}")
    keep = list(range(clip_len)) if keep is None else list(keep)
    n = len(keep)
    cand_bin = cand_scores = cand_probs = None
    if pred.candidates is not None:
        c = pred.candidates
        if len(c.shape) != 4 or c.shape[0] != clip_len:
            raise ConfigError(f"{where}: candidates must be (T={clip_len}, K, H, W), got {tuple(c.shape)}")
        k = int(c.shape[1])
        cand_scores = _to_numpy(pred.candidate_scores).astype(np.float64).reshape(clip_len, -1)
        if cand_scores.shape != (clip_len, k):
            raise ConfigError(f"{where}: candidate_scores must be ({clip_len}, {k}), got {cand_scores.shape}")
        if not np.all(np.isfinite(cand_scores)):
            raise ConfigError(f"{where}: candidate_scores must be finite")
        cand_scores = cand_scores[keep]
        c = _take(c, keep)
        if n:
            b, p = prepare_masks(c.reshape(n * k, *c.shape[2:]), h, w, threshold, keep_probs, where)
            cand_bin = b.reshape(n, k, h, w)
            cand_probs = p.reshape(n, k, h, w) if p is not None else None
        else:
            cand_bin = np.zeros((0, k, h, w), dtype=bool)
    if pred.masks is not None:
        if pred.masks.shape[0] != clip_len:
            raise ConfigError(f"{where}: {pred.masks.shape[0]} masks for a clip of {clip_len} frames")
        if n:
            masks, probs = prepare_masks(_take(pred.masks, keep), h, w, threshold, keep_probs, where)
        else:
            masks, probs = np.zeros((0, h, w), dtype=bool), None
    else:
        assert cand_bin is not None and cand_scores is not None
        idx = [top1([(None, s) for s in cand_scores[t]]) for t in range(n)]
        masks = np.stack([cand_bin[t, i] for t, i in enumerate(idx)]) if n else np.zeros((0, h, w), dtype=bool)
        probs = np.stack([cand_probs[t, i] for t, i in enumerate(idx)]) if cand_probs is not None and n else None
    if pred.scores is not None:
        scores = _to_numpy(pred.scores).astype(np.float64).reshape(-1)
        if scores.shape != (clip_len,):
            raise ConfigError(f"{where}: scores must be ({clip_len},), got {scores.shape}")
        scores = scores[keep]
    elif cand_scores is not None:
        scores = np.array([cand_scores[t, top1([(None, s) for s in cand_scores[t]])] for t in range(n)])
    else:
        scores = np.ones(n)
    if not np.all(np.isfinite(scores)):
        raise ConfigError(f"{where}: scores must be finite")
    out = []
    for t in range(n):
        cands = None
        if want_candidates and cand_bin is not None and cand_scores is not None:
            cands = [(cand_bin[t, j], float(cand_scores[t, j])) for j in range(cand_bin.shape[1])]
        out.append(FrameOutput(masks[t], float(scores[t]), None if probs is None else probs[t], cands))
    return out


__all__ = ["prepare_masks", "process_prediction"]
