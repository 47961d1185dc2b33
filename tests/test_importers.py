"""`lvsbench import-preds`: predictions written in each published model's layout import to the same scores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fixtures.runner_support import SPLITS, load_synthetic, make_synthetic, prediction_digest
from PIL import Image

from lvsbench.adapters.registry import create_adapter
from lvsbench.core.codecs import read_binary_png
from lvsbench.core.errors import DataFormatError
from lvsbench.importers import import_predictions
from lvsbench.run.runner import RunOptions, run
from lvsbench.scoring.evaluate import score


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("synth")
    return {k: make_synthetic(k, base / k, seed=2) for k in ("ryvos", "a2d", "rdavis")}


def _ours(ds: object, out: Path, **opts: str) -> Path:
    return run(create_adapter("random", opts), ds, RunOptions(out=out, progress=False)).out


def _pngs(run_dir: Path) -> list[tuple[str, str, str, np.ndarray]]:
    out = []
    for p in sorted((run_dir / "Annotations").rglob("*.png")):
        vid, exp = p.parent.parent.name, p.parent.name
        out.append((vid, exp, p.stem, read_binary_png(p)))
    return out


def _same_scores(a: Path, b: Path, ds: object, keys: tuple[str, ...] | None = None) -> None:
    va, vb = score(a, ds).values, score(b, ds).values
    for k in keys or tuple(va):
        assert va[k] == vb[k], k


def test_ryvos_png_layouts_round_trip(synthetic: dict[str, Path], tmp_path: Path) -> None:
    ds = load_synthetic("ryvos", synthetic["ryvos"])
    ours = _ours(ds, tmp_path / "ours")
    rf = tmp_path / "referformer_out"  # inference_ytvos.py: {out}/valid/{video}/{exp_id}/{frame}.png
    mttr = tmp_path / "validation_outputs"  # trainer.py: validation_outputs/epoch_N/Annotations/...
    for vid, exp, frame, m in _pngs(ours):
        p = rf / "valid" / vid / exp / f"{frame}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(m.astype(np.float32) * 255).convert("L").save(p)
        q = mttr / "epoch_3" / "Annotations" / vid / exp / f"{frame}.png"
        q.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(255 * m.astype(np.uint8)).save(q)
    zipped = Path(shutil.make_archive(str(tmp_path / "submission"), "zip", mttr / "epoch_3", "Annotations"))
    for source, path in (("referformer", rf), ("mttr", mttr), ("mttr", zipped)):
        out = tmp_path / f"imp_{source}_{path.suffix or 'dir'}"
        rep = import_predictions(source, path, ds, out)
        assert rep["status"] == "complete" and rep["missing"] == 0
        assert prediction_digest(out) == prediction_digest(ours)  # byte-identical PNG trees
        _same_scores(out, ours, ds)


def test_a2d_coco_results_round_trip(synthetic: dict[str, Path], tmp_path: Path) -> None:
    ds = load_synthetic("a2d", synthetic["a2d"])
    ours = _ours(ds, tmp_path / "ours", candidates="3")
    results = json.loads((ours / "coco_results.json").read_text())
    assert len({r["image_id"] for r in results}) * 3 == len(results)
    mttr = tmp_path / "mttr_a2d.json"  # MTTR keeps this list in memory; dumped as a JSON list
    mttr.write_text(json.dumps(results))
    rf = tmp_path / "referformer_a2d.json"
    rf.write_text(json.dumps({"annotations": results}))
    for source, path in (("mttr", mttr), ("referformer", rf)):
        out = tmp_path / f"imp_{source}"
        import_predictions(source, path, ds, out)
        assert (out / "coco_results.json").read_bytes() == (ours / "coco_results.json").read_bytes()
        _same_scores(out / "coco_results.json", ours / "coco_results.json", ds)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(results + [{**results[0], "image_id": "v_nope_f_00001_i_0"}]))
    with pytest.raises(DataFormatError, match="not in dataset"):
        import_predictions("mttr", bad, ds, tmp_path / "imp_bad")


def test_rdavis_palettes_round_trip(synthetic: dict[str, Path], tmp_path: Path) -> None:
    ds = load_synthetic("rdavis", synthetic["rdavis"])
    ours = _ours(ds, tmp_path / "ours")
    rf = tmp_path / "rf_davis" / "valid"  # inference_davis.py: {out}/valid/anno_{k}/{seq}/{frame}.png
    for anno in sorted(ours.glob("anno_*")):
        shutil.copytree(anno, rf / anno.name)
    out = tmp_path / "imp"
    rep = import_predictions("referformer", rf.parent, ds, out)
    assert rep["status"] == "complete"
    assert prediction_digest(out) == prediction_digest(ours)
    for proto in ("rdavis", "rdavis-aligned"):
        assert score(out, ds, proto).values == score(ours, ds, proto).values


@pytest.mark.parametrize("kind", ("a2d", "ryvos"))
def test_locater_dumps_round_trip(kind: str, synthetic: dict[str, Path], tmp_path: Path) -> None:
    """Locater writes nothing itself; a dump named like its GT masks, `<seq>_<obj>_<frame>.pth` with the sigmoid
    output (thresholded at 0.5 as tools/evaluate.py does), imports to the same top-1 scores."""
    import torch

    ds = load_synthetic(kind, synthetic[kind])
    ours = _ours(ds, tmp_path / "ours", **({"candidates": "1"} if kind == "a2d" else {}))
    png = _ours(ds, tmp_path / "png") if kind == "ryvos" else None
    dump = tmp_path / "locater" / "mask"
    dump.mkdir(parents=True)
    ref = tmp_path / "ref"
    if kind == "a2d":  # the same masks as a PNG tree, the reference for the import
        run(create_adapter("random", {"candidates": "1"}), ds, RunOptions(out=ref, progress=False,
                                                                          format="png-tree"))
    else:
        ref = png
    for vid, exp, frame, m in _pngs(ref):
        e = next(x for x in ds.video_expressions(vid) if x.id == exp)
        obj = str(e.object_ids[0] - 1) if kind == "a2d" else exp  # A2D: instance id; else the expression id
        prob = np.where(m, 0.8, 0.2).astype(np.float32)
        if kind == "a2d":
            torch.save(torch.from_numpy(prob), dump / f"{vid}_{obj}_{frame}.pth")
        else:
            np.save(dump / f"{vid}_{obj}_{frame}.npy", prob)
    out = tmp_path / "imp"
    rep = import_predictions("locater", dump.parent, ds, out)
    assert rep["status"] == "complete" and rep["missing"] == 0
    if kind == "a2d":
        top1 = ("P@0.5", "P@0.6", "P@0.7", "P@0.8", "P@0.9", "overall_iou", "mean_iou", "prec_mAP", "locater_mAP")
        _same_scores(out / "coco_results.json", ours / "coco_results.json", ds, top1)
    else:
        assert prediction_digest(out) == prediction_digest(ref)
        _same_scores(out, ref, ds)


def test_import_cli(synthetic: dict[str, Path], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lvsbench.cli import cli

    ds = load_synthetic("ryvos", synthetic["ryvos"])
    ours = _ours(ds, tmp_path / "ours")
    res = CliRunner().invoke(cli, ["import-preds", "mttr", str(ours), "--dataset", "ryvos", "--root",
                                   str(synthetic["ryvos"]), "--split", SPLITS["ryvos"], "--out",
                                   str(tmp_path / "imp"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["status"] == "complete"
    assert prediction_digest(tmp_path / "imp") == prediction_digest(ours)
