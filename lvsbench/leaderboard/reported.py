"""Published numbers (`leaderboards/reported/*.csv`), merged into the leaderboards as `reported` rows.

One CSV per paper, one line per published number (long format, so every number carries its exact metric name and
its citation). Lines starting with `#` are the file's header notes (what was filled, what was not and why, which
metric definition the paper used). Columns:

| column | meaning |
|---|---|
| `leaderboard` | our leaderboard the number belongs to (`a2d`, `jhmdb`, `ryvos`, `rdavis`, `a2d-plus-m`, ...) |
| `protocol` | the lvsbench protocol whose definition the paper's numbers follow most closely |
| `split` | split the paper scored (`test`, `valid`, `val`, ...) |
| `method` | the row label (variant in parentheses); a method cited from another paper keeps one name across papers |
| `backbone` | visual backbone as printed (empty when the table does not say) |
| `metric` | exact lvsbench metric name, as the scorer writes it in results `values` (`mean_iou`, `P@0.5`, ...) |
| `value` | the number as printed (percent), verbatim; empty only where the text lost it (`note` says so) |
| `paper` | short citation of the paper the table is in |
| `table` | table of that paper |
| `cited_from` | the original paper when the table cites another paper's row, else empty |
| `note` | anything needed to read the number (GPU of an FPS, pre-training, metric caveat) |

Never a bare "mAP" (refused): `coco mAP 0.5:0.95` (COCO AP), `prec_mAP` (mean precision over IoU .50:.05:.95),
`locater_mAP` (mean of P@0.5..0.9); `FPS` for speed, with the GPU in `note`.

Parsing refuses malformed files (exit 2, file and line named); consistency of the numbers themselves is checked
by `lvsbench.leaderboard.audit`, which flags a row instead of refusing it (published tables contain errors).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from lvsbench.core.errors import DataFormatError

COLUMNS = ("leaderboard", "protocol", "split", "method", "backbone", "metric", "value", "paper", "table", "cited_from",
           "note")
REQUIRED = ("leaderboard", "protocol", "split", "method", "metric", "paper", "table")
AMBIGUOUS_METRICS = frozenset({"map", "mean ap", "m ap", "ap"})
"""Names that mean different things in different papers (COCO AP, mean precision over IoU thresholds, mean of
P@0.5..0.9): refused, the row must say which."""


@dataclass(frozen=True)
class ReportedValue:
    leaderboard: str
    protocol: str
    split: str
    method: str
    backbone: str
    metric: str
    value: str
    paper: str
    table: str
    cited_from: str
    note: str
    source_file: str
    line: int = 0

    @property
    def citation(self) -> str:
        base = f"{self.paper}, {self.table}"
        return f"{base}, from {self.cited_from}" if self.cited_from else base

    @property
    def where(self) -> str:
        return f"{self.source_file}:{self.line}"

    @property
    def number(self) -> float | None:
        return float(self.value) if self.value else None


def parse_reported(path: str | Path, text: str | None = None) -> list[ReportedValue]:
    """Read one reported-numbers CSV; errors name the file and line."""
    path = Path(path)
    raw = path.read_text() if text is None else text
    lines = raw.splitlines()
    body = [(i + 1, line) for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
    if not body:
        return []
    header_line, header = body[0]
    cols = next(csv.reader([header]))
    if tuple(c.strip() for c in cols) != COLUMNS:
        raise DataFormatError(path, f"header must be {','.join(COLUMNS)}, got {header!r}", f"line {header_line}")
    out: list[ReportedValue] = []
    for lineno, line in body[1:]:
        fields = next(csv.reader(io.StringIO(line)))
        if len(fields) != len(COLUMNS):
            raise DataFormatError(path, f"expected {len(COLUMNS)} fields, got {len(fields)}", f"line {lineno}")
        rec = dict(zip(COLUMNS, (f.strip() for f in fields), strict=True))
        for col in REQUIRED:
            if not rec[col]:
                raise DataFormatError(path, f"empty '{col}'", f"line {lineno}")
        if rec["metric"].lower() in AMBIGUOUS_METRICS:
            raise DataFormatError(path, f"bare {rec['metric']!r} is ambiguous: use 'coco mAP 0.5:0.95' (COCO AP), "
                                        "'prec_mAP' (mean precision over IoU .50:.05:.95) or 'locater_mAP' "
                                        "(mean of P@0.5..0.9)",
                                  f"line {lineno}")
        if not rec["value"]:
            if not rec["note"]:
                raise DataFormatError(path, "empty 'value' needs a 'note' saying why (e.g. lost in the extracted "
                                            "text)", f"line {lineno}")
        else:
            try:
                float(rec["value"])
            except ValueError as exc:
                raise DataFormatError(path, f"value {rec['value']!r} is not a number (copy it as printed, without "
                                            "'%')", f"line {lineno}") from exc
        out.append(ReportedValue(**rec, source_file=path.name, line=lineno))
    return out


def load_reported(directory: str | Path | None) -> list[ReportedValue]:
    """Every `*.csv` in `directory` (none when the folder is absent), in file order."""
    if directory is None:
        return []
    d = Path(directory)
    if not d.is_dir():
        return []
    out: list[ReportedValue] = []
    for p in sorted(d.glob("*.csv")):
        out.extend(parse_reported(p))
    return out


__all__ = ["AMBIGUOUS_METRICS", "COLUMNS", "REQUIRED", "ReportedValue", "load_reported", "parse_reported"]
