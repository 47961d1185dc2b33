"""Training recipes, checkpoints, resume and the tokeniser of the reference models."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lvsbench.core.errors import ConfigError, DataFormatError, OutputExistsError  # noqa: E402
from lvsbench.metrics.referring import mttr_iou  # noqa: E402
from lvsbench.models.evaluate import evaluate, predict_video  # noqa: E402
from lvsbench.models.text import Tokenizer, words_of  # noqa: E402
from lvsbench.models.toydata import SceneDataset  # noqa: E402
from lvsbench.models.train import (  # noqa: E402
    load_checkpoint,
    load_recipe,
    lr_factor,
    recipe_from_dict,
    recipe_hash,
    train,
)

REPO = Path(__file__).resolve().parents[1]
RECIPES = REPO / "recipes" / "train"

SMALL_MODEL = {"word_dim": 16, "dim": 32, "heads": 2, "ffn": 64, "enc_widths": [8, 16], "global_slots": 4,
               "decoder_dim": 16}


def small_recipe(model: str, steps: int = 4, **data: object) -> object:
    m = dict(SMALL_MODEL)
    if model == "urvos":
        m.pop("global_slots")
    return recipe_from_dict({
        "recipe": {"name": f"{model}-test", "model": model},
        "model": m,
        "data": {"size": [32, 32], "clip": 2, **data},
        "train": {"steps": steps, "batch_size": 2, "threads": 1, "log_every": 1, "checkpoint_every": 2,
                  "warmup_steps": 1},
    })


@pytest.fixture(scope="module")
def toy() -> SceneDataset:
    return SceneDataset(6, seed=1, frames=6, height=32, width=40)


# ------------------------------------------------------------------------------------------ recipes


@pytest.mark.parametrize("model", ["locater", "urvos"])
def test_tiny_recipe_file_equals_builtin_default(model: str) -> None:
    file = load_recipe(RECIPES / f"{model}-tiny.toml", model)
    builtin = load_recipe(None, model)
    assert file.to_dict()["model"] == builtin.to_dict()["model"]
    assert file.to_dict()["train"] == builtin.to_dict()["train"]
    assert file.to_dict()["data"] == builtin.to_dict()["data"]
    assert file.to_dict()["tokenizer"] == builtin.to_dict()["tokenizer"]


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*.toml")), ids=lambda p: p.name)
def test_every_recipe_resolves(path: Path) -> None:
    model = path.name.split("-")[0]
    rec = load_recipe(path, model)
    assert len(rec.sha256) == 64
    assert recipe_from_dict(rec.to_dict(), model=model).sha256 == rec.sha256


def test_recipe_errors_name_the_key(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text('[recipe]\nmodel = "locater"\n[train]\nstepz = 3\n')
    with pytest.raises(ConfigError, match=r"bad.toml \[train\].*stepz"):
        load_recipe(p, "locater")
    p.write_text('[recipe]\nmodel = "locater"\n[model]\nwidth = 3\n')
    with pytest.raises(ConfigError, match="width"):
        load_recipe(p, "locater")
    p.write_text('[recipe]\nmodel = "urvos"\n')
    with pytest.raises(ConfigError, match="not 'locater'"):
        load_recipe(p, "locater")
    p.write_text('[recipe]\nmodel = "locater"\n[data]\nsize = [60, 64]\n')
    with pytest.raises(ConfigError, match="multiples of patch"):
        load_recipe(p, "locater")
    p.write_text("[recipe\n")
    with pytest.raises(DataFormatError, match="bad.toml"):
        load_recipe(p, "locater")


@pytest.mark.parametrize(("model", "line", "message"), [
    ("locater", 'dim = "64"', "dim = '64' is not an integer; write e.g. dim = 64"),
    ("locater", "global_slots = 1.5", "global_slots = 1.5 is not an integer; write e.g. global_slots = 8"),
    ("locater", "local_slots = -2", "local_slots = -2 is not a non-negative integer"),
    ("locater", "frame_difference = 1", "frame_difference = 1 is not true or false; write e.g. "
                                        "frame_difference = true"),
    ("locater", "memory = 3", "memory = 3 is not a string; write e.g. memory = \"locater\""),
    ("urvos", "enc_widths = [8]", r"enc_widths = \[8\] is not a list of 2 positive integers; write e.g. "
                                  r"enc_widths = \[24, 48\]"),
    ("urvos", "enc_widths = 8", "enc_widths = 8 is not a list of 2 positive integers"),
    ("urvos", "dim = 30", "dim = 30 is not divisible by heads = 4; choose heads >= 1 that divide dim"),
])
def test_model_values_of_the_wrong_type_are_config_errors_naming_key_and_fix(tmp_path: Path, model: str, line: str,
                                                                             message: str) -> None:
    """A [model] value of the wrong type is a ConfigError naming the file, the key and what to write (it used to
    surface as whatever TypeError the model's constructor raised, or as a broken model)."""
    p = tmp_path / "bad.toml"
    p.write_text(f'[recipe]\nmodel = "{model}"\n[model]\n{line}\n')
    with pytest.raises(ConfigError, match=r"bad.toml \[model\]: " + f"{model} model config: " + message):
        load_recipe(p, model)


def test_recipe_hash_changes_with_any_value() -> None:
    base = load_recipe(None, "locater")
    assert base.replace(lr=base.train.lr * 2).sha256 != base.sha256
    blank = dataclasses.replace(base, data=dataclasses.replace(base.data, blank_expression=True))
    assert blank.sha256 != base.sha256
    assert base.replace(threads=7, log_every=3).sha256 == base.sha256  # execution settings only


def test_lr_schedule() -> None:
    t = load_recipe(None, "locater").train
    assert lr_factor(0, t) == pytest.approx(1 / t.warmup_steps)
    assert lr_factor(t.warmup_steps, t) == pytest.approx(1.0)
    assert lr_factor(t.steps, t) == pytest.approx(t.min_lr_ratio)
    vals = [lr_factor(s, t) for s in range(t.warmup_steps, t.steps)]
    assert all(a >= b for a, b in zip(vals, vals[1:], strict=False))


# ------------------------------------------------------------------------------------------ tokeniser


def test_tokenizer_vocabulary_is_order_independent() -> None:
    texts = ["The red dog running", "a blue car, parked", "the red ball"]
    a = Tokenizer.build(texts, max_len=8)
    b = Tokenizer.build(list(reversed(texts)), max_len=8)
    assert a.tokens == b.tokens
    assert a.tokens[:4] == ["<pad>", "<unk>", "<cls>", "red"]  # most frequent first, then alphabetical
    ids = a.encode(["the red zebra", ""])
    assert ids.shape == (2, 8)
    assert ids[0, :4].tolist() == [2, a.index["the"], a.index["red"], 1]
    assert ids[1].tolist() == [2] + [0] * 7  # a blanked expression is <cls> alone
    assert words_of("A blue car, parked.") == ["a", "blue", "car", ",", "parked", "."]
    assert Tokenizer.from_dict(a.to_dict()).tokens == a.tokens


def test_wordpiece_tokenizer(tmp_path: Path) -> None:
    pytest.importorskip("tokenizers")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "red", "dog", "run", "##ning"]
    p = tmp_path / "vocab.txt"
    p.write_text("\n".join(vocab) + "\n")
    tok = Tokenizer.wordpiece(p, max_len=8)
    assert tok.ids("The red dog running") == [2, 4, 5, 6, 7, 8, 3]
    assert tok.vocab_size == len(vocab)


