"""`stats.json` / `stats.md`: the layout of Locater's Table II (videos, queries, objects per video for A2D-S test and
each A2D-S+ subset) and the object-count bins of its Table VII.

"Objects per video" follows the paper's usage, where it equals queries / videos for A2D-S (every actor is
described): the number of described actors in a video, summed over both source videos for a composed video. Table
VII bins queries by the number of described actors in the query's own video (1, 2, 3, 4, >= 5); for S_s / S_t the
bins of the composed video's object count are given too. The paper's published figures are listed beside ours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lvsbench.hardsplit.compose import SUBSET_NAMES, CompositionSpec

PAPER_TABLE_II = {
    "A2D-S test": {"videos": 737, "queries": 1295, "objects_per_video": 1.76},
    "A2D-S_m": {"videos": 257, "queries": 856, "objects_per_video": 3.33},
    "A2D-S_s": {"videos": 1290, "queries": 1295, "objects_per_video": 5.02},
    "A2D-S_t": {"videos": 1293, "queries": 1295, "objects_per_video": 5.13},
}
"""Locater (Liang et al., TPAMI 2023) Table II (S_s/S_t video counts: 1,290 / 1,293
distinct videos for 1,295 queries)."""

ROW_NAMES = {"multi": "A2D-S_m", "spatial": "A2D-S_s", "temporal": "A2D-S_t"}
BINS = ("1", "2", "3", "4", ">=5")


def bin_of(n: int) -> str:
    return str(n) if n < 5 else ">=5"


def _row(videos: int, queries: int, objects: int) -> dict[str, Any]:
    return {"videos": videos, "queries": queries,
            "objects_per_video": round(objects / videos, 4) if videos else 0.0}


def compute_stats(actors: Mapping[str, int], test_queries: Sequence[tuple[str, str]],
                  specs: Mapping[str, Sequence[CompositionSpec]],
                  coverage: Mapping[str, Mapping[str, int]] | None = None) -> dict[str, Any]:
    """Table II rows and Table VII bins from the per-video actor counts and the composition specs."""
    test_videos = sorted({v for v, _ in test_queries})
    table: dict[str, Any] = {"A2D-S test": _row(len(test_videos), len(test_queries),
                                                sum(actors.get(v, 0) for v in test_videos))}
    bins: dict[str, Any] = {"A2D-S test": _bins(actors[v] for v, _ in test_queries)}
    per_query: dict[str, dict[str, str]] = {}
    for subset in ("multi", "spatial", "temporal"):
        if subset not in specs:
            continue
        name = ROW_NAMES[subset]
        ss = specs[subset]
        n_queries = sum(len(s.queries) for s in ss)
        objects = sum(actors.get(s.query_video, 0) + (actors.get(s.partner_video, 0) if s.partner_video else 0)
                      for s in ss)
        table[name] = _row(len(ss), n_queries, objects)
        qa = [actors.get(s.query_video, 0) for s in ss for _ in s.queries]
        bins[name] = _bins(qa)
        if subset != "multi":
            va = [actors.get(s.query_video, 0) + actors.get(s.partner_video or "", 0) for s in ss for _ in s.queries]
            bins[name + " (objects in composed video)"] = _bins(va, composed=True)
        per_query[SUBSET_NAMES[subset]] = {f"{s.video_id}/{q.exp_id}": bin_of(actors.get(s.query_video, 0))
                                           for s in ss for q in s.queries}
    out: dict[str, Any] = {"table_ii": table, "table_ii_paper": PAPER_TABLE_II, "table_vii_bins": bins,
                           "query_bins": per_query}
    if coverage is not None:
        out["pair_coverage"] = {k: dict(sorted(v.items())) for k, v in sorted(coverage.items())}
    return out


def _bins(values: Any, composed: bool = False) -> dict[str, int]:
    vals = list(values)
    if composed:
        edges = sorted({v for v in vals})
        return {str(e): sum(1 for v in vals if v == e) for e in edges}
    return {b: sum(1 for v in vals if bin_of(v) == b) for b in BINS}


def stats_markdown(stats: Mapping[str, Any]) -> str:
    lines = ["# A2D-S+ statistics", "", "## Table II layout (ours | paper)", "",
             "| set | videos | queries | objects / video | paper videos | paper queries | paper objects / video |",
             "|---|---|---|---|---|---|---|"]
    for name, row in stats["table_ii"].items():
        paper = stats["table_ii_paper"].get(name, {})
        lines.append(f"| {name} | {row['videos']} | {row['queries']} | {row['objects_per_video']:.2f} | "
                     f"{paper.get('videos', '')} | {paper.get('queries', '')} | {paper.get('objects_per_video', '')} |")
    lines += ["", "## Table VII bins: queries by described actors in the query video", "",
              "| set | " + " | ".join(BINS) + " |", "|---|" + "---|" * len(BINS)]
    for name, b in stats["table_vii_bins"].items():
        if "(objects" in name:
            continue
        lines.append(f"| {name} | " + " | ".join(str(b.get(k, 0)) for k in BINS) + " |")
    composed = {k: v for k, v in stats["table_vii_bins"].items() if "(objects" in k}
    if composed:
        lines += ["", "Objects in the composed video (query + partner actors), queries per count:", ""]
        for name, b in composed.items():
            lines.append(f"- {name}: " + ", ".join(f"{k}: {v}" for k, v in b.items()))
    if "pair_coverage" in stats:
        lines += ["", "## Contrasting partners", "", "| subset | " + " | ".join(
            sorted({s for v in stats["pair_coverage"].values() for s in v})) + " |"]
        statuses = sorted({s for v in stats["pair_coverage"].values() for s in v})
        lines.append("|---|" + "---|" * len(statuses))
        for subset, cov in stats["pair_coverage"].items():
            lines.append(f"| {subset} | " + " | ".join(str(cov.get(s, 0)) for s in statuses) + " |")
    return "\n".join(lines) + "\n"
