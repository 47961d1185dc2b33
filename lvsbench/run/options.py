"""What `lvsbench run` takes besides the adapter and the dataset (`RunOptions`), validated when built."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lvsbench.core.errors import ConfigError
from lvsbench.formats.predictions import RUN_FORMATS


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


__all__ = ["RunOptions", "parse_shard"]
