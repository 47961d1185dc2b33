"""Contrasting-partner sampling for A2D-S_s / A2D-S_t (Locater, TPAMI 2023, §A2D-S+).

The paper pairs every A2D test query with a query of another video whose semantic roles share at least one but not
all (role, phrase) pairs, so the partner video holds a similar but differently described actor. Here:

- **Eligible**: another video's query `p` with `shared = R(q) & R(p)` non-empty and `R(q) - R(p)` non-empty (the
  query is not fully implied by the partner's description, so it does not also describe the partner's actor).
- **Ranking** among eligible partners (documented choice; the paper gives none): tier 0 first, i.e. partners with a
  *conflicting* role (a role realised in both with different phrases: "a man running" vs "a man walking"), then
  tier 1 (the query only has roles the partner lacks); within a tier, more shared pairs first (harder contrast).
- **Choice**: uniform among the best-ranked group, with a `random.Random` seeded by
  `"{seed}:{subset}:{video}:{expression}"` over candidates sorted by (video, expression): independent of processing
  order, so a build is reproducible from (inputs, seed, decisions). The spatial and temporal subsets draw
  independently (as the paper's 1,290 vs 1,293 distinct videos suggest).
- **Decisions** from review replay exactly: `accept` pins the reviewed partner, `reject` leaves the query without
  partner, `resample` excludes that partner and draws again (several may accumulate).
- Queries without roles, without any eligible partner, or rejected are reported with the reason.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SUBSETS = ("spatial", "temporal")
RoleSet = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class QueryRoles:
    """One test query with its cleaned role set."""

    video_id: str
    exp_id: str
    object_ids: tuple[int, ...]
    text: str
    role_set: RoleSet

    @property
    def key(self) -> tuple[str, str]:
        return (self.video_id, self.exp_id)

    def ref(self) -> dict[str, Any]:
        return {"video_id": self.video_id, "exp_id": self.exp_id, "object_ids": list(self.object_ids),
                "text": self.text}


@dataclass(frozen=True)
class Comparison:
    shared: RoleSet
    query_only: RoleSet
    partner_only: RoleSet
    conflicting: frozenset[str]

    @property
    def tier(self) -> int:
        return 0 if self.conflicting else 1


def compare(q: RoleSet, p: RoleSet) -> Comparison:
    shared = q & p
    q_roles = {r for r, _ in q - p}
    p_roles = {r for r, _ in p - q}
    return Comparison(frozenset(shared), frozenset(q - p), frozenset(p - q), frozenset(q_roles & p_roles))


def eligible(q: RoleSet, p: RoleSet) -> bool:
    """The sharing rule: at least one common (role, phrase) pair, and not all of the query's pairs."""
    return bool(q & p) and bool(q - p)


@dataclass(frozen=True)
class Decision:
    """A reviewer's decision on one reviewed pair."""

    subset: str
    query: tuple[str, str]
    partner: tuple[str, str] | None
    action: str  # accept | reject | resample


@dataclass
class Pair:
    """The outcome for one (subset, query): a partner, or the reason there is none."""

    subset: str
    query: QueryRoles
    partner: QueryRoles | None
    status: str  # paired | no-roles | no-partner | rejected | unavailable
    comparison: Comparison | None = None
    eligible_count: int = 0
    group_size: int = 0
    human_checked: bool = False
    excluded: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self, seed: int) -> dict[str, Any]:
        out: dict[str, Any] = {"subset": self.subset, "status": self.status, "seed": seed,
                               "query": self.query.ref(),
                               "partner": self.partner.ref() if self.partner else None,
                               "query_roles": sorted(map(list, self.query.role_set)),
                               "eligible_partners": self.eligible_count, "best_group_size": self.group_size,
                               "human_checked": self.human_checked,
                               "excluded_partners": [list(k) for k in self.excluded]}
        if self.comparison is not None:
            c = self.comparison
            out.update({"tier": c.tier, "shared_roles": sorted(map(list, c.shared)),
                        "query_only_roles": sorted(map(list, c.query_only)),
                        "partner_only_roles": sorted(map(list, c.partner_only)),
                        "conflicting_roles": sorted(c.conflicting)})
        return out


