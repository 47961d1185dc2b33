"""Synthetic datasets in the native layouts of the four RVOS datasets and DAVIS, rendered procedurally (`scene`).

`WRITERS` maps a dataset name to the import string of its writer, `write_synthetic(out, videos=12, seed=0,
force=False, **size) -> Path`; `get_writer(name)` imports it. Writers live in `lvsbench.synth.<name>`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from lvsbench.core.errors import ConfigError
from lvsbench.synth.scene import Actor, SceneVideo, describe, render_video

WRITERS: dict[str, str] = {
    "a2d": "lvsbench.synth.a2d:write_synthetic",
    "jhmdb": "lvsbench.synth.jhmdb:write_synthetic",
    "ryvos": "lvsbench.synth.ryvos:write_synthetic",
    "rdavis": "lvsbench.synth.rdavis:write_synthetic",
    "davis": "lvsbench.synth.davis:write_synthetic",
    "mevis": "lvsbench.synth.mevis:write_synthetic",
    "revos": "lvsbench.synth.revos:write_synthetic",
    "refsav": "lvsbench.synth.refsav:write_synthetic",
    "long-rvos": "lvsbench.synth.long_rvos:write_synthetic",
    "reasonvos": "lvsbench.synth.reasonvos:write_synthetic",
}


def get_writer(name: str) -> Callable[..., Path]:
    """The `write_synthetic` function of a dataset (imported on demand)."""
    if name not in WRITERS:
        raise ConfigError(f"no synthetic writer for {name!r}; known: {', '.join(sorted(WRITERS))}")
    module, _, attr = WRITERS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


__all__ = ["WRITERS", "Actor", "SceneVideo", "describe", "get_writer", "render_video"]
