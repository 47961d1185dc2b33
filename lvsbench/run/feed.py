"""Feeding frames to an adapter: which frames each clip holds (`clip_plans`), decoding them in a worker thread
(`Prefetcher`, pinned on CUDA) while the adapter computes, and writing outputs in another (`WriteQueue`)."""

from __future__ import annotations

import collections
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lvsbench.adapters.base import Capabilities, Clip, Query, VideoHandle
from lvsbench.core.errors import DataFormatError
from lvsbench.datasets.base import Dataset
from lvsbench.run.units import Unit

Plan = tuple[tuple[int, ...], tuple[str, ...]]


def clip_plans(caps: Capabilities, frames: tuple[str, ...], needed: list[str], batch: int) -> list[Plan]:
    """(frame indices to feed, frames whose outputs are kept) per clip, in video order."""
    n = len(frames)
    pos = {f: i for i, f in enumerate(frames)}
    need_idx = sorted(pos[f] for f in set(needed))
    if not need_idx:
        return []
    if caps.max_clip_frames:
        batch = min(batch, caps.max_clip_frames)
    if caps.clip_frames:
        batch = caps.clip_frames
    plans: list[Plan] = []
    if caps.needs_full_video:
        return [(tuple(range(n)), tuple(frames[i] for i in need_idx))]
    if caps.context_frames:
        w = min(caps.context_frames, n)
        for i in need_idx:
            start = min(max(0, i - (w - 1) // 2), n - w)
            plans.append((tuple(range(start, start + w)), (frames[i],)))
        return plans
    if caps.per_frame:
        for k in range(0, len(need_idx), batch):
            idx = tuple(need_idx[k:k + batch])
            plans.append((idx, tuple(frames[i] for i in idx)))
        return plans
    last = n - 1 if caps.temporal == "online" else need_idx[-1]
    start = 0
    keep = set(need_idx)
    while start <= last:
        idx = tuple(range(start, min(start + batch, last + 1)))
        plans.append((idx, tuple(frames[i] for i in idx if i in keep)))
        start += batch
    return plans


@dataclass
class VideoJob:
    video: VideoHandle
    units: list[Unit]
    queries: list[Query]
    plans: list[Plan]


_END = object()


def _produce_clips(dataset: Dataset, jobs: Sequence[VideoJob], pin: bool) -> Iterator[tuple[int, int, Clip]]:
    """Decode the clips of every job in order; each frame is decoded once even when windows overlap, and only
    frames still needed by a later clip of the video are kept."""
    for j, job in enumerate(jobs):
        video = job.video
        needed = sorted({i for idx, _ in job.plans for i in idx})
        remaining: dict[int, int] = {}
        for idx, _ in job.plans:
            for i in idx:
                remaining[i] = remaining.get(i, 0) + 1
        buf: dict[int, np.ndarray] = {}
        frames_iter = dataset.iter_frames(video.id, tuple(video.frames[i] for i in needed))
        it = iter(zip(needed, frames_iter, strict=False))
        for p, (idx, outputs) in enumerate(job.plans):
            while any(i not in buf for i in idx):
                try:
                    i, (name, rgb) = next(it)
                except StopIteration:
                    raise DataFormatError(None, f"video {video.id}: frames ended early") from None
                if name != video.frames[i]:
                    raise DataFormatError(None, f"video {video.id}: expected frame {video.frames[i]}, "
                                                f"decoder gave {name}")
                if rgb.shape[:2] != (video.height, video.width):
                    raise DataFormatError(None, f"video {video.id} frame {name}: size {rgb.shape[:2]} != "
                                                f"{(video.height, video.width)}")
                buf[i] = rgb
            arr = np.stack([buf[i] for i in idx])
            for i in idx:
                remaining[i] -= 1
                if remaining[i] == 0:
                    del buf[i]
            pinned = None
            if pin:
                import torch

                pinned = torch.from_numpy(arr).pin_memory()
            yield j, p, Clip(video, tuple(video.frames[i] for i in idx), idx, arr, outputs,
                             first=idx[0] == 0, last=idx[-1] == video.num_frames - 1, pinned=pinned)


class Prefetcher:
    """Runs `_produce_clips` in a worker thread with a bounded queue, so decoding (and pinning, on CUDA) overlaps
    the adapter's compute; `size=0` decodes inline (the serial baseline of benchmarks/runner_prefetch.py)."""

    def __init__(self, dataset: Dataset, jobs: Sequence[VideoJob], size: int, pin: bool) -> None:
        self.source = _produce_clips(dataset, jobs, pin)
        self.inline = size <= 0
        self.q: queue.Queue[Any] = queue.Queue(maxsize=max(1, size))
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        if not self.inline:
            self.thread = threading.Thread(target=self._run, name="lvsbench-decode", daemon=True)
            self.thread.start()

    def _put(self, item: Any) -> bool:
        while not self.stop.is_set():
            try:
                self.q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self.source:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as exc:  # forwarded to the consumer
            self._put(exc)

    def __iter__(self) -> Iterator[tuple[int, int, Clip]]:
        if self.inline:
            yield from self.source
            return
        while True:
            item = self.q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)


class WriteQueue:
    """Runs the sink's PNG / RLE encoding and file writes in one background thread (in submission order), so the
    adapter's next call does not wait for them; at most `depth` clips are pending (bounded memory). Errors surface
    at the next submit or flush."""

    def __init__(self, threaded: bool, depth: int = 4) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lvsbench-write") if threaded else None
        self.pending: collections.deque[Any] = collections.deque()
        self.depth = depth

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.pool is None:
            fn(*args)
            return
        self.pending.append(self.pool.submit(fn, *args))
        while len(self.pending) > self.depth:
            self.pending.popleft().result()

    def flush(self) -> None:
        while self.pending:
            self.pending.popleft().result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pending.clear()


__all__ = ["Plan", "Prefetcher", "VideoJob", "WriteQueue", "clip_plans"]
