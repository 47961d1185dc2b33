"""One `lvsbench run` across GPUs and machines, on the launchers users already have: torchrun, srun, Slurm arrays.

How a launch works (docs/scale-out.md has the recipes):

- **Who am I.** `detect_launch` reads the rank and world size that the launcher put in the environment: torchrun's
  `RANK` / `WORLD_SIZE` / `LOCAL_RANK` first, then a Slurm array (`SLURM_ARRAY_TASK_ID` - `SLURM_ARRAY_TASK_MIN` of
  `SLURM_ARRAY_TASK_COUNT`), then an srun step (`SLURM_PROCID` of `SLURM_NTASKS`, `SLURM_LOCALID`). A world of one is
  an ordinary run.
- **What do I run.** Rank I of N runs shard I/N (`units.assign_videos`: whole videos, balanced by frames) into its
  own run directory `<OUT>.shards/<I>-of-<N>/`, exactly as `lvsbench run --shard I/N` would, on `cuda:LOCAL_RANK`
  when the adapter uses CUDA. Shard directories are always resumed: a rank that died leaves finished units behind,
  and rerunning the same command computes only the missing ones (the settings must match, as for --resume).
- **Who merges.** With a process group (torchrun; srun when `MASTER_ADDR` / `MASTER_PORT` are set) every rank
  reports its status through `torch.distributed` (gloo on CPU, nccl on CUDA) and rank 0 merges the shards into
  `<OUT>` and optionally scores it. A Slurm array has no process group (its tasks need not run at the same time):
  each task, once its shard is written, looks at the other shards' run.json, and the task that finds them all
  finished merges, under an exclusive lock file so that two tasks finishing together do not both merge.
  `lvsbench merge <OUT>.shards/*-of-<N> --out <OUT>` does the same by hand (e.g. after the merging task died).

Identical outputs: the merged directory holds the same prediction files, run_parts and frame_scores.csv, byte for
byte, as a single-process run (`rundir.merge_runs` assembles in dataset order); only run.json / run_log.jsonl,
which describe the sessions, differ. (Locater's evaluation shards with `DistributedSampler`, which pads the last
batch with duplicates, pytorch/pytorch#25162; lvsbench never duplicates or drops a unit.)
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lvsbench.core.errors import ConfigError, LvsbenchError, OutputExistsError
from lvsbench.run.rundir import RUN_JSON, SCORE_JSON, now

SHARDS_SUFFIX = ".shards"
MERGE_LOCK = ".merge.lock"
DEFAULT_TIMEOUT_H = 48.0
"""How long rank 0 waits at the final status exchange for the slowest rank (process-group timeout)."""


@dataclass(frozen=True)
class Launch:
    """Where this process sits in a launch: rank of world_size, its GPU index on the node (local_rank), and whether
    a torch.distributed process group can coordinate the ranks."""

    launcher: str  # "single", "torchrun", "srun", "slurm-array"
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    process_group: bool = False
    env: dict[str, str] = field(default_factory=dict)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _int(env: Mapping[str, str], key: str, default: int | None = None) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        if default is None:
            raise ConfigError(f"environment variable {key} is not set")
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {key}={raw!r} is not an integer") from None


def detect_launch(env: Mapping[str, str] | None = None) -> Launch:
    """The launch described by the environment (os.environ by default).

    torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT. A Slurm array task has
    SLURM_ARRAY_TASK_ID / _MIN / _MAX / _COUNT (the range must be contiguous: `--array=0-7`, with any `%limit`).
    An srun task has SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID and SLURM_STEP_ID; the batch script itself (no srun)
    has no step id and is one process, so it is not mistaken for rank 0 of several."""
    env = os.environ if env is None else env
    torchrun = "RANK" in env and "WORLD_SIZE" in env
    array = "SLURM_ARRAY_TASK_ID" in env and _int(env, "SLURM_ARRAY_TASK_COUNT", 1) > 1
    srun = ("SLURM_PROCID" in env and "SLURM_NTASKS" in env
            and ("SLURM_STEP_ID" in env or "SLURM_STEPID" in env))
    if torchrun:
        if array:
            raise ConfigError("torchrun inside a Slurm array task: each array task would compute the same shards. "
                              "Use one launcher per run (torchrun with a rendezvous across nodes, or an array of "
                              "single-process tasks); see docs/scale-out.md")
        keys = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
        launch = Launch("torchrun", _int(env, "RANK"), _int(env, "WORLD_SIZE"), _int(env, "LOCAL_RANK", 0), True,
                        {k: env[k] for k in keys if k in env})
    elif array:
        task, lo = _int(env, "SLURM_ARRAY_TASK_ID"), _int(env, "SLURM_ARRAY_TASK_MIN", 0)
        count = _int(env, "SLURM_ARRAY_TASK_COUNT")
        hi = _int(env, "SLURM_ARRAY_TASK_MAX", lo + count - 1)
        if hi - lo + 1 != count or _int(env, "SLURM_ARRAY_TASK_STEP", 1) != 1:
            raise ConfigError(f"Slurm array {lo}-{hi} with {count} tasks is not a contiguous range; submit "
                              f"--array=0-{count - 1} (a %limit is fine) so that task ids name shards 0..N-1")
        ntasks = _int(env, "SLURM_NTASKS", 1) if srun else 1
        procid = _int(env, "SLURM_PROCID", 0) if srun else 0
        keys = ("SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX",
                "SLURM_ARRAY_TASK_COUNT", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID")
        launch = Launch("slurm-array", (task - lo) * ntasks + procid, count * ntasks,
                        _int(env, "SLURM_LOCALID", 0) if srun else 0, False, {k: env[k] for k in keys if k in env})
    elif srun:
        keys = ("SLURM_JOB_ID", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_STEP_ID", "MASTER_ADDR",
                "MASTER_PORT")
        launch = Launch("srun", _int(env, "SLURM_PROCID"), _int(env, "SLURM_NTASKS"), _int(env, "SLURM_LOCALID", 0),
                        "MASTER_ADDR" in env and "MASTER_PORT" in env, {k: env[k] for k in keys if k in env})
    else:
        return Launch("single")
    if launch.world_size < 1 or not 0 <= launch.rank < launch.world_size:
        raise ConfigError(f"{launch.launcher}: rank {launch.rank} is outside world size {launch.world_size} "
                          f"(environment {launch.env})")
    if launch.world_size == 1:
        return Launch("single", env=launch.env)
    return launch


def shards_root(out: Path) -> Path:
    """`<OUT>.shards`, beside the merged output (kept after the merge, so a rerun resumes from it)."""
    out = Path(out)
    return out.with_name(out.name + SHARDS_SUFFIX)


def shard_dir(out: Path, rank: int, world_size: int) -> Path:
    return shards_root(out) / f"{rank}-of-{world_size}"


def rank_device(requested: str, resolved: str, local_rank: int) -> str:
    """The device of a rank: `auto` / `cuda` that resolved to CUDA become `cuda:LOCAL_RANK`; an explicit
    `cuda:N` or `cpu` is kept. When the launcher gave each task a single visible GPU (Slurm `--gpus-per-task=1`,
    or CUDA_VISIBLE_DEVICES per rank), LOCAL_RANK may exceed the visible count: then it is that one GPU, cuda:0."""
    if not resolved.startswith("cuda") or ":" in requested:
        return resolved
    import torch

    count = torch.cuda.device_count()
    if local_rank < count:
        return f"cuda:{local_rank}"
    if count == 1:
        return "cuda:0"
    raise ConfigError(f"LOCAL_RANK {local_rank} but only {count} CUDA device(s) are visible; launch at most {count} "
                      "processes per node (torchrun --nproc-per-node) or pass --device explicitly")


# ============================================================================================ coordination


class ProcessGroup:
    """A torch.distributed process group used only to exchange each rank's final status (no tensors of the model
    go through it). gloo on CPU; nccl when this rank runs on CUDA."""

    def __init__(self, launch: Launch, device: str, timeout_h: float = DEFAULT_TIMEOUT_H) -> None:
        try:
            import torch
            import torch.distributed as dist
        except ImportError:
            from lvsbench.core.errors import MissingDependencyError

            raise MissingDependencyError("torch", "models", f"a {launch.launcher} launch (torch.distributed)") from None
        if not dist.is_available():
            raise ConfigError("this torch build has no torch.distributed; unset MASTER_ADDR to let the last srun "
                              "task merge instead")

        self.dist = dist
        self.owned = not dist.is_initialized()
        cuda = device.startswith("cuda")
        self.backend = "nccl" if cuda and dist.is_nccl_available() else "gloo"
        if not self.owned:
            return
        kwargs: dict[str, Any] = {}
        if cuda:
            idx = torch.device(device).index or 0
            torch.cuda.set_device(idx)
            if self.backend == "nccl":
                kwargs["device_id"] = torch.device("cuda", idx)
        dist.init_process_group(self.backend, init_method="env://", rank=launch.rank, world_size=launch.world_size,
                                timeout=timedelta(hours=timeout_h), **kwargs)

    def gather(self, obj: Any) -> list[Any]:
        out: list[Any] = [None] * self.dist.get_world_size()
        self.dist.all_gather_object(out, obj)
        return out

    def close(self) -> None:
        if self.owned and self.dist.is_initialized():
            self.dist.destroy_process_group()


@contextlib.contextmanager
def merge_lock(root: Path) -> Iterator[bool]:
    """Exclusive lock `<OUT>.shards/.merge.lock` (O_CREAT|O_EXCL, atomic on local and NFS v3+ filesystems):
    yields True if this process holds it. A lock left by a dead process on this host is taken over; one from
    another host is reported (remove it, or run `lvsbench merge` by hand)."""
    path = root / MERGE_LOCK
    me = {"host": socket.gethostname(), "pid": os.getpid(), "time": datetime.now(UTC).isoformat(timespec="seconds")}
    held = False
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                other = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                other = {}
            if other.get("host") == me["host"] and not _pid_alive(int(other.get("pid", -1))):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                continue
            break
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        held = True
        break
    try:
        yield held
    finally:
        if held:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_merged_out(out: Path, force: bool) -> None:
    """Refuse early (before any compute) to replace something at OUT that is not an earlier merge of this
    launch: an empty or absent OUT, a run directory a launch merged (its run.json has `launch`), or any lvsbench
    run directory with --force."""
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory")
    if not any(out.iterdir()):
        return
    doc_path = out / RUN_JSON
    doc = json.loads(doc_path.read_text()) if doc_path.is_file() else None
    if doc is not None and (doc.get("launch") or force):
        return
    if doc is None:
        raise ConfigError(f"--out {out}: exists and is not an lvsbench run directory (no run.json); refusing to "
                          "replace it")
    raise OutputExistsError(out)


def check_other_shards(out: Path, world_size: int, force: bool) -> None:
    """Refuse to start when `<OUT>.shards` holds unfinished shards of another world size: the same command under
    another launch shape (a Slurm array resubmitted as `--array=3`, which is one task and no launch at all, or
    `--array=3-4`, which is 2 tasks) would otherwise split the videos differently and compute everything again.
    `--force` goes ahead (the other shards are left as they are)."""
    root = shards_root(out)
    if force or not root.is_dir():
        return
    counts = set()
    for d in root.iterdir():
        rank, _, n = d.name.partition("-of-")
        if d.is_dir() and rank.isdigit() and n.isdigit() and int(n) != world_size:
            counts.add(int(n))
    other: dict[int, list[str]] = {}
    for n in sorted(counts):
        unfinished = [f"{r}-of-{n} ({st})" for r, st in enumerate(shard_statuses(out, n)) if st not in FINISHED]
        if unfinished:
            other[n] = unfinished
    if other:
        n, dirs = sorted(other.items())[0]
        raise ConfigError(f"{root} holds unfinished shards of a {n}-rank launch ({', '.join(dirs)}) but this process "
                          f"is {'one process' if world_size == 1 else f'a {world_size}-rank launch'}. Finish them "
                          f"with the original launch (e.g. `scontrol requeue` of an array task), or by hand with "
                          f"`lvsbench run ... --shard I/{n} --out {root}/I-of-{n} --resume` and `lvsbench merge`; "
                          "--force starts this launch anyway (docs/scale-out.md)")


def shard_statuses(out: Path, world_size: int) -> list[str]:
    """Status in each shard's run.json ("missing" when the shard has not started)."""
    statuses = []
    for r in range(world_size):
        p = shard_dir(out, r, world_size) / RUN_JSON
        try:
            statuses.append(str(json.loads(p.read_text()).get("status")))
        except FileNotFoundError:
            statuses.append("missing")
        except json.JSONDecodeError:  # being rewritten (atomic replace makes this rare); treat as unfinished
            statuses.append("running")
    return statuses


