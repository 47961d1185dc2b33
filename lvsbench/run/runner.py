"""`lvsbench run`: stream a dataset through an adapter and write predictions that `lvsbench score` reads.

What the runner owns (the adapter only answers `predict` calls, see `lvsbench.adapters.base`):

- **Streaming.** One video at a time; frames are decoded in a worker thread (and pinned on CUDA) while the adapter
  computes on the previous clip; only the frames a clip needs are held. Outputs are written as they come.
- **Formats.** The output directory PREDS holds the format of the dataset's protocol: `Annotations/<vid>/<exp>/
  <frame>.png` (Refer-YouTube-VOS / MeViS style PNG tree, 0/255), `coco_results.json` (A2D / J-HMDB COCO results
  with RLE and scores, every candidate), or `anno_<k>/<seq>/<frame>.png` (Ref-DAVIS17 palettes per annotator,
  ReferFormer's `inference_davis.py` composition: probabilities < 0.5 dropped, background 0.1, argmax).
  Beside them: `run.json` (provenance, timing, memory), `run_log.jsonl` (one line per finished unit),
  `run_parts/` (per-unit scores and COCO fragments; needed by resume and merge) and `frame_scores.csv`.
- **Atomic units and resume.** A unit is one expression (one annotator setting of a video for Ref-DAVIS17, whose
  palettes combine that setting's expressions). Its files are written atomically, then its part file, then its
  "done" line is appended to the log (flushed and fsynced). `--resume` skips units whose done line and part file
  exist and records the skip; a half-finished unit is recomputed and its files overwritten.
- **Sharding.** `--shard I/N` (and a rank of a torchrun / Slurm launch, `lvsbench.run.distributed`) takes whole videos,
  balanced by frames (`assign_videos`); `merge` joins shard directories into one output identical to an
  unsharded run (COCO results are assembled in dataset order, not completion order).
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import os
import platform
import queue
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench import __version__
from lvsbench.adapters.base import Adapter, Capabilities, Clip, Prediction, Query, SetupContext, VideoHandle
from lvsbench.core.errors import ConfigError, DataFormatError, LvsbenchError
from lvsbench.core.io import (
    atomic_write_json,
    atomic_write_text,
    mark_output_dir,
    prepare_output_dir,
    remove_interrupted_writes,
    sha256_file,
    sha256_tree,
    to_jsonable,
)
from lvsbench.core.records import Expression
from lvsbench.core.textfiles import load_json, read_text
from lvsbench.datasets.base import Dataset
from lvsbench.formats.predictions import COCO_RESULTS_NAME, RUN_RECORD_FILES

RUN_JSON, RUN_LOG, SCORE_JSON = RUN_RECORD_FILES
PARTS_DIR = "run_parts"
FRAME_SCORES = "frame_scores.csv"
COCO_FILE = COCO_RESULTS_NAME
PNG_DIR = "Annotations"
RUN_FORMAT_VERSION = 1
SHARD_RULE = "frames"
"""Name of the shard assignment rule (`assign_videos`), recorded with the shard in run.json."""

PROTOCOL_FORMATS: dict[str, str] = {
    "a2d": "coco-json",
    "jhmdb": "coco-json",
    "ryvos": "png-tree",
    "a2d-plus": "png-tree",
    "rdavis": "davis-anno",
    "rdavis-aligned": "davis-anno",
    "davis-semi": "davis-anno",
    "mevis": "png-tree",
    "mevis-v2": "png-tree",
    "revos": "png-tree",
    "revos-visa-png": "png-tree",
    "refsav": "rle-json",
    "long-rvos": "png-tree",
    "reasonvos": "png-tree",
}
"""Which prediction format each scoring protocol reads (see docs/protocols.md)."""
RUN_FORMATS = ("png-tree", "coco-json", "davis-anno", "rle-json")
RLE_FILE = "results.json"
"""Sa2VA's per-expression RLE results JSON (`lvsbench.formats.rle_results`), written by the `rle-json` sink."""

# ============================================================================================ dataset facts


def dataset_protocol(dataset: Dataset) -> str:
    """The protocol a dataset is scored with by default: its card's `default_protocol` for our layout, else its
    name (a2d, jhmdb, ryvos, rdavis)."""
    card = getattr(dataset, "card", None)
    if isinstance(card, dict) and card.get("default_protocol"):
        return str(card["default_protocol"])
    name = str(getattr(dataset, "name", ""))
    return name if name in PROTOCOL_FORMATS else "ryvos"


def default_format(dataset: Dataset) -> str:
    return PROTOCOL_FORMATS.get(dataset_protocol(dataset), "png-tree")


def coco_image_id(protocol: str, expression: Expression, frame: str) -> str:
    """COCO image id of an expression's frame: A2D `v_<vid>_f_<frame>_i_<instance>` (instance = object id - 1),
    J-HMDB `v_<vid>_f_<frame>` (MTTR's `create_gt_in_coco_format.py`)."""
    from lvsbench.formats.predictions import a2d_image_id, jhmdb_image_id

    if protocol == "jhmdb":
        return jhmdb_image_id(expression.video_id, frame)
    if len(expression.object_ids) != 1:
        raise ConfigError(f"expression {expression.video_id}/{expression.id}: A2D COCO ids need exactly one "
                          f"object, got {expression.object_ids}")
    return a2d_image_id(expression.video_id, frame, expression.object_ids[0])


def davis_annotator(expression: Expression) -> int:
    """Annotator setting of a Refer-DAVIS17 expression: id = 4k + a (ReferFormer `create_meta_expressions`)."""
    try:
        return int(expression.id) % 4
    except ValueError:
        raise ConfigError(f"expression {expression.video_id}/{expression.id}: Ref-DAVIS17 expression ids must be "
                          "integers 4k + annotator") from None


def davis_label(expression: Expression) -> int:
    """Palette index written for a Refer-DAVIS17 expression: its object id, so the output scores under both
    `rdavis` (Hungarian matching, invariant to the labelling) and `rdavis-aligned` / `davis-semi` (value v is the
    referent with object id v). ReferFormer writes k + 1 for expression 4k + a (k = position of the object among the
    video's objects sorted by the string id), which is the same whenever a video's ids are 1..N with N < 10."""
    if len(expression.object_ids) != 1:
        raise ConfigError(f"expression {expression.video_id}/{expression.id}: a palette needs one object per "
                          f"expression, got {expression.object_ids}")
    return int(expression.object_ids[0])


# ============================================================================================ options


