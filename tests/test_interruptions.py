"""Interrupting lvsbench with SIGINT (Ctrl-C) or SIGKILL at several points, then resuming or rerunning, gives output
byte-identical to an uninterrupted run, and leaves no partial (`.tmp`) file behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures.runner_support import make_synthetic

from lvsbench.cli import main
from lvsbench.core.io import sha256_tree
from lvsbench.run.rundir import read_run_log

PLUGIN = Path(__file__).resolve().parent / "fixtures" / "plugin"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGIN), os.environ.get("PYTHONPATH", "")])}
RECORDS = ("run.json", "run_log.jsonl")  # timestamps and sessions: not predictions


def _cli(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _partials(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def _interrupt(cmd: list[str], ready, sig: int, timeout: float = 90) -> int:  # noqa: ANN001
    """Start `cmd`, wait until `ready()` (a progress point), send `sig`; returns the exit code (None: it ended
    before the point, which the caller accepts as an interruption after the end)."""
    proc = subprocess.Popen([sys.executable, "-c", "from lvsbench.cli import main; main()", *cmd], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None and not ready():
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(sig)
    finally:
        proc.wait(timeout=60)
    return proc.returncode


@pytest.fixture(scope="module")
def ryvos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_synthetic("ryvos", tmp_path_factory.mktemp("intr") / "ryvos", seed=3)


def test_run_interrupted_at_five_points_resumes_byte_identical(ryvos: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGIN))  # the slow-random test adapter
    base = ["run", "slow-random", "--dataset", "ryvos", "--root", str(ryvos), "--split", "train",
            "--batch-frames", "2", "--quiet"]
    ref = tmp_path / "ref"
    assert _cli([*base, "--out", str(ref), "--option", "delay=0"]) == 0
    units = len(list((ref / "run_parts").glob("*.json")))
    rng = random.Random(20)
    points = sorted(rng.sample(range(units), 5))
    for i, k in enumerate(points):
        out = tmp_path / f"cut{i}"
        sig = signal.SIGINT if i % 2 == 0 else signal.SIGKILL

        def ready(out: Path = out, k: int = k) -> bool:
            try:
                return sum(r.get("event") == "done" for r in read_run_log(out / "run_log.jsonl")) >= k
            except Exception:  # noqa: BLE001 - a log being written; look again
                return False

        code = _interrupt([*base, "--out", str(out), "--option", "delay=0.03"], ready, sig)
        assert code in (0, 130, -signal.SIGINT, -signal.SIGKILL), code  # -SIGINT: stopped while importing
        assert _cli([*base, "--out", str(out), "--option", "delay=0.03", "--resume"]) == 0
        assert sha256_tree(out, exclude=RECORDS) == sha256_tree(ref, exclude=RECORDS), f"point {k}, signal {sig}"
        assert not _partials(out)


def test_score_interrupted_then_rerun_byte_identical(ryvos: Path, tmp_path: Path) -> None:
    preds = tmp_path / "preds"
    assert _cli(["run", "oracle", "--dataset", "ryvos", "--root", str(ryvos), "--split", "train", "--out",
                 str(preds), "--quiet"]) == 0
    args = ["score", str(preds), "--dataset", "ryvos", "--root", str(ryvos), "--split", "train"]
    ref = tmp_path / "ref.json"
    assert _cli([*args, "--out", str(ref), "--per-sample", str(tmp_path / "ref.csv")]) == 0
    rng = random.Random(7)
    for i in range(5):
        out, per = tmp_path / f"s{i}.json", tmp_path / f"s{i}.csv"
        sig = signal.SIGINT if i % 2 == 0 else signal.SIGKILL
        t_end = time.monotonic() + rng.uniform(0.2, 3.0)  # somewhere in start-up, reading or scoring
        _interrupt([*args, "--out", str(out), "--per-sample", str(per)], lambda t=t_end: time.monotonic() >= t, sig)
        assert not _partials(tmp_path)
        assert not out.exists() or out.read_bytes() == ref.read_bytes()  # never half-written
        assert _cli([*args, "--out", str(out), "--per-sample", str(per), "--force"]) == 0
        assert out.read_bytes() == ref.read_bytes()
        assert per.read_bytes() == (tmp_path / "ref.csv").read_bytes()



TRAIN_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_models_train import small_recipe
from lvsbench.models.train import train
from lvsbench.models.toydata import SceneDataset
rec = small_recipe("urvos", steps=8).replace(checkpoint_every=1000, checkpoint_minutes=0.0)
train(SceneDataset(6, seed=1, frames=6, height=32, width=40), {out!r}, rec, progress=False, log=lambda s: None,
      resume={resume})
"""


