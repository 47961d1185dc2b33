"""The real AllenNLP library, where it is importable (Python <= 3.10 with allennlp + allennlp-models 2.x).

AllenNLP pins torch<1.13, so it cannot be installed next to lvsbench's torch on Python 3.11 (every allennlp-models
release pins torch < 1.13, which has no Python 3.11 wheels). In an environment where it imports, this backend runs
the archive through `allennlp.models.archival.load_archive` and the SRL dataset reader, one instance per given
predicate (the reader's `text_to_instance(tokens, verb_label)`), and formats frames as the predictor does. Without
AllenNLP it raises a `MissingDependencyError` that points at the native `allennlp-archive` backend."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lvsbench.core.errors import ConfigError, MissingDependencyError
from lvsbench.core.io import sha256_file
from lvsbench.hardsplit.srl.base import SrlBackend, SrlFrame, SrlSentence


def allennlp_available() -> bool:
    try:
        import allennlp  # noqa: F401
        import allennlp_models  # noqa: F401
    except Exception:
        return False
    return True


class AllennlpLibBackend(SrlBackend):
    """Calls `allennlp` in-process (only on Python <= 3.10 environments where it installs)."""

    name = "allennlp"

    def __init__(self, archive: str | Path, batch_size: int = 32) -> None:
        if not allennlp_available():
            raise MissingDependencyError("allennlp", "allennlp",
                                         "the 'allennlp' SRL backend (Python <= 3.10 only; on Python 3.11 use "
                                         "--srl-backend allennlp-archive, which reads the same archive natively)")
        if not Path(archive).is_file():
            raise ConfigError(f"{archive}: SRL archive not found")
        self.archive_path = Path(archive)
        self.batch_size = batch_size
        self._load()  # pragma: no cover - needs allennlp

    def _load(self) -> None:  # pragma: no cover - needs allennlp
        from allennlp.models.archival import load_archive

        archive = load_archive(str(self.archive_path), cuda_device=-1)
        self.model = archive.model
        self.model.eval()
        self.reader = archive.dataset_reader

    def identity(self) -> dict[str, Any]:  # pragma: no cover - needs allennlp
        import allennlp

        return {"backend": self.name, "archive_sha256": sha256_file(self.archive_path),
                "allennlp": getattr(allennlp, "__version__", "?")}

    def label(self, sentences: Sequence[Sequence[str]],
              predicates: Sequence[Sequence[int]] | None = None) -> list[SrlSentence]:  # pragma: no cover
        from allennlp.data.tokenizers import Token

        if predicates is None:
            raise ValueError("the allennlp backend needs predicate indices")
        instances = []
        for words, preds in zip(sentences, predicates, strict=True):
            tokens = [Token(w) for w in words]
            for v in preds:
                label = [0] * len(words)
                label[v] = 1
                instances.append(self.reader.text_to_instance(tokens, label))
        outputs: list[dict[str, Any]] = []
        for b in range(0, len(instances), self.batch_size):
            outputs.extend(self.model.forward_on_instances(instances[b:b + self.batch_size]))
        results, k = [], 0
        for words, preds in zip(sentences, predicates, strict=True):
            frames = []
            for v in preds:
                frames.append(SrlFrame(str(words[v]), v, tuple(outputs[k]["tags"])))
                k += 1
            results.append(SrlSentence(tuple(words), tuple(frames)))
        return results
