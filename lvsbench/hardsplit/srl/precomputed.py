"""SRL produced elsewhere, in the AllenNLP SRL predictor's JSON-lines output format.

`allennlp predict <archive> input.jsonl --predictor semantic_role_labeling` (Python <= 3.10) writes one
`{"words": [...], "verbs": [{"verb", "description", "tags"}]}` object per input line; lvsbench's `--stage srl` writes
the matching input file (`srl_requests.jsonl`, `{"sentence": ...}` per line). This backend reads such output and
looks sentences up by their words, so the paper's exact roles can be replayed where the model is at hand. Lines may
carry `"sentence"` too. Predicates come from the file (the predictor's own spaCy POS tags); the given predicate
indices are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lvsbench.core.errors import ConfigError, DataFormatError
from lvsbench.core.io import sha256_file
from lvsbench.hardsplit.srl.base import SrlBackend, SrlSentence


def sentence_key(words_or_text: Sequence[str] | str) -> str:
    """Lookup key that survives tokenisation and case differences: the lower-cased text without any whitespace."""
    text = words_or_text if isinstance(words_or_text, str) else "".join(words_or_text)
    return "".join(text.lower().split())


class PrecomputedBackend(SrlBackend):
    """Looks up each sentence in a file of AllenNLP predictor outputs; unknown sentences are reported."""

    name = "precomputed"
    needs_predicates = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"{self.path}: precomputed SRL file not found")
        self.table: dict[str, SrlSentence] = {}
        with open(self.path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj: dict[str, Any] = json.loads(line)
                    sent = SrlSentence.from_allennlp(obj)
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                    raise DataFormatError(self.path, f"not an AllenNLP SRL predictor output: {exc}",
                                          f"line {lineno}") from exc
                self.table.setdefault(sentence_key(sent.words), sent)
                if isinstance(obj.get("sentence"), str):
                    self.table.setdefault(sentence_key(obj["sentence"]), sent)
        self.missing: list[str] = []
        self.sha256 = sha256_file(self.path)

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "file": str(self.path), "file_sha256": self.sha256}

    def label(self, sentences: Sequence[Sequence[str]],
              predicates: Sequence[Sequence[int]] | None = None) -> list[SrlSentence]:
        out = []
        for words in sentences:
            got = self.table.get(sentence_key(words))
            if got is None:
                self.missing.append(" ".join(words))
                got = SrlSentence(tuple(words), ())
            out.append(got)
        return out


__all__ = ["PrecomputedBackend", "sentence_key"]
