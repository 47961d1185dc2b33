"""train -> run -> score through the command line, for both reference models, on a small synthetic A2D set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from lvsbench.adapters import registry  # noqa: E402
from lvsbench.cli import main  # noqa: E402
from lvsbench.models.adapters import ADAPTERS  # noqa: E402

RECIPE = """
[recipe]
name = "{model}-cli-test"
model = "{model}"
[model]
word_dim = 16
dim = 32
heads = 2
ffn = 64
enc_widths = [8, 16]
decoder_dim = 16
[data]
size = [32, 48]
clip = 2
[train]
steps = 3
batch_size = 2
threads = 1
log_every = 1
warmup_steps = 1
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.fixture(scope="module")
def a2d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lvsbench.synth import get_writer

    root = tmp_path_factory.mktemp("models-cli") / "a2d"
    get_writer("a2d")(root, videos=8, seed=5, height=32, width=48, frames=6, frame_format="png")
    return root


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Use the built-in registration when the registry has it, else register at run time for this test."""
    monkeypatch.setenv("LVSBENCH_CONFIG", str(tmp_path / "no-config.toml"))
    known = registry.names()
    for name, target in ADAPTERS.items():
        if name not in known:
            registry.register_adapter(name, target)
    yield
    for name in ADAPTERS:
        if name not in known:
            registry.unregister_adapter(name)


@pytest.mark.parametrize("model", ["locater", "urvos"])
def test_train_run_score(model: str, a2d: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(RECIPE.format(model=model))
    out = tmp_path / "train"
    code, stdout, err = run(["train", model, "--dataset", "a2d", "--root", str(a2d), "--split", "train",
                             "--out", str(out), "--recipe", str(recipe), "--device", "cpu", "--quiet", "--json"],
                            capsys)
    assert code == 0, err
    info = json.loads(stdout)
    assert info["steps"] == 3 and info["recipe"] == f"{model}-cli-test"
    ckpt = out / "ckpt.pt"
    assert ckpt.is_file() and (out / "metrics.jsonl").is_file() and (out / "recipe.json").is_file()
    # a second train into the same directory is refused, --resume of a finished run is a no-op
    code, _, err = run(["train", model, "--dataset", "a2d", "--root", str(a2d), "--out", str(out), "--recipe",
                        str(recipe), "--device", "cpu", "--quiet"], capsys)
    assert code == 2 and "already exists" in err

    preds = tmp_path / "preds"
    code, stdout, err = run(["run", model, "--dataset", "a2d", "--root", str(a2d), "--split", "test",
                             "--out", str(preds), "--checkpoint", str(ckpt), "--device", "cpu", "--quiet",
                             "--json"], capsys)
    assert code == 0, err
    r = json.loads(stdout)
    assert r["status"] == "complete"
    run_json = json.loads((preds / "run.json").read_text())
    assert run_json["adapter"]["info"]["recipe_sha256"] == info["recipe_sha256"]

    res_path = tmp_path / "results.json"
    code, stdout, err = run(["score", r["predictions"], "--dataset", "a2d", "--root", str(a2d), "--split", "test",
                             "--protocol", "a2d", "--out", str(res_path), "--json"], capsys)
    assert code == 0, err
    res = json.loads(res_path.read_text())
    # the harness (adapter -> runner -> COCO results -> scorer) and the model's own evaluation agree exactly
    from lvsbench.datasets.registry import load
    from lvsbench.models.evaluate import evaluate
    from lvsbench.models.train import load_checkpoint

    own = evaluate(load_checkpoint(ckpt), load("a2d", a2d, "test")).summary()
    assert res["counts"]["samples"] == own["samples"] > 0
    assert res["values"]["mean_iou"] == pytest.approx(own["mean_iou"], abs=1e-6)
    assert res["values"]["overall_iou"] == pytest.approx(own["overall_iou"], abs=1e-6)


def test_train_errors(a2d: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[recipe]\nmodel = "locater"\n[train]\nlearning_rate = 1\n')
    code, _, err = run(["train", "locater", "--dataset", "a2d", "--root", str(a2d), "--out", str(tmp_path / "o"),
                        "--recipe", str(bad), "--device", "cpu"], capsys)
    assert code == 2 and "learning_rate" in err and "bad.toml" in err
    code, _, err = run(["train", "locater", "--dataset", "a2d", "--root", str(a2d), "--out", str(tmp_path / "o2"),
                        "--device", "cpu", "--resume"], capsys)
    assert code == 2 and "nothing to resume" in err


def test_ctrl_c_saves_the_state_and_resume_finishes(a2d: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """`lvsbench train` stopped by Ctrl-C between periodic saves: exit 130 after writing the state of the last
    whole step; `--resume` continues from there to the end."""
    import signal
    import subprocess
    import sys
    import time

    import torch

    recipe = tmp_path / "recipe.toml"
    recipe.write_text(RECIPE.format(model="locater").replace("steps = 3", "steps = 200\ncheckpoint_every = 1000"))
    out = tmp_path / "train"
    args = ["train", "locater", "--dataset", "a2d", "--root", str(a2d), "--split", "train", "--out", str(out),
            "--recipe", str(recipe), "--device", "cpu", "--quiet"]
    proc = subprocess.Popen([sys.executable, "-c", "from lvsbench.cli import main; main()", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = out / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not (
            metrics.is_file() and len(metrics.read_text().splitlines()) >= 2):
        time.sleep(0.01)
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    done = len(metrics.read_text().splitlines())
    assert f"stopped by SIGINT after step {done}; state saved" in stdout + stderr
    assert torch.load(out / "state.pt", weights_only=True)["step"] == done < 200
    code, _, err = run([*args, "--resume"], capsys)
    assert code == 0, err
    assert torch.load(out / "ckpt.pt", weights_only=True)["step"] == 200


def test_train_hint_names_the_datasets_evaluation_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The "run with:" line after training suggests the dataset's own evaluation split (MeViS: valid_u), not a
    fixed `test` that MeViS does not have."""
    from lvsbench.synth import get_writer

    root = get_writer("mevis")(tmp_path / "mevis", videos=2, seed=0, height=48, width=64, frames=4)
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(RECIPE.format(model="locater"))
    code, stdout, err = run(["train", "locater", "--dataset", "mevis", "--root", str(root), "--split", "train",
                             "--out", str(tmp_path / "t"), "--recipe", str(recipe), "--device", "cpu", "--quiet"],
                            capsys)
    assert code == 0, err
    hint = stdout.strip().splitlines()[-1]
    assert hint.startswith("run with: lvsbench run locater") and hint.endswith("--split valid_u --out PREDS"), hint
