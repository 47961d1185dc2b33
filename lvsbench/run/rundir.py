"""The run directory that `lvsbench run`, `lvsbench merge` and `lvsbench import-preds` write, and its records:

- `run.json`: provenance (`identity`: the settings --resume and merge must find equal; adapter, dataset, format,
  shard, sessions, environment), built by `run_identity` / `run_record`;
- `run_log.jsonl`: one line per session start / end and per finished unit (`append_log`, fsynced);
- `run_parts/<order>.json`: per-unit scores and format fragments (COCO results, RLEs), needed by resume and merge;
- `frame_scores.csv`: video_id, exp_id, frame, score of the written mask;
- the predictions themselves, written by the format's writer (`lvsbench.formats.predictions.writer_class`).

`merge_runs` joins shard directories into one output identical to an unsharded run (whole-run files are assembled
from the parts in dataset order, not completion order).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lvsbench.core.errors import ConfigError, DataFormatError
from lvsbench.core.io import (
    atomic_write_json,
    atomic_write_text,
    check_overwrite,
    mark_output_dir,
    prepare_output_dir,
    remove_interrupted_writes,
    to_jsonable,
)
from lvsbench.core.textfiles import load_json, read_text
from lvsbench.datasets.base import Dataset
from lvsbench.formats.base import RUN_RECORD_FILES, Writer
from lvsbench.formats.predictions import prediction_path, writer_class
from lvsbench.protocols import Protocol, get_protocol
from lvsbench.run.units import Unit

RUN_JSON, RUN_LOG, SCORE_JSON = RUN_RECORD_FILES
PARTS_DIR = "run_parts"
FRAME_SCORES = "frame_scores.csv"
RUN_FORMAT_VERSION = 1


# ============================================================================================ run.json


def run_identity(*, adapter: str, adapter_config: Any, checkpoint_sha256: str | None, dataset: Dataset,
                 dataset_options: Any, fmt: str, protocol: Protocol, shard: list[Any], limit: int | None, seed: int,
                 threshold: float) -> dict[str, Any]:
    """`run.json`'s `identity`: what produced the predictions (`IDENTITY_KEYS` must match on --resume / merge)."""
    return {"adapter": adapter, "adapter_config": to_jsonable(adapter_config), "checkpoint_sha256": checkpoint_sha256,
            "dataset": dataset.name, "split": getattr(dataset, "split", None),
            "dataset_options": to_jsonable(dataset_options), "format": fmt, "protocol": protocol.name,
            "shard": shard, "limit": limit, "seed": seed, "threshold": threshold}


def run_record(ident: dict[str, Any], *, adapter: dict[str, Any], root: str, units: Sequence[Unit],
               shard: tuple[int, int] = (0, 1), **dataset: Any) -> dict[str, Any]:
    """The fields of `run.json` every run directory has; `dataset` adds to its `dataset` object."""
    return {"lvsbench_run_version": RUN_FORMAT_VERSION, "identity": ident, "adapter": adapter,
            "dataset": {"name": ident["dataset"], "split": ident["split"], "root": root,
                        "protocol": ident["protocol"], **dataset},
            "format": ident["format"], "predictions": prediction_path(Path("."), ident["format"]).as_posix(),
            "shard": {"index": shard[0], "count": shard[1], "units": len(units),
                      "expressions": sum(len(u.expressions) for u in units)}}


