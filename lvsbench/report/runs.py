"""Runs the report compares: loaded from results JSON files and their per-sample CSVs.

Two kinds of results files are read:

- a leaderboard result (`results/<recipe>.json`, written by `lvsbench leaderboard build` and `lvsbench demo`): its
  per-sample CSV is named in the file (`samples`), its predictions and data are `cache:<path>` pointers resolved
  against the lvsbench cache folder (or `$<key>` for a configured real root);
- a scorer result (`lvsbench score --out results.json`): the per-sample CSV is found beside it as
  `<stem>.samples.csv`, `<stem>_samples.csv`, `<stem>-samples.csv` or `samples.csv`; the predictions and dataset
  root are the paths recorded by the scorer.

Anything missing (no per-sample CSV, predictions or data no longer on disk) only removes the sections that need it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from lvsbench.core.errors import DataFormatError
from lvsbench.protocols import PROTOCOLS, Protocol

KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "samples": ("video_id", "exp_id", "frame"),
    "expressions": ("video_id", "exp_id"),
    "objects": ("run", "video_id", "object_id"),
}
"""Columns that identify a per-sample row, by the protocol's `aggregate` (two runs are paired on them)."""


@dataclass
class Run:
    """One scored run: its values, its per-sample table, and where its predictions and data are."""

    path: Path
    label: str
    group: str
    """Runs in the same group are scored on the same data with the same protocol (comparable)."""
    dataset_label: str
    protocol: str
    split: str
    kind: str
    values: dict[str, float]
    samples_path: Path | None
    predictions: Path | None
    prediction_format: str | None
    dataset_ref: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def samples(self) -> pd.DataFrame | None:
        if self.samples_path is None or not self.samples_path.is_file():
            return None
        return pd.read_csv(self.samples_path, dtype={"video_id": str, "exp_id": str, "frame": str, "run": str,
                                                     "image_id": str})

    @property
    def spec(self) -> Protocol | None:
        """The protocol's declaration (None for a name lvsbench does not define)."""
        return PROTOCOLS.get(self.protocol)

    @property
    def aggregate(self) -> str | None:
        """What a per-sample row is (`Protocol.aggregate`): a frame sample, an expression or an object."""
        return self.spec.aggregate if self.spec is not None else None

    @property
    def score_column(self) -> str | None:
        """Per-sample column whose mean is the headline: IoU of a frame sample, else J&F (if the table has it)."""
        col = {None: None, "samples": "iou"}.get(self.aggregate, "J&F")
        return col if self.samples is not None and col in self.samples.columns else None

    @property
    def key_columns(self) -> tuple[str, ...]:
        return KEY_COLUMNS.get(self.aggregate or "", ("video_id", "exp_id"))


def _resolve(pointer: str | None, base: Path, cache_root: Path | None) -> Path | None:
    if not pointer:
        return None
    if pointer.startswith("cache:"):
        return None if cache_root is None else cache_root / pointer[len("cache:"):]
    if pointer.startswith("$"):
        from lvsbench.datasets.registry import configured_root

        return configured_root(pointer[1:])[0]
    p = Path(pointer)
    return p if p.is_absolute() else base / p


def _samples_beside(path: Path) -> Path | None:
    for name in (f"{path.stem}.samples.csv", f"{path.stem}_samples.csv", f"{path.stem}-samples.csv", "samples.csv"):
        p = path.parent / name
        if p.is_file():
            return p
    return None


def load_run(path: str | Path, cache_root: Path | None = None) -> Run:
    """Read one results JSON (leaderboard or scorer format)."""
    from lvsbench.leaderboard.recipes import RESULT_FORMAT

    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise DataFormatError(path, "results file not found") from exc
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, f"invalid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise DataFormatError(path, "not a results object")
    if doc.get("format") == RESULT_FORMAT:
        score = doc.get("score", {})
        samples = path.parent / doc["samples"] if doc.get("samples") else None
        preds = score.get("predictions", {})
        ref = dict(doc.get("dataset_ref") or {})
        return Run(path=path, label=str(doc.get("entry", path.stem)),
                   group=f"{doc.get('leaderboard')} · {doc.get('protocol')} · {doc.get('split')}",
                   dataset_label=str(doc.get("leaderboard")), protocol=str(doc.get("protocol")),
                   split=str(doc.get("split")), kind=str(doc.get("kind", "")),
                   values={k: float(v) for k, v in doc.get("values", {}).items() if v is not None},
                   samples_path=samples, predictions=_resolve(preds.get("path"), path.parent, cache_root),
                   prediction_format=preds.get("format"),
                   dataset_ref={**ref, "root_path": _resolve(ref.get("root"), path.parent, cache_root)},
                   counts=dict(score.get("counts", {})))
    if "values" not in doc or "protocol" not in doc:
        raise DataFormatError(path, "neither a leaderboard result nor an `lvsbench score` results file "
                                    "(no 'values' / 'protocol')")
    proto = doc["protocol"] if isinstance(doc["protocol"], dict) else {"name": doc["protocol"]}
    ds = doc.get("dataset", {})
    preds = doc.get("predictions", {})
    pred_path = _resolve(preds.get("path"), path.parent, None)
    label = pred_path.name if pred_path is not None else path.stem
    if label in ("coco_results.json", "Annotations") and pred_path is not None:
        label = pred_path.parent.name
    name = str(ds.get("name", "?"))
    return Run(path=path, label=label, group=f"{name} · {proto.get('name')} · {ds.get('split')}",
               dataset_label=name, protocol=str(proto.get("name")),
               split=str(ds.get("split")), kind="", values={k: float(v) for k, v in doc["values"].items()
                                                            if v is not None},
               samples_path=_samples_beside(path), predictions=pred_path, prediction_format=preds.get("format"),
               dataset_ref={"name": name, "split": ds.get("split"),
                            "root_path": Path(ds["root"]) if ds.get("root") else None},
               counts=dict(doc.get("counts", {})))


def unique_labels(runs: list[Run]) -> None:
    """Make labels unique within a group (suffix the results file name when two runs share one)."""
    seen: dict[tuple[str, str], int] = {}
    for r in runs:
        seen[(r.group, r.label)] = seen.get((r.group, r.label), 0) + 1
    for r in runs:
        if seen[(r.group, r.label)] > 1:
            r.label = f"{r.label} ({r.path.stem})"


def open_dataset(run: Run) -> Any | None:
    """The run's dataset reader, or None when its data is not available here."""
    ref = run.dataset_ref
    root = ref.get("root_path")
    if root is None or not Path(root).exists():
        return None
    from lvsbench.datasets.registry import load

    try:
        return load(str(ref.get("name")), Path(root), ref.get("split"))
    except Exception:  # noqa: BLE001 - a report without strips beats no report
        return None


__all__ = ["KEY_COLUMNS", "Run", "load_run", "open_dataset", "unique_labels"]
