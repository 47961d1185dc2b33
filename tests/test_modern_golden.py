"""Parity with the official MeViS and ReVOS evaluators (golden numbers in tests/data/golden/modern, provenance in
tests/data/PROVENANCE.md): inputs rebuilt by the generator and checked against the manifest, read with our readers,
scored with our functions; every per-expression value and every aggregate compared with `==`."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lvsbench.datasets.mevis import MeViSDataset
from lvsbench.datasets.revos import ReVOSDataset
from lvsbench.formats.raw_png import RawPngTree
from lvsbench.formats.rle_results import RleResultsPredictions
from lvsbench.metrics.modern import np_round2, revos_rounded
from lvsbench.metrics.official_missing import MissingInput, official_values
from lvsbench.protocols import MEVIS, REVOS, REVOS_VISA_PNG
from lvsbench.scoring.expressions import ExpressionAccumulator
from lvsbench.scoring.per_expression import evaluate

GOLD_DIR = Path(__file__).parent / "data" / "golden" / "modern"
SEED = 20260311


@pytest.fixture(scope="module")
def gold() -> dict:
    return json.loads((GOLD_DIR / "dev" / "golden_modern.json").read_text())


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("modern") / "inputs"
    subprocess.run([sys.executable, str(GOLD_DIR / "make_golden_modern.py"), "--seed", str(SEED), "--out", str(out)],
                   check=True, capture_output=True)
    return out


def test_inputs_match_the_manifest(inputs: Path, gold: dict) -> None:
    rows = (GOLD_DIR / "dev" / "inputs_manifest.txt").read_text().splitlines()
    total = rows[-1].split()
    assert total[0] == "TOTAL" and total[1] == gold["meta"]["inputs_manifest_total"]
    expected = dict(reversed(r.split(maxsplit=1)) for r in rows[:-1])
    written = {p.relative_to(inputs).as_posix() for p in inputs.rglob("*") if p.is_file()}
    assert written == set(expected)
    for rel, sha in expected.items():
        assert hashlib.sha256((inputs / rel).read_bytes()).hexdigest() == sha, rel


@pytest.fixture(scope="module")
def mevis(inputs: Path) -> ExpressionAccumulator:
    return evaluate(MeViSDataset(inputs / "mevis", "valid_u"), RawPngTree(inputs / "mevis" / "pred"), "mevis")


def test_mevis_per_expression_and_aggregate(mevis: ExpressionAccumulator, gold: dict) -> None:
    g = gold["mevis"]
    assert list(g["per_expression"]) == [r.key for r in mevis.rows()]
    eq = mevis.official_equivalent()
    n_dropped = n_zero = 0
    for key, want in g["per_expression"].items():
        got = eq["per_expression"][key]
        if want.get("dropped"):
            assert got is None and key in mevis.missing, key
            n_dropped += 1
            continue
        assert got["J"] == want["J"] and got["F"] == want["F"], key
        assert isinstance(got["J"], int) == want["J_is_int"], key
        if want["J_is_int"]:
            assert mevis.missing[key] == "video"
            n_zero += 1
        else:
            assert mevis.scored[key] == got
    assert (n_dropped, n_zero) == (2, 2)
    assert eq["aggregates"] == g["aggregate_meta_order"]
    # what lvsbench reports itself: only complete predictions, never a silent zero
    assert mevis.aggregate()["n_scored"] == 18 and len(mevis.missing) == 4


@pytest.mark.parametrize("missing_as_empty", [False, True])
def test_mevis_v2_no_target_counts(inputs: Path, gold: dict, missing_as_empty: bool) -> None:
    res = evaluate(MeViSDataset(inputs / "mevis", "valid_u"), RawPngTree(inputs / "mevis" / "pred"), "mevis-v2",
                   missing_as_empty=missing_as_empty)
    flags = gold["mevis"]["unofficial_v2_no_target"]["flags"]
    for key, f in flags.items():
        assert res.results[key].no_target == f["gt_no_target"], key
        if key not in res.missing:
            assert res.results[key].pred_empty == f["pred_empty_all_frames"], key
    agg = res.official_equivalent()["aggregates"]
    c = gold["mevis"]["unofficial_v2_no_target"]["counts"]
    assert agg["counts"] == c
    assert agg["N-acc"] == c["TP"] / (c["TP"] + c["FN"]) and agg["T-acc"] == c["TN"] / (c["TN"] + c["FP"])
    assert agg["Final"] == (agg["JF"] + agg["N-acc"] + agg["T-acc"]) / 3
    assert "no official code" in agg["note"]


REVOS_RUNS = [("png255", "pred_png255", "revos-visa-png"), ("png01", "pred_png01", "revos-visa-png"),
              ("rle", "pred_rle/results.json", "revos")]


@pytest.mark.parametrize(("run", "pred", "protocol"), REVOS_RUNS)
def test_revos_per_expression_and_aggregates(inputs: Path, gold: dict, run: str, pred: str, protocol: str) -> None:
    ds = ReVOSDataset(inputs / "revos", "valid")
    src = RleResultsPredictions(inputs / "revos" / pred) if pred.endswith(".json") else RawPngTree(inputs / "revos"
                                                                                                   / pred)
    res = evaluate(ds, src, protocol)
    g = gold["revos"][run]
    assert list(g["per_expression"]) == [r.key for r in res.rows()]
    eq = res.official_equivalent()
    for key, want in g["per_expression"].items():
        assert res.results[key].group == want["type_id"]
        got = eq["per_expression"][key]
        if want.get("dropped"):
            assert got is None and key in res.missing, key
            continue
        for m in ("J", "F", "A", "R"):
            assert got[m] == want[f"{m}_raw"], (key, m)
        assert revos_rounded(got) == {m: want[m] for m in ("J", "F", "A", "R", "JF")}, key
    assert eq["aggregates"] == g["aggregate_meta_order"]
    # VISA: missing video -> int 0 and missing frame -> 0.0, both kept; Sa2VA: both dropped
    kinds = sorted(res.missing.values())
    assert kinds == ["frame", "video", "video"] if run != "rle" else kinds == ["expression", "video", "video"]
    if run == "rle":
        assert sorted(eq["dropped"]) == sorted(k for k, w in g["per_expression"].items() if w.get("dropped"))
    else:
        assert len(eq["zeroed"]) == 3 and not eq["dropped"]


def test_png01_and_png255_agree_on_j_f_but_not_on_a_r(inputs: Path) -> None:
    ds = ReVOSDataset(inputs / "revos", "valid")
    a = evaluate(ds, RawPngTree(inputs / "revos" / "pred_png255"), "revos-visa-png")
    b = evaluate(ds, RawPngTree(inputs / "revos" / "pred_png01"), "revos-visa-png")
    c = evaluate(ds, RawPngTree(inputs / "revos" / "pred_png255"), "revos")  # binarised: = the 0/1 values
    for k in a.scored:
        assert a.scored[k]["J"] == b.scored[k]["J"] and a.scored[k]["F"] == b.scored[k]["F"]
        assert c.scored[k] == b.scored[k]
    assert a.scored["v00ba19_0"]["R"] > 0.6 and b.scored["v00ba19_0"]["R"] == 0.0  # the uint8 overlap wrap


def test_numpy_rounding_tie() -> None:
    assert np_round2(3987 / 4000) == 99.68 and round(100 * (3987 / 4000), 2) == 99.67


def test_official_equivalent_rules() -> None:
    scored = {"v_0": {"J": 0.5, "F": 0.25}}
    missing = [MissingInput("v_1", "video"), MissingInput("v_2", "expression"), MissingInput("v_3", "error")]
    order = ["v_0", "v_1", "v_2", "v_3"]
    mevis = official_values(order, scored, missing, dict(MEVIS.missing_rules), ("J", "F"))
    assert mevis["per_expression"]["v_1"] == {"J": 0, "F": 0} and mevis["dropped"] == ["v_2", "v_3"]
    visa = official_values(order, scored, missing, dict(REVOS_VISA_PNG.missing_rules), ("J", "F"))
    assert visa["zeroed"] == ["v_1", "v_2", "v_3"] and not visa["dropped"]
    sa2va = official_values(order, scored, missing, dict(REVOS.missing_rules), ("J", "F"))
    assert sa2va["dropped"] == ["v_1", "v_2", "v_3"]
    with pytest.raises(ValueError, match="v_4"):
        official_values([*order, "v_4"], scored, missing, dict(MEVIS.missing_rules), ("J", "F"))


def test_missing_as_empty_scores_and_still_lists(inputs: Path) -> None:
    ds = MeViSDataset(inputs / "mevis", "valid_u")
    res = evaluate(ds, RawPngTree(inputs / "mevis" / "pred"), "mevis", missing_as_empty=True)
    assert len(res.scored) == len(res.results) and len(res.missing) == 4
    nt = [k for k in res.missing if res.results[k].no_target]
    assert nt
    for k in nt:  # an empty prediction on a no-target expression is perfect (the official script says 0)
        assert res.scored[k] == {"J": 1.0, "F": 1.0}
    assert np.isfinite(res.aggregate()["JF"])


@pytest.mark.parametrize(("bench", "run", "pred", "protocol"),
                         [("mevis", None, "pred", "mevis")] + [("revos", *r) for r in REVOS_RUNS])
def test_cli_score_reports_the_official_numbers(inputs: Path, gold: dict, tmp_path: Path, bench: str,
                                                run: str | None, pred: str, protocol: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """`lvsbench score --allow-missing`: the CSV rows equal the official per-expression output where the official
    script scored the expression from the files, and `official_equivalent` equals the official aggregates."""
    import pandas as pd

    from lvsbench.cli import main

    split = ["--split", "valid_u"] if bench == "mevis" else []
    with pytest.raises(SystemExit) as exc:
        main(["score", str(inputs / bench / pred), "--dataset", bench, "--root", str(inputs / bench), *split,
              "--protocol", protocol, "--allow-missing", "--out", str(tmp_path / "r.json"), "--per-sample",
              str(tmp_path / "s.csv")])
    assert exc.value.code in (0, None), capsys.readouterr().err
    res = json.loads((tmp_path / "r.json").read_text())
    g = gold[bench] if run is None else gold[bench][run]
    assert res["official_equivalent"]["aggregates"] == g["aggregate_meta_order"]
    df = pd.read_csv(tmp_path / "s.csv", dtype={"exp_id": str}, keep_default_na=False)
    cols = ("J", "F") if run is None else ("J", "F", "JF", "A", "R")
    for row in df.itertuples(index=False):
        want = g["per_expression"][f"{row.video_id}_{row.exp_id}"]
        if row.missing:
            continue
        assert all(float(getattr(row, c)) == want[c] for c in cols), row


@pytest.mark.parametrize(("bench", "split", "pred", "protocol"),
                         [("mevis", "valid_u", "pred", "mevis"), ("revos", "valid", "pred_png255", "revos-visa-png")])
def test_workers_give_identical_results(inputs: Path, bench: str, split: str, pred: str, protocol: str) -> None:
    """Videos scored in a process pool and merged in meta order: every value, missing item and order identical."""
    ds = (MeViSDataset if bench == "mevis" else ReVOSDataset)(inputs / bench, split)
    one = evaluate(ds, RawPngTree(inputs / bench / pred), protocol, missing_as_empty=True)
    two = evaluate(ds, RawPngTree(inputs / bench / pred), protocol, missing_as_empty=True, workers=2)
    assert two.rows() == one.rows() and two.scored == one.scored and two.missing == one.missing
    assert two.aggregate() == one.aggregate() and two.official_equivalent() == one.official_equivalent()
