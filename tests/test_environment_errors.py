"""Environment failures and the files `--resume` reads are user errors (exit 2, one line naming the path); the
leaderboard cache is held by one build at a time; KEY=VALUE options are typed."""

from __future__ import annotations

import contextlib
import errno
import io
import os
from pathlib import Path

import pytest

from lvsbench.cli import main
from lvsbench.core.errors import ConfigError, DataFormatError
from lvsbench.core.options import parse_typed_options, split_key_values
from lvsbench.pipeline.cache import Cache


def invoke(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), pytest.raises(SystemExit) as e:
        main(args)
    return int(e.value.code or 0), err.getvalue()


@pytest.fixture(scope="module")
def ryvos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("env") / "ryvos"
    code, err = invoke(["synth", "ryvos", "--out", str(root), "--videos", "1", "--frames", "4", "--height", "24",
                        "--width", "32"])
    assert code == 0, err
    return root


@pytest.mark.parametrize("eno", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_full_read_only_or_forbidden_disk_is_exit_2_naming_the_path(ryvos: Path, tmp_path: Path, eno: int,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real_replace = os.replace

    def failing_replace(src, dst):  # noqa: ANN001, ANN202 - the disk, not lvsbench, fails
        if str(dst).endswith("run.json"):
            raise OSError(eno, os.strerror(eno))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    out = tmp_path / "run"
    code, err = invoke(["run", "oracle", "--dataset", "ryvos", "--root", str(ryvos), "--split", "train", "--out",
                        str(out), "--quiet"])
    assert code == 2, err
    assert err.count("\n") == 1 and str(out / "run.json") in err and "Traceback" not in err


def test_other_os_errors_stay_bugs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(*a, **k):  # noqa: ANN002, ANN003, ANN202
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        main(["synth", "ryvos", "--out", str(tmp_path / "x"), "--videos", "1"])


def test_resume_reads_validated_files(ryvos: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    base = ["run", "oracle", "--dataset", "ryvos", "--root", str(ryvos), "--split", "train", "--out", str(out),
            "--quiet"]
    assert invoke(base)[0] == 0
    log = out / "run_log.jsonl"
    good = log.read_text()
    log.write_text("null\n" + good)
    code, err = invoke([*base, "--resume"])
    assert code == 2 and "run_log.jsonl" in err and "line 1" in err
    log.write_text(good)
    (out / "run.json").write_text("{corrupt")
    code, err = invoke([*base, "--resume"])
    assert code == 2 and "run.json" in err


def test_unfinished_run_suggests_resume(ryvos: Path, tmp_path: Path) -> None:
    import json

    out = tmp_path / "run"
    base = ["run", "oracle", "--dataset", "ryvos", "--root", str(ryvos), "--split", "train", "--out", str(out),
            "--quiet"]
    assert invoke(base)[0] == 0
    doc = json.loads((out / "run.json").read_text())
    doc["status"] = "interrupted"
    (out / "run.json").write_text(json.dumps(doc))
    code, err = invoke(base)
    assert code == 2 and "--resume" in err
    assert invoke([*base, "--resume"])[0] == 0


def test_oracle_refuses_a_split_without_ground_truth(ryvos: Path, tmp_path: Path) -> None:
    code, err = invoke(["run", "oracle", "--dataset", "ryvos", "--root", str(ryvos), "--split", "valid", "--out",
                        str(tmp_path / "run"), "--quiet"])
    assert code == 2 and "ground truth" in err and not (tmp_path / "run" / "Annotations").exists()


def test_cache_lock_and_stale_temp_folders(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    stale = tmp_path / "cache" / "preds" / ".abc.x1.tmp"
    stale.mkdir(parents=True)
    (stale / "half.png").write_bytes(b"x")
    with cache.locked():
        assert not stale.exists()
        with pytest.raises(ConfigError, match="in use by another"), Cache(tmp_path / "cache").locked():
            pass
    with cache.locked():  # released
        pass


def test_typed_key_values() -> None:
    assert parse_typed_options(["drop_unlocated=false", "frames=3", "thr=0.5", "name=x", "Flag=TRUE"]) == {
        "drop_unlocated": False, "frames": 3, "thr": 0.5, "name": "x", "Flag": True}
    with pytest.raises(ConfigError, match="given twice"):
        split_key_values(["a=1", "a=2"])
    with pytest.raises(ConfigError, match="key=value"):
        split_key_values(["novalue"])


def test_cr_only_and_non_utf8_text(tmp_path: Path) -> None:
    from lvsbench.core.textfiles import read_text
    from lvsbench.datasets.a2d import read_missed

    p = tmp_path / "a2d_missed_videos.txt"
    p.write_bytes(b"-abc\r-def\r")
    assert read_missed(p) == ["-abc", "-def"]
    p.write_bytes(b"-abc\n\xff\xfe\n")
    with pytest.raises(DataFormatError, match="line 2"):
        read_text(p)
