"""Safe checkpoint loading for external models (runs inside the worker process; needs torch).

The published RVOS checkpoints are pickles of different shapes (see `docs/adapters.md`):

- MTTR: `{epoch, total_epochs, model_state_dict, optimizer_state_dict, ...}` (its hub loader also takes a raw
  state dict): weights under `model_state_dict`.
- ReferFormer / SgMg / OnlineRefer: `{model, optimizer, lr_scheduler, epoch, args: argparse.Namespace}`: `model`.
- URVOS: `{epoch, arch, state_dict, optimizer}`: `state_dict`.
- Locater, LBDT, MMVT, DEVA: a flat state dict (Locater's may carry a DataParallel `module.` prefix).

Loading rules, in order:

1. `torch.load(weights_only=True)`: tensors and plain containers only; no code can run.
2. A checkpoint that needs `argparse.Namespace` (ReferFormer's `args`) is refused unless the caller passes
   `allow_namespace=True`; it is then loaded with `weights_only=True` inside `torch.serialization.safe_globals(
   [argparse.Namespace])`, which allows exactly that class.
3. Anything else that needs unpickling code is refused unless `trust=True` (full pickle: only for files you trust).
4. The state dict is unwrapped by known key, `module.` prefixes (DataParallel) are stripped and thop's
   `total_params` / `total_ops` entries dropped.
5. It is loaded into the constructed model with `torch.nn.Module.load_state_dict(strict=True)` called on the base
   class, so a model's own tolerant override (Locater's `VLFTrans.load_state_dict` skips mismatched shapes) cannot
   hide a wrong checkpoint; missing / unexpected keys and shape mismatches are reported (and recorded in run.json).
"""

from __future__ import annotations

import argparse
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lvsbench.core.errors import ConfigError

STATE_DICT_KEYS: tuple[str, ...] = ("model_state_dict", "model", "state_dict", "net", "network")
"""Keys under which the published checkpoints keep their weights, tried in this order."""
DROP_SUFFIXES: tuple[str, ...] = ("total_params", "total_ops")


class CheckpointError(ConfigError):
    """A checkpoint cannot be loaded safely or does not match the model."""


def load_checkpoint(path: str | Path, *, allow_namespace: bool = False, trust: bool = False) -> tuple[Any, str]:
    """Load a checkpoint file; returns (object, how) with how in {"weights_only", "weights_only+Namespace",
    "full-pickle"}."""
    import torch

    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p}: not found")
    try:
        return torch.load(p, map_location="cpu", weights_only=True), "weights_only"
    except pickle.UnpicklingError as exc:
        first = exc
    except RuntimeError as exc:  # zip / format errors
        raise CheckpointError(f"checkpoint {p}: cannot be read by torch.load: {exc}") from exc
    message = str(first)
    if "argparse.Namespace" in message:
        if allow_namespace:
            with torch.serialization.safe_globals([argparse.Namespace]):
                try:
                    return torch.load(p, map_location="cpu", weights_only=True), "weights_only+Namespace"
                except pickle.UnpicklingError as exc:
                    message = str(exc)
                    if not trust:
                        raise CheckpointError(f"checkpoint {p}: needs more than argparse.Namespace to unpickle: "
                                              f"{_first_line(message)}; pass trust_checkpoint=true only if you "
                                              "trust the file") from exc
        elif not trust:
            raise CheckpointError(f"checkpoint {p}: contains an argparse.Namespace (e.g. ReferFormer's 'args'); "
                                  "pass --option allow_namespace=true to allow exactly that class") from first
    elif not trust:
        raise CheckpointError(f"checkpoint {p}: weights-only loading refused it ({_first_line(message)}); pass "
                              "--option trust_checkpoint=true to unpickle it fully (runs code from the file: only "
                              "for files you trust)") from first
    return torch.load(p, map_location="cpu", weights_only=False), "full-pickle"


def _first_line(s: str) -> str:
    lines = [line.strip() for line in s.splitlines() if line.strip()]
    for line in lines:
        if "GLOBAL" in line or "Unsupported global" in line:
            return line
    return lines[0] if lines else s


