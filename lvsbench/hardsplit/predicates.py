"""Tokenisation and predicate identification, as the AllenNLP SRL predictor does them, with an offline fallback.

The predictor (`allennlp_models/structured_prediction/predictors/srl.py`) tokenises with spaCy `en_core_web_sm`,
drops whitespace tokens, and makes one SRL frame per token whose coarse POS is VERB or AUX (English). Tokenisation
is reproduced exactly offline by `spacy.blank("en")` (same tokenizer rules and exceptions); POS is not, because
`en_core_web_sm` is not on PyPI. So:

- `spacy:<name>`: any installed spaCy pipeline with a tagger (`en_core_web_sm` by default) gives the predictor's
  predicates exactly.
- `heuristic` (the offline default when no tagger is installed): closed-class auxiliaries plus verb forms recognised
  with spacy-lookups-data's WordNet verb index and position rules tuned to short referring expressions; documented
  in `docs/hard-split.md`, evaluated against the hand-labelled set (`lvsbench/data/srl_handlabelled_a2d.jsonl`).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from lvsbench.core.errors import ConfigError
from lvsbench.hardsplit import lexicon as lx
from lvsbench.hardsplit.lemmatize import Lemmatizer, default_lemmatizer


class Tokenizer:
    """spaCy's English tokenizer (`spacy.blank("en")`), whitespace tokens dropped; str.split without spaCy."""

    @cached_property
    def _nlp(self) -> Any:
        try:
            import spacy
        except ImportError:
            return None
        return spacy.blank("en")

    @property
    def source(self) -> str:
        return "spacy.blank('en')" if self._nlp is not None else "whitespace"

    def __call__(self, text: str) -> list[str]:
        text = " ".join(text.split())
        if self._nlp is None:
            return text.split()
        return [t.text for t in self._nlp(text) if not t.is_space]


class PredicateFinder(abc.ABC):
    """Finds predicate positions in a tokenised sentence."""

    name: str

    @abc.abstractmethod
    def find(self, words: Sequence[str]) -> list[int]:
        """Word indices of the predicates, in sentence order."""


class SpacyPredicates(PredicateFinder):
    """Predicates = tokens a spaCy tagger labels VERB or AUX (the AllenNLP predictor's rule)."""

    def __init__(self, model: str = "en_core_web_sm") -> None:
        try:
            import spacy

            self.nlp = spacy.load(model, exclude=["ner", "parser", "lemmatizer"])
        except (ImportError, OSError) as exc:
            raise ConfigError(f"spaCy pipeline {model!r} is not installed ({exc}); use --predicates heuristic") \
                from exc
        if not any(p in self.nlp.pipe_names for p in ("tagger", "morphologizer")):
            raise ConfigError(f"spaCy pipeline {model!r} has no tagger or morphologizer")
        self.name = f"spacy:{model}"

    def find(self, words: Sequence[str]) -> list[int]:
        from spacy.tokens import Doc

        doc = Doc(self.nlp.vocab, words=list(words))
        for _, proc in self.nlp.pipeline:
            doc = proc(doc)
        return [i for i, t in enumerate(doc) if t.pos_ in ("VERB", "AUX")]


