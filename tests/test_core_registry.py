"""`lvsbench.core.registry.Registry`: names in registration order, "did you mean" errors, lazy "module:attr"
targets, aliases, and the registries built on it (protocols, datasets, adapters, synthetic writers)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lvsbench.core.errors import ConfigError
from lvsbench.core.registry import Registry, import_target


def test_register_lookup_order_and_errors() -> None:
    reg: Registry[object] = Registry("widget", aliases={"w": "wheel"})
    reg.register("wheel", "lvsbench.core.errors:ConfigError")
    reg.register("axle", 42)
    assert list(reg) == ["wheel", "axle"] and len(reg) == 2
    assert reg["wheel"] is ConfigError and reg.load("w") is ConfigError and reg.get("axle") == 42
    assert "axle" in reg and "w" in reg and "spoke" not in reg and reg.get("spoke") is None
    assert reg.entries()["wheel"].target == "lvsbench.core.errors:ConfigError" and reg.entries()["axle"].obj == 42
    with pytest.raises(ConfigError, match="unknown widget 'wheal'; did you mean 'wheel'"):
        reg.load("wheal")
    with pytest.raises(ConfigError, match="already registered"):
        reg.register("axle", 1)
    reg.register("axle", 1, replace=True)
    assert reg["axle"] == 1
    reg.unregister("axle")
    assert list(reg) == ["wheel"]
    with pytest.raises(KeyError):
        reg["axle"]


def test_lazy_targets_are_imported_on_look_up_only() -> None:
    reg: Registry[object] = Registry("thing")
    reg.register("missing", "lvsbench.no_such_module:X")
    reg.register("bad", "lvsbench.core.errors:NoSuchName")
    assert list(reg) == ["missing", "bad"]  # listing imports nothing
    with pytest.raises(ConfigError, match="cannot import lvsbench.no_such_module"):
        reg.load("missing")
    with pytest.raises(ConfigError, match="has no attribute 'NoSuchName'"):
        reg.load("bad")
    with pytest.raises(ConfigError, match="not 'module:attr'"):
        import_target("nocolon")
    code = ("import sys, lvsbench.synth as s, lvsbench.datasets.registry as d; list(s.WRITERS); "
            "print(any(m in sys.modules for m in ('lvsbench.synth.a2d', 'lvsbench.datasets.a2d')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_project_registries_keep_their_public_names() -> None:
    from lvsbench.adapters.registry import ADAPTERS, BUILTIN_ADAPTERS, get_adapter_class
    from lvsbench.datasets.registry import DATASETS
    from lvsbench.protocols import PROTOCOLS, get_protocol
    from lvsbench.synth import WRITERS, get_writer

    assert list(WRITERS) == list(DATASETS)  # every native dataset has a synthetic writer
    assert all(s.default_protocol in PROTOCOLS for s in DATASETS.values())
    assert get_protocol("rdavis") is PROTOCOLS["rdavis"] and dict(PROTOCOLS)["a2d"].name == "a2d"
    assert list(BUILTIN_ADAPTERS) == [n for n, e in ADAPTERS.entries().items() if e.source == "builtin"]
    assert get_adapter_class("ext:locater") is get_adapter_class("locater-official")
    assert callable(get_writer("long-rvos"))
    for reg, bad in ((PROTOCOLS, "rdavs"), (DATASETS, "mevsi"), (WRITERS, "revso")):
        with pytest.raises(ConfigError, match="did you mean"):
            reg.load(bad)
