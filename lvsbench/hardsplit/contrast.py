"""When is a partner a *contrasting* example, and not a near-duplicate of the query?

Locater (TPAMI 2023) §4.1 pairs a query with a description "of the same semantic-roles structure ... but the role is
realized by a different noun or a verb", so that the query describes its own actor and not the partner's (the
partner's actor is scored as an empty target). Two checks, both needed:

- **Text level** (`near_duplicate`): neither text's content words are a subset of the other's. Content words are
  the lower-cased word tokens without articles, auxiliaries, prepositions, possessives (`CONTENT_STOPWORDS`), and
  lemmatised here ("baby in pink crawling on the floor" vs "baby crawling on the floor" is rejected). Lemmatising
  maps subsets to subsets, so this is stricter than the same check on surface words, which the tests apply to the
  real A2D text.
- **Role level** (`contrasting_roles`): some role realised in both descriptions with phrases that are not
  lexically compatible: neither phrase's words are all covered by the other's words, where a word covers another
  when they are equal, synonyms or one is a hypernym of the other in WordNet (`wordnet.py`; verbs compared as verbs
  in V, nouns/adjectives elsewhere). "dog" vs "puppy", "kid" vs "child", "man" vs "person" are compatible (the
  query could describe the partner's actor); "man" vs "woman", "left" vs "right", "run" vs "walk" contrast.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from lvsbench.hardsplit import lexicon as lx
from lvsbench.hardsplit.lemmatize import Lemmatizer, default_lemmatizer
from lvsbench.hardsplit.lexicon import tokens
from lvsbench.hardsplit.wordnet import WordNet, default_wordnet

ARTICLES = frozenset({"a", "an", "the"})
POSSESSIVES = frozenset({"his", "her", "its", "their", "my", "your", "our", "s", "whose"})
AUXILIARIES = frozenset(w for w in lx.AUX if w.isalpha()) | {"s", "re"}
CONTENT_STOPWORDS = ARTICLES | AUXILIARIES | lx.PREPS | POSSESSIVES
"""What the issue's "content words" leave aside: articles, auxiliaries, prepositions, possessives."""
PHRASE_STOPWORDS = CONTENT_STOPWORDS | lx.DETERMINERS | lx.CONJ | frozenset({"who", "which", "that"})


def content_words(text: str) -> frozenset[str]:
    """Surface content words of a text (the definition the near-duplicate test uses)."""
    return frozenset(w for w in tokens(text) if w not in CONTENT_STOPWORDS)


class Contrast:
    """The near-duplicate and contrast checks with one lemmatiser and one WordNet."""

    def __init__(self, wordnet: WordNet | None = None, lemmatizer: Lemmatizer | None = None) -> None:
        self.wn = wordnet or default_wordnet()
        self.lem = lemmatizer or default_lemmatizer()
        self._content: dict[str, frozenset[str]] = {}
        self._compatible: dict[tuple[frozenset[str], frozenset[str], str], bool] = {}
        # pair ranking asks the same questions of each query for hundreds of candidates: answers kept per input
        self._role_words: dict[frozenset[tuple[str, str]], dict[str, frozenset[str]]] = {}

    def content_lemmas(self, text: str) -> frozenset[str]:
        out = self._content.get(text)
        if out is None:
            out = frozenset(self.lem.lemma(w) for w in content_words(text))
            self._content[text] = out
        return out

    def near_duplicate(self, a: str, b: str) -> bool:
        """One text's (lemmatised) content words are a subset of the other's."""
        ca, cb = self.content_lemmas(a), self.content_lemmas(b)
        return ca <= cb or cb <= ca


    def compatible(self, xs: frozenset[str], ys: frozenset[str], pos: str = "na") -> bool:
        """One word set is covered by the other (subset, synonyms, hypernyms): no lexical contrast."""
        if not xs or not ys:
            return True
        key = (xs, ys, pos)
        out = self._compatible.get(key)
        if out is None:
            out = self._compatible[key] = self.wn.covers(xs, ys, pos) or self.wn.covers(ys, xs, pos)
        return out

    def contrasting_roles(self, q: Iterable[tuple[str, str]], p: Iterable[tuple[str, str]]) -> frozenset[str]:
        """Roles realised in both role sets whose phrases contrast (the words of all phrases of the role)."""
        qw, pw = self.role_words(q), self.role_words(p)
        return frozenset(r for r in qw.keys() & pw.keys()
                         if not self.compatible(qw[r], pw[r], "v" if r == "V" else "na"))

    def role_words(self, roles: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
        """The words of each role's phrases (stopwords left out), kept per role set."""
        key = roles if isinstance(roles, frozenset) else frozenset(roles)
        out = self._role_words.get(key)
        if out is None:
            out = self._role_words[key] = _role_words(key)
        return out

    def texts_contrast(self, a: str, b: str) -> bool:
        """Whole-text contrast for partners without a shared role (fallback): not near-duplicates, and the
        content words are not compatible either way (nouns, verbs and adjectives)."""
        if self.near_duplicate(a, b):
            return False
        return not self.compatible(self.content_lemmas(a), self.content_lemmas(b), "nva")

    def subject_head(self, text: str) -> str:
        """The head word of the description's first noun phrase ("a small ball on the left" -> "ball"): the last
        word before the first preposition, auxiliary, relative, conjunction, -ing or -ly word."""
        head = ""
        for w in tokens(text):
            if w in lx.DETERMINERS and not head:
                continue
            if w in lx.PREPS or w in lx.AUX or w in lx.RELATIVES or w in lx.CONJ or \
                    (w.endswith(("ing", "ly")) and head):
                break
            head = w
        return self.lem.lemma(head) if head else ""


def _role_words(roles: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for r, phrase in roles:
        out[r].update(w for w in phrase.split() if w not in PHRASE_STOPWORDS)
    return {r: frozenset(ws) for r, ws in out.items()}


__all__ = ["ARTICLES", "AUXILIARIES", "CONTENT_STOPWORDS", "Contrast", "PHRASE_STOPWORDS", "POSSESSIVES",
           "content_words"]