@dataclass
class RunOptions:
    """Everything `lvsbench run` takes besides the adapter and the dataset."""

    out: Path
    device: str = "auto"
    batch_frames: int = 8
    batch_expressions: int | None = None
    shard: tuple[int, int] = (0, 1)
    limit: int | None = None
    resume: bool = False
    force: bool = False
    checkpoint: Path | None = None
    format: str | None = None
    seed: int = 0
    threshold: float = 0.5
    bf16: bool = True
    progress: bool = True
    prefetch: int = 2
    dataset_root: str | None = None
    dataset_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        if self.batch_frames < 1:
            raise ConfigError(f"--batch-frames must be >= 1, got {self.batch_frames}")
        if self.batch_expressions is not None and self.batch_expressions < 1:
            raise ConfigError(f"--batch-expressions must be >= 1, got {self.batch_expressions}")
        i, n = self.shard
        if n < 1 or not 0 <= i < n:
            raise ConfigError(f"--shard {i}/{n}: need 0 <= I < N")
        if self.limit is not None and self.limit < 0:
            raise ConfigError(f"--limit must be >= 0, got {self.limit}")
        if self.format is not None and self.format not in RUN_FORMATS:
            raise ConfigError(f"--format {self.format!r}: choose from {', '.join(RUN_FORMATS)}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in [0, 1], got {self.threshold}")


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N), 0-based I."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r}: expected I/N, e.g. 0/4") from None
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"--shard {text!r}: need 0 <= I < N")
    return i, n


# ============================================================================================ units


@dataclass(frozen=True)
class Unit:
    """What is written atomically and resumed as one: an expression, or one annotator setting of a Ref-DAVIS17
    video (its expressions share palette files). `order` is the position in the dataset, used to assemble
    outputs in the same order whatever the sharding."""

    order: int
    video_id: str
    expressions: tuple[Expression, ...]
    group: int | None = None

    @property
    def exp_ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.expressions)

    @property
    def part_name(self) -> str:
        return f"{self.order:07d}.json"


def build_units(dataset: Dataset, fmt: str) -> list[Unit]:
    """Units of a dataset in dataset order (videos in `videos()` order, expressions in `expressions()` order)."""
    videos = dataset.videos()
    by_video: dict[str, list[Expression]] = {}
    for e in dataset.expressions():
        if e.video_id not in videos:
            raise DataFormatError(getattr(dataset, "root", None), f"expression {e.id} refers to unknown video "
                                  f"{e.video_id}")
        by_video.setdefault(e.video_id, []).append(e)
    units: list[Unit] = []
    for vid in videos:
        exprs = by_video.get(vid, [])
        if fmt == "davis-anno":
            groups: dict[int, list[Expression]] = {}
            for e in exprs:
                groups.setdefault(davis_annotator(e), []).append(e)
            for a in sorted(groups):
                units.append(Unit(len(units), vid, tuple(groups[a]), a))
        else:
            for e in exprs:
                units.append(Unit(len(units), vid, (e,)))
    return units


def assign_videos(frame_counts: Mapping[str, int], n: int) -> dict[str, int]:
    """Shard of each video for N shards, balanced by frames rather than by video count: videos are taken longest
    first (dataset order breaks ties) and each goes to the shard with the fewest frames so far (lowest index breaks
    ties), the longest-processing-time rule. Deterministic: it depends only on the video list, the frame counts
    and N, so every rank (and every rerun) computes the same assignment without talking to the others."""
    if n < 1:
        raise ConfigError(f"shard count must be >= 1, got {n}")
    names = list(frame_counts)
    if n == 1:
        return dict.fromkeys(names, 0)
    order = sorted(range(len(names)), key=lambda k: (-frame_counts[names[k]], k))
    load = [0] * n
    owner: dict[str, int] = {}
    for k in order:
        s = min(range(n), key=lambda j: (load[j], j))
        owner[names[k]] = s
        load[s] += frame_counts[names[k]]
    return {v: owner[v] for v in names}


def shard_identity(shard: tuple[int, int]) -> list[Any]:
    """How a shard is recorded in run.json: `[I, N, "frames"]` names the assignment rule, so a directory sharded
    by another rule (earlier versions took video index mod N) is refused on --resume and merge instead of mixing
    units."""
    i, n = shard
    return [i, n] if n == 1 else [i, n, SHARD_RULE]


def select_units(units: list[Unit], frame_counts: Mapping[str, int], shard: tuple[int, int],
                 limit: int | None) -> list[Unit]:
    """Units of shard I/N (`assign_videos`: whole videos, balanced by frames), then the first units covering
    `limit` expressions."""
    i, n = shard
    owner = assign_videos(frame_counts, n)
    mine = [u for u in units if owner[u.video_id] == i]
    if limit is None:
        return mine
    out, count = [], 0
    for u in mine:
        if count >= limit:
            break
        out.append(u)
        count += len(u.expressions)
    return out


def video_frame_counts(dataset: Dataset) -> dict[str, int]:
    """Frames of every video, in dataset order: the cost `assign_videos` balances."""
    return {vid: len(v.frames) for vid, v in dataset.videos().items()}


# ============================================================================================ environment


def environment(device: str) -> dict[str, Any]:
    """Versions recorded in run.json. torch is imported only if some adapter already imported it."""
    from importlib import metadata

    env: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                           "lvsbench": __version__, "numpy": np.__version__}
    try:
        env["torch"] = metadata.version("torch")
    except metadata.PackageNotFoundError:
        env["torch"] = None
    torch = sys.modules.get("torch")
    if torch is not None:
        env["torch"] = torch.__version__
        env["cuda"] = torch.version.cuda
        env["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        if device.startswith("cuda") and torch.cuda.is_available():
            idx = torch.device(device).index or 0
            env["gpu"] = torch.cuda.get_device_name(idx)
            env["gpu_memory_bytes"] = torch.cuda.get_device_properties(idx).total_memory
    return env


def resolve_device(requested: str, caps: Capabilities) -> str:
    """`auto` is CUDA when the adapter uses torch and a GPU is visible, else CPU; `cuda` without a GPU is an
    error; an adapter that does not list the device kind refuses it."""
    requested = requested.lower()
    if requested == "auto":
        device = "cpu"
        if caps.needs_torch and "cuda" in caps.devices:
            try:
                import torch
            except ImportError:
                torch = None  # type: ignore[assignment]
            if torch is not None and torch.cuda.is_available():
                device = "cuda"
        return device
    kind = requested.split(":")[0]
    if kind not in ("cpu", "cuda"):
        raise ConfigError(f"--device {requested!r}: choose auto, cpu, cuda or cuda:N")
    if kind == "cuda":
        try:
            import torch
        except ImportError:
            raise ConfigError("--device cuda needs torch: pip install 'lvsbench[models]'") from None
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is visible (torch.cuda.is_available() is False)")
    if kind not in caps.devices:
        raise ConfigError(f"--device {requested}: this adapter runs on {', '.join(sorted(caps.devices))}")
    return requested


def _rss_peak_bytes() -> int:
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak) * (1 if sys.platform == "darwin" else 1024)
    except (ImportError, OSError):  # pragma: no cover - non-POSIX
        return 0


