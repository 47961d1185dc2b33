"""Bound adapters through the runner and the scorer, on synthetic datasets of all four kinds.

`oracle` must reach the maximum of every metric of every protocol that reads its output; `empty` and `full` must
score what is derived here by hand from the ground-truth label maps (independently of lvsbench.metrics).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures.runner_support import load_synthetic, make_synthetic
from scipy.optimize import linear_sum_assignment

from lvsbench.adapters.registry import create_adapter
from lvsbench.run.runner import RunOptions, run
from lvsbench.scoring.evaluate import score

KINDS = ("a2d", "jhmdb", "ryvos", "rdavis")
PROTOCOLS = {  # (output format, protocols that read it)
    "a2d": [("coco-json", ("a2d",)), ("png-tree", ("a2d", "a2d-plus"))],
    "jhmdb": [("coco-json", ("jhmdb",)), ("png-tree", ("jhmdb", "a2d-plus"))],
    "ryvos": [("png-tree", ("ryvos", "a2d-plus"))],
    "rdavis": [("davis-anno", ("rdavis", "rdavis-aligned", "davis-semi"))],
}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("synth")
    return {k: make_synthetic(k, base / k) for k in KINDS}


def _run(adapter: str, ds: object, out: Path, fmt: str | None = None) -> Path:
    return run(create_adapter(adapter), ds, RunOptions(out=out, progress=False, format=fmt)).predictions


def _assert_max(values: dict[str, float], where: str) -> None:
    assert values, where
    for k, v in values.items():
        if "Decay" in k:
            assert v == 0.0, f"{where}: {k} = {v}"
        elif k.startswith("coco") and v == -1.0:
            continue  # no ground truth in that COCO area range
        else:
            assert v == pytest.approx(1.0, abs=1e-9), f"{where}: {k} = {v}"


@pytest.mark.parametrize("kind", KINDS)
def test_oracle_scores_the_maximum_on_every_protocol(kind: str, synthetic: dict[str, Path],
                                                     tmp_path: Path) -> None:
    ds = load_synthetic(kind, synthetic[kind])
    for fmt, protocols in PROTOCOLS[kind]:
        preds = _run("oracle", ds, tmp_path / fmt, fmt)
        for proto in protocols:
            res = score(preds, ds, proto)
            _assert_max(res.values, f"{kind} {fmt} {proto}")
            if proto in ("a2d", "jhmdb") and fmt == "coco-json":
                assert res.values["coco mAP 0.5:0.95"] == 1.0
    if kind == "rdavis":  # the semi-supervised annotation set too (object id = text obj_id)
        semi = load_synthetic(kind, synthetic[kind], annotations="semi")
        preds = _run("oracle", semi, tmp_path / "semi")
        for proto in ("davis-semi", "rdavis-aligned"):  # rdavis (ReferFormer) is defined on the unsupervised set
            _assert_max(score(preds, semi, proto).values, f"rdavis semi {proto}")


# ------------------------------------------------------------------------------------------ hand derivations


def _samples(ds: object) -> list[tuple[np.ndarray, int]]:
    """(target mask, frame area) of every scored (expression, frame), in the scorer's order irrelevant."""
    out = []
    for e in ds.expressions():
        for f in ds.expression_frames(e):
            lab = ds.read_masks(e.video_id, f)  # each instance's own mask (A2D instances may overlap)
            assert lab is not None and not (lab.labels == 255).any(), "synthetic GT has no void (derivations assume it)"
            out.append((lab.mask(e.object_ids), lab.labels.size))
    return out


def _mttr_iou(i: int, u: int) -> float:
    return float(np.float32(np.float32(i) + np.float32(1e-6)) / np.float32(np.float32(u) + np.float32(1e-6)))


def _referring_expected(samples: list[tuple[np.ndarray, int]], full: bool) -> dict[str, float]:
    """MTTR's P@K (strict >), overall IoU and mean IoU with float32 (I+1e-6)/(U+1e-6) (MTTR `metrics.py` @ 2cc35ab)."""
    inter = [int(g.sum()) if full else 0 for g, _ in samples]
    union = [n if full else int(g.sum()) for g, n in samples]
    ious = np.array([_mttr_iou(i, u) for i, u in zip(inter, union, strict=True)])
    exp = {f"P@{k}": float(np.mean(ious > k)) for k in (0.5, 0.6, 0.7, 0.8, 0.9)}
    exp["overall_iou"] = sum(inter) / sum(union)
    exp["mean_iou"] = float(ious.mean())
    exp["prec_mAP"] = float(np.mean([np.mean(ious >= t) for t in np.linspace(0.5, 0.95, 10)]))
    return exp


def _locater_expected(samples: list[tuple[np.ndarray, int]], full: bool) -> dict[str, float]:
    """Locater: per frame IoU = I/U, 1 when U = 0; P@K with >=; mAP = mean of the five P@K."""
    inter = [int(g.sum()) if full else 0 for g, _ in samples]
    union = [n if full else int(g.sum()) for g, n in samples]
    ious = np.array([1.0 if u == 0 else i / u for i, u in zip(inter, union, strict=True)])
    exp = {f"P@{k}": float(np.mean(ious >= k)) for k in (0.5, 0.6, 0.7, 0.8, 0.9)}
    exp["overall_iou"] = sum(inter) / sum(union)
    exp["mean_iou"] = float(ious.mean())
    exp["locater_mAP"] = float(np.mean([exp[f"P@{k}"] for k in (0.5, 0.6, 0.7, 0.8, 0.9)]))
    return exp


