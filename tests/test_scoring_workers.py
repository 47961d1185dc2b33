"""`lvsbench score --workers auto`: the cores a process may use (affinity mask, cgroup v1 / v2 CPU quota), and
scores that do not depend on the number of workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures.runner_support import load_synthetic, make_synthetic

from lvsbench.core.errors import ConfigError
from lvsbench.scoring.workers import cgroup_cpu_limit, cpu_count, resolve_workers


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_is_the_smallest_along_the_path(tmp_path: Path) -> None:
    proc = tmp_path / "cgroup"
    _write(proc, "0::/kubepods/pod1/ctr\n")
    fs = tmp_path / "fs"
    _write(fs / "kubepods" / "cpu.max", "max 100000\n")
    _write(fs / "kubepods" / "pod1" / "cpu.max", "350000 100000\n")
    _write(fs / "kubepods" / "pod1" / "ctr" / "cpu.max", "max 100000\n")
    assert cgroup_cpu_limit(proc, fs) == 3.5
    _write(fs / "kubepods" / "pod1" / "cpu.max", "max 100000\n")
    assert cgroup_cpu_limit(proc, fs) is None  # unlimited everywhere


def test_cgroup_v2_inside_a_container_reads_its_root(tmp_path: Path) -> None:
    _write(tmp_path / "cgroup", "0::/\n")
    _write(tmp_path / "fs" / "cpu.max", "150000 100000\n")  # docker --cpus 1.5
    assert cgroup_cpu_limit(tmp_path / "cgroup", tmp_path / "fs") == 1.5


def test_cgroup_v1_cfs_quota(tmp_path: Path) -> None:
    _write(tmp_path / "cgroup", "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n")
    d = tmp_path / "fs" / "cpu,cpuacct" / "docker" / "abc"
    _write(d / "cpu.cfs_quota_us", "200000\n")
    _write(d / "cpu.cfs_period_us", "100000\n")
    assert cgroup_cpu_limit(tmp_path / "cgroup", tmp_path / "fs") == 2.0
    _write(d / "cpu.cfs_quota_us", "-1\n")
    assert cgroup_cpu_limit(tmp_path / "cgroup", tmp_path / "fs") is None
    assert cgroup_cpu_limit(tmp_path / "no-such-file", tmp_path / "fs") is None  # not Linux


def test_workers_auto_is_the_usable_core_count() -> None:
    n = cpu_count()
    assert 1 <= n <= len(os.sched_getaffinity(0))
    limit = cgroup_cpu_limit()
    if limit is not None:
        assert n <= max(1, int(-(-limit // 1)))
    assert resolve_workers("auto") == n and resolve_workers("AUTO") == n
    assert resolve_workers("3") == 3 and resolve_workers(2) == 2
    for bad in ("0", "-1", "many", 0):
        with pytest.raises(ConfigError):
            resolve_workers(bad)


def test_score_cli_workers_auto_equals_one_worker(tmp_path: Path) -> None:
    from lvsbench.adapters.registry import create_adapter
    from lvsbench.cli import cli
    from lvsbench.run.runner import RunOptions, run

    root = make_synthetic("ryvos", tmp_path / "ryvos", seed=4)
    run(create_adapter("random"), load_synthetic("ryvos", root), RunOptions(out=tmp_path / "r", progress=False))
    results = {}
    for w in ("1", "auto"):
        res = CliRunner().invoke(cli, ["score", str(tmp_path / "r"), "--dataset", "ryvos", "--root", str(root),
                                       "--split", "train", "--workers", w, "--json"])
        assert res.exit_code == 0, res.output
        results[w] = json.loads(res.output)
    assert results["1"]["values"] == results["auto"]["values"]
    assert results["auto"]["options"]["workers"] == cpu_count()
    res = CliRunner().invoke(cli, ["score", str(tmp_path / "r"), "--dataset", "ryvos", "--root", str(root),
                                   "--split", "train", "--workers", "lots"])
    assert isinstance(res.exception, ConfigError)


def test_workers_after_multithreaded_opencv_in_the_parent(tmp_path: Path) -> None:
    """`score(workers=2)` after OpenCV has run on several threads in the same process (a notebook, a test run):
    the forked workers used to hang forever in `cv2.setNumThreads` (inherited thread-pool state). Now they finish
    with the one-process values, and the caller's OpenCV thread count is left as it was."""
    from lvsbench.adapters.registry import create_adapter
    from lvsbench.run.runner import RunOptions, run

    root = make_synthetic("ryvos", tmp_path / "ryvos", seed=4)
    run(create_adapter("random"), load_synthetic("ryvos", root), RunOptions(out=tmp_path / "r", progress=False))
    script = f"""
import cv2, numpy as np
from lvsbench.datasets.registry import load
from lvsbench.scoring import score
cv2.setNumThreads(2)
big = (np.random.default_rng(0).random((2000, 2000)) > 0.5).astype(np.uint8)
for _ in range(5):
    cv2.dilate(big, np.ones((9, 9), np.uint8))
ds = load("ryvos", {str(root)!r}, "train")
two = score({str(tmp_path / "r")!r}, ds, "ryvos", workers=2)
assert two.values == score({str(tmp_path / "r")!r}, ds, "ryvos").values
assert cv2.getNumThreads() == 2
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=90, env=env)
    assert done.returncode == 0, done.stderr
