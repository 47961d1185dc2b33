"""Greedy longest-match-first WordPiece, applied per already-tokenised word, as AllenNLP's SRL reader does.

The reader (`allennlp_models/structured_prediction/dataset_readers/srl.py`) lower-cases each word when the BERT name
contains "uncased" and calls only the WordPiece step of the BERT tokenizer (no basic tokenisation: no punctuation
splitting, no accent stripping). Implemented here on a plain `vocab.txt` so that no tokenizer class (whose
constructor changed between transformers 4 and 5) is involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lvsbench.core.errors import DataFormatError

MAX_WORD_CHARS = 100


class WordPiece:
    """A WordPiece vocabulary: token -> id, with `[UNK]`, `[CLS]`, `[SEP]` and `[PAD]` required."""

    def __init__(self, tokens: Sequence[str], lowercase: bool = True, source: str | Path | None = None) -> None:
        self.tokens = list(tokens)
        self.vocab = {t: i for i, t in enumerate(self.tokens)}
        self.lowercase = lowercase
        for special in ("[UNK]", "[CLS]", "[SEP]", "[PAD]"):
            if special not in self.vocab:
                raise DataFormatError(source, f"WordPiece vocabulary lacks {special}")
        self.unk, self.cls, self.sep, self.pad = (self.vocab[s] for s in ("[UNK]", "[CLS]", "[SEP]", "[PAD]"))

    @classmethod
    def from_file(cls, path: str | Path, lowercase: bool = True) -> WordPiece:
        p = Path(path)
        if not p.is_file():
            raise DataFormatError(p, "BERT vocab.txt not found")
        lines = p.read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls([line.rstrip("\r") for line in lines], lowercase=lowercase, source=p)

    def __len__(self) -> int:
        return len(self.tokens)

    def word_pieces(self, word: str) -> list[str]:
        """Pieces of one word; the whole word is `[UNK]` when any position cannot be matched."""
        if self.lowercase:
            word = word.lower()
        if not word or len(word) > MAX_WORD_CHARS:
            return ["[UNK]"]
        pieces: list[str] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                sub = word[start:end]
                if start > 0:
                    sub = "##" + sub
                if sub in self.vocab:
                    found = sub
                    break
                end -= 1
            if found is None:
                return ["[UNK]"]
            pieces.append(found)
            start = end
        return pieces

    def encode_words(self, words: Sequence[str]) -> tuple[list[int], list[int], list[int]]:
        """(ids of `[CLS] + pieces + [SEP]`, start offset of each word, end offset (inclusive) of each word)."""
        ids = [self.cls]
        starts, ends = [], []
        for w in words:
            pieces = self.word_pieces(w)
            starts.append(len(ids))
            ids.extend(self.vocab[p] for p in pieces)
            ends.append(len(ids) - 1)
        ids.append(self.sep)
        return ids, starts, ends


__all__ = ["MAX_WORD_CHARS", "WordPiece"]
