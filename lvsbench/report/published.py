"""Report section: the papers' published numbers for the datasets and protocols the report's runs cover
(`lvsbench report --reported DIR`), audited and under their exact metric names, as in the leaderboards."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path

from lvsbench.leaderboard.audit import audit
from lvsbench.leaderboard.render import is_ablation, metric_columns, reported_rows, sort_rows
from lvsbench.leaderboard.render import primary_metric as leaderboard_primary
from lvsbench.leaderboard.reported import load_reported
from lvsbench.protocols import PROTOCOLS
from lvsbench.report.runs import Run


def covered(runs: list[Run]) -> set[tuple[str, str]]:
    """(dataset name, protocol) pairs of the runs: a leaderboard result's dataset name and its leaderboard name."""
    out: set[tuple[str, str]] = set()
    for r in runs:
        for name in (r.dataset_label, r.dataset_ref.get("name")):
            if name:
                out.add((str(name), r.protocol))
    return out


def section_reported(runs: list[Run], reported_dir: Path,
                     table: Callable[[list[str], list[list[str]], int], str]) -> str:
    """HTML of the published rows whose (leaderboard, protocol) one of the runs covers; `table` is the report's
    table helper (head, rows, left) -> html."""
    values = load_reported(reported_dir)
    rows = reported_rows(values, audit(values))
    keys = covered(runs)
    rows = [r for r in rows if (r.leaderboard, r.protocol) in keys and not is_ablation(r)]
    out = ["<h2 id=reported>Published numbers</h2><p class=note>Copied verbatim from the papers (percent) under the "
           f"lvsbench name of each paper's metric definition, from <code>{escape(str(reported_dir.name))}/</code>; "
           "scored on the real dataset's published split, not on the data of the runs above unless they are the "
           "same. A flagged number failed the audit (the reason is given) and is kept as printed.</p>"]
    if not rows:
        out.append("<p class=note>No published numbers for the datasets and protocols of these runs.</p>")
        return "\n".join(out)
    for lb, proto in sorted({(r.leaderboard, r.protocol) for r in rows}):
        part = [r for r in rows if (r.leaderboard, r.protocol) == (lb, proto)]
        primary = leaderboard_primary(proto, part)
        cols = metric_columns(part, primary, markdown=True)
        body = []
        for r in sort_rows(part, primary):
            flags = "; ".join(f"{escape(m)}: {escape(reason)}" for m, reason in sorted(r.flags.items()))
            body.append([escape(r.entry), escape(r.backbone or "–"), escape(r.split),
                         *[escape(r.shown(c) or "–") for c in cols], escape(r.reference),
                         escape(r.note), flags])
        out.append(f"<h3>{escape(lb)} · {escape(proto)}</h3>")
        note = PROTOCOLS[proto].comparability if proto in PROTOCOLS else ""
        if note:
            out.append(f"<p class=note>{escape(note)}</p>")
        out.append(table(["method", "backbone", "split", *[f"<code>{escape(c)}</code>" for c in cols], "reference",
                          "note", "audit"], body, 3))
    return "\n".join(out)


__all__ = ["covered", "section_reported"]
