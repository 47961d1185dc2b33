"""Errors a user meets on the command line: one line naming the file, variable or option, no library internals
(`0x` reprs, OpenCV `[ WARN`), a JSON error object under `--json` for every command, "did you mean" for every name a
user types, and the next step printed at the end of the commands that lead somewhere."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest

from lvsbench.cli import cli, main


def _leaf_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):  # the public listing: the top-level group loads lazily
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            out += _leaf_commands(cmd, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


def _run(args: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capfd.readouterr()
    return int(exc.value.code or 0), out, err


def _json_error(args: list[str], capfd: pytest.CaptureFixture[str]) -> dict:
    code, out, _ = _run([*args, "--json"], capfd)
    doc = json.loads(out)  # valid JSON, nothing else on stdout
    assert code == doc["error"]["exit_code"] == 2, (args, doc)
    msg = doc["error"]["message"]
    assert "0x" not in msg and "[ WARN" not in msg and "Traceback" not in msg, msg
    return doc["error"]


def test_every_command_gives_a_json_error(capfd: pytest.CaptureFixture[str]) -> None:
    commands = _leaf_commands()
    assert len(commands) >= 15
    for path in commands:
        err = _json_error([*path, "--no-such-option"], capfd)
        assert err["kind"] == "usage" and "--no-such-option" in err["message"], path


@pytest.fixture(scope="module")
def a2d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lvsbench.synth.a2d import write_synthetic

    return write_synthetic(tmp_path_factory.mktemp("synth") / "a2d", videos=12, seed=0, height=48, width=64,
                           frames=8, frame_format="png")


def test_names_a_user_types_get_did_you_mean(a2d: Path, capfd: pytest.CaptureFixture[str]) -> None:
    cases = [
        (["score", str(a2d), "--dataset", "a2dd"], "did you mean 'a2d'"),
        (["datasets", "info", "jhmbd"], "did you mean 'jhmdb'"),
        (["score", str(a2d), "--dataset", "a2d", "--root", str(a2d), "--protocol", "a2d-plsu"],
         "did you mean 'a2d-plus'"),
        (["score", str(a2d), "--dataset", "a2d", "--root", str(a2d), "--split", "tset"], "did you mean 'test'"),
        (["run", "oracel", "--dataset", "a2d", "--root", str(a2d), "--out", str(a2d.parent / "p")],
         "did you mean 'oracle'"),
    ]
    for args, hint in cases:
        err = _json_error(args, capfd)
        assert hint in err["message"], (args, err["message"])
        code, out, text = _run(args, capfd)  # the same message as one text line on stderr
        assert code == 2 and out == "" and hint in text and len(text.strip().splitlines()) == 1, text


def test_choices_get_did_you_mean(capfd: pytest.CaptureFixture[str]) -> None:
    assert "did you mean 'a2d'" in _json_error(["synth", "a2dd", "--out", "x"], capfd)["message"]
    assert "did you mean 'locater'" in _json_error(["train", "locatr", "--dataset", "a2d", "--out", "x"],
                                                   capfd)["message"]


def test_commands_get_did_you_mean_in_one_line(capfd: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["leaderbord", "build"], capfd)
    assert code == 2 and "did you mean 'leaderboard'" in err and len(err.strip().splitlines()) == 1
    assert "did you mean 'info'" in _json_error(["datasets", "inf", "a2d"], capfd)["message"]


def test_recipe_names_get_did_you_mean(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    r = tmp_path / "recipes"
    r.mkdir()
    (r / "synth-a2d-oracle.toml").write_text(
        'entry = "oracle"\n[model]\nadapter = "oracle"\n[dataset]\nname = "a2d"\nsynthetic = { videos = 4 }\n'
        'split = "test"\n[score]\nprotocol = "a2d"\n')
    err = _json_error(["leaderboard", "build", str(r), "--only", "synth-a2d-oracel", "--no-progress"], capfd)
    assert "did you mean 'synth-a2d-oracle'" in err["message"]


def test_bad_root_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LVSBENCH_A2D_ROOT", str(tmp_path / "nowhere"))
    err = _json_error(["datasets", "info", "a2d"], capfd)
    assert err["message"].startswith(f"LVSBENCH_A2D_ROOT={tmp_path / 'nowhere'}: no such folder")
    code, _, text = _run(["score", str(tmp_path), "--dataset", "a2d"], capfd)
    assert code == 2 and "LVSBENCH_A2D_ROOT" in text


def test_corrupt_png_error_has_no_internals(a2d: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A corrupt prediction PNG: the scorer names the file, with no OpenCV warning and no object repr, on stderr
    and in the JSON error."""
    preds = tmp_path / "preds"
    code, _, _ = _run(["run", "oracle", "--dataset", "a2d", "--root", str(a2d), "--out", str(preds), "--format",
                       "png-tree", "--quiet"], capfd)
    assert code == 0
    victim = sorted(preds.rglob("*.png"))[0]
    victim.write_bytes(victim.read_bytes()[:40])  # truncated: header only
    args = ["score", str(preds), "--dataset", "a2d", "--root", str(a2d)]
    code, out, err = _run(args, capfd)
    assert code == 2 and victim.name in err
    assert "0x" not in out + err and "[ WARN" not in out + err and "Traceback" not in err
    doc = _json_error(args, capfd)
    assert any(victim.name in p["path"] or victim.name in p["message"] for p in doc["problems"])


