"""Adapter protocol declarations, option parsing, the registry and entry-point plug-ins."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
from fixtures.runner_support import SPLITS, make_synthetic

from lvsbench.adapters.base import Capabilities, Prediction, parse_dataclass_options, parse_key_values
from lvsbench.adapters.registry import conflicts, create_adapter, entries, get_adapter_class
from lvsbench.core.errors import ConfigError

PLUGIN = Path(__file__).resolve().parent / "fixtures" / "plugin"


@dataclass(frozen=True)
class _Opts:
    steps: int = 1
    scale: float | None = None
    mode: Literal["fast", "exact"] = "fast"
    verbose: bool = False
    weights: Path | None = None


def test_options_are_converted_to_declared_types() -> None:
    o = parse_dataclass_options(_Opts, parse_key_values(["steps=3", "scale=none", "mode=exact", "verbose=yes",
                                                         "weights=/tmp/w.pt"]), "t")
    assert o == _Opts(3, None, "exact", True, Path("/tmp/w.pt"))
    assert parse_dataclass_options(_Opts, {"scale": "0.5"}, "t").scale == 0.5
    with pytest.raises(ConfigError, match="unknown option 'stpes'; did you mean 'steps'.*known options: mode, "
                                          "scale, steps"):
        parse_dataclass_options(_Opts, {"stpes": "2"}, "t")
    with pytest.raises(ConfigError, match="not a valid int"):
        parse_dataclass_options(_Opts, {"steps": "many"}, "t")
    with pytest.raises(ConfigError, match="not one of"):
        parse_dataclass_options(_Opts, {"mode": "slow"}, "t")
    with pytest.raises(ConfigError, match="key=value"):
        parse_key_values(["novalue"])
    with pytest.raises(ConfigError, match="p must be in"):
        create_adapter("random", {"p": "2"})


def test_capabilities_and_predictions_are_validated() -> None:
    with pytest.raises(ValueError):
        Capabilities(temporal="online", context_frames=8)
    with pytest.raises(ValueError):
        Capabilities(per_frame=True, needs_full_video=True)
    with pytest.raises(ValueError):
        Capabilities(temporal="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Prediction()
    with pytest.raises(ValueError):
        Prediction(candidates=[[0]])
    assert Capabilities(devices={"cpu"}).to_json()["devices"] == ["cpu"]


def test_registry_lists_builtins_lazily() -> None:
    names = set(entries())
    assert {"oracle", "empty", "full", "random", "mttr", "referformer", "locater-official"} <= names
    with pytest.raises(ConfigError, match="did you mean 'oracle'"):
        get_adapter_class("oracel")
    assert get_adapter_class("ext:locater").name == "locater-official"
    code = ("import sys, lvsbench.adapters.registry as r; r.entries(); r.get_adapter_class('oracle'); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"  # listing and the bound adapters never import torch


def test_entry_point_plugin_is_discovered_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from lvsbench.cli import cli

    assert "slow-random" not in entries()
    monkeypatch.syspath_prepend(str(PLUGIN))  # as if `pip install`ed: a dist-info with entry_points.txt
    found = entries()
    assert found["slow-random"].source == "entry-point:lvsbench-test-plugin"
    assert found["oracle"].source == "builtin"  # a plug-in cannot take a built-in name
    assert any("'oracle'" in c and "ignored" in c for c in conflicts())
    with pytest.raises(ConfigError, match="not a subclass"):
        get_adapter_class("not-an-adapter")

    listed = CliRunner().invoke(cli, ["adapters", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert "slow-random" in {a["name"] for a in json.loads(listed.output)["adapters"]}
    info = CliRunner().invoke(cli, ["adapters", "info", "slow-random", "--json"])
    assert {o["name"] for o in json.loads(info.output)["options"]} == {"p", "candidates", "seed", "delay"}

    root = make_synthetic("ryvos", tmp_path / "ryvos")
    out = tmp_path / "preds"
    res = CliRunner().invoke(cli, ["run", "slow-random", "--dataset", "ryvos", "--root", str(root), "--split",
                                   SPLITS["ryvos"], "--out", str(out), "--option", "delay=0", "--quiet", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["status"] == "complete"
    doc = json.loads((out / "run.json").read_text())
    assert doc["adapter"]["class"] == "lvsbench_test_plugin:SlowRandomAdapter"
    assert doc["adapter"]["config"]["delay"] == 0.0
    scored = CliRunner().invoke(cli, ["score", str(out), "--dataset", "ryvos", "--root", str(root), "--split",
                                      SPLITS["ryvos"], "--json"])
    assert scored.exit_code == 0, scored.output
