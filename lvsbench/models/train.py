"""Training of the reference models from a TOML recipe: seeded, resumable, JSON-lines metrics, CPU or CUDA.

A recipe (`recipes/train/*.toml`) holds every hyper-parameter::

    [recipe]     name, model ("locater" | "urvos"), description
    [model]      the model's sizes (LocaterConfig / UrvosConfig fields; vocab_size comes from the tokeniser)
    [tokenizer]  kind ("vocab" | "wordpiece"), max_len, min_count, vocab_file
    [data]       size = [h, w], clip (Locater frames per clip), memory_frames (URVOS reference frames),
                 max_expressions (expressions of a clip's video trained together), hflip (probability of
                 mirroring a clip, "left"/"right" swapped in its words), blank_expression (the language-blind
                 control)
    [train]      seed, steps, batch_size (clips per step, each with up to max_expressions expressions), lr,
                 weight_decay, warmup_steps, min_lr_ratio, grad_clip, aux_weight, threads, log_every,
                 checkpoint_every, checkpoint_minutes, autocast ("auto" | "bf16" | "off")

Keys left out take the defaults below (the tiny CPU preset); unknown keys are errors. The resolved recipe's
canonical-JSON sha256 (without the execution settings threads / log_every / checkpoint_every /
checkpoint_minutes) is the *recipe
hash*, stored in every checkpoint and checked on `--resume`.

Output directory::

    recipe.json     resolved recipe + hash           metrics.jsonl  one JSON object per logged step / evaluation
    ckpt.pt         model for inference (config, tokeniser, recipe, hash, step)
    state.pt        everything to resume (model, optimiser, step)

Stopping: Ctrl-C (SIGINT) or SIGTERM lets the step in progress finish, saves its state and then stops, so
`--resume` continues from the last whole step (`_stop_after_step`).

Reproducibility: the model is initialised from `seed`; batch `k` is drawn from `numpy.random.default_rng([seed, k])`
and torch is re-seeded with `(seed, k)` before each step, so a run resumed from step k continues exactly like the
uninterrupted run (given the same device and thread count).

Size: one resumable training loop; its state (weights, optimiser, step, data seed), the signal handling that saves it
and the metrics log are one contract, kept together so a resumed run provably continues the interrupted one.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import signal
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from lvsbench import __version__
from lvsbench.core.errors import ConfigError, DataFormatError, unknown_name
from lvsbench.core.io import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    check_overwrite,
    mark_output_dir,
    sha256_bytes,
)
from lvsbench.datasets.base import Dataset
from lvsbench.metrics.names import METRICS, format_value
from lvsbench.models import MODELS, build_model, model_config
from lvsbench.models.data import FrameCache, normalise
from lvsbench.models.layers import dice_bce_loss
from lvsbench.models.text import Tokenizer

CKPT_FORMAT = "lvsbench.models.checkpoint/1"
EXECUTION_KEYS = ("threads", "log_every", "checkpoint_every", "checkpoint_minutes")


@dataclass(frozen=True)
class TokenizerSettings:
    kind: str = "vocab"
    max_len: int = 16
    min_count: int = 1
    vocab_file: str = ""


@dataclass(frozen=True)
class DataSettings:
    size: tuple[int, int] = (64, 96)
    clip: int = 2
    memory_frames: int = 2
    max_expressions: int = 4
    hflip: float = 0.5
    blank_expression: bool = False


@dataclass(frozen=True)
class TrainSettings:
    seed: int = 0
    steps: int = 1300
    batch_size: int = 12
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_steps: int = 60
    min_lr_ratio: float = 0.02
    grad_clip: float = 1.0
    aux_weight: float = 0.4
    threads: int = 2
    log_every: int = 25
    checkpoint_every: int = 200
    checkpoint_minutes: float = 10.0
    """State is also saved when this much wall time passed since the last save, so a job killed without warning
    (SIGKILL, power loss) loses at most that much work however slow the steps are (`--resume` continues from it).
    Ctrl-C and SIGTERM lose nothing: the state is saved after the step in progress (`_stop_after_step`)."""
    autocast: str = "auto"


@dataclass(frozen=True)
class Recipe:
    """A resolved training recipe (every default filled in)."""

    name: str
    model: str
    model_config: dict[str, Any]
    tokenizer: TokenizerSettings = TokenizerSettings()
    data: DataSettings = DataSettings()
    train: TrainSettings = TrainSettings()
    description: str = ""
    source: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipe": {"name": self.name, "model": self.model, "description": self.description},
            "model": dict(sorted(self.model_config.items())),
            "tokenizer": asdict(self.tokenizer),
            "data": {**asdict(self.data), "size": list(self.data.size)},
            "train": asdict(self.train),
        }

    @property
    def sha256(self) -> str:
        """Hash of everything that defines the trained model. `[train] threads`, `log_every` and
        `checkpoint_every` are execution settings, left out so that a run may resume with another thread count."""
        return recipe_hash(self.to_dict())

    def replace(self, **train_overrides: Any) -> Recipe:
        """A copy with some [train] values changed (tests and quick experiments)."""
        import dataclasses

        return dataclasses.replace(self, train=dataclasses.replace(self.train, **train_overrides))


def recipe_hash(recipe: dict[str, Any]) -> str:
    """sha256 of a resolved recipe mapping (`Recipe.to_dict()`) in canonical JSON, execution settings left out."""
    d = {k: dict(v) if isinstance(v, dict) else v for k, v in recipe.items()}
    for k in EXECUTION_KEYS:
        d.get("train", {}).pop(k, None)
    return sha256_bytes(json.dumps(d, sort_keys=True, separators=(",", ":")).encode())


def _section(cls: type, values: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
    out = {}
    for k, v in values.items():
        default = getattr(cls(), k)
        if isinstance(default, tuple):
            v = tuple(v)
        elif isinstance(default, bool):
            if not isinstance(v, bool):
                raise ConfigError(f"{where}.{k}: expected true/false, got {v!r}")
        elif isinstance(default, float) and isinstance(v, int):
            v = float(v)
        elif not isinstance(v, type(default)):
            raise ConfigError(f"{where}.{k}: expected {type(default).__name__}, got {v!r}")
        out[k] = v
    return cls(**out)


def recipe_from_dict(d: dict[str, Any], source: str = "<dict>", model: str | None = None) -> Recipe:
    """Resolve a recipe mapping (as parsed from TOML). `model` must match [recipe].model when both are given."""
    top = set(d) - {"recipe", "model", "tokenizer", "data", "train"}
    if top:
        raise ConfigError(f"{source}: unknown section(s) {sorted(top)}")
    head = dict(d.get("recipe", {}))
    name = head.pop("name", None) or (Path(source).stem if source != "<dict>" else f"{model}-default")
    rmodel = head.pop("model", None) or model
    desc = head.pop("description", "")
    if head:
        raise ConfigError(f"{source} [recipe]: unknown key(s) {sorted(head)}")
    if rmodel is None:
        raise ConfigError(f"{source}: [recipe] model is missing")
    if model is not None and rmodel != model:
        raise ConfigError(f"{source}: recipe is for model {rmodel!r}, not {model!r}")
    if rmodel not in MODELS:
        raise ConfigError(f"{source}: {unknown_name('model', rmodel, sorted(MODELS))}")
    mcfg = dict(d.get("model", {}))
    if "vocab_size" in mcfg:
        raise ConfigError(f"{source} [model]: vocab_size comes from the tokeniser, do not set it")
    try:
        resolved_model = model_config(rmodel, mcfg).to_dict()
    except ConfigError as exc:
        raise ConfigError(f"{source} [model]: {exc}") from exc
    resolved_model.pop("vocab_size", None)
    resolved_model.pop("extra", None)
    rec = Recipe(
        name=str(name), model=rmodel, model_config=resolved_model,
        tokenizer=_section(TokenizerSettings, d.get("tokenizer", {}), f"{source} [tokenizer]"),
        data=_section(DataSettings, d.get("data", {}), f"{source} [data]"),
        train=_section(TrainSettings, d.get("train", {}), f"{source} [train]"),
        description=str(desc), source=source,
    )
    _check(rec, source)
    return rec


def _check(rec: Recipe, source: str) -> None:
    h, w = rec.data.size
    patch = int(rec.model_config.get("patch", 8))
    if h % patch or w % patch or h < patch or w < patch:
        raise ConfigError(f"{source} [data] size {list(rec.data.size)}: sides must be multiples of patch={patch}")
    if rec.train.steps < 0 or rec.train.batch_size < 1 or rec.data.clip < 1:
        raise ConfigError(f"{source}: steps >= 0, batch_size >= 1 and clip >= 1 are required")
    if rec.train.autocast not in ("auto", "bf16", "off"):
        raise ConfigError(f"{source} [train] autocast must be auto, bf16 or off")
    if rec.tokenizer.kind not in ("vocab", "wordpiece"):
        raise ConfigError(f"{source} [tokenizer] kind must be vocab or wordpiece")
    if rec.tokenizer.kind == "wordpiece" and not rec.tokenizer.vocab_file:
        raise ConfigError(f"{source} [tokenizer] kind = wordpiece needs vocab_file")


def load_recipe(path: str | Path | None, model: str) -> Recipe:
    """Read a recipe TOML file; None gives the built-in tiny preset of `model` (equal to recipes/train/<model>-tiny)."""
    if path is None:
        return recipe_from_dict({"recipe": {"name": f"{model}-tiny", "model": model}}, model=model)
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{p}: recipe not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DataFormatError(p, f"invalid TOML: {exc}") from exc
    return recipe_from_dict(data, source=str(p), model=model)


# ---------------------------------------------------------------------------------------------- checkpoints


@dataclass
class Bundle:
    """A model ready for inference: the module, its tokeniser and the recipe it was trained with."""

    name: str
    model: torch.nn.Module
    tokenizer: Tokenizer
    recipe: Recipe
    meta: dict[str, Any]

    @property
    def size(self) -> tuple[int, int]:
        return self.recipe.data.size

    @property
    def blank(self) -> bool:
        return self.recipe.data.blank_expression


def _save(obj: dict[str, Any], path: Path) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def _ckpt_payload(name: str, model: torch.nn.Module, tokenizer: Tokenizer, recipe: Recipe, step: int,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "format": CKPT_FORMAT,
        "model_name": name,
        "model_config": model.cfg.to_dict(),
        "tokenizer": tokenizer.to_dict(),
        "recipe": recipe.to_dict(),
        "recipe_sha256": recipe.sha256,
        "step": int(step),
        "lvsbench_version": __version__,
        "torch_version": str(torch.__version__),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **(extra or {}),
    }


def save_checkpoint(path: str | Path, name: str, model: torch.nn.Module, tokenizer: Tokenizer, recipe: Recipe,
                    step: int, extra: dict[str, Any] | None = None) -> None:
    """Write an inference checkpoint atomically (plain tensors and JSON-like values: `weights_only` loads it)."""
    _save(_ckpt_payload(name, model, tokenizer, recipe, step, extra), Path(path))


def _read(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: checkpoint not found")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt / foreign files
        raise DataFormatError(path, f"not a readable torch checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict) or obj.get("format") != CKPT_FORMAT:
        raise DataFormatError(path, f"not an lvsbench reference-model checkpoint (format "
                                    f"{obj.get('format') if isinstance(obj, dict) else type(obj).__name__!r}, "
                                    f"expected {CKPT_FORMAT!r})")
    return obj


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu", model: str | None = None) -> Bundle:
    """Read a checkpoint written by `train` and rebuild its model, strictly (every key and shape must match)."""
    p = Path(path)
    obj = _read(p)
    name = obj["model_name"]
    if model is not None and name != model:
        raise ConfigError(f"{p}: checkpoint holds a {name!r} model, not {model!r}")
    if recipe_hash(obj["recipe"]) != obj["recipe_sha256"]:
        raise DataFormatError(p, "recipe hash does not match the stored recipe (edited checkpoint?)",
                              where="recipe_sha256")
    stored_recipe, model_cfg = _upgrade_legacy(name, obj["recipe"], obj["model_config"])
    recipe = recipe_from_dict(stored_recipe, source=str(p), model=name)
    tokenizer = Tokenizer.from_dict(obj["tokenizer"])
    net = build_model(name, model_cfg)
    result = net.load_state_dict(obj["state_dict"], strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise DataFormatError(p, f"state_dict does not match the model: missing {result.missing_keys[:5]}, "
                                 f"unexpected {result.unexpected_keys[:5]}", where="state_dict")
    net.to(device).eval()
    meta = {k: obj[k] for k in ("step", "recipe_sha256", "lvsbench_version", "torch_version") if k in obj}
    meta["metrics"] = obj.get("metrics", {})
    return Bundle(name, net, tokenizer, recipe, meta)


def _upgrade_legacy(name: str, recipe: dict[str, Any], model_cfg: dict[str, Any]
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A locater checkpoint written before `LocaterConfig.memory` existed was trained with the "last-frame" memory
    (one frame of N tokens, replaced every frame): load it as such, so that it predicts exactly what it predicted
    (the committed leaderboard checkpoint is one). Its recipe hash stays the stored one (checked above)."""
    if name != "locater" or "memory" in model_cfg:
        return recipe, model_cfg
    from lvsbench.models.locater import LEGACY_MEMORY

    recipe = {**recipe, "model": {**recipe.get("model", {}), "memory": LEGACY_MEMORY}}
    return recipe, {**model_cfg, "memory": LEGACY_MEMORY}