def checkpoint_sha256(path: Path | None) -> str | None:
    if path is None:
        return None
    if not path.exists():
        raise ConfigError(f"--checkpoint {path}: not found")
    return sha256_file(path) if path.is_file() else sha256_tree(path)


# ============================================================================================ array helpers


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


def top1_index(scores: np.ndarray) -> int:
    """Highest score, the last listed among ties (MTTR `sorted(preds, key=score)[-1]`)."""
    s = np.asarray(scores)
    return int(len(s) - 1 - np.argmax(s[::-1]))


@dataclass
class FrameOutput:
    """One query's processed answer on one frame."""

    mask: np.ndarray
    score: float
    prob: np.ndarray | None = None
    candidates: list[tuple[np.ndarray, float]] | None = None


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
        idx = [top1_index(cand_scores[t]) for t in range(n)]
        masks = np.stack([cand_bin[t, i] for t, i in enumerate(idx)]) if n else np.zeros((0, h, w), dtype=bool)
        probs = np.stack([cand_probs[t, i] for t, i in enumerate(idx)]) if cand_probs is not None and n else None
    if pred.scores is not None:
        scores = _to_numpy(pred.scores).astype(np.float64).reshape(-1)
        if scores.shape != (clip_len,):
            raise ConfigError(f"{where}: scores must be ({clip_len},), got {scores.shape}")
        scores = scores[keep]
    elif cand_scores is not None:
        scores = np.array([cand_scores[t, top1_index(cand_scores[t])] for t in range(n)])
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


# ============================================================================================ sinks


class Sink:
    """Writes one format. Files of a unit are written as its frames arrive; `unit_part` returns what the unit's
    part file keeps (scores, COCO fragments)."""

    fmt = ""
    keep_probs = False
    want_candidates = False

    def __init__(self, out: Path, protocol: str) -> None:
        self.out = out
        self.protocol = protocol

    def add_frames(self, video: VideoHandle, units: list[Unit], outputs: dict[str, dict[str, FrameOutput]]) -> None:
        raise NotImplementedError

    def unit_part(self, unit: Unit) -> dict[str, Any]:
        return {}

    def finalize(self, parts: list[dict[str, Any]]) -> None:
        """Assemble whole-run files from the part files (called at the end of every session and by merge)."""


class PngTreeSink(Sink):
    """`Annotations/<vid>/<exp_id>/<frame>.png`, 0/255 (Refer-YouTube-VOS submission layout). ReasonVOS names the
    video folder `<source>_<video>_<obj_id>` (VideoLISA's layout, `ReasonVOSDataset.prediction_video`)."""

    fmt = "png-tree"

    def __init__(self, out: Path, protocol: str, folder: Callable[[Expression], str] | None = None) -> None:
        super().__init__(out, protocol)
        self.folder = folder or (lambda e: e.video_id)
        self._scores: dict[tuple[str, str], list[tuple[str, float]]] = {}

    def add_frames(self, video: VideoHandle, units: list[Unit], outputs: dict[str, dict[str, FrameOutput]]) -> None:
        from lvsbench.formats.predictions import write_png_prediction

        for u in units:
            for e in u.expressions:
                for frame, fo in outputs.get(e.id, {}).items():
                    write_png_prediction(self.out / PNG_DIR, self.folder(e), e.id, frame, fo.mask)
                    self._scores.setdefault((video.id, e.id), []).append((frame, fo.score))

    def unit_part(self, unit: Unit) -> dict[str, Any]:
        return {"scores": {e.id: self._scores.pop((unit.video_id, e.id), []) for e in unit.expressions}}


class CocoSink(Sink):
    """COCO results: every candidate of every scored frame, with its score (A2D / J-HMDB)."""

    fmt = "coco-json"
    want_candidates = True

    def __init__(self, out: Path, protocol: str) -> None:
        super().__init__(out, protocol)
        self._results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._scores: dict[tuple[str, str], list[tuple[str, float]]] = {}

    def add_frames(self, video: VideoHandle, units: list[Unit], outputs: dict[str, dict[str, FrameOutput]]) -> None:
        from lvsbench.formats.predictions import coco_result

        for u in units:
            for e in u.expressions:
                for frame, fo in outputs.get(e.id, {}).items():
                    image_id = coco_image_id(self.protocol, e, frame)
                    res = self._results.setdefault((video.id, e.id), [])
                    if fo.candidates:
                        res.extend(coco_result(image_id, m, s) for m, s in fo.candidates)
                    else:
                        res.append(coco_result(image_id, fo.mask, fo.score))
                    self._scores.setdefault((video.id, e.id), []).append((frame, fo.score))

    def unit_part(self, unit: Unit) -> dict[str, Any]:
        return {"scores": {e.id: self._scores.pop((unit.video_id, e.id), []) for e in unit.expressions},
                "coco": {e.id: self._results.pop((unit.video_id, e.id), []) for e in unit.expressions}}

    def finalize(self, parts: list[dict[str, Any]]) -> None:
        from lvsbench.formats.predictions import write_coco_results

        results: list[dict[str, Any]] = []
        for part in parts:
            for eid in part["expressions"]:
                results.extend(part.get("coco", {}).get(eid, []))
        write_coco_results(self.out / COCO_FILE, results)


class DavisSink(Sink):
    """`anno_<k>/<seq>/<frame>.png` palettes: ReferFormer's composition of one annotator's expressions."""

    fmt = "davis-anno"
    keep_probs = True

    def __init__(self, out: Path, protocol: str, threshold: float = 0.5) -> None:
        super().__init__(out, protocol)
        self.threshold = threshold
        self._scores: dict[tuple[str, str], list[tuple[str, float]]] = {}

    def add_frames(self, video: VideoHandle, units: list[Unit], outputs: dict[str, dict[str, FrameOutput]]) -> None:
        from lvsbench.formats.predictions import write_palette_prediction

        for u in units:
            frames = sorted({f for e in u.expressions for f in outputs.get(e.id, {})}, key=video.index)
            for frame in frames:
                stack = [np.full((video.height, video.width), 0.1, dtype=np.float32)]
                labels = [0]
                for e in u.expressions:
                    fo = outputs.get(e.id, {}).get(frame)
                    if fo is None:
                        continue
                    p = fo.prob if fo.prob is not None else fo.mask.astype(np.float32)
                    stack.append(np.where(p < self.threshold, 0.0, p).astype(np.float32))
                    labels.append(davis_label(e))
                    self._scores.setdefault((video.id, e.id), []).append((frame, fo.score))
                idx = np.argmax(np.stack(stack), axis=0)
                label_map = np.asarray(labels, dtype=np.uint8)[idx]
                write_palette_prediction(self.out, u.group, video.id, frame, label_map)

    def unit_part(self, unit: Unit) -> dict[str, Any]:
        return {"scores": {e.id: self._scores.pop((unit.video_id, e.id), []) for e in unit.expressions}}


