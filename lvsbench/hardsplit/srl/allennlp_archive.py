"""AllenNLP SRL-BERT inference without AllenNLP: reads the official `model.tar.gz` with torch + transformers.

Reproduces `allennlp_models.structured_prediction.models.srl_bert.SrlBert` at inference (Shi & Lin 2019, "Simple
BERT Models for Relation Extraction and Semantic Role Labeling"; archive
`structured-prediction-srl-bert.2020.12.15`) as in allenai/allennlp-models
`structured_prediction/models/srl_bert.py` (v2.10.1): `BertModel` -> `Linear` (`tag_projection_layer`) -> softmax ->
BIO-constrained Viterbi with AllenNLP's sentinel quirk; the predicate is marked with segment ids (1 on every
wordpiece of the predicate word); word tags are the tags at each word's first wordpiece. AllenNLP itself cannot be
installed on Python 3.11 (it pins torch<1.13), and even there its loader fails on the legacy `position_ids` buffer.
Parity with real allennlp 2.10.1 is tested on reference outputs of a tiny archive (436/436 frames, logits within
1e-4; `tests/test_hardsplit_srl_parity.py`)."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench.core.errors import ConfigError, DataFormatError, LvsbenchError, MissingDependencyError
from lvsbench.core.io import sha256_file
from lvsbench.hardsplit.srl.base import SrlBackend, SrlFrame, SrlSentence
from lvsbench.hardsplit.srl.viterbi import allennlp_viterbi, bio_transition_constraints
from lvsbench.hardsplit.srl.wordpiece import WordPiece

ARCHIVE_URL = ("https://storage.googleapis.com/allennlp-public-models/"
               "structured-prediction-srl-bert.2020.12.15.tar.gz")
VOCAB_URL = "https://huggingface.co/bert-base-uncased/resolve/main/vocab.txt"
LEGACY_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")
"""State-dict keys that old transformers saved as persistent buffers; modern BertModel does not have them."""

BERT_BASE = {"vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
             "intermediate_size": 3072, "max_position_embeddings": 512, "type_vocab_size": 2}


def _missing_help() -> str:
    return (f"download the AllenNLP SRL-BERT archive ({ARCHIVE_URL}) and the bert-base-uncased vocab.txt "
            f"({VOCAB_URL}) and pass them with --srl-archive and --bert-vocab; lvsbench never downloads at run time")


@dataclass
class SrlArchive:
    """The parts of an AllenNLP `model.tar.gz` that inference needs."""

    path: Path
    config: dict[str, Any]
    labels: list[str]
    state_dict: dict[str, Any] = field(repr=False)
    sha256: str = ""

    @property
    def bert_model(self) -> dict[str, Any] | str:
        return self.config.get("model", {}).get("bert_model", "bert-base-uncased")

    @property
    def bert_model_name(self) -> str:
        name = self.config.get("dataset_reader", {}).get("bert_model_name")
        if name:
            return str(name)
        return self.bert_model if isinstance(self.bert_model, str) else ""

    @property
    def lowercase(self) -> bool:
        """AllenNLP's SRL reader lower-cases words iff the BERT name contains "uncased"."""
        return "uncased" in self.bert_model_name


