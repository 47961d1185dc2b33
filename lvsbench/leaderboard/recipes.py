"""Recipes: one TOML file per leaderboard entry (what runs, on which data, scored how).

```toml
entry = "oracle"                       # row label in the leaderboard (required)
kind = "bound"                         # bound | model | baseline (default: bound for oracle/empty/full/random)
description = "ground truth as the prediction: every metric at its maximum"
leaderboard = "synth-a2d"              # optional; default: [synth-]<subset or dataset name>

[model]
adapter = "oracle"                     # adapter registry name (required)
options = { seed = 0 }                 # adapter options
checkpoint = "${LVSBENCH_LOCATER_CKPT}"  # optional: file path (relative to the project root) or ${ENV}
train = "recipes/train/locater-tiny.toml"  # optional: training recipe, used when no checkpoint is given/found
train_options = { max_steps = 200 }    # optional overrides passed to the trainer

[dataset]
name = "a2d"                           # a native dataset: a2d | jhmdb | ryvos | rdavis | mevis | ...
synthetic = { videos = 24, seed = 0 }  # either a synthetic spec (runs everywhere) ...
root = "a2d"                           # ... or the key of a real root (LVSBENCH_<KEY>_ROOT / config); runs only there
split = "test"
subset = "a2d-plus-m"                  # optional: an A2D-S+ subset built from the dataset (a2d-plus-m|s|t)
hard_split = { seed = 0 }              # optional build-hard-split options

[score]
protocol = "a2d"
options = {}
```

The recipe hash is the sha256 of the canonical JSON of the parsed recipe (not of the file bytes), so comments and
formatting never invalidate a cached result, while any change of meaning does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lvsbench.adapters.bound import BOUND_ADAPTERS
from lvsbench.core.errors import ConfigError, DataFormatError, unknown_name
from lvsbench.datasets.registry import DATASETS as NATIVE_DATASETS
from lvsbench.hardsplit.compose import SOURCE_DATASET, SUBSET_NAMES

RESULT_FORMAT = "lvsbench-leaderboard-result"
RESULT_FORMAT_VERSION = 1
"""Format tag and version of `results/<recipe>.json` (written by `lvsbench.pipeline.build`, read by reports)."""

DATASETS = tuple(NATIVE_DATASETS)
"""Datasets a recipe can name: the native ones (each has a synthetic writer too)."""

SUBSETS = tuple(SUBSET_NAMES.values())
"""A2D-S+ subsets (Locater, TPAMI): multiple actors, spatial and temporal contrast."""

KINDS = ("bound", "model", "baseline")

_TOP_KEYS = {"entry", "kind", "description", "leaderboard", "model", "dataset", "score", "notes"}
_MODEL_KEYS = {"adapter", "options", "checkpoint", "train", "train_options"}
_DATASET_KEYS = {"name", "synthetic", "root", "split", "subset", "hard_split"}
_SCORE_KEYS = {"protocol", "options"}
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class DatasetSpec:
    """Which data a recipe runs on: a synthetic spec (always runnable) or the key of a configured real root."""

    name: str
    split: str
    synthetic: dict[str, Any] | None = None
    root: str | None = None
    subset: str | None = None
    hard_split: dict[str, Any] = field(default_factory=dict)

    @property
    def is_synthetic(self) -> bool:
        return self.synthetic is not None

    @property
    def label(self) -> str:
        """Default leaderboard name: `synth-` prefix for synthetic data, the subset name when there is one."""
        base = self.subset or self.name
        return f"synth-{base}" if self.is_synthetic else base


@dataclass(frozen=True)
class Recipe:
    """A parsed recipe; `name` is the file stem and names its `results/<name>.json`."""

    name: str
    path: Path
    entry: str
    kind: str
    adapter: str
    dataset: DatasetSpec
    protocol: str
    adapter_options: dict[str, Any] = field(default_factory=dict)
    score_options: dict[str, Any] = field(default_factory=dict)
    checkpoint: str | None = None
    train: str | None = None
    train_options: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    notes: str = ""
    leaderboard_name: str | None = None

    @property
    def leaderboard(self) -> str:
        return self.leaderboard_name or self.dataset.label

    def canonical(self) -> dict[str, Any]:
        """Everything that defines the recipe's result, as plain JSON (the file name and path excluded)."""
        return {
            "entry": self.entry,
            "kind": self.kind,
            "leaderboard": self.leaderboard,
            "model": {"adapter": self.adapter, "options": self.adapter_options, "checkpoint": self.checkpoint,
                      "train": self.train, "train_options": self.train_options},
            "dataset": {"name": self.dataset.name, "split": self.dataset.split, "synthetic": self.dataset.synthetic,
                        "root": self.dataset.root, "subset": self.dataset.subset,
                        "hard_split": self.dataset.hard_split},
            "score": {"protocol": self.protocol, "options": self.score_options},
        }

    def hash(self) -> str:
        return canonical_hash(self.canonical())


def canonical_hash(obj: Any) -> str:
    """sha256 of the canonical JSON of `obj` (sorted keys, no whitespace)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def expand_env(value: str, env: dict[str, str] | None = None) -> str | None:
    """Replace `${VAR}` by the environment's value; None when a variable is unset or empty."""
    env = os.environ if env is None else env
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        v = env.get(m.group(1), "")
        if not v:
            missing = True
        return v

    out = _ENV.sub(sub, value)
    return None if missing else out


def env_vars(value: str) -> list[str]:
    return _ENV.findall(value)