# ============================================================================================ the launch


FINISHED = ("complete", "partial")
"""Shard statuses that can be merged: every unit written, or the first --limit expressions of the shard."""


@dataclass
class LaunchResult:
    launch: Launch
    shard: Any  # runner.RunResult of this rank
    merged: dict[str, Any] | None = None  # merged run.json, on the process that merged
    statuses: list[dict[str, Any]] = field(default_factory=list)
    waiting_for: list[int] = field(default_factory=list)  # shards not finished (array tasks that did not merge)
    score: dict[str, Any] | None = None
    note: str = ""


def run_launch(adapter: Any, dataset: Any, opts: Any, launch: Launch, *, adapter_name: str | None = None,
               score: bool = False, timeout_h: float = DEFAULT_TIMEOUT_H) -> LaunchResult:
    """Run this rank's shard, then (rank 0 of a process group, or the last array task to finish) merge the shards
    into `opts.out` and, with `score`, score it (`<OUT>/score.json`)."""
    from lvsbench.run.runner import resolve_device, run

    out = Path(opts.out)
    check_merged_out(out, opts.force)
    check_other_shards(out, launch.world_size, opts.force)
    requested = opts.device
    resolved = adapter.resolve_device(requested) or resolve_device(requested, adapter.capabilities)
    device = rank_device(requested, resolved, launch.local_rank)
    mine = replace(opts, out=shard_dir(out, launch.rank, launch.world_size),
                   shard=(launch.rank, launch.world_size), device=device, resume=not opts.force)
    mine.out.parent.mkdir(parents=True, exist_ok=True)
    if not launch.process_group:
        shard = run(adapter, dataset, mine, adapter_name=adapter_name)
        return _merge_when_all_done(dataset, opts, launch, shard, score)
    group = ProcessGroup(launch, device, timeout_h)
    try:
        error: BaseException | None = None
        shard = None
        try:
            shard = run(adapter, dataset, mine, adapter_name=adapter_name)
        except Exception as exc:  # reported to rank 0 before it is raised here
            error = exc
        mine_status = {"rank": launch.rank, "host": socket.gethostname(), "pid": os.getpid(), "device": device,
                       "status": "failed" if shard is None else shard.status,
                       "error": None if error is None else f"{type(error).__name__}: {error}"}
        statuses = group.gather(mine_status)
        if error is not None:
            raise error
        result = LaunchResult(launch, shard, statuses=statuses)
        if launch.rank != 0:
            result.note = f"shard {launch.rank}/{launch.world_size} {shard.status}; rank 0 merges"
            return result
        bad = [s for s in statuses if s["status"] not in FINISHED]
        if bad:
            detail = "; ".join(f"rank {s['rank']} on {s['host']}: {s['status']}"
                               + (f" ({s['error']})" if s["error"] else "") for s in bad)
            raise LvsbenchError(f"not merged, {len(bad)} rank(s) did not finish: {detail}. Finished units are kept "
                                f"in {shards_root(out)}; rerun the same command to compute only the missing ones")
        _merge(dataset, opts, launch, result, [s["status"] for s in statuses], score)
        return result
    finally:
        group.close()


