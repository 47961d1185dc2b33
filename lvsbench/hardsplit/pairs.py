"""Contrasting-partner sampling for A2D-S_s / A2D-S_t (Locater, TPAMI 2023, §4.1).

The paper pairs every A2D test query with a description "of the same semantic-roles structure ... but the role is
realized by a different noun or a verb", sharing at least one but not all (role, phrase) pairs. Here:

- **Eligible** (`PairSampler.ranked`): a query `p` of another video that shares at least one (role, phrase) pair
  with `q`, has a role realised in both with *contrasting* phrases (`contrast.Contrast.contrasting_roles`: not
  subsets, synonyms or hypernyms of each other in WordNet), and is not a near-duplicate text (neither text's
  content words a subset of the other's). Partners the query could also describe are never eligible.
- **Tiers** (best first): 0 = same role structure (the same set of role labels: "one role realised differently",
  the paper's wording), 1 = another structure, 2 = **fallback** for queries with no SRL partner (no roles, or none
  eligible): a query of another video with the same subject head noun ("ball"), or else a WordNet-related one
  ("sandpiper" -> "bird"), whose text contrasts as a whole (`Contrast.texts_contrast`). Within a tier, more shared
  pairs (or shared content words) first: harder contrast.
- **Choice**: uniform among the best-ranked group, with a `random.Random` seeded by
  `"{seed}:{subset}:{video}:{expression}"` over candidates sorted by (video, expression): independent of processing
  order, so a build is reproducible from (inputs, seed, decisions). The spatial and temporal subsets draw
  independently (as the paper's 1,290 vs 1,293 distinct videos suggest).
- **Decisions** from review replay exactly: `accept` pins the reviewed partner, `reject` leaves the query without
  partner, `resample` excludes that partner and draws again (several may accumulate).
- Queries without any eligible partner, or rejected, are reported with the reason.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lvsbench.hardsplit.contrast import Contrast

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


TIERS = {0: "same role structure", 1: "other role structure",
         2: "fallback: same (or WordNet-related) subject head, no shared role"}


@dataclass(frozen=True)
class Comparison:
    shared: RoleSet
    query_only: RoleSet
    partner_only: RoleSet
    contrasting: frozenset[str]
    """Roles realised in both with lexically contrasting phrases (empty for a fallback pair)."""
    tier: int


def compare(q: RoleSet, p: RoleSet, contrasting: Iterable[str] = (), tier: int | None = None) -> Comparison:
    shared = q & p
    if tier is None:
        tier = 0 if {r for r, _ in q} == {r for r, _ in p} else 1
    return Comparison(frozenset(shared), frozenset(q - p), frozenset(p - q), frozenset(contrasting), tier)


def shares_roles(q: RoleSet, p: RoleSet) -> bool:
    """The paper's sharing rule: at least one common (role, phrase) pair, and not all of the query's pairs."""
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
    status: str  # paired | no-partner | rejected | unavailable
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
            out.update({"tier": c.tier, "tier_name": TIERS[c.tier], "shared_roles": sorted(map(list, c.shared)),
                        "query_only_roles": sorted(map(list, c.query_only)),
                        "partner_only_roles": sorted(map(list, c.partner_only)),
                        "contrasting_roles": sorted(c.contrasting)})
        return out


Ranked = list[tuple[tuple[int, ...], QueryRoles, Comparison]]


class PairSampler:
    """Ranks eligible partners once per query (via inverted indexes on (role, phrase) and on the subject head) and
    samples per subset."""

    def __init__(self, queries: Sequence[QueryRoles], seed: int,
                 unavailable_videos: Iterable[str] = (), contrast: Contrast | None = None) -> None:
        self.queries = sorted(queries, key=lambda q: q.key)
        self.by_key = {q.key: q for q in self.queries}
        self.seed = seed
        self.unavailable = frozenset(unavailable_videos)
        self.contrast = contrast or Contrast()
        index: dict[tuple[str, str], list[int]] = defaultdict(list)
        heads: dict[str, list[int]] = defaultdict(list)
        for i, q in enumerate(self.queries):
            for pair in q.role_set:
                index[pair].append(i)
            head = self.contrast.subject_head(q.text)
            if head:
                heads[head].append(i)
        self.index = index
        self.heads = heads

    def _other(self, q: QueryRoles, p: QueryRoles) -> bool:
        return p.video_id != q.video_id and p.video_id not in self.unavailable

    def ranked(self, q: QueryRoles) -> Ranked:
        """Eligible partners of q with their rank key (tier, -shared), best first, ties in (video, exp) order."""
        seen: set[int] = set()
        for pair in q.role_set:
            seen.update(self.index.get(pair, ()))
        out = []
        for i in sorted(seen):
            p = self.queries[i]
            if not self._other(q, p) or not shares_roles(q.role_set, p.role_set):
                continue
            contrasting = self.contrast.contrasting_roles(q.role_set, p.role_set)
            if not contrasting or not self.contrast.texts_contrast(q.text, p.text):
                continue
            c = compare(q.role_set, p.role_set, contrasting)
            out.append(((c.tier, 0, -len(c.shared)), p, c))
        if not out:  # fallback: same subject head noun (else a WordNet-related one), contrasting text
            head = self.contrast.subject_head(q.text)
            wn = self.contrast.wn
            for h, indices in sorted(self.heads.items()):
                same = h == head
                if not head or not (same or wn.related(h, head, "n")):
                    continue
                for i in indices:
                    p = self.queries[i]
                    if not self._other(q, p) or not self.contrast.texts_contrast(q.text, p.text):
                        continue
                    shared_words = self.contrast.content_lemmas(q.text) & self.contrast.content_lemmas(p.text)
                    c = compare(q.role_set, p.role_set, (), tier=2)
                    out.append(((2, 0 if same else 1, -len(shared_words)), p, c))
        out.sort(key=lambda t: (t[0], t[1].key))
        return out

    def rng(self, subset: str, q: QueryRoles) -> random.Random:
        return random.Random(f"{self.seed}:{subset}:{q.video_id}:{q.exp_id}")

    def sample(self, q: QueryRoles, subset: str, decisions: Sequence[Decision] = (),
               ranked: Ranked | None = None) -> Pair:
        if q.video_id in self.unavailable:
            return Pair(subset, q, None, "unavailable")
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
                known = {t[1].key: t[2] for t in ranked}
                c = known.get(p.key) or compare(q.role_set, p.role_set, self.contrast.contrasting_roles(
                    q.role_set, p.role_set))
                return Pair(subset, q, p, "paired", c, len(ranked), 1, True, excluded)
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
            ranked = self.ranked(q) if q.video_id not in self.unavailable else []
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


__all__ = ["Comparison", "Decision", "Pair", "PairSampler", "QueryRoles", "Ranked", "RoleSet", "SUBSETS", "TIERS",
           "compare", "coverage", "shares_roles"]