def _table(raw: dict[str, Any], key: str, path: Path, required: bool = True) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        if required:
            raise DataFormatError(path, f"table [{key}] is missing")
        return {}
    if not isinstance(value, dict):
        raise DataFormatError(path, f"[{key}] must be a table", key)
    return value


def _unknown(table: dict[str, Any], allowed: set[str], path: Path, where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise DataFormatError(path, f"unknown key(s) {extra}; allowed: {sorted(allowed)}", where)


def _str(table: dict[str, Any], key: str, path: Path, where: str, required: bool = True) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise DataFormatError(path, f"'{key}' is missing", f"{where}{key}")
        return None
    if not isinstance(value, str) or not value:
        raise DataFormatError(path, f"'{key}' must be a non-empty string, got {value!r}", f"{where}{key}")
    return value


def _dict(table: dict[str, Any], key: str, path: Path, where: str) -> dict[str, Any]:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise DataFormatError(path, f"'{key}' must be a table", f"{where}{key}")
    return dict(value)


def parse_recipe(path: str | Path, text: str | None = None) -> Recipe:
    """Parse and check one recipe; every error names the file and the key."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text() if text is None else text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFormatError(path, f"invalid TOML: {exc}") from exc
    except OSError as exc:
        raise DataFormatError(path, f"cannot read: {exc}") from exc
    _unknown(raw, _TOP_KEYS, path, "top level")
    name = path.stem
    if not _NAME.match(name):
        raise DataFormatError(path, f"recipe file name {name!r} must match {_NAME.pattern}")
    entry = _str(raw, "entry", path, "")
    model = _table(raw, "model", path)
    _unknown(model, _MODEL_KEYS, path, "model")
    adapter = _str(model, "adapter", path, "model.")
    ds = _table(raw, "dataset", path)
    _unknown(ds, _DATASET_KEYS, path, "dataset")
    ds_name = _str(ds, "name", path, "dataset.")
    if ds_name not in DATASETS:
        raise DataFormatError(path, unknown_name("dataset", ds_name, DATASETS), "dataset.name")
    synthetic = ds.get("synthetic")
    root = _str(ds, "root", path, "dataset.", required=False)
    if (synthetic is None) == (root is None):
        raise DataFormatError(path, "give exactly one of dataset.synthetic (a table) or dataset.root (a root key)",
                              "dataset")
    if synthetic is not None and not isinstance(synthetic, dict):
        raise DataFormatError(path, "dataset.synthetic must be a table, e.g. { videos = 24, seed = 0 }",
                              "dataset.synthetic")
    subset = _str(ds, "subset", path, "dataset.", required=False)
    if subset is not None:
        if subset not in SUBSETS:
            raise DataFormatError(path, unknown_name("subset", subset, SUBSETS),
                                  "dataset.subset")
        if ds_name != SOURCE_DATASET:
            raise DataFormatError(path, "A2D-S+ subsets are built from the a2d dataset only", "dataset.subset")
    split = _str(ds, "split", path, "dataset.", required=False) or "test"
    score = _table(raw, "score", path)
    _unknown(score, _SCORE_KEYS, path, "score")
    protocol = _str(score, "protocol", path, "score.")
    kind = _str(raw, "kind", path, "", required=False) or ("bound" if adapter in BOUND_ADAPTERS else "model")
    if kind not in KINDS:
        raise DataFormatError(path, f"kind must be one of {', '.join(KINDS)}, got {kind!r}", "kind")
    leaderboard = _str(raw, "leaderboard", path, "", required=False)
    if leaderboard is not None and not _NAME.match(leaderboard):
        raise DataFormatError(path, f"leaderboard name {leaderboard!r} must match {_NAME.pattern}", "leaderboard")
    return Recipe(
        name=name, path=path, entry=entry or name, kind=kind, adapter=adapter or "",
        dataset=DatasetSpec(name=ds_name or "", split=split, synthetic=dict(synthetic) if synthetic else None,
                            root=root, subset=subset, hard_split=_dict(ds, "hard_split", path, "dataset.")),
        protocol=protocol or "", adapter_options=_dict(model, "options", path, "model."),
        score_options=_dict(score, "options", path, "score."),
        checkpoint=_str(model, "checkpoint", path, "model.", required=False),
        train=_str(model, "train", path, "model.", required=False),
        train_options=_dict(model, "train_options", path, "model."),
        description=_str(raw, "description", path, "", required=False) or "",
        notes=_str(raw, "notes", path, "", required=False) or "",
        leaderboard_name=leaderboard,
    )


def load_recipes(directory: str | Path) -> list[Recipe]:
    """All `*.toml` directly in `directory` (sub-folders such as `train/` hold other recipes), sorted by name."""
    d = Path(directory)
    if not d.is_dir():
        raise ConfigError(f"{d}: recipes directory not found")
    recipes = [parse_recipe(p) for p in sorted(d.glob("*.toml"))]
    seen: dict[str, Recipe] = {}
    for r in recipes:
        key = (r.leaderboard, r.protocol, r.dataset.split, r.entry)
        other = seen.get(repr(key))
        if other is not None:
            raise DataFormatError(r.path, f"same leaderboard row (leaderboard {r.leaderboard}, protocol {r.protocol},"
                                          f" split {r.dataset.split}, entry {r.entry}) as {other.path}")
        seen[repr(key)] = r
    return recipes


__all__ = ["DATASETS", "DatasetSpec", "KINDS", "RESULT_FORMAT", "RESULT_FORMAT_VERSION", "Recipe", "SUBSETS",
           "canonical_hash", "env_vars", "expand_env", "load_recipes", "parse_recipe"]
