"""`--force` replaces only folders lvsbench wrote: every command that writes a folder refuses, with the path and exit
2, to replace a folder holding a file of the user's, and the file survives."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvsbench.cli import main
from lvsbench.core.errors import ConfigError
from lvsbench.core.io import OUTPUT_MARKER, prepare_output_dir, remove_output_dir


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out + out.err


@pytest.fixture(scope="module")
def ryvos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ryvos") / "r"
    with pytest.raises(SystemExit) as exc:
        main(["synth", "ryvos", "--out", str(root), "--videos", "2", "--height", "24", "--width", "32",
              "--frames", "4"])
    assert exc.value.code in (0, None)
    return root


def precious(tmp_path: Path) -> Path:
    d = tmp_path / "precious"
    d.mkdir()
    (d / "thesis.tex").write_text("years of work")
    return d


def refused_and_kept(code: int, out: str, d: Path) -> None:
    assert code == 2, out
    assert str(d) in out and "--force" in out
    assert (d / "thesis.tex").read_text() == "years of work"


def test_marker_written_first_and_force_replaces_own(tmp_path: Path) -> None:
    d = prepare_output_dir(tmp_path / "o", force=False)
    assert (d / OUTPUT_MARKER).is_file()
    (d / "x").write_text("1")
    prepare_output_dir(d, force=True)
    assert sorted(p.name for p in d.iterdir()) == [OUTPUT_MARKER]
    p = precious(tmp_path)
    with pytest.raises(ConfigError, match="precious"):
        prepare_output_dir(p, force=True)
    with pytest.raises(ConfigError, match="refusing to delete"):
        remove_output_dir(p)
    assert (p / "thesis.tex").is_file()


@pytest.mark.parametrize("name", ["ryvos", "a2d"])
def test_synth(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = precious(tmp_path)
    refused_and_kept(*run(["synth", name, "--out", str(d), "--videos", "1", "--force"], capsys), d)


def test_convert(ryvos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = precious(tmp_path)
    refused_and_kept(*run(["convert", "ryvos", "--root", str(ryvos), "--out", str(d), "--force"], capsys), d)


def test_run_merge_import(ryvos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = precious(tmp_path)
    base = ["--dataset", "ryvos", "--root", str(ryvos), "--split", "train"]
    refused_and_kept(*run(["run", "oracle", *base, "--out", str(d), "--force"], capsys), d)
    shard = tmp_path / "shard"
    code, out = run(["run", "oracle", *base, "--out", str(shard)], capsys)
    assert code == 0, out
    assert (shard / OUTPUT_MARKER).is_file()
    refused_and_kept(*run(["merge", str(shard), "--out", str(d), "--force"], capsys), d)
    refused_and_kept(*run(["import-preds", "referformer", str(shard / "Annotations"), *base, "--out", str(d),
                           "--force"], capsys), d)
    # the run's own folder is replaced with --force
    code, out = run(["run", "oracle", *base, "--out", str(shard), "--force"], capsys)
    assert code == 0, out


def test_score_out_folder(ryvos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = precious(tmp_path)
    code, out = run(["score", str(tmp_path / "nothing"), "--dataset", "ryvos", "--root", str(ryvos), "--out",
                     str(d), "--force"], capsys)
    assert code == 2 and (d / "thesis.tex").is_file()


def test_build_hard_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = precious(tmp_path)
    refused_and_kept(*run(["build-hard-split", "--a2d-root", str(tmp_path), "--out", str(d), "--force",
                           "--no-progress"], capsys), d)


def test_train(ryvos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    d = precious(tmp_path)
    refused_and_kept(*run(["train", "urvos", "--dataset", "ryvos", "--root", str(ryvos), "--out", str(d),
                           "--force", "--device", "cpu"], capsys), d)


def test_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = precious(tmp_path)
    refused_and_kept(*run(["demo", "--out", str(d), "--force"], capsys), d)


def test_report_onto_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = precious(tmp_path)
    code, out = run(["report", str(tmp_path / "none.json"), "--out", str(d), "--force"], capsys)
    assert code == 2 and (d / "thesis.tex").is_file()
