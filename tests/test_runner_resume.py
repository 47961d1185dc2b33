"""Resume, sharding, batching invariance and output handling of `lvsbench run`."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures.runner_support import (
    FailAfter,
    OnlineCounter,
    Recording,
    load_synthetic,
    make_synthetic,
    prediction_digest,
    tree_digest,
)

from lvsbench.adapters.registry import create_adapter
from lvsbench.core.errors import ConfigError, OutputExistsError
from lvsbench.run.options import RunOptions
from lvsbench.run.rundir import merge_runs, read_run_log
from lvsbench.run.runner import run

PLUGIN = Path(__file__).resolve().parent / "fixtures" / "plugin"
KINDS = ("ryvos", "a2d", "rdavis")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("synth")
    return {k: make_synthetic(k, base / k, seed=1) for k in KINDS}


def _opts(out: Path, **kw: object) -> RunOptions:
    return RunOptions(out=out, progress=False, batch_frames=kw.pop("batch_frames", 2), **kw)  # type: ignore[arg-type]


def _random(kind: str) -> dict[str, str]:
    return {"candidates": "3"} if kind == "a2d" else {}


def _done(out: Path, session: int) -> list[int]:
    return [r["order"] for r in read_run_log(out / "run_log.jsonl") if r["event"] == "done" and r["session"] == session]


@pytest.mark.parametrize("kind", KINDS)
def test_resume_after_a_crash_completes_without_recomputing(kind: str, synthetic: dict[str, Path],
                                                            tmp_path: Path) -> None:
    ds = load_synthetic(kind, synthetic[kind])
    opts = _random(kind)
    whole = run(create_adapter("random", opts), ds, _opts(tmp_path / "whole"))
    assert whole.status == "complete"

    out = tmp_path / "crashed"
    crashing = FailAfter(FailAfter.parse_options(opts))
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(crashing, ds, _opts(out), adapter_name="random")
    first = _done(out, 1)
    assert 0 < len(first) < whole.units_total
    assert json.loads((out / "run.json").read_text())["status"] == "failed"

    Recording.seen = []
    again = run(Recording(Recording.parse_options(opts)), ds, _opts(out, resume=True), adapter_name="random")
    assert again.status == "complete"
    second = _done(out, 2)
    assert set(first).isdisjoint(second) and sorted(first + second) == list(range(whole.units_total))
    skipped = [r["order"] for r in read_run_log(out / "run_log.jsonl") if r["event"] == "skip"]
    assert sorted(skipped) == sorted(first)
    # finished units were not predicted again: no expression of a finished unit reached the adapter
    parts = {p["order"]: p for p in (json.loads(f.read_text()) for f in (out / "run_parts").glob("*.json"))}
    finished = {(parts[o]["video_id"], e) for o in first for e in parts[o]["expressions"]}
    assert Recording.seen and not finished & {(v, e) for v, e, _ in Recording.seen}
    assert prediction_digest(out) == prediction_digest(tmp_path / "whole")
    assert (out / "frame_scores.csv").read_bytes() == (tmp_path / "whole" / "frame_scores.csv").read_bytes()


def test_killed_process_resumes_to_identical_predictions(synthetic: dict[str, Path], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`lvsbench run` in a subprocess, SIGKILLed after two expressions are logged, then --resume."""
    root, out = synthetic["ryvos"], tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGIN), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-c", "from lvsbench.cli import main; main()", "run", "slow-random", "--dataset",
           "ryvos", "--root", str(root), "--split", "train", "--out", str(out), "--batch-frames", "3",
           "--option", "delay=0.05", "--quiet"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if len(_done(out, 1)) >= 2 or proc.poll() is not None:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    first = _done(out, 1)
    monkeypatch.syspath_prepend(str(PLUGIN))
    ds = load_synthetic("ryvos", root)
    resumed = run(create_adapter("slow-random", {"delay": "0.05"}), ds, _opts(out, resume=True, batch_frames=3),
                  adapter_name="slow-random")
    assert resumed.status == "complete" and resumed.units_skipped == len(first) >= 2
    assert set(_done(out, 2)).isdisjoint(first)
    ref = run(create_adapter("slow-random", {"delay": "0"}), ds, _opts(tmp_path / "ref"), adapter_name="slow-random")
    assert ref.status == "complete"
    assert prediction_digest(out) == prediction_digest(tmp_path / "ref")


@pytest.mark.parametrize("kind", KINDS)
def test_two_shards_merged_equal_an_unsharded_run(kind: str, synthetic: dict[str, Path], tmp_path: Path) -> None:
    ds = load_synthetic(kind, synthetic[kind])
    opts = _random(kind)
    run(create_adapter("random", opts), ds, _opts(tmp_path / "all"))
    for i in (1, 0):
        r = run(create_adapter("random", opts), ds, _opts(tmp_path / f"s{i}", shard=(i, 2)))
        assert r.status == "complete" and 0 < r.units_total
    merged = merge_runs([tmp_path / "s0", tmp_path / "s1"], tmp_path / "merged")
    assert merged["status"] == "complete"
    assert prediction_digest(tmp_path / "merged") == prediction_digest(tmp_path / "all")
    assert tree_digest(tmp_path / "merged" / "run_parts") == tree_digest(tmp_path / "all" / "run_parts")
    assert (tmp_path / "merged" / "frame_scores.csv").read_bytes() == (tmp_path / "all" / "frame_scores.csv"
                                                                      ).read_bytes()
    with pytest.raises(ConfigError, match="exactly once"):
        merge_runs([tmp_path / "s0", tmp_path / "s0"], tmp_path / "bad")
    with pytest.raises(ConfigError, match="exactly once"):
        merge_runs([tmp_path / "s0"], tmp_path / "bad")


