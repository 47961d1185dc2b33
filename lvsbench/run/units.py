"""Units of a run: what is written atomically and resumed as one, and which shard runs which units.

A unit is one expression, or, for a protocol with annotator runs written as palettes (Ref-DAVIS17), one annotator
setting of a video (its expressions share palette files). `--shard I/N` takes whole videos balanced by frames
(`assign_videos`), recorded in run.json as `shard_identity`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lvsbench.core.errors import ConfigError, DataFormatError
from lvsbench.core.records import Expression
from lvsbench.datasets.base import Dataset
from lvsbench.formats.davis_anno import davis_annotator
from lvsbench.protocols import Protocol

SHARD_RULE = "frames"
"""Name of the shard assignment rule (`assign_videos`), recorded with the shard in run.json."""


@dataclass(frozen=True)
class Unit:
    """What is written atomically and resumed as one: an expression, or one annotator setting of a Ref-DAVIS17
    video (its expressions share palette files). `order` is the position in the dataset, used to assemble
    outputs in the same order whatever the sharding."""

    order: int
    video_id: str
    expressions: tuple[Expression, ...]
    group: int | None = None

    @property
    def exp_ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.expressions)

    @property
    def part_name(self) -> str:
        return f"{self.order:07d}.json"


def build_units(dataset: Dataset, fmt: str, protocol: Protocol) -> list[Unit]:
    """Units of a dataset in dataset order (videos in `videos()` order, expressions in `expressions()` order).
    Palettes (`davis-anno`) hold every expression of a run on a frame: one unit per annotator setting when the
    protocol has annotator runs (expression id 4k + a), else one per video, written as the single run `anno_0`."""
    videos = dataset.videos()
    by_video: dict[str, list[Expression]] = {}
    for e in dataset.expressions():
        if e.video_id not in videos:
            raise DataFormatError(getattr(dataset, "root", None), f"expression {e.id} refers to unknown video "
                                  f"{e.video_id}")
        by_video.setdefault(e.video_id, []).append(e)
    units: list[Unit] = []
    for vid in videos:
        exprs = by_video.get(vid, [])
        if fmt == "davis-anno":
            groups: dict[int, list[Expression]] = {}
            for e in exprs:
                groups.setdefault(davis_annotator(e) if protocol.annotator_runs else 0, []).append(e)
            for a in sorted(groups):
                units.append(Unit(len(units), vid, tuple(groups[a]), a))
        else:
            for e in exprs:
                units.append(Unit(len(units), vid, (e,)))
    return units


def assign_videos(frame_counts: Mapping[str, int], n: int) -> dict[str, int]:
    """Shard of each video for N shards, balanced by frames rather than by video count: videos are taken longest
    first (dataset order breaks ties) and each goes to the shard with the fewest frames so far (lowest index breaks
    ties), the longest-processing-time rule. Deterministic: it depends only on the video list, the frame counts
    and N, so every rank (and every rerun) computes the same assignment without talking to the others."""
    if n < 1:
        raise ConfigError(f"shard count must be >= 1, got {n}")
    names = list(frame_counts)
    if n == 1:
        return dict.fromkeys(names, 0)
    order = sorted(range(len(names)), key=lambda k: (-frame_counts[names[k]], k))
    load = [0] * n
    owner: dict[str, int] = {}
    for k in order:
        s = min(range(n), key=lambda j: (load[j], j))
        owner[names[k]] = s
        load[s] += frame_counts[names[k]]
    return {v: owner[v] for v in names}


def shard_identity(shard: tuple[int, int]) -> list[Any]:
    """How a shard is recorded in run.json: `[I, N, "frames"]` names the assignment rule, so a directory sharded
    by another rule (earlier versions took video index mod N) is refused on --resume and merge instead of mixing
    units."""
    i, n = shard
    return [i, n] if n == 1 else [i, n, SHARD_RULE]


def select_units(units: list[Unit], frame_counts: Mapping[str, int], shard: tuple[int, int],
                 limit: int | None) -> list[Unit]:
    """Units of shard I/N (`assign_videos`: whole videos, balanced by frames), then the first units covering
    `limit` expressions."""
    i, n = shard
    owner = assign_videos(frame_counts, n)
    mine = [u for u in units if owner[u.video_id] == i]
    if limit is None:
        return mine
    out, count = [], 0
    for u in mine:
        if count >= limit:
            break
        out.append(u)
        count += len(u.expressions)
    return out


def video_frame_counts(dataset: Dataset) -> dict[str, int]:
    """Frames of every video, in dataset order: the cost `assign_videos` balances."""
    return {vid: len(v.frames) for vid, v in dataset.videos().items()}


__all__ = ["SHARD_RULE", "Unit", "assign_videos", "build_units", "select_units", "shard_identity", "video_frame_counts"]
