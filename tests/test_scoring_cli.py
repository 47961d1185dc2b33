"""`lvsbench score` on the command line: table, results JSON, per-sample CSV, --by, exit codes, root resolution."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lvsbench import __version__
from lvsbench.cli import main
from lvsbench.core.io import sha256_tree
from lvsbench.datasets.layout import card_checksum
from tests.scoring_helpers import moving_objects_video, write_oracle_png, write_toy_dataset


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("LVSBENCH_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("LVSBENCH_TOY_ROOT", raising=False)
    rng = np.random.default_rng(2)
    ds = write_toy_dataset(tmp_path / "gt", [moving_objects_video(f"-v{i}", 3, 1 + i, (24, 32), rng)
                                             for i in range(3)], name="toy")
    write_oracle_png(ds, tmp_path / "preds")
    return tmp_path, ds


def test_score_writes_results_json_and_csv(setup, capsys: pytest.CaptureFixture[str]) -> None:
    tmp, ds = setup
    out, per = tmp / "results.json", tmp / "samples.csv"
    code, stdout, err = run(["score", str(tmp / "preds"), "--dataset", "toy", "--root", str(tmp / "gt"),
                             "--out", str(out), "--per-sample", str(per), "--by", "num_objects_bin"], capsys)
    assert code == 0, err
    assert "protocol ryvos" in stdout and "J&F" in stdout and "OFFLINE PROXY" in stdout
    res = json.loads(out.read_text())
    assert res["protocol"]["name"] == "ryvos" and res["lvsbench_version"] == __version__
    assert res["values"] == {"J&F": 1.0, "J": 1.0, "F": 1.0}
    assert res["counts"]["expressions"] == 6 and res["counts"]["frame_objects"] == 18
    assert res["dataset"]["checksum"] == card_checksum(tmp / "gt") and res["dataset"]["checksum_kind"] == "card"
    assert res["predictions"] == {"path": str(tmp / "preds"), "format": "png-tree",
                                  "checksum": sha256_tree(tmp / "preds")}
    assert res["options"]["by"] == "num_objects_bin" and res["missing"] == []
    assert [g["num_objects_bin"] for g in res["groups"]["rows"]] == ["1", "2", "3"]
    rows = list(csv.DictReader(per.open()))
    assert len(rows) == 6 and {"video_id", "exp_id", "J", "F", "J&F", "text"} <= set(rows[0])
    # no silent overwrite
    code, _, err = run(["score", str(tmp / "preds"), "--dataset", "toy", "--root", str(tmp / "gt"), "--out",
                        str(out)], capsys)
    assert code == 2 and "already exists" in err
    code, stdout, _ = run(["score", str(tmp / "preds"), "--dataset", "toy", "--root", str(tmp / "gt"), "--out",
                           str(out), "--force", "--json"], capsys)
    assert code == 0 and json.loads(stdout)["values"]["J&F"] == 1.0


def test_incomplete_predictions_exit_2_with_full_list(setup, capsys: pytest.CaptureFixture[str]) -> None:
    tmp, ds = setup
    shutil.rmtree(tmp / "preds" / "-v2")
    (tmp / "preds" / "-v1" / "1" / "00002.png").unlink()
    args = ["score", str(tmp / "preds"), "--dataset", "toy", "--root", str(tmp / "gt")]
    code, _, err = run(args, capsys)
    assert code == 2
    assert str(tmp / "preds" / "-v2") in err and str(tmp / "preds" / "-v1" / "1" / "00002.png") in err
    assert "2 problem(s)" in err
    code, stdout, err = run(args + ["--allow-missing", "--json"], capsys)
    assert code == 0, err
    res = json.loads(stdout)
    assert {m["kind"] for m in res["missing"]} == {"video", "frame"} and res["values"]["J&F"] < 1


def test_root_resolution_and_bad_options(setup, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    tmp, _ = setup
    code, _, err = run(["score", str(tmp / "preds"), "--dataset", "toy"], capsys)
    assert code == 2 and "--root" in err and "LVSBENCH_TOY_ROOT" in err and "config" in err
    monkeypatch.setenv("LVSBENCH_TOY_ROOT", str(tmp / "gt"))
    code, stdout, err = run(["score", str(tmp / "preds"), "--dataset", "toy", "--protocol", "a2d-plus"], capsys)
    assert code == 0, err
    assert "locater_mAP" in stdout and "\n  mAP" not in stdout
    code, _, err = run(["score", str(tmp / "preds"), "--dataset", "toy", "--protocol", "nope"], capsys)
    assert code == 2 and "unknown protocol" in err
    code, _, err = run(["score", str(tmp / "preds"), "--dataset", "toy", "--protocol", "rdavis"], capsys)
    assert code == 2 and "davis-anno" in err
    code, _, err = run(["score", str(tmp / "preds"), "--dataset", "toy", "--by", "nope"], capsys)
    assert code == 2 and "no such per-sample column" in err