def test_batching_does_not_change_predictions(synthetic: dict[str, Path], tmp_path: Path) -> None:
    ds = load_synthetic("ryvos", synthetic["ryvos"])
    for b in (1, 7):
        r = run(create_adapter("random"), ds, _opts(tmp_path / f"b{b}", batch_frames=b,
                                                    batch_expressions=1 if b == 1 else None))
        assert r.status == "complete"
    b1 = prediction_digest(tmp_path / "b1")
    # one PNG per (expression, frame): the comparison below is over every prediction, not over two empty trees
    expected = sum(len(ds.expression_frames(e)) for e in ds.expressions())
    assert expected > 0 and sum(p.endswith(".png") for p in b1) == expected
    assert b1 == prediction_digest(tmp_path / "b7")


def test_online_adapter_gets_consecutive_clips_and_state(synthetic: dict[str, Path], tmp_path: Path) -> None:
    ds = load_synthetic("ryvos", synthetic["ryvos"])
    outs = [run(OnlineCounter(), ds, _opts(tmp_path / f"o{b}", batch_frames=b)) for b in (1, 4)]
    assert all(r.status == "complete" for r in outs)
    assert prediction_digest(tmp_path / "o1") == prediction_digest(tmp_path / "o4")


def test_output_guards_and_resume_identity(synthetic: dict[str, Path], tmp_path: Path) -> None:
    ds = load_synthetic("ryvos", synthetic["ryvos"])
    out = tmp_path / "run"
    part = run(create_adapter("random"), ds, _opts(out, limit=3))
    assert part.status == "partial" and part.units_total == 3
    with pytest.raises(OutputExistsError):
        run(create_adapter("random"), ds, _opts(out))
    with pytest.raises(ConfigError, match="different settings"):
        run(create_adapter("random", {"p": "0.3"}), ds, _opts(out, resume=True))
    rest = run(create_adapter("random"), ds, _opts(out, resume=True))  # the limit may be lifted on resume
    assert rest.status == "complete" and rest.units_skipped == 3
    forced = run(create_adapter("empty"), ds, _opts(out, force=True))
    assert forced.status == "complete" and forced.units_skipped == 0
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(ConfigError, match="written by lvsbench"):
        run(create_adapter("empty"), ds, _opts(tmp_path / "mine", force=True))
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_run_json_records_provenance(synthetic: dict[str, Path], tmp_path: Path) -> None:
    ds = load_synthetic("a2d", synthetic["a2d"])
    ckpt = tmp_path / "weights.bin"
    ckpt.write_bytes(b"not really weights")
    r = run(create_adapter("random", {"seed": "5"}), ds, _opts(tmp_path / "r", checkpoint=ckpt))
    doc = json.loads((r.out / "run.json").read_text())
    assert doc["adapter"]["name"] == "random" and doc["adapter"]["config"]["seed"] == 5
    assert doc["checkpoint"]["sha256"] == hashlib.sha256(b"not really weights").hexdigest()
    s = doc["sessions"][0]
    assert s["device"] == "cpu" and s["frames"] > 0 and s["frames_per_s"] > 0
    assert s["peak_memory"]["rss_peak_bytes"] > 0
    assert doc["env"]["lvsbench"] and doc["env"]["numpy"] and "torch" in doc["env"]
    assert doc["format"] == "coco-json" and doc["dataset"]["protocol"] == "a2d"


def test_cli_sharded_run_merge_and_score(synthetic: dict[str, Path], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lvsbench.cli import cli

    root = synthetic["a2d"]
    common = ["--dataset", "a2d", "--root", str(root), "--split", "test", "--quiet", "--json"]
    for i in range(2):
        res = CliRunner().invoke(cli, ["run", "random", "--shard", f"{i}/2", "--out", str(tmp_path / f"s{i}"),
                                       "--option", "candidates=2", *common])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["status"] == "complete"
    res = CliRunner().invoke(cli, ["merge", str(tmp_path / "s0"), str(tmp_path / "s1"), "--out",
                                   str(tmp_path / "m"), "--json"])
    assert res.exit_code == 0, res.output
    preds = json.loads(res.output)["predictions"]
    assert preds.endswith("coco_results.json")
    res = CliRunner().invoke(cli, ["score", preds, *common[:-2], "--json"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["run", "random", "--out", str(tmp_path / "s0"), *common])
    assert isinstance(res.exception, OutputExistsError)  # `lvsbench` turns it into exit code 2