def test_train_interrupted_at_five_points_resumes_identical(tmp_path: Path) -> None:
    """State is saved by wall time (checkpoint_minutes=0: after every step, checkpoint_every far away), so a train
    killed or Ctrl-C'ed at any step resumes from the last one and ends with the uninterrupted weights."""
    torch = pytest.importorskip("torch")
    import json as _json

    from test_models_train import small_recipe

    from lvsbench.models.toydata import SceneDataset
    from lvsbench.models.train import train

    tests = str(Path(__file__).resolve().parent)
    rec = small_recipe("urvos", steps=8).replace(checkpoint_every=1000, checkpoint_minutes=0.0)
    ds = SceneDataset(6, seed=1, frames=6, height=32, width=40)
    ref = train(ds, tmp_path / "ref", rec, progress=False, log=lambda s: None)
    want = torch.load(ref.checkpoint, weights_only=True)["state_dict"]
    for i, k in enumerate((1, 2, 4, 5, 7)):
        out = tmp_path / f"cut{i}"
        sig = signal.SIGINT if i % 2 == 0 else signal.SIGKILL

        def ready(out: Path = out, k: int = k) -> bool:
            m = out / "metrics.jsonl"
            try:
                return m.is_file() and sum(1 for _ in m.read_text().splitlines()) >= k
            except OSError:
                return False

        script = TRAIN_SCRIPT.format(tests=tests, out=str(out), resume=False)
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not ready():
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(sig)
        proc.wait(timeout=60)
        if (out / "state.pt").is_file():
            got = train(ds, out, rec, progress=False, log=lambda s: None, resume=True)
        else:  # stopped before the first step ended: nothing to resume, start over
            got = train(ds, out, rec, progress=False, log=lambda s: None, force=True)
        assert got.steps == 8
        have = torch.load(got.checkpoint, weights_only=True)["state_dict"]
        assert all(torch.equal(want[n], have[n]) for n in want), f"point {k}, signal {sig}"
        steps = [_json.loads(x)["step"] for x in (out / "metrics.jsonl").read_text().splitlines()]
        assert steps == list(range(1, 9)), steps
        assert not _partials(out)


@pytest.mark.slow
def test_build_hard_split_interrupted_at_five_points_resumes_byte_identical(tmp_path: Path) -> None:
    from lvsbench.synth.a2d import write_synthetic

    a2d = write_synthetic(tmp_path / "a2d", videos=32, seed=3, height=48, width=64, frames=10, frame_format="png")
    base = ["build-hard-split", "--a2d-root", str(a2d), "--seed", "7", "--no-progress"]
    ref = tmp_path / "ref"
    assert _cli([*base, "--out", str(ref)]) == 0
    total = sum(1 for _ in ref.rglob("*"))
    for i, frac in enumerate((0.02, 0.2, 0.45, 0.7, 0.9)):
        out = tmp_path / f"cut{i}"
        sig = signal.SIGINT if i % 2 == 0 else signal.SIGKILL

        def ready(out: Path = out, n: int = int(total * frac)) -> bool:
            try:
                return sum(1 for _ in out.rglob("*")) >= n
            except OSError:  # a folder renamed while walking
                return False

        _interrupt([*base, "--out", str(out)], ready, sig)
        assert _cli([*base, "--out", str(out), "--resume"]) == 0
        assert sha256_tree(out) == sha256_tree(ref), f"fraction {frac}, signal {sig}"
        assert not _partials(out)


