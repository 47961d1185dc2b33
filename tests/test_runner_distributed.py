"""`lvsbench run` under torchrun / srun / Slurm arrays: rank detection, frame-balanced shards, merge on rank 0 or
on the last array task, identical outputs, and a killed rank completed by rerunning the same command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures.runner_support import PREDICTION_SKIP, load_synthetic, make_synthetic, prediction_digest, tree_digest
from hypothesis import given, settings
from hypothesis import strategies as st

from lvsbench.adapters.registry import create_adapter
from lvsbench.cli import cli
from lvsbench.core.errors import ConfigError
from lvsbench.protocols import default_protocol_for
from lvsbench.run.distributed import Launch, detect_launch, rank_device, shard_dir
from lvsbench.run.options import RunOptions
from lvsbench.run.rundir import read_run_log
from lvsbench.run.runner import run
from lvsbench.run.units import assign_videos, build_units, select_units, video_frame_counts

PLUGIN = Path(__file__).resolve().parent / "fixtures" / "plugin"
RYVOS = ["--dataset", "ryvos", "--split", "train", "--quiet"]


def _env(**extra: str) -> dict[str, str]:
    """The test's environment without any launcher variables of the machine running the tests."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SLURM_") and k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                          "MASTER_PORT")}
    env["PYTHONPATH"] = os.pathsep.join([str(PLUGIN), str(Path(__file__).resolve().parents[1]),
                                         os.environ.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    return {**env, **extra}


def _torchrun(args: list[str]) -> list[str]:
    """torchrun on one machine with a free port (--standalone), running `python -m lvsbench.cli`."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
            "-m", "lvsbench.cli", *args]


def _done(out: Path, session: int | None = None) -> list[int]:
    return [r["order"] for r in read_run_log(out / "run_log.jsonl")
            if r["event"] == "done" and (session is None or r["session"] == session)]


@pytest.fixture(scope="module")
def ryvos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lvsbench.synth import get_writer

    return get_writer("ryvos")(tmp_path_factory.mktemp("synth") / "ryvos", videos=12, seed=3, height=48, width=64,
                               frames=6)


# ============================================================================================ torchrun


def test_torchrun_two_ranks_equal_one_process(ryvos: Path, tmp_path: Path) -> None:
    """torchrun --nproc-per-node 2 (gloo, CPU): rank 0 merges and scores; predictions, run_parts and
    frame_scores.csv are byte-identical to a single-process run."""
    single = run(create_adapter("oracle"), load_synthetic("ryvos", ryvos), RunOptions(out=tmp_path / "single",
                                                                                     progress=False))
    assert single.status == "complete"
    out = tmp_path / "dist"
    proc = subprocess.run(_torchrun(["run", "oracle", "--root", str(ryvos), "--out", str(out), "--score", *RYVOS]),
                          env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert tree_digest(out, PREDICTION_SKIP + ("score.json",)) == prediction_digest(single.out) != {}
    assert tree_digest(out / "run_parts") == tree_digest(single.out / "run_parts")
    assert (out / "frame_scores.csv").read_bytes() == (single.out / "frame_scores.csv").read_bytes()
    merged = json.loads((out / "run.json").read_text())
    assert merged["status"] == "complete" and merged["launch"]["launcher"] == "torchrun"
    assert merged["launch"]["world_size"] == 2
    shards = [json.loads((shard_dir(out, r, 2) / "run.json").read_text()) for r in range(2)]
    assert [s["identity"]["shard"] for s in shards] == [[0, 2, "frames"], [1, 2, "frames"]]
    assert all(s["shard"]["units"] > 0 for s in shards)  # both ranks had work
    assert sum(s["shard"]["units"] for s in shards) == single.units_total
    score = json.loads((out / "score.json").read_text())
    assert score["values"]["J&F"] == 1.0  # oracle
    assert "merged 2 shard(s)" in proc.stdout and "J&F" in proc.stdout


def test_killed_rank_is_completed_by_rerunning_the_same_command(ryvos: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Rank 1 is SIGKILLed after it logged a unit; torchrun stops rank 0; nothing is merged. The same command
    again skips every finished unit of both ranks, computes the rest and merges the same predictions."""
    out = tmp_path / "dist"
    args = _torchrun(["run", "slow-random", "--root", str(ryvos), "--out", str(out), "--batch-frames", "2",
                      "--option", "delay=0.1", *RYVOS])
    rank1 = shard_dir(out, 1, 2)
    proc = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None and not _done(rank1):
            time.sleep(0.02)
        assert proc.poll() is None, f"ended before the kill: {proc.stderr.read()[-3000:]}"
        pid = json.loads((rank1 / "run.json").read_text())["sessions"][-1]["pid"]
        os.kill(pid, signal.SIGKILL)
        assert proc.wait(timeout=60) != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    first = {r: set(_done(shard_dir(out, r, 2), 1)) for r in range(2)}
    total = {r: json.loads((shard_dir(out, r, 2) / "run.json").read_text())["shard"]["units"] for r in range(2)}
    assert 0 < len(first[1]) < total[1], "rank 1 must die half-way"
    assert not out.exists()  # not merged

    again = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    for r in range(2):
        log = read_run_log(shard_dir(out, r, 2) / "run_log.jsonl")
        skipped = {x["order"] for x in log if x["event"] == "skip" and x["session"] == 2}
        second = set(_done(shard_dir(out, r, 2), 2))
        assert skipped == first[r] and second.isdisjoint(first[r])
        assert len(first[r] | second) == total[r]
    monkeypatch.syspath_prepend(str(PLUGIN))
    ref = run(create_adapter("slow-random", {"delay": "0"}), load_synthetic("ryvos", ryvos),
              RunOptions(out=tmp_path / "ref", progress=False, batch_frames=2), adapter_name="slow-random")
    assert ref.status == "complete"
    assert prediction_digest(out) == prediction_digest(ref.out)
    assert (out / "frame_scores.csv").read_bytes() == (ref.out / "frame_scores.csv").read_bytes()


def test_a_failing_rank_is_named_and_nothing_is_merged(ryvos: Path, tmp_path: Path) -> None:
    """Rank 1 finds a shard directory made with other settings and fails; it still reports to rank 0, which names
    it and does not merge (no hang until the timeout, no half merge)."""
    out = tmp_path / "dist"
    stale = run(create_adapter("random", {"p": "0.3"}), load_synthetic("ryvos", ryvos),
                RunOptions(out=shard_dir(out, 1, 2), shard=(1, 2), progress=False))
    assert stale.status == "complete"
    proc = subprocess.run(_torchrun(["run", "random", "--root", str(ryvos), "--out", str(out), *RYVOS]),
                          env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "not merged, 1 rank(s) did not finish: rank 1" in proc.stderr and "different settings" in proc.stderr
    assert not out.exists()
    assert json.loads((shard_dir(out, 0, 2) / "run.json").read_text())["status"] == "complete"


# ============================================================================================ Slurm


SRUN = {"SLURM_JOB_ID": "77", "SLURM_STEP_ID": "0", "SLURM_NTASKS": "8", "SLURM_PROCID": "5", "SLURM_LOCALID": "1",
        "MASTER_ADDR": "node01", "MASTER_PORT": "29400"}
ARRAY = {"SLURM_ARRAY_JOB_ID": "90", "SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1",
         "SLURM_ARRAY_TASK_MAX": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_NTASKS": "1", "SLURM_PROCID": "0"}


def test_launch_detection_from_slurm_and_torchrun_variables() -> None:
    assert detect_launch({}) == Launch("single")
    t = detect_launch({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "h", "MASTER_PORT": "1",
                       **SRUN})  # torchrun under srun: torchrun's ranks win
    assert (t.launcher, t.rank, t.world_size, t.local_rank, t.process_group) == ("torchrun", 3, 4, 1, True)
    s = detect_launch(SRUN)
    assert (s.launcher, s.rank, s.world_size, s.local_rank, s.process_group) == ("srun", 5, 8, 1, True)
    no_master = detect_launch({k: v for k, v in SRUN.items() if not k.startswith("MASTER")})
    assert no_master.launcher == "srun" and not no_master.process_group  # the last finisher merges
    batch_script = {k: v for k, v in SRUN.items() if k != "SLURM_STEP_ID"}  # sbatch runs the script once
    assert detect_launch(batch_script).launcher == "single"
    a = detect_launch(ARRAY)  # --array=1-4: task 3 is shard 2 of 4
    assert (a.launcher, a.rank, a.world_size, a.process_group) == ("slurm-array", 2, 4, False)
    both = detect_launch({**ARRAY, "SLURM_STEP_ID": "0", "SLURM_NTASKS": "2", "SLURM_PROCID": "1"})
    assert (both.rank, both.world_size) == (5, 8)  # srun with 2 tasks inside each of 4 array tasks
    assert detect_launch({**SRUN, "SLURM_NTASKS": "1", "SLURM_PROCID": "0"}).launcher == "single"
    with pytest.raises(ConfigError, match="contiguous"):
        detect_launch({**ARRAY, "SLURM_ARRAY_TASK_MAX": "7"})  # --array=1-7:2
    with pytest.raises(ConfigError, match="Slurm array"):
        detect_launch({**ARRAY, "RANK": "0", "WORLD_SIZE": "2"})
    with pytest.raises(ConfigError, match="outside"):
        detect_launch({"RANK": "2", "WORLD_SIZE": "2"})
    with pytest.raises(ConfigError, match="not an integer"):
        detect_launch({"RANK": "x", "WORLD_SIZE": "2"})


def test_rank_device_keeps_cpu_and_explicit_devices() -> None:
    assert rank_device("auto", "cpu", 3) == "cpu"  # an adapter on CPU stays there whatever LOCAL_RANK is
    assert rank_device("cpu", "cpu", 1) == "cpu"
    assert rank_device("cuda:2", "cuda:2", 0) == "cuda:2"  # explicit index: the user's choice


def test_shards_are_balanced_by_frames_not_video_count() -> None:
    frames = {"long": 300, "a": 40, "b": 40, "c": 40, "d": 40, "e": 40, "f": 40, "g": 40}
    owner = assign_videos(frames, 2)
    load = [sum(f for v, f in frames.items() if owner[v] == s) for s in range(2)]
    assert owner["long"] == 0 and all(owner[v] == 1 for v in "abcdefg")  # 1 video vs 7: 300 vs 280 frames
    assert load == [300, 280]
    mod_n = [sum(f for k, f in enumerate(frames.values()) if k % 2 == s) for s in range(2)]
    assert max(mod_n) - min(mod_n) > max(load) - min(load)  # video index mod N: 420 vs 160 frames


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 500), min_size=1, max_size=40), st.integers(1, 9))
def test_frame_balanced_assignment_invariants(counts: list[int], n: int) -> None:
    frames = {f"v{k:03d}": c for k, c in enumerate(counts)}
    owner = assign_videos(frames, n)
    assert owner == assign_videos(dict(frames), n)  # deterministic
    assert set(owner) == set(frames) and all(0 <= s < n for s in owner.values())
    load = [sum(c for v, c in frames.items() if owner[v] == s) for s in range(n)]
    assert max(load) <= sum(counts) / n + max(counts)  # the longest-processing-time bound


def test_slurm_array_tasks_take_their_shards_and_the_last_one_merges(tmp_path: Path) -> None:
    """Slurm array (no Slurm: its environment variables): task 1 of 0-1 writes shard 1 and waits; task 0 writes
    shard 0, finds every shard finished and merges; the merge equals a single-process run (A2D COCO results)."""
    root = make_synthetic("a2d", tmp_path / "a2d", seed=2)
    ds = load_synthetic("a2d", root)
    single = run(create_adapter("random", {"candidates": "2"}), ds, RunOptions(out=tmp_path / "single",
                                                                                progress=False))
    out = tmp_path / "arr"
    cmd = ["run", "random", "--option", "candidates=2", "--dataset", "a2d", "--root", str(root), "--split", "test",
           "--out", str(out), "--quiet", "--json"]
    base = {"SLURM_ARRAY_JOB_ID": "5", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "1",
            "SLURM_ARRAY_TASK_COUNT": "2"}
    first = CliRunner().invoke(cli, cmd, env={**base, "SLURM_ARRAY_TASK_ID": "1"})
    assert first.exit_code == 0, first.output
    r1 = json.loads(first.stdout)
    assert r1["launch"] == {"launcher": "slurm-array", "rank": 1, "world_size": 2, "local_rank": 0,
                            "process_group": False}
    assert r1["merged"] is None and r1["waiting_for"] == [0] and not out.exists()
    for env in ({}, {**base, "SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MAX": "0", "SLURM_ARRAY_TASK_COUNT": "1"}):
        # shard 0 resubmitted as a lone task (--array=0) is no launch: refused, it would run everything
        lone = CliRunner().invoke(cli, cmd, env=env)
        assert isinstance(lone.exception, ConfigError) and "0-of-2 (missing)" in str(lone.exception), lone.output
    second = CliRunner().invoke(cli, cmd, env={**base, "SLURM_ARRAY_TASK_ID": "0"})
    assert second.exit_code == 0, second.output
    r0 = json.loads(second.stdout)
    assert r0["merged"]["status"] == "complete" and r0["waiting_for"] == []

    units = build_units(ds, "coco-json", default_protocol_for(ds))
    for r in range(2):  # each task ran exactly the units of its frame-balanced shard
        want = {u.order for u in select_units(units, video_frame_counts(ds), (r, 2), None)}
        assert set(_done(shard_dir(out, r, 2))) == want and want
    assert (out / "coco_results.json").read_bytes() == (single.out / "coco_results.json").read_bytes()
    assert tree_digest(out / "run_parts") == tree_digest(single.out / "run_parts")

    again = CliRunner().invoke(cli, cmd, env={**base, "SLURM_ARRAY_TASK_ID": "0"})  # a requeued task: no work
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["shard"]["units_done"] == 0
    # an explicit --shard turns detection off and keeps its meaning
    manual = CliRunner().invoke(cli, [*cmd[:-4], "--out", str(tmp_path / "m1"), "--shard", "1/2", "--json"],
                                env={**base, "SLURM_ARRAY_TASK_ID": "0"})
    assert manual.exit_code == 0, manual.output
    assert set(_done(tmp_path / "m1")) == set(_done(shard_dir(out, 1, 2)))


def test_merge_lock_is_exclusive_and_a_dead_holder_on_this_host_is_taken_over(tmp_path: Path) -> None:
    import socket

    from lvsbench.run.distributed import MERGE_LOCK, merge_lock

    with merge_lock(tmp_path) as first:
        with merge_lock(tmp_path) as second:  # a second task finishing at the same moment
            assert first and not second
    assert not (tmp_path / MERGE_LOCK).exists()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / MERGE_LOCK).write_text(json.dumps({"host": socket.gethostname(), "pid": dead.pid}))
    with merge_lock(tmp_path) as held:
        assert held
    (tmp_path / MERGE_LOCK).write_text(json.dumps({"host": "some-other-node", "pid": dead.pid}))
    with merge_lock(tmp_path) as held:
        assert not held  # cannot tell whether a process on another node is alive: reported, not broken
    assert (tmp_path / MERGE_LOCK).exists()


def test_single_process_run_with_score(ryvos: Path, tmp_path: Path) -> None:
    out = tmp_path / "one"
    res = CliRunner().invoke(cli, ["run", "oracle", "--root", str(ryvos), "--out", str(out), "--score", "--json",
                                   *RYVOS], env={})
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    assert payload["score"]["values"]["J&F"] == 1.0 and payload["score"]["path"] == str(out / "score.json")
    doc = json.loads((out / "score.json").read_text())
    assert doc["values"]["J&F"] == 1.0 and doc["options"]["workers"] >= 1
    assert not (tmp_path / "one.shards").exists()


def test_launch_refuses_to_replace_an_unrelated_output(tmp_path: Path) -> None:
    root = make_synthetic("a2d", tmp_path / "a2d", seed=2)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    env = {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"}
    res = CliRunner().invoke(cli, ["run", "empty", "--dataset", "a2d", "--root", str(root), "--split", "test",
                                   "--out", str(out), "--quiet"], env=env)
    assert isinstance(res.exception, ConfigError) and "not an lvsbench run directory" in str(res.exception)
    assert (out / "thesis.tex").read_text() == "precious" and not (tmp_path / "mine.shards").exists()
