"""BIO-constrained Viterbi decoding with AllenNLP's exact numerical behaviour.

AllenNLP's SRL-BERT (`srl_bert.make_output_human_readable`) decodes the softmax *probabilities* (not log-probs) with
`allennlp.nn.util.viterbi_decode` and start constraints. That decoder realises the constraints with START/END
sentinel states whose observed scores are a one-hot 100000.0 in float32, so every path score is about 1e5 plus a sum
of probabilities, rounded to float32's 2**-7 grid there; and it picks maxima with `torch.topk(k=1, dim=0)` on CPU,
whose tie-breaking depends on the number of states. A textbook Viterbi differs on about 5% of frames, so this module
reproduces allennlp 2.10.1 `allennlp.nn.util.viterbi_decode` as it runs (verified on 436/436 reference frames).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SENTINEL = 100000.0


def bio_transition_constraints(labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Transition matrix A (K x K) and start vector s (K) of 0 / -inf from the label strings.

    `I-X` may follow only `B-X` or `I-X`; no `I-` label at the start; no end constraint.
    """
    k = len(labels)
    a = np.zeros((k, k), dtype=np.float32)
    s = np.zeros(k, dtype=np.float32)
    for j, lj in enumerate(labels):
        if not lj.startswith("I"):
            continue
        s[j] = -np.inf
        for i, li in enumerate(labels):
            if i != j and li != "B" + lj[1:]:
                a[i, j] = -np.inf
    return a, s


def allennlp_viterbi(probs: np.ndarray, transitions: np.ndarray, start: np.ndarray) -> list[int]:
    """Best label index per step, as `allennlp.nn.util.viterbi_decode(probs, transitions,
    allowed_start_transitions=start)` computes it (float32, sentinel states, CPU `torch.topk` tie-breaking).

    `probs` is (T, K) float32 (softmax of the logits); returns T label indices.
    """
    import torch

    p = torch.as_tensor(np.asarray(probs, dtype=np.float32))
    t_len, k = p.shape
    n = k + 2
    start_state, end_state = k, k + 1
    neg = float("-inf")
    m = torch.zeros((n, n), dtype=torch.float32)
    m[:k, :k] = torch.as_tensor(np.asarray(transitions, dtype=np.float32))
    m[start_state, :k] = torch.as_tensor(np.asarray(start, dtype=np.float32))
    m[start_state, k:] = neg
    m[end_state, :] = neg
    m[:k, end_state] = 0.0
    m[k:, end_state] = neg
    m[:, start_state] = neg
    emissions = torch.full((t_len, n), neg, dtype=torch.float32)
    emissions[:, :k] = p
    score = torch.zeros(n, dtype=torch.float32)
    score[start_state] = SENTINEL
    backpointers: list[torch.Tensor] = []
    for t in range(t_len + 1):
        summed = score.unsqueeze(1) + m  # C[i][j] = d[i] + M[i][j]
        best, idx = torch.topk(summed, k=1, dim=0)
        backpointers.append(idx.squeeze(0))
        if t < t_len:
            score = emissions[t] + best.squeeze(0)
        else:
            score = torch.zeros(n, dtype=torch.float32)
            score[end_state] = SENTINEL
    path = [end_state]
    for bp in reversed(backpointers):
        path.append(int(bp[path[-1]]))
    path.reverse()
    return path[1:-1]


__all__ = ["SENTINEL", "allennlp_viterbi", "bio_transition_constraints"]