def read_archive(path: str | Path) -> SrlArchive:
    """Open an AllenNLP archive: `config.json`, `vocabulary/labels.txt` and `weights.th` (loaded weights-only)."""
    import torch

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: SRL archive not found; {_missing_help()}")
    try:
        tar = tarfile.open(p, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise DataFormatError(p, f"not a readable tar archive: {exc}") from exc
    with tar:
        members = {m.name.removeprefix("./"): m for m in tar.getmembers() if m.isfile()}

        def read(name: str) -> bytes:
            m = members.get(name)
            if m is None:
                raise DataFormatError(p, f"archive member {name!r} is missing (members: {sorted(members)[:10]})")
            f = tar.extractfile(m)
            if f is None:
                raise DataFormatError(p, f"archive member {name!r} is not a file")
            return f.read()

        try:
            config = json.loads(read("config.json"))
        except json.JSONDecodeError as exc:
            raise DataFormatError(p, f"invalid JSON: {exc}", "config.json") from exc
        labels = [line for line in read("vocabulary/labels.txt").decode("utf-8").split("\n") if line != ""]
        try:
            state = torch.load(io.BytesIO(read("weights.th")), map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises several types for bad pickles
            raise DataFormatError(p, f"weights.th cannot be loaded weights-only: {exc}", "weights.th") from exc
    model_type = config.get("model", {}).get("type")
    if model_type != "srl_bert":
        raise DataFormatError(p, f"model.type is {model_type!r}, expected 'srl_bert'", "config.json")
    if not isinstance(state, dict):
        raise DataFormatError(p, "weights.th does not hold a state dict", "weights.th")
    return SrlArchive(p, config, labels, dict(state), sha256_file(p))


def bert_config(archive: SrlArchive) -> Any:
    """`BertConfig` from the archive's dict, or BERT-base defaults when it names a model (the real archive)."""
    from transformers import BertConfig

    spec = archive.bert_model
    if isinstance(spec, dict):
        known = {k: v for k, v in spec.items() if k != "model_type"}
        return BertConfig(**known)
    return BertConfig(**BERT_BASE)


def _torch_module() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a dependency of this backend
        raise MissingDependencyError("torch", "models", "the allennlp-archive SRL backend") from exc
    return torch


def build_model(archive: SrlArchive, drop_legacy: bool = True) -> Any:
    """`SrlBertModel` with the archive's weights, loaded strictly (every key must match).

    With `drop_legacy`, the `embeddings.position_ids` / `token_type_ids` buffers that AllenNLP-era weights carry
    (and modern transformers no longer registers as persistent) are removed first; without it the strict load
    reports them, which is what breaks `allennlp.models.load_archive` on modern transformers.
    """
    torch = _torch_module()
    try:
        from transformers import BertModel
    except ImportError as exc:
        raise MissingDependencyError("transformers", "nlp", "the allennlp-archive SRL backend") from exc

    state = archive.state_dict
    if drop_legacy:
        state = {k: v for k, v in state.items() if not k.endswith(LEGACY_BUFFERS)}
    proj_w = state.get("tag_projection_layer.weight")
    if proj_w is None:
        raise DataFormatError(archive.path, "tag_projection_layer.weight missing", "weights.th")
    config = bert_config(archive)

    class SrlBertModel(torch.nn.Module):
        """BertModel -> tag_projection_layer, named as in AllenNLP so the state dict maps one to one."""

        def __init__(self) -> None:
            super().__init__()
            self.bert_model = BertModel(config, add_pooling_layer=True)
            self.tag_projection_layer = torch.nn.Linear(config.hidden_size, int(proj_w.shape[0]))

        def forward(self, input_ids: Any, token_type_ids: Any, attention_mask: Any) -> Any:
            hidden = self.bert_model(input_ids=input_ids, token_type_ids=token_type_ids,
                                     attention_mask=attention_mask).last_hidden_state
            return self.tag_projection_layer(hidden)

    model = SrlBertModel()
    result = model.load_state_dict(state, strict=False)
    if result.unexpected_keys or result.missing_keys:
        raise DataFormatError(archive.path, f"state dict does not match srl_bert (BertModel + Linear): "
                                            f"unexpected keys {sorted(result.unexpected_keys)}, "
                                            f"missing keys {sorted(result.missing_keys)}", "weights.th")
    if int(proj_w.shape[0]) != len(archive.labels):
        raise DataFormatError(archive.path, f"tag_projection_layer has {proj_w.shape[0]} outputs but "
                                            f"vocabulary/labels.txt has {len(archive.labels)} labels")
    model.eval()
    return model


class AllennlpArchiveBackend(SrlBackend):
    """The default SRL backend: the AllenNLP SRL-BERT archive run natively (CPU, batched per predicate frame)."""

    name = "allennlp-archive"

    def __init__(self, archive: str | Path, vocab: str | Path | None, batch_size: int = 32,
                 dtype: str = "float32") -> None:
        torch = _torch_module()
        if vocab is None:
            raise ConfigError(f"the allennlp-archive SRL backend needs --bert-vocab; {_missing_help()}")
        if not Path(vocab).is_file():
            raise ConfigError(f"{vocab}: BERT vocab.txt not found; {_missing_help()}")
        self.archive = read_archive(archive)
        self.wordpiece = WordPiece.from_file(vocab, lowercase=self.archive.lowercase)
        n_embed = int(self.archive.state_dict["bert_model.embeddings.word_embeddings.weight"].shape[0]) \
            if "bert_model.embeddings.word_embeddings.weight" in self.archive.state_dict else -1
        if n_embed != len(self.wordpiece):
            raise DataFormatError(vocab, f"vocab.txt has {len(self.wordpiece)} entries but the archive's word "
                                         f"embeddings have {n_embed} rows (wrong vocab for this archive?)")
        if dtype not in ("float32", "float64"):
            raise ConfigError(f"SRL dtype must be float32 or float64, not {dtype!r}")
        self.model = build_model(self.archive)
        if dtype == "float64":
            self.model.double()
        self.dtype = dtype
        self.labels = self.archive.labels
        self.transitions, self.start = bio_transition_constraints(self.labels)
        self.batch_size = batch_size
        self.vocab_sha256 = sha256_file(vocab)
        self.max_len = int(self.model.bert_model.config.max_position_embeddings)
        self._torch = torch

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "archive": str(self.archive.path), "archive_sha256": self.archive.sha256,
                "vocab_sha256": self.vocab_sha256, "labels": len(self.labels)}

    def frame_logits(self, requests: Sequence[tuple[Sequence[str], int]]) -> list[np.ndarray]:
        """Logits (T x K, float32) of `[CLS] + pieces + [SEP]` for each (words, predicate index) request."""
        torch = self._torch
        encoded = []
        for words, verb in requests:
            ids, starts, ends = self.wordpiece.encode_words(words)
            if len(ids) > self.max_len:
                raise LvsbenchError(f"sentence {' '.join(words)!r}: {len(ids)} wordpieces exceed the model's "
                                    f"{self.max_len} positions")
            segs = [0] * len(ids)
            for i in range(starts[verb], ends[verb] + 1):
                segs[i] = 1
            encoded.append((ids, segs))
        out: list[np.ndarray | None] = [None] * len(encoded)
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i][0]))
        for b in range(0, len(order), self.batch_size):
            batch = order[b:b + self.batch_size]
            width = max(len(encoded[i][0]) for i in batch)
            ids = torch.full((len(batch), width), self.wordpiece.pad, dtype=torch.long)
            segs = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, i in enumerate(batch):
                n = len(encoded[i][0])
                ids[r, :n] = torch.tensor(encoded[i][0])
                segs[r, :n] = torch.tensor(encoded[i][1])
                mask[r, :n] = 1
            with torch.inference_mode():
                logits = self.model(ids, segs, mask).float().numpy()
            for r, i in enumerate(batch):
                out[i] = logits[r, :len(encoded[i][0])]
        return [o for o in out if o is not None]

    def decode(self, logits: np.ndarray) -> list[str]:
        """Wordpiece tags of one frame: float32 softmax, then AllenNLP's Viterbi."""
        probs = self._torch.softmax(self._torch.as_tensor(np.asarray(logits, dtype=np.float32)), dim=-1).numpy()
        return [self.labels[i] for i in allennlp_viterbi(probs, self.transitions, self.start)]

    def label(self, sentences: Sequence[Sequence[str]],
              predicates: Sequence[Sequence[int]] | None = None) -> list[SrlSentence]:
        if predicates is None:
            raise ValueError("the allennlp-archive backend needs predicate indices")
        requests = [(list(words), v) for words, preds in zip(sentences, predicates, strict=True) for v in preds]
        for words, v in requests:
            if not 0 <= v < len(words):
                raise ValueError(f"predicate index {v} out of range for {words!r}")
        logits = self.frame_logits(requests)
        results = []
        k = 0
        for words, preds in zip(sentences, predicates, strict=True):
            _, starts, _ = self.wordpiece.encode_words(words)
            frames = []
            for v in preds:
                wp_tags = self.decode(logits[k])
                k += 1
                frames.append(SrlFrame(str(words[v]), v, tuple(wp_tags[s] for s in starts)))
            results.append(SrlSentence(tuple(words), tuple(frames)))
        return results


__all__ = ["ARCHIVE_URL", "AllennlpArchiveBackend", "BERT_BASE", "LEGACY_BUFFERS", "SrlArchive", "VOCAB_URL",
           "bert_config", "build_model", "read_archive"]