class RleJsonSink(Sink):
    """Sa2VA's per-expression results JSON (`results.json`: `{video: {exp_id: {"frames", "prediction_masks"}}}`,
    COCO RLE per frame of the expression's frame list), the format `eval_ref_sav.py` / `eval_revos.py` read. Parts
    keep each unit's RLEs; `finalize` writes the file in dataset order."""

    fmt = "rle-json"

    def __init__(self, out: Path, protocol: str) -> None:
        super().__init__(out, protocol)
        self._items: dict[tuple[str, str], list[tuple[str, dict[str, Any], float]]] = {}

    def add_frames(self, video: VideoHandle, units: list[Unit], outputs: dict[str, dict[str, FrameOutput]]) -> None:
        from lvsbench.core.codecs import rle_encode

        for u in units:
            for e in u.expressions:
                for frame, fo in outputs.get(e.id, {}).items():
                    self._items.setdefault((video.id, e.id), []).append((frame, rle_encode(fo.mask), fo.score))

    def unit_part(self, unit: Unit) -> dict[str, Any]:
        items = {e.id: self._items.pop((unit.video_id, e.id), []) for e in unit.expressions}
        return {"scores": {eid: [(f, s) for f, _, s in v] for eid, v in items.items()},
                "rle": {eid: {"frames": [f for f, _, _ in v], "prediction_masks": [r for _, r, _ in v]}
                        for eid, v in items.items()}}

    def finalize(self, parts: list[dict[str, Any]]) -> None:
        doc: dict[str, dict[str, Any]] = {}
        for part in parts:
            for eid in part["expressions"]:
                item = part.get("rle", {}).get(eid)
                if item is not None:
                    doc.setdefault(part["video_id"], {})[eid] = {"video_id": part["video_id"], "exp_id": eid, **item}
        atomic_write_text(self.out / RLE_FILE, json.dumps(doc))


def make_sink(fmt: str, out: Path, protocol: str, threshold: float, dataset: Dataset | None = None) -> Sink:
    if fmt == "png-tree":
        folder = getattr(dataset, "prediction_video", None) if protocol == "reasonvos" else None
        return PngTreeSink(out, protocol, folder)
    if fmt == "rle-json":
        return RleJsonSink(out, protocol)
    if fmt == "coco-json":
        return CocoSink(out, protocol)
    if fmt == "davis-anno":
        return DavisSink(out, protocol, threshold)
    raise ConfigError(f"unknown output format {fmt!r}")


def prediction_path(out: Path, fmt: str) -> Path:
    """What to pass to `lvsbench score` for a run directory."""
    return out / COCO_FILE if fmt == "coco-json" else out / RLE_FILE if fmt == "rle-json" else out


# ============================================================================================ run directory