def open_run_dir(out: Path, resume: bool, force: bool) -> dict[str, Any] | None:
    """Create or reuse the output directory; returns the previous run.json on --resume."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory")
    if resume:
        if (out / RUN_JSON).exists():
            remove_interrupted_writes(out)
            return read_run_json(out)
        if out.is_dir() and any(out.iterdir()):
            raise ConfigError(f"--resume: {out} has no {RUN_JSON}; it is not an lvsbench run directory")
        return None
    if not force and (out / RUN_JSON).is_file():
        status = read_run_json(out).get("status")
        if status not in ("complete", "partial"):  # partial: --limit left units out on purpose
            raise ConfigError(f"{out}: holds an unfinished run (status {status}); continue it with --resume "
                              "(or start over with --force)")
    prepare_output_dir(out, force, legacy=(RUN_JSON,))
    return None


def check_resume(out: Path, previous: dict[str, Any], ident: dict[str, Any]) -> None:
    """--resume continues only a run of the same settings (`IDENTITY_KEYS`)."""
    old = identity_of(previous)
    diff = [k for k in IDENTITY_KEYS if old.get(k) != ident.get(k)]
    if diff:
        detail = "; ".join(f"{k}: {old.get(k)!r} -> {ident.get(k)!r}" for k in diff)
        raise ConfigError(f"--resume: {out} was produced with different settings ({detail}); "
                          "use a new --out or --force")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ============================================================================================ log, parts


def append_log(out: Path, record: dict[str, Any]) -> None:
    """One line of `run_log.jsonl` (append-only JSON lines), flushed and fsynced so that a kill never loses a
    finished unit; a torn last line (killed mid-write) is ignored on reading."""
    with open(out / RUN_LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_run_log(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    lines = read_text(path, RUN_LOG).split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if n == len(lines):
                break  # torn final line of a killed run
            raise DataFormatError(path, "invalid JSON line", f"line {n}") from None
        if not isinstance(rec, dict) or (rec.get("event") == "done" and not isinstance(rec.get("order"), int)):
            raise DataFormatError(path, f"not a run-log record: {line[:60]!r}; delete the line or rerun with "
                                        "--force", f"line {n}")
        out.append(rec)
    return out


def read_run_json(out: Path) -> dict[str, Any]:
    """`run.json` of a run folder, validated enough for --resume and merge (a named error, never a traceback)."""
    doc = load_json(out / RUN_JSON, RUN_JSON)
    if not isinstance(doc, dict) or not isinstance(doc.get("identity"), dict):
        raise DataFormatError(out / RUN_JSON, "not an lvsbench run record (no 'identity' object); rerun with --force")
    return doc


def done_units(out: Path) -> set[int]:
    """Orders of units finished in earlier sessions: a done line in the log and its part file on disk."""
    done = set()
    for rec in read_run_log(out / RUN_LOG):
        if rec.get("event") == "done" and (out / PARTS_DIR / f"{int(rec['order']):07d}.json").is_file():
            done.add(int(rec["order"]))
    return done


def read_parts(out: Path) -> list[dict[str, Any]]:
    parts = []
    d = out / PARTS_DIR
    if d.is_dir():
        for p in sorted(d.glob("*.json")):
            try:
                parts.append(json.loads(p.read_text()))
            except json.JSONDecodeError as exc:
                raise DataFormatError(p, f"invalid JSON: {exc.msg}") from exc
    return sorted(parts, key=lambda part: part["order"])


def write_frame_scores(out: Path, parts: list[dict[str, Any]]) -> None:
    """`frame_scores.csv`: video_id, exp_id, frame, score of the written mask (for DEVA-style refiners)."""
    rows = ["video_id,exp_id,frame,score"]
    for part in parts:
        for eid in part["expressions"]:
            for frame, score in part.get("scores", {}).get(eid, []):
                rows.append(f"{_csv(part['video_id'])},{_csv(eid)},{_csv(frame)},{score!r}")
    atomic_write_text(out / FRAME_SCORES, "\n".join(rows) + "\n")


def _csv(s: str) -> str:
    return f'"{s}"' if ("," in s or '"' in s) else s


IDENTITY_KEYS = ("adapter", "adapter_config", "checkpoint_sha256", "dataset", "split", "dataset_options", "format",
                 "protocol", "shard", "seed", "threshold")
"""Settings that must match for --resume and merge (--limit may change: a smoke run can be extended)."""


def identity_of(run: dict[str, Any]) -> dict[str, Any]:
    return {k: run.get("identity", {}).get(k) for k in IDENTITY_KEYS}


def finish_unit(out: Path, unit: Unit, content: dict[str, Any], session: int, frames: int) -> None:
    """A finished unit: its part file `run_parts/<order>.json` (atomic), then its done line in the log."""
    part = {"order": unit.order, "video_id": unit.video_id, "expressions": list(unit.exp_ids), "group": unit.group,
            **content}
    atomic_write_json(out / PARTS_DIR / unit.part_name, part, indent=None)
    rec = {"event": "done", "session": session, "order": unit.order, "video": unit.video_id,
           "expressions": list(unit.exp_ids), "frames": frames, "time": now()}
    if unit.group is not None:
        rec["annotator"] = unit.group
    append_log(out, rec)


def finish_outputs(out: Path, writer: Writer) -> list[dict[str, Any]]:
    """Whole-run files from the part files: the writer's (COCO / RLE JSON) and `frame_scores.csv`."""
    parts = read_parts(out)
    writer.finalize(parts)
    write_frame_scores(out, parts)
    return parts


# ============================================================================================ merge


