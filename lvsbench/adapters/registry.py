"""Adapter registry (`lvsbench.core.registry.Registry`): built-in adapters by lazy "module:Class" path, so `lvsbench
adapters list` or `lvsbench run oracle` never imports torch or a model; plug-ins through the entry-point group
`lvsbench.adapters` (a lab declares `mymodel = "mypkg.lvsbench_adapter:MyModelAdapter"` under
`[project.entry-points."lvsbench.adapters"]`); built-in names win over plug-ins (`conflicts()` lists the losers).
"""

from __future__ import annotations

from typing import Any

from lvsbench.adapters.base import Adapter
from lvsbench.core.errors import ConfigError
from lvsbench.core.registry import Entry, Registry

ENTRY_POINT_GROUP = "lvsbench.adapters"

BUILTIN_ADAPTERS: dict[str, str] = {
    "oracle": "lvsbench.adapters.bound:OracleAdapter",
    "empty": "lvsbench.adapters.bound:EmptyAdapter",
    "full": "lvsbench.adapters.bound:FullAdapter",
    "random": "lvsbench.adapters.bound:RandomAdapter",
    "locater": "lvsbench.models.adapters:LocaterAdapter",
    "urvos": "lvsbench.models.adapters:UrvosAdapter",
    "mttr": "lvsbench.adapters.external:MTTRAdapter",
    "referformer": "lvsbench.adapters.external:ReferFormerAdapter",
    "locater-official": "lvsbench.adapters.external:LocaterOfficialAdapter",
}
"""Adapters shipped with lvsbench: bound adapters, the reference models trained by `lvsbench train` (`locater`,
`urvos`) and external checkouts. The external checkout of leonnnop/Locater is `locater-official`, because `locater`
names lvsbench's own re-implementation; `ext:<name>` aliases every external one."""

ADAPTERS: Registry[type[Adapter]] = Registry("adapter", entry_points=ENTRY_POINT_GROUP, aliases={
    "ext:mttr": "mttr", "ext:referformer": "referformer", "ext:locater": "locater-official"})
"""The built-in adapters, those registered at run time, then plug-ins of the entry-point group."""
for _name, _target in BUILTIN_ADAPTERS.items():
    ADAPTERS.register(_name, _target)


def register_adapter(name: str, target: str | type[Adapter], *, replace: bool = False) -> None:
    """Register an adapter at run time (tests, notebooks). `target` is a class or a "module:Class" string."""
    ADAPTERS.register(name, target, source="runtime", replace=replace)


def unregister_adapter(name: str) -> None:
    ADAPTERS.unregister(name)


def entries() -> dict[str, Entry]:
    """Every known adapter (built-in, run-time registered, entry points), by name, sorted."""
    return dict(sorted(ADAPTERS.entries().items()))


def conflicts() -> list[str]:
    """Plug-ins ignored because their name was taken."""
    return ADAPTERS.conflicts()


def names() -> list[str]:
    return list(entries())


def get_adapter_class(name: str) -> type[Adapter]:
    """The adapter class registered under `name` (imported now). Unknown names get "did you mean" suggestions."""
    cls: Any = ADAPTERS.load(name)
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise ConfigError(f"adapter {name!r}: {cls!r} is not a subclass of lvsbench.adapters.Adapter")
    return cls


def create_adapter(name: str, options: dict[str, Any] | None = None) -> Adapter:
    """Instantiate the adapter `name` with `--option` style options (strings converted to the declared types)."""
    cls = get_adapter_class(name)
    return cls(cls.parse_options(options or {}))


def describe(name: str) -> dict[str, Any]:
    """Name, source, description, capabilities and options of an adapter (imports it)."""
    import dataclasses

    cls = get_adapter_class(name)
    entry = entries()[ADAPTERS.aliases.get(name, name)]
    opts = []
    if dataclasses.is_dataclass(cls.Options):
        for f in dataclasses.fields(cls.Options):
            default = f.default if f.default is not dataclasses.MISSING else None
            opts.append({"name": f.name, "type": str(f.type), "default": default if default is None or isinstance(
                default, str | int | float | bool) else str(default)})
    return {"name": entry.name, "source": entry.source, "target": entry.target,
            "description": cls.description or (cls.__doc__ or "").strip().split("\n")[0],
            "capabilities": cls.capabilities.to_json(), "options": opts}


__all__ = ["ADAPTERS", "BUILTIN_ADAPTERS", "ENTRY_POINT_GROUP", "conflicts", "create_adapter", "describe", "entries",
           "get_adapter_class", "names", "register_adapter", "unregister_adapter"]