class RunLog:
    """Append-only JSON lines; each line is flushed and fsynced so a kill never loses a finished unit. A torn last
    line (killed mid-write) is ignored on reading."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def read(self) -> list[dict[str, Any]]:
        return read_run_log(self.path)


def read_run_log(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    lines = read_text(path, RUN_LOG).split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if n == len(lines):
                break  # torn final line of a killed run
            raise DataFormatError(path, "invalid JSON line", f"line {n}") from None
        if not isinstance(rec, dict) or (rec.get("event") == "done" and not isinstance(rec.get("order"), int)):
            raise DataFormatError(path, f"not a run-log record: {line[:60]!r}; delete the line or rerun with "
                                        "--force", f"line {n}")
        out.append(rec)
    return out


def read_run_json(out: Path) -> dict[str, Any]:
    """`run.json` of a run folder, validated enough for --resume and merge (a named error, never a traceback)."""
    doc = load_json(out / RUN_JSON, RUN_JSON)
    if not isinstance(doc, dict) or not isinstance(doc.get("identity"), dict):
        raise DataFormatError(out / RUN_JSON, "not an lvsbench run record (no 'identity' object); rerun with --force")
    return doc


def done_units(out: Path) -> set[int]:
    """Orders of units finished in earlier sessions: a done line in the log and its part file on disk."""
    done = set()
    for rec in read_run_log(out / RUN_LOG):
        if rec.get("event") == "done" and (out / PARTS_DIR / f"{int(rec['order']):07d}.json").is_file():
            done.add(int(rec["order"]))
    return done


def read_parts(out: Path) -> list[dict[str, Any]]:
    parts = []
    d = out / PARTS_DIR
    if d.is_dir():
        for p in sorted(d.glob("*.json")):
            try:
                parts.append(json.loads(p.read_text()))
            except json.JSONDecodeError as exc:
                raise DataFormatError(p, f"invalid JSON: {exc.msg}") from exc
    return sorted(parts, key=lambda part: part["order"])


def write_frame_scores(out: Path, parts: list[dict[str, Any]]) -> None:
    """`frame_scores.csv`: video_id, exp_id, frame, score of the written mask (for DEVA-style refiners)."""
    rows = ["video_id,exp_id,frame,score"]
    for part in parts:
        for eid in part["expressions"]:
            for frame, score in part.get("scores", {}).get(eid, []):
                rows.append(f"{_csv(part['video_id'])},{_csv(eid)},{_csv(frame)},{score!r}")
    atomic_write_text(out / FRAME_SCORES, "\n".join(rows) + "\n")


def _csv(s: str) -> str:
    return f'"{s}"' if ("," in s or '"' in s) else s


IDENTITY_KEYS = ("adapter", "adapter_config", "checkpoint_sha256", "dataset", "split", "dataset_options", "format",
                 "protocol", "shard", "seed", "threshold")
"""Settings that must match for --resume and merge (--limit may change: a smoke run can be extended)."""


def _identity(run: dict[str, Any]) -> dict[str, Any]:
    return {k: run.get("identity", {}).get(k) for k in IDENTITY_KEYS}


# ============================================================================================ frame feeding


Plan = tuple[tuple[int, ...], tuple[str, ...]]


def clip_plans(caps: Capabilities, frames: tuple[str, ...], needed: list[str], batch: int) -> list[Plan]:
    """(frame indices to feed, frames whose outputs are kept) per clip, in video order."""
    n = len(frames)
    pos = {f: i for i, f in enumerate(frames)}
    need_idx = sorted(pos[f] for f in set(needed))
    if not need_idx:
        return []
    if caps.max_clip_frames:
        batch = min(batch, caps.max_clip_frames)
    if caps.clip_frames:
        batch = caps.clip_frames
    plans: list[Plan] = []
    if caps.needs_full_video:
        return [(tuple(range(n)), tuple(frames[i] for i in need_idx))]
    if caps.context_frames:
        w = min(caps.context_frames, n)
        for i in need_idx:
            start = min(max(0, i - (w - 1) // 2), n - w)
            plans.append((tuple(range(start, start + w)), (frames[i],)))
        return plans
    if caps.per_frame:
        for k in range(0, len(need_idx), batch):
            idx = tuple(need_idx[k:k + batch])
            plans.append((idx, tuple(frames[i] for i in idx)))
        return plans
    last = n - 1 if caps.temporal == "online" else need_idx[-1]
    start = 0
    keep = set(need_idx)
    while start <= last:
        idx = tuple(range(start, min(start + batch, last + 1)))
        plans.append((idx, tuple(frames[i] for i in idx if i in keep)))
        start += batch
    return plans


@dataclass
class _VideoJob:
    video: VideoHandle
    units: list[Unit]
    queries: list[Query]
    plans: list[Plan]


_END = object()


def _produce_clips(dataset: Dataset, jobs: Sequence[_VideoJob], pin: bool) -> Iterator[tuple[int, int, Clip]]:
    """Decode the clips of every job in order; each frame is decoded once even when windows overlap, and only
    frames still needed by a later clip of the video are kept."""
    for j, job in enumerate(jobs):
        video = job.video
        needed = sorted({i for idx, _ in job.plans for i in idx})
        remaining: dict[int, int] = {}
        for idx, _ in job.plans:
            for i in idx:
                remaining[i] = remaining.get(i, 0) + 1
        buf: dict[int, np.ndarray] = {}
        frames_iter = dataset.iter_frames(video.id, tuple(video.frames[i] for i in needed))
        it = iter(zip(needed, frames_iter, strict=False))
        for p, (idx, outputs) in enumerate(job.plans):
            while any(i not in buf for i in idx):
                try:
                    i, (name, rgb) = next(it)
                except StopIteration:
                    raise DataFormatError(None, f"video {video.id}: frames ended early") from None
                if name != video.frames[i]:
                    raise DataFormatError(None, f"video {video.id}: expected frame {video.frames[i]}, "
                                                f"decoder gave {name}")
                if rgb.shape[:2] != (video.height, video.width):
                    raise DataFormatError(None, f"video {video.id} frame {name}: size {rgb.shape[:2]} != "
                                                f"{(video.height, video.width)}")
                buf[i] = rgb
            arr = np.stack([buf[i] for i in idx])
            for i in idx:
                remaining[i] -= 1
                if remaining[i] == 0:
                    del buf[i]
            pinned = None
            if pin:
                import torch

                pinned = torch.from_numpy(arr).pin_memory()
            yield j, p, Clip(video, tuple(video.frames[i] for i in idx), idx, arr, outputs,
                             first=idx[0] == 0, last=idx[-1] == video.num_frames - 1, pinned=pinned)


class _Prefetcher:
    """Runs `_produce_clips` in a worker thread with a bounded queue, so decoding (and pinning, on CUDA) overlaps
    the adapter's compute; `size=0` decodes inline (the serial baseline of benchmarks/runner_prefetch.py)."""

    def __init__(self, dataset: Dataset, jobs: Sequence[_VideoJob], size: int, pin: bool) -> None:
        self.source = _produce_clips(dataset, jobs, pin)
        self.inline = size <= 0
        self.q: queue.Queue[Any] = queue.Queue(maxsize=max(1, size))
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        if not self.inline:
            self.thread = threading.Thread(target=self._run, name="lvsbench-decode", daemon=True)
            self.thread.start()

    def _put(self, item: Any) -> bool:
        while not self.stop.is_set():
            try:
                self.q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self.source:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as exc:  # forwarded to the consumer
            self._put(exc)

    def __iter__(self) -> Iterator[tuple[int, int, Clip]]:
        if self.inline:
            yield from self.source
            return
        while True:
            item = self.q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)


class _Writer:
    """Runs the sink's PNG / RLE encoding and file writes in one background thread (in submission order), so the
    adapter's next call does not wait for them; at most `depth` clips are pending (bounded memory). Errors surface
    at the next submit or flush."""

    def __init__(self, threaded: bool, depth: int = 4) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lvsbench-write") if threaded else None
        self.pending: collections.deque[Any] = collections.deque()
        self.depth = depth

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.pool is None:
            fn(*args)
            return
        self.pending.append(self.pool.submit(fn, *args))
        while len(self.pending) > self.depth:
            self.pending.popleft().result()

    def flush(self) -> None:
        while self.pending:
            self.pending.popleft().result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pending.clear()


# ============================================================================================ the runner


@dataclass
class RunResult:
    """What a session did (also written to run.json)."""

    out: Path
    format: str
    predictions: Path
    status: str
    units_total: int
    units_done: int
    units_skipped: int
    frames: int
    seconds: float
    session: dict[str, Any]


def _prepare_out(opts: RunOptions) -> dict[str, Any] | None:
    """Create or reuse the output directory; returns the previous run.json on --resume."""
    out = opts.out
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory")
    if opts.resume:
        if (out / RUN_JSON).exists():
            remove_interrupted_writes(out)
            return read_run_json(out)
        if out.is_dir() and any(out.iterdir()):
            raise ConfigError(f"--resume: {out} has no {RUN_JSON}; it is not an lvsbench run directory")
        return None
    if not opts.force and (out / RUN_JSON).is_file():
        status = read_run_json(out).get("status")
        if status not in ("complete", "partial"):  # partial: --limit left units out on purpose
            raise ConfigError(f"{out}: holds an unfinished run (status {status}); continue it with --resume "
                              "(or start over with --force)")
    prepare_output_dir(out, opts.force, legacy=(RUN_JSON,))
    return None


