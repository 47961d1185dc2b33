"""Worker processes: how many (`--workers auto`: the cores this process may really use), and the pool that scores
frame ranges of videos and hands their accumulators back.

`workers > 1` scores in a process pool (fork where available). Long videos are split into frame ranges as well
(`tasks`), so that a few long videos balance over the workers; the parent merges every part into a
`ScoreAccumulator` (exact in any order), so the numbers do not depend on the number of workers (bit-identical).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from lvsbench.core.errors import ConfigError
from lvsbench.core.forking import opencv_single_threaded
from lvsbench.scoring.stream import Job, ScoreAccumulator
from lvsbench.scoring.validate import plan_video

Task = tuple[str, int, int]
"""(video id, first frame position, end) of the frames `Family.frames` lists for the video."""

_JOB: Job | None = None


def tasks(job: Job, workers: int, skip: Collection[str] = ()) -> list[Task]:
    """Whole videos (but those in `skip`), and with several workers frame ranges of the long ones too: ranges of
    about total / (4 x workers) frames (at least 16)."""
    lengths = {v: len(job.family.frames(job, v)) for v in job.plan.videos if v not in skip}
    if workers <= 1:
        return [(v, 0, n) for v, n in lengths.items()]
    step = max(16, math.ceil(sum(lengths.values()) / (4 * workers)))
    return [(v, lo, min(lo + step, n)) for v, n in lengths.items() for lo in range(0, max(n, 1), step)]


SMALL_BACKLOG = 128
"""Videos that arrive once every read is done are scored in this process when there are at most this many, else
in a pool: a pool's start-up (~0.05 s) costs about as much as scoring 100 A2D videos."""


def score_arrivals(job: Job, arrivals: Any) -> list[Any]:
    """Score videos in this process as their ground truth arrives (`A2DDataset.keep_masks`'s `VideoReads`:
    iterating yields video ids, reading a chunk here when no worker has sent one; `reading` says whether workers
    are still reading), so that scoring overlaps the reads instead of waiting for them and forking a second pool:
    `--workers 2` is one reading worker and this process, which parses the predictions, then reads and scores.
    `job.plan` starts empty: each video is planned as it arrives (`plan_video`, from its own annotations; the
    caller checks that the whole plan agrees). A backlog left when the reads end (many workers outpacing this
    process) is scored here if small (`SMALL_BACKLOG`), else left to `run`'s pool. Returns the videos'
    accumulators."""
    done, backlog = [], []
    for vid in arrivals:
        if arrivals.reading:
            done += _score_planned(job, [vid])
        else:
            backlog.append(vid)
    return done + (_score_planned(job, backlog) if len(backlog) <= SMALL_BACKLOG else [])


def _score_planned(job: Job, videos: list[str]) -> list[Any]:
    return [score_task(job, (vid, 0, len(job.family.frames(job, vid)))) for vid in videos
            if plan_video(job.plan, job.dataset, vid)]


def score_task(job: Job, task: Task) -> Any:
    """The accumulator of one task: the video's frames [lo, hi) fed in order."""
    vid, lo, hi = task
    acc = job.family.start(job, vid)
    frames = job.family.frames(job, vid)
    for t in range(lo, hi):
        acc.update(job, t, frames[t])
    return acc


def _init_worker(job: Job | None) -> None:
    global _JOB
    if job is not None:  # spawned (not forked): a fresh OpenCV, safe to set here
        _JOB = job
        import cv2

        cv2.setNumThreads(1)


def _pool_task(task: Task) -> Any:
    assert _JOB is not None
    return score_task(_JOB, task)


