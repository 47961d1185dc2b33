"""Cleaning as in Locater's A2D-S+ construction: keep words that carry a role, lemmatise, compare role sets.

From one query's SRL output: pick one predicate frame (the paper does not say how it treats several frames, so the
rule is ours and documented), drop the words without a role in it, drop the query if no argument remains, and
lemmatise each role span into a phrase. The result is a set of (role, lemmatised phrase) pairs over the matched
roles (default ARG0, V, ARG1, ARGM-LOC, ARGM-TMP); two queries are compared on these sets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lvsbench.hardsplit.lemmatize import Lemmatizer, default_lemmatizer
from lvsbench.hardsplit.srl.base import SrlFrame, SrlSentence

MATCH_ROLES: tuple[str, ...] = ("ARG0", "V", "ARG1", "ARGM-LOC", "ARGM-TMP")
"""Roles compared between queries (Locater, Liang et al., TPAMI 2023; `docs/hard-split.md`): agent, verb, patient,
location, time."""

KEY_ROLES = frozenset({"ARG0", "ARG1", "ARGM-LOC", "ARGM-TMP"})
AUX_LEMMAS = frozenset({"be", "have", "do"})
PHRASE_STOPWORDS = frozenset({"a", "an", "the", "his", "her", "its", "their", "my", "your", "our", "this", "that",
                              "these", "those", "some"})
"""Articles and possessive/demonstrative determiners are not part of a role phrase ("a man" = "the man")."""


@dataclass(frozen=True)
class CleanedQuery:
    """The inspectable cleaning result of one query."""

    words: tuple[str, ...]
    frame_index: int | None
    """Index of the selected frame in the SRL output (None: no frame with an argument)."""
    roles: tuple[tuple[str, str, str], ...] = field(default=())
    """(role, surface phrase, lemmatised phrase) per role span of the selected frame, in sentence order."""
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
        return self.frame_index is not None

    def to_json(self) -> dict[str, Any]:
        return {"frame_index": self.frame_index,
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


def select_frame(sentence: SrlSentence, lemmatizer: Lemmatizer | None = None) -> int | None:
    """The frame whose roles describe the query: among frames with at least one argument besides V, skip
    auxiliary frames (V lemma be/have/do) when another exists; then most words inside a role (the main verb's
    arguments span the sentence, a participle's only part of it: "a man wearing a hat is running"), then most of
    {ARG0, ARG1, ARGM-LOC, ARGM-TMP}, then the earliest V."""
    lem = lemmatizer or default_lemmatizer()
    cands: list[tuple[int, SrlFrame]] = []
    for k, f in enumerate(sentence.frames):
        if any(s.role != "V" for s in f.spans()):
            cands.append((k, f))
    if not cands:
        return None
    content = [(k, f) for k, f in cands if lem.lemma(f.verb, verb=True) not in AUX_LEMMAS]
    if content:
        cands = content

    def score(item: tuple[int, SrlFrame]) -> tuple[int, int, int]:
        k, f = item
        covered = sum(1 for t in f.tags if t != "O")
        key = len({s.role for s in f.spans()} & KEY_ROLES)
        return (-covered, -key, f.verb_index if f.verb_index >= 0 else k)

    return min(cands, key=score)[0]


def clean(sentence: SrlSentence, lemmatizer: Lemmatizer | None = None) -> CleanedQuery:
    lem = lemmatizer or default_lemmatizer()
    k = select_frame(sentence, lem)
    if k is None:
        return CleanedQuery(sentence.words, None, (), tuple(sentence.words))
    frame = sentence.frames[k]
    roles = []
    for s in frame.spans():
        ws = s.words(sentence.words)
        roles.append((s.role, " ".join(ws), phrase_lemma(ws, s.role == "V", lem)))
    dropped = tuple(w for w, t in zip(sentence.words, frame.tags, strict=True) if t == "O")
    return CleanedQuery(sentence.words, k, tuple(roles), dropped)