# ------------------------------------------------------------------------------------------ train / checkpoints


@pytest.mark.parametrize("model", ["locater", "urvos"])
def test_checkpoint_round_trip(model: str, toy: SceneDataset, tmp_path: Path) -> None:
    rec = small_recipe(model, steps=3)
    res = train(toy, tmp_path / "run", rec, progress=False, log=lambda s: None)
    assert res.steps == 3
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2, 3]
    assert all(np.isfinite(x["loss"]) for x in lines)
    b = load_checkpoint(res.checkpoint, model=model)
    assert b.meta["recipe_sha256"] == rec.sha256 and b.meta["step"] == 3
    assert b.recipe.to_dict() == rec.to_dict()
    # the loaded model computes exactly what the trained one computes
    frames = torch.from_numpy(np.stack([toy.read_frame("train0000", n) for n in toy.videos()["train0000"].frames]))
    fu8 = frames.permute(0, 3, 1, 2)
    p1, _ = predict_video(b, fu8, ["the red dog"])
    b2 = load_checkpoint(res.checkpoint)
    p2, _ = predict_video(b2, fu8, ["the red dog"])
    assert p1.shape == (1, 6, 32, 32)
    torch.testing.assert_close(p1, p2)
    with pytest.raises(ConfigError, match="not 'urvos'" if model == "locater" else "not 'locater'"):
        load_checkpoint(res.checkpoint, model="urvos" if model == "locater" else "locater")


