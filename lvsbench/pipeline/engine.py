"""The calls a leaderboard build makes into the rest of lvsbench: make data, build hard splits, train, run, score.

Kept in one module so that `build` reads as the orchestration it is; every function here is a thin call of the
public API of another area (synthetic writers, dataset readers, hard-split builder, trainer, runner, scorer).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lvsbench.core.errors import ConfigError
from lvsbench.core.options import check_keywords
from lvsbench.datasets.base import Dataset

DEFAULT_SYNTHETIC: dict[str, dict[str, Any]] = {
    "a2d": {"videos": 24, "seed": 0},
    "jhmdb": {"videos": 12, "seed": 0},
    "ryvos": {"videos": 12, "seed": 0},
    "rdavis": {"videos": 8, "seed": 0},
}


def write_synthetic(name: str, spec: dict[str, Any], out: Path) -> Path:
    """`lvsbench synth <name>` with the recipe's spec (keyword arguments of the writer) into `out`."""
    from lvsbench.synth import get_writer

    writer = get_writer(name)
    kwargs = {**DEFAULT_SYNTHETIC.get(name, {}), **spec}
    check_keywords(writer, f"synthetic {name}: bad option in {spec}", out, force=True, **kwargs)
    return Path(writer(out, force=True, **kwargs))


def open_dataset(name: str, root: Path, split: str, options: dict[str, Any] | None = None) -> Dataset:
    """A reader for a native dataset root, or for our layout (A2D-S+ subsets are written in it)."""
    from lvsbench.datasets.registry import load

    return load(name, root, split, **(options or {}))


def build_subsets(a2d_root: Path, out: Path, options: dict[str, Any], progress: bool = False) -> Path:
    """`lvsbench build-hard-split --a2d-root R --out DIR`: the A2D-S+ subsets (a2d-plus-m/s/t) in our layout.

    `options` are `BuildOptions` fields of the hard-split builder (seed, srl_backend, srl_archive, order, ...)."""
    from lvsbench.hardsplit.build import BuildOptions, build

    known = set(BuildOptions.__dataclass_fields__) - {"a2d_root", "out", "force", "progress", "stage"}
    bad = sorted(set(options) - known)
    if bad:
        raise ConfigError(f"hard_split options {bad} unknown; allowed: {sorted(known)}")
    kwargs = {k: (Path(v) if k in ("srl_archive", "bert_vocab", "srl_json", "review_in") and v else v)
              for k, v in options.items()}
    import warnings

    with warnings.catch_warnings():
        # the choice of SRL backend is recorded in OUT/build.json; synthetic data needs no SRL model
        warnings.filterwarnings("ignore", message="no SRL model configured", category=UserWarning)
        build(BuildOptions(a2d_root=a2d_root, out=out, force=True, progress=progress, **kwargs))
    return out


def subset_root(built: Path, subset: str) -> Path:
    p = built / subset
    if not p.is_dir():
        raise ConfigError(f"{built}: the hard-split build has no {subset}/ folder")
    return p


def train_model(model: str, train_recipe: Path, dataset: str, root: Path, out: Path, options: dict[str, Any],
                progress: bool = True) -> Path:
    """`lvsbench train MODEL --dataset NAME --root R --split train --out DIR --recipe FILE` on the CPU, with
    `options` overriding [train] values of the recipe; returns the checkpoint path."""
    from lvsbench.models.train import load_recipe, train

    rec = load_recipe(train_recipe, model)
    if options:
        import dataclasses

        check_keywords(type(rec.train), f"train_options {options}", **{
            **{f.name: getattr(rec.train, f.name) for f in dataclasses.fields(rec.train)}, **options})
        rec = rec.replace(**options)
    ds = open_dataset(dataset, root, "train")
    result = train(ds, out, rec, device="cpu", force=True, progress=progress, log=_quiet)
    return Path(result.checkpoint)


def _quiet(msg: str) -> None:
    import sys

    from tqdm import tqdm

    tqdm.write(msg, file=sys.stderr)


@dataclass
class RunOutput:
    predictions: Path
    run_doc: dict[str, Any]


def run_adapter(adapter: str, options: dict[str, Any], dataset: Dataset, out: Path, checkpoint: Path | None,
                progress: bool) -> RunOutput:
    """`lvsbench run ADAPTER` on the dataset into `out` (a fresh directory), on the CPU."""
    import json

    from lvsbench.adapters.registry import create_adapter
    from lvsbench.run.runner import RUN_JSON, RunOptions, run

    inst = create_adapter(adapter, {k: v for k, v in options.items() if k != "seed"})
    seed = int(options.get("seed", 0))
    opts = RunOptions(out=out, device="cpu", checkpoint=checkpoint, seed=seed, progress=progress, force=True)
    res = run(inst, dataset, opts, adapter_name=adapter)
    if res.status != "complete":
        raise ConfigError(f"run of {adapter} on {dataset.name} ended with status {res.status}")
    doc = json.loads((out / RUN_JSON).read_text())
    return RunOutput(res.predictions, doc)


def score(predictions: Path, dataset: Dataset, protocol: str, options: dict[str, Any], workers: int,
          progress: bool = False) -> Any:
    """`lvsbench score` through its Python API (returns a ScoreResult)."""
    from lvsbench.scoring import score as _score

    bad = sorted(set(options) & {"workers", "progress", "format"})
    if bad:
        raise ConfigError(f"score options {bad} are set by the build, not by recipes")
    check_keywords(_score, f"bad score option in {options}", predictions, dataset, protocol, workers=workers,
                   progress=progress, **options)
    return _score(predictions, dataset, protocol, workers=workers, progress=progress, **options)


__all__ = ["DEFAULT_SYNTHETIC", "RunOutput", "build_subsets", "open_dataset", "run_adapter", "score", "subset_root",
           "train_model", "write_synthetic"]
