"""One interface for semantic role labelling (SRL): a tokenised sentence in, PropBank predicate frames out.

The Locater paper (TPAMI 2023, A2D-S+) parses every A2D query with AllenNLP's `structured-prediction-srl-bert`. The
records here mirror that predictor's JSON output (`{"words": [...], "verbs": [{"verb", "description", "tags"}]}`),
so every backend (native archive re-implementation, precomputed JSON lines, the real library, offline rules) is
interchangeable and its output inspectable in the same format.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Span:
    """A labelled role span over word positions `[start, end]` (inclusive), e.g. ("ARG0", 0, 5)."""

    role: str
    start: int
    end: int

    def words(self, words: Sequence[str]) -> list[str]:
        return list(words[self.start:self.end + 1])


@dataclass(frozen=True)
class SrlFrame:
    """One predicate frame: the predicate word, its position, and one BIO tag per word."""

    verb: str
    verb_index: int
    tags: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.tags, tuple):
            object.__setattr__(self, "tags", tuple(self.tags))

    def spans(self) -> list[Span]:
        return bio_to_spans(self.tags)

    def description(self, words: Sequence[str]) -> str:
        return make_srl_string(words, self.tags)


@dataclass(frozen=True)
class SrlSentence:
    """A tokenised sentence and its frames, in predicate order."""

    words: tuple[str, ...]
    frames: tuple[SrlFrame, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("words", "frames"):
            v = getattr(self, name)
            if not isinstance(v, tuple):
                object.__setattr__(self, name, tuple(v))
        for f in self.frames:
            if len(f.tags) != len(self.words):
                raise ValueError(f"frame of {f.verb!r}: {len(f.tags)} tags for {len(self.words)} words")

    def to_allennlp(self) -> dict[str, Any]:
        """The AllenNLP SRL predictor's output dict for this sentence."""
        return {
            "words": list(self.words),
            "verbs": [{"verb": f.verb, "description": f.description(self.words), "tags": list(f.tags)}
                      for f in self.frames],
        }

    @classmethod
    def from_allennlp(cls, obj: dict[str, Any]) -> SrlSentence:
        """Parse one predictor output dict; the predicate index is the position of the `B-V` tag."""
        words = tuple(str(w) for w in obj["words"])
        frames = []
        for v in obj.get("verbs", []):
            tags = tuple(str(t) for t in v["tags"])
            if len(tags) != len(words):
                raise ValueError(f"verb {v.get('verb')!r}: {len(tags)} tags for {len(words)} words")
            idx = next((i for i, t in enumerate(tags) if t == "B-V"), None)
            if idx is None:
                idx = next((i for i, w in enumerate(words) if w == v.get("verb")), -1)
            frames.append(SrlFrame(str(v.get("verb", words[idx] if idx >= 0 else "")), idx, tags))
        return cls(words, tuple(frames))


def bio_to_spans(tags: Sequence[str]) -> list[Span]:
    """Role spans of a BIO tag sequence: `B-X` opens a span, `I-X` continues a span of the same role.

    An `I-X` that does not continue an open `X` span starts a new span (the BIO-constrained decoder never emits one,
    but precomputed or hand-written tags may).
    """
    spans: list[Span] = []
    role: str | None = None
    start = 0
    for i, tag in enumerate(tags):
        if tag == "O" or not tag:
            if role is not None:
                spans.append(Span(role, start, i - 1))
            role = None
            continue
        prefix, _, label = tag.partition("-")
        if prefix == "I" and role == label:
            continue
        if role is not None:
            spans.append(Span(role, start, i - 1))
        role, start = label, i
    if role is not None:
        spans.append(Span(role, start, len(tags) - 1))
    return spans


def spans_to_bio(n_words: int, spans: Sequence[Span]) -> tuple[str, ...]:
    """Inverse of `bio_to_spans` for non-overlapping spans."""
    tags = ["O"] * n_words
    for s in spans:
        if s.start < 0 or s.end >= n_words or s.end < s.start:
            raise ValueError(f"span {s} out of range for {n_words} words")
        for i in range(s.start, s.end + 1):
            if tags[i] != "O":
                raise ValueError(f"span {s} overlaps another span at word {i}")
            tags[i] = ("B-" if i == s.start else "I-") + s.role
    return tuple(tags)


def make_srl_string(words: Sequence[str], tags: Sequence[str]) -> str:
    """The `description` string of AllenNLP's SRL predictor (`make_srl_string`), written from its documented rule.

    Walk the words with one open chunk: `B-X` closes any open chunk and opens "X: word"; `I-...` appends to the open
    chunk whatever its label (or opens an unlabelled chunk); `O` closes any open chunk and emits the bare word. Closed
    chunks are written in brackets; everything is joined by single spaces.
    """
    out: list[str] = []
    chunk: list[str] = []

    def close() -> None:
        if chunk:
            out.append("[" + " ".join(chunk) + "]")
            chunk.clear()

    for word, tag in zip(words, tags, strict=True):
        if tag.startswith("B-"):
            close()
            chunk.append(f"{tag[2:]}: {word}")
        elif tag.startswith("I-"):
            chunk.append(word)
        else:
            close()
            out.append(word)
    close()
    return " ".join(out)


class SrlBackend(abc.ABC):
    """Labels tokenised sentences at given predicate positions (one frame per position, in the given order)."""

    name: str = "base"
    needs_predicates: bool = True
    """False for backends that carry their own predicates (precomputed output): `predicates` is then ignored."""

    @abc.abstractmethod
    def label(self, sentences: Sequence[Sequence[str]],
              predicates: Sequence[Sequence[int]] | None = None) -> list[SrlSentence]:
        """One `SrlSentence` per input sentence, its frames in the order of `predicates[i]`."""

    def identity(self) -> dict[str, Any]:
        """What a build manifest records about this backend (name, model checksums, version)."""
        return {"backend": self.name}


__all__ = ["Span", "SrlBackend", "SrlFrame", "SrlSentence", "bio_to_spans", "make_srl_string", "spans_to_bio"]
