"""DAVIS-family protocols: `rdavis` (davis2017 unsupervised, Hungarian on (J+F)/2, 4 annotator runs averaged),
`rdavis-aligned` (ids aligned) and `davis-semi` (first/last frames dropped, void ignored), with hand-built cases."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from lvsbench.core.errors import ValidationFailed
from lvsbench.formats.davis_anno import write_palette_prediction
from lvsbench.metrics.functional import j_and_f
from lvsbench.scoring import score
from tests.scoring_helpers import ToyVideo, write_oracle_davis, write_toy_dataset

H, W = 48, 64
RUNS = (0, 1, 2, 3)


def rect(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def lab_of(*masks: np.ndarray, void: np.ndarray | None = None) -> np.ndarray:
    out = np.zeros((H, W), np.uint8)
    for k, m in enumerate(masks):
        out[m] = k + 1
    if void is not None:
        out[void] = 255
    return out


def refer_exps(n_objects: int) -> list[tuple[str, str, tuple[int, ...], tuple[str, ...]]]:
    """ReferFormer ids: object k has expressions 4k + a for annotator a."""
    return [(str(4 * k + a), f"object {k + 1} annot {a}", (k + 1,), ()) for k in range(n_objects) for a in RUNS]


def write_runs(root: Path, frames: dict[str, np.ndarray], runs=RUNS, vid: str = "v") -> Path:  # noqa: ANN001
    for r in runs:
        for f, lab in frames.items():
            write_palette_prediction(root, r, vid, f, lab)
    return root


@pytest.fixture()
def two(tmp_path: Path):  # noqa: ANN201
    g1, g2 = rect(5, 20, 5, 20), rect(25, 40, 40, 58)
    labels = {f"{t:05d}": lab_of(g1, g2) for t in range(4)}
    return write_toy_dataset(tmp_path / "ds", [ToyVideo("v", labels, refer_exps(2))], name="rdavis-toy",
                             default_protocol="rdavis"), g1, g2


def test_oracle_all_protocols_maximum(two, tmp_path: Path) -> None:
    ds, *_ = two
    write_oracle_davis(ds, tmp_path / "p")
    for proto in ("rdavis", "rdavis-aligned", "davis-semi"):
        r = score(tmp_path / "p", ds, proto)
        assert r.values["J&F-Mean"] == 1.0 and r.values["J-Recall"] == 1.0 and r.values["F-Decay"] == 0.0
    r = score(tmp_path / "p", ds)  # default protocol from the card
    assert r.protocol.name == "rdavis" and r.results["counts"]["runs"] == 4 and r.results["counts"]["objects"] == 2
    assert set(r.results["runs"]) == {"anno_0", "anno_1", "anno_2", "anno_3"}


def test_swapped_referents_hungarian_vs_aligned(two, tmp_path: Path) -> None:
    ds, g1, g2 = two
    write_runs(tmp_path / "p", {f"{t:05d}": lab_of(g2, g1) for t in range(4)})
    assert score(tmp_path / "p", ds, "rdavis").values["J&F-Mean"] == 1.0  # matching hides the swap
    r = score(tmp_path / "p", ds, "rdavis-aligned")
    assert r.values["J-Mean"] == 0.0 and r.values["F-Mean"] == 0.0  # far apart: no boundary within r = 1
    rows = score(tmp_path / "p", ds, "rdavis").per_sample
    assert sorted(zip(rows["object_id"], rows["pred_id"], strict=True))[:2] == [(1, 2), (1, 2)]
    assert set(rows["exp_id"]) == {"0", "1", "2", "3", "4", "5", "6", "7"}


def test_surplus_proposals_not_penalised_but_not_aligned_ids(two, tmp_path: Path) -> None:
    ds, g1, g2 = two
    lab = lab_of(g1, g2, rect(0, 3, 60, 64), rect(44, 48, 0, 4))  # ids 3 and 4 are spurious
    write_runs(tmp_path / "p", {f"{t:05d}": lab for t in range(4)})
    assert score(tmp_path / "p", ds, "rdavis").values["J&F-Mean"] == 1.0
    with pytest.raises(ValidationFailed, match="predicted id\\(s\\) \\[3, 4\\] are not ground-truth objects"):
        score(tmp_path / "p", ds, "rdavis-aligned")


def test_hungarian_finds_optimum_where_greedy_fails(tmp_path: Path) -> None:
    g1, g2 = rect(10, 30, 5, 25), rect(10, 30, 25, 45)
    p1, p2 = rect(10, 30, 12, 35), rect(10, 30, 0, 12)
    frames = [f"{t:05d}" for t in range(2)]
    ds = write_toy_dataset(tmp_path / "ds", [ToyVideo("v", {f: lab_of(g1, g2) for f in frames}, refer_exps(2))])
    write_runs(tmp_path / "p", {f: lab_of(p1, p2) for f in frames})
    obj = {}
    for (i, g), (j, p) in itertools.product(enumerate((g1, g2)), enumerate((p1, p2))):
        jv, fv = j_and_f(g, p)
        obj[(i, j)] = (jv + fv) / 2  # same on both frames
    best = max(itertools.permutations(range(2)), key=lambda perm: sum(obj[(i, perm[i])] for i in range(2)))
    greedy_first = max(range(2), key=lambda j: obj[(0, j)])
    assert best[0] != greedy_first  # the case discriminates: greedy on object 1 is not optimal
    r = score(tmp_path / "p", ds, "rdavis")
    got = {(int(o), int(p)) for o, p in zip(r.per_sample["object_id"], r.per_sample["pred_id"], strict=True)}
    assert got == {(i + 1, best[i] + 1) for i in range(2)}
    want_jf = float(np.mean([obj[(i, best[i])] for i in range(2)]))
    assert r.values["J&F-Mean"] == pytest.approx(want_jf, abs=1e-15)


def test_object_count_from_first_frame(tmp_path: Path) -> None:
    # frame 0 holds ids {1, 3}: objects are 1..3 (2 appears later and is kept; 4 appears later and is dropped)
    o1, o2, o3, o4 = rect(0, 8, 0, 8), rect(10, 18, 10, 18), rect(20, 28, 20, 28), rect(30, 38, 30, 38)
    labels = {"00000": lab_of(o1, np.zeros((H, W), bool), o3), "00001": lab_of(o1, o2, o3),
              "00002": lab_of(o1, o2, o3, o4)}
    ds = write_toy_dataset(tmp_path / "ds", [ToyVideo("v", labels, refer_exps(4))])
    write_oracle_davis(ds, tmp_path / "p")
    r = score(tmp_path / "p", ds, "rdavis")
    assert r.values["J&F-Mean"] == 1.0
    assert sorted(set(r.per_sample["object_id"])) == [1, 2, 3]
    # an empty prediction for object 2 scores 1 on frame 0 (both empty) and 0 on frames 1-2
    write_runs(tmp_path / "q", {f: np.where(lab == 2, 0, np.where(lab == 255, 0, lab)).astype(np.uint8)
                                for f, lab in labels.items()})
    r2 = score(tmp_path / "q", ds, "rdavis").per_sample
    assert r2[r2.object_id == 2]["J-Mean"].tolist() == [1 / 3] * 4


def test_void_used_by_unsupervised_ignored_by_semi(tmp_path: Path) -> None:
    g1, band = rect(10, 30, 10, 30), rect(15, 20, 0, 64)
    labels = {f"{t:05d}": lab_of(g1, void=band if 0 < t < 3 else None) for t in range(4)}
    exps = [("0", "the box", (1,), ())]
    ds = write_toy_dataset(tmp_path / "ds", [ToyVideo("v", labels, exps)])
    # frames 1-2: the prediction covers the object and the whole void band; frames 0, 3 (no void): exact
    pred = {f: lab_of(g1 | band) if 0 < t < 3 else lab_of(g1) for t, f in enumerate(labels)}
    write_runs(tmp_path / "p", pred, runs=(None,))
    r_unsup = score(tmp_path / "p", ds, "rdavis")
    assert r_unsup.values["J-Mean"] == 1.0 and r_unsup.values["F-Mean"] == 1.0
    r_semi = score(tmp_path / "p", ds, "davis-semi")  # frames 1, 2 only; void counted as background
    jv, fv = j_and_f(g1 & ~band, g1 | band)
    assert r_semi.values["J-Mean"] == jv and r_semi.values["F-Mean"] == fv and jv < 1


def test_semi_drops_first_and_last_frames(two, tmp_path: Path) -> None:
    ds, g1, g2 = two
    empty = np.zeros((H, W), np.uint8)
    frames = {"00000": empty, "00001": lab_of(g1, g2), "00002": lab_of(g1, g2), "00003": empty}
    write_runs(tmp_path / "p", frames, runs=(None,))
    r = score(tmp_path / "p", ds, "davis-semi")
    assert r.values["J&F-Mean"] == 1.0 and r.per_sample["n_frames"].tolist() == [2, 2]
    r_unsup = score(tmp_path / "p", ds, "rdavis")
    assert r_unsup.values["J-Mean"] == 0.5 and r_unsup.values["J-Recall"] == 0.5


def test_annotator_runs_are_averaged(two, tmp_path: Path) -> None:
    ds, g1, g2 = two
    write_runs(tmp_path / "p", {f"{t:05d}": lab_of(g1, g2) for t in range(4)}, runs=(0,))
    write_runs(tmp_path / "p", {f"{t:05d}": np.zeros((H, W), np.uint8) for t in range(4)}, runs=(1, 2, 3))
    r = score(tmp_path / "p", ds, "rdavis")
    assert r.results["runs"]["anno_0"]["J&F-Mean"] == 1.0 and r.results["runs"]["anno_2"]["J&F-Mean"] == 0.0
    assert r.values["J-Mean"] == 0.25 and r.values["J&F-Mean"] == 0.25 and r.values["F-Recall"] == 0.25


def test_missing_run_listed_then_scored_empty(two, tmp_path: Path) -> None:
    ds, g1, g2 = two
    write_runs(tmp_path / "p", {f"{t:05d}": lab_of(g1, g2) for t in range(4)}, runs=(0, 1, 2))
    (tmp_path / "p" / "anno_1" / "v" / "00002.png").unlink()
    with pytest.raises(ValidationFailed) as err:
        score(tmp_path / "p", ds, "rdavis")
    assert {(p.path, p.message) for p in err.value.problems} == {
        (str(tmp_path / "p" / "anno_3"), "annotator run anno_3 missing"),
        (str(tmp_path / "p" / "anno_1" / "v" / "00002.png"), "frame missing")}
    r = score(tmp_path / "p", ds, "rdavis", allow_missing=True)
    assert r.values["J-Mean"] == pytest.approx((1 + 0.75 + 1 + 0) / 4)
    assert {m["kind"] for m in r.results["missing"]} == {"run", "frame"}


def test_more_than_20_proposals_names_the_file(two, tmp_path: Path) -> None:
    ds, g1, g2 = two
    lab = lab_of(g1, g2)
    lab[0, :21] = np.arange(3, 24)  # ids up to 23
    write_runs(tmp_path / "p", {"00000": lab, **{f"{t:05d}": lab_of(g1, g2) for t in range(1, 4)}})
    with pytest.raises(ValidationFailed) as err:
        score(tmp_path / "p", ds, "rdavis")
    assert {p.path for p in err.value.problems} == {str(tmp_path / "p" / f"anno_{a}" / "v" / "00000.png")
                                                    for a in RUNS}
    assert "more than 20 proposals" in err.value.problems[0].message


def test_native_synthetic_rdavis_oracle(tmp_path: Path) -> None:
    from lvsbench.datasets.registry import load
    from lvsbench.synth.rdavis import write_synthetic

    root = write_synthetic(tmp_path / "rdavis", videos=3, seed=1, height=40, width=64, frames=4)
    ds = load("rdavis", root, "val")
    for vid in ds.videos():
        for f in ds.annotated_frames(vid):
            lab = ds.read_labels(vid, f)
            for a in RUNS:
                write_palette_prediction(tmp_path / "p" / "valid", a, vid, f, np.where(lab == 255, 0, lab))
    for proto in ("rdavis", "rdavis-aligned"):
        r = score(tmp_path / "p", ds, proto, workers=2)
        assert r.values["J&F-Mean"] == 1.0
    assert r.results["dataset"]["checksum_kind"] in ("reader", "metadata")


def test_streaming_unsupervised_equals_dense_reference(tmp_path: Path) -> None:
    """Random multi-object video: the streaming pair bookkeeping equals the dense davis2017 computation
    (all n_pred x n_gt x T values, empty predictions for absent ids, Hungarian on the mean) exactly."""
    from scipy.optimize import linear_sum_assignment

    from lvsbench.metrics.statistics import db_statistics

    rng = np.random.default_rng(11)
    T, n_gt = 6, 3
    labels, preds = {}, {}
    for t in range(T):
        gl = np.zeros((H, W), np.uint8)
        for k in range(n_gt):
            y, x = rng.integers(0, H - 12), rng.integers(0, W - 12)
            gl[y:y + 12, x:x + 12] = k + 1
        gl[rng.random((H, W)) < 0.02] = 255
        labels[f"{t:05d}"] = gl
        pl = np.where(gl == 255, 0, gl).astype(np.uint8)
        pl = np.roll(pl, int(rng.integers(-2, 3)), axis=1)
        pl[pl == 1] = 4 if t % 2 else 1  # object 1 predicted under two ids
        if t == 3:
            pl[pl == 2] = 0  # id 2 absent on one frame
        preds[f"{t:05d}"] = pl
    ds = write_toy_dataset(tmp_path / "ds", [ToyVideo("v", labels, refer_exps(n_gt))])
    write_runs(tmp_path / "p", preds, runs=(None,))
    got = score(tmp_path / "p", ds, "rdavis").per_sample
    n_res = 4
    J = np.zeros((n_res, n_gt, T))
    F = np.zeros((n_res, n_gt, T))
    for t, f in enumerate(labels):
        void = labels[f] == 255
        for j in range(n_res):
            for i in range(n_gt):
                J[j, i, t], F[j, i, t] = j_and_f(labels[f] == i + 1, preds[f] == j + 1, void)
    rows, cols = linear_sum_assignment(-(np.mean(J, axis=2) + np.mean(F, axis=2)) / 2)
    want = [(r + 1, c + 1) for r, c in zip(rows, cols, strict=True)]
    assert list(zip(got["pred_id"], got["object_id"], strict=True)) == want
    for k, (r, c) in enumerate(zip(rows, cols, strict=True)):
        assert (got["J-Mean"][k], got["J-Recall"][k], got["J-Decay"][k]) == db_statistics(J[r, c])
        assert (got["F-Mean"][k], got["F-Recall"][k], got["F-Decay"][k]) == db_statistics(F[r, c])
