"""Results cache keyed so that a stale result is never reused.

A result depends on four things, and the key holds all four:

- the recipe hash (its parsed content: adapter, options, dataset spec, protocol, score options);
- the lvsbench version (`lvsbench.__version__`, read at call time: a new release recomputes everything);
- the dataset card checksum (the data actually scored; a regenerated or edited dataset changes it);
- the checkpoint hash (sha256 of the weights file, or for a checkpoint trained from a recipe, the hash of that
  training recipe, the version and the training data's card).

An entry is stored under the sha256 of its key together with the key itself, and `get` compares the stored key
field by field before trusting it (EleutherAI/lm-evaluation-harness keys its cache on the request only, not the
model weights, so an updated model returned stale results; that is what this avoids).
Derived artefacts (synthetic datasets, hard splits, trained checkpoints, predictions) live in the same folder under
their own keys, each built in a temporary folder and renamed into place when complete.

Every entry also records the fingerprint of the lvsbench code that made it (`code_fingerprint`: the package's
source and data files), and is reused only under the same code: a changed synthetic generator, scorer or model
rebuilds what it affects even without a version bump. The fingerprint is not part of the folder names or of the
recorded `cache_key`, so committed results stay byte-identical across code changes that do not change them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lvsbench.core.io import atomic_dir, atomic_write_bytes, atomic_write_json
from lvsbench.leaderboard.recipes import canonical_hash

KEY_FILE = "key.json"
LOCK_FILE = ".lock"
CODE_FILE = "code.txt"


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """sha256 over the relative paths and bytes of every file of the installed lvsbench package (sources and
    package data), computed once per process."""
    import lvsbench

    pkg = Path(lvsbench.__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(p for p in pkg.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(f.relative_to(pkg).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def _same_code(d: Path) -> bool:
    try:
        return (d / CODE_FILE).read_text().strip() == code_fingerprint()
    except OSError:
        return False


def current_version() -> str:
    """The running lvsbench version (looked up at call time, so a changed version is always seen)."""
    import lvsbench

    return str(lvsbench.__version__)


def default_cache_dir() -> Path:
    """`$LVSBENCH_CACHE`, else `$XDG_CACHE_HOME/lvsbench`, else `~/.cache/lvsbench`."""
    env = os.environ.get("LVSBENCH_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lvsbench"


@dataclass(frozen=True)
class CacheKey:
    """What a leaderboard result depends on."""

    recipe_hash: str
    lvsbench_version: str
    dataset_card_checksum: str
    checkpoint_hash: str

    @classmethod
    def for_recipe(cls, recipe_hash: str, dataset_card_checksum: str, checkpoint_hash: str | None) -> CacheKey:
        return cls(recipe_hash, current_version(), dataset_card_checksum, checkpoint_hash or "none")

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def digest(self) -> str:
        return canonical_hash(self.as_dict())


def artifact_digest(kind: str, spec: Any) -> str:
    """Key of a derived artefact: its kind, its spec and the lvsbench version (code changes rebuild it)."""
    return canonical_hash({"kind": kind, "spec": spec, "lvsbench_version": current_version()})


@dataclass
class CachedResult:
    result: dict[str, Any]
    samples_csv: bytes | None


class Cache:
    """A folder of results and artefacts; safe to delete at any time."""

    def __init__(self, root: str | Path, enabled: bool = True) -> None:
        self.root = Path(root)
        self.enabled = enabled

    # ------------------------------------------------------------------ results

    def _result_dir(self, key: CacheKey) -> Path:
        return self.root / "results" / key.digest()

    def get(self, key: CacheKey) -> CachedResult | None:
        """The cached result for exactly this key, or None (also None when caching is disabled)."""
        if not self.enabled:
            return None
        d = self._result_dir(key)
        try:
            stored = json.loads((d / KEY_FILE).read_text())
            result = json.loads((d / "result.json").read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if stored != key.as_dict() or not _same_code(d):
            return None
        samples = d / "samples.csv"
        return CachedResult(result, samples.read_bytes() if samples.is_file() else None)

    def put(self, key: CacheKey, result: dict[str, Any], samples_csv: bytes | None) -> None:
        d = self._result_dir(key)
        with atomic_dir(d, force=True, legacy=(KEY_FILE,)) as tmp:
            atomic_write_json(tmp / "result.json", result)
            if samples_csv is not None:
                atomic_write_bytes(tmp / "samples.csv", samples_csv)
            atomic_write_json(tmp / KEY_FILE, key.as_dict())
            atomic_write_bytes(tmp / CODE_FILE, code_fingerprint().encode() + b"\n")

    # ------------------------------------------------------------------ artefacts

    def artifact_dir(self, kind: str, spec: Any) -> Path:
        return self.root / kind / artifact_digest(kind, spec)[:24]

    def has_artifact(self, kind: str, spec: Any) -> bool:
        d = self.artifact_dir(kind, spec)
        if not self.enabled or not (d / KEY_FILE).is_file():
            return False
        try:
            stored = json.loads((d / KEY_FILE).read_text())
        except json.JSONDecodeError:
            return False
        return _same_code(d) and stored == {"kind": kind, "spec": json.loads(json.dumps(spec, default=str)),
                                            "lvsbench_version": current_version()}

    @contextlib.contextmanager
    def build_artifact(self, kind: str, spec: Any) -> Iterator[Path]:
        """Build an artefact in a temporary folder; it appears under its key only when the block succeeds."""
        d = self.artifact_dir(kind, spec)
        with atomic_dir(d, force=True, legacy=(KEY_FILE,)) as tmp:
            yield tmp
            atomic_write_json(tmp / KEY_FILE, {"kind": kind, "spec": json.loads(json.dumps(spec, default=str)),
                                               "lvsbench_version": current_version()})
            atomic_write_bytes(tmp / CODE_FILE, code_fingerprint().encode() + b"\n")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the cache for one build: a second `leaderboard build` on the same cache is refused (it would
        delete the first one's prediction folders), and temporary folders that killed builds left behind are
        removed once the lock is held (no live build can own them then)."""
        if not self.enabled:
            yield
            return
        import fcntl

        from lvsbench.core.errors import ConfigError

        self.root.mkdir(parents=True, exist_ok=True)
        lock_path = self.root / LOCK_FILE
        with open(lock_path, "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConfigError(f"{self.root}: the cache is in use by another `leaderboard build` (lock "
                                  f"{lock_path}); wait for it, or give this build its own --cache") from None
            try:
                self.clean_stale()
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def clean_stale(self) -> list[Path]:
        """Remove `.*.tmp` / `.*.old` folders left by interrupted builds (call with the lock held)."""
        removed = []
        for kind_dir in (p for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else ():
            for p in kind_dir.iterdir():
                if p.name.startswith(".") and (p.name.endswith(".tmp") or p.name.endswith(".old")):
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p)
        return removed

    def clear(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)


__all__ = ["CODE_FILE", "Cache", "CacheKey", "CachedResult", "KEY_FILE", "LOCK_FILE", "artifact_digest",
           "code_fingerprint", "current_version", "default_cache_dir"]