def _parts(job: Job, todo: list[Task], workers: int) -> Iterator[Any]:
    """The tasks' accumulators in task order (in a pool with `workers` > 1)."""
    global _JOB
    if workers <= 1 or len(todo) <= 1:
        yield from (score_task(job, task) for task in todo)
        return
    import multiprocessing as mp

    if "fork" in mp.get_all_start_methods():
        ctx, init_arg = mp.get_context("fork"), None
        _JOB = job  # inherited by the forked workers; nothing is pickled
    else:  # pragma: no cover - spawn platforms pickle the job once per worker
        ctx, init_arg = mp.get_context("spawn"), job
    import gc

    gc.freeze()  # the parent's objects (dataset, plan, predictions) are not scanned by a forked worker's collector
    try:
        with opencv_single_threaded(), ctx.Pool(min(workers, len(todo)), initializer=_init_worker,
                                                initargs=(init_arg,)) as pool:
            # many small tasks (A2D: a few frames per video) go in batches: one round trip per batch
            yield from pool.imap(_pool_task, todo, chunksize=max(1, len(todo) // (8 * workers)))
    finally:
        gc.unfreeze()
        _JOB = None


def run(job: Job, workers: int, progress: bool, scored: Sequence[Any] = ()) -> ScoreAccumulator:
    """Score every task (but the videos whose accumulators are `scored` already) and merge the parts per video."""
    total = ScoreAccumulator(job.plan.videos)
    for part in scored:
        total.update(part)
    todo = tasks(job, workers, skip=total.parts.keys())
    left = Counter(vid for vid, _, _ in todo)
    with _bar(len(left), f"score {job.plan.protocol.name}", progress) as bar:
        for part in _parts(job, todo, workers):
            total.update(part)
            left[part.video_id] -= 1
            if bar is not None:
                bar.update(not left[part.video_id])
    return total


def _bar(total: int, desc: str, progress: bool) -> Any:
    """A tqdm bar over videos, or a context of None without `progress`: importing tqdm costs ~0.03 s CPU (its
    version look-up reads the installed packages' metadata), a tenth of a small scoring run's start-up."""
    if not progress:
        return contextlib.nullcontext()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="video", file=sys.stderr)


def cpu_count() -> int:
    """Cores this process may really use: the CPU affinity mask (taskset, Slurm --cpus-per-task, docker
    --cpuset-cpus), capped by a cgroup CPU quota rounded up (docker --cpus, Kubernetes limits: cgroup v2 `cpu.max`,
    v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`). `os.cpu_count()` reports the host's cores instead, which
    oversubscribes a container: 64 workers on a 4-CPU quota are throttled, not faster."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        n = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    return max(1, min(n, math.ceil(quota))) if quota is not None else max(1, n)


def cgroup_cpu_limit(proc_cgroup: str | Path = "/proc/self/cgroup", fs: str | Path = "/sys/fs/cgroup") -> float | None:
    """CPUs allowed by the cgroup quota of this process (the smallest along its cgroup path), None if unlimited
    or not on Linux. v2: `<fs>/<path>/cpu.max` = "max 100000" or "<quota> <period>"; v1: the `cpu` controller's
    `cpu.cfs_quota_us` (-1 = unlimited) / `cpu.cfs_period_us`."""
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        return None
    fs = Path(fs)
    limits: list[float] = []
    for line in lines:
        hid, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        rel = path.strip("/")
        if hid == "0" and controllers == "":  # cgroup v2 (unified)
            limits += [q for d in _ancestors(fs, rel) if (q := _read_v2(d / "cpu.max")) is not None]
        elif "cpu" in controllers.split(","):  # cgroup v1
            base = next((b for b in (fs / controllers, fs / "cpu", fs / "cpu,cpuacct") if b.is_dir()), None)
            if base is not None:
                limits += [q for d in _ancestors(base, rel) if (q := _read_v1(d)) is not None]
    return min(limits) if limits else None


def _ancestors(base: Path, rel: str) -> list[Path]:
    """`base/a/b`, `base/a`, `base` (a container often sees its own cgroup as the root)."""
    parts = [p for p in rel.split("/") if p]
    return [base.joinpath(*parts[:k]) for k in range(len(parts), -1, -1)]


def _read_v2(path: Path) -> float | None:
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def _read_v1(d: Path) -> float | None:
    try:
        quota = int((d / "cpu.cfs_quota_us").read_text())
        period = int((d / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 or period <= 0 else quota / period


def resolve_workers(workers: int | str) -> int:
    """`--workers`: a positive count, or `auto` = `cpu_count()` (the cores this process may use)."""
    if isinstance(workers, str):
        text = workers.strip().lower()
        if text == "auto":
            return cpu_count()
        try:
            workers = int(text)
        except ValueError:
            raise ConfigError(f"--workers {workers!r}: expected a number of processes or 'auto'") from None
    if workers < 1:
        raise ConfigError(f"workers must be >= 1 or 'auto', got {workers}")
    return workers


__all__ = ["SMALL_BACKLOG", "Task", "cgroup_cpu_limit", "cpu_count", "resolve_workers", "run", "score_arrivals",
           "score_task", "tasks"]
