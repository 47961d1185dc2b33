"""Adapter registry: built-in adapters by lazy "module:Class" path, plug-ins through entry points.

Lazy like lm-evaluation-harness's model registry (an alias maps to a string that is imported on first use), so
`lvsbench adapters list` or `lvsbench run oracle` never imports torch or a heavy model. A lab plugs its model in
without forking lvsbench by declaring, in its own package::

    [project.entry-points."lvsbench.adapters"]
    mymodel = "mypkg.lvsbench_adapter:MyModelAdapter"

after which `lvsbench run mymodel ...` finds it. Built-in names win over plug-ins of the same name (a warning is
recorded in `conflicts()`), so an installed package cannot silently replace `oracle`.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from lvsbench.adapters.base import Adapter
from lvsbench.core.errors import ConfigError, did_you_mean

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

ALIASES: dict[str, str] = {
    "ext:mttr": "mttr",
    "ext:referformer": "referformer",
    "ext:locater": "locater-official",
}


@dataclass(frozen=True)
class AdapterEntry:
    """One registered adapter: its name, where it comes from and its import target."""

    name: str
    target: str
    source: str  # "builtin", "entry-point:<distribution>", "runtime"


_lock = threading.Lock()
_runtime: dict[str, str | type[Adapter]] = {}
_conflicts: list[str] = []


def register_adapter(name: str, target: str | type[Adapter], *, replace: bool = False) -> None:
    """Register an adapter at run time (tests, notebooks). `target` is a class or a "module:Class" string."""
    with _lock:
        if not replace and (name in BUILTIN_ADAPTERS or name in _runtime):
            raise ConfigError(f"adapter {name!r} is already registered")
        _runtime[name] = target


def unregister_adapter(name: str) -> None:
    with _lock:
        _runtime.pop(name, None)


def _entry_points() -> list[metadata.EntryPoint]:
    eps = metadata.entry_points()
    return list(eps.select(group=ENTRY_POINT_GROUP))


def entries() -> dict[str, AdapterEntry]:
    """Every known adapter (built-in, run-time registered, entry points), by name, sorted."""
    out: dict[str, AdapterEntry] = {n: AdapterEntry(n, t, "builtin") for n, t in BUILTIN_ADAPTERS.items()}
    conflicts: list[str] = []
    for ep in _entry_points():
        dist = getattr(getattr(ep, "dist", None), "name", None) or "?"
        if ep.name in out:
            if out[ep.name].target != ep.value:
                conflicts.append(f"entry point {ep.name!r} of {dist} ({ep.value}) ignored: name taken by "
                                 f"{out[ep.name].source} {out[ep.name].target}")
            continue
        out[ep.name] = AdapterEntry(ep.name, ep.value, f"entry-point:{dist}")
    with _lock:
        for n, t in _runtime.items():
            target = t if isinstance(t, str) else f"{t.__module__}:{t.__qualname__}"
            out[n] = AdapterEntry(n, target, "runtime")
        _conflicts[:] = conflicts
    return dict(sorted(out.items()))


def conflicts() -> list[str]:
    """Plug-ins ignored because their name was taken (filled by the last `entries()` call)."""
    entries()
    return list(_conflicts)


def names() -> list[str]:
    return list(entries())


def _load_target(target: str, name: str) -> Any:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"adapter {name!r}: target {target!r} is not 'module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"adapter {name!r}: cannot import {module_name} ({exc})") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ConfigError(f"adapter {name!r}: {module_name} has no attribute {attr!r}") from exc
    return obj


def get_adapter_class(name: str) -> type[Adapter]:
    """The adapter class registered under `name` (imported now). Unknown names get "did you mean" suggestions."""
    name = ALIASES.get(name, name)
    with _lock:
        rt = _runtime.get(name)
    if rt is not None and not isinstance(rt, str):
        cls: Any = rt
    else:
        known = entries()
        if name not in known:
            hint = did_you_mean(name, list(known) + list(ALIASES))
            raise ConfigError(f"unknown adapter {name!r}{hint} (known: {', '.join(known)}; "
                              f"plug-ins register through the entry-point group {ENTRY_POINT_GROUP!r})")
        cls = _load_target(known[name].target, name)
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

    entry = entries()[ALIASES.get(name, name)]
    cls = get_adapter_class(name)
    opts = []
    if dataclasses.is_dataclass(cls.Options):
        for f in dataclasses.fields(cls.Options):
            default = f.default if f.default is not dataclasses.MISSING else None
            opts.append({"name": f.name, "type": str(f.type), "default": default if default is None or isinstance(
                default, str | int | float | bool) else str(default)})
    return {"name": entry.name, "source": entry.source, "target": entry.target,
            "description": cls.description or (cls.__doc__ or "").strip().split("\n")[0],
            "capabilities": cls.capabilities.to_json(), "options": opts}