class HeuristicPredicates(PredicateFinder):
    """Offline predicate finder for short referring expressions (no tagger); rules on lower-cased words.

    1. Auxiliaries and modals (be/have/do forms, can/will/...) are predicates (spaCy tags them AUX).
    2. An -ing form is a predicate if a verb lemma of it is in the WordNet verb index (spacy-lookups-data) or it
       follows a form of "be", unless it is a known -ing noun (thing, building, ceiling, ...), follows a determiner
       ("the building"), is a compound modifier before a noun ("bowling ball", "racing car", "the running track"),
       or is the object of a preceding -ing verb ("playing bowling").
    3. An -ed form or an irregular past form (sat, flew, thrown) with a verb lemma is a predicate unless it is a
       known adjective (striped, colored, ...), follows a determiner or preposition ("on the left", "the ground"),
       or, for irregular forms that are also nouns/adjectives, lacks a noun or auxiliary before it.
    4. After a relative pronoun ("a dog that attempts"), after a form of "be" ("is attempts"), after "to" that
       follows a predicate ("trying to catch"), or coordinated with a predicate of the same form ("runs and jumps"),
       a verb-lemma word is a predicate.
    5. If the sentence still has no predicate other than auxiliaries, the first base/-s form after a noun head
       whose lemma is a verb is one ("a dog runs", "birds fly away"); position words (left, right, front, ...)
       and words after determiners, prepositions, adjectives or numbers are excluded.
    """

    name = "heuristic"

    POSITION_WORDS = frozenset({"left", "right", "front", "back", "middle", "top", "bottom", "side", "center",
                                "centre", "corner", "rear", "ground", "behind", "far", "near", "most"})

    def __init__(self, lemmatizer: Lemmatizer | None = None) -> None:
        self.lem = lemmatizer or default_lemmatizer()

    def _is_verb_word(self, w: str) -> bool:
        return bool(self.lem.verb_lemma_candidates(w))

    def _nounish(self, w: str) -> bool:
        if w in lx.PREPS or w in lx.DETERMINERS or w in lx.CONJ or w in lx.AUX or w in lx.RELATIVES:
            return False
        return w.isalpha()

    COLOURS = frozenset({"red", "blue", "green", "black", "white", "yellow", "orange", "brown", "pink", "purple",
                         "gray", "grey", "violet", "dark", "light", "small", "big", "little", "large", "silver",
                         "golden", "gold", "beige", "tan", "striped"})

    def _adjish(self, w: str) -> bool:
        return w in self.COLOURS or (w in self.lem.adj_index and w not in self.lem.noun_index)

    def _ing(self, lw: list[str], i: int) -> bool:
        w = lw[i]
        if not w.endswith("ing") or len(w) <= 4 or w in lx.NOUN_ING:
            return False
        prev = lw[i - 1] if i > 0 else ""
        nxt = lw[i + 1] if i + 1 < len(lw) else ""
        if not self._is_verb_word(w) and prev not in lx.BE:
            return False
        if prev in lx.DETERMINERS and prev not in ("one", "first", "second", "third", "last") and \
                (nxt == "" or not self._nounish(nxt)):
            return False  # "the building", "a swing on ..."
        if (w, nxt) in lx.NOMINAL_ING_COMPOUNDS:
            return False
        if w in lx.NOMINAL_ING_MODIFIERS:
            if nxt and self._nounish(nxt) and not self._adjish(nxt) and nxt not in lx.PARTICLES:
                return False  # "bowling ball", "a racing car"
            if prev.endswith("ing") and self._is_verb_word(prev) and prev not in lx.NOUN_ING:
                return False  # object of a preceding verb: "playing bowling"
        return True

    def _ed(self, lw: list[str], i: int) -> bool:
        w = lw[i]
        if w in lx.ADJ_ED or w in self.POSITION_WORDS:
            return False
        irregular = w in self.lem.verb_exceptions and not w.endswith("ing")
        if not (w.endswith("ed") or irregular) or not self._is_verb_word(w):
            return False
        prev = lw[i - 1] if i > 0 else ""
        if prev in lx.DETERMINERS or prev in lx.PREPS:
            return False
        if irregular and not w.endswith("ed") and (w in self.lem.noun_index or w in self.lem.adj_index):
            return i > 0 and (self._nounish(prev) or prev in lx.BE or prev in lx.HAVE)
        return True

    def find(self, words: Sequence[str]) -> list[int]:
        lw = [w.lower() for w in words]
        preds = {i for i, w in enumerate(lw) if w in lx.AUX}
        content = {i for i in range(len(lw)) if i not in preds and (self._ing(lw, i) or self._ed(lw, i))}
        changed = True
        while changed:  # rule 4 can chain: "is trying to catch", "a dog that attempts to eat"
            changed = False
            for i, w in enumerate(lw):
                if i in preds or i in content or not w.isalpha() or i == 0:
                    continue
                if w in lx.DETERMINERS or w in lx.PREPS or w in self.POSITION_WORDS or self._adjish(w):
                    continue
                if not self._is_verb_word(w):
                    continue
                prev = lw[i - 1]
                after_to = prev == "to" and i >= 2 and (i - 2) in content
                coordinated = prev in ("and", "or") and i >= 2 and (i - 2) in content and \
                    not w.endswith("ing") and lw[i - 2].endswith("s") == w.endswith("s")
                after_rel = prev in lx.RELATIVES
                after_be = prev in lx.BE and w not in lx.NOUN_ING
                if after_to or coordinated or after_rel or after_be:
                    content.add(i)
                    changed = True
        if not content:
            cand = self._finite_verb(lw, preds)
            if cand is not None:
                content.add(cand)
        return sorted(preds | content)

    def _finite_verb(self, lw: list[str], preds: set[int]) -> int | None:
        for i in range(1, len(lw)):
            w, prev = lw[i], lw[i - 1]
            if i in preds or not w.isalpha() or w in lx.PREPS or w in lx.DETERMINERS or w in lx.CONJ:
                continue
            if w in self.POSITION_WORDS or w in lx.PARTICLES or w in lx.MANNER_ADVERBS or \
                    w in lx.LOCATIVE_ADVERBS or self._adjish(w):
                continue
            if not self._nounish(prev) or self._adjish(prev) or prev.isdigit():
                continue
            lemmas = self.lem.verb_lemma_candidates(w)
            if not lemmas:
                continue
            if w.endswith("s") and not w.endswith("ss") and all(lemma == w for lemma in lemmas):
                continue
            nxt = lw[i + 1] if i + 1 < len(lw) else ""
            if nxt and self._nounish(nxt) and not self._adjish(nxt) and nxt not in lx.PARTICLES and \
                    nxt not in lx.MANNER_ADVERBS and nxt not in lx.LOCATIVE_ADVERBS and nxt not in lx.PRONOUNS:
                # "dog food bowl": a noun followed by another noun is a compound, unless an object follows a verb
                if self.lem.lookup(w) in self.lem.noun_index and w not in self.lem.verb_exceptions:
                    continue
            return i
        return None


def get_predicate_finder(mode: str = "auto") -> PredicateFinder:
    """`auto`: spaCy `en_core_web_sm` when installed, else the heuristic; `heuristic`; `spacy[:<model>]`."""
    if mode == "heuristic":
        return HeuristicPredicates()
    if mode.startswith("spacy"):
        _, _, model = mode.partition(":")
        return SpacyPredicates(model or "en_core_web_sm")
    if mode == "auto":
        try:
            return SpacyPredicates("en_core_web_sm")
        except ConfigError:
            return HeuristicPredicates()
    raise ConfigError(f"unknown predicate mode {mode!r} (auto, heuristic, spacy[:<model>])")


__all__ = ["HeuristicPredicates", "PredicateFinder", "SpacyPredicates", "Tokenizer", "get_predicate_finder"]
