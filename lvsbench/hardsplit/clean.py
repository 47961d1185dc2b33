"""Cleaning as in Locater's A2D-S+ construction: keep words that carry a role, lemmatise, compare role sets.

Locater (TPAMI 2023) §4.1 and Table I: every predicate frame of the SRL output is kept except the verb-only frame
("A boy [V: is] skiing ..." is "Filtered out"), words without a role are removed, and the role set is the union of
the remaining frames' (role, lemmatised phrase) pairs: "A boy is skiing on the snow and suddenly falling to the
ground" gives (boy, ARG0), (ski, V), (on snow, ARGM-LOC), (suddenly, ARGM-TMP), (fall, V), (to ground, ARG2).
Compared roles: the numbered arguments, V, ARGM-LOC and ARGM-TMP (the paper's who / what / whom / where / when;
Table I keeps ARG2; "How (ARGM-MNR), Why (ARGM-CAU)" are explicitly not considered).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lvsbench.hardsplit.lemmatize import Lemmatizer, default_lemmatizer
from lvsbench.hardsplit.srl.base import SrlSentence

MATCH_ROLES: tuple[str, ...] = ("ARG0", "V", "ARG1", "ARG2", "ARG3", "ARG4", "ARG5", "ARGM-LOC", "ARGM-TMP")
"""Roles compared between queries: who (ARG0), did what (V) to whom (ARG1, and the other numbered arguments, as
Table I keeps ARG2), where (ARGM-LOC), when (ARGM-TMP)."""

AUX_LEMMAS = frozenset({"be", "have", "do"})
PHRASE_STOPWORDS = frozenset({"a", "an", "the", "his", "her", "its", "their", "my", "your", "our", "this", "that",
                              "these", "those", "some"})
"""Articles and possessive/demonstrative determiners are not part of a role phrase ("a man" = "the man")."""


@dataclass(frozen=True)
class CleanedQuery:
    """The inspectable cleaning result of one query."""

    words: tuple[str, ...]
    frame_indices: tuple[int, ...]
    """Indices of the kept frames in the SRL output (empty: no frame with an argument besides V)."""
    roles: tuple[tuple[str, str, str], ...] = field(default=())
    """(role, surface phrase, lemmatised phrase) per distinct role span of the kept frames, in sentence order."""
    dropped_words: tuple[str, ...] = field(default=())

    def role_set(self, match_roles: Iterable[str] = MATCH_ROLES) -> frozenset[tuple[str, str]]:
        """(role, lemma) pairs of the matched roles; a copula/auxiliary verb (be, have, do) is not a shared
        property ("is on the floor" and "is in the bowl" do not describe similar actors), so V = be/have/do is left
        out."""
        keep = set(match_roles)
        return frozenset((r, lemma) for r, _, lemma in self.roles
                         if r in keep and lemma and not (r == "V" and lemma in AUX_LEMMAS))

    @property
    def has_roles(self) -> bool:
        return bool(self.frame_indices)

    def to_json(self) -> dict[str, Any]:
        return {"frame_indices": list(self.frame_indices),
                "roles": [{"role": r, "surface": s, "lemma": lemma} for r, s, lemma in self.roles],
                "dropped_words": list(self.dropped_words)}


def phrase_lemma(words: Sequence[str], verb: bool, lemmatizer: Lemmatizer) -> str:
    """Lemmatised phrase: lower-cased, articles/possessives and punctuation dropped, each word lemmatised."""
    out = []
    for w in words:
        lw = w.lower()
        if lw in PHRASE_STOPWORDS or not any(c.isalnum() for c in lw):
            continue
        out.append(lemmatizer.lemma(lw, verb=verb))
    if not out:
        out = [w.lower() for w in words if any(c.isalnum() for c in w)]
    return " ".join(out)


def select_frames(sentence: SrlSentence, lemmatizer: Lemmatizer | None = None) -> tuple[int, ...]:
    """The frames whose roles describe the query (Table I): frames with at least one argument besides V; auxiliary
    frames (V lemma be/have/do) only when no other frame has an argument (a copula sentence: "a ball is on the
    floor")."""
    lem = lemmatizer or default_lemmatizer()
    cands = [k for k, f in enumerate(sentence.frames) if any(s.role != "V" for s in f.spans())]
    content = [k for k in cands if lem.lemma(sentence.frames[k].verb, verb=True) not in AUX_LEMMAS]
    return tuple(content or cands)


def clean(sentence: SrlSentence, lemmatizer: Lemmatizer | None = None) -> CleanedQuery:
    lem = lemmatizer or default_lemmatizer()
    ks = select_frames(sentence, lem)
    if not ks:
        return CleanedQuery(sentence.words, (), (), tuple(sentence.words))
    spans = {}
    covered: set[int] = set()
    for k in ks:
        for s in sentence.frames[k].spans():
            spans.setdefault((s.start, s.end, s.role), s)
            covered.update(range(s.start, s.end + 1))
    roles = []
    for (_, _, role), s in sorted(spans.items()):
        ws = s.words(sentence.words)
        roles.append((role, " ".join(ws), phrase_lemma(ws, role == "V", lem)))
    dropped = tuple(w for i, w in enumerate(sentence.words) if i not in covered)
    return CleanedQuery(sentence.words, ks, tuple(roles), dropped)


__all__ = ["AUX_LEMMAS", "CleanedQuery", "MATCH_ROLES", "PHRASE_STOPWORDS", "clean", "phrase_lemma", "select_frames"]