def merge_runs(shards: Sequence[Path], out: Path, force: bool = False, allow_incomplete: bool = False,
               launch: dict[str, Any] | None = None) -> dict[str, Any]:
    """Join shard run directories (`--shard I/N` of one run) into one output equal to an unsharded run.
    `launch` (how a torchrun / Slurm run was started, `lvsbench.run.distributed`) is recorded in the merged run.json."""
    if not shards:
        raise ConfigError("merge: no shard directories given")
    docs = []
    for s in shards:
        p = Path(s) / RUN_JSON
        if not p.is_file():
            raise ConfigError(f"merge: {s} is not an lvsbench run directory (no {RUN_JSON})")
        docs.append(read_run_json(Path(s)))
    base = {k: v for k, v in identity_of(docs[0]).items() if k != "shard"}
    for s, d in zip(shards, docs, strict=True):
        ident = {k: v for k, v in identity_of(d).items() if k != "shard"}
        if ident != base:
            diff = [k for k in ident if ident[k] != base[k]]
            raise ConfigError(f"merge: {s} differs from {shards[0]} in {', '.join(diff)}")
    counts = {tuple(d["identity"]["shard"])[1] for d in docs}
    if len(counts) != 1:
        raise ConfigError(f"merge: shards of different --shard N: {sorted(counts)}")
    n = counts.pop()
    rules = {tuple(d["identity"]["shard"][2:]) for d in docs}
    if len(rules) != 1:
        raise ConfigError(f"merge: shards assigned by different rules ({sorted(map(list, rules))}); rerun the old "
                          "ones with this version (--force) so that every shard uses the same assignment")
    indices = [d["identity"]["shard"][0] for d in docs]
    if sorted(indices) != list(range(n)) and not allow_incomplete:
        raise ConfigError(f"merge: need every shard 0..{n - 1} exactly once, got {sorted(indices)}")
    incomplete = [str(s) for s, d in zip(shards, docs, strict=True) if d.get("status") != "complete"]
    if incomplete and not allow_incomplete:
        raise ConfigError(f"merge: unfinished shard(s) {', '.join(incomplete)} (rerun them with --resume)")
    check_overwrite(out, force, legacy=(RUN_JSON,))
    fmt = docs[0]["identity"]["format"]
    protocol = get_protocol(docs[0]["identity"]["protocol"])
    tmp = out.with_name(f".{out.name}.merge.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        mark_output_dir(tmp)
        (tmp / PARTS_DIR).mkdir()
        seen: dict[str, Path] = {}
        logs: list[str] = []
        for s in shards:
            s = Path(s)
            for part in sorted((s / PARTS_DIR).glob("*.json")):
                if part.name in seen:
                    raise ConfigError(f"merge: unit {part.stem} is in both {seen[part.name]} and {s}")
                seen[part.name] = s
                shutil.copy2(part, tmp / PARTS_DIR / part.name)
            for sub in writer_class(fmt).dirs(s):
                for src in sorted(sub.rglob("*")):
                    if not src.is_file() or src.name.startswith("."):
                        continue
                    rel = src.relative_to(s)
                    dst = tmp / rel
                    if dst.exists():
                        raise ConfigError(f"merge: {rel} is in more than one shard")
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, dst)
            if (s / RUN_LOG).is_file():
                logs.extend(json.dumps({**r, "shard": str(s)}, sort_keys=True) for r in read_run_log(s / RUN_LOG)
                            if r.get("event") == "done")
        parts = finish_outputs(tmp, writer_class(fmt)(tmp, protocol, float(docs[0]["identity"]["threshold"])))
        atomic_write_text(tmp / RUN_LOG, "".join(line + "\n" for line in logs))
        merged = dict(docs[0])
        merged["identity"] = {**docs[0]["identity"], "shard": [0, 1]}
        merged["status"] = "complete" if not incomplete and sorted(indices) == list(range(n)) else "partial"
        merged["merged_from"] = [{"path": str(s), "shard": d["identity"]["shard"], "status": d.get("status"),
                                  "sessions": d.get("sessions", []), "env": d.get("env")}
                                 for s, d in zip(shards, docs, strict=True)]
        merged["shard"] = {"index": 0, "count": 1, "units": len(parts),
                           "expressions": sum(len(p["expressions"]) for p in parts)}
        merged["sessions"] = []
        if launch is not None:
            merged["launch"] = launch
        atomic_write_json(tmp / RUN_JSON, merged)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return merged


__all__ = [
    "FRAME_SCORES",
    "IDENTITY_KEYS",
    "PARTS_DIR",
    "RUN_FORMAT_VERSION",
    "RUN_JSON",
    "RUN_LOG",
    "append_log",
    "SCORE_JSON",
    "check_resume",
    "done_units",
    "finish_outputs",
    "finish_unit",
    "identity_of",
    "merge_runs",
    "now",
    "open_run_dir",
    "read_parts",
    "read_run_json",
    "read_run_log",
    "run_identity",
    "run_record",
    "write_frame_scores",
]