class PairSampler:
    """Ranks eligible partners once per query (via an inverted index on (role, phrase)) and samples per subset."""

    def __init__(self, queries: Sequence[QueryRoles], seed: int,
                 unavailable_videos: Iterable[str] = ()) -> None:
        self.queries = sorted(queries, key=lambda q: q.key)
        self.by_key = {q.key: q for q in self.queries}
        self.seed = seed
        self.unavailable = frozenset(unavailable_videos)
        index: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, q in enumerate(self.queries):
            for pair in q.role_set:
                index[pair].append(i)
        self.index = index

    def ranked(self, q: QueryRoles) -> list[tuple[tuple[int, int], QueryRoles, Comparison]]:
        """Eligible partners of q with their rank key (tier, -shared), best first, ties in (video, exp) order."""
        seen: set[int] = set()
        for pair in q.role_set:
            seen.update(self.index.get(pair, ()))
        out = []
        for i in sorted(seen):
            p = self.queries[i]
            if p.video_id == q.video_id or p.video_id in self.unavailable:
                continue
            if not eligible(q.role_set, p.role_set):
                continue
            c = compare(q.role_set, p.role_set)
            out.append(((c.tier, -len(c.shared)), p, c))
        out.sort(key=lambda t: (t[0], t[1].key))
        return out

    def rng(self, subset: str, q: QueryRoles) -> random.Random:
        return random.Random(f"{self.seed}:{subset}:{q.video_id}:{q.exp_id}")

    def sample(self, q: QueryRoles, subset: str, decisions: Sequence[Decision] = (),
               ranked: list[tuple[tuple[int, int], QueryRoles, Comparison]] | None = None) -> Pair:
        if q.video_id in self.unavailable:
            return Pair(subset, q, None, "unavailable")
        if not q.role_set:
            return Pair(subset, q, None, "no-roles")
        mine = [d for d in decisions if d.subset == subset and d.query == q.key]
        excluded = [d.partner for d in mine if d.action == "resample" and d.partner is not None]
        accepted = [d.partner for d in mine if d.action == "accept" and d.partner is not None]
        ranked = self.ranked(q) if ranked is None else ranked
        if any(d.action == "reject" for d in mine):
            return Pair(subset, q, None, "rejected", eligible_count=len(ranked), human_checked=True,
                        excluded=excluded)
        if accepted:
            p = self.by_key.get(accepted[-1])
            if p is not None and p.video_id not in self.unavailable:
                return Pair(subset, q, p, "paired", compare(q.role_set, p.role_set), len(ranked), 1, True,
                            excluded)
        pool = [t for t in ranked if t[1].key not in set(excluded)]
        if not pool:
            return Pair(subset, q, None, "no-partner", eligible_count=len(ranked), excluded=excluded)
        best = pool[0][0]
        group = [t for t in pool if t[0] == best]
        _, p, c = self.rng(subset, q).choice(group)
        return Pair(subset, q, p, "paired", c, len(ranked), len(group), False, excluded)

    def sample_all(self, subsets: Sequence[str] = SUBSETS, decisions: Sequence[Decision] = ()) -> list[Pair]:
        out = []
        for q in self.queries:
            ranked = self.ranked(q) if q.role_set and q.video_id not in self.unavailable else []
            for subset in subsets:
                out.append(self.sample(q, subset, decisions, ranked))
        return out


def coverage(pairs: Sequence[Pair]) -> dict[str, dict[str, int]]:
    """Counts of each status per subset (how many queries got a partner, and why the others did not)."""
    out: dict[str, dict[str, int]] = {}
    for p in pairs:
        out.setdefault(p.subset, {}).setdefault(p.status, 0)
        out[p.subset][p.status] += 1
    return out


def decisions_by_query(decisions: Iterable[Decision]) -> Mapping[tuple[str, tuple[str, str]], list[Decision]]:
    out: dict[tuple[str, tuple[str, str]], list[Decision]] = defaultdict(list)
    for d in decisions:
        out[(d.subset, d.query)].append(d)
    return out
