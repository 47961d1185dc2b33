"""Atomic, non-clobbering file output and checksums.

Every file lvsbench writes goes through here: written to a temporary sibling and renamed into place, so an
interrupted job never leaves a half-written file that a resumed job would trust. hashlib, shutil and tempfile
are imported by the functions that use them: commands import this module long before they write (`lvsbench
score`: before its first frame), and those imports cost more than the module itself.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lvsbench.core.errors import ConfigError, OutputExistsError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


OUTPUT_MARKER = ".lvsbench-output"
"""File written first into every folder lvsbench creates as an output: `--force` replaces only a folder that has it
(or an empty one), so it can never delete a folder of the user's that was named by mistake."""


def is_lvsbench_output(path: str | Path, legacy: tuple[str, ...] = ()) -> bool:
    """True when `path` is a folder lvsbench wrote: it has the marker (or one of the `legacy` files that marked
    outputs of earlier versions, such as a run's `run.json`) or is empty."""
    p = Path(path)
    if not p.is_dir():
        return False
    if (p / OUTPUT_MARKER).is_file() or any((p / name).is_file() for name in legacy):
        return True
    return not any(p.iterdir())


def check_overwrite(path: str | Path, force: bool, legacy: tuple[str, ...] = ()) -> None:
    """Refuse to replace `path` unless `force`; even with `force`, refuse a folder lvsbench did not write.

    A file (a results JSON, a report) is replaced with `force`; a folder only when it carries `OUTPUT_MARKER` (or a
    `legacy` marker) or is empty. The refusal names the path (exit 2), and nothing is deleted.
    """
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        return
    if p.is_dir() and not p.is_symlink() and not any(p.iterdir()):
        return
    if not force:
        raise OutputExistsError(p)
    if p.is_dir() and not p.is_symlink() and not is_lvsbench_output(p, legacy):
        raise ConfigError(f"{p}: --force replaces only a folder written by lvsbench (it has no {OUTPUT_MARKER}); "
                          "this one holds other files, so nothing was deleted: choose another output path")


def mark_output_dir(path: str | Path) -> Path:
    """Create `path` (if needed) and write the marker into it first, before any output."""
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    marker = p / OUTPUT_MARKER
    if not marker.is_file():
        atomic_write_text(marker, "written by lvsbench: `--force` may replace this folder\n")
    return p


def prepare_output_dir(path: str | Path, force: bool, legacy: tuple[str, ...] = ()) -> Path:
    """The one way a command claims an output folder: refuse (see `check_overwrite`), delete an earlier lvsbench
    output under `force`, create the folder and write the marker first."""
    import shutil

    p = Path(path)
    check_overwrite(p, force, legacy)
    if p.is_symlink() or p.is_file():
        p.unlink()
    elif p.is_dir():
        shutil.rmtree(p)
    return mark_output_dir(p)


def remove_output_dir(path: str | Path, legacy: tuple[str, ...] = ()) -> None:
    """Delete a folder only if lvsbench wrote it (marker, legacy marker or empty); otherwise refuse naming it."""
    import shutil

    p = Path(path)
    if not p.exists():
        return
    if not is_lvsbench_output(p, legacy):
        raise ConfigError(f"{p}: not a folder written by lvsbench (no {OUTPUT_MARKER}); refusing to delete it")
    shutil.rmtree(p)


