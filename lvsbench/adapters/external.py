"""Adapters for users' checkouts of published models: `mttr`, `referformer`, `locater-official`.

Their code and weights are never vendored or downloaded (several have non-commercial or no licences; weights sit
on Google Drive / Baidu Pan): the user passes `--option code_dir=DIR` (a checkout, ideally at the pinned commit)
and `--checkpoint FILE`, plus local copies of what the code would download (`text_encoder_dir` for roberta-base /
bert-base-uncased, `backbone_weights`). The model runs in a subprocess (`lvsbench.adapters.worker`, `cwd=code_dir`,
optionally another venv's `python_exe`) with the compatibility patches of `lvsbench.adapters.compat`, so the
checkout is never edited and its top-level `models` / `datasets` packages never meet lvsbench's.

Checkpoints load weights-only; ReferFormer's `argparse.Namespace` only with `allow_namespace=true`, full pickle
only with `trust_checkpoint=true`; the state dict is loaded strictly and the missing / unexpected keys are recorded
in run.json (`adapter.info.load`). See docs/adapters.md for what was and was not verified.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np

from lvsbench.adapters.base import Adapter, Capabilities, Clip, Prediction, Query, SetupContext
from lvsbench.core.errors import ConfigError, LvsbenchError
from lvsbench.protocols import get_protocol

PINNED_COMMITS: dict[str, str] = {
    "mttr": "2cc35ab96f331957b48dfe1d40048ca4cf1e32eb",
    "referformer": "06fc218f5d8f04730f81471a15ed89ea7e4d30d8",
    "locater": "5da6daa03682c3202ff4ebc54fe098f4a5c04c86",
}
"""The commits whose code the drivers were written against (adapters.md, datasets.md)."""


@dataclass(frozen=True)
class ExternalOptions:
    """Options shared by the external adapters.

    - `code_dir`: the user's checkout (required). `python_exe`: interpreter of the venv the model runs in.
    - `text_encoder_dir`: local snapshot that `from_pretrained('roberta-base' | 'bert-base-uncased')` is redirected
      to. `backbone_weights`: served for any torch.hub download (`pretrained=True` backbones).
    - `allow_namespace`: allow `argparse.Namespace` in the checkpoint (ReferFormer). `trust_checkpoint`: full pickle.
    - `strict`: refuse a checkpoint with missing / unexpected keys or shape mismatches (default).
    - `window`: frames per clip (MTTR's window, ReferFormer's chunk; 0 = whole video).
    """

    code_dir: Path | None = None
    python_exe: str | None = None
    text_encoder_dir: Path | None = None
    backbone_weights: Path | None = None
    allow_namespace: bool = False
    trust_checkpoint: bool = False
    strict: bool = True
    window: int | None = None
    short_side: int | None = None
    max_size: int | None = None
    config: str | None = None
    timeout_s: float = 3600.0


class ExternalAdapter(Adapter):
    """Parent side of an external model: starts the worker, ships clips as .npy files, reads masks back."""

    model: ClassVar[str] = ""
    default_window: ClassVar[int | None] = None
    a2d_window: ClassVar[int | None] = None
    capabilities = Capabilities(needs_torch=False)
    Options = ExternalOptions
    options: ExternalOptions

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self._proc: subprocess.Popen[str] | None = None
        self._tmp: Path | None = None
        self._log: IO[bytes] | None = None
        self._info: dict[str, Any] = {}
        self.mode = "trajectory"

    def resolve_device(self, requested: str) -> str | None:
        return requested  # the worker's torch decides "auto"

    # ------------------------------------------------------------------ life cycle

    def _mode_for(self, protocol: str) -> str:
        """K candidates per frame where the protocol scores COCO results (its samples have COCO image ids)."""
        return "candidates" if protocol and get_protocol(protocol).image_id != "none" else "trajectory"

    def _capabilities_for(self, config_window: int | None) -> Capabilities:
        """Clip cutting: --option window, else the model config's window, else the class default."""
        if self.mode == "candidates":
            w = self.options.window or config_window or self.a2d_window
            if w:
                return Capabilities(context_frames=w, candidates=True, needs_torch=False)
            return Capabilities(needs_full_video=True, candidates=True, needs_torch=False)
        w = self.options.window if self.options.window is not None else (config_window or self.default_window)
        if w:
            return Capabilities(clip_frames=w, needs_torch=False)
        return Capabilities(needs_full_video=True, needs_torch=False)

    def worker_options(self) -> dict[str, Any]:
        o = self.options
        return {"text_encoder_dir": str(o.text_encoder_dir) if o.text_encoder_dir else None,
                "backbone_weights": str(o.backbone_weights) if o.backbone_weights else None,
                "allow_namespace": o.allow_namespace, "trust_checkpoint": o.trust_checkpoint, "strict": o.strict,
                "short_side": o.short_side, "max_size": o.max_size, "config": o.config}

    def setup(self, ctx: SetupContext) -> None:
        code_dir = self.options.code_dir
        if code_dir is None:
            raise ConfigError(f"adapter {self.name}: pass --option code_dir=DIR (your checkout of the model's code)")
        code_dir = Path(code_dir).expanduser().resolve()
        if not code_dir.is_dir():
            raise ConfigError(f"adapter {self.name}: code_dir {code_dir} is not a directory")
        if ctx.checkpoint is None:
            raise ConfigError(f"adapter {self.name}: pass --checkpoint FILE")
        self.mode = self._mode_for(ctx.protocol)
        self._info = {"code_dir": str(code_dir), "code_commit": _git_commit(code_dir),
                      "pinned_commit": PINNED_COMMITS.get(self.model), "mode": self.mode}
        commit = self._info["code_commit"]
        if commit and not commit.startswith(PINNED_COMMITS.get(self.model, commit)):
            self._info["warning"] = (f"checkout at {commit}, drivers written against "
                                     f"{PINNED_COMMITS.get(self.model)}")
            ctx.log(f"warning: {self.name}: {self._info['warning']}")
        base = ctx.work_dir if ctx.work_dir is not None else Path(tempfile.gettempdir())
        self._tmp = Path(tempfile.mkdtemp(prefix=".worker-", dir=base))
        log_path = (ctx.work_dir or self._tmp) / f"worker_{self.name}.log"
        self._log = open(log_path, "ab")  # noqa: SIM115 - kept open for the worker's lifetime
        env = dict(os.environ)
        lvs_parent = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(code_dir), lvs_parent, env.get("PYTHONPATH")) if p)
        env.setdefault("HF_HUB_OFFLINE", "1")
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        python = self.options.python_exe or sys.executable
        self._proc = subprocess.Popen([python, "-m", "lvsbench.adapters.worker"], cwd=code_dir, env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True,
                                      bufsize=1)
        reply = self._call({"cmd": "init", "model": self.model, "code_dir": str(code_dir),
                            "checkpoint": str(Path(ctx.checkpoint).resolve()), "device": ctx.device,
                            "options": self.worker_options()})
        self._info.update(reply.get("info", {}))
        self._info["worker_log"] = str(log_path)
        window = self._info.get("window_size")
        self.capabilities = self._capabilities_for(int(window) if isinstance(window, int) else None)
        self._info["capabilities"] = self.capabilities.to_json()

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise LvsbenchError(f"adapter {self.name}: worker not running")
        try:
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
        except BrokenPipeError:
            pass
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=10)
            raise LvsbenchError(f"adapter {self.name}: worker exited with code {proc.returncode}; "
                                f"its log: {self._info.get('worker_log') or self._log_name()}\n{self._log_tail()}")
        reply = json.loads(line)
        if not reply.get("ok"):
            if reply.get("report"):
                self._info["load"] = reply["report"]
            raise LvsbenchError(f"adapter {self.name} ({request.get('cmd')}): {reply.get('error')}\n"
                                f"{reply.get('traceback', '')}".rstrip())
        return reply

    def _log_name(self) -> str:
        return getattr(self._log, "name", "?")

    def _log_tail(self, n: int = 3000) -> str:
        try:
            data = Path(self._log_name()).read_bytes()
        except OSError:
            return ""
        return data[-n:].decode("utf-8", "replace")

    def predict(self, clip: Clip, queries: Sequence[Query], states: Sequence[Any]) -> list[Prediction]:
        assert self._tmp is not None
        frames_path = self._tmp / "clip.npy"
        result_path = self._tmp / "result.npz"
        np.save(frames_path, np.ascontiguousarray(clip.frames))
        out_idx = [i for i, n in enumerate(clip.names) if n in set(clip.outputs)]
        self._call({"cmd": "predict", "frames": str(frames_path), "texts": [q.text for q in queries],
                    "outputs": out_idx, "mode": self.mode, "result": str(result_path)})
        t, h, w = len(clip), clip.video.height, clip.video.width
        preds = []
        with np.load(result_path, allow_pickle=False) as z:
            for i in range(len(queries)):
                masks = np.zeros((t, h, w), dtype=bool)
                scores = np.ones(t, dtype=np.float32)
                masks[out_idx] = z[f"masks_{i}"].astype(bool)
                scores[out_idx] = z[f"scores_{i}"]
                if f"cand_masks_{i}" in z:
                    cm = z[f"cand_masks_{i}"].astype(bool)
                    k = cm.shape[1]
                    cands = np.zeros((t, k, h, w), dtype=bool)
                    cscores = np.zeros((t, k), dtype=np.float32)
                    cands[out_idx] = cm
                    cscores[out_idx] = z[f"cand_scores_{i}"]
                    preds.append(Prediction(masks=masks, scores=scores, candidates=cands, candidate_scores=cscores))
                else:
                    preds.append(Prediction(masks=masks, scores=scores))
        return preds

    def info(self) -> dict[str, Any]:
        return dict(self._info)

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                if proc.poll() is None and proc.stdin is not None:
                    proc.stdin.write(json.dumps({"cmd": "shutdown"}) + "\n")
                    proc.stdin.flush()
                proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def _git_commit(code_dir: Path) -> str | None:
    if not (code_dir / ".git").exists():
        return None
    try:
        r = subprocess.run(["git", "-C", str(code_dir), "rev-parse", "HEAD"], capture_output=True, text=True,
                           timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() or None


class MTTRAdapter(ExternalAdapter):
    """MTTR (Botach et al., CVPR'22) from a checkout of mttr2021/MTTR: windows of 12 frames on
    Refer-YouTube-VOS (one trajectory per window), 8-frame windows around each annotated frame with all 50
    queries as COCO candidates on A2D / J-HMDB. Needs roberta-base locally (text_encoder_dir)."""

    name = "mttr"
    model = "mttr"
    description = "MTTR from your checkout (code_dir) and checkpoint; runs in a worker subprocess"
    default_window = 12
    a2d_window = 8

    def worker_options(self) -> dict[str, Any]:
        opts = super().worker_options()
        if not opts.get("config"):
            opts["config"] = {"trajectory": "refer_youtube_vos"}.get(self.mode, "a2d_sentences")
        return opts


class ReferFormerAdapter(ExternalAdapter):
    """ReferFormer (Wu et al., CVPR'22) from a checkout of wjn922/ReferFormer: whole-video inference on
    Refer-YouTube-VOS (option window=N chunks long videos, avoiding the OOM of wjn922/ReferFormer#5), 5-frame clips
    around each annotated frame with the 5 queries as candidates on A2D / J-HMDB. The checkpoint holds an
    argparse.Namespace: pass allow_namespace=true. The MultiScaleDeformableAttention op falls back to a PyTorch
    stand-in when not built."""

    name = "referformer"
    model = "referformer"
    description = "ReferFormer from your checkout (code_dir) and checkpoint; runs in a worker subprocess"
    default_window = None
    a2d_window = 5


class LocaterOfficialAdapter(ExternalAdapter):
    """Locater (Liang et al., TPAMI'23) from a checkout of leonnnop/Locater: online per expression over the whole
    video (global memory from 3 evenly spaced frames, local memory frame by frame). Needs the bert-base-uncased
    tokenizer locally (text_encoder_dir; its vocab.txt suffices)."""

    name = "locater-official"
    model = "locater"
    description = "Locater from your checkout of leonnnop/Locater (code_dir) and checkpoint; worker subprocess"

    def _mode_for(self, protocol: str) -> str:
        return "trajectory"

    def _capabilities_for(self, config_window: int | None) -> Capabilities:
        return Capabilities(needs_full_video=True, needs_torch=False)


__all__ = ["ExternalAdapter", "ExternalOptions", "LocaterOfficialAdapter", "MTTRAdapter", "PINNED_COMMITS",
           "ReferFormerAdapter"]
