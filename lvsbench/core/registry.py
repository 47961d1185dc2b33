"""One registry for every set of named things (protocols, datasets, adapters, synthetic writers).

A `Registry` maps names to objects in registration order and reads like a `Mapping`. An entry is the object itself
or a lazy "module:attr" string imported on first look-up (as lm-evaluation-harness's model registry does), so that
listing names never imports torch or a model. With an entry-point group, installed packages add entries; a
registered name always wins over a plug-in of the same name (the plug-in is listed in `conflicts()`), so an
installed package cannot silently replace a built-in. `load(name)` is the look-up for user input: an unknown name
raises `ConfigError` with the project's "did you mean" message (`lvsbench.core.errors.unknown_name`).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Generic, TypeVar

from lvsbench.core.errors import ConfigError, unknown_name

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """One registered name: where it comes from and what it points to."""

    name: str
    target: str | None
    """"module:attr" (lazy, or where a registered class / function lives); None for a plain object."""
    source: str
    """"builtin", "runtime" or "entry-point:<distribution>"."""
    obj: Any = None
    """The registered object itself (None for a lazy target)."""


def import_target(target: str, what: str = "entry") -> Any:
    """The object a "module:attr" string names (attr may be dotted)."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{what}: target {target!r} is not 'module:attr'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{what}: cannot import {module_name} ({exc})") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ConfigError(f"{what}: {module_name} has no attribute {attr!r}") from exc
    return obj


def _where(obj: Any) -> str | None:
    qualname = getattr(obj, "__qualname__", None)
    return f"{obj.__module__}:{qualname}" if qualname else None


class Registry(Mapping[str, T], Generic[T]):
    """Named objects of one kind (`what` names the kind in error messages)."""

    def __init__(self, what: str, *, entry_points: str | None = None,
                 aliases: Mapping[str, str] | None = None) -> None:
        self.what = what
        self.group = entry_points
        self.aliases = dict(aliases or {})
        self._entries: dict[str, Entry] = {}
        self._conflicts: list[str] = []
        self._lock = threading.Lock()

    def register(self, name: str, target: T | str, *, source: str = "builtin", replace: bool = False) -> T | str:
        """Add `target` (an object or a lazy "module:attr") under `name`; a taken name needs `replace`."""
        with self._lock:
            if name in self._entries and not replace:
                raise ConfigError(f"{self.what} {name!r} is already registered")
            lazy = isinstance(target, str)
            self._entries[name] = Entry(name, target if lazy else _where(target), source,  # type: ignore[arg-type]
                                        None if lazy else target)
        return target

    def add(self, obj: T) -> T:
        """Register an object under its own `name` attribute (declarations: `X = REGISTRY.add(Spec(name=...))`)."""
        self.register(obj.name, obj)  # type: ignore[attr-defined]
        return obj

    def unregister(self, name: str) -> None:
        with self._lock:
            self._entries.pop(name, None)

    def _plugins(self) -> list[metadata.EntryPoint]:
        return list(metadata.entry_points().select(group=self.group)) if self.group else []

    def entries(self) -> dict[str, Entry]:
        """Every entry in order: registered ones, then plug-ins of the entry-point group (read anew each call, so
        a package installed meanwhile is seen)."""
        with self._lock:
            out = dict(self._entries)
        conflicts: list[str] = []
        for ep in self._plugins():
            dist = getattr(getattr(ep, "dist", None), "name", None) or "?"
            taken = out.get(ep.name)
            if taken is not None:
                if taken.target != ep.value:
                    conflicts.append(f"entry point {ep.name!r} of {dist} ({ep.value}) ignored: name taken by "
                                     f"{taken.source} {taken.target}")
                continue
            out[ep.name] = Entry(ep.name, ep.value, f"entry-point:{dist}")
        self._conflicts = conflicts
        return out

    def conflicts(self) -> list[str]:
        """Plug-ins ignored because their name was taken."""
        self.entries()
        return list(self._conflicts)

    def _entry(self, name: str) -> Entry | None:
        name = self.aliases.get(name, name)
        with self._lock:
            entry = self._entries.get(name)
        return entry if entry is not None or not self.group else self.entries().get(name)

    def _resolve(self, entry: Entry) -> T:
        if entry.obj is not None:
            return entry.obj  # type: ignore[no-any-return]
        assert entry.target is not None
        return import_target(entry.target, f"{self.what} {entry.name!r}")  # type: ignore[no-any-return]

    def load(self, name: str) -> T:
        """The object registered under `name` (or an alias), imported now; ConfigError with "did you mean" for an
        unknown name."""
        entry = self._entry(name)
        if entry is None:
            plugins = f"; plug-ins register through the entry-point group {self.group!r}" if self.group else ""
            raise ConfigError(unknown_name(self.what, name, [*self, *self.aliases]) + plugins)
        return self._resolve(entry)

    def __getitem__(self, name: str) -> T:
        entry = self._entry(name)
        if entry is None:
            raise KeyError(name)
        return self._resolve(entry)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._entry(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries() if self.group else list(self._entries))

    def __len__(self) -> int:
        return len(self.entries() if self.group else self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}: {', '.join(self)})"