def test_checkpoint_rejects_mismatched_weights(toy: SceneDataset, tmp_path: Path) -> None:
    res = train(toy, tmp_path / "run", small_recipe("locater", steps=1), progress=False, log=lambda s: None)
    obj = torch.load(res.checkpoint, weights_only=True)
    obj["state_dict"].pop("decoder_missing", None)
    key = next(iter(obj["state_dict"]))
    del obj["state_dict"][key]
    bad = tmp_path / "bad.pt"
    torch.save(obj, bad)
    with pytest.raises(DataFormatError, match=key.replace(".", r"\.")):
        load_checkpoint(bad)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DataFormatError, match="junk.pt"):
        load_checkpoint(tmp_path / "junk.pt")


def test_checkpoint_from_before_the_memory_key_loads_as_last_frame(toy: SceneDataset, tmp_path: Path) -> None:
    """Checkpoints written before `LocaterConfig.memory` existed (the committed leaderboard checkpoint is one) load
    with the memory they were trained with, "last-frame", keep their stored recipe hash and predict exactly what
    the same weights predicted before; an edited recipe is still refused."""
    d = small_recipe("locater", steps=1).to_dict()
    d["model"]["memory"] = "last-frame"
    rec = recipe_from_dict(d, model="locater")
    res = train(toy, tmp_path / "run", rec, progress=False, log=lambda s: None)
    frames = torch.from_numpy(np.stack([toy.read_frame("train0001", n) for n in toy.videos()["train0001"].frames]))
    before, _ = predict_video(load_checkpoint(res.checkpoint), frames.permute(0, 3, 1, 2), ["the blue car"])
    obj = torch.load(res.checkpoint, weights_only=True)
    for cfg in (obj["model_config"], obj["recipe"]["model"]):
        del cfg["memory"], cfg["local_slots"]
    obj["recipe_sha256"] = recipe_hash(obj["recipe"])
    old = tmp_path / "old.pt"
    torch.save(obj, old)
    b = load_checkpoint(old)
    assert b.model.cfg.memory == "last-frame" and b.meta["recipe_sha256"] == obj["recipe_sha256"]
    after, _ = predict_video(b, frames.permute(0, 3, 1, 2), ["the blue car"])
    torch.testing.assert_close(after, before, rtol=0, atol=0)
    obj["recipe"]["train"]["lr"] = 0.5
    torch.save(obj, old)
    with pytest.raises(DataFormatError, match="recipe hash"):
        load_checkpoint(old)
    committed = load_checkpoint(REPO / "leaderboards" / "checkpoints" / "locater-tiny-synth-a2d.pt")
    assert committed.model.cfg.memory == "last-frame"


def test_refuses_to_overwrite(toy: SceneDataset, tmp_path: Path) -> None:
    rec = small_recipe("locater", steps=1)
    train(toy, tmp_path / "run", rec, progress=False, log=lambda s: None)
    with pytest.raises(OutputExistsError):
        train(toy, tmp_path / "run", rec, progress=False, log=lambda s: None)
    train(toy, tmp_path / "run", rec, progress=False, log=lambda s: None, force=True)


