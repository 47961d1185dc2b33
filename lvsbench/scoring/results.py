"""What scoring returns and writes: `ScoreResult`, the results JSON helpers and the per-sample metadata columns."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lvsbench.datasets.base import Dataset
from lvsbench.metrics.names import format_value
from lvsbench.protocols import Protocol
from lvsbench.scoring.validate import MissingItem

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class ScoreResult:
    """What `score` returns: the headline values, tables, and the JSON written by `lvsbench score --out`."""

    protocol: Protocol
    values: dict[str, float]
    summary: pd.DataFrame
    per_sample: pd.DataFrame
    per_group: pd.DataFrame
    """One row per group of `by` (columns: the `by` column, n, the metrics); empty, with the metric columns, when
    scored without `by`."""
    results: dict[str, Any]
    missing: list[MissingItem] = field(default_factory=list)

    def table(self) -> str:
        """Human-readable summary (one metric per line, exact metric names, percent with two decimals as papers
        print them; `--json` and the results JSON keep full-precision fractions)."""
        p = self.protocol
        lines = [f"protocol {p.name}: {p.title}" + ("  [OFFLINE PROXY]" if p.proxy else "")]
        c = self.results["counts"]
        lines.append("  " + ", ".join(f"{k} {v}" for k, v in c.items()))
        if "runs" in self.results:  # DAVIS family: per-run rows
            ds = self.results["dataset"]
            where = f"; annotations {ds['annotations']}" if ds.get("annotations") else ""
            lines.append(f"  decay {self.results['options']['decay']}{where}")
        lines.append("  values in percent (x100, two decimals; n/a = not defined on this data); --json gives full "
                     "precision")
        width = max(len(k) for k in self.values) if self.values else 0
        for k, v in self.values.items():
            lines.append(f"  {k:<{width}}  {format_value(k, v):>6}")
        if self.missing:
            lines.append(f"  {len(self.missing)} missing item(s) scored as empty (listed in the results JSON)")
        if not self.per_group.empty:
            shown = self.per_group.copy()
            for c in shown.columns[2:]:
                shown[c] = [format_value(str(c), v) for v in shown[c]]
            lines.append("")
            lines.append(shown.to_string(index=False))
        return "\n".join(lines)


def _bin_objects(n: Any) -> str | None:
    return None if _absent(n) else str(int(n)) if int(n) < 5 else ">=5"


def _bin_words(n: Any) -> str | None:
    if _absent(n):
        return None
    n = int(n)
    return next((f"{lo}-{hi}" for lo, hi in ((1, 5), (6, 10), (11, 15)) if lo <= n <= hi), "16+" if n > 15 else "0")


def _absent(n: Any) -> bool:
    return n is None or (isinstance(n, float) and math.isnan(n))


def attach_metadata(df: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """Join per-sample rows with the expression table (text, category, word count, objects in video ...) and add
    the binned columns `num_objects_bin` (1, 2, 3, 4, >=5: objects in the video) and `num_words_bin`."""
    meta = dataset.expressions_frame()
    if df.empty or meta.empty or "exp_id" not in df:
        return df
    meta = meta.drop(columns=[c for c in meta.columns if c in df.columns and c not in ("video_id", "exp_id")])
    meta = meta.astype({"video_id": str, "exp_id": str})
    out = df.merge(meta, on=["video_id", "exp_id"], how="left")
    if "num_objects_in_video" not in out:
        out["num_objects_in_video"] = out["video_id"].map(_objects_per_video(dataset, out["video_id"]))
    unknown = out["num_objects_in_video"].isna()  # rows without an expression in the table (DAVIS objects)
    if unknown.any():
        videos = out.loc[unknown, "video_id"]
        out["num_objects_in_video"] = out["num_objects_in_video"].fillna(
            videos.map(_objects_per_video(dataset, videos)))
    out["num_objects_bin"] = [_bin_objects(n) for n in out["num_objects_in_video"]]
    if "num_words" in out:
        out["num_words_bin"] = [_bin_words(n) for n in out["num_words"]]
    return out


def _objects_per_video(dataset: Dataset, videos: pd.Series) -> dict[str, int]:
    return {v: dataset.num_objects_in_video(v) for v in videos.unique()}


def json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.floating):
        return json_safe(float(v))
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, dict):
        return {str(k): json_safe(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [json_safe(x) for x in v]
    return v


def dataset_checksum(dataset: Dataset) -> tuple[str, str]:
    """(kind, sha256) identifying the ground truth: the card of a layout dataset; otherwise a reader's own
    `checksum()`, else the sha256 of its annotation metadata (videos, frames, expressions, objects)."""
    import hashlib

    from lvsbench.datasets.layout import LayoutDataset, card_checksum

    if isinstance(dataset, LayoutDataset):
        return "card", card_checksum(dataset.root)
    fn = getattr(dataset, "checksum", None)
    if callable(fn):
        return "reader", str(fn())
    h = hashlib.sha256()
    for vid, v in dataset.videos().items():
        h.update(json.dumps([vid, list(v.frames), v.height, v.width, list(dataset.annotated_frames(vid))]).encode())
    for e in dataset.expressions():
        h.update(json.dumps([e.video_id, e.id, e.text, list(e.object_ids), list(e.frames)]).encode())
    return "metadata", h.hexdigest()


def write_results(result: ScoreResult, out: str | Path | None = None, per_sample: str | Path | None = None,
                  force: bool = False) -> None:
    """Write the results JSON and the per-sample CSV atomically (refusing to overwrite without `force`)."""
    from lvsbench.core.io import atomic_write_json, atomic_write_text, check_overwrite

    for target in (out, per_sample):
        if target is not None:
            check_overwrite(target, force)
    if out is not None:
        atomic_write_json(out, result.results)
    if per_sample is not None:
        atomic_write_text(per_sample, result.per_sample.to_csv(index=False))


__all__ = ["ScoreResult", "attach_metadata", "dataset_checksum", "json_safe", "write_results"]