# ---------------------------------------------------------------------------------------------- training


def lr_factor(step: int, rec: TrainSettings) -> float:
    """Linear warm-up then cosine decay to `min_lr_ratio` of the peak."""
    if rec.warmup_steps and step < rec.warmup_steps:
        return (step + 1) / rec.warmup_steps
    span = max(1, rec.steps - rec.warmup_steps)
    prog = min(1.0, (step - rec.warmup_steps) / span)
    return rec.min_lr_ratio + (1 - rec.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * prog))


def _autocast(device: torch.device, mode: str) -> Any:
    import contextlib

    if device.type == "cuda" and mode in ("auto", "bf16"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and mode == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def step_loss(name: str, model: torch.nn.Module, batch: dict[str, torch.Tensor], rec: Recipe
              ) -> tuple[torch.Tensor, dict[str, float]]:
    """Forward one batch and return (loss, logged parts). Deep supervision: every auxiliary output gets the same
    mask loss, weighted by `aux_weight` and averaged over the K modules."""
    if name == "locater":
        out = model(normalise(batch["frames"]), normalise(batch["global_frames"]), batch["ids"],
                    prev_frames=normalise(batch["prev_frames"]) if "prev_frames" in batch else None,
                    global_prev=normalise(batch["global_prev"]) if "global_prev" in batch else None,
                    video_index=batch["video_index"])
        tgt = batch["targets"].float() / 255.0
        wt = batch["weights"]
        main = dice_bce_loss(out["logits"].flatten(0, 1), tgt.flatten(0, 1), wt.flatten())
        k = out["aux"].shape[0]
        aux = dice_bce_loss(out["aux"].flatten(0, 2), tgt.repeat(k, 1, 1, 1).flatten(0, 1), wt.repeat(k, 1).flatten())
        loss = main + rec.train.aux_weight * aux
        return loss, {"loss": loss.item(), "loss_main": main.item(), "loss_aux": aux.item()}
    tgt = batch["targets"].float() / 255.0
    out = model(normalise(batch["frames"]), batch["ids"], tgt, batch["valid"], video_index=batch["video_index"])
    s1 = dice_bce_loss(out["stage1"].flatten(0, 1), tgt.flatten(0, 1), batch["weights"].flatten())
    s2 = dice_bce_loss(out["stage2"], tgt[:, 0])
    loss = s2 + rec.train.aux_weight * s1
    return loss, {"loss": loss.item(), "loss_stage2": s2.item(), "loss_stage1": s1.item()}


def make_batch(name: str, cache: FrameCache, rec: Recipe, step: int) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng([rec.train.seed, step])
    if name == "locater":
        return cache.locater_batch(rng, rec.train.batch_size, rec.data.clip,
                                   int(rec.model_config["global_frames"]), bool(rec.model_config["frame_difference"]),
                                   rec.data.max_expressions, rec.data.hflip)
    return cache.urvos_batch(rng, rec.train.batch_size, rec.data.memory_frames, rec.data.max_expressions,
                             rec.data.hflip)


@dataclass
class TrainResult:
    out: Path
    checkpoint: Path
    steps: int
    seconds: float
    final_loss: float
    metrics: dict[str, Any]


def build_tokenizer(rec: Recipe, dataset: Dataset) -> Tokenizer:
    t = rec.tokenizer
    if t.kind == "wordpiece":
        return Tokenizer.wordpiece(t.vocab_file, t.max_len)
    return Tokenizer.build((e.text for e in dataset.expressions()), t.max_len, t.min_count)


def train(dataset: Dataset, out: str | Path, recipe: Recipe, *, device: str = "cpu", resume: bool = False,
          force: bool = False, progress: bool = True, eval_dataset: Dataset | None = None,
          log: Callable[[str], None] = print, max_steps: int | None = None) -> TrainResult:
    """Train `recipe.model` on `dataset` into `out` (see the module docstring for the files).

    `resume` continues from `out/state.pt` (its recipe hash must equal this recipe's). `max_steps` stops early
    (tests of resume); the schedule still follows `recipe.train.steps`. `eval_dataset` is scored after training
    with `evaluate` (mean IoU, A2D definition) and the result logged and stored in the checkpoint.
    """
    out = Path(out)
    name = recipe.model
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available")
    if recipe.train.threads > 0 and dev.type == "cpu":
        torch.set_num_threads(recipe.train.threads)
    state_path, ckpt_path, metrics_path = out / "state.pt", out / "ckpt.pt", out / "metrics.jsonl"
    state: dict[str, Any] | None = None
    if resume:
        if not state_path.is_file():
            raise ConfigError(f"{state_path}: nothing to resume (no state.pt)")
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        if state.get("recipe_sha256") != recipe.sha256:
            raise ConfigError(f"{state_path}: was trained with recipe hash {state.get('recipe_sha256', '?')[:12]}, "
                              f"this recipe is {recipe.sha256[:12]}; resume needs the same recipe")
    else:
        check_overwrite(out, force, legacy=("recipe.json", "state.pt"))
        mark_output_dir(out)
        for p in (state_path, ckpt_path, metrics_path):
            p.unlink(missing_ok=True)
    atomic_write_json(out / "recipe.json", {"recipe": recipe.to_dict(), "recipe_sha256": recipe.sha256,
                                            "model": name, "source": recipe.source})

    t0 = time.perf_counter()
    tokenizer = Tokenizer.from_dict(state["tokenizer"]) if state else build_tokenizer(recipe, dataset)
    cache = FrameCache(dataset, recipe.data.size, tokenizer, blank=recipe.data.blank_expression, progress=progress)
    t_cache = time.perf_counter() - t0
    log(f"cached {len(cache.videos)} videos, {len(cache.samples)} samples "
        f"({cache.nbytes() / 2**20:.1f} MiB) in {t_cache:.1f}s")

    torch.manual_seed(recipe.train.seed)
    model = build_model(name, {**recipe.model_config, "vocab_size": tokenizer.vocab_size}).to(dev)
    decay, no_decay = [], []
    for pname, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "embed" in pname or "token_type" in pname or "init" in pname else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": recipe.train.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=recipe.train.lr)
    start = 0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start = int(state["step"])
        _truncate_metrics(metrics_path, start)
        log(f"resumed from step {start}")

    def save_state(step: int) -> None:
        _save({"format": CKPT_FORMAT + "+state", "recipe_sha256": recipe.sha256, "step": step,
               "model": model.state_dict(), "optimizer": opt.state_dict(), "tokenizer": tokenizer.to_dict()},
              state_path)
        save_checkpoint(ckpt_path, name, model, tokenizer, recipe, step)

    end = recipe.train.steps if max_steps is None else min(recipe.train.steps, max_steps)
    model.train()
    bar = tqdm(range(start, end), desc=f"train {name}", unit="step", disable=not progress, initial=start,
               total=end)
    last: dict[str, float] = {}
    t_train = time.perf_counter()
    last_save = t_train
    running: list[float] = []
    done = start
    with _stop_after_step() as stop:
        for step in bar:
            last = _train_step(name, model, opt, cache, recipe, step, dev, running)
            done = step + 1
            if done % recipe.train.log_every == 0 or done == end:
                rec = {"step": done, "lr": opt.param_groups[0]["lr"], **{k: round(v, 6) for k, v in last.items()},
                       "loss_avg": round(float(np.mean(running)), 6),
                       "elapsed_s": round(time.perf_counter() - t_train, 2)}
                running.clear()
                _append_jsonl(metrics_path, rec)
                bar.set_postfix(loss=f"{rec['loss_avg']:.3f}")
            if stop:
                break
            due = time.perf_counter() - last_save >= recipe.train.checkpoint_minutes * 60
            if (done % recipe.train.checkpoint_every == 0 or due) and done != end:
                save_state(done)
                last_save = time.perf_counter()
    if stop:  # Ctrl-C / SIGTERM: save the last whole step, then let the signal do what it did before training
        bar.close()
        save_state(done)
        log(f"stopped by {signal.Signals(stop[0]).name} after step {done}; state saved to {state_path} "
            "(continue with --resume)")
        signal.raise_signal(stop[0])  # SIGINT: KeyboardInterrupt; SIGTERM: the process ends (default handler)
        raise KeyboardInterrupt  # a previous handler that returned: training still stops here, its state saved
    bar.close()
    seconds = time.perf_counter() - t_train
    final_step = max(end, start)
    save_state(final_step)
    metrics: dict[str, Any] = {"train_seconds": round(seconds, 2), "cache_seconds": round(t_cache, 2),
                               "device": str(dev), "threads": torch.get_num_threads() if dev.type == "cpu" else None}
    if eval_dataset is not None and final_step == recipe.train.steps:
        from lvsbench.models.evaluate import evaluate

        bundle = load_checkpoint(ckpt_path, dev)
        res = evaluate(bundle, eval_dataset, device=str(dev), progress=progress)
        metrics.update({f"eval_{k}": v for k, v in res.summary().items()})
        _append_jsonl(metrics_path, {"step": final_step, "eval": res.summary()})
        log("eval " + ", ".join(f"{k}={format_value(k, v)} %" if k in METRICS else f"{k}={v}"
                                for k, v in res.summary().items()))
    save_checkpoint(ckpt_path, name, model, tokenizer, recipe, final_step, extra={"metrics": metrics})
    return TrainResult(out, ckpt_path, final_step, seconds, float(last.get("loss", float("nan"))), metrics)


def _train_step(name: str, model: torch.nn.Module, opt: torch.optim.Optimizer, cache: FrameCache, recipe: Recipe,
                step: int, dev: torch.device, running: list[float]) -> dict[str, float]:
    """One optimiser step (batch `step` of the seeded sequence); appends its loss to `running`, returns the logged
    loss parts."""
    for g in opt.param_groups:
        g["lr"] = recipe.train.lr * lr_factor(step, recipe.train)
    torch.manual_seed(int(np.random.default_rng([recipe.train.seed, step, 1]).integers(2**62)))
    batch = _to(make_batch(name, cache, recipe, step), dev)
    with _autocast(dev, recipe.train.autocast):
        loss, parts = step_loss(name, model, batch, recipe)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if recipe.train.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.train.grad_clip)
    opt.step()
    if not math.isfinite(parts["loss"]):
        raise ConfigError(f"training diverged at step {step} (loss {parts['loss']}); lower [train] lr")
    running.append(parts["loss"])
    return parts


