"""Bound adapters: the floor and ceiling of every leaderboard, and the harness's self-check.

- `oracle` returns the ground-truth mask of each expression (the union of its objects, void excluded), so every
  metric of every protocol must come out at its maximum; if it does not, the harness (reader, runner, writer or
  scorer) has a bug.
- `empty` returns empty masks, `full` returns all-foreground masks: their scores follow from the ground truth by
  hand (tests derive them), which pins down the empty-mask conventions of each metric.
- `random` returns seeded per-pixel noise: a chance level, reproducible across resumed and sharded runs because its
  randomness is derived from (seed, video, expression, frame) rather than drawn from one stream.

None of them needs torch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lvsbench.adapters.base import Adapter, Capabilities, Clip, Prediction, Query, SetupContext
from lvsbench.core.errors import ConfigError
from lvsbench.core.records import Expression

BOUND_ADAPTERS: tuple[str, ...] = ("oracle", "empty", "full", "random")
"""Names of the bound adapters: baselines that bound a leaderboard, not methods (the report never tests one against
another)."""


def derived_seed(seed: int, *keys: str) -> np.random.SeedSequence:
    """A seed sequence determined by `seed` and string keys (video id, expression id, frame name).

    Randomness drawn per (video, expression, frame) from this does not depend on batching, clip boundaries,
    resume or sharding, so every way of running gives the same predictions.
    """
    words = [int(seed) & 0xFFFFFFFF]
    for k in keys:
        digest = hashlib.sha256(k.encode("utf-8")).digest()
        words.extend(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))
    return np.random.SeedSequence(words)


def derived_rng(seed: int, *keys: str) -> np.random.Generator:
    return np.random.default_rng(derived_seed(seed, *keys))


class _ConstantAdapter(Adapter):
    value: bool = False
    capabilities = Capabilities(per_frame=True)

    def predict(self, clip: Clip, queries: Sequence[Query], states: Sequence[Any]) -> list[Prediction]:
        h, w = clip.video.height, clip.video.width
        t = len(clip)
        masks = np.full((t, h, w), self.value, dtype=bool)
        return [Prediction(masks=masks, scores=np.ones(t, dtype=np.float32)) for _ in queries]


class EmptyAdapter(_ConstantAdapter):
    """Every mask empty (score 1): the floor of region metrics and of mAP."""

    name = "empty"
    description = "empty mask on every frame (lower bound)"
    value = False


class FullAdapter(_ConstantAdapter):
    """Every mask covers the whole frame (score 1): IoU equals the target's area fraction."""

    name = "full"
    description = "all-foreground mask on every frame"
    value = True


class OracleAdapter(Adapter):
    """The ground truth of each expression: the union of its objects' masks, void pixels left out (score 1)."""

    name = "oracle"
    description = "ground-truth masks (upper bound; checks the harness end to end)"
    capabilities = Capabilities(per_frame=True, needs_ground_truth=True)

    def setup(self, ctx: SetupContext) -> None:
        if ctx.dataset is None:
            raise ConfigError("the oracle adapter needs the dataset's ground truth (SetupContext.dataset)")
        self.dataset = ctx.dataset
        self._exprs: dict[tuple[str, str], Expression] = {}
        self._labels: dict[tuple[str, str], np.ndarray | None] = {}

    def init_state(self, video: Any, query: Query) -> Expression:
        key = (query.video_id, query.exp_id)
        if key not in self._exprs:
            for e in self.dataset.video_expressions(query.video_id):
                self._exprs[(e.video_id, e.id)] = e
        try:
            return self._exprs[key]
        except KeyError:
            raise ConfigError(f"oracle: expression {query.exp_id!r} of video {query.video_id!r} "
                              "is not in the dataset") from None

    def predict(self, clip: Clip, queries: Sequence[Query], states: Sequence[Expression]) -> list[Prediction]:
        h, w = clip.video.height, clip.video.width
        labels = [self.dataset.read_masks(clip.video.id, name) for name in clip.names]
        out = []
        for expr in states:
            masks = np.zeros((len(clip), h, w), dtype=bool)
            for i, lab in enumerate(labels):
                if lab is not None:
                    masks[i] = lab.mask(expr.object_ids)
            out.append(Prediction(masks=masks, scores=np.ones(len(clip), dtype=np.float32)))
        return out


@dataclass(frozen=True)
class RandomOptions:
    """`p`: probability that a pixel is foreground; `candidates`: K scored candidates per frame (K > 1 exercises
    COCO mAP ranking); `seed`: overrides the run's seed."""

    p: float = 0.5
    candidates: int = 1
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {self.p}")
        if self.candidates < 1:
            raise ValueError(f"candidates must be >= 1, got {self.candidates}")


class RandomAdapter(Adapter):
    """Seeded per-pixel noise: each pixel foreground with probability `p`; scores uniform in [0, 1).

    Deterministic in (seed, video, expression, frame), so resumed, sharded and differently batched runs agree.
    """

    name = "random"
    description = "seeded random masks and scores (chance level)"
    capabilities = Capabilities(per_frame=True, candidates=True)
    Options = RandomOptions
    options: RandomOptions

    def setup(self, ctx: SetupContext) -> None:
        self.seed = ctx.seed if self.options.seed is None else self.options.seed

    def predict(self, clip: Clip, queries: Sequence[Query], states: Sequence[Any]) -> list[Prediction]:
        h, w = clip.video.height, clip.video.width
        k = self.options.candidates
        out = []
        for q in queries:
            cands = np.zeros((len(clip), k, h, w), dtype=bool)
            scores = np.zeros((len(clip), k), dtype=np.float32)
            for i, name in enumerate(clip.names):
                rng = derived_rng(self.seed, q.video_id, q.exp_id, name)
                cands[i] = rng.random((k, h, w)) < self.options.p
                scores[i] = rng.random(k).astype(np.float32)
            if k == 1:
                out.append(Prediction(masks=cands[:, 0], scores=scores[:, 0]))
            else:
                out.append(Prediction(candidates=cands, candidate_scores=scores))
        return out


__all__ = ["BOUND_ADAPTERS", "EmptyAdapter", "FullAdapter", "OracleAdapter", "RandomAdapter", "RandomOptions",
           "derived_rng", "derived_seed"]
