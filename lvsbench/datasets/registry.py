"""Dataset names -> readers, where a dataset's root is, and the library side of `lvsbench datasets|convert`.

`load(name, root, split)` opens the native reader of "a2d", "jhmdb", "ryvos", "rdavis", "davis", "mevis" or
"revos", or our layout ("layout", or any name whose root holds `meta_expressions.json` + card, e.g. a built
"a2d-plus-m").
`resolve_root(name, root)` finds a root: the explicit one, else `$LVSBENCH_<NAME>_ROOT`, else `[roots]` in the user
config file (`~/.config/lvsbench/config.toml`, or `$LVSBENCH_CONFIG`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lvsbench.core.errors import ConfigError, LvsbenchError, Problem, did_you_mean, unknown_name
from lvsbench.core.options import check_keywords
from lvsbench.core.registry import Registry, import_target
from lvsbench.datasets.base import Dataset


@dataclass(frozen=True)
class DatasetSpec:
    """What lvsbench knows about a native dataset: its reader, splits and default scoring protocol."""

    name: str
    title: str
    loader: str  # "module:Class", constructed as Class(root, split=None, **options)
    default_split: str
    splits: tuple[str, ...]
    info_splits: tuple[str, ...]  # splits `datasets info` reports when no --split is given
    default_protocol: str
    coco_gt: bool = False  # `convert --to coco` applies (MTTR/ReferFormer COCO ground truth)
    check_split: bool = False  # `load` refuses a split outside `splits` (the reader takes any name)
    meta_at_root: bool = False  # the release root holds a meta_expressions.json: ours only with our card
    convert_options: tuple[tuple[str, Any], ...] = ()
    """Reader options `convert --to layout` sets unless given: A2D drops expressions whose instance is in no
    annotated frame (MTTR has no sample for them); the layout cannot hold an expression without objects."""


DATASETS: Registry[DatasetSpec] = Registry("dataset")
_NO_TARGET_DROP = (("no_target", "drop"),)
for _spec in (
    DatasetSpec("a2d", "A2D-Sentences (Gavrilyuk et al. CVPR'18)", "lvsbench.datasets.a2d:A2DDataset", "test",
                ("train", "test", "all"), ("train", "test"), "a2d", coco_gt=True, check_split=True,
                convert_options=(("drop_unlocated", True),)),
    DatasetSpec("jhmdb", "J-HMDB-Sentences (Gavrilyuk et al. CVPR'18)", "lvsbench.datasets.jhmdb:JHMDBDataset",
                "test", ("test",), ("test",), "jhmdb", coco_gt=True, check_split=True),
    DatasetSpec("ryvos", "Refer-YouTube-VOS (Seo et al. ECCV'20)", "lvsbench.datasets.ryvos:RYVOSDataset", "valid",
                ("train", "valid", "test", "valid-competition", "train-heldout-v1", "train-minus-heldout-v1"),
                ("train", "valid"), "ryvos"),
    DatasetSpec("rdavis", "Refer-DAVIS17 (Khoreva et al. ACCV'18)", "lvsbench.datasets.rdavis:RDAVISDataset", "val",
                ("train", "val"), ("train", "val"), "rdavis"),
    DatasetSpec("davis", "DAVIS 2016/2017 semi-supervised VOS (Pont-Tuset et al. arXiv:1704.00675)",
                "lvsbench.datasets.davis:DAVISDataset", "val", ("train", "val"), ("train", "val"), "davis-semi"),
    DatasetSpec("mevis", "MeViS v1/v2 (Ding et al. ICCV'23, TPAMI'25)", "lvsbench.datasets.mevis:MeViSDataset",
                "valid_u", ("train", "valid_u", "valid"), ("train", "valid_u", "valid"), "mevis",
                convert_options=_NO_TARGET_DROP),
    DatasetSpec("revos", "ReVOS (Yan et al. ECCV'24, VISA)", "lvsbench.datasets.revos:ReVOSDataset", "valid",
                ("valid", "train", "train_sub"), ("train", "valid"), "revos", convert_options=_NO_TARGET_DROP),
    DatasetSpec("refsav", "Ref-SAV (Sa2VA, Yuan et al. 2025)", "lvsbench.datasets.refsav:RefSAVDataset", "valid",
                ("valid",), ("valid",), "refsav"),
    DatasetSpec("long-rvos", "Long-RVOS (Liang et al. CVPR'26)", "lvsbench.datasets.long_rvos:LongRVOSDataset",
                "valid", ("valid", "train", "test"), ("valid",), "long-rvos"),
    DatasetSpec("reasonvos", "ReasonVOS (VideoLISA, Bai et al. NeurIPS'24)",
                "lvsbench.datasets.reasonvos:ReasonVOSDataset", "test", ("test",), ("test",), "reasonvos",
                meta_at_root=True),
):
    DATASETS.add(_spec)

CONFIG_ENV = "LVSBENCH_CONFIG"


def env_var(name: str) -> str:
    """`LVSBENCH_<NAME>_ROOT`, name upper-cased with '-' -> '_' (a2d-plus-m -> LVSBENCH_A2D_PLUS_M_ROOT)."""
    return f"LVSBENCH_{name.upper().replace('-', '_')}_ROOT"


def config_path() -> Path:
    """The user config file: `$LVSBENCH_CONFIG`, else `$XDG_CONFIG_HOME/lvsbench/config.toml` (~/.config)."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "lvsbench" / "config.toml"


