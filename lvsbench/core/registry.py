"""One registry for every set of named things (protocols, datasets, adapters, synthetic writers).

A `Registry` is a `Mapping` of names, in registration order, to objects or to lazy "module:attr" strings imported
on look-up (as lm-evaluation-harness's model registry does: listing names never imports torch). With an entry-point
group, installed packages add entries; a registered name wins over a plug-in of the same name (listed in
`conflicts()`), so a package cannot silently replace a built-in. `load(name)` is the look-up for user input: an
unknown name raises `ConfigError` with "did you mean" (`lvsbench.core.errors.unknown_name`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from lvsbench.core.errors import ConfigError, unknown_name

_T = TypeVar("_T")


@dataclass(frozen=True)
class Entry:
    """One name: its "module:attr" target (None for a plain object), its source ("builtin", "runtime" or
    "entry-point:<distribution>") and the registered object itself (None for a lazy target)."""

    name: str
    target: str | None
    source: str
    obj: Any = None


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
        if not hasattr(obj, part):
            raise ConfigError(f"{what}: {module_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


class Registry(Mapping[str, _T], Generic[_T]):
    """Named objects of one kind (`what` names the kind in messages)."""

    def __init__(self, what: str, *, entry_points: str | None = None, aliases: dict[str, str] | None = None) -> None:
        self.what, self.group, self.aliases = what, entry_points, dict(aliases or {})
        self._entries: dict[str, Entry] = {}
        self._conflicts: list[str] = []

    def register(self, name: str, target: _T | str, *, source: str = "builtin", replace: bool = False) -> None:
        """Add an object or a lazy "module:attr" under `name`; a taken name needs `replace`."""
        lazy = isinstance(target, str)
        where = target if lazy else f"{target.__module__}:{target.__qualname__}" if hasattr(  # type: ignore[union-attr]
            target, "__qualname__") else None
        if name in self._entries and not replace:
            raise ConfigError(f"{self.what} {name!r} is already registered")
        self._entries[name] = Entry(name, where, source, None if lazy else target)  # type: ignore[arg-type]

    def add(self, obj: _T) -> _T:
        """Register an object under its `name` attribute: `X = REGISTRY.add(Spec(name=...))`."""
        self.register(obj.name, obj)  # type: ignore[attr-defined]
        return obj

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def entries(self) -> dict[str, Entry]:
        """Every entry: registered ones, then plug-ins (read anew each call: a package installed meanwhile counts)."""
        from importlib import metadata  # here, not at import: only a plug-in look-up pays for it

        out = dict(self._entries)
        conflicts = []
        for ep in metadata.entry_points().select(group=self.group) if self.group else ():
            dist = getattr(getattr(ep, "dist", None), "name", None) or "?"
            taken = out.get(ep.name)
            if taken is None:
                out[ep.name] = Entry(ep.name, ep.value, f"entry-point:{dist}")
            elif taken.target != ep.value:
                conflicts.append(f"entry point {ep.name!r} of {dist} ({ep.value}) ignored: name taken by "
                                 f"{taken.source} {taken.target}")
        self._conflicts = conflicts
        return out

    def conflicts(self) -> list[str]:
        """Plug-ins ignored because their name was taken."""
        self.entries()
        return list(self._conflicts)

    def _entry(self, name: str) -> Entry | None:
        name = self.aliases.get(name, name)
        found = self._entries.get(name)
        return self.entries().get(name) if found is None and self.group else found

    def load(self, name: str) -> _T:
        """The object under `name` (or an alias), imported now; ConfigError with "did you mean" when unknown."""
        entry = self._entry(name)
        if entry is None:
            plugins = f"; plug-ins register through the entry-point group {self.group!r}" if self.group else ""
            raise ConfigError(unknown_name(self.what, name, [*self, *self.aliases]) + plugins)
        if entry.obj is None:
            return import_target(str(entry.target), f"{self.what} {entry.name!r}")  # type: ignore[no-any-return]
        return entry.obj  # type: ignore[no-any-return]

    def __getitem__(self, name: str) -> _T:
        if name not in self:
            raise KeyError(name)
        return self.load(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._entry(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries() if self.group else list(self._entries))

    def __len__(self) -> int:
        return len(self.entries() if self.group else self._entries)


__all__ = ["Entry", "Registry", "import_target"]
