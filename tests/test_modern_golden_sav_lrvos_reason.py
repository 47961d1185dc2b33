"""Parity with the official Ref-SAV (Sa2VA), Long-RVOS and ReasonVOS (VideoLISA) evaluators on the golden `dev` set.

The inputs are rebuilt by the golden generator (tests/data/golden/modern/make_golden_modern.py, seed 20260311) and
checked against the manifest; they are read by lvsbench's readers and scored by lvsbench's metric functions. Every
per-expression value the official scripts saved must be equal (`==`), every aggregate equal to
`aggregate_meta_order`, and the official-equivalent figures (dropped / skipped / zeroed / read-as-empty
expressions) equal to what the official scripts printed over their surviving expressions.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lvsbench.datasets.long_rvos import LongRVOSDataset
from lvsbench.datasets.reasonvos import ReasonVOSDataset
from lvsbench.datasets.refsav import RefSAVDataset
from lvsbench.formats.png_tree import PngTreePredictions
from lvsbench.formats.rle_results import RleResultsPredictions
from lvsbench.metrics.modern import np_round2, pixel_accuracy, refsav_frame
from lvsbench.scoring.per_expression import evaluate, evaluate_long_rvos, evaluate_reasonvos

GOLDEN = Path(__file__).parent / "data" / "golden" / "modern"
SEED = 20260311


@pytest.fixture(scope="module")
def gold() -> dict:
    return json.loads((GOLDEN / "dev" / "golden_modern.json").read_text())


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, gold: dict) -> Path:
    out = tmp_path_factory.mktemp("golden_modern") / "dev"
    subprocess.run([sys.executable, str(GOLDEN / "make_golden_modern.py"), "--seed", str(SEED), "--out", str(out)],
                   check=True, capture_output=True)
    total = hashlib.sha256()
    expected = {}
    for line in (GOLDEN / "dev" / "inputs_manifest.txt").read_text().splitlines():
        digest, rel = line.split(" ", 1)
        if digest == "TOTAL":
            assert rel == gold["meta"]["inputs_manifest_total"]
            continue
        expected[rel] = digest
        total.update(f"{digest}  {rel}\n".encode())
    assert total.hexdigest() == gold["meta"]["inputs_manifest_total"]
    written = {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in out.rglob("*") if p.is_file()}
    assert written == expected, "generator output differs from the manifest (generator or numpy RNG changed)"
    return out


def test_refsav_matches_sa2va_eval_ref_sav(inputs: Path, gold: dict) -> None:
    g = gold["refsav"]
    res = evaluate(RefSAVDataset(inputs / "refsav"), RleResultsPredictions(inputs / "refsav/pred_rle/results.json"),
                   "refsav", missing_as_empty=True)
    rows = res.per_sample_frame().assign(key=lambda d: d["video_id"] + "_" + d["exp_id"]).set_index("key")
    assert list(rows.index) == list(g["per_expression"])
    dropped = [k for k, v in g["per_expression"].items() if v.get("dropped")]
    assert dropped == ["v03f195_1"]
    for key, v in g["per_expression"].items():
        if v.get("dropped"):
            continue
        row = rows.loc[key]
        assert row["type_id"] == v["type_id"]
        for name in ("J_raw", "F_raw", "A_raw", "J", "F", "JF", "A"):
            assert row[name] == v[name], (key, name)
    # the missing expression: lvsbench scores it as empty, the official script drops it
    assert list(res.missing.items()) == [("v03f195_1", "expression")]
    oe = res.official_equivalent()
    assert oe["dropped"] == dropped and oe["aggregates"]["long"]["n"] + oe["aggregates"]["short"]["n"] == len(
        g["per_expression"]) - 1
    assert oe["aggregates"] == g["aggregate_meta_order"]
    for run in g["official_results_json"]:
        for subset, figs in run["results"].items():
            for name, value in figs.items():
                assert abs(oe["aggregates"][subset][name] - value) <= 1e-12
    # lvsbench's own figures include the dropped expression, so they differ
    assert res.aggregate()["overall"]["J"] != g["aggregate_meta_order"]["overall"]["J"]


def test_refsav_numpy_rounding_trap(gold: dict) -> None:
    """A = 3987/4000 rounds to 99.68 with numpy (Python's round gives 99.67); golden row trap_sav_50x80_0."""
    assert gold["refsav"]["per_expression"]["trap_sav_50x80_0"]["A"] == 99.68
    assert np_round2(3987 / 4000) == 99.68
    assert round(100 * (3987 / 4000), 2) == 99.67


def test_refsav_strict_refuses_with_the_list(inputs: Path) -> None:
    from lvsbench.core.errors import ValidationFailed
    from lvsbench.scoring.per_expression import score_per_expression

    with pytest.raises(ValidationFailed, match="v03f195_1: expression missing"):
        score_per_expression(inputs / "refsav/pred_rle/results.json", RefSAVDataset(inputs / "refsav"), "refsav")


def test_long_rvos_matches_official_scripts(inputs: Path, gold: dict) -> None:
    g = gold["long_rvos"]
    ds = LongRVOSDataset(inputs / "long_rvos")
    res = evaluate_long_rvos(ds, PngTreePredictions(inputs / "long_rvos/pred/Annotations"), allow_missing=True)
    rows = res.rows.set_index("key")
    assert list(rows.index) == list(g["per_expression"])
    oe = res.official_equivalent
    kinds = {m.key: m.kind for m in res.missing}
    for key, v in g["per_expression"].items():
        if v.get("dropped"):
            assert key not in oe["per_expression"] and key in oe["dropped"]
            assert kinds[key] == "first_frame"
            continue
        typ = {"static+dynamic": "hybrid"}.get(v["type"], v["type"])
        assert rows.loc[key, "type"] == typ
        got = oe["per_expression"][key]
        assert got == [v["J"], v["F"], v["tIoU"], v["vIoU"]], key
        assert [type(x).__name__ for x in got] == v["python_types"], key
        if kinds.get(key) != "video":  # lvsbench's own value is the official one except where it scores 0
            assert [rows.loc[key, m] for m in ("J", "F", "tIoU", "vIoU")] == got, key
    # the three special cases of the golden plan are all present
    assert sorted(set(kinds.values())) == ["first_frame", "frames", "video"]
    assert oe["zeroed"] == [k for k, v in g["per_expression"].items() if v.get("python_types") == ["int"] * 4]
    assert g["per_expression"]["v03f195_1"]["J"] == rows.loc["v03f195_1", "J"]  # read-as-empty frames
    for typ in ("static", "dynamic", "hybrid", "overall"):
        assert oe["aggregates"][typ] == g["aggregate_meta_order"][typ], typ
        for run in g["official_printed"]:
            for name in ("J", "F", "JF", "tIoU", "vIoU"):
                assert abs(oe["aggregates"][typ][name] - run[typ][name]) <= 1e-12


def test_long_rvos_both_empty_is_int_one(inputs: Path, gold: dict) -> None:
    """obj_id "99" has no annotation folder and an empty prediction: tIoU = vIoU = int 1, J = F = 1.0."""
    ds = LongRVOSDataset(inputs / "long_rvos")
    e = next(e for e in ds.expressions() if ds.native_object_id(e.video_id, e.object_ids[0]) == "99")
    v = gold["long_rvos"]["per_expression"][f"{e.video_id}_{e.id}"]
    assert v["python_types"] == ["float", "float", "int", "int"]
    res = evaluate_long_rvos(ds, PngTreePredictions(inputs / "long_rvos/pred"), allow_missing=True)
    row = res.official_equivalent["per_expression"][f"{e.video_id}_{e.id}"]
    assert row == [1.0, 1.0, 1, 1] and type(row[2]) is int


def test_reasonvos_matches_videolisa(inputs: Path, gold: dict) -> None:
    g = gold["reasonvos"]
    ds = ReasonVOSDataset(inputs / "reasonvos")
    res = evaluate_reasonvos(ds, PngTreePredictions(inputs / "reasonvos/pred"), allow_missing=True)
    rows = res.rows.set_index("key")
    assert list(rows.index) == list(g["per_expression"])
    oe = res.official_equivalent
    not_scored = [k for k, v in g["per_expression"].items() if v.get("not_scored")]
    assert sorted(oe["skipped"] + oe["dropped"]) == sorted(not_scored)
    skipped_paths = g["official_printed"][0]["skipped"]  # what the official script printed as skipped
    assert len(oe["skipped"]) == len(skipped_paths)
    for key, v in g["per_expression"].items():
        if not v.get("not_scored"):
            assert (rows.loc[key, "J"], rows.loc[key, "F"]) == (v["J"], v["F"]), key
    agg = g["aggregate_meta_order"]
    assert oe["aggregates"] == {"J": agg["J"], "F": agg["F"], "JF": agg["JF"], "n": agg["n_scored"]}
    assert len(rows) == agg["n_meta"]
    for run in g["official_printed"]:
        assert abs(oe["aggregates"]["J"] - run["J"]) <= 1e-12 and abs(oe["aggregates"]["JF"] - run["JF"]) <= 1e-12


def test_reasonvos_scores_the_gt_listing_not_meta_frames(inputs: Path) -> None:
    """Video 2 of the plan has one GT PNG fewer than its meta frames: only the listed frames are scored."""
    ds = ReasonVOSDataset(inputs / "reasonvos")
    shorter = [e for e in ds.expressions() if ds.has_ground_truth(e) and len(e.frames) < ds.videos()[e.video_id].
               num_frames]
    assert shorter
    for e in shorter:
        assert e.frames == ds.videos()[e.video_id].frames[:-1]


def test_accuracy_counts_overlap_pixels_as_wrong() -> None:
    gt = np.zeros((4, 5), np.uint8)
    gt[1, 1:3] = 1
    gt[1, 2] = 2  # two target objects overlap
    pred = (gt > 0).astype(np.uint8)
    assert pixel_accuracy(gt, pred) == 19 / 20
    j, f, a = refsav_frame(gt, pred)
    assert (j, f) == (1.0, 1.0) and a == 19 / 20


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from lvsbench.cli import main

    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.mark.parametrize("name,preds,root", [
    ("refsav", "refsav/pred_rle/results.json", "refsav"),
    ("long-rvos", "long_rvos/pred/Annotations", "long_rvos"),
    ("reasonvos", "reasonvos/pred", "reasonvos"),
])
def test_score_cli_per_expression_csv_and_official_equivalent(inputs: Path, gold: dict, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str], name: str,
                                                               preds: str, root: str) -> None:
    """`lvsbench score --per-sample` writes one row per expression (video_id, exp_id, metrics) that compares row by
    row with the official per-expression output; the results JSON carries the official-equivalent figures."""
    import csv

    args = ["score", str(inputs / preds), "--dataset", name, "--root", str(inputs / root)]
    rc, _, err = _cli(args, capsys)
    assert rc == 2 and "--allow-missing" in err and "missing" in err  # refused, everything listed
    out, csv_path = tmp_path / "r.json", tmp_path / "s.csv"
    if name == "reasonvos":  # predictions hold every meta frame; the GT of one video lacks its last frame
        rc, _, err = _cli(args + ["--allow-missing"], capsys)
        assert rc == 2 and "1 frame(s) not scored: 00004" in err
        args.append("--ignore-extra")
    rc, _, err = _cli(args + ["--allow-missing", "--out", str(out), "--per-sample", str(csv_path)], capsys)
    assert rc == 0, err
    with csv_path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:2] == ["video_id", "exp_id"]
    results = json.loads(out.read_text())
    assert results["protocol"]["name"] == name and results["missing"]
    key_gold = {"refsav": "refsav", "long-rvos": "long_rvos", "reasonvos": "reasonvos"}[name]
    g = gold[key_gold]
    per_exp = g["per_expression"]
    oe = results["official_equivalent"]["aggregates"]
    if name == "refsav":
        assert oe == json.loads(json.dumps(g["aggregate_meta_order"]))
        for r in rows:
            v = per_exp[f"{r['video_id']}_{r['exp_id']}"]
            if not v.get("dropped"):
                assert [float(r[m]) for m in ("J", "F", "JF", "A")] == [v[m] for m in ("J", "F", "JF", "A")]
    elif name == "long-rvos":
        assert oe == g["aggregate_meta_order"]
        for r in rows:
            v = per_exp[f"{r['video_id']}_{r['exp_id']}"]
            if not v.get("dropped") and v["python_types"][0] == "float":
                assert [float(r[m]) for m in ("J", "F", "tIoU", "vIoU")] == [v[m] for m in ("J", "F", "tIoU", "vIoU")]
    else:
        agg = g["aggregate_meta_order"]
        assert (oe["J"], oe["F"], oe["JF"], oe["n"]) == (agg["J"], agg["F"], agg["JF"], agg["n_scored"])
        assert len(rows) == agg["n_meta"]
        assert len(results["ignored_extra"]) == 3


def test_long_rvos_notes_when_given_the_parent_of_annotations(inputs: Path) -> None:
    """Long_RVOS's README passes a folder above Annotations/; its evaluator then finds no video (all zeros)."""
    from lvsbench.scoring.per_expression import score_per_expression

    ds = LongRVOSDataset(inputs / "long_rvos")
    res = score_per_expression(inputs / "long_rvos/pred", ds, "long-rvos", allow_missing=True)
    assert any("scores every expression 0" in n for n in res.results["official_equivalent"]["notes"])
    direct = score_per_expression(inputs / "long_rvos/pred/Annotations", ds, "long-rvos", allow_missing=True)
    assert direct.results["official_equivalent"]["notes"] == []
    assert direct.values == res.values
