"""Inference over whole videos and a self-contained mean-IoU check for the reference models.

`predict_video` is the one inference path (the adapters call the same model methods, frame by frame). `evaluate`
scores a model against a dataset split with the scorer's sample accumulator of a per-sample protocol (default a2d:
MTTR's `metrics.py`, mttr2021/MTTR): per (expression, annotated frame) sample, the probability map is resized
bilinearly to the frame size and thresholded at > 0.5, IoU = (I + 1e-6) / (U + 1e-6) in float32; mean IoU is the
mean over samples and overall IoU is sum(I) / sum(U) (NaN when every union is empty). It exists so that training can
report a number on its own; the reference numbers in docs/models.md come from `lvsbench score --protocol a2d`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from lvsbench.core.errors import ConfigError
from lvsbench.datasets.base import Dataset
from lvsbench.models.data import normalise, resize_uint8
from lvsbench.models.locater import Locater, global_indices
from lvsbench.models.urvos import Urvos, confidence


def texts_for(bundle: Any, texts: Sequence[str]) -> list[str]:
    """The language-blind control model sees "" for every expression, at inference as in training."""
    return ["" for _ in texts] if bundle.blank else list(texts)


@torch.no_grad()
def predict_video(bundle: Any, frames_u8: torch.Tensor, texts: Sequence[str], device: str | torch.device = "cpu"
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """frames_u8 [T, 3, H, W] uint8 (any size) -> foreground probabilities [B, T, h, w] at the model size and
    per-frame confidences [B, T] for the B texts."""
    dev = torch.device(device)
    small = resize_uint8(frames_u8.to(dev), bundle.size)
    x = normalise(small)
    ids = torch.from_numpy(bundle.tokenizer.encode(texts_for(bundle, texts))).to(dev)
    model = bundle.model
    if isinstance(model, Locater):
        t_len = x.shape[0]
        g = global_indices(t_len, model.cfg.global_frames)
        gprev = x[[max(0, i - 1) for i in g]] if model.cfg.frame_difference else None
        state = model.begin(ids, x[g], gprev)
        probs = []
        for t in range(t_len):
            logits, state = model.step(x[t], state)
            probs.append(torch.sigmoid(logits.float()))
        p = torch.stack(probs, dim=1)
        return p, confidence(p)
    if isinstance(model, Urvos):
        p, conf, _ = model.segment_video(x, ids)
        return p, conf
    raise TypeError(f"unsupported model {type(model).__name__}")


@dataclass
class EvalResult:
    """The scored samples (video, exp_id, frame), in order, and their (I, U, IoU) in the protocol's sample
    accumulator (keyed by the sample's position)."""

    accumulator: Any
    samples: list[dict[str, Any]] = field(default_factory=list)

    def summary(self, keep: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        ids = [n for n, r in enumerate(self.samples) if keep is None or keep(r)]
        if not ids:
            return {"samples": 0}
        r = self.accumulator.select(ids).compute()
        return {"samples": len(ids), "mean_iou": r["mean_iou"], "overall_iou": r["overall_iou"],
                **{f"P@{k}": r[f"P@{k}"] for k in (0.5, 0.7, 0.9)}}


@torch.no_grad()
def evaluate(bundle: Any, dataset: Dataset, device: str = "cpu", progress: bool = False,
             videos: Sequence[str] | None = None, protocol: str = "a2d") -> EvalResult:
    """Predict every expression of `dataset` (or of `videos`) and score it on its annotated frames with the sample
    accumulator of `protocol` (a per-sample protocol: a2d, jhmdb, a2d-plus), as `lvsbench score` does."""
    from lvsbench.protocols import get_protocol
    from lvsbench.scoring.evaluate import FAMILIES

    kind = FAMILIES.get(get_protocol(protocol).family)
    if kind is None or kind.samples is None:
        raise ConfigError(f"protocol {protocol} is not scored per sample; use a2d, jhmdb or a2d-plus")
    res = EvalResult(kind.samples(sort=True))
    vids = dataset.videos()
    todo = [v for v in vids if videos is None or v in set(videos)]
    for vid in tqdm(todo, desc="evaluate", unit="video", disable=not progress, leave=False):
        exps = dataset.video_expressions(vid)
        if not exps:
            continue
        names = vids[vid].frames
        frames = np.stack([rgb for _, rgb in dataset.iter_frames(vid)])
        fu8 = torch.from_numpy(frames).permute(0, 3, 1, 2)
        probs, _ = predict_video(bundle, fu8, [e.text for e in exps], device)
        index = {n: i for i, n in enumerate(names)}
        h, w = frames.shape[1:3]
        for bi, e in enumerate(exps):
            for fname in dataset.expression_frames(e):
                lab = dataset.read_masks(vid, fname)
                if lab is None or fname not in index:
                    continue
                p = probs[bi, index[fname]][None, None].float()
                up = F.interpolate(p, size=(h, w), mode="bilinear", align_corners=False)[0, 0].cpu().numpy() > 0.5
                res.accumulator.update(len(res.samples), lab.mask(e.object_ids), up)
                res.samples.append({"video": vid, "exp_id": e.id, "frame": fname})
    return res


def similar_videos_synthetic_a2d(videos: int, seed: int = 0, height: int = 160, width: int = 240,
                                 frames: int = 24) -> set[str]:
    """Ids of the videos of `lvsbench synth a2d` (same arguments) with several actors of the same class and
    colour: there only motion or position words tell the actors apart, so a language-blind model can only guess.
    Re-runs the deterministic generator (`lvsbench.synth.a2d.generate`), which knows each actor's colour."""
    from lvsbench.synth.a2d import generate

    out = set()
    for plan in generate(videos, seed, height, width, frames):
        kinds = [(a.cls, a.colour) for a in plan.scene.actors]
        if len(set(kinds)) < len(kinds):
            out.add(plan.vid)
    return out


def per_sample_summary(per_sample_csv: str | Path, videos: set[str] | None = None, exclude: bool = False
                       ) -> dict[str, Any]:
    """Mean / overall IoU of the rows of `lvsbench score --per-sample` (A2D protocol: columns video_id, inter,
    union, iou) whose video is in `videos` (or not in it, with `exclude`)."""
    import csv

    rows = []
    with open(per_sample_csv, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if videos is None or ((r["video_id"] in videos) != exclude):
                rows.append(r)
    if not rows:
        return {"samples": 0}
    ious = np.array([float(r["iou"]) for r in rows])
    return {"samples": len(rows), "mean_iou": float(ious.mean()),
            "overall_iou": float(sum(float(r["inter"]) for r in rows) / max(1.0, sum(float(r["union"]) for r in rows))),
            "P@0.5": float((ious > 0.5).mean())}


__all__ = ["EvalResult", "evaluate", "per_sample_summary", "predict_video", "similar_videos_synthetic_a2d",
           "texts_for"]