def configured_roots() -> dict[str, str]:
    """The `[roots]` table of the config file ({} when there is no file)."""
    import tomllib

    path = config_path()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    roots = data.get("roots", {})
    if not isinstance(roots, dict):
        raise ConfigError(f"{path}: [roots] must be a table of name = \"path\"")
    return {str(k): str(v) for k, v in roots.items()}


def resolve_root(name: str, root: str | Path | None) -> Path:
    """Root of a dataset: `root`, else the environment variable, else the config file; ConfigError otherwise."""
    if root is not None and str(root) != "":
        return Path(root).expanduser()
    var = env_var(name)
    if os.environ.get(var):
        path = Path(os.environ[var]).expanduser()
        if not path.is_dir():
            raise ConfigError(f"{var}={os.environ[var]}: no such folder (point it at the {name} dataset root, or "
                              "unset it and pass --root DIR)")
        return path
    roots = configured_roots()
    for key in (name, name.replace("-", "_")):
        if key in roots:
            path = Path(roots[key]).expanduser()
            if not path.is_dir():
                raise ConfigError(f"{config_path()}: [roots] {key} = {roots[key]!r}: no such folder (fix it there, "
                                  "or pass --root DIR)")
            return path
    hint = "" if name.lower() in DATASETS else did_you_mean(name, DATASETS)
    raise ConfigError(f"no root for dataset {name!r}{hint}: pass --root DIR, or set {var}, or add "
                      f"'{name} = \"/path\"' under [roots] in {config_path()} (${CONFIG_ENV} overrides that path)")


def load(name: str, root: str | Path, split: str | None = None, **options: Any) -> Dataset:
    """Open a dataset split: a native reader by name, or our layout ("layout" or a root holding one)."""
    from lvsbench.datasets.layout import CARD_NAME, LayoutDataset, is_layout

    root = Path(root).expanduser()
    if not root.exists():
        raise ConfigError(f"{root}: dataset root does not exist")
    key = name.lower()
    if key == "layout":
        return LayoutDataset(root, split=split, **options)
    spec = DATASETS.get(key)
    # A native root may itself hold a meta_expressions.json (ReasonVOS): only a root with our card is our layout.
    ours = is_layout(root) and (spec is None or not spec.meta_at_root or (root / CARD_NAME).is_file())
    if spec is not None and not (ours and not options):
        if split is not None and split not in spec.splits and spec.check_split:
            raise ConfigError(f"{key}: {unknown_name('split', split, spec.splits)}")
        cls = import_target(spec.loader, f"dataset {key!r}")
        check_keywords(cls, f"{key}: bad option for the reader", root, split, **options)
        return cls(root, split, **options)
    if is_layout(root):
        return LayoutDataset(root, name=None if key == "layout" else name, split=split)
    raise ConfigError(f"{unknown_name('dataset', name, [*DATASETS, 'layout'])}, and {root} holds no dataset in "
                      "the lvsbench layout")


