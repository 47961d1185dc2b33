"""Published numbers (`leaderboards/reported/*.csv`), merged into the leaderboards as `reported` rows.

One CSV per paper, one line per published number (long format, so every number carries its exact metric name and
its citation). Lines starting with `#` are the file's header notes (what was filled, what was not and why, which
metric definition the paper used). Columns:

| column | meaning |
|---|---|
| `leaderboard` | our leaderboard the number belongs to (`a2d`, `jhmdb`, `ryvos`, `rdavis`, `a2d-plus-m`, ...) |
| `protocol` | the lvsbench protocol whose definition the paper's numbers follow |
| `split` | split the paper scored (`test`, `valid`, ...) |
| `method` | the row label, as the paper names the method (variant in parentheses) |
| `metric` | exact lvsbench metric name (never a bare "mAP": `coco mAP 0.5:0.95`, `prec_mAP`, `locater_mAP`) |
| `value` | the number as printed in the paper (percent), kept verbatim |
| `paper` | short citation (authors, venue, year) |
| `table` | table of the paper the number is copied from |
| `note` | anything needed to read the number (backbone, extra training data, metric caveat) |
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from lvsbench.errors import DataFormatError

COLUMNS = ("leaderboard", "protocol", "split", "method", "metric", "value", "paper", "table", "note")


@dataclass(frozen=True)
class ReportedValue:
    leaderboard: str
    protocol: str
    split: str
    method: str
    metric: str
    value: str
    paper: str
    table: str
    note: str
    source_file: str

    @property
    def citation(self) -> str:
        return f"{self.paper}, {self.table}"


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
    seen: dict[tuple[str, ...], int] = {}
    for lineno, line in body[1:]:
        fields = next(csv.reader(io.StringIO(line)))
        if len(fields) != len(COLUMNS):
            raise DataFormatError(path, f"expected {len(COLUMNS)} fields, got {len(fields)}", f"line {lineno}")
        rec = dict(zip(COLUMNS, (f.strip() for f in fields), strict=True))
        for col in COLUMNS[:-1]:
            if not rec[col]:
                raise DataFormatError(path, f"empty '{col}'", f"line {lineno}")
        if rec["metric"].lower() == "map":
            raise DataFormatError(path, "bare 'mAP' is ambiguous: use 'coco mAP 0.5:0.95' (COCO AP), 'prec_mAP' "
                                        "(LBDT) or 'locater_mAP' (Locater)", f"line {lineno}")
        try:
            float(rec["value"])
        except ValueError as exc:
            raise DataFormatError(path, f"value {rec['value']!r} is not a number", f"line {lineno}") from exc
        key = (rec["leaderboard"], rec["protocol"], rec["split"], rec["method"], rec["paper"], rec["table"],
               rec["metric"])
        if key in seen:
            raise DataFormatError(path, f"duplicate number (same as line {seen[key]})", f"line {lineno}")
        seen[key] = lineno
        out.append(ReportedValue(**rec, source_file=path.name))
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
