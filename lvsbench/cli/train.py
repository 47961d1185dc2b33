"""`lvsbench train MODEL ...`: train a reference model (locater, urvos) from a TOML recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lvsbench.cli.common import DATASET_HELP, Choice, emit, force_option, json_option


def _dataset(name: str, root: str | None, split: str | None, options: tuple[str, ...]) -> tuple[Any, str]:
    from lvsbench.cli.run import _load_dataset
    from lvsbench.core.options import parse_typed_options

    return _load_dataset(name, root, split, parse_typed_options(options))


@click.command("train")
@click.argument("model", type=Choice(["locater", "urvos"]), metavar="MODEL")
@click.option("--dataset", "dataset_name", required=True, help=DATASET_HELP)
@click.option("--root", default=None, help="Dataset root (else LVSBENCH_<NAME>_ROOT or the user config).")
@click.option("--split", default="train", show_default=True, help="Split to train on.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output directory (ckpt.pt, state.pt, metrics.jsonl, recipe.json).")
@click.option("--recipe", "recipe_path", default=None, type=click.Path(path_type=Path, dir_okay=False),
              help="TOML recipe (default: the model's tiny CPU preset, = recipes/train/<model>-tiny.toml).")
@click.option("--device", default="auto", show_default=True, help="auto (cuda when available), cpu, cuda, cuda:N.")
@click.option("--resume", is_flag=True, help="Continue from --out/state.pt (same recipe required).")
@click.option("--threads", default=None, type=int,
              help="CPU threads (overrides [train] threads; not part of the recipe hash). Use 1 on a busy machine.")
@click.option("--steps", default=None, type=int, help="Override [train] steps (changes the recipe hash).")
@click.option("--blank-expression", is_flag=True,
              help="Train the language-blind control (every expression replaced by ''; changes the recipe hash).")
@click.option("--eval-split", default=None, help="After training, report mean IoU (A2D definition) on this split.")
@click.option("--dataset-option", "dataset_options", multiple=True, metavar="KEY=VALUE",
              help="Dataset reader option (repeatable).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@force_option
@json_option
def train_cmd(model: str, dataset_name: str, root: str | None, split: str, out: Path, recipe_path: Path | None,
              device: str, resume: bool, threads: int | None, steps: int | None, blank_expression: bool,
              eval_split: str | None, dataset_options: tuple[str, ...], quiet: bool, force: bool,
              as_json: bool) -> None:
    """Train MODEL (locater or urvos) on a dataset split and write a checkpoint that `lvsbench run MODEL
    --checkpoint OUT/ckpt.pt` reads.

    \b
    Every hyper-parameter is in the recipe (recipes/train/*.toml); the checkpoint stores the resolved recipe and
    its sha256. Metrics go to OUT/metrics.jsonl (one JSON object per logged step). Seeded and resumable: an
    interrupted run continues with --resume and ends where an uninterrupted one would.
    """
    import dataclasses

    import torch

    from lvsbench.datasets.registry import DATASETS
    from lvsbench.models.train import load_recipe, train

    rec = load_recipe(recipe_path, model)
    if threads is not None:
        rec = rec.replace(threads=threads)
    if steps is not None:
        rec = rec.replace(steps=steps)
    if blank_expression:
        rec = dataclasses.replace(rec, data=dataclasses.replace(rec.data, blank_expression=True))
    dev = device
    if device == "auto":
        dev = "cuda" if torch.cuda.is_available() else "cpu"
    ds, resolved = _dataset(dataset_name, root, split, dataset_options)
    eval_ds = _dataset(dataset_name, resolved, eval_split, dataset_options)[0] if eval_split else None
    log = (lambda s: None) if as_json else (lambda s: click.echo(s, err=True))
    result = train(ds, out, rec, device=dev, resume=resume, force=force, progress=not quiet, eval_dataset=eval_ds,
                   log=log)
    payload = {"out": str(result.out), "checkpoint": str(result.checkpoint), "model": model, "recipe": rec.name,
               "recipe_sha256": rec.sha256, "steps": result.steps, "train_seconds": round(result.seconds, 2),
               "final_loss": result.final_loss, "device": dev, "metrics": result.metrics}
    run_split = eval_split or (DATASETS[dataset_name].default_split if dataset_name in DATASETS else None)
    emit(payload, as_json, lambda: (
        f"{result.checkpoint}: {model} ({rec.name}, recipe {rec.sha256[:12]}) trained {result.steps} steps in "
        f"{result.seconds:.1f}s on {dev}\n"
        f"run with: lvsbench run {model} --checkpoint {result.checkpoint} --dataset {dataset_name} --root "
        f"{resolved}" + (f" --split {run_split}" if run_split else "") + " --out PREDS"))


commands = [train_cmd]


__all__ = ["commands", "train_cmd"]
