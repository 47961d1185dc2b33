"""External-checkout adapters (mttr, referformer, locater-official): safe checkpoint loading, compatibility
patches and the worker subprocess, exercised with stand-in checkouts (tests/fixtures/external) that have the real
repositories' entry points and checkpoint layouts. Real weights are not available here (see docs/adapters.md)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lvsbench.adapters.checkpoints import (  # noqa: E402
    CheckpointError,
    clean_state_dict,
    load_checkpoint,
    load_into,
    strict_load,
    unwrap_state_dict,
)
from lvsbench.adapters.msda import ms_deform_attn  # noqa: E402
from lvsbench.adapters.registry import create_adapter  # noqa: E402
from lvsbench.core.codecs import read_binary_png  # noqa: E402
from lvsbench.core.records import Expression, Video  # noqa: E402
from lvsbench.datasets.layout import LayoutDataset, LayoutWriter  # noqa: E402
from lvsbench.run.runner import RunOptions, run  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "external"


class Tolerant(torch.nn.Module):
    """Like Locater's VLFTrans: its own load_state_dict silently skips mismatched tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.a = torch.nn.Linear(2, 3)
        self.b = torch.nn.Linear(3, 1)

    def load_state_dict(self, sd, strict=True):  # type: ignore[no-untyped-def,override]
        own = self.state_dict()
        return super().load_state_dict({k: v for k, v in sd.items() if k in own and own[k].shape == v.shape},
                                       strict=False)


class Unsafe:
    """Not allow-listed: unpickling it needs trust."""


def test_checkpoint_loading_rules(tmp_path: Path) -> None:
    model = Tolerant()
    sd = model.state_dict()
    # ReferFormer layout: {'model', 'args': Namespace, ...} plus thop counters
    rf = tmp_path / "rf.pth"
    torch.save({"model": {**sd, "total_ops": torch.zeros(1)}, "epoch": 1, "args": argparse.Namespace(lr=1)}, rf)
    with pytest.raises(CheckpointError, match="allow_namespace=true"):
        load_checkpoint(rf)
    obj, how = load_checkpoint(rf, allow_namespace=True)
    assert how == "weights_only+Namespace" and obj["args"].lr == 1
    report = load_into(Tolerant(), rf, allow_namespace=True)
    assert report["state_dict_key"] == "model" and report["dropped"] == ["total_ops"]
    assert report["missing_keys"] == report["unexpected_keys"] == report["shape_mismatches"] == []
    # a class outside the allow-list needs trust
    bad = tmp_path / "bad.pth"
    torch.save({"model": sd, "extra": Unsafe()}, bad)
    with pytest.raises(CheckpointError, match="trust_checkpoint=true"):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="trust_checkpoint=true"):
        load_checkpoint(bad, allow_namespace=True)
    assert load_checkpoint(bad, trust=True)[1] == "full-pickle"
    # MTTR layout and a flat DataParallel state dict
    assert unwrap_state_dict({"model_state_dict": sd, "epoch": 3})[1] == "model_state_dict"
    flat, done = clean_state_dict({f"module.{k}": v for k, v in sd.items()})
    assert set(flat) == set(sd) and done["module_prefix_stripped"] == len(sd)
    with pytest.raises(CheckpointError, match="no state dict"):
        unwrap_state_dict({"epoch": 3, "optimizer": {}})


