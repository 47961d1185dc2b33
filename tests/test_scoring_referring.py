"""`a2d` / `jhmdb` protocols end to end: COCO results JSON and PNG predictions scored through `score()`; the golden
A2D set reproduced from files on disk; oracle, empty and incomplete predictions."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from lvsbench.core.errors import ValidationFailed
from lvsbench.formats.coco_json import a2d_image_id, coco_result, write_coco_results
from lvsbench.formats.png_tree import write_png_prediction
from lvsbench.scoring import score
from tests.scoring_helpers import (
    ToyVideo,
    moving_objects_video,
    write_oracle_coco,
    write_oracle_png,
    write_toy_dataset,
)


def _load_golden_builder(golden_dir: Path):  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("make_golden_a2d", golden_dir / "make_golden_a2d.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_golden_a2d_through_files(golden_dir: Path, tmp_path: Path) -> None:
    """The 12 golden samples written as a dataset + COCO results file reproduce every stored figure."""
    mg = _load_golden_builder(golden_dir)
    ref = json.loads((golden_dir / "golden_a2d.json").read_text())
    samples = mg.build()
    videos: dict[str, ToyVideo] = {}
    results = []
    for iid, gt, plist, _ in samples:
        _, vid, _, frame, _, inst = iid.split("_")
        oid = int(inst) + 1
        tv = videos.setdefault(vid, ToyVideo(vid, {}, [("0", f"instance {inst}", (oid,), ("1", "2", "3"))]))
        tv.labels[frame] = (gt.astype(np.uint8) * oid)
        assert a2d_image_id(vid, frame, oid) == iid
        results += [coco_result(iid, m, s) for m, s in plist]
    ds = write_toy_dataset(tmp_path / "ds", list(videos.values()), name="golden", default_protocol="a2d")
    write_coco_results(tmp_path / "preds.json", results)
    r = score(tmp_path / "preds.json", ds)
    assert r.protocol.name == "a2d"
    from lvsbench.metrics.referring import COCO_STAT_NAMES

    for name, want in zip(COCO_STAT_NAMES, ref["coco_stats"], strict=True):
        assert abs(r.values[f"coco {name}"] - want) <= 1e-12, name
    for k, want in ref["precision_at_k"].items():
        assert r.values[f"P@{k}"] == want
    assert r.values["overall_iou"] == ref["overall_iou"]
    assert r.values["mean_iou"] == ref["mean_iou"]
    per = r.per_sample.set_index("image_id")
    for row in ref["per_image_top1"]:
        got = per.loc[row["image_id"]]
        assert (got["iou"], got["inter"], got["union"]) == (row["iou"], row["inter"], row["union"])
    assert not any(k == "mAP" or k.startswith("mAP") for k in r.values)  # never a bare "mAP"
    assert set(r.results["values"]) == set(r.values)


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    rng = np.random.default_rng(3)
    vids = [moving_objects_video(f"v{i}", 4, 1 + i % 2, (36, 48), rng) for i in range(3)]
    return write_toy_dataset(tmp_path_factory.mktemp("a2d") / "ds", vids, name="toy", default_protocol="a2d")


def test_oracle_with_distractors_scores_maximum(toy, tmp_path: Path) -> None:
    write_oracle_coco(toy, tmp_path / "r.json", extra=3)
    r = score(tmp_path / "r.json", toy, "a2d")
    for k in ("coco mAP 0.5:0.95", "coco AP 0.5", "coco AP 0.75", "P@0.5", "P@0.9", "overall_iou", "mean_iou",
              "prec_mAP", "locater_mAP"):
        assert r.values[k] == 1.0, k
    assert (r.per_sample["n_candidates"] == 4).all()
    # PNG predictions are one candidate of score 1: same maximum
    write_oracle_png(toy, tmp_path / "png")
    rp = score(tmp_path / "png", toy, "a2d")
    assert rp.values["coco mAP 0.5:0.95"] == 1.0 and rp.values["P@0.9"] == 1.0


def test_empty_predictions_known_values(toy, tmp_path: Path) -> None:
    res = []
    for e in toy.expressions():
        for f in toy.expression_frames(e):
            res.append(coco_result(a2d_image_id(e.video_id, f, e.object_ids[0]), np.zeros((36, 48), bool), 0.5))
    write_coco_results(tmp_path / "r.json", res)
    r = score(tmp_path / "r.json", toy, "a2d")
    # every GT is non-empty: IoU = 1e-6 / (U + 1e-6) > 0 but tiny; P@K = 0; sum I = 0; COCO never matches
    assert r.values["coco mAP 0.5:0.95"] == 0.0
    assert all(r.values[f"P@{k}"] == 0.0 for k in (0.5, 0.6, 0.7, 0.8, 0.9))
    assert r.values["overall_iou"] == 0.0 and 0 < r.values["mean_iou"] < 1e-6
    assert r.values["prec_mAP"] == 0.0 and r.values["locater_mAP"] == 0.0


def test_jhmdb_frozen_frames_and_ids(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    vids = []
    for i, name in enumerate(["Pour_(!)_a", "wave+hello@b"]):
        tv = moving_objects_video(name, 6, 1, (30, 40), rng)
        tv.labels = {f"{t + 1:05d}": lab for t, lab in enumerate(tv.labels.values())}
        tv.expressions = [("0", "the person", (1,), ("00002", "00004", "00006") if i == 0 else ("00001", "00003",
                                                                                                  "00005"))]
        vids.append(tv)
    ds = write_toy_dataset(tmp_path / "ds", vids, name="jhmdb-toy", default_protocol="jhmdb")
    write_oracle_coco(ds, tmp_path / "r.json", protocol="jhmdb", extra=1)
    r = score(tmp_path / "r.json", ds, "jhmdb")
    assert r.values["coco mAP 0.5:0.95"] == 1.0 and r.values["mean_iou"] == 1.0
    assert sorted(r.per_sample["image_id"]) == sorted(
        [f"v_Pour_(!)_a_f_{f}" for f in (2, 4, 6)] + [f"v_wave+hello@b_f_{f}" for f in (1, 3, 5)])
    # a prediction for a frame outside the frozen list is an unexpected image id
    data = json.loads((tmp_path / "r.json").read_text())
    data.append(coco_result("v_Pour_(!)_a_f_1", np.zeros((30, 40), bool), 0.1))
    (tmp_path / "r2.json").write_text(json.dumps(data))
    with pytest.raises(ValidationFailed, match="v_Pour_\\(!\\)_a_f_1\\].*unexpected image_id"):
        score(tmp_path / "r2.json", ds, "jhmdb")


def test_missing_images_listed_then_scored_empty(toy, tmp_path: Path) -> None:
    write_oracle_coco(toy, tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    dropped = {data[0]["image_id"], data[5]["image_id"]}
    kept = [d for d in data if d["image_id"] not in dropped]
    (tmp_path / "r.json").write_text(json.dumps(kept))
    with pytest.raises(ValidationFailed) as err:
        score(tmp_path / "r.json", toy, "a2d")
    assert sorted(p.message for p in err.value.problems) == sorted(f"no candidate for COCO image {i}"
                                                                   for i in dropped)
    assert all(str(tmp_path / "r.json") in p.path for p in err.value.problems)
    r = score(tmp_path / "r.json", toy, "a2d", allow_missing=True)
    assert {m["image_id"] for m in r.results["missing"]} == dropped
    n = len(r.per_sample)
    assert r.values["P@0.5"] == (n - 2) / n
    assert math.isclose(r.values["coco AR@100 0.5:0.95"], (n - 2) / n)


def test_candidate_size_mismatch_names_file_and_image(toy, tmp_path: Path) -> None:
    write_oracle_coco(toy, tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    bad_id = data[2]["image_id"]
    data[2] = coco_result(bad_id, np.zeros((35, 48), bool), 0.9)
    (tmp_path / "r.json").write_text(json.dumps(data))
    with pytest.raises(ValidationFailed) as err:
        score(tmp_path / "r.json", toy, "a2d")
    (prob,) = err.value.problems
    assert prob.path == f"{tmp_path / 'r.json'} [image_id {bad_id}]" and "48x35" in prob.message


def test_a2d_png_predictions_missing_frame(toy, tmp_path: Path) -> None:
    write_oracle_png(toy, tmp_path / "p")
    (tmp_path / "p" / "v1" / "1" / "00002.png").unlink()
    with pytest.raises(ValidationFailed, match="v1/1/00002.png: frame missing"):
        score(tmp_path / "p", toy, "a2d")
    write_png_prediction(tmp_path / "p", "v1", "1", "00002", np.zeros((36, 48), bool))
    r = score(tmp_path / "p", toy, "a2d")
    assert r.values["P@0.5"] == (len(r.per_sample) - 1) / len(r.per_sample)


@pytest.mark.parametrize("name", ["a2d", "jhmdb"])
def test_native_synthetic_samples_match_mttr_coco_gt(name: str, tmp_path: Path) -> None:
    """The samples the scorer expects are exactly the images of the MTTR-style COCO ground truth built by the
    dataset converter, and an oracle written from that ground truth scores the maximum."""
    from lvsbench.datasets.coco_gt import build_coco_gt
    from lvsbench.datasets.registry import load
    from lvsbench.synth import get_writer

    root = get_writer(name)(tmp_path / name, videos=6, seed=3, height=48, width=64, frames=12)
    ds = load(name, root, "test")
    gt = build_coco_gt(ds)
    results = [{"image_id": a["image_id"], "category_id": 1, "segmentation": a["segmentation"], "score": 0.8}
               for a in gt["annotations"]]
    for r in results:
        if isinstance(r["segmentation"]["counts"], bytes):
            r["segmentation"]["counts"] = r["segmentation"]["counts"].decode("ascii")
    write_coco_results(tmp_path / "r.json", results)
    res = score(tmp_path / "r.json", ds)
    assert res.protocol.name == name
    assert list(res.per_sample["image_id"]) == [i["id"] for i in gt["images"]]  # same samples, same order
    assert res.values["coco mAP 0.5:0.95"] == 1.0 and res.values["mean_iou"] == 1.0
