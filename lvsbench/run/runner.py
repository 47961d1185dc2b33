"""`lvsbench run`: stream a dataset through an adapter and write predictions that `lvsbench score` reads.

What the runner owns (the adapter only answers `predict` calls, see `lvsbench.adapters.base`):

- **Streaming.** One video at a time; frames are decoded in a worker thread (and pinned on CUDA) while the adapter
  computes on the previous clip (`lvsbench.run.feed`); only the frames a clip needs are held. Outputs are
  converted (`lvsbench.run.postprocess`) and written as they come.
- **Formats.** The output directory holds the format of the dataset's protocol (`Protocol.run_format`), written by
  that format's writer (`lvsbench.formats.predictions.PREDICTION_FORMATS`), beside the run records of
  `lvsbench.run.rundir` (run.json, run_log.jsonl, run_parts/, frame_scores.csv).
- **Atomic units and resume.** A unit (`lvsbench.run.units`) is one expression (one annotator setting of a video for
  Ref-DAVIS17, whose palettes combine that setting's expressions). Its files are written atomically, then its part
  file, then its "done" line is appended to the log (flushed and fsynced). `--resume` skips units whose done line and
  part file exist and records the skip; a half-finished unit is recomputed and its files overwritten.
- **Sharding.** `--shard I/N` (and a rank of a torchrun / Slurm launch, `lvsbench.run.distributed`) takes whole
  videos, balanced by frames (`assign_videos`); `merge_runs` joins shard directories into one output identical to an
  unsharded run.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from lvsbench import __version__
from lvsbench.adapters.base import Adapter, Capabilities, Query, SetupContext, VideoHandle
from lvsbench.core.errors import ConfigError, LvsbenchError, MissingDependencyError
from lvsbench.core.io import atomic_write_json, mark_output_dir, sha256_file, sha256_tree, to_jsonable
from lvsbench.datasets.base import Dataset
from lvsbench.formats.base import FrameOutput, Writer
from lvsbench.formats.predictions import prediction_path, writer_class
from lvsbench.protocols import default_protocol_for
from lvsbench.run import rundir
from lvsbench.run.feed import Prefetcher, VideoJob, WriteQueue, clip_plans
from lvsbench.run.options import RunOptions
from lvsbench.run.postprocess import process_prediction
from lvsbench.run.rundir import RUN_JSON
from lvsbench.run.units import Unit, build_units, select_units, shard_identity, video_frame_counts

# ============================================================================================ environment


def environment(device: str) -> dict[str, Any]:
    """Versions recorded in run.json. torch is imported only if some adapter already imported it."""
    from importlib import metadata

    env: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                           "lvsbench": __version__, "numpy": np.__version__}
    try:
        env["torch"] = metadata.version("torch")
    except metadata.PackageNotFoundError:
        env["torch"] = None
    torch = sys.modules.get("torch")
    if torch is not None:
        env["torch"] = torch.__version__
        env["cuda"] = torch.version.cuda
        env["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        if device.startswith("cuda") and torch.cuda.is_available():
            idx = torch.device(device).index or 0
            env["gpu"] = torch.cuda.get_device_name(idx)
            env["gpu_memory_bytes"] = torch.cuda.get_device_properties(idx).total_memory
    return env


def resolve_device(requested: str, caps: Capabilities) -> str:
    """`auto` is CUDA when the adapter uses torch and a GPU is visible, else CPU; `cuda` without a GPU is an
    error; an adapter that does not list the device kind refuses it."""
    requested = requested.lower()
    if requested == "auto":
        device = "cpu"
        if caps.needs_torch and "cuda" in caps.devices:
            try:
                import torch
            except ImportError:
                torch = None  # type: ignore[assignment]
            if torch is not None and torch.cuda.is_available():
                device = "cuda"
        return device
    kind = requested.split(":")[0]
    if kind not in ("cpu", "cuda"):
        raise ConfigError(f"--device {requested!r}: choose auto, cpu, cuda or cuda:N")
    if kind == "cuda":
        try:
            import torch
        except ImportError:
            raise ConfigError("--device cuda needs torch: pip install 'lvsbench[models]'") from None
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is visible (torch.cuda.is_available() is False)")
    if kind not in caps.devices:
        raise ConfigError(f"--device {requested}: this adapter runs on {', '.join(sorted(caps.devices))}")
    return requested


def _rss_peak_bytes() -> int:
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak) * (1 if sys.platform == "darwin" else 1024)
    except (ImportError, OSError):  # pragma: no cover - non-POSIX
        return 0


def checkpoint_sha256(path: Path | None) -> str | None:
    if path is None:
        return None
    if not path.exists():
        raise ConfigError(f"--checkpoint {path}: not found")
    return sha256_file(path) if path.is_file() else sha256_tree(path)


# ============================================================================================ the run


@dataclass
class RunResult:
    """What a session did (also written to run.json)."""

    out: Path
    format: str
    predictions: Path
    status: str
    units_total: int
    units_done: int
    units_skipped: int
    frames: int
    seconds: float
    session: dict[str, Any]


def run(adapter: Adapter, dataset: Dataset, opts: RunOptions, adapter_name: str | None = None) -> RunResult:
    """Run `adapter` over `dataset` (the shard / limit of `opts`) and write predictions to `opts.out`."""
    caps = adapter.capabilities
    name = adapter_name or type(adapter).name or type(adapter).__name__
    protocol = default_protocol_for(dataset)
    fmt = opts.format or protocol.run_format
    if fmt == "coco-json" and protocol.image_id == "none":
        raise ConfigError(f"--format coco-json needs an A2D or J-HMDB dataset (image ids), not protocol "
                          f"{protocol.name}")
    if caps.needs_ground_truth and getattr(dataset, "has_ground_truth", True) is False:
        raise ConfigError(f"adapter {name} reads the ground truth, but {dataset.name} split "
                          f"{getattr(dataset, 'split', '?')} has none (its masks are not public): it would write empty "
                          "masks; run it on a split with ground truth (e.g. train, or train-heldout-v1)")
    previous = rundir.open_run_dir(opts.out, opts.resume, opts.force)
    out = opts.out
    mark_output_dir(out)
    (out / rundir.PARTS_DIR).mkdir(exist_ok=True)

    if caps.needs_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            raise MissingDependencyError("torch", "models", f"adapter {name}") from None
    device = adapter.resolve_device(opts.device) or resolve_device(opts.device, caps)
    ckpt_sha = checkpoint_sha256(opts.checkpoint)

    identity = rundir.run_identity(adapter=name, adapter_config=adapter.config(), checkpoint_sha256=ckpt_sha,
                                   dataset=dataset, dataset_options=opts.dataset_options, fmt=fmt,
                                   protocol=protocol, shard=shard_identity(opts.shard), limit=opts.limit,
                                   seed=opts.seed, threshold=opts.threshold)
    if previous is not None:
        rundir.check_resume(out, previous, identity)

    videos = dataset.videos()
    all_units = build_units(dataset, fmt, protocol)
    units = select_units(all_units, video_frame_counts(dataset), opts.shard, opts.limit)
    done = rundir.done_units(out) if previous is not None else set()
    pending = [u for u in units if u.order not in done]
    skipped = [u for u in units if u.order in done]

    session_no = 1 + sum(1 for r in rundir.read_run_log(out / rundir.RUN_LOG) if r.get("event") == "session_start")
    started = rundir.now()
    rundir.append_log(out, {"event": "session_start", "session": session_no, "time": started, "resume": opts.resume,
                            "units": len(units), "pending": len(pending), "skipped": len(skipped)})
    for u in skipped:
        rundir.append_log(out, {"event": "skip", "session": session_no, "order": u.order, "video": u.video_id,
                                "expressions": list(u.exp_ids), "reason": "done in an earlier session"})

    ctx = SetupContext(device=device, dataset_name=dataset.name, protocol=protocol.name,
                       split=str(getattr(dataset, "split", "")),
                       checkpoint=opts.checkpoint, dataset=dataset if caps.needs_ground_truth else None,
                       seed=opts.seed, autocast=bool(opts.bf16 and caps.autocast_bf16 and device.startswith("cuda")),
                       work_dir=out, log=_tqdm_write)

    run_doc: dict[str, Any] = previous or {}
    run_doc.update(rundir.run_record(
        identity, root=opts.dataset_root or str(getattr(dataset, "root", "")), units=units, shard=opts.shard,
        adapter={"name": name, "class": f"{type(adapter).__module__}:{type(adapter).__qualname__}",
                 "config": identity["adapter_config"], "capabilities": caps.to_json()},
        options=identity["dataset_options"], card_checksum=_card_checksum(dataset), videos=len(videos),
        expressions=sum(len(u.expressions) for u in all_units)))
    run_doc["checkpoint"] = None if opts.checkpoint is None else {"path": str(opts.checkpoint), "sha256": ckpt_sha}
    run_doc.setdefault("sessions", [])
    session: dict[str, Any] = {"session": session_no, "started": started, "host": platform.node(),
                               "pid": os.getpid(), "device": device,
                               "batch_frames": opts.batch_frames, "batch_expressions": opts.batch_expressions,
                               "autocast_bf16": ctx.autocast, "resume": opts.resume, "status": "running",
                               "units_pending": len(pending), "units_skipped": len(skipped)}
    run_doc["sessions"].append(session)
    run_doc["status"] = "running"
    atomic_write_json(out / RUN_JSON, run_doc)

    folder = getattr(dataset, "prediction_video", None) if protocol.prediction_dir == "source-video-object" else None
    sink = writer_class(fmt)(out, protocol, opts.threshold, folder)
    t0 = time.perf_counter()
    stats = {"frames": 0, "query_frames": 0, "compute_s": 0.0, "units": 0}
    torch_mod = None
    status = "failed"
    error: str | None = None
    try:
        if caps.needs_torch or "torch" in sys.modules:
            torch_mod = sys.modules.get("torch")
            if torch_mod is not None and device.startswith("cuda"):
                torch_mod.cuda.reset_peak_memory_stats(device)
        adapter.setup(ctx)
        torch_mod = sys.modules.get("torch")
        run_doc["adapter"]["info"] = to_jsonable(adapter.info())
        if isinstance(run_doc["adapter"]["info"].get("device"), str):
            session["device"] = run_doc["adapter"]["info"]["device"]  # the adapter's own process
        run_doc["adapter"]["capabilities"] = adapter.capabilities.to_json()
        atomic_write_json(out / RUN_JSON, run_doc)
        _run_videos(adapter, dataset, pending, opts, sink, session_no, device, ctx, stats, torch_mod)
        status = "complete"
    except KeyboardInterrupt:
        status, error = "interrupted", "KeyboardInterrupt"
        raise
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with contextlib.suppress(Exception):
            adapter.close()
        seconds = time.perf_counter() - t0
        write_failed: Exception | None = None
        try:  # a failed write must not leave a run marked complete (no suppress around writes)
            rundir.finish_outputs(out, sink)
        except Exception as exc:
            write_failed = exc
            if status == "complete":
                status, error = "failed", f"writing predictions: {type(exc).__name__}: {exc}"
        torch_mod = sys.modules.get("torch")
        peak: dict[str, Any] = {"rss_peak_bytes": _rss_peak_bytes()}
        if torch_mod is not None and device.startswith("cuda"):
            with contextlib.suppress(Exception):
                peak["cuda_max_allocated_bytes"] = int(torch_mod.cuda.max_memory_allocated(device))
                peak["cuda_max_reserved_bytes"] = int(torch_mod.cuda.max_memory_reserved(device))
        session.update({
            "ended": rundir.now(), "status": status, "error": error,
            "units_done": stats["units"], "frames": stats["frames"], "query_frames": stats["query_frames"],
            "seconds": round(seconds, 4), "compute_seconds": round(stats["compute_s"], 4),
            "frames_per_s": round(stats["frames"] / seconds, 3) if seconds > 0 else None,
            "compute_frames_per_s": round(stats["frames"] / stats["compute_s"], 3) if stats["compute_s"] > 0
            else None,
            "peak_memory": peak,
        })
        all_done = rundir.done_units(out)
        shard_units = select_units(all_units, video_frame_counts(dataset), opts.shard, None)
        if status != "complete":
            run_doc["status"] = status
        elif all(u.order in all_done for u in shard_units):
            run_doc["status"] = "complete"
        else:
            run_doc["status"] = "partial"  # --limit left units out
        run_doc["env"] = environment(device)
        atomic_write_json(out / RUN_JSON, run_doc)
        rundir.append_log(out, {"event": "session_end", "session": session_no, "status": status,
                                "units_done": stats["units"], "seconds": round(seconds, 4)})
        if write_failed is not None and error is not None and error.startswith("writing predictions"):
            raise write_failed
    return RunResult(out, fmt, prediction_path(out, fmt), run_doc["status"], len(units), stats["units"],
                     len(skipped), stats["frames"], seconds, session)


def _card_checksum(dataset: Dataset) -> str | None:
    root = getattr(dataset, "root", None)
    if root is None:
        return None
    card = Path(root) / "lvsbench.json"
    return sha256_file(card) if card.is_file() else None


def _tqdm_write(msg: str) -> None:
    """A line for the user that does not break the progress bar (`SetupContext.log`)."""
    tqdm.write(msg, file=sys.stderr)


def _run_videos(adapter: Adapter, dataset: Dataset, pending: list[Unit], opts: RunOptions, sink: Writer,
                session_no: int, device: str, ctx: SetupContext, stats: dict[str, Any], torch_mod: Any) -> None:
    caps = adapter.capabilities  # as refined by setup
    videos = dataset.videos()
    by_video: dict[str, list[Unit]] = {}
    for u in pending:
        by_video.setdefault(u.video_id, []).append(u)
    jobs: list[VideoJob] = []
    for vid, units in by_video.items():
        v = videos[vid]
        queries, needed = [], set()
        for u in units:
            for e in u.expressions:
                frames = tuple(dataset.expression_frames(e))
                queries.append(Query(vid, e.id, e.text, frames))
                needed.update(frames)
        out_frames = tuple(f for f in v.frames if f in needed)
        handle = VideoHandle(vid, v.frames, v.height, v.width, lambda name, _v=vid: dataset.read_frame(_v, name),
                             out_frames, {"dataset": dataset.name, "split": getattr(dataset, "split", "")})
        plans = clip_plans(caps, v.frames, list(needed), opts.batch_frames)
        jobs.append(VideoJob(handle, units, queries, plans))
    total_frames = sum(len(idx) for j in jobs for idx, _ in j.plans)
    pin = bool(device.startswith("cuda") and torch_mod is not None)
    bar = tqdm(total=total_frames, unit="frame", desc=f"run {dataset.name}", disable=not opts.progress,
               dynamic_ncols=True, file=sys.stderr)
    prefetch = Prefetcher(dataset, jobs, opts.prefetch, pin)
    writer = WriteQueue(opts.prefetch > 0)
    max_q = caps.max_queries or opts.batch_expressions or None
    if opts.batch_expressions and caps.max_queries:
        max_q = min(opts.batch_expressions, caps.max_queries)
    current: int | None = None
    states: list[Any] = []
    produced: dict[str, set[str]] = {}
    try:
        for j, p, clip in prefetch:
            job = jobs[j]
            if current != j:
                current = j
                states = [adapter.init_state(job.video, q) for q in job.queries]
                produced = {}
            clip_out: dict[str, dict[str, FrameOutput]] = {}
            step = max_q or len(job.queries)
            for k in range(0, len(job.queries), step):
                chunk = job.queries[k:k + step]
                t = time.perf_counter()
                with _inference_context(torch_mod, ctx.autocast, device):
                    preds = adapter.predict(clip, chunk, states[k:k + step])
                    if torch_mod is not None and device.startswith("cuda"):
                        torch_mod.cuda.synchronize(device)
                stats["compute_s"] += time.perf_counter() - t
                if preds is None or len(preds) != len(chunk):
                    raise ConfigError(f"adapter {type(adapter).name}: predict returned "
                                      f"{0 if preds is None else len(preds)} predictions for {len(chunk)} queries "
                                      f"(video {job.video.id})")
                for q, pred in zip(chunk, preds, strict=True):
                    where = f"adapter {type(adapter).name}, video {q.video_id}, expression {q.exp_id}"
                    wanted = set(q.output_frames) & set(clip.outputs)
                    keep = [i for i, name in enumerate(clip.names) if name in wanted]
                    frames_out = process_prediction(pred, len(clip), job.video.height, job.video.width,
                                                    opts.threshold, sink.keep_probs, sink.want_candidates, where,
                                                    keep)
                    d = clip_out.setdefault(q.exp_id, {})
                    for i, fo in zip(keep, frames_out, strict=True):
                        d[clip.names[i]] = fo
                    stats["query_frames"] += len(keep)
            writer.submit(sink.add_frames, job.video, job.units, clip_out)
            for eid, d in clip_out.items():
                produced.setdefault(eid, set()).update(d)
            stats["frames"] += len(clip)
            bar.update(len(clip))
            if p == len(job.plans) - 1:
                adapter.end_video(job.video, job.queries, states)
                writer.flush()  # every file of the video is on disk before its units are logged as done
                _finish_video(job, produced, sink, session_no, opts, stats)
        for job in jobs:  # videos with nothing to feed (no output frames)
            if not job.plans:
                _finish_video(job, {}, sink, session_no, opts, stats)
    finally:
        prefetch.close()
        writer.close()
        bar.close()


def _finish_video(job: VideoJob, produced: dict[str, set[str]], sink: Writer,
                  session_no: int, opts: RunOptions, stats: dict[str, Any]) -> None:
    wanted = {q.exp_id: q.output_frames for q in job.queries}
    for u in job.units:
        missing = [(e.id, f) for e in u.expressions for f in wanted[e.id] if f not in produced.get(e.id, set())]
        if missing:
            raise LvsbenchError(f"video {u.video_id}: no prediction for {len(missing)} frame(s), e.g. "
                                f"expression {missing[0][0]} frame {missing[0][1]}")
        rundir.finish_unit(opts.out, u, sink.unit_part(u), session_no,
                           sum(len(produced.get(e.id, ())) for e in u.expressions))
        stats["units"] += 1


@contextlib.contextmanager
def _inference_context(torch_mod: Any, autocast: bool, device: str) -> Iterator[None]:
    if torch_mod is None:
        yield
        return
    with torch_mod.inference_mode():
        if autocast:
            with torch_mod.autocast(device_type="cuda", dtype=torch_mod.bfloat16):
                yield
        else:
            yield


__all__ = ["RUN_JSON", "RunOptions", "RunResult", "resolve_device", "run"]