def run(adapter: Adapter, dataset: Dataset, opts: RunOptions, adapter_name: str | None = None) -> RunResult:
    """Run `adapter` over `dataset` (the shard / limit of `opts`) and write predictions to `opts.out`."""
    caps = adapter.capabilities
    name = adapter_name or type(adapter).name or type(adapter).__name__
    protocol = dataset_protocol(dataset)
    fmt = opts.format or default_format(dataset)
    if fmt == "coco-json" and protocol not in ("a2d", "jhmdb"):
        raise ConfigError(f"--format coco-json needs an A2D or J-HMDB dataset (image ids), not protocol {protocol}")
    if caps.needs_ground_truth and getattr(dataset, "has_ground_truth", True) is False:
        raise ConfigError(f"adapter {name} reads the ground truth, but {dataset.name} split "
                          f"{getattr(dataset, 'split', '?')} has none (its masks are not public): it would write empty "
                          "masks; run it on a split with ground truth (e.g. train, or train-heldout-v1)")
    previous = _prepare_out(opts)
    out = opts.out
    mark_output_dir(out)
    (out / PARTS_DIR).mkdir(exist_ok=True)

    if caps.needs_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            from lvsbench.core.errors import MissingDependencyError

            raise MissingDependencyError("torch", "models", f"adapter {name}") from None
    device = adapter.resolve_device(opts.device) or resolve_device(opts.device, caps)
    ckpt_sha = checkpoint_sha256(opts.checkpoint)

    identity = {
        "adapter": name, "adapter_config": to_jsonable(adapter.config()), "checkpoint_sha256": ckpt_sha,
        "dataset": dataset.name, "split": getattr(dataset, "split", None),
        "dataset_options": to_jsonable(opts.dataset_options), "format": fmt, "protocol": protocol,
        "shard": shard_identity(opts.shard), "limit": opts.limit, "seed": opts.seed, "threshold": opts.threshold,
    }
    if previous is not None:
        old = _identity(previous)
        diff = [k for k in IDENTITY_KEYS if old.get(k) != identity.get(k)]
        if diff:
            detail = "; ".join(f"{k}: {old.get(k)!r} -> {identity.get(k)!r}" for k in diff)
            raise ConfigError(f"--resume: {out} was produced with different settings ({detail}); "
                              "use a new --out or --force")

    videos = dataset.videos()
    all_units = build_units(dataset, fmt)
    units = select_units(all_units, video_frame_counts(dataset), opts.shard, opts.limit)
    done = done_units(out) if previous is not None else set()
    pending = [u for u in units if u.order not in done]
    skipped = [u for u in units if u.order in done]

    log = RunLog(out / RUN_LOG)
    session_no = 1 + sum(1 for r in log.read() if r.get("event") == "session_start")
    started = datetime.now(UTC).isoformat(timespec="seconds")
    log.append({"event": "session_start", "session": session_no, "time": started, "resume": opts.resume,
                "units": len(units), "pending": len(pending), "skipped": len(skipped)})
    for u in skipped:
        log.append({"event": "skip", "session": session_no, "order": u.order, "video": u.video_id,
                    "expressions": list(u.exp_ids), "reason": "done in an earlier session"})

    ctx = SetupContext(device=device, dataset_name=dataset.name, protocol=protocol,
                       split=str(getattr(dataset, "split", "")),
                       checkpoint=opts.checkpoint, dataset=dataset if caps.needs_ground_truth else None,
                       seed=opts.seed, autocast=bool(opts.bf16 and caps.autocast_bf16 and device.startswith("cuda")),
                       work_dir=out, log=_tqdm_write)

    run_doc: dict[str, Any] = previous or {}
    run_doc.update({
        "lvsbench_run_version": RUN_FORMAT_VERSION,
        "identity": identity,
        "adapter": {"name": name, "class": f"{type(adapter).__module__}:{type(adapter).__qualname__}",
                    "config": identity["adapter_config"], "capabilities": caps.to_json()},
        "checkpoint": None if opts.checkpoint is None else {"path": str(opts.checkpoint), "sha256": ckpt_sha},
        "dataset": {"name": dataset.name, "split": identity["split"], "root": opts.dataset_root or str(
            getattr(dataset, "root", "")), "options": identity["dataset_options"], "protocol": protocol,
            "card_checksum": _card_checksum(dataset), "videos": len(videos),
            "expressions": sum(len(u.expressions) for u in all_units)},
        "format": fmt,
        "predictions": prediction_path(Path("."), fmt).as_posix(),
        "shard": {"index": opts.shard[0], "count": opts.shard[1], "units": len(units),
                  "expressions": sum(len(u.expressions) for u in units)},
    })
    run_doc.setdefault("sessions", [])
    session: dict[str, Any] = {"session": session_no, "started": started, "host": platform.node(),
                               "pid": os.getpid(), "device": device,
                               "batch_frames": opts.batch_frames, "batch_expressions": opts.batch_expressions,
                               "autocast_bf16": ctx.autocast, "resume": opts.resume, "status": "running",
                               "units_pending": len(pending), "units_skipped": len(skipped)}
    run_doc["sessions"].append(session)
    run_doc["status"] = "running"
    atomic_write_json(out / RUN_JSON, run_doc)

    sink = make_sink(fmt, out, protocol, opts.threshold, dataset)
    t0 = time.perf_counter()
    stats = {"frames": 0, "query_frames": 0, "compute_s": 0.0, "units": 0}
    torch_mod = None
    status = "failed"
    error: str | None = None
    try:
        if caps.needs_torch or "torch" in sys.modules:
            torch_mod = sys.modules.get("torch")
            if torch_mod is not None and device.startswith("cuda"):
                torch_mod.cuda.reset_peak_memory_stats(device)
        adapter.setup(ctx)
        torch_mod = sys.modules.get("torch")
        run_doc["adapter"]["info"] = to_jsonable(adapter.info())
        if isinstance(run_doc["adapter"]["info"].get("device"), str):
            session["device"] = run_doc["adapter"]["info"]["device"]  # the adapter's own process
        run_doc["adapter"]["capabilities"] = adapter.capabilities.to_json()
        atomic_write_json(out / RUN_JSON, run_doc)
        _run_videos(adapter, dataset, pending, opts, sink, log, session_no, device, ctx, stats, torch_mod)
        status = "complete"
    except KeyboardInterrupt:
        status, error = "interrupted", "KeyboardInterrupt"
        raise
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with contextlib.suppress(Exception):
            adapter.close()
        seconds = time.perf_counter() - t0
        parts = read_parts(out)
        write_failed: Exception | None = None
        try:  # a failed write must not leave a run marked complete (no suppress around writes)
            sink.finalize(parts)
            write_frame_scores(out, parts)
        except Exception as exc:
            write_failed = exc
            if status == "complete":
                status, error = "failed", f"writing predictions: {type(exc).__name__}: {exc}"
        torch_mod = sys.modules.get("torch")
        peak: dict[str, Any] = {"rss_peak_bytes": _rss_peak_bytes()}
        if torch_mod is not None and device.startswith("cuda"):
            with contextlib.suppress(Exception):
                peak["cuda_max_allocated_bytes"] = int(torch_mod.cuda.max_memory_allocated(device))
                peak["cuda_max_reserved_bytes"] = int(torch_mod.cuda.max_memory_reserved(device))
        session.update({
            "ended": datetime.now(UTC).isoformat(timespec="seconds"), "status": status, "error": error,
            "units_done": stats["units"], "frames": stats["frames"], "query_frames": stats["query_frames"],
            "seconds": round(seconds, 4), "compute_seconds": round(stats["compute_s"], 4),
            "frames_per_s": round(stats["frames"] / seconds, 3) if seconds > 0 else None,
            "compute_frames_per_s": round(stats["frames"] / stats["compute_s"], 3) if stats["compute_s"] > 0
            else None,
            "peak_memory": peak,
        })
        all_done = done_units(out)
        shard_units = select_units(all_units, video_frame_counts(dataset), opts.shard, None)
        if status != "complete":
            run_doc["status"] = status
        elif all(u.order in all_done for u in shard_units):
            run_doc["status"] = "complete"
        else:
            run_doc["status"] = "partial"  # --limit left units out
        run_doc["env"] = environment(device)
        atomic_write_json(out / RUN_JSON, run_doc)
        log.append({"event": "session_end", "session": session_no, "status": status, "units_done": stats["units"],
                    "seconds": round(seconds, 4)})
        if write_failed is not None and error is not None and error.startswith("writing predictions"):
            raise write_failed
    return RunResult(out, fmt, prediction_path(out, fmt), run_doc["status"], len(units), stats["units"],
                     len(skipped), stats["frames"], seconds, session)


