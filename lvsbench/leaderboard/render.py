"""Leaderboard tables as Markdown and CSV, byte-deterministic.

No timestamps, no absolute paths, no machine-dependent values (a dataset's card checksum depends on the JPEG
encoder; it stays in `results/*.json`, not here): two builds from the same results give the same bytes. Values are
percentages (metric x 100) with two decimals, the precision the seed papers print; reported numbers are copied
verbatim from the paper.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Any

from lvsbench.leaderboard.reported import ReportedValue
from lvsbench.metrics.names import METRICS

PRIMARY_METRIC: dict[str, str] = {
    "a2d": "mean_iou",
    "jhmdb": "mean_iou",
    "a2d-plus": "mean_iou",
    "ryvos": "J&F",
    "rdavis": "J&F-Mean",
    "rdavis-aligned": "J&F-Mean",
    "davis-semi": "J&F-Mean",
}
"""Metric each protocol's table is sorted by. For A2D / J-HMDB the literature's headline "mAP" means three different
things (COCO AP, LBDT's prec_mAP, Locater's mean of P@K), so tables sort by mean IoU, which every seed paper reports
under one definition; all the mAPs are still shown, each under its own name."""

METRIC_ORDER: tuple[str, ...] = tuple(METRICS)
"""Column order of the tables: the metric-name table's order (metrics not listed follow, alphabetically)."""


def shown_in_markdown(metric: str) -> bool:
    """The Markdown tables leave out COCO's per-area APs and its recalls (AR@k) to stay readable
    (`Metric.in_markdown`); the CSV has every metric."""
    m = METRICS.get(metric)
    return m is None or m.in_markdown


def defined(metric: str, value: float | str | None) -> bool:
    """pycocotools reports -1 for an AP / AR that is undefined (no ground truth in that area range)."""
    if value is None:
        return False
    if metric.lower().startswith("coco") and not isinstance(value, str) and float(value) == -1.0:
        return False
    return True

SOURCES = ("reproduced", "reported")


@dataclass
class Row:
    """One leaderboard row: a reproduced result (values are fractions) or a reported one (verbatim strings)."""

    leaderboard: str
    protocol: str
    split: str
    entry: str
    source: str
    kind: str
    values: dict[str, float | str]
    reference: str
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def shown(self, metric: str) -> str:
        v = self.values.get(metric)
        if not defined(metric, v):
            return ""
        if isinstance(v, str):
            return v
        return format_percent(v)

    def sort_value(self, metric: str) -> float:
        v = self.values.get(metric)
        if v is None:
            return -math.inf
        try:
            x = float(v) if isinstance(v, str) else 100.0 * float(v)
        except ValueError:
            return -math.inf
        return -math.inf if math.isnan(x) else x


@dataclass
class Skipped:
    recipe: str
    entry: str
    protocol: str
    reason: str


