"""`ryvos` protocol (MeViS convention: per-expression mean J / F over all scored frames, mean over expressions),
validation before scoring, missing / extra handling, PNG tree vs zip, workers."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lvsbench.core.errors import ValidationFailed
from lvsbench.formats.png_tree import write_png_prediction
from lvsbench.metrics.functional import j_and_f
from lvsbench.scoring import score
from tests.scoring_helpers import ToyVideo, moving_objects_video, write_oracle_png, write_toy_dataset

SHAPE = (40, 56)


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    rng = np.random.default_rng(1)
    vids = [moving_objects_video(f"vid{i}", 5, 1 + i % 3, SHAPE, rng, frame_step=5) for i in range(4)]
    root = tmp_path_factory.mktemp("ryvos")
    return write_toy_dataset(root / "ds", vids, name="toy", default_protocol="ryvos")


def test_oracle_scores_maximum_and_is_labelled_proxy(toy, tmp_path: Path) -> None:
    write_oracle_png(toy, tmp_path / "p")
    r = score(tmp_path / "p", toy)  # default protocol from the card
    assert r.protocol.name == "ryvos" and r.protocol.proxy
    assert r.values == {"J&F": 1.0, "J": 1.0, "F": 1.0}
    assert "OFFLINE PROXY" in r.table()
    assert len(r.per_sample) == len(toy.expressions())
    assert r.results["counts"]["frame_objects"] == 5 * len(toy.expressions())


def test_empty_predictions_known_values(tmp_path: Path) -> None:
    # one expression, GT present on frame 0 and absent on frame 1; empty prediction:
    # frame 0: J = 0, F = 0 (GT boundary only); frame 1: both empty, J = F = 1  ->  J = F = J&F = 0.5
    lab0 = np.zeros(SHAPE, np.uint8)
    lab0[10:20, 10:30] = 1
    ds = write_toy_dataset(tmp_path / "ds", [ToyVideo("v", {"00000": lab0, "00005": np.zeros(SHAPE, np.uint8)},
                                                      [("0", "the box", (1,), ())])])
    for f in ("00000", "00005"):
        write_png_prediction(tmp_path / "p", "v", "0", f, np.zeros(SHAPE, bool))
    r = score(tmp_path / "p", ds, "ryvos")
    assert r.values == {"J&F": 0.5, "J": 0.5, "F": 0.5}


def test_mean_is_over_expressions_not_frames(tmp_path: Path) -> None:
    # expression A scored on 1 frame (perfect), expression B on 3 frames (all wrong): MeViS mean over expressions
    # gives J = (1 + 0) / 2 = 0.5, whereas a mean over frames would give 0.25
    lab = np.zeros(SHAPE, np.uint8)
    lab[5:15, 5:15] = 1
    lab[25:35, 30:50] = 2
    labels = {f"{t:05d}": lab for t in range(3)}
    ds = write_toy_dataset(tmp_path / "ds", [ToyVideo("v", labels, [("a", "left", (1,), ("00000",)),
                                                                   ("b", "right", (2,), ())])])
    write_png_prediction(tmp_path / "p", "v", "a", "00000", lab == 1)
    for f in labels:
        write_png_prediction(tmp_path / "p", "v", "b", f, np.zeros(SHAPE, bool))
    r = score(tmp_path / "p", ds, "ryvos")
    assert r.values["J"] == 0.5 and r.values["F"] == 0.5
    rows = r.per_sample.set_index("exp_id")
    assert rows.loc["a", "n_frames"] == 1 and rows.loc["b", "n_frames"] == 3


def test_values_equal_direct_metric_calls_and_workers_and_zip(toy, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)

    def noisy(gt: np.ndarray, e, f) -> np.ndarray:  # noqa: ANN001
        return np.roll(gt, int(rng.integers(-3, 4)), axis=1) ^ (rng.random(gt.shape) < 0.01)

    write_oracle_png(toy, tmp_path / "p", transform=noisy)
    from lvsbench.core.codecs import read_binary_png
    from lvsbench.core.records import expression_mask

    per_exp = []
    for e in toy.expressions():
        js, fs = [], []
        for f in toy.expression_frames(e):
            gt = expression_mask(toy.read_labels(e.video_id, f), e.object_ids)
            pred = read_binary_png(tmp_path / "p" / e.video_id / e.id / f"{f}.png")
            j, fv = j_and_f(gt, pred)
            js.append(j)
            fs.append(fv)
        per_exp.append((np.mean(js), np.mean(fs)))
    want_j = float(np.mean([j for j, _ in per_exp]))
    want_f = float(np.mean([f for _, f in per_exp]))
    r1 = score(tmp_path / "p", toy, "ryvos")
    assert r1.values["J"] == want_j and r1.values["F"] == want_f and r1.values["J&F"] == (want_j + want_f) / 2
    r2 = score(tmp_path / "p", toy, "ryvos", workers=2)
    assert r2.values == r1.values
    assert r2.per_sample[["video_id", "exp_id", "J", "F"]].equals(r1.per_sample[["video_id", "exp_id", "J", "F"]])
    z = tmp_path / "sub.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted((tmp_path / "p").rglob("*.png")):
            zf.write(p, "Annotations/" + p.relative_to(tmp_path / "p").as_posix())
    r3 = score(z, toy, "ryvos")
    assert r3.values == r1.values and r3.results["predictions"]["format"] == "png-zip"


def _incomplete(toy, root: Path) -> Path:  # noqa: ANN001
    write_oracle_png(toy, root)
    shutil.rmtree(root / "vid1")  # a whole video
    shutil.rmtree(root / "vid2" / "1")  # an expression
    (root / "vid3" / "0" / "00005.png").unlink()  # two frames
    (root / "vid2" / "2" / "00020.png").unlink()
    return root


def test_incomplete_predictions_are_refused_with_every_item(toy, tmp_path: Path) -> None:
    p = _incomplete(toy, tmp_path / "p")
    with pytest.raises(ValidationFailed) as err:
        score(p, toy, "ryvos")
    paths = {pr.path: pr.message for pr in err.value.problems}
    assert paths == {
        str(p / "vid1"): "video missing (10 scored frame(s))",
        str(p / "vid2" / "1"): "expression missing (5 scored frame(s))",
        str(p / "vid3" / "0" / "00005.png"): "frame missing",
        str(p / "vid2" / "2" / "00020.png"): "frame missing",
    }
    assert "4 problem(s)" in str(err.value)


def test_allow_missing_scores_empty_and_records_items(toy, tmp_path: Path) -> None:
    p = _incomplete(toy, tmp_path / "p")
    r = score(p, toy, "ryvos", allow_missing=True)
    kinds = sorted((m["kind"], m["video_id"]) for m in r.results["missing"])
    assert kinds == [("expression", "vid2"), ("frame", "vid2"), ("frame", "vid3"), ("video", "vid1")]
    assert r.results["counts"]["missing_scored"] == 10 + 5 + 2
    # same numbers as writing the missing masks as empty files
    q = tmp_path / "q"
    write_oracle_png(toy, q)
    for e in toy.expressions():
        for f in toy.expression_frames(e):
            if not (p / e.video_id / e.id / f"{f}.png").exists():
                write_png_prediction(q, e.video_id, e.id, f, np.zeros(SHAPE, bool))
    assert score(q, toy, "ryvos").values == r.values
    assert r.values["J&F"] < 1.0


def test_unexpected_items_refused_then_ignored(toy, tmp_path: Path) -> None:
    p = tmp_path / "p"
    write_oracle_png(toy, p)
    write_png_prediction(p, "ghost", "0", "00000", np.zeros(SHAPE, bool))
    write_png_prediction(p, "vid0", "9", "00000", np.zeros(SHAPE, bool))
    write_png_prediction(p, "vid0", "0", "99999", np.zeros(SHAPE, bool))
    with pytest.raises(ValidationFailed) as err:
        score(p, toy, "ryvos")
    got = {pr.path for pr in err.value.problems}
    assert got == {str(p / "ghost"), str(p / "vid0" / "9"), str(p / "vid0" / "0" / "99999.png")}
    r = score(p, toy, "ryvos", allow_extra=True)
    assert r.values["J&F"] == 1.0 and len(r.results["ignored_extra"]) == 3


def test_size_mismatch_and_corrupt_png_name_the_files(toy, tmp_path: Path) -> None:
    p = tmp_path / "p"
    write_oracle_png(toy, p)
    small = p / "vid0" / "0" / "00010.png"
    write_png_prediction(p, "vid0", "0", "00010", np.zeros((SHAPE[0] - 1, SHAPE[1]), bool))
    broken = p / "vid2" / "0" / "00000.png"
    broken.write_bytes(b"\x89PNG broken")
    with pytest.raises(ValidationFailed) as err:
        score(p, toy, "ryvos", workers=2)
    msgs = {pr.path: pr.message for pr in err.value.problems}
    assert set(msgs) == {str(small), str(broken)}
    assert "56x39" in msgs[str(small)] and "56x40" in msgs[str(small)]
    assert "cannot decode" in msgs[str(broken)]


def test_group_by_objects_in_video(toy, tmp_path: Path) -> None:
    write_oracle_png(toy, tmp_path / "p", transform=lambda gt, e, f: gt if e.video_id != "vid2" else ~gt)
    r = score(tmp_path / "p", toy, "ryvos", by="num_objects_bin")
    g = r.per_group.set_index("num_objects_bin")
    assert list(g.index) == ["1", "2", "3"]
    assert g.loc["1", "J&F"] == 1.0 and g.loc["2", "J&F"] == 1.0
    # an inverted mask has J = 0 but the very same boundary map, so F = 1 (boundary rules, not mask rules)
    assert g.loc["3", "J"] == 0.0 and g.loc["3", "F"] == 1.0
    assert g["n"].sum() == len(r.per_sample)
    assert r.results["groups"]["by"] == "num_objects_bin"