def _card_checksum(dataset: Dataset) -> str | None:
    root = getattr(dataset, "root", None)
    if root is None:
        return None
    card = Path(root) / "lvsbench.json"
    return sha256_file(card) if card.is_file() else None


def _tqdm_write(msg: str) -> None:
    from tqdm import tqdm

    tqdm.write(msg, file=sys.stderr)


def _run_videos(adapter: Adapter, dataset: Dataset, pending: list[Unit], opts: RunOptions, sink: Sink, log: RunLog,
                session_no: int, device: str, ctx: SetupContext, stats: dict[str, Any], torch_mod: Any) -> None:
    from tqdm import tqdm

    caps = adapter.capabilities  # as refined by setup
    videos = dataset.videos()
    by_video: dict[str, list[Unit]] = {}
    for u in pending:
        by_video.setdefault(u.video_id, []).append(u)
    jobs: list[_VideoJob] = []
    for vid, units in by_video.items():
        v = videos[vid]
        queries, needed = [], set()
        for u in units:
            for e in u.expressions:
                frames = tuple(dataset.expression_frames(e))
                queries.append(Query(vid, e.id, e.text, frames))
                needed.update(frames)
        out_frames = tuple(f for f in v.frames if f in needed)
        handle = VideoHandle(vid, v.frames, v.height, v.width, lambda name, _v=vid: dataset.read_frame(_v, name),
                             out_frames, {"dataset": dataset.name, "split": getattr(dataset, "split", "")})
        plans = clip_plans(caps, v.frames, list(needed), opts.batch_frames)
        jobs.append(_VideoJob(handle, units, queries, plans))
    total_frames = sum(len(idx) for j in jobs for idx, _ in j.plans)
    pin = bool(device.startswith("cuda") and torch_mod is not None)
    bar = tqdm(total=total_frames, unit="frame", desc=f"run {dataset.name}", disable=not opts.progress,
               dynamic_ncols=True, file=sys.stderr)
    prefetch = _Prefetcher(dataset, jobs, opts.prefetch, pin)
    writer = _Writer(opts.prefetch > 0)
    max_q = caps.max_queries or opts.batch_expressions or None
    if opts.batch_expressions and caps.max_queries:
        max_q = min(opts.batch_expressions, caps.max_queries)
    current: int | None = None
    states: list[Any] = []
    produced: dict[str, set[str]] = {}
    try:
        for j, p, clip in prefetch:
            job = jobs[j]
            if current != j:
                current = j
                states = [adapter.init_state(job.video, q) for q in job.queries]
                produced = {}
            clip_out: dict[str, dict[str, FrameOutput]] = {}
            step = max_q or len(job.queries)
            for k in range(0, len(job.queries), step):
                chunk = job.queries[k:k + step]
                t = time.perf_counter()
                with _inference_context(torch_mod, ctx.autocast, device):
                    preds = adapter.predict(clip, chunk, states[k:k + step])
                    if torch_mod is not None and device.startswith("cuda"):
                        torch_mod.cuda.synchronize(device)
                stats["compute_s"] += time.perf_counter() - t
                if preds is None or len(preds) != len(chunk):
                    raise ConfigError(f"adapter {type(adapter).name}: predict returned "
                                      f"{0 if preds is None else len(preds)} predictions for {len(chunk)} queries "
                                      f"(video {job.video.id})")
                for q, pred in zip(chunk, preds, strict=True):
                    where = f"adapter {type(adapter).name}, video {q.video_id}, expression {q.exp_id}"
                    wanted = set(q.output_frames) & set(clip.outputs)
                    keep = [i for i, name in enumerate(clip.names) if name in wanted]
                    frames_out = process_prediction(pred, len(clip), job.video.height, job.video.width,
                                                    opts.threshold, sink.keep_probs, sink.want_candidates, where,
                                                    keep)
                    d = clip_out.setdefault(q.exp_id, {})
                    for i, fo in zip(keep, frames_out, strict=True):
                        d[clip.names[i]] = fo
                    stats["query_frames"] += len(keep)
            writer.submit(sink.add_frames, job.video, job.units, clip_out)
            for eid, d in clip_out.items():
                produced.setdefault(eid, set()).update(d)
            stats["frames"] += len(clip)
            bar.update(len(clip))
            if p == len(job.plans) - 1:
                adapter.end_video(job.video, job.queries, states)
                writer.flush()  # every file of the video is on disk before its units are logged as done
                _finish_video(job, produced, sink, log, session_no, opts, stats)
        for job in jobs:  # videos with nothing to feed (no output frames)
            if not job.plans:
                _finish_video(job, {}, sink, log, session_no, opts, stats)
    finally:
        prefetch.close()
        writer.close()
        bar.close()


