"""`stats.json` / `stats.md`: the layout of Locater's Table II (videos, queries, objects per video for A2D-S test and
each A2D-S+ subset) and the object-count bins of its Table VII.

"Objects per video" follows the paper's usage, where it equals queries / videos for A2D-S (every actor is
described): the number of described actors in a video, summed over both source videos for a composed video (the
query side and the partner side are reported separately too). Table VII ("we group the generated examples into three
clusters according to the number of existing objects ... The performance on the single actor subset of A2D-S test
is also provided for reference") gives no cluster boundaries; ours (`TABLE_VII_CLUSTERS`: 2-3, 4-6, >= 7 objects in
the composed video) are near-terciles of the real build's queries (37 / 36 / 27 %). `table_vii_group` assigns a
scored sample to its group (`lvsbench score --by table_vii_group`). The paper's published figures are listed beside
ours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lvsbench.core.errors import ConfigError
from lvsbench.hardsplit.compose import SOURCE_DATASET, SUBSET_NAMES, CompositionSpec

PAPER_TABLE_II = {
    "A2D-S test": {"videos": 737, "queries": 1295, "objects_per_video": 1.76},
    "A2D-S_m": {"videos": 257, "queries": 856, "objects_per_video": 3.33},
    "A2D-S_s": {"videos": 1290, "queries": 1295, "objects_per_video": 5.02},
    "A2D-S_t": {"videos": 1293, "queries": 1295, "objects_per_video": 5.13},
}
"""Locater (TPAMI 2023) Table II (S_s/S_t video counts: 1,290 / 1,293 distinct videos for 1,295 queries)."""

ROW_NAMES = {"multi": "A2D-S_m", "spatial": "A2D-S_s", "temporal": "A2D-S_t"}
BINS = ("1", "2", "3", "4", ">=5")
TABLE_VII_CLUSTERS = ((2, 3, "2-3"), (4, 6, "4-6"), (7, 10 ** 6, ">=7"))
"""Locater Table VII's three clusters of S_s / S_t examples by objects in the composed video (boundaries ours)."""
SINGLE_ACTOR = "A2D-S test, single actor"
STATS_SCHEMA = "lvsbench.hard-split-stats/1"
"""Schema of the `--stats-out` file (`summary_stats`)."""


def bin_of(n: int) -> str:
    return str(n) if n < 5 else ">=5"


def cluster_of(n: int) -> str:
    for lo, hi, name in TABLE_VII_CLUSTERS:
        if lo <= n <= hi:
            return name
    return f"{n} (outside the clusters)"


