"""Offline, deterministic rule-based SRL for short referring expressions (no weights).

Used only when no SRL-BERT archive, precomputed output or AllenNLP installation is configured; the build then warns
that the published A2D-S+ split used AllenNLP SRL-BERT. The rules assign PropBank roles the way the hand-labelled
A2D set (`lvsbench/data/srl_handlabelled_a2d.jsonl`) does, for the query grammar of A2D-Sentences:
`SUBJECT-NP [PP|relative|participle]* [AUX*] VERB [OBJECT-NP] [PARTICLE|PP|ADVERB]* [and VERB ...] [while CLAUSE]`.

Per predicate frame:
- an auxiliary directly followed by another predicate gets a frame with only `V` (as the AllenNLP predictor's
  auxiliary frames mostly are); a main "be" gets `ARG1` (subject) and `ARG2` (the rest);
- subject = everything from the clause start to the auxiliary chain (clause starts after "while"/"when"/...);
  a coordinated or "to"-controlled verb shares its antecedent's subject; a relative pronoun before the verb is
  `R-ARGn`; the subject is ARG1 for passives, for unaccusative/posture verbs used intransitively (roll.01,
  sit.01, stand.01, go.01, move.01, ...), and for motion verbs with an inanimate head ("ball flying"); else ARG0;
- after the verb: a direct object noun phrase is ARG1; particles and "up and down" are ARGM-DIR; prepositional
  phrases by preposition and verb (locative -> ARGM-LOC, directional -> ARGM-DIR, "with" + animate -> ARGM-COM,
  other "with" -> ARGM-MNR, "to" after talk-verbs -> ARG2, "at" after look-verbs -> ARG1, "by" in a passive ->
  ARG0, "at last"/"during" -> ARGM-TMP); a PP continues the previous one across "of", "near", "beside" and (after
  a locative) "from"; adverbs by class (ARGM-MNR / ARGM-TMP / ARGM-LOC); "not" is ARGM-NEG; "to" + verb after a
  control verb is ARG1; "while ..." is ARGM-TMP;
- a participle between a determiner/adjective and a noun ("a bouncing basketball") takes that noun as ARG1.
"""

from __future__ import annotations

from collections.abc import Sequence

from lvsbench.hardsplit import lexicon as lx
from lvsbench.hardsplit.lemmatize import Lemmatizer, default_lemmatizer
from lvsbench.hardsplit.srl.base import Span, SrlBackend, SrlFrame, SrlSentence, spans_to_bio

_CHAIN_WORDS = lx.AUX | lx.NEGATION | frozenset({"also", "just", "still", "being", "been", "currently", "slowly",
                                                 "quickly", "now", "again", "constantly", "repeatedly", "to"}) | \
    lx.TEMPORAL_ADVERBS - lx.SUBORDINATORS
_MERGE_PREPS = frozenset({"of", "near", "beside", "besides", "next", "by", "behind", "in"})
_LOCATIVE_FIRST = frozenset({"on", "in", "at", "inside", "near", "beside", "behind", "under", "between", "by",
                             "next", "ahead", "outside", "alongside", "above", "below", "within", "atop"})
_SOURCE_GOAL = frozenset({"from", "to", "into", "onto", "towards", "toward"})
_POSITION = frozenset({"left", "right", "front", "back", "middle", "top", "bottom", "side", "center", "centre",
                       "corner", "rear", "background", "foreground"})
_ADVERB_ROLES = ((lx.MANNER_ADVERBS, "ARGM-MNR"), (lx.TEMPORAL_ADVERBS, "ARGM-TMP"), (lx.LOCATIVE_ADVERBS, "ARGM-LOC"))
"""One-word adjuncts: the first set holding the word gives its role."""


class RulesBackend(SrlBackend):
    """Rule-based PropBank roles for A2D-style queries (see the module docstring for the rules)."""

    name = "rules"

    def __init__(self, lemmatizer: Lemmatizer | None = None) -> None:
        self.lem = lemmatizer or default_lemmatizer()

    def identity(self) -> dict[str, object]:
        return {"backend": self.name, "lemmas": self.lem.source}

    def label(self, sentences: Sequence[Sequence[str]],
              predicates: Sequence[Sequence[int]] | None = None) -> list[SrlSentence]:
        if predicates is None:
            raise ValueError("the rules backend needs predicate indices")
        out = []
        for words, preds in zip(sentences, predicates, strict=True):
            parser = _Sentence(list(words), sorted(set(preds)), self.lem)
            frames = tuple(SrlFrame(words[p], p, spans_to_bio(len(words), parser.frame(p))) for p in preds)
            out.append(SrlSentence(tuple(words), frames))
        return out


