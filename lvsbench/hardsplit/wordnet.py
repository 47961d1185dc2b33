"""WordNet 3.0 synonymy and hypernymy for the near-duplicate partner filter of A2D-S+.

A contrasting partner must not be describable by the query: "a dog running" must not be paired with "a puppy
running" (WordNet: puppy is a kind of dog), nor "a kid jumping" with "a child jumping" (one synset). The lexical
resource is Princeton WordNet 3.0 (licence: WordNet 3.0 licence, Princeton University, redistributable with its
notice), read in its own database format (`wndb(5WN)`: `index.<pos>` maps a lemma to its synset offsets,
`data.<pos>` lists each synset's pointers, `@` hypernym and `@i` instance hypernym).

Two sources, the same answers:

- **the database** (`WordNet.from_wndb(DIR)`): a WordNet 3.0 `dict/` folder, e.g. Debian's `wordnet-base`
  (`/usr/share/wordnet`) or Princeton's `WordNet-3.0/dict`; found via `LVSBENCH_WORDNET`, then the usual paths.
  No NLTK and no `nltk.download` are involved (PyPI has no package that ships the English WordNet database).
- **the table shipped with lvsbench** (`lvsbench/data/wordnet_a2d.json.gz`, `WordNet.from_table()`): the senses of
  every word of the A2D-Sentences text and the hypernym edges reachable from them, exported from the database by
  `python -m lvsbench.hardsplit.wordnet export --wndb DIR --a2d-annotation a2d_annotation.txt`. A build on the A2D
  text needs nothing else; `tests/test_hardsplit_wordnet.py` checks the table against the database where both exist.

`related(a, b, pos)`: equal lemmas, or the most frequent sense of one is a sense of the other (synonyms) or a
hypernym of one of its senses, either way, within the parts of speech asked (verbs for the V role, nouns and
adjectives elsewhere: "walk" the noun is not compared with "roll" the noun when both are verbs). Only the general
word's first sense counts, so rare senses do not relate unrelated actions ("climb" sense 6 is a hypernym of "jump"
sense 10); every sense of the specific word counts ("man" subsumes "boy", whose second sense is an informal man).
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from pathlib import Path

POS = {"n": "noun", "v": "verb", "a": "adj"}
TABLE_PATH = Path(__file__).resolve().parents[1] / "data" / "wordnet_a2d.json.gz"
WNDB_PATHS = ("/usr/share/wordnet", "/usr/local/WordNet-3.0/dict", "/usr/share/WordNet-3.0/dict")
HYPERNYM_POINTERS = frozenset({"@", "@i"})
WORDNET_LICENCE = (
    "WordNet Release 3.0. This software and database is being provided to you, the LICENSEE, by Princeton "
    "University under the following license. By obtaining, using and/or copying this software and database, you "
    "agree that you have read, understood, and will comply with these terms and conditions.: Permission to use, "
    "copy, modify and distribute this software and database and its documentation for any purpose and without fee "
    "or royalty is hereby granted, provided that you agree to comply with the following copyright notice and "
    "statements, including the disclaimer, and that the same appear on ALL copies of the software, database and "
    "documentation, including modifications that you make for internal use or for distribution. WordNet 3.0 "
    "Copyright 2006 by Princeton University. All rights reserved. THIS SOFTWARE AND DATABASE IS PROVIDED \"AS IS\" "
    "AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT "
    "NOT LIMITATION, PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANT- ABILITY OR FITNESS "
    "FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT "
    "INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS. The name of Princeton University or "
    "Princeton may not be used in advertising or publicity pertaining to distribution of the software and/or "
    "database. Title to copyright in this software, database and any associated documentation shall at all times "
    "remain with Princeton University and LICENSEE agrees to preserve same.")
"""Shipped inside the exported table, as the licence asks of every copy of the database or a modification."""


class WordNet:
    """Senses of lemmas and direct hypernyms of synsets (ids `"<pos>:<offset>"`)."""

    def __init__(self, senses: Mapping[str, tuple[str, ...]], hypernyms: Mapping[str, tuple[str, ...]],
                 source: str) -> None:
        self.senses = senses
        self.hypernyms = hypernyms
        self.source = source
        self._up_cache: dict[tuple[str, str], frozenset[str]] = {}
        self._related: dict[tuple[str, str, str], bool] = {}
        self._synsets: dict[tuple[str, str | None], tuple[str, ...]] = {}
        self._summaries: dict[tuple[frozenset[str], str], tuple[dict[str, frozenset[str]], dict[str, set[str]]]] = {}

    # ------------------------------------------------------------------------------------------ loading

    @classmethod
    def from_wndb(cls, root: str | Path) -> WordNet:
        """Read a WordNet database folder (`index.noun`, `data.noun`, ... as in WordNet 3.0 `dict/`)."""
        root = Path(root)
        senses: dict[str, list[str]] = {}
        hypernyms: dict[str, tuple[str, ...]] = {}
        for p, name in POS.items():
            index, data = root / f"index.{name}", root / f"data.{name}"
            if not (index.is_file() and data.is_file()):
                raise FileNotFoundError(f"{root}: not a WordNet database folder (no index.{name} / data.{name})")
            with open(index, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.startswith("  "):
                        continue  # licence header
                    parts = line.split()
                    lemma, n_synsets, n_ptr = parts[0], int(parts[2]), int(parts[3])
                    offsets = parts[6 + n_ptr:6 + n_ptr + n_synsets]
                    senses.setdefault(lemma, []).extend(f"{p}:{o}" for o in offsets)
            with open(data, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.startswith("  "):
                        continue
                    parts = line.split(" | ")[0].split()
                    offset, n_words = parts[0], int(parts[3], 16)
                    k = 4 + 2 * n_words
                    n_ptr = int(parts[k])
                    ups = []
                    for j in range(n_ptr):
                        sym, target, tpos = parts[k + 1 + 4 * j:k + 4 + 4 * j]
                        if sym in HYPERNYM_POINTERS:
                            ups.append(f"{'a' if tpos == 's' else tpos}:{target}")
                    if ups:
                        hypernyms[f"{p}:{offset}"] = tuple(ups)
        return cls({k: tuple(v) for k, v in senses.items()}, hypernyms, f"WordNet 3.0 database ({root})")

    @classmethod
    def from_table(cls, path: str | Path = TABLE_PATH) -> WordNet:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            t = json.load(f)
        return cls({k: tuple(v) for k, v in t["senses"].items()},
                   {k: tuple(v) for k, v in t["hypernyms"].items()},
                   f"{t['source']} (lvsbench table of the A2D-Sentences vocabulary)")

    def export_table(self, words: Iterable[str]) -> dict[str, object]:
        """The senses of `words` and every hypernym edge reachable from them (what `related` needs)."""
        senses = {w: list(self.senses[w]) for w in sorted(set(words)) if w in self.senses}
        edges: dict[str, list[str]] = {}
        todo = [s for v in senses.values() for s in v]
        while todo:
            s = todo.pop()
            if s in edges:
                continue
            ups = list(self.hypernyms.get(s, ()))
            edges[s] = ups
            todo.extend(ups)
        return {"source": "WordNet 3.0", "licence": WORDNET_LICENCE,
                "senses": senses, "hypernyms": {k: v for k, v in sorted(edges.items()) if v}}

    # ------------------------------------------------------------------------------------------ queries

    def synsets(self, word: str, pos: str | None = None) -> tuple[str, ...]:
        """Synsets of a lemma in WordNet's sense order (most frequent first), optionally of one POS (n, v, a)."""
        key = (word, pos)
        out = self._synsets.get(key)
        if out is None:
            out = self.senses.get(word.lower().replace(" ", "_"), ())
            if pos is not None:
                out = tuple(s for s in out if s[0] in pos)
            self._synsets[key] = out
        return out

    @lru_cache(maxsize=65536)  # noqa: B019 (one instance per process)
    def closure(self, synset: str) -> frozenset[str]:
        """The synset and all its hypernyms (transitively)."""
        out, todo = {synset}, [synset]
        while todo:
            for h in self.hypernyms.get(todo.pop(), ()):
                if h not in out:
                    out.add(h)
                    todo.append(h)
        return frozenset(out)

    def _up(self, word: str, pos: str) -> frozenset[str]:
        """Every sense of `word` in `pos` and all their hypernyms."""
        key = (word, pos)
        out = self._up_cache.get(key)
        if out is None:
            out = frozenset().union(*(self.closure(s) for s in self.synsets(word, pos)))
            self._up_cache[key] = out
        return out

    def subsumes(self, general: str, specific: str, pos: str = "na") -> bool:
        """The most frequent sense of `general` (per POS in `pos`) is a sense of `specific` or one of its
        hypernyms: "dog" of "puppy", "person" of "man", "kid" of "child"."""
        for p in pos:
            g = self.synsets(general, p)
            if g and g[0] in self._up(specific, p):
                return True
        return False

    def related(self, a: str, b: str, pos: str = "na") -> bool:
        """Same lemma, or one subsumes the other (synonym or hypernym), in the parts of speech `pos`."""
        if a == b:
            return True
        key = (a, b, pos)
        out = self._related.get(key)
        if out is None:
            out = self._related[key] = self.subsumes(a, b, pos) or self.subsumes(b, a, pos)
        return out

    def _summary(self, words: frozenset[str], pos: str) -> tuple[dict[str, frozenset[str]], dict[str, set[str]]]:
        key = (words, pos)
        out = self._summaries.get(key)
        if out is None:
            up = {p: frozenset().union(*(self._up(w, p) for w in words)) for p in pos}
            first: dict[str, set[str]] = {p: set() for p in pos}
            for w in words:
                for p in pos:
                    g = self.synsets(w, p)
                    if g:
                        first[p].add(g[0])
            out = self._summaries[key] = (up, first)
        return out

    def covers(self, xs: frozenset[str], ys: frozenset[str], pos: str = "na") -> bool:
        """Every word of `xs` is related to some word of `ys` (the same as `all(any(related(x, y)))`, computed on
        synset sets)."""
        up_y, first_y = self._summary(ys, pos)
        for x in xs:
            if x in ys:
                continue
            if not any((g := self.synsets(x, p)) and g[0] in up_y[p] or self._up(x, p) & first_y[p] for p in pos):
                return False
        return True