def test_per_group_is_a_dataframe_without_by(a2d: Path, tmp_path: Path) -> None:
    from lvsbench.adapters.registry import create_adapter
    from lvsbench.datasets import load
    from lvsbench.run.runner import RunOptions, run
    from lvsbench.scoring import score

    ds = load("a2d", a2d, "test")
    res = run(create_adapter("oracle", {}), ds, RunOptions(out=tmp_path / "o", progress=False),
              adapter_name="oracle")
    plain = score(res.predictions, ds)
    assert isinstance(plain.per_group, pd.DataFrame) and plain.per_group.empty
    assert list(plain.per_group.columns) == ["group", "n", *plain.values]
    grouped = score(res.predictions, ds, by="category")
    assert list(grouped.per_group.columns) == ["category", "n", *plain.values] and len(grouped.per_group) >= 1
    assert np.allclose(grouped.per_group["mean_iou"], 1.0)


def test_sharded_run_says_what_is_missing_and_how_to_merge(a2d: Path, tmp_path: Path,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    base = ["run", "empty", "--dataset", "a2d", "--root", str(a2d), "--quiet"]
    code, out, _ = _run([*base, "--out", str(tmp_path / "s0"), "--shard", "0/2"], capfd)
    assert code == 0 and "still missing: shard(s) 1/2" in out and "lvsbench merge" in out
    assert "next: lvsbench score" not in out  # never suggests scoring one shard
    code, out, _ = _run([*base, "--out", str(tmp_path / "s1"), "--shard", "1/2", "--json"], capfd)
    assert code == 0 and "0/2" in json.loads(out)["next"]
    code, out, _ = _run(["merge", str(tmp_path / "s0"), str(tmp_path / "s1"), "--out", str(tmp_path / "m")], capfd)
    assert code == 0 and f"next: lvsbench score {tmp_path / 'm'}" in out and "--dataset a2d" in out
    code, out, _ = _run([*base, "--out", str(tmp_path / "whole")], capfd)
    assert code == 0 and "next: lvsbench score" in out


def test_build_hard_split_prints_the_score_commands(a2d: Path, tmp_path: Path,
                                                    capfd: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "plus"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code, out, _ = _run(["build-hard-split", "--a2d-root", str(a2d), "--out", str(out_dir), "--no-progress",
                             "--min-actors", "1"], capfd)
    assert code == 0
    scores = [line.strip() for line in out.splitlines() if line.strip().startswith("lvsbench score")]
    assert scores, out
    for line in scores:  # each printed command names a subset that was written
        root = Path(line.split("--root ")[1].split()[0])
        assert (root / "meta_expressions.json").is_file()


def test_validation_errors_are_one_json_object(a2d: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A command that prints a result and then fails (`datasets info --check` finding problems) still gives one
    JSON object: the error, with the problems and the counts inside."""
    import shutil

    root = tmp_path / "a2d"
    shutil.copytree(a2d, root)
    frame = sorted((root / "Release" / "pngs320H").rglob("*.png"))[0]
    frame.write_bytes(b"not a png")
    err = _json_error(["datasets", "info", "a2d", "--root", str(root), "--check"], capfd)
    assert err["kind"] == "ValidationFailed" and err["problems"] and "splits" in err["details"]
    assert any(frame.name in p["path"] or frame.name in p["message"] for p in err["problems"])
    err = _json_error(["layout", "validate", str(root)], capfd)
    assert err["problems"]