def _finish_video(job: _VideoJob, produced: dict[str, set[str]], sink: Sink, log: RunLog,
                  session_no: int, opts: RunOptions, stats: dict[str, Any]) -> None:
    wanted = {q.exp_id: q.output_frames for q in job.queries}
    for u in job.units:
        missing = [(e.id, f) for e in u.expressions for f in wanted[e.id] if f not in produced.get(e.id, set())]
        if missing:
            raise LvsbenchError(f"video {u.video_id}: no prediction for {len(missing)} frame(s), e.g. "
                                f"expression {missing[0][0]} frame {missing[0][1]}")
        part = {"order": u.order, "video_id": u.video_id, "expressions": list(u.exp_ids), "group": u.group,
                **sink.unit_part(u)}
        atomic_write_json(opts.out / PARTS_DIR / u.part_name, part, indent=None)
        rec = {"event": "done", "session": session_no, "order": u.order, "video": u.video_id,
               "expressions": list(u.exp_ids), "frames": sum(len(produced.get(e.id, ())) for e in u.expressions),
               "time": datetime.now(UTC).isoformat(timespec="seconds")}
        if u.group is not None:
            rec["annotator"] = u.group
        log.append(rec)
        stats["units"] += 1


@contextlib.contextmanager
def _inference_context(torch_mod: Any, autocast: bool, device: str) -> Iterator[None]:
    if torch_mod is None:
        yield
        return
    with torch_mod.inference_mode():
        if autocast:
            with torch_mod.autocast(device_type="cuda", dtype=torch_mod.bfloat16):
                yield
        else:
            yield


# ============================================================================================ merge


def merge_runs(shards: Sequence[Path], out: Path, force: bool = False, allow_incomplete: bool = False,
               launch: dict[str, Any] | None = None) -> dict[str, Any]:
    """Join shard run directories (`--shard I/N` of one run) into one output equal to an unsharded run.
    `launch` (how a torchrun / Slurm run was started, `lvsbench.run.distributed`) is recorded in the merged run.json."""
    from lvsbench.core.io import check_overwrite

    if not shards:
        raise ConfigError("merge: no shard directories given")
    docs = []
    for s in shards:
        p = Path(s) / RUN_JSON
        if not p.is_file():
            raise ConfigError(f"merge: {s} is not an lvsbench run directory (no {RUN_JSON})")
        docs.append(read_run_json(Path(s)))
    base = {k: v for k, v in _identity(docs[0]).items() if k != "shard"}
    for s, d in zip(shards, docs, strict=True):
        ident = {k: v for k, v in _identity(d).items() if k != "shard"}
        if ident != base:
            diff = [k for k in ident if ident[k] != base[k]]
            raise ConfigError(f"merge: {s} differs from {shards[0]} in {', '.join(diff)}")
    counts = {tuple(d["identity"]["shard"])[1] for d in docs}
    if len(counts) != 1:
        raise ConfigError(f"merge: shards of different --shard N: {sorted(counts)}")
    n = counts.pop()
    rules = {tuple(d["identity"]["shard"][2:]) for d in docs}
    if len(rules) != 1:
        raise ConfigError(f"merge: shards assigned by different rules ({sorted(map(list, rules))}); rerun the old "
                          "ones with this version (--force) so that every shard uses the same assignment")
    indices = [d["identity"]["shard"][0] for d in docs]
    if sorted(indices) != list(range(n)) and not allow_incomplete:
        raise ConfigError(f"merge: need every shard 0..{n - 1} exactly once, got {sorted(indices)}")
    incomplete = [str(s) for s, d in zip(shards, docs, strict=True) if d.get("status") != "complete"]
    if incomplete and not allow_incomplete:
        raise ConfigError(f"merge: unfinished shard(s) {', '.join(incomplete)} (rerun them with --resume)")
    check_overwrite(out, force, legacy=(RUN_JSON,))
    fmt = docs[0]["identity"]["format"]
    protocol = docs[0]["identity"]["protocol"]
    tmp = out.with_name(f".{out.name}.merge.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        mark_output_dir(tmp)
        (tmp / PARTS_DIR).mkdir()
        seen: dict[str, Path] = {}
        logs: list[str] = []
        for s in shards:
            s = Path(s)
            for part in sorted((s / PARTS_DIR).glob("*.json")):
                if part.name in seen:
                    raise ConfigError(f"merge: unit {part.stem} is in both {seen[part.name]} and {s}")
                seen[part.name] = s
                shutil.copy2(part, tmp / PARTS_DIR / part.name)
            for sub in _format_dirs(s, fmt):
                for src in sorted(sub.rglob("*")):
                    if not src.is_file() or src.name.startswith("."):
                        continue
                    rel = src.relative_to(s)
                    dst = tmp / rel
                    if dst.exists():
                        raise ConfigError(f"merge: {rel} is in more than one shard")
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, dst)
            if (s / RUN_LOG).is_file():
                logs.extend(json.dumps({**r, "shard": str(s)}, sort_keys=True) for r in read_run_log(s / RUN_LOG)
                            if r.get("event") == "done")
        parts = read_parts(tmp)
        make_sink(fmt, tmp, protocol, float(docs[0]["identity"]["threshold"])).finalize(parts)
        write_frame_scores(tmp, parts)
        atomic_write_text(tmp / RUN_LOG, "".join(line + "\n" for line in logs))
        merged = dict(docs[0])
        merged["identity"] = {**docs[0]["identity"], "shard": [0, 1]}
        merged["status"] = "complete" if not incomplete and sorted(indices) == list(range(n)) else "partial"
        merged["merged_from"] = [{"path": str(s), "shard": d["identity"]["shard"], "status": d.get("status"),
                                  "sessions": d.get("sessions", []), "env": d.get("env")}
                                 for s, d in zip(shards, docs, strict=True)]
        merged["shard"] = {"index": 0, "count": 1, "units": len(parts),
                           "expressions": sum(len(p["expressions"]) for p in parts)}
        merged["sessions"] = []
        if launch is not None:
            merged["launch"] = launch
        atomic_write_json(tmp / RUN_JSON, merged)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return merged


def _format_dirs(run_dir: Path, fmt: str) -> list[Path]:
    if fmt == "png-tree":
        return [run_dir / PNG_DIR] if (run_dir / PNG_DIR).is_dir() else []
    if fmt == "davis-anno":
        return sorted(p for p in run_dir.glob("anno_*") if p.is_dir())
    return []


def fingerprint(run_doc: dict[str, Any]) -> str:
    """sha256 of a run's identity (adapter, config, checkpoint, dataset, format, seed, threshold)."""
    ident = {k: v for k, v in _identity(run_doc).items() if k not in ("shard", "limit")}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


__all__ = ["RunOptions", "RunResult", "run", "merge_runs", "parse_shard", "dataset_protocol", "default_format",
           "prediction_path", "read_run_log", "done_units", "build_units", "select_units", "clip_plans"]
