"""Lemmatisation of role phrases: spaCy's lookup lemmatiser table (spacy-lookups-data) with corrections.

Locater (TPAMI 2023) lemmatises the words of each semantic role before comparing queries. spaCy's English lookup
table (`en_lemma_lookup`, 41,582 entries; what `spacy.blank("en")` + `lemmatizer(mode="lookup")` uses) works offline
but ignores part of speech, so it maps nouns and adjectives to verbs: ground -> grind, left -> leave, building ->
build, clothes -> clothe, leaves -> leave, better -> well; and one verb wrongly: does -> doe (checked with spacy
3.8.18 + spacy-lookups-data 1.0.5). Words outside the V role are therefore looked up in a correction table first;
the V role uses the table with the verb fixes. Without spacy-lookups-data, a small suffix-rule fallback for verbs
and plural nouns is used (and reported by `Lemmatizer.source`)."""

from __future__ import annotations

from functools import cached_property

from lvsbench.hardsplit.lexicon import NOMINAL_ING_MODIFIERS, NOUN_ING

NON_VERB_KEEP = frozenset({
    "ground", "left", "right", "building", "clothes", "pants", "glasses", "shorts", "jeans", "trousers", "better",
    "front", "back", "middle", "top", "bottom", "side", "center", "centre", "corner", "ceiling", "rest", "lay",
    "found", "saw", "felt", "rose", "wound", "lead", "stripes", "goggles", "scissors", "binoculars", "sunglasses",
    "leggings", "tights", "overalls", "dress", "species", "news", "bus", "lens", "grass", "glass", "swimming",
    "living", "dining",
}) | NOMINAL_ING_MODIFIERS | NOUN_ING
"""Non-verb words whose surface form is their lemma (the lookup table would turn them into verbs or wrong
singulars)."""

NON_VERB_MAP = {"leaves": "leaf", "ones": "one", "does": "doe"}
VERB_MAP = {"does": "do", "doing": "do", "'s": "be", "'re": "be", "'m": "be", "ai": "be", "ca": "can",
            "wo": "will", "siting": "sit", "laying": "lie", "layed": "lay"}
"""Verb fixes: "does" -> do (the table says "doe"); A2D's "laying on the ground" / "siting" mean lie / sit."""

_VERB_SUFFIX_RULES = (("ies", "y"), ("ying", "ie"), ("ing", ""), ("ing", "e"), ("ied", "y"), ("ed", ""),
                      ("ed", "e"), ("es", ""), ("s", ""))


class Lemmatizer:
    """Word -> lemma, verb-aware only through the `verb` flag (the caller knows which role a word is in)."""

    def __init__(self, use_lookups: bool = True) -> None:
        self._use_lookups = use_lookups

    @cached_property
    def _tables(self) -> dict[str, object] | None:
        if not self._use_lookups:
            return None
        try:
            from spacy.lookups import load_lookups

            lookups = load_lookups("en", ["lemma_lookup", "lemma_index", "lemma_exc"])
        except Exception:  # spacy or spacy-lookups-data missing or broken: fall back to suffix rules
            return None
        return {name: lookups.get_table(name) for name in ("lemma_lookup", "lemma_index", "lemma_exc")}

    @property
    def source(self) -> str:
        return "spacy-lookups-data en_lemma_lookup" if self._tables is not None else "built-in suffix rules"

    @cached_property
    def verb_index(self) -> frozenset[str]:
        """Verb lemmas (WordNet, via spacy-lookups-data `lemma_index["verb"]`); empty without the data."""
        if self._tables is None:
            return frozenset()
        return frozenset(self._tables["lemma_index"]["verb"])  # type: ignore[index]

    @cached_property
    def noun_index(self) -> frozenset[str]:
        if self._tables is None:
            return frozenset()
        return frozenset(self._tables["lemma_index"]["noun"])  # type: ignore[index]

    @cached_property
    def adj_index(self) -> frozenset[str]:
        if self._tables is None:
            return frozenset()
        return frozenset(self._tables["lemma_index"]["adj"])  # type: ignore[index]

    @cached_property
    def verb_exceptions(self) -> dict[str, str]:
        """Irregular verb forms -> lemma (sat -> sit, flew -> fly)."""
        if self._tables is None:
            return {}
        exc = self._tables["lemma_exc"]["verb"]  # type: ignore[index]
        return {k: v[0] for k, v in exc.items() if v}

    def lookup(self, word: str) -> str:
        """The raw lookup-table lemma (what spaCy's lookup lemmatiser returns for the lower-cased word)."""
        w = word.lower()
        if self._tables is None:
            return _suffix_lemma(w)
        return str(self._tables["lemma_lookup"].get(w, w))  # type: ignore[attr-defined]

    def lemma(self, word: str, verb: bool = False) -> str:
        w = word.lower()
        if verb:
            if w in VERB_MAP:
                return VERB_MAP[w]
            return self.lookup(w)
        if w in NON_VERB_KEEP:
            return w
        if w in NON_VERB_MAP:
            return NON_VERB_MAP[w]
        return self.lookup(w)

    def verb_lemma_candidates(self, word: str) -> list[str]:
        """Possible verb lemmas of a form by the spacy verb rules (running -> run, dances -> dance), for predicate
        detection; only candidates in the verb index are returned when the index is available."""
        w = word.lower()
        cands = []
        if w in self.verb_exceptions:
            cands.append(self.verb_exceptions[w])
        for suffix, repl in _VERB_SUFFIX_RULES:
            if w.endswith(suffix) and len(w) > len(suffix) + 1:
                stem = w[: -len(suffix)] + repl
                cands.append(stem)
                if suffix in ("ing", "ed") and len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
                    cands.append(stem[:-1])  # running -> runn -> run
        cands.append(w)
        seen: list[str] = []
        for c in cands:
            if c not in seen:
                seen.append(c)
        if self.verb_index:
            return [c for c in seen if c in self.verb_index]
        return seen


def _suffix_lemma(w: str) -> str:
    """Fallback lemma: strip the common verb/plural suffixes (no dictionary)."""
    if w in NON_VERB_KEEP:
        return w
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if w.endswith(suffix) and len(w) > len(suffix) + 2:
            stem = w[: -len(suffix)] + repl
            if suffix in ("ing", "ed") and len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
                stem = stem[:-1]
            if suffix == "s" and w.endswith("ss"):
                return w
            return stem
    return w


_DEFAULT: Lemmatizer | None = None


def default_lemmatizer() -> Lemmatizer:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Lemmatizer()
    return _DEFAULT


__all__ = ["Lemmatizer", "NON_VERB_KEEP", "NON_VERB_MAP", "VERB_MAP", "default_lemmatizer"]
