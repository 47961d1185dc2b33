"""Leaderboard tables as Markdown and CSV, byte-deterministic.

No timestamps, no absolute paths, no machine-dependent values (a dataset's card checksum depends on the JPEG
encoder; it stays in `results/*.json`, not here): two builds from the same results give the same bytes. Values are
percentages (metric x 100) with two decimals, the precision the seed papers print, formatted by
`lvsbench.metrics.names.format_value` (the one place units come from; COCO's -1 prints as "n/a"); reported numbers
are copied verbatim from the paper. The CSV names the unit of every value.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Any

from lvsbench.leaderboard.audit import Flag
from lvsbench.leaderboard.reported import ReportedValue
from lvsbench.metrics.names import METRICS, NOT_APPLICABLE, format_value, is_applicable, printed_unit
from lvsbench.protocols import PROTOCOLS

METRIC_ORDER: tuple[str, ...] = tuple(METRICS)
"""Column order of the tables: the metric-name table's order (metrics not listed follow, alphabetically)."""


def shown_in_markdown(metric: str) -> bool:
    """The Markdown tables leave out COCO's per-area APs and its recalls (AR@k) to stay readable
    (`Metric.in_markdown`); the CSV has every metric."""
    m = METRICS.get(metric)
    return m is None or m.in_markdown


def defined(metric: str, value: float | str | None) -> bool:
    """pycocotools reports -1 for an AP / AR that is undefined (no ground truth in that area range)."""
    if isinstance(value, str):
        return True
    return is_applicable(metric, value)


