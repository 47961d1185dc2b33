"""The table of prediction formats (name -> reader, writer), format detection and `open_predictions`.

- `png-tree` (`lvsbench.formats.png_tree`): `[Annotations/]<video>/<exp_id>/<frame>.png`.
- `png-zip` (`lvsbench.formats.png_zip`): the same inside a .zip (CodaLab submissions; written by `lvsbench submit`).
- `coco-json` (`lvsbench.formats.coco_json`): COCO results with RLE and scores, several candidates per frame.
- `davis-anno` (`lvsbench.formats.davis_anno`): `[valid/]anno_<k>/<seq>/<frame>.png` palettes.
- `rle-json` (`lvsbench.formats.rle_results`): Sa2VA's per-expression RLE results JSON (read by the per-expression
  scorer, not by `open_predictions`).

Readers only index files when opened; masks are decoded on demand so a scorer can stream frames. Every decode error
names the file (for zips: `archive.zip!member`). Writers are atomic (temp file + rename). Import a format's reader
and writer from its own module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from lvsbench.core.errors import ConfigError, DataFormatError, LvsbenchError, unknown_name
from lvsbench.formats.base import ANNOTATIONS_PREFIX, Predictions, Writer
from lvsbench.formats.coco_json import COCO_RESULTS_NAME, CocoPredictions, CocoWriter
from lvsbench.formats.davis_anno import DavisAnnoPredictions, DavisWriter, annotator_dirs
from lvsbench.formats.png_tree import PngTreePredictions, PngTreeWriter, PngZipPredictions
from lvsbench.formats.rle_results import RleJsonWriter, RleResultsPredictions


class PredictionFormat(NamedTuple):
    """One row of the format table: the reader (a `Predictions`, returned by `open_predictions`, or the
    per-expression scorer's own) and the writer `lvsbench run` / `import-preds` use (None: not written by a run)."""

    name: str
    reader: type[Any]
    writer: type[Writer] | None


PREDICTION_FORMATS: dict[str, PredictionFormat] = {f.name: f for f in (
    PredictionFormat("png-tree", PngTreePredictions, PngTreeWriter),
    PredictionFormat("png-zip", PngZipPredictions, None),
    PredictionFormat("coco-json", CocoPredictions, CocoWriter),
    PredictionFormat("davis-anno", DavisAnnoPredictions, DavisWriter),
    PredictionFormat("rle-json", RleResultsPredictions, RleJsonWriter),
)}

FORMATS = tuple(n for n, f in PREDICTION_FORMATS.items() if issubclass(f.reader, Predictions))
"""Names accepted by `--format` of `lvsbench score` and returned by `detect_format`."""
RUN_FORMATS = tuple(n for n, f in PREDICTION_FORMATS.items() if f.writer is not None)
"""Formats `lvsbench run` writes."""


def writer_class(fmt: str) -> type[Writer]:
    """The writer of `fmt`: `writer_class(fmt)(out, protocol, threshold, folder)` (see `Writer`)."""
    row = PREDICTION_FORMATS.get(fmt)
    if row is None or row.writer is None:
        raise ConfigError(f"unknown output format {fmt!r}")
    return row.writer


def prediction_path(out: Path, fmt: str) -> Path:
    """What to pass to `lvsbench score` for a run directory."""
    file = writer_class(fmt).file if fmt in RUN_FORMATS else None
    return out / file if file else out


# ============================================================================ detection


def detect_format(path: str | Path) -> str:
    """Guess the prediction format of a file or directory (one of `FORMATS`).

    A .zip is `png-zip`, a .json `coco-json`; a directory holding `anno_<k>/` folders (possibly under `valid/`)
    or PNGs two levels deep (`<seq>/<frame>.png`) is `davis-anno`; PNGs three levels deep (after an optional
    `Annotations/`) or an empty directory is `png-tree`; a directory holding `coco_results.json` (a run's output)
    is `coco-json`."""
    p = Path(path)
    if not p.exists():
        raise DataFormatError(p, "predictions not found")
    if p.is_file():
        import zipfile

        if zipfile.is_zipfile(p):
            return "png-zip"
        if p.suffix.lower() == ".json":
            return "coco-json"
        with open(p, "rb") as f:
            head = f.read(64).lstrip()
        if head[:1] in (b"[", b"{"):
            return "coco-json"
        raise DataFormatError(p, "not a directory, .zip or COCO results .json: cannot tell the prediction format")
    if (p / COCO_RESULTS_NAME).is_file():
        return "coco-json"
    if annotator_dirs(p):
        return "davis-anno"
    base = p / ANNOTATIONS_PREFIX if (p / ANNOTATIONS_PREFIX).is_dir() else p
    depth = _first_png_depth(base)
    if depth == 2:
        return "davis-anno"
    return "png-tree"


def _first_png_depth(base: Path, max_depth: int = 4) -> int | None:
    """Depth (1 = directly in base) of the first PNG found in a breadth-first walk."""
    level = [base]
    for depth in range(1, max_depth + 1):
        nxt: list[Path] = []
        for d in level:
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except OSError:
                continue
            for e in entries:
                if e.is_file() and e.name.lower().endswith(".png"):
                    return depth
                if e.is_dir() and not e.name.startswith("."):
                    nxt.append(Path(e.path))
        level = nxt
        if not level:
            return None
    return None


def open_predictions(path: str | Path, format: str | None = None) -> Predictions:
    """Open predictions in `format` (auto-detected when None); raises `DataFormatError` naming the path."""
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise LvsbenchError(unknown_name("prediction format", fmt, FORMATS))
    if not Path(path).exists():
        raise DataFormatError(path, "predictions not found")
    return PREDICTION_FORMATS[fmt].reader(path)


__all__ = [
    "FORMATS", "PREDICTION_FORMATS", "RUN_FORMATS", "PredictionFormat", "detect_format", "open_predictions",
    "prediction_path", "writer_class",
]