def format_percent(value: float) -> str:
    """`value` x 100 with two decimals; -0.00 is shown as 0.00, NaN as 'nan'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    s = f"{100.0 * float(value):.2f}"
    return "0.00" if s == "-0.00" else s


def reported_rows(values: list[ReportedValue]) -> list[Row]:
    """Group published numbers into rows: one per (leaderboard, protocol, split, method, paper, table)."""
    rows: dict[tuple[str, ...], Row] = {}
    for v in values:
        key = (v.leaderboard, v.protocol, v.split, v.method, v.paper, v.table)
        row = rows.get(key)
        if row is None:
            row = Row(v.leaderboard, v.protocol, v.split, v.method, "reported", "paper", {}, v.citation, v.note)
            rows[key] = row
        row.values[v.metric] = v.value
        if v.note and v.note not in row.note.split("; "):
            row.note = f"{row.note}; {v.note}" if row.note else v.note
    return list(rows.values())


def metric_columns(rows: list[Row], primary: str | None, markdown: bool = False) -> list[str]:
    present = {m for r in rows for m in r.values if not markdown or shown_in_markdown(m)}
    order = [m for m in METRIC_ORDER if m in present]
    order += sorted(present - set(order))
    if primary in present:
        order.remove(primary)
        order.insert(0, primary)
    return order


def sort_rows(rows: list[Row], primary: str | None) -> list[Row]:
    def key(r: Row) -> tuple[Any, ...]:
        p = r.sort_value(primary) if primary else -math.inf
        return (-p, SOURCES.index(r.source) if r.source in SOURCES else 9, r.entry, r.split, r.reference)

    return sorted(rows, key=key)


def primary_metric(protocol: str, rows: list[Row]) -> str | None:
    p = PRIMARY_METRIC.get(protocol)
    present = {m for r in rows for m in r.values}
    if p in present:
        return p
    cols = metric_columns(rows, None)
    return cols[0] if cols else None


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(name: str, rows: list[Row], skipped: list[Skipped], datasets: list[str]) -> str:
    """The leaderboard page of one dataset: one table per protocol, sorted by its primary metric."""
    out = [f"# Leaderboard: {name}", ""]
    out.append("Generated by `lvsbench leaderboard build` from `recipes/*.toml` and `leaderboards/reported/*.csv`; "
               "do not edit by hand (`lvsbench leaderboard check` fails on any difference).")
    out.append("")
    out.append("Values are percentages (metric x 100, two decimals). `reproduced` rows were computed by lvsbench from "
               "the recipe linked; `reported` rows are copied verbatim from the paper and table cited, under the "
               "lvsbench name of the metric definition that paper used (see `leaderboards/reported/`). Metric names "
               "are exact: `coco mAP 0.5:0.95` is pycocotools' COCO AP@[.5:.95] over scored candidates (MTTR / "
               "ReferFormer), `prec_mAP` is LBDT's mean over IoU thresholds of the top-1 precision, `locater_mAP` is "
               "Locater's mean of P@0.5..0.9.")
    out.append("")
    if datasets:
        out.append("Data of the reproduced rows: " + "; ".join(datasets) + ".")
        out.append("")
    protocols = sorted({r.protocol for r in rows} | {s.protocol for s in skipped})
    for protocol in protocols:
        prow = [r for r in rows if r.protocol == protocol]
        primary = primary_metric(protocol, prow)
        out.append(f"## Protocol `{protocol}`")
        out.append("")
        if not prow:
            out.append("No results yet.")
            out.append("")
        else:
            hidden = sorted({m for r in prow for m in r.values} - set(metric_columns(prow, primary, True)))
            line = f"Sorted by `{primary}` (best first)." if primary else ""
            if hidden:
                line += f" In `{name}.csv` only: " + ", ".join(f"`{m}`" for m in hidden) + "."
            out.append(line.strip())
            out.append("")
            cols = metric_columns(prow, primary, markdown=True)
            head = ["#", "entry", "source", "split", *[f"`{c}`" for c in cols], "reference"]
            out.append("| " + " | ".join(head) + " |")
            out.append("|" + "|".join(["---:", "---", "---", "---"] + ["---:"] * len(cols) + ["---"]) + "|")
            for i, r in enumerate(sort_rows(prow, primary), 1):
                ref = f"[{r.reference}](../{r.reference})" if r.source == "reproduced" else r.reference
                if r.note:
                    ref = f"{ref} ({r.note})"
                cells = [str(i), r.entry, r.source, r.split, *[r.shown(c) or "–" for c in cols], ref]
                out.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
            out.append("")
        sk = [s for s in skipped if s.protocol == protocol]
        if sk:
            out.append("Not run here:")
            out.append("")
            for s in sorted(sk, key=lambda s: s.recipe):
                out.append(f"- `{s.recipe}` ({s.entry}): {s.reason}")
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


CSV_COLUMNS = ("protocol", "rank", "entry", "source", "kind", "split", "metric", "value", "reference", "note")


def render_csv(rows: list[Row]) -> str:
    """Long format, one line per (row, metric), in the Markdown's order; values as shown there."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for protocol in sorted({r.protocol for r in rows}):
        prow = [r for r in rows if r.protocol == protocol]
        primary = primary_metric(protocol, prow)
        cols = metric_columns(prow, primary)
        for i, r in enumerate(sort_rows(prow, primary), 1):
            for c in cols:
                if defined(c, r.values.get(c)):
                    w.writerow([protocol, i, r.entry, r.source, r.kind, r.split, c, r.shown(c), r.reference, r.note])
    return buf.getvalue()