def parse_options(pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """`key=value` strings from the command line -> reader options (true/false -> bool, numbers -> int/float)."""
    from lvsbench.core.options import parse_typed_options

    return parse_typed_options(pairs, "--option")


# ------------------------------------------------------------------------------------------ info / convert


def _problems(problems: list[Problem]) -> list[dict[str, str]]:
    return [{"path": p.path, "message": p.message} for p in problems]


def dataset_info(name: str, root: str | Path | None, split: str | None = None, check: bool = False,
                 progress: bool = False, **options: Any) -> dict[str, Any]:
    """Counts per split (videos, expressions, frames, annotated frames), what is missing, and with `check`
    every problem found by decoding all frames and masks."""
    path = resolve_root(name, root)
    spec = DATASETS.get(name.lower())
    splits: tuple[str | None, ...] = (split,) if split is not None else (spec.info_splits if spec else (None,))
    out: dict[str, Any] = {"dataset": name, "root": str(path), "splits": {}}
    for s in splits:
        try:
            ds = load(name, path, s, **options)
        except LvsbenchError as exc:
            if split is None and spec is not None and len(splits) > 1:
                out["splits"][s] = {"error": str(exc)}
                continue
            raise
        entry: dict[str, Any] = {"counts": ds.counts(), "missing": _problems(ds.missing())}
        notes = getattr(ds, "notes", None)
        if notes:
            entry["notes"] = list(notes)
        if check:
            entry["problems"] = _problems(ds.check(progress=progress))
        out["splits"][ds.split] = entry
    if split is None and spec is not None and all("error" in e for e in out["splits"].values()):
        first = next(iter(out["splits"].values()))
        raise LvsbenchError(first["error"])
    return out


def convert_dataset(name: str, root: str | Path | None, out: str | Path, split: str | None = None,
                    to: str = "layout", force: bool = False, frame_ext: str = ".jpg", progress: bool = False,
                    **options: Any) -> dict[str, Any]:
    """Convert a native dataset split to our layout, or (`to="coco"`, A2D/J-HMDB) to MTTR's COCO ground truth.

    Returns a summary (output path, counts). A2D conversion to our layout drops expressions whose instance is in no
    annotated frame (MTTR has no sample for them), unless `drop_unlocated=False` is passed.
    """
    from lvsbench.datasets.layout import write_dataset

    path = resolve_root(name, root)
    key = name.lower()
    spec = DATASETS.get(key)
    if to == "coco":
        from lvsbench.datasets.coco_gt import default_coco_name, write_coco_gt

        if spec is None or not spec.coco_gt:
            raise ConfigError(f"--to coco applies to a2d and jhmdb, not {name!r}")
        ds = load(key, path, split, **options)
        target = Path(out)
        if target.suffix.lower() != ".json":
            target = target / default_coco_name(ds)
        gt = write_coco_gt(ds, target, force=force, progress=progress)
        return {"format": "coco", "out": str(target), "images": len(gt["images"]),
                "annotations": len(gt["annotations"]), "split": ds.split}
    if to != "layout":
        raise ConfigError(f"--to must be layout or coco, got {to!r}")
    for option, value in spec.convert_options if spec else ():
        options.setdefault(option, value)
    ds = load(key, path, split, **options)
    protocol = spec.default_protocol if spec else getattr(ds, "card", {}).get("default_protocol", "ryvos")
    card = write_dataset(ds, out, source=f"{key} native layout, split {ds.split}", default_protocol=protocol,
                         force=force, frame_ext=frame_ext, progress=progress,
                         extra_card={"native_dataset": key, "native_split": ds.split,
                                     **({"native_annotations": ds.annotations}
                                        if getattr(ds, "annotations", None) else {})})
    summary = {"format": "layout", "out": str(out), "counts": card.get("counts", {}), "split": ds.split}
    if getattr(ds, "notes", None):
        summary["notes"] = list(ds.notes)
    return summary


def configured_root(key: str) -> tuple[Path | None, str]:
    """The configured root of a real dataset (`LVSBENCH_<KEY>_ROOT`, else `[roots]` of the user config), or
    (None, why) when none is configured here."""
    # The reasons end up in committed leaderboards: no machine-local paths in them.
    try:
        p = resolve_root(key, None)
    except ConfigError:
        return None, f"{env_var(key)} is not set (nor `{key}` under [roots] in the user config)"
    if not p.is_dir():
        return None, f"the configured root of {key} is not a directory"
    return p, "configured"


__all__ = ["CONFIG_ENV", "DATASETS", "DatasetSpec", "config_path", "configured_root", "configured_roots",
           "convert_dataset", "dataset_info", "env_var", "load", "parse_options", "resolve_root"]
