"""Where a run ran: device resolution, software versions, peak memory and checkpoint hash (all recorded in
run.json)."""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench import __version__
from lvsbench.adapters.base import Capabilities
from lvsbench.core.errors import ConfigError
from lvsbench.core.io import sha256_file, sha256_tree


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


def rss_peak_bytes() -> int:
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