@contextlib.contextmanager
def _stop_after_step() -> Iterator[list[int]]:
    """While training, Ctrl-C (SIGINT) and SIGTERM do not cut a step in half: the signal is noted (the yielded list
    gets its number), the step in progress ends, the loop saves the state and stops, so that `--resume` continues
    from that step exactly (a cut optimiser step could leave half-updated weights to save). A second signal stops
    at once (KeyboardInterrupt; the state of the last save stays). Off the main thread (where Python delivers
    signals) nothing changes."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def note(signum: int, frame: Any) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)

    previous = {s: h for s in (signal.SIGINT, signal.SIGTERM)
                if (h := signal.getsignal(s)) is not None and h is not signal.SIG_IGN}  # an ignored one stays so
    for s in previous:
        signal.signal(s, note)
    try:
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _append_jsonl(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop metric lines written after the checkpoint we resume from (they will be written again)."""
    if not path.is_file():
        return
    keep = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if int(json.loads(line).get("step", 0)) <= step and "eval" not in json.loads(line):
                keep.append(line)
        except (json.JSONDecodeError, TypeError, ValueError):
            continue
    atomic_write_text(path, "".join(k + "\n" for k in keep))


__all__ = ["Bundle", "CKPT_FORMAT", "DataSettings", "EXECUTION_KEYS", "Recipe", "TokenizerSettings", "TrainResult",
           "TrainSettings", "build_tokenizer", "load_checkpoint", "load_recipe", "lr_factor", "make_batch",
           "recipe_from_dict", "recipe_hash", "save_checkpoint", "step_loss", "train"]