def find_wndb() -> Path | None:
    """A WordNet database folder: `LVSBENCH_WORDNET`, then the usual install paths (Debian `wordnet-base`)."""
    env = os.environ.get("LVSBENCH_WORDNET")
    for cand in ([env] if env else []) + list(WNDB_PATHS):
        if cand and (Path(cand) / "data.noun").is_file():
            return Path(cand)
    return None


@cache
def default_wordnet() -> WordNet:
    """The shipped table (the same on every machine, so builds are reproducible); `LVSBENCH_WORDNET=DIR` reads a
    full database instead (for text beyond A2D-Sentences)."""
    env = os.environ.get("LVSBENCH_WORDNET")
    if env:
        return WordNet.from_wndb(env)
    return WordNet.from_table()


def vocabulary(annotation: str | Path) -> set[str]:
    """Every word and lemma of an `a2d_annotation.txt` (for the shipped WordNet table)."""
    from lvsbench.hardsplit.lemmatize import default_lemmatizer
    from lvsbench.hardsplit.lexicon import tokens

    lem = default_lemmatizer()
    out: set[str] = set()
    for line in Path(annotation).read_text(encoding="utf-8").splitlines()[1:]:
        for w in tokens(line.split(",", 2)[-1]):
            out.update({w, lem.lemma(w), lem.lemma(w, verb=True)})
    return out