def csv_unit(metric: str) -> str:
    """Unit of a leaderboard value: the metric table's printed unit; a number only papers report (FPS) is as
    printed there."""
    if metric in METRICS:
        return printed_unit(metric)
    return "frames per second" if metric == "FPS" else "as printed in the paper"

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
    backbone: str = ""
    flags: dict[str, str] = field(default_factory=dict)
    """Audit findings on a reported row by metric (`lvsbench.leaderboard.audit`), shown beside it."""

    def shown(self, metric: str) -> str:
        """The cell: verbatim for a reported number, else percent with two decimals ("n/a" for COCO's -1, ""
        when absent)."""
        v = self.values.get(metric)
        if v is None:
            return ""
        if isinstance(v, str):
            return v
        return format_value(metric, v)

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
    """`value` x 100 with two decimals; -0.00 is shown as 0.00, NaN as 'nan' (`format_value` of a fraction)."""
    return "nan" if value is None else format_value("", value)


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
    """The protocol's `primary_metric` when the rows have it, else the first column. (For A2D / J-HMDB that is
    mean IoU: the literature's headline "mAP" means three different things, all shown under their own names.)"""
    p = PROTOCOLS[protocol].primary_metric if protocol in PROTOCOLS else None
    present = {m for r in rows for m in r.values}
    if p in present:
        return p
    cols = metric_columns(rows, None)
    return cols[0] if cols else None


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(name: str, rows: list[Row], skipped: list[Skipped], datasets: list[str],
                    appendix: list[str] | None = None) -> str:
    """The leaderboard page of one dataset: one table per protocol, sorted by its primary metric."""
    out = [f"# Leaderboard: {name}", ""]
    out.append("Generated by `lvsbench leaderboard build` from `recipes/*.toml` and `leaderboards/reported/*.csv`; "
               "do not edit by hand (`lvsbench leaderboard check` fails on any difference).")
    out.append("")
    out.append(f"Values are percentages (metric x 100, two decimals; `{NOT_APPLICABLE}`: not defined on this data, "
               "e.g. COCO AP of an area range without ground truth). `reproduced` rows were computed by lvsbench from "
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
            if any(r.source == "reported" for r in prow):
                out.extend(reported_table_lines(name, protocol, prow, primary))
            else:
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
    out.extend(appendix or [])
    return "\n".join(out).rstrip("\n") + "\n"


CSV_COLUMNS = ("protocol", "rank", "entry", "source", "kind", "split", "metric", "value", "unit", "reference",
               "note", "backbone", "audit")


def render_csv(rows: list[Row]) -> str:
    """Long format, one line per (row, metric), in the Markdown's order; values as shown there, with their unit.
    Undefined values (COCO's -1, "n/a" in the Markdown) are left out, so that every `value` parses as a number."""
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
                    w.writerow([protocol, i, r.entry, r.source, r.kind, r.split, c, r.shown(c), csv_unit(c),
                                r.reference, r.note, r.backbone, r.flags.get(c, "")])
    return buf.getvalue()


# ============================================================================================ reported rows
# Published numbers beside the reproduced ones (issue 15): grouping, audit flags, notes as footnotes, ablations in
# their own table, and a comparability note per protocol (`Protocol.comparability`).


def reported_rows(values: list[ReportedValue], flags: list[Flag] | None = None) -> list[Row]:
    """Group published numbers into rows: one per (leaderboard, protocol, split, method, backbone, paper, table,
    cited_from); each metric's audit flags are attached to its row."""
    by_value: dict[int, list[Flag]] = {}
    for f in flags or []:
        by_value.setdefault(id(f.value), []).append(f)
    rows: dict[tuple[str, ...], Row] = {}
    notes: dict[tuple[str, ...], dict[str, list[str]]] = {}
    metrics: dict[tuple[str, ...], list[str]] = {}
    for v in values:
        key = (v.leaderboard, v.protocol, v.split, v.method, v.backbone, v.paper, v.table, v.cited_from)
        row = rows.get(key)
        if row is None:
            row = Row(v.leaderboard, v.protocol, v.split, v.method, "reported", "paper", {}, v.citation,
                      backbone=v.backbone)
            rows[key] = row
            notes[key], metrics[key] = {}, []
        if v.value:
            row.values[v.metric] = v.value
        if v.note:
            notes[key].setdefault(v.note, []).append(v.metric)
        found = by_value.get(id(v), [])
        if found:
            row.flags[v.metric] = "; ".join(f"[{f.check}] {f.reason}" for f in found)
        metrics[key].append(v.metric)
    for key, row in rows.items():
        whole = [text for text, ms in notes[key].items() if ms == metrics[key]]  # applies to every number
        row.note = "; ".join(whole + [f"{', '.join(ms)}: {text}" for text, ms in notes[key].items()
                                      if text not in whole])
    return list(rows.values())


def is_ablation(row: Row) -> bool:
    """Reported rows of a paper's ablation tables (their `table` says "ablation") are listed apart from the main
    comparison, so that a variant does not read as a separate method."""
    return row.source == "reported" and "ablation" in row.reference.lower()


def reported_table_lines(name: str, protocol: str, rows: list[Row], primary: str | None) -> list[str]:
    """The table of a protocol that has reported rows: backbone shown, notes as numbered footnotes, audit flags
    named beside the row and listed below, ablation rows in a second table."""
    out: list[str] = []
    note = PROTOCOLS[protocol].comparability if protocol in PROTOCOLS else ""
    if note:
        out += [f"Comparability: {note}", ""]
    footnotes: dict[str, int] = {}
    flags: list[str] = []
    main = [r for r in rows if not is_ablation(r)]
    ablations = [r for r in rows if is_ablation(r)]
    for title, part in (("", main), ("Ablations reported in the papers (variants of one method, in the papers' "
                                      "order):", ablations)):
        if not part:
            continue
        if title:
            out += [title, ""]
        cols = metric_columns(part, primary, markdown=True)
        head = ["#", "entry", "source", "backbone", "split", *[f"`{c}`" for c in cols], "reference", "audit"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join(["---:", "---", "---", "---", "---"] + ["---:"] * len(cols) + ["---", "---"]) + "|")
        ordered = sort_rows(part, primary) if part is main else part  # ablations: in the paper's order
        for i, r in enumerate(ordered, 1):
            if r.source == "reproduced":
                ref = f"[{r.reference}](../{r.reference})" + (f" ({r.note})" if r.note else "")
            else:
                ref = r.reference
                if r.note:
                    n = footnotes.setdefault(r.note, len(footnotes) + 1)
                    ref = f"{ref} [{n}]"
            audit = []
            for metric, reason in sorted(r.flags.items()):
                flags.append(f"{r.entry} ({r.backbone or 'backbone not stated'}, {r.reference}) `{metric}`: {reason}")
                audit.append(f"FLAGGED `{metric}` (A{len(flags)})")
            cells = [str(i), r.entry, r.source, r.backbone or "–", r.split, *[r.shown(c) or "–" for c in cols], ref,
                     ", ".join(audit)]
            out.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
        out.append("")
    if footnotes:
        out += ["Notes:", ""]
        out += [f"{n}. {_md_cell(text)}" for text, n in footnotes.items()]
        out.append("")
    if flags:
        out += ["Audit flags (the published number is kept as printed; see `lvsbench.leaderboard.audit`):", ""]
        out += [f"- A{i}: {_md_cell(text)}" for i, text in enumerate(flags, 1)]
        out.append("")
    return out


__all__ = ["CSV_COLUMNS", "METRIC_ORDER", "Row", "SOURCES", "Skipped", "csv_unit", "defined", "format_percent",
           "is_ablation", "metric_columns", "primary_metric", "render_csv", "render_markdown", "reported_rows",
           "reported_table_lines", "shown_in_markdown", "sort_rows"]
