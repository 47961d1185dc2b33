"""The WordNet 3.0 lexicon behind the near-duplicate partner filter: the table shipped with lvsbench against the
database it was exported from, and the relations the filter relies on."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from lvsbench.hardsplit.wordnet import TABLE_PATH, WordNet, default_wordnet, find_wndb, vocabulary


def test_shipped_table_relations() -> None:
    wn = default_wordnet()
    assert "WordNet 3.0" in wn.source
    related = [("puppy", "dog"), ("kid", "child"), ("guy", "man"), ("person", "man"), ("girl", "woman"),
               ("parrot", "bird"), ("basketball", "ball"), ("sofa", "couch")]
    unrelated = [("dog", "cat"), ("man", "woman"), ("boy", "girl"), ("left", "right"), ("red", "white"),
                 ("shirt", "jacket"), ("snow", "grass")]
    assert all(wn.related(a, b) and wn.related(b, a) for a, b in related)
    assert not any(wn.related(a, b) for a, b in unrelated)
    assert wn.related("jump", "leap", "v") and wn.related("walk", "stroll", "v")
    assert not any(wn.related(a, b, "v") for a, b in [("run", "walk"), ("climb", "jump"), ("sit", "stand")])
    # the general word's first sense only: climb sense 6 ("go up in rank") is a hypernym of jump sense 10
    assert not wn.related("climb", "jump", "v")


def test_covers_equals_pairwise_related() -> None:
    wn = default_wordnet()
    xs, ys = frozenset({"puppy", "kid"}), frozenset({"dog", "child", "grass"})
    for pos in ("na", "v", "nva"):
        assert wn.covers(xs, ys, pos) == all(any(wn.related(x, y, pos) for y in ys) for x in xs)
    assert wn.covers(xs, ys) and not wn.covers(ys, xs)


def test_shipped_table_is_the_export_of_the_database(real_annotations: Path) -> None:
    """Where a WordNet 3.0 database is installed (Debian wordnet-base), re-exporting the table from it for the
    A2D-Sentences words gives the shipped file's content."""
    root = find_wndb()
    if root is None:
        pytest.skip("no WordNet database (apt-get install wordnet-base, or LVSBENCH_WORDNET=DIR)")
    table = WordNet.from_wndb(root).export_table(vocabulary(real_annotations / "a2d_sentences" /
                                                            "a2d_annotation.txt"))
    with gzip.open(TABLE_PATH, "rt", encoding="utf-8") as f:
        shipped = json.load(f)
    assert table == shipped
