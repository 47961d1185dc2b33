"""`lvsbench report RESULTS... --out report.html`: a self-contained HTML report of scored runs.

`build_report(results, out, ...)` loads the runs (`lvsbench.report.runs`), renders the page
(`lvsbench.report.html`) and writes it atomically. Charts are generated SVG (`lvsbench.report.svg`), strips are
embedded PNGs (`lvsbench.report.overlay`), confidence intervals come from a paired bootstrap
(`lvsbench.report.stats`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lvsbench.core.io import atomic_write_text, check_overwrite
from lvsbench.report.html import ReportOptions, render_report
from lvsbench.report.runs import Run, load_run, unique_labels


def load_runs(results: Sequence[str | Path], cache_root: Path | None = None) -> list[Run]:
    runs = [load_run(p, cache_root) for p in results]
    unique_labels(runs)
    return runs


def build_report(results: Sequence[str | Path], out: str | Path, options: ReportOptions | None = None, *,
                 force: bool = False) -> Path:
    """Write the report of the given results files to `out` (refuses to overwrite without `force`)."""
    out = Path(out)
    check_overwrite(out, force)
    runs = load_runs(results, (options or ReportOptions()).cache_root)
    atomic_write_text(out, render_report(runs, options))
    return out


__all__ = ["ReportOptions", "Run", "build_report", "load_runs", "render_report"]
