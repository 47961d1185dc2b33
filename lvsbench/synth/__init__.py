"""Synthetic datasets in the native layouts of the RVOS datasets and DAVIS, rendered procedurally (`scene`).

`WRITERS` registers, for every native dataset (`lvsbench.datasets.registry.DATASETS`), the writer
`write_synthetic(out, videos=12, seed=0, force=False, **size) -> Path` of `lvsbench.synth.<name>` (imported on first
use); `get_writer(name)` looks one up.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lvsbench.core.registry import Registry
from lvsbench.datasets.registry import DATASETS

WRITERS: Registry[Callable[..., Path]] = Registry("synthetic writer")
for _name in DATASETS:
    WRITERS.register(_name, f"lvsbench.synth.{_name.replace('-', '_')}:write_synthetic")


def get_writer(name: str) -> Callable[..., Path]:
    """The `write_synthetic` function of a dataset (imported on demand)."""
    return WRITERS.load(name)


__all__ = ["WRITERS", "get_writer"]