def _merge_when_all_done(dataset: Any, opts: Any, launch: Launch, shard: Any, score: bool) -> LaunchResult:
    """No process group: merge if every shard is finished, once (the lock), else say who is missing."""
    out = Path(opts.out)
    result = LaunchResult(launch, shard)
    statuses = shard_statuses(out, launch.world_size)
    result.statuses = [{"rank": r, "status": s} for r, s in enumerate(statuses)]
    result.waiting_for = [r for r, s in enumerate(statuses) if s not in FINISHED]
    if result.waiting_for:
        result.note = (f"shard {launch.rank}/{launch.world_size} {shard.status}; waiting for shard(s) "
                       f"{', '.join(map(str, result.waiting_for))}: the last task to finish merges (or run "
                       f"`lvsbench merge {shards_root(out)}/*-of-{launch.world_size} --out {out}`)")
        return result
    with merge_lock(shards_root(out)) as held:
        if not held:
            result.note = (f"another task holds {shards_root(out) / MERGE_LOCK} and is merging; if it died, remove "
                           f"the lock and run `lvsbench merge {shards_root(out)}/*-of-{launch.world_size} "
                           f"--out {out}`")
            return result
        _merge(dataset, opts, launch, result, statuses, score)
    return result


def _merge(dataset: Any, opts: Any, launch: Launch, result: LaunchResult, statuses: list[str], score: bool) -> None:
    from lvsbench.formats.predictions import prediction_path
    from lvsbench.run.rundir import merge_runs

    out = Path(opts.out)
    dirs = [shard_dir(out, r, launch.world_size) for r in range(launch.world_size)]
    record = {**launch.to_json(), "host": platform.node(), "merged_at": now()}
    check_merged_out(out, opts.force)
    result.merged = merge_runs(dirs, out, force=True, allow_incomplete=any(s == "partial" for s in statuses),
                               launch=record)
    if score:
        if result.merged["status"] != "complete":
            result.note = "not scored: the run is partial (--limit); score needs every expression"
            return
        result.score = score_run(prediction_path(out, result.merged["format"]), dataset, out / SCORE_JSON)


def score_run(predictions: Path, dataset: Any, target: Path) -> dict[str, Any]:
    """Score a finished run with its dataset's default protocol on every available core; write the results JSON."""
    from lvsbench.core.io import atomic_write_json
    from lvsbench.scoring import score
    from lvsbench.scoring.workers import resolve_workers

    t = time.perf_counter()
    res = score(predictions, dataset, workers=resolve_workers("auto"))
    atomic_write_json(target, res.results)
    return {"path": str(target), "values": res.values, "seconds": round(time.perf_counter() - t, 3),
            "table": res.table()}


__all__ = ["Launch", "LaunchResult", "detect_launch", "rank_device", "run_launch", "shard_dir", "shards_root",
           "check_merged_out", "check_other_shards", "shard_statuses", "score_run"]