def test_strict_loading_is_not_fooled_by_a_tolerant_override() -> None:
    model = Tolerant()
    sd = {k: v.clone() for k, v in Tolerant().state_dict().items()}
    sd["b.weight"] = torch.zeros(1, 4)  # wrong shape: Locater's own loader would skip it silently
    del sd["a.bias"]
    sd["c.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as err:
        strict_load(model, sd)
    msg = str(err.value)
    assert "1 missing (a.bias)" in msg and "1 unexpected (c.weight)" in msg and "b.weight" in msg
    before = model.b.weight.clone()
    report = strict_load(model, sd, strict=False)
    assert report["missing_keys"] == ["a.bias"] and report["unexpected_keys"] == ["c.weight"]
    assert torch.equal(model.b.weight, before) and torch.equal(model.a.weight, sd["a.weight"])


def _naive_msda(value: np.ndarray, shapes: list[tuple[int, int]], loc: np.ndarray, attn: np.ndarray) -> np.ndarray:
    """Deformable attention by explicit bilinear sampling (pixel centres at (i + 0.5) / size, zero outside)."""
    n, _, m, d = value.shape
    _, lq, _, n_levels, n_points, _ = loc.shape
    starts = np.cumsum([0] + [h * w for h, w in shapes])
    out = np.zeros((n, lq, m, d))
    for b in range(n):
        for q in range(lq):
            for head in range(m):
                for lvl, (h, w) in enumerate(shapes):
                    v = value[b, starts[lvl]:starts[lvl + 1], head].reshape(h, w, d)
                    for p in range(n_points):
                        x = loc[b, q, head, lvl, p, 0] * w - 0.5
                        y = loc[b, q, head, lvl, p, 1] * h - 0.5
                        x0, y0 = int(np.floor(x)), int(np.floor(y))
                        acc = np.zeros(d)
                        for yy, xx in ((y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1)):
                            if 0 <= yy < h and 0 <= xx < w:
                                acc += v[yy, xx] * (1 - abs(x - xx)) * (1 - abs(y - yy))
                        out[b, q, head] += attn[b, q, head, lvl, p] * acc
    return out.reshape(n, lq, m * d)


def test_msda_standin_matches_explicit_bilinear_sampling() -> None:
    rng = np.random.default_rng(0)
    shapes = [(5, 7), (3, 4)]
    value = rng.normal(size=(2, sum(h * w for h, w in shapes), 2, 3))
    loc = rng.uniform(-0.1, 1.1, size=(2, 4, 2, 2, 3, 2))
    attn = rng.uniform(size=(2, 4, 2, 2, 3))
    got = ms_deform_attn(torch.tensor(value), torch.tensor(shapes), torch.tensor([0, 35]), torch.tensor(loc),
                         torch.tensor(attn))
    np.testing.assert_allclose(got.numpy(), _naive_msda(value, shapes, loc, attn), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------------------ stand-in checkouts


@pytest.fixture(scope="module")
def standins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ext")
    subprocess.run([sys.executable, str(FIXTURES / "make_checkpoints.py"), str(out)], check=True)
    return out


def _dataset(root: Path, protocol: str) -> LayoutDataset:
    w = LayoutWriter(root, name="toy", split="test", source="test", frame_ext=".png", default_protocol=protocol)
    rng = np.random.default_rng(0)
    for v in range(2):
        vid, h, wd = f"v{v}", 24, 32
        frames = tuple(f"{i:05d}" for i in range(7))
        labels = {}
        for i, f in enumerate(frames):
            lab = np.zeros((h, wd), np.uint8)
            lab[2:10, 3 + i:12 + i] = 1
            lab[12:20, 15:25] = 2
            if protocol != "a2d" or i % 3 == 1:
                labels[f] = lab
        exps = [Expression("0", vid, "the red dog on the left", (1,)), Expression("1", vid, "a blue ball", (2,))]
        w.add_video(Video(vid, frames, h, wd), ((f, rng.integers(0, 255, (h, wd, 3), dtype=np.uint8))
                                                for f in frames), labels, exps)
    w.finish()
    return LayoutDataset(root)


def _info(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())["adapter"]["info"]


def test_mttr_standin_on_a2d_protocol(standins: Path, tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "ds", "a2d")
    opts = {"code_dir": str(FIXTURES / "mttr"), "text_encoder_dir": str(standins / "roberta-base")}
    r = run(create_adapter("mttr", opts), ds, RunOptions(out=tmp_path / "out", progress=False,
                                                         checkpoint=standins / "mttr.pth.tar"))
    assert r.status == "complete"
    info = _info(r.out)
    load = info["load"]
    assert load["loader"] == "weights_only" and load["state_dict_key"] == "model_state_dict"
    assert load["missing_keys"] == load["unexpected_keys"] == [] and load["strict"]
    assert any(p.startswith("numpy.{float") for p in info["patches"])  # np.float in the stand-in
    assert any("RobertaTokenizer.from_pretrained('roberta-base')" in x for x in info["redirects"])
    assert any("batch_encode_plus" in x for x in info["redirects"])  # transformers 5 lacks it
    assert info["mode"] == "candidates" and info["capabilities"]["context_frames"] == 5  # config window_size
    results = json.loads((r.out / "coco_results.json").read_text())
    per_image: dict[str, int] = {}
    for x in results:
        per_image[x["image_id"]] = per_image.get(x["image_id"], 0) + 1
    assert set(per_image.values()) == {4}  # all num_queries candidates, as MTTR's A2D evaluation


def test_referformer_standin_needs_the_namespace_flag(standins: Path, tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "ds", "ryvos")
    opts = {"code_dir": str(FIXTURES / "referformer"), "text_encoder_dir": str(standins / "roberta-base"),
            "allow_namespace": "true"}
    r = run(create_adapter("referformer", opts), ds, RunOptions(out=tmp_path / "out", progress=False,
                                                                checkpoint=standins / "referformer.pth"))
    info = _info(r.out)
    assert r.status == "complete" and info["load"]["loader"] == "weights_only+Namespace"
    assert info["load"]["dropped"] == ["total_ops", "backbone.total_params"]
    assert any("MultiScaleDeformableAttention" in p for p in info["patches"])
    assert info["capabilities"]["needs_full_video"]
    masks = sorted((r.out / "Annotations").rglob("*.png"))
    assert len(masks) == 2 * 2 * 7 and all(read_binary_png(p).shape == (24, 32) for p in masks)


def test_locater_standin_records_key_mismatches(standins: Path, tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "ds", "ryvos")
    opts = {"code_dir": str(FIXTURES / "locater"), "text_encoder_dir": str(standins / "bert-base-uncased")}
    from lvsbench.core.errors import LvsbenchError

    with pytest.raises(LvsbenchError, match=r"1 missing \(mem_gate.bias\)"):  # strict by default
        run(create_adapter("locater-official", opts), ds, RunOptions(
            out=tmp_path / "strict", progress=False, checkpoint=standins / "locater_partial.pth"))
    r = run(create_adapter("locater-official", {**opts, "strict": "false"}), ds, RunOptions(
        out=tmp_path / "out", progress=False, checkpoint=standins / "locater_partial.pth"))
    info = _info(r.out)
    assert r.status == "complete"
    assert info["load"]["missing_keys"] == ["mem_gate.bias"] and info["load"]["module_prefix_stripped"] > 0
    assert any(p.startswith("collections.{Iterable") for p in info["patches"])
    assert any("AutoTokenizer.from_pretrained('bert-base-uncased')" in x for x in info["redirects"])
    assert json.loads((r.out / "run.json").read_text())["sessions"][0]["status"] == "complete"


def test_external_adapter_requires_code_dir_and_checkpoint(tmp_path: Path) -> None:
    from lvsbench.core.errors import ConfigError

    ds = _dataset(tmp_path / "ds", "ryvos")
    with pytest.raises(ConfigError, match="code_dir"):
        run(create_adapter("mttr"), ds, RunOptions(out=tmp_path / "a", progress=False, checkpoint=tmp_path))
    with pytest.raises(ConfigError, match="--checkpoint"):
        run(create_adapter("mttr", {"code_dir": str(FIXTURES / "mttr")}), ds,
            RunOptions(out=tmp_path / "b", progress=False))
