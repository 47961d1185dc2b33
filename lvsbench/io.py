"""Atomic, non-clobbering file output and checksums.

Every file lvsbench writes goes through here: written to a temporary sibling and renamed into place, so an
interrupted job never leaves a half-written file that a resumed job would trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lvsbench.errors import OutputExistsError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def check_overwrite(path: str | Path, force: bool) -> None:
    """Raise `OutputExistsError` if `path` exists (non-empty directory or any file) and `force` is false."""
    p = Path(path)
    if force or not p.exists():
        return
    if p.is_dir() and not any(p.iterdir()):
        return
    raise OutputExistsError(p)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file in the same directory and `os.replace`."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; outputs should be as readable as open() makes them
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    atomic_write_bytes(path, text.encode(encoding))


def json_dumps_canonical(obj: Any, indent: int | None = 2) -> str:
    """JSON with sorted keys and a trailing newline, so that equal content gives equal bytes."""
    return json.dumps(obj, indent=indent, sort_keys=True, ensure_ascii=False) + "\n"


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 2, sort_keys: bool = True) -> None:
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, ensure_ascii=False) + "\n"
    atomic_write_text(path, text)


write_json_canonical = atomic_write_json


@contextlib.contextmanager
def atomic_dir(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Build a directory in a temp sibling, then move it into place as a whole.

    With `force`, an existing directory is replaced only after the new one is complete.
    """
    p = Path(path)
    check_overwrite(p, force)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent))
    try:
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
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_tree(root: str | Path, exclude: tuple[str, ...] = ()) -> str:
    """Checksum of a directory tree: sorted relative paths and file contents (names in `exclude` skipped)."""
    base = Path(root)
    h = hashlib.sha256()
    for p in sorted(base.rglob("*")):
        rel = p.relative_to(base).as_posix()
        if p.is_dir() or p.name in exclude or any(part.startswith(".") and part.endswith(".tmp") for part in p.parts):
            continue
        h.update(rel.encode() + b"\0")
        h.update(sha256_file(p).encode() + b"\n")
    return h.hexdigest()
