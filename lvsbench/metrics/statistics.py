"""Per-object sequence statistics: mean, recall and decay (DAVIS `db_statistics`).

Reproduces `davis2017.utils.db_statistics` (davis2017-evaluation@ac7c43f; the same statistics as DAVIS-2016's
`db_statistics` and TrackEval's `JAndF`), written from its documented behaviour (`docs/metrics.md`):

* mean   M = nanmean(v)
* recall O = nanmean(v > 0.5): strict `>`, a NaN frame counts as a miss but stays in the denominator
* decay  D = nanmean(bin0) - nanmean(bin3), with ids = round(linspace(1, n, 5) + 1e-10) - 1 and the four
  *inclusive, overlapping* bins v[ids[i] : ids[i+1] + 1].

`decay="compat"` reproduces the anchor's `uint8` cast of `ids` exactly as it behaves under numpy >= 2 (NEP 50):
an index >= 256 wraps modulo 256, and `uint8(255) + 1` wraps to 0, so sequences of 256 or more frames get a wrong
or NaN decay (NaN for the golden ramps of 256 and 300 frames). This is numpy-version independent here: the cast is
emulated on Python integers. `decay="fixed"` uses the same bins with exact integer indices; it equals "compat"
for every n < 256.

`DEFAULT_DECAY` ("fixed") is the one default of the Python API, `lvsbench score --decay` and leaderboard recipes
(`[score] options = { decay = "compat" }` selects the official behaviour); every result records the mode used.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import numpy as np

__all__ = ["DEFAULT_DECAY", "DECAY_MODES", "DecayMode", "db_statistics", "decay_bins"]

DecayMode = Literal["compat", "fixed"]
DECAY_MODES: tuple[str, ...] = ("compat", "fixed")
DEFAULT_DECAY: DecayMode = "fixed"
"""Correct bins for any length; identical to the official "compat" below 256 scored frames."""


def decay_bins(n: int, decay: DecayMode = DEFAULT_DECAY) -> list[tuple[int, int]]:
    """The four (start, stop) slice bounds of the decay bins for `n` frames (stop exclusive, as in `v[start:stop]`)."""
    if decay not in DECAY_MODES:
        raise ValueError(f"decay must be one of {DECAY_MODES}, got {decay!r}")
    ids = [int(x) for x in np.round(np.linspace(1, n, 5) + 1e-10) - 1]
    if decay == "compat":
        # float -> uint8 cast of the anchor (modulo 256), then uint8 arithmetic for ids[i+1] + 1 (wraps at 256)
        ids = [i % 256 for i in ids]
        return [(ids[i], (ids[i + 1] + 1) % 256) for i in range(4)]
    return [(max(ids[i], 0), max(ids[i + 1] + 1, 0)) for i in range(4)]


def _nanmean(x: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # empty or all-NaN slice -> NaN, like the anchor
        return float(np.nanmean(x)) if x.size else math.nan


def db_statistics(values: np.ndarray | list[float], decay: DecayMode = DEFAULT_DECAY) -> tuple[float, float, float]:
    """(mean, recall, decay) of one object's per-frame J or F values (davis2017 `db_statistics`)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"values must be a 1-D sequence of per-frame scores, got shape {v.shape}")
    if decay not in DECAY_MODES:
        raise ValueError(f"decay must be one of {DECAY_MODES}, got {decay!r}")
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = _nanmean(v)
    recall = float(np.mean(v > 0.5))
    bins = [v[a:b] for a, b in decay_bins(v.size, decay)]
    d = _nanmean(bins[0]) - _nanmean(bins[3])
    return mean, recall, float(d)