def table_vii_group(dataset: Any, n: int) -> str:
    """Table VII group of a scored sample with `n` objects in its video: the S_s / S_t cluster for an A2D-S+
    composed subset (card `hard_split.subset`), "A2D-S test, single actor" (or the multi-actor rest, not in Table
    VII) for A2D-Sentences itself."""
    card = getattr(dataset, "card", None)
    subset = card.get("hard_split", {}).get("subset") if isinstance(card, dict) else None
    n = int(n)
    if subset in ("spatial", "temporal"):
        return f"{ROW_NAMES[subset]} {cluster_of(n)}"
    if subset == "multi":
        return "A2D-S_m (not in Table VII)"
    if getattr(dataset, "name", "") in (SOURCE_DATASET, "a2d-sentences"):
        return SINGLE_ACTOR if n == 1 else "A2D-S test, >= 2 actors (not in Table VII)"
    raise ConfigError(f"--by table_vii_group is defined for A2D-Sentences and the A2D-S+ subsets, not for "
                      f"{getattr(dataset, 'name', dataset)!r}")


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
    clusters: dict[str, dict[str, int]] = {SINGLE_ACTOR: {"1": sum(1 for v, _ in test_queries if actors[v] == 1)}}
    for subset in ("multi", "spatial", "temporal"):
        if subset not in specs:
            continue
        name = ROW_NAMES[subset]
        ss = specs[subset]
        n_queries = sum(len(s.queries) for s in ss)
        objects = sum(actors.get(s.query_video, 0) + (actors.get(s.partner_video, 0) if s.partner_video else 0)
                      for s in ss)
        table[name] = _row(len(ss), n_queries, objects)
        if subset != "multi" and ss:
            q_side = sum(actors.get(s.query_video, 0) for s in ss)
            table[name]["query_objects_per_video"] = round(q_side / len(ss), 4)
            table[name]["partner_objects_per_video"] = round((objects - q_side) / len(ss), 4)
        qa = [actors.get(s.query_video, 0) for s in ss for _ in s.queries]
        bins[name] = _bins(qa)
        if subset != "multi":
            va = [actors.get(s.query_video, 0) + actors.get(s.partner_video or "", 0) for s in ss for _ in s.queries]
            bins[name + " (objects in composed video)"] = _bins(va, composed=True)
            clusters[name] = {c: sum(1 for v in va if cluster_of(v) == c) for _, _, c in TABLE_VII_CLUSTERS}
        per_query[SUBSET_NAMES[subset]] = {f"{s.video_id}/{q.exp_id}": bin_of(actors.get(s.query_video, 0))
                                           for s in ss for q in s.queries}
    out: dict[str, Any] = {"table_ii": table, "table_ii_paper": PAPER_TABLE_II, "table_vii_bins": bins,
                           "table_vii_clusters": clusters, "query_bins": per_query}
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
    if stats.get("table_vii_clusters"):
        lines += ["", "## Table VII groups (queries; `lvsbench score --by table_vii_group`)", ""]
        for name, b in stats["table_vii_clusters"].items():
            lines.append(f"- {name}: " + ", ".join(f"{k}: {v}" for k, v in b.items()))
    if "pair_coverage" in stats:
        lines += ["", "## Contrasting partners", "", "| subset | " + " | ".join(
            sorted({s for v in stats["pair_coverage"].values() for s in v})) + " |"]
        statuses = sorted({s for v in stats["pair_coverage"].values() for s in v})
        lines.append("|---|" + "---|" * len(statuses))
        for subset, cov in stats["pair_coverage"].items():
            lines.append(f"| {subset} | " + " | ".join(str(cov.get(s, 0)) for s in statuses) + " |")
    return "\n".join(lines) + "\n"


def summary_stats(stats: Mapping[str, Any], pairs: Sequence[Any], manifest: Mapping[str, Any],
                  human_checked_pairs: int) -> dict[str, Any]:
    """The small, machine-independent A2D-S+ statistics file (`--stats-out`; committed as
    leaderboards/reported/a2d-plus-stats.json, rendered in leaderboards/a2d.md):
    Table II (ours and the paper's), pairing coverage and tiers, Table VII groups, and what it was built from."""
    from collections import Counter

    tiers: dict[str, dict[str, int]] = {}
    for subset, counts in sorted(Counter((p.subset, p.comparison.tier) for p in pairs
                                         if p.partner is not None and p.comparison is not None).items()):
        tiers.setdefault(subset[0], {})[str(subset[1])] = counts
    srl = manifest.get("srl", {})
    return {
        "schema": STATS_SCHEMA,
        "built_from": {"inputs_sha256": manifest.get("inputs", {}), "seed": manifest.get("seed"),
                       "stage": manifest.get("stage"), "srl_backend": srl.get("backend"),
                       "predicates": manifest.get("predicates"), "lemmatizer": manifest.get("lemmatizer"),
                       "wordnet": manifest.get("wordnet"), "match_roles": manifest.get("match_roles"),
                       "min_actors": manifest.get("min_actors"), "projected": bool(stats.get("projected"))},
        "human_checked": human_checked_pairs > 0,
        "human_checked_pairs": human_checked_pairs,
        "table_ii": stats["table_ii"],
        "table_ii_paper": stats["table_ii_paper"],
        "pair_coverage": stats.get("pair_coverage", {}),
        "pair_tiers": tiers,
        "table_vii_clusters": stats.get("table_vii_clusters", {}),
        "table_vii_bins": {k: v for k, v in stats["table_vii_bins"].items() if "(objects" not in k},
    }


__all__ = ["BINS", "PAPER_TABLE_II", "ROW_NAMES", "SINGLE_ACTOR", "STATS_SCHEMA", "TABLE_VII_CLUSTERS", "bin_of",
           "cluster_of", "compute_stats", "stats_markdown", "summary_stats", "table_vii_group"]
