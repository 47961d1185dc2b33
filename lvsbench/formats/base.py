"""What every prediction format shares: the reader interface (`Predictions`, `Inventory`) and the writer interface
(`Writer`, fed `FrameOutput`s unit by unit by `lvsbench run` and `lvsbench import-preds`).

Writers see units and videos through the small structural types below, so this layer does not import the runner.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from typing import Protocol as Structural

import numpy as np

from lvsbench.core.errors import DataFormatError, LvsbenchError
from lvsbench.core.io import sha256_file, sha256_tree
from lvsbench.core.records import Expression
from lvsbench.protocols import Protocol

ANNOTATIONS_PREFIX = "Annotations"
RUN_RECORD_FILES = ("run.json", "run_log.jsonl", "score.json")
"""Files `lvsbench run` writes beside predictions that describe the run, not the predictions (score.json: the
results of `lvsbench run --score`)."""


def read_file(path: Path) -> bytes | None:
    """A file's bytes, None when it does not exist; other OS errors name the file."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DataFormatError(path, f"cannot read: {exc}") from exc


# ============================================================================ readers


@dataclass
class Inventory:
    """What a prediction source holds, for validation before scoring.

    `items` maps a key to its frame names: `(video, exp_id)` for PNG trees, `(annotator, video)` for DAVIS trees,
    `image_id` (str) for COCO results (with the number of candidates instead of frames in `candidates`).
    `stray` lists files that do not fit the layout (path, reason).
    """

    format: str
    items: dict[Any, set[str]] = field(default_factory=dict)
    candidates: dict[str, int] = field(default_factory=dict)
    stray: list[tuple[str, str]] = field(default_factory=list)


def png_frames(folder: str, inv: Inventory) -> set[str]:
    """Frame names of the PNGs in a folder; any other file that is not hidden is recorded as stray."""
    frames = set()
    for f in os.scandir(folder):
        if f.is_file() and f.name.lower().endswith(".png"):
            frames.add(f.name[:-4])
        elif not f.name.startswith("."):
            inv.stray.append((f.path, "not a .png file"))
    return frames


class Predictions:
    """Common interface of the readers returned by `open_predictions`."""

    format: str = ""
    path: Path

    def inventory(self) -> Inventory:
        raise NotImplementedError

    def describe(self, *key: Any) -> str:
        """Path (or archive member) of one item, for error messages."""
        return str(self.path)

    def mask(self, video_id: str, exp_id: str, frame: str) -> np.ndarray | None:
        raise LvsbenchError(f"{self.path}: {self.format} predictions hold no per-expression masks")

    def candidates(self, image_id: str) -> list[tuple[np.ndarray, float]]:
        raise LvsbenchError(f"{self.path}: {self.format} predictions hold no COCO candidates")

    def label_map(self, annotator: int | None, video_id: str, frame: str) -> np.ndarray | None:
        raise LvsbenchError(f"{self.path}: {self.format} predictions hold no label maps")

    def close(self) -> None:
        """Release open files."""

    def checksum(self) -> str:
        """sha256 of the prediction files; a run's own records (run.json, run log: timestamps) are left out so that
        equal predictions have equal checksums."""
        p = self.path
        return sha256_file(p) if p.is_file() else sha256_tree(p, exclude=RUN_RECORD_FILES)


# ============================================================================ writers


@dataclass
class FrameOutput:
    """One expression's processed answer on one frame: what a writer is handed."""

    mask: np.ndarray
    score: float
    prob: np.ndarray | None = None
    candidates: list[tuple[np.ndarray, float]] | None = None


class WriteUnit(Structural):
    """The expressions written (and resumed) together: `lvsbench.run.units.Unit`."""

    video_id: str
    expressions: tuple[Expression, ...]
    group: int | None


class WriteVideo(Structural):
    """The video a writer writes frames of: `lvsbench.adapters.base.VideoHandle`."""

    id: str
    height: int
    width: int

    def index(self, frame: str) -> int: ...


Outputs = dict[str, dict[str, FrameOutput]]
"""{exp_id: {frame: FrameOutput}} of one clip."""


class Writer:
    """Writes one format inside a run directory. Files of a unit are written as its frames arrive; `unit_part`
    returns what the unit's part file keeps (scores, COCO or RLE fragments); `finalize` assembles whole-run files
    from the part files in dataset order (at the end of every session and by merge)."""

    fmt = ""
    file: str | None = None
    """The file `lvsbench score` reads inside a run directory (None: the directory itself)."""
    keep_probs = False
    want_candidates = False

    def __init__(self, out: Path, protocol: Protocol, threshold: float = 0.5,
                 folder: Callable[[Expression], str] | None = None) -> None:
        """`threshold` drops palette probabilities below it; `folder` names a PNG tree's video folder
        (`Protocol.prediction_dir`, default the video id)."""
        self.out = out
        self.protocol = protocol
        self.threshold = threshold
        self.folder = folder or (lambda e: e.video_id)
        self._scores: dict[tuple[str, str], list[tuple[str, float]]] = {}

    def add_frames(self, video: WriteVideo, units: Sequence[WriteUnit], outputs: Outputs) -> None:
        raise NotImplementedError

    @staticmethod
    def _frame_outputs(units: Sequence[WriteUnit], outputs: Outputs) -> Iterator[tuple[Expression, str, FrameOutput]]:
        """(expression, frame, output) for every output of the units' expressions, in unit and expression order."""
        for u in units:
            for e in u.expressions:
                for frame, fo in outputs.get(e.id, {}).items():
                    yield e, frame, fo

    def _score(self, video_id: str, exp_id: str, frame: str, score: float) -> None:
        self._scores.setdefault((video_id, exp_id), []).append((frame, score))

    def unit_part(self, unit: WriteUnit) -> dict[str, Any]:
        return {"scores": {e.id: self._scores.pop((unit.video_id, e.id), []) for e in unit.expressions}}

    def finalize(self, parts: list[dict[str, Any]]) -> None:
        """Assemble whole-run files from the part files (nothing to do for per-frame files)."""

    @classmethod
    def dirs(cls, run_dir: Path) -> list[Path]:
        """Folders of per-frame files in a run directory (what merge copies from every shard)."""
        return []


__all__ = [
    "ANNOTATIONS_PREFIX",
    "FrameOutput",
    "Inventory",
    "Outputs",
    "Predictions",
    "RUN_RECORD_FILES",
    "WriteUnit",
    "WriteVideo",
    "Writer",
    "png_frames",
    "read_file",
]