@pytest.mark.parametrize("model", ["locater", "urvos"])
def test_resume_equals_uninterrupted(model: str, toy: SceneDataset, tmp_path: Path) -> None:
    rec = small_recipe(model, steps=4)
    full = train(toy, tmp_path / "full", rec, progress=False, log=lambda s: None)
    train(toy, tmp_path / "part", rec, progress=False, log=lambda s: None, max_steps=2)
    resumed = train(toy, tmp_path / "part", rec, progress=False, log=lambda s: None, resume=True)
    assert resumed.steps == 4
    a = torch.load(full.checkpoint, weights_only=True)["state_dict"]
    b = torch.load(resumed.checkpoint, weights_only=True)["state_dict"]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ma = (tmp_path / "full" / "metrics.jsonl").read_text()
    mb = (tmp_path / "part" / "metrics.jsonl").read_text()
    strip = [{k: v for k, v in json.loads(x).items() if k != "elapsed_s"} for x in ma.splitlines()]
    stripb = [{k: v for k, v in json.loads(x).items() if k != "elapsed_s"} for x in mb.splitlines()]
    assert strip == stripb
    other = small_recipe(model, steps=5)
    with pytest.raises(ConfigError, match="same recipe"):
        train(toy, tmp_path / "part", other, progress=False, log=lambda s: None, resume=True)


def test_evaluate_and_blank(toy: SceneDataset, tmp_path: Path) -> None:
    res = train(toy, tmp_path / "run", small_recipe("locater", steps=1, blank_expression=True), progress=False,
                log=lambda s: None)
    b = load_checkpoint(res.checkpoint)
    assert b.blank
    frames = torch.from_numpy(np.stack([toy.read_frame("train0001", n) for n in toy.videos()["train0001"].frames]))
    p, _ = predict_video(b, frames.permute(0, 3, 1, 2), ["the red dog", "a blue ball on the left"])
    torch.testing.assert_close(p[0], p[1])  # the blind model cannot tell expressions apart
    ev = evaluate(b, toy, videos=["train0000", "train0001"])
    n = sum(len(e.frames) for e in toy.expressions() if e.video_id in ("train0000", "train0001"))
    s = ev.summary()
    assert s["samples"] == n
    assert 0.0 <= s["mean_iou"] <= 1.0


def test_iou_a2d_matches_mttr_float32_rule() -> None:
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    assert mttr_iou(b, a)[2] == pytest.approx(1.0)  # (0 + 1e-6) / (0 + 1e-6)
    a[0, 0] = True
    b[0, :2] = True
    assert mttr_iou(b, a) == (1, 2, float(np.float32(0.50000024)))


def test_mirror_augmentation_flips_pixels_masks_and_words(toy: SceneDataset) -> None:
    from lvsbench.models.data import FrameCache, mirror_text

    assert mirror_text("The dog on the Left running to the right") == "The dog on the Right running to the left"
    assert mirror_text("a leftover brightness") == "a leftover brightness"
    tok = Tokenizer.build([e.text for e in toy.expressions()] + ["left right"], max_len=16)
    cache = FrameCache(toy, (32, 32), tok)
    plain = cache.locater_batch(np.random.default_rng(7), 4, 2, 2, False, hflip=0.0)
    both = cache.locater_batch(np.random.default_rng(7), 4, 2, 2, False, hflip=1.0)
    # the same clips (picked before the flip coin is drawn), mirrored content
    assert torch.equal(both["frames"], plain["frames"].flip(-1))
    assert torch.equal(both["targets"], plain["targets"].flip(-1))
    assert torch.equal(both["video_index"], plain["video_index"])
    texts = [e.text for e in toy.expressions()]
    assert np.array_equal(cache.ids_flipped, tok.encode([mirror_text(t) for t in texts]))


def test_similar_subset_helpers(tmp_path: Path) -> None:
    from lvsbench.models.evaluate import per_sample_summary, similar_videos_synthetic_a2d
    from lvsbench.synth.a2d import generate

    plans = generate(10, 3, 32, 48, 6)
    sim = similar_videos_synthetic_a2d(10, 3, 32, 48, 6)
    for p in plans:
        kinds = [(a.cls, a.colour) for a in p.scene.actors]
        assert (p.vid in sim) == (len(set(kinds)) < len(kinds))
    csv_path = tmp_path / "s.csv"
    csv_path.write_text("video_id,exp_id,inter,union,iou\na,0,1,2,0.5\na,1,3,4,0.75\nb,0,0,5,0.0\n")
    s = per_sample_summary(csv_path, {"a"})
    assert s == {"samples": 2, "mean_iou": 0.625, "overall_iou": 4 / 6, "P@0.5": 0.5}
    assert per_sample_summary(csv_path, {"a"}, exclude=True)["mean_iou"] == 0.0
    assert per_sample_summary(csv_path)["samples"] == 3
