"""Scoring predictions against a dataset under a named protocol (`lvsbench score`).

`score(preds, dataset, protocol=None, ...) -> ScoreResult` is the Python API; protocols are defined in
`lvsbench.protocols` and documented in docs/protocols.md; `lvsbench.scoring.validate` lists every problem of
a prediction set before anything is scored.
"""

from lvsbench.scoring.evaluate import score
from lvsbench.scoring.results import ScoreResult, write_results

__all__ = ["ScoreResult", "score", "write_results"]