def remove_interrupted_writes(root: str | Path) -> list[Path]:
    """Delete the temporary files and folders (`.<name>.<random>.tmp`) that `atomic_write_bytes` / `atomic_dir`
    leave behind when a process is killed mid-write, anywhere under an lvsbench output folder `root`; returns what
    was removed. Called before a resumed job writes again, so an interruption leaves no partial file for good."""
    import shutil

    root = Path(root)
    if not is_lvsbench_output(root):
        return []
    stale = [q for q in root.rglob(".*.tmp") if q.name.count(".") >= 3]
    for q in sorted(stale, key=lambda x: len(x.parts), reverse=True):
        if q.is_dir():
            shutil.rmtree(q, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                q.unlink()
    return stale


_TMP_SEQ = itertools.count()


def _open_temp(p: Path) -> tuple[int, str]:
    """A new temporary sibling of `p` (`.<name>.<pid>-<n>.tmp`), opened for writing with the mode open() gives.

    Named by process id and counter, created exclusively: `mkstemp`'s random names, the parent `mkdir` and the
    `chmod` cost more than writing a small frame (the hard split writes ~130,000). A name left by an interrupted
    process of the same id falls back to `mkstemp`."""
    tmp = os.path.join(p.parent, f".{p.name}.{os.getpid()}-{next(_TMP_SEQ)}.tmp")
    try:
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
    except FileNotFoundError:
        p.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        pass
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; outputs should be as readable as open() makes them
    return fd, tmp


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file in the same directory and `os.replace`."""
    p = Path(path)
    try:
        fd, tmp = _open_temp(p)
    except OSError as exc:
        raise _named(exc, p) from exc
    try:
        try:
            view = memoryview(data)
            while view:  # os.write: no buffered file object per file (the hard split writes ~130,000)
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, p)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _named(exc, p) from exc
        raise


def _named(exc: OSError, path: Path) -> OSError:
    """The same OS error naming the file the user asked for (not a temp sibling), so the CLI's one-line message
    for a full or read-only disk points at it."""
    return type(exc)(exc.errno, exc.strerror, str(path)) if exc.errno is not None else exc


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    atomic_write_bytes(path, text.encode(encoding))


def json_dumps_canonical(obj: Any, indent: int | None = 2) -> str:
    """JSON with sorted keys and a trailing newline, so that equal content gives equal bytes."""
    return json.dumps(obj, indent=indent, sort_keys=True, ensure_ascii=False) + "\n"


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 2, sort_keys: bool = True) -> None:
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, ensure_ascii=False) + "\n"
    atomic_write_text(path, text)


@contextlib.contextmanager
def atomic_dir(path: str | Path, force: bool = False, legacy: tuple[str, ...] = ()) -> Iterator[Path]:
    """Build a directory in a temp sibling, then move it into place as a whole.

    With `force`, an existing directory is replaced only after the new one is complete, and only if lvsbench wrote
    it (`check_overwrite`); the new one carries `OUTPUT_MARKER`.
    """
    import shutil
    import tempfile

    p = Path(path)
    check_overwrite(p, force, legacy)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent))
    try:
        mark_output_dir(tmp)
        yield tmp
        if p.exists():
            old = p.with_name(f".{p.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(p, old)
            os.replace(tmp, p)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, p)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def to_jsonable(v: Any) -> Any:
    """Paths as strings, tuples as lists, keys as strings: what run records and configs hold, made JSON-ready."""
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, tuple | list):
        return [to_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): to_jsonable(x) for k, x in v.items()}
    return v


def sha256_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_tree(root: str | Path, exclude: tuple[str, ...] = ()) -> str:
    """Checksum of a directory tree: sorted relative paths and file contents (names in `exclude` and the output
    marker skipped, so a marked folder has the checksum of its content)."""
    import hashlib

    base = Path(root)
    h = hashlib.sha256()
    if any(part.startswith(".") and part.endswith(".tmp") for part in base.parts):
        return h.hexdigest()
    files = []  # (relative parts, path): what `sorted(base.rglob("*"))` orders, without a Path per entry
    for top, _, names in os.walk(base):  # like rglob: symlinked folders are listed, not entered
        rel_top = tuple(Path(top).relative_to(base).parts)
        if any(part.startswith(".") and part.endswith(".tmp") for part in rel_top):
            continue
        for name in names:
            if name in exclude or name == OUTPUT_MARKER or (name.startswith(".") and name.endswith(".tmp")):
                continue
            files.append(((*rel_top, name), os.path.join(top, name)))
    for parts, path in sorted(files):
        h.update("/".join(parts).encode() + b"\0")
        h.update(sha256_file(path).encode() + b"\n")
    return h.hexdigest()


__all__ = ["OUTPUT_MARKER", "atomic_dir", "atomic_write_bytes", "atomic_write_json", "atomic_write_text",
           "check_overwrite", "is_lvsbench_output", "json_dumps_canonical", "mark_output_dir", "prepare_output_dir",
           "remove_interrupted_writes", "remove_output_dir", "sha256_bytes", "sha256_file", "sha256_tree",
           "to_jsonable"]