def _is_state_dict(obj: Any) -> bool:
    import torch

    return isinstance(obj, Mapping) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def unwrap_state_dict(obj: Any, keys: tuple[str, ...] = STATE_DICT_KEYS) -> tuple[dict[str, Any], str | None]:
    """The state dict inside a checkpoint: by known key, or the object itself when it is one."""
    if _is_state_dict(obj):
        return dict(obj), None
    if isinstance(obj, Mapping):
        for k in keys:
            if k in obj and isinstance(obj[k], Mapping):
                inner = {kk: vv for kk, vv in obj[k].items()}
                return inner, k
        raise CheckpointError(f"checkpoint holds no state dict under {', '.join(keys)}; top-level keys: "
                              f"{', '.join(map(str, list(obj)[:20]))}")
    raise CheckpointError(f"checkpoint is a {type(obj).__name__}, not a state dict or a dict holding one")


def clean_state_dict(sd: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Strip DataParallel `module.` prefixes and drop thop counters; returns (state dict, what was done)."""
    out: dict[str, Any] = {}
    stripped = 0
    dropped = []
    for k, v in sd.items():
        if k.endswith(DROP_SUFFIXES):
            dropped.append(k)
            continue
        if k.startswith("module."):
            k = k[len("module."):]
            stripped += 1
        out[k] = v
    return out, {"module_prefix_stripped": stripped, "dropped": dropped}


def strict_load(model: Any, sd: Mapping[str, Any], strict: bool = True) -> dict[str, Any]:
    """Load `sd` into `model` through `torch.nn.Module.load_state_dict` (bypassing overrides) and report.

    With `strict`, any missing or unexpected key or shape mismatch raises `CheckpointError` listing them; without,
    matching tensors are loaded and the report says what was skipped.
    """
    import torch

    own = torch.nn.Module.state_dict(model)
    missing = sorted(k for k in own if k not in sd)
    unexpected = sorted(k for k in sd if k not in own)
    mismatched = sorted(f"{k}: checkpoint {tuple(sd[k].shape)} != model {tuple(own[k].shape)}"
                        for k in own if k in sd and hasattr(sd[k], "shape") and tuple(sd[k].shape) != tuple(
                            own[k].shape))
    report = {"missing_keys": missing, "unexpected_keys": unexpected, "shape_mismatches": mismatched,
              "loaded_keys": len(own) - len(missing) - len(mismatched), "model_keys": len(own), "strict": strict}
    if strict and (missing or unexpected or mismatched):
        def head(xs: list[str]) -> str:
            return ", ".join(xs[:8]) + (f" ... (+{len(xs) - 8})" if len(xs) > 8 else "")

        parts = []
        if missing:
            parts.append(f"{len(missing)} missing ({head(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected ({head(unexpected)})")
        if mismatched:
            parts.append(f"{len(mismatched)} shape mismatch(es) ({head(mismatched)})")
        err = CheckpointError("checkpoint does not match the model: " + "; ".join(parts) +
                              " (pass --option strict=false to load the matching tensors anyway)")
        err.report = report  # type: ignore[attr-defined]
        raise err
    usable = {k: v for k, v in sd.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
    torch.nn.Module.load_state_dict(model, usable, strict=strict)
    return report


def load_into(model: Any, path: str | Path, *, allow_namespace: bool = False, trust: bool = False,
              strict: bool = True, keys: tuple[str, ...] = STATE_DICT_KEYS) -> dict[str, Any]:
    """Steps 1-5 of the module docstring; returns the report recorded in run.json."""
    obj, how = load_checkpoint(path, allow_namespace=allow_namespace, trust=trust)
    sd, key = unwrap_state_dict(obj, keys)
    sd, cleaning = clean_state_dict(sd)
    report = strict_load(model, sd, strict=strict)
    top = list(obj) if isinstance(obj, Mapping) and key is not None else []
    return {"loader": how, "state_dict_key": key, "top_level_keys": [str(k) for k in top], **cleaning, **report}


__all__ = ["CheckpointError", "DROP_SUFFIXES", "STATE_DICT_KEYS", "clean_state_dict", "load_checkpoint", "load_into",
           "strict_load", "unwrap_state_dict"]