def _main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m lvsbench.hardsplit.wordnet",
                                 description="Export the WordNet table for the words of A2D-Sentences queries.")
    ap.add_argument("command", choices=["export"])
    ap.add_argument("--wndb", type=Path, default=None, help="WordNet 3.0 database folder (default: found)")
    ap.add_argument("--a2d-annotation", type=Path, required=True, help="a2d_annotation.txt")
    ap.add_argument("--out", type=Path, default=TABLE_PATH)
    a = ap.parse_args(argv)
    root = a.wndb or find_wndb()
    if root is None:
        print("no WordNet database found: install Debian's wordnet-base or pass --wndb", file=sys.stderr)
        return 2
    wn = WordNet.from_wndb(root)
    table = wn.export_table(vocabulary(a.a2d_annotation))
    data = json.dumps(table, sort_keys=True, separators=(",", ":")).encode()
    with open(a.out, "wb") as f:
        f.write(gzip.compress(data, mtime=0))
    print(f"{a.out}: {len(table['senses'])} words, {len(table['hypernyms'])} synsets with hypernyms")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))


__all__ = ["HYPERNYM_POINTERS", "POS", "TABLE_PATH", "WNDB_PATHS", "WORDNET_LICENCE", "WordNet", "default_wordnet",
           "find_wndb", "vocabulary"]
