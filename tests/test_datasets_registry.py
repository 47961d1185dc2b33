"""Dataset registry: names -> readers, root resolution (--root, environment, config file), our layout by name,
the synthetic writer registry and the `datasets list` / `synth` / exit-code behaviour of the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lvsbench.cli import cli
from lvsbench.core.errors import ConfigError
from lvsbench.core.registry import import_target
from lvsbench.datasets import DATASETS, load, resolve_root
from lvsbench.datasets.layout import LayoutDataset
from lvsbench.datasets.registry import env_var, parse_options
from lvsbench.synth import WRITERS, get_writer


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("a2d", "jhmdb", "ryvos", "rdavis", "a2d-plus-m"):
        monkeypatch.delenv(env_var(name), raising=False)
    cfg = tmp_path / "config.toml"
    monkeypatch.setenv("LVSBENCH_CONFIG", str(cfg))
    return cfg


def test_metadata() -> None:
    assert {k: v.default_protocol for k, v in DATASETS.items()} == {
        "a2d": "a2d", "jhmdb": "jhmdb", "ryvos": "ryvos", "rdavis": "rdavis", "davis": "davis-semi",
        "mevis": "mevis", "revos": "revos", "refsav": "refsav", "long-rvos": "long-rvos", "reasonvos": "reasonvos"}
    assert DATASETS["a2d"].default_split == "test" and DATASETS["jhmdb"].splits == ("test",)
    for spec in DATASETS.values():
        cls = import_target(spec.loader)
        assert cls.__name__.endswith("Dataset")
        assert spec.default_split in spec.splits
    assert set(WRITERS) == {"a2d", "jhmdb", "ryvos", "rdavis", "davis", "mevis", "revos", "refsav", "long-rvos",
                            "reasonvos"}
    for name in WRITERS:
        assert callable(get_writer(name))
    with pytest.raises(ConfigError):
        get_writer("no-such-dataset")


def test_root_resolution_order(clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert env_var("a2d-plus-m") == "LVSBENCH_A2D_PLUS_M_ROOT"
    with pytest.raises(ConfigError) as err:
        resolve_root("a2d", None)
    msg = str(err.value)
    assert "--root" in msg and "LVSBENCH_A2D_ROOT" in msg and str(clean_env) in msg
    (tmp_path / "config-root").mkdir()
    (tmp_path / "env-root").mkdir()
    clean_env.write_text(f'[roots]\na2d = "{tmp_path / "config-root"}"\na2d_plus_m = "/no/such/hard"\n')
    assert resolve_root("a2d", None) == tmp_path / "config-root"
    with pytest.raises(ConfigError, match=r"\[roots\] a2d_plus_m = '/no/such/hard': no such folder"):
        resolve_root("a2d-plus-m", None)  # a configured root that does not exist is named where it is set
    monkeypatch.setenv("LVSBENCH_A2D_ROOT", str(tmp_path / "env-root"))
    assert resolve_root("a2d", None) == tmp_path / "env-root"
    monkeypatch.setenv("LVSBENCH_A2D_ROOT", "/from/env")
    with pytest.raises(ConfigError, match="^LVSBENCH_A2D_ROOT=/from/env: no such folder"):
        resolve_root("a2d", None)
    assert resolve_root("a2d", tmp_path) == tmp_path
    clean_env.write_text("[roots\n")
    monkeypatch.delenv("LVSBENCH_A2D_ROOT")
    with pytest.raises(ConfigError, match="invalid TOML"):
        resolve_root("a2d", None)


def test_load_layout_by_any_name(tmp_path: Path) -> None:
    from lvsbench.datasets.layout import write_dataset
    from lvsbench.synth.jhmdb import write_synthetic

    native = write_synthetic(tmp_path / "jh", videos=2, seed=1, height=32, width=40, frames=5)
    out = tmp_path / "built"
    write_dataset(load("jhmdb", native), out, source="test", default_protocol="jhmdb", progress=False)
    for name in ("layout", "a2d-plus-m", "jhmdb"):
        ds = load(name, out)
        assert isinstance(ds, LayoutDataset) and len(ds.videos()) == 2
    assert load("a2d-plus-m", out).name == "a2d-plus-m"
    with pytest.raises(ConfigError, match="unknown dataset"):
        load("no-such-dataset", native)
    with pytest.raises(ConfigError, match="does not exist"):
        load("a2d", tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="bad option"):
        load("jhmdb", native, no_such_option=1)


def test_parse_options() -> None:
    assert parse_options(["frames=mp4", "drop-unlocated=false", "annotator=2"]) == {
        "frames": "mp4", "drop_unlocated": False, "annotator": 2}
    with pytest.raises(ConfigError):
        parse_options(["novalue"])


def test_datasets_list_and_env_root(clean_env: Path, monkeypatch: pytest.MonkeyPatch,
                                    real_annotations: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["datasets", "list", "--json"])
    assert res.exit_code == 0
    assert [d["name"] for d in json.loads(res.stdout)] == ["a2d", "jhmdb", "ryvos", "rdavis", "davis", "mevis", "revos",
                                                         "refsav", "long-rvos", "reasonvos"]
    monkeypatch.setenv("LVSBENCH_JHMDB_ROOT", str(real_annotations / "jhmdb_sentences"))
    res = runner.invoke(cli, ["datasets", "info", "jhmdb"])
    assert res.exit_code == 0, res.output
    assert "928 videos" in res.output and "2784 scored frames" in res.output
    res = runner.invoke(cli, ["datasets", "info", "a2d"])
    assert isinstance(res.exception, ConfigError)


def test_cli_exit_codes_in_a_subprocess(tmp_path: Path, real_annotations: Path) -> None:
    """User errors exit 2 with one line naming the file; video ids starting with '-' are never parsed as options."""
    exe = [sys.executable, "-m", "lvsbench.cli"]
    bad = tmp_path / "a2d"
    bad.mkdir()
    (bad / "videoset.csv").write_text("--h5fAKYurM,43,00:00:00\n")
    (bad / "a2d_annotation.txt").write_text("video_id,instance_id,query\n")
    r = subprocess.run([*exe, "datasets", "info", "a2d", "--root", str(bad), "--split", "test"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert f"{bad / 'videoset.csv'} (line 1): expected 9 comma-separated columns" in r.stderr


@pytest.mark.parametrize("name", ["a2d", "jhmdb"])
def test_synth_is_byte_deterministic_and_refuses_overwrite(name: str, tmp_path: Path) -> None:
    from lvsbench.core.io import sha256_tree

    runner = CliRunner()
    args = ["--videos", "3", "--seed", "4", "--height", "32", "--width", "40", "--frames", "5"]
    for d in ("one", "two"):
        res = runner.invoke(cli, ["synth", name, "--out", str(tmp_path / d), *args])
        assert res.exit_code == 0, res.output
    assert sha256_tree(tmp_path / "one") == sha256_tree(tmp_path / "two")
    res = runner.invoke(cli, ["synth", name, "--out", str(tmp_path / "one"), *args])
    assert res.exception is not None and "already exists" in str(res.exception)
    res = runner.invoke(cli, ["synth", name, "--out", str(tmp_path / "one"), "--force", "--seed", "5",
                              "--videos", "3", "--height", "32", "--width", "40", "--frames", "5"])
    assert res.exit_code == 0 and sha256_tree(tmp_path / "one") != sha256_tree(tmp_path / "two")