def _jf_expected(ds: object, full: bool) -> dict[str, float]:
    """Per expression mean J and F over its frames, then mean over expressions (MeViS convention).

    Empty prediction: J = F = 1 on frames where the target is absent, else J = 0 and F = 0 (empty predicted
    boundary: precision 1, recall 0). Full prediction: J = |G| / (H W); its boundary map is empty (an all-ones
    mask has no boundary pixel), so F = 1 where the target is absent too, else 0."""
    js, fs = [], []
    for e in ds.expressions():
        jj, ff = [], []
        for f in ds.expression_frames(e):
            g = ds.read_masks(e.video_id, f).mask(e.object_ids)
            absent = not g.any()
            jj.append(g.sum() / g.size if full else float(absent))
            ff.append(float(absent))
        js.append(np.mean(jj))
        fs.append(np.mean(ff))
    j, f = float(np.mean(js)), float(np.mean(fs))
    return {"J": j, "F": f, "J&F": (j + f) / 2}


@pytest.mark.parametrize("kind", ("a2d", "jhmdb"))
@pytest.mark.parametrize("adapter", ("empty", "full"))
def test_empty_and_full_on_a2d_style_datasets(kind: str, adapter: str, synthetic: dict[str, Path],
                                              tmp_path: Path) -> None:
    ds = load_synthetic(kind, synthetic[kind])
    samples = _samples(ds)
    full = adapter == "full"
    res = score(_run(adapter, ds, tmp_path / "coco"), ds, kind)
    for k, v in _referring_expected(samples, full).items():
        assert res.values[k] == pytest.approx(v, rel=1e-6, abs=1e-12), k
    # COCO AP: an empty mask never matches; a full mask matches only if |G| / (H W) >= 0.5, which no sample has.
    assert max(g.sum() / n for g, n in samples) < 0.5
    for k in ("coco mAP 0.5:0.95", "coco AP 0.5", "coco AP 0.75"):
        assert res.values[k] == 0.0, k
    plus = score(_run(adapter, ds, tmp_path / "png", "png-tree"), ds, "a2d-plus")
    for k, v in _locater_expected(samples, full).items():  # Locater computes in float32
        assert plus.values[k] == pytest.approx(v, rel=1e-6, abs=1e-12), k


@pytest.mark.parametrize("adapter", ("empty", "full"))
def test_empty_and_full_on_ryvos(adapter: str, synthetic: dict[str, Path], tmp_path: Path) -> None:
    ds = load_synthetic("ryvos", synthetic["ryvos"])
    _samples(ds)  # no void
    res = score(_run(adapter, ds, tmp_path / "p"), ds, "ryvos")
    for k, v in _jf_expected(ds, adapter == "full").items():
        assert res.values[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k


def _davis_object_stats(ds: object, video: str, frames: tuple[str, ...]) -> dict[int, dict[str, tuple[float, float]]]:
    """Per GT object: mean J and F over `frames` against an empty and against a full proposal."""
    labels = [ds.read_labels(video, f) for f in frames]
    n_obj = int(labels[0][labels[0] != 255].max())
    out = {}
    for o in range(1, n_obj + 1):
        gs = [lab == o for lab in labels]
        absent = [float(not g.any()) for g in gs]
        out[o] = {"empty": (float(np.mean(absent)), float(np.mean(absent))),
                  "full": (float(np.mean([g.sum() / g.size for g in gs])), float(np.mean(absent)))}
    return out


def _davis_expected(ds: object, adapter: str, protocol: str) -> dict[str, float]:
    """J-Mean / F-Mean over (annotator, object) pairs. `full` composes ReferFormer-style: every expression of an
    annotator predicts the whole frame, the argmax keeps the first one (its object id fills the frame)."""
    js, fs = [], []
    ambiguous = False
    for vid in ds.videos():
        frames = ds.annotated_frames(vid)
        if protocol == "davis-semi":
            frames = frames[1:-1]
        stats = _davis_object_stats(ds, vid, frames)
        groups: dict[int, list] = {}
        for e in ds.video_expressions(vid):
            groups.setdefault(int(e.id) % 4, []).append(e)
        for _, exprs in sorted(groups.items()):
            kind = {o: "empty" for o in stats}
            if adapter == "full":
                label = exprs[0].object_ids[0]
                if protocol == "rdavis":  # Hungarian on (J+F)/2: the full proposal goes where it gains most
                    objs = sorted(stats)
                    gain = np.array([[sum(stats[o]["full"]) - sum(stats[o]["empty"])] for o in objs])
                    rows, _ = linear_sum_assignment(-gain)
                    ambiguous |= bool(np.sum(gain == gain.max()) > 1)
                    label = objs[int(rows[0])]
                kind[label] = "full"
            for o in sorted(stats):
                j, f = stats[o][kind[o]]
                js.append(j)
                fs.append(f)
    j, f = float(np.mean(js)), float(np.mean(fs))
    out = {"J&F-Mean": (j + f) / 2}
    if not ambiguous:
        out.update({"J-Mean": j, "F-Mean": f})
    return out


@pytest.mark.parametrize("adapter", ("empty", "full"))
def test_empty_and_full_on_rdavis(adapter: str, synthetic: dict[str, Path], tmp_path: Path) -> None:
    ds = load_synthetic("rdavis", synthetic["rdavis"])
    preds = _run(adapter, ds, tmp_path / "p")
    for proto in ("rdavis", "rdavis-aligned", "davis-semi"):
        res = score(preds, ds, proto)
        for k, v in _davis_expected(ds, adapter, proto).items():
            assert res.values[k] == pytest.approx(v, rel=1e-9, abs=1e-12), f"{proto} {k}"
