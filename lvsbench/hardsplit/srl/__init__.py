"""SRL backends behind one interface (`SrlBackend.label(words, predicates) -> [SrlSentence]`).

- `allennlp-archive` (default when an archive is given): native torch + transformers SRL-BERT, reads the AllenNLP
  `model.tar.gz` (`allennlp_archive.py`);
- `precomputed`: AllenNLP predictor JSON-lines output made elsewhere (`precomputed.py`);
- `rules`: offline deterministic rules for short referring expressions (`rules.py`), used only when nothing else is
  configured.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from lvsbench.core.errors import ConfigError
from lvsbench.hardsplit.srl.base import SrlBackend

BACKENDS = ("auto", "allennlp-archive", "precomputed", "rules")

RULES_WARNING = ("no SRL model configured: using the offline 'rules' SRL backend; the published A2D-S+ split was "
                 "built with AllenNLP SRL-BERT (pass --srl-archive and --bert-vocab, or --srl-json)")


def get_backend(name: str = "auto", *, archive: str | Path | None = None, vocab: str | Path | None = None,
                srl_json: str | Path | None = None, batch_size: int = 32) -> SrlBackend:
    """Build a backend by name; `auto` picks precomputed (with `srl_json`), else allennlp-archive (with
    `archive`), else rules with a warning."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown SRL backend {name!r}; choose from {', '.join(BACKENDS)}")
    if name == "auto":
        if srl_json is not None:
            name = "precomputed"
        elif archive is not None:
            name = "allennlp-archive"
        else:
            warnings.warn(RULES_WARNING, UserWarning, stacklevel=2)
            name = "rules"
    if name == "allennlp-archive":
        from lvsbench.hardsplit.srl.allennlp_archive import AllennlpArchiveBackend

        if archive is None:
            from lvsbench.hardsplit.srl.allennlp_archive import _missing_help

            raise ConfigError(f"the allennlp-archive backend needs --srl-archive; {_missing_help()}")
        return AllennlpArchiveBackend(archive, vocab, batch_size=batch_size)
    if name == "precomputed":
        from lvsbench.hardsplit.srl.precomputed import PrecomputedBackend

        if srl_json is None:
            raise ConfigError("the precomputed SRL backend needs --srl-json FILE (AllenNLP predictor JSON lines)")
        return PrecomputedBackend(srl_json)
    from lvsbench.hardsplit.srl.rules import RulesBackend

    return RulesBackend()


__all__ = ["BACKENDS", "RULES_WARNING", "get_backend"]