class _Sentence:
    def __init__(self, words: list[str], preds: list[int], lem: Lemmatizer) -> None:
        self.words = words
        self.lw = [w.lower() for w in words]
        self.n = len(words)
        self.preds = preds
        self.pset = set(preds)
        self.lem = lem
        self._subject_memo: dict[int, tuple[Span | None, Span | None]] = {}

    # ------------------------------------------------------------------ structure helpers

    def is_aux_frame(self, p: int) -> bool:
        """An auxiliary whose chain leads to another predicate ("is" in "is jumping", "is being walked")."""
        if self.lw[p] not in lx.AUX:
            return False
        j = p + 1
        while j < self.n and self.lw[j] in _CHAIN_WORDS and j not in self.pset:
            j += 1
        return j < self.n and j in self.pset

    def content(self, p: int) -> bool:
        return p in self.pset and not self.is_aux_frame(p)

    def chain_start(self, p: int) -> int:
        """First index of the auxiliary/adverb chain right before p ("is not" in "is not moving")."""
        j = p
        while j > 0 and self.lw[j - 1] in _CHAIN_WORDS and self.lw[j - 1] != "to":
            j -= 1
        return j

    def is_passive(self, p: int) -> bool:
        w = self.lw[p]
        participle = w.endswith("ed") or w.endswith("en") or (w in self.lem.verb_exceptions and not
                                                              w.endswith("ing")) or w in ("held", "thrown")
        if not participle:
            return False
        chain = self.lw[self.chain_start(p):p]
        return any(c in lx.BE for c in chain)

    def verb_lemma(self, p: int) -> str:
        return self.lem.lemma(self.words[p], verb=True)

    def nounish(self, w: str) -> bool:
        return w.isalnum() and w not in lx.PREPS and w not in lx.CONJ and w not in lx.AUX and \
            w not in lx.SUBORDINATORS

    def np_start(self, i: int) -> bool:
        w = self.lw[i]
        return w in lx.DETERMINERS or w in lx.PRONOUNS or (self.nounish(w) and w not in lx.PARTICLES and
                                                            w not in lx.MANNER_ADVERBS and
                                                            w not in lx.TEMPORAL_ADVERBS and
                                                            w not in lx.LOCATIVE_ADVERBS)

    def head(self, span: Span) -> str:
        """Head noun of a subject/object span: the last word before its first preposition/relative/participle."""
        end = span.end
        for i in range(span.start, span.end + 1):
            if i > span.start and (self.lw[i] in lx.PREPS or self.lw[i] in lx.RELATIVES or i in self.pset):
                end = i - 1
                break
        return self.lw[end]

    def inanimate(self, head: str) -> bool:
        return head in lx.INANIMATE_HEADS or head.endswith("ball")

    # ------------------------------------------------------------------ subject

    def clause_start(self, limit: int) -> int:
        start = 0
        for i in range(limit):
            w = self.lw[i]
            if w in lx.SUBORDINATORS and i > 0:
                start = i + 1
            elif w in ("and", "or", ",") and i + 1 < limit and i + 1 not in self.pset and \
                    self.lw[i + 1] not in _CHAIN_WORDS and self._new_clause_after(i, limit):
                start = i + 1
        return start

    def _new_clause_after(self, i: int, limit: int) -> bool:
        """ "and" opens a clause when a predicate with its own subject follows before `limit`."""
        return any(j in self.pset for j in range(i + 1, limit + 1)) and i > 0 and self.lw[i - 1] not in lx.DETERMINERS \
            and any(self.content(j) for j in range(0, i))

    def antecedent(self, p: int) -> int | None:
        """The predicate whose subject p shares: coordination ("running and jumping") or control ("trying to X")."""
        cs = self.chain_start(p)
        if cs >= 2 and self.lw[cs - 1] == "to":
            for q in range(cs - 2, -1, -1):
                if self.content(q):
                    return q
                if self.lw[q] not in _CHAIN_WORDS and not self.nounish(self.lw[q]):
                    break
            return None
        if cs >= 2 and self.lw[cs - 1] in ("and", "or", ","):
            for q in range(cs - 2, -1, -1):
                if self.content(q) and self.chain_start(q) <= q:
                    return q
        return None

    def subject(self, p: int) -> tuple[Span | None, Span | None]:
        """(subject span, relative-pronoun span) of predicate p, without role labels."""
        if p in self._subject_memo:
            return self._subject_memo[p]
        self._subject_memo[p] = (None, None)  # cycle guard
        result: tuple[Span | None, Span | None]
        ante = self.antecedent(p)
        cs = self.chain_start(p)
        if ante is not None:
            result = self.subject(ante)
        else:
            rel: Span | None = None
            end = cs - 1
            if end >= 0 and self.lw[end] in lx.RELATIVES:
                rel = Span("R", end, end)
                end -= 1
            prev_content = [q for q in self.preds if q < p and self.content(q)]
            start = self.clause_start(cs)
            if prev_content and cs == p and not rel:
                q = prev_content[-1]
                after = q + 1
                while after < p and self.lw[after] in lx.PARTICLES and not self.np_start_strict(after):
                    after += 1
                if after < p and q >= start and self.lw[after] not in lx.PREPS and self.np_start(after) and \
                        not self._has_prep(after, p - 1):
                    start = after  # participle on the preceding verb's object: "watches a ball jumping"
            while start <= end and self.lw[start] in lx.CONJ:
                start += 1
            result = (Span("S", start, end) if start <= end else None, rel)
        self._subject_memo[p] = result
        return result

    def np_start_strict(self, i: int) -> bool:
        return self.lw[i] in lx.DETERMINERS or self.lw[i] in lx.PRONOUNS

    def _has_prep(self, a: int, b: int) -> bool:
        return any(self.lw[i] in lx.PREPS for i in range(a, b + 1))

    def subject_role(self, p: int, subj: Span, has_object: bool) -> str:
        if self.is_passive(p):
            return "ARG1"
        lemma = self.verb_lemma(p)
        if self.lw[p] in lx.BE:
            return "ARG1"
        if lemma in lx.ARG1_SUBJECT_VERBS and not has_object:
            return "ARG1"
        if lemma in lx.INANIMATE_ARG1_VERBS and self.inanimate(self.head(subj)) and not has_object:
            return "ARG1"
        return "ARG0"

    # ------------------------------------------------------------------ right side

    def clause_end(self, p: int) -> int:
        """Last index of p's clause: before a coordinated predicate ("and jumping") or a finite verb of another
        clause (a predicate preceded by its own auxiliary), whichever comes first."""
        for j in range(p + 1, self.n):
            w = self.lw[j]
            if w in lx.SUBORDINATORS:
                return self.n - 1  # the subordinate clause becomes ARGM-TMP of p
            if w in ("and", "or", ","):
                k = j + 1
                while k < self.n and self.lw[k] in _CHAIN_WORDS and k not in self.pset:
                    k += 1
                if k < self.n and k in self.pset:
                    return j - 1
            if j in self.pset and self.lw[j] in lx.AUX and self.is_aux_frame(j):
                return j - 1
            if j in self.pset and self.lw[j] in lx.BE:
                return j - 1
        return self.n - 1

    def right_spans(self, p: int, start: int, end: int, copula: bool) -> tuple[list[Span], bool]:
        spans: list[Span] = []
        has_object = False
        lemma = self.verb_lemma(p) if not copula else "be"
        passive = self.is_passive(p)
        i = start
        first = True
        if copula:
            if start <= end:
                spans.append(Span("ARG2", start, end))
            return spans, False
        while i <= end:
            w = self.lw[i]
            nxt = self.lw[i + 1] if i + 1 <= end else ""
            if w in lx.SUBORDINATORS:
                spans.append(Span("ARGM-TMP", i, end))
                break
            if w == "to" and i + 1 <= end and (i + 1) in self.pset:
                spans.append(Span("ARG1", i, end))
                break
            if w in lx.NEGATION:
                spans.append(Span("ARGM-NEG", i, i))
                i += 1
                continue
            if w == "upside" and nxt == "down":
                spans.append(Span("ARGM-MNR", i, i + 1))
                i += 2
                first = False
                continue
            if w == "top" and nxt == "and":
                w = "up"  # "jumping top and down" (a frequent A2D typo of "up and down")
            if w in lx.PARTICLES and (w not in lx.PREPS or not nxt or not self.np_start(i + 1) or
                                      nxt in lx.CONJ or nxt in lx.PREPS) and \
                    not (w in ("in", "on") and nxt and self.np_start(i + 1)):
                j = i
                while j + 2 <= end and self.lw[j + 1] in ("and", "or") and (self.lw[j + 2] in lx.PARTICLES or
                                                                            self.lw[j + 2] == "top"):
                    j += 2
                if j + 1 <= end and self.lw[j + 1] in _SOURCE_GOAL:
                    j = self._pp_end(j + 1, end)
                spans.append(Span("ARGM-DIR", i, j))
                i = j + 1
                first = False
                continue
            if w in lx.PREPS:
                j = self._pp_end(i, end)
                spans.append(Span(self._pp_role(i, j, lemma, passive), i, j))
                i = j + 1
                first = False
                continue
            adverb = next((role for words, role in _ADVERB_ROLES if w in words), None)
            if adverb is not None:
                spans.append(Span(adverb, i, i))
                i += 1
                continue
            if first and not passive and self.np_start(i):
                j = self._np_end(i, end)
                spans.append(Span("ARG1", i, j))
                has_object = True
                i = j + 1
                first = False
                continue
            i += 1
        return spans, has_object

    def _np_end(self, i: int, end: int) -> int:
        """End of a noun phrase starting at i: up to a preposition (other than "of"), particle, adverb or
        "to"-infinitive; a bare participle or relative clause after it belongs to it."""
        j = i
        while j + 1 <= end:
            w = self.lw[j + 1]
            if (j + 1) in self.pset or w in lx.RELATIVES:
                return end  # "a ball jumping inside", "a woman who appears to ..."
            if w == "of" or w in ("and", "&") and j + 2 <= end and self.np_start(j + 2) and \
                    self.lw[j + 2] not in lx.PARTICLES:
                j += 1
                continue
            if w in lx.PREPS or w in lx.PARTICLES or w in lx.MANNER_ADVERBS or w in lx.TEMPORAL_ADVERBS or \
                    w in lx.LOCATIVE_ADVERBS or w in lx.SUBORDINATORS or w in lx.CONJ or w == "to":
                break
            j += 1
        return j

    def _pp_end(self, i: int, end: int) -> int:
        """End of a prepositional phrase starting at i (its object noun phrase, continued across "of", a nested
        locative "near/beside ..." and, after a locative, "from ...")."""
        first_prep = self.lw[i]
        j = i
        # multiword prepositions: "next to", "in front of", "on top of", "ahead of", "out of", "away from"
        while j + 1 <= end and self.lw[j + 1] in ("to", "of", "front", "top", "from") and \
                self.lw[j] in ("next", "front", "top", "ahead", "out", "away", "in", "on", "of"):
            if self.lw[j + 1] in ("front", "top") and not (j + 2 <= end and self.lw[j + 2] == "of"):
                break
            j += 1
        if j + 1 > end:
            return j
        k = j + 1
        while k <= end:
            w = self.lw[k]
            if k in self.pset or w in lx.RELATIVES:
                return end
            if w in lx.SUBORDINATORS or w in lx.NEGATION or w == "to" and k + 1 <= end and (k + 1) in self.pset:
                return k - 1
            if w in lx.PREPS and k > j + 1:
                merge = w in _MERGE_PREPS and w != "in" or (w == "from" and first_prep in _LOCATIVE_FIRST)
                if w == "of" or merge:
                    k += 1
                    continue
                return k - 1
            if w in lx.CONJ and k + 1 <= end and (self.lw[k + 1] in lx.PREPS or self.lw[k + 1] in lx.PARTICLES):
                return k - 1
            if w in lx.LOCATIVE_ADVERBS and w not in lx.PREPS and k > j + 1:
                return k - 1
            if w in lx.MANNER_ADVERBS and k > j + 1 and w not in _POSITION:
                return k - 1
            k += 1
        return end

    def _pp_role(self, i: int, j: int, lemma: str, passive: bool) -> str:
        prep = self.lw[i]
        obj = [w for w in self.lw[i + 1:j + 1] if w not in lx.DETERMINERS]
        head = obj[0] if obj else ""
        for w in self.lw[i + 1:j + 1]:
            if w in lx.PREPS:
                break
            if w not in lx.DETERMINERS:
                head = w
        static = lemma in lx.STATIC_VERBS
        if prep == "with" or prep == "without":
            return "ARGM-COM" if head in lx.ANIMATE_WORDS else "ARGM-MNR"
        if prep == "to":
            if lemma in lx.HEARER_VERBS or lemma in lx.TO_ARG2_VERBS:
                return "ARG2"
            return "ARGM-LOC" if static else "ARGM-DIR"
        if prep == "at":
            if lemma in lx.LOOK_VERBS:
                return "ARG1"
            if self.lw[i + 1:j + 1] in (["last"], ["first"], ["once"]):
                return "ARGM-TMP"
            return "ARGM-LOC"
        if prep == "by":
            return "ARG0" if passive else "ARGM-LOC"
        if prep in lx.TMP_PREPS:
            return "ARGM-TMP"
        if prep in ("for",):
            return "ARGM-PRP"
        if prep in ("like", "about", "of", "than", "via"):
            return "ARGM-MNR"
        if prep in lx.DIR_PREPS and prep not in lx.LOC_PREPS:
            return "ARGM-LOC" if static and prep in ("around", "over", "along", "across") else "ARGM-DIR"
        return "ARGM-LOC"

    # ------------------------------------------------------------------ frames

    def prenominal(self, p: int) -> Span | None:
        """ "a bouncing basketball": a participle after a determiner/adjective (or first) before a noun."""
        if self.chain_start(p) != p or p + 1 >= self.n:
            return None
        prev = self.lw[p - 1] if p > 0 else ""
        if not (p == 0 or prev in lx.DETERMINERS or (prev in lx.PREPS and prev != "to")):
            return None
        nxt = self.lw[p + 1]
        if not self.nounish(nxt) or nxt in lx.PARTICLES or (p + 1) in self.pset:
            return None
        j = p + 1
        while j + 1 < self.n and self.nounish(self.lw[j + 1]) and (j + 1) not in self.pset and \
                self.lw[j + 1] not in lx.PARTICLES:
            j += 1
        return Span("ARG1", p + 1, j)

    def frame(self, p: int) -> list[Span]:
        spans = [Span("V", p, p)]
        if self.is_aux_frame(p):
            return spans
        pre = self.prenominal(p)
        if pre is not None:
            return spans + [pre]
        copula = self.lw[p] in lx.BE
        end = self.clause_end(p)
        while end > p and not any(c.isalnum() for c in self.lw[end]):
            end -= 1  # final punctuation is outside every role ("[ARG2: to the ground] .", Table I)
        right, has_object = self.right_spans(p, p + 1, end, copula)
        subj, rel = self.subject(p)
        if subj is not None:
            role = self.subject_role(p, subj, has_object)
            spans.append(Span(role, subj.start, subj.end))
            if rel is not None:
                spans.append(Span("R-" + role, rel.start, rel.end))
        spans.extend(right)
        for k in range(self.chain_start(p), p):  # "and [ARGM-TMP: suddenly] [V: falling]" (Table I)
            if self.lw[k] in lx.TEMPORAL_ADVERBS:
                spans.append(Span("ARGM-TMP", k, k))
        return _non_overlapping(spans)


def _non_overlapping(spans: list[Span]) -> list[Span]:
    """Keep spans in order of priority (V first, then subject, then right side), dropping overlaps."""
    taken: set[int] = set()
    out = []
    for s in spans:
        idx = set(range(s.start, s.end + 1))
        if idx & taken:
            continue
        taken |= idx
        out.append(s)
    return sorted(out, key=lambda s: s.start)


__all__ = ["RulesBackend"]