@pytest.mark.slow
def test_leaderboard_build_interrupted_at_five_points_then_rerun_identical(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A killed or Ctrl-C'ed build leaves its cache usable: the rerun (same cache, lock taken, stale temporary
    folders removed) writes the same tables and results as an uninterrupted build."""
    from test_leaderboard_build import built_tree, make_project

    monkeypatch.delenv("LVSBENCH_A2D_ROOT", raising=False)
    monkeypatch.setenv("LVSBENCH_CONFIG", str(tmp_path / "no-config.toml"))
    recipes = make_project(tmp_path / "project")
    ref = tmp_path / "ref"
    assert _cli(["leaderboard", "build", str(recipes), "--out", str(ref), "--cache", str(tmp_path / "ref-cache"),
                 "--no-progress"]) == 0
    want = built_tree(ref)
    total = sum(1 for _ in (tmp_path / "ref-cache").rglob("*"))
    env = {**ENV, "LVSBENCH_CONFIG": str(tmp_path / "no-config.toml")}
    env.pop("LVSBENCH_A2D_ROOT", None)
    for i, frac in enumerate((0.02, 0.2, 0.4, 0.6, 0.85)):
        out, cache = tmp_path / f"out{i}", tmp_path / f"cache{i}"
        sig = signal.SIGINT if i % 2 == 0 else signal.SIGKILL

        def ready(cache: Path = cache, n: int = int(total * frac)) -> bool:
            try:
                return sum(1 for _ in cache.rglob("*")) >= n
            except OSError:
                return False

        cmd = ["leaderboard", "build", str(recipes), "--out", str(out), "--cache", str(cache), "--no-progress"]
        proc = subprocess.Popen([sys.executable, "-c", "from lvsbench.cli import main; main()", *cmd], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not ready():
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(sig)
        proc.wait(timeout=60)
        assert _cli(cmd) == 0
        assert built_tree(out) == want, f"fraction {frac}, signal {sig}"
        assert not _partials(cache) and not _partials(out)


STOP_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_models_train import small_recipe
from lvsbench.models.train import train
from lvsbench.models.toydata import SceneDataset
rec = small_recipe("locater", steps=8).replace(checkpoint_every=1000, checkpoint_minutes=60.0)
train(SceneDataset(6, seed=1, frames=6, height=32, width=40), {out!r}, rec, progress=False, log=print)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_train_saves_its_state_when_stopped_and_resumes_identical(tmp_path: Path, sig: int) -> None:
    """No periodic save is due (checkpoint_every and checkpoint_minutes far away): Ctrl-C or SIGTERM itself makes
    train finish the step in progress, save that step's state atomically and stop (SIGINT: KeyboardInterrupt,
    SIGTERM: ended by the signal, as without training); `--resume` then ends with the uninterrupted weights."""
    torch = pytest.importorskip("torch")
    import json as _json

    from test_models_train import small_recipe

    from lvsbench.models.toydata import SceneDataset
    from lvsbench.models.train import train

    rec = small_recipe("locater", steps=8).replace(checkpoint_every=1000, checkpoint_minutes=60.0)
    ds = SceneDataset(6, seed=1, frames=6, height=32, width=40)
    want = torch.load(train(ds, tmp_path / "ref", rec, progress=False, log=lambda s: None).checkpoint,
                      weights_only=True)["state_dict"]
    out = tmp_path / "cut"
    metrics = out / "metrics.jsonl"
    script = STOP_SCRIPT.format(tests=str(Path(__file__).resolve().parent), out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not (
            metrics.is_file() and len(metrics.read_text().splitlines()) >= 2):
        time.sleep(0.01)
    assert proc.poll() is None, "training ended before the signal"
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == -sig, stderr  # the signal's own ending, after the save
    done = len(metrics.read_text().splitlines())
    assert 2 <= done < 8
    assert f"stopped by {signal.Signals(sig).name} after step {done}; state saved" in stdout
    state = torch.load(out / "state.pt", weights_only=True)
    assert state["step"] == done and torch.load(out / "ckpt.pt", weights_only=True)["step"] == done
    assert not _partials(out)
    got = train(ds, out, rec, progress=False, log=lambda s: None, resume=True)
    assert got.steps == 8
    have = torch.load(got.checkpoint, weights_only=True)["state_dict"]
    assert all(torch.equal(want[n], have[n]) for n in want)
    assert [_json.loads(x)["step"] for x in metrics.read_text().splitlines()] == list(range(1, 9))
