"""Mutations of native ground truth for the malformed-input suite (`tests/malformed.py`): A2D `.h5` and J-HMDB
`.mat` masks rewritten with wrong keys, dtypes, shapes and values, and the meta / mask-dict JSON of the modern
readers (MeViS, ReVOS, Ref-SAV, Long-RVOS, ReasonVOS) edited key by key: hostile ids, wrong types, missing keys,
huge or negative values, RLE with bad counts, duplicate expression ids.

Each mutation is a function of the file's path. A `JsonEdit` addresses a value by a dotted path whose `*` is the
first key of an object or the first non-null element of a list, and digits index lists.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

Mutation = Callable[[Path], None]


# ---------------------------------------------------------------------------------------------- JSON edits


def _step(node: Any, part: str) -> Any:
    if part == "*":
        if isinstance(node, dict):
            return next(iter(node))
        return next(i for i, v in enumerate(node) if v is not None)
    return int(part) if isinstance(node, list) else part


def _locate(doc: Any, spec: str) -> tuple[Any, Any]:
    """(container, key) of the value at `spec`."""
    parts = spec.split(".")
    node = doc
    for part in parts[:-1]:
        node = node[_step(node, part)]
    return node, _step(node, parts[-1])


def jedit(spec: str, value: Any = None, op: str = "set") -> Mutation:
    """Set, delete (`op="del"`), rename the key to `value` (`op="rename"`), copy the value at `value` here
    (`op="copy"`) or keep only the first element of the list (`op="head"`)."""
    def apply(p: Path) -> None:
        doc = json.loads(p.read_text())
        node, key = _locate(doc, spec)
        if op == "set":
            node[key] = value
        elif op == "del":
            del node[key]
        elif op == "rename":
            items = [(value if k == key else k, v) for k, v in node.items()]
            node.clear()
            node.update(items)
        elif op == "copy":
            src, skey = _locate(doc, value)
            node[key] = src[skey]
        elif op == "head":
            node[key] = node[key][:1]
        else:  # pragma: no cover - a typo in this file
            raise ValueError(op)
        p.write_text(json.dumps(doc))
    return apply


V = "videos.*"
E = "videos.*.expressions.*"
META_IDS: dict[str, Mutation] = {
    "video-id-dotdot": jedit(V, "../escape", "rename"),
    "video-id-slash": jedit(V, "a/b", "rename"),
    "frames-missing": jedit(f"{V}.frames", op="del"),
    "frames-not-list": jedit(f"{V}.frames", "00000"),
    "frames-ints": jedit(f"{V}.frames", [0, 1, 2, 3]),
    "frames-dup": jedit(f"{V}.frames.1", f"{V}.frames.0", "copy"),
    "frame-dotdot": jedit(f"{V}.frames.0", "../00000"),
    "exp-text-int": jedit(f"{E}.exp", 5),
}
"""Mutations every meta file of the Refer-YouTube-VOS schema family shares (`exp` is ReasonVOS's `exp_text`)."""

MASK_DICT_META: dict[str, Mutation] = {
    **META_IDS,
    "exp-id-dotdot": jedit(E, "..x", "rename"),
    "exp-id-slash": jedit(E, "x/y", "rename"),
    "expressions-list": jedit(f"{V}.expressions", []),
    "exp-missing": jedit(f"{E}.exp", op="del"),
    "obj-id-scalar": jedit(f"{E}.obj_id", 0),
    "obj-id-negative": jedit(f"{E}.obj_id", [-1]),
    "obj-id-huge": jedit(f"{E}.obj_id", [10 ** 12]),
    "obj-id-float": jedit(f"{E}.obj_id", [0.5]),
    "obj-id-bool": jedit(f"{E}.obj_id", [True]),
    "obj-id-str": jedit(f"{E}.obj_id", ["x"]),
    "anno-id-count": jedit(f"{E}.anno_id", []),
    "anno-id-float": jedit(f"{E}.anno_id", [0.5]),
    "anno-id-huge": jedit(f"{E}.anno_id", [10 ** 30]),
    "anno-id-nested": jedit(f"{E}.anno_id", [[0]]),
}
"""MeViS / ReVOS / Ref-SAV `meta_expressions*.json`."""

SIZED_META: dict[str, Mutation] = {
    "height-negative": jedit(f"{V}.height", -32),
    "height-huge": jedit(f"{V}.height", 10 ** 9),
    "height-str": jedit(f"{V}.height", "tall"),
    "width-zero": jedit(f"{V}.width", 0),
    "width-missing": jedit(f"{V}.width", op="del"),
    "type-id-str": jedit(f"{E}.type_id", "x"),
    "type-id-unknown": jedit(f"{E}.type_id", 7),
    "type-id-float": jedit(f"{E}.type_id", 0.5),
    "type-id-missing": jedit(f"{E}.type_id", op="del"),
    "type-id-null": jedit(f"{E}.type_id", None),
}
"""ReVOS / Ref-SAV add `height`, `width` and `type_id`."""

MASK_DICT: dict[str, Mutation] = {
    "anno-missing": jedit("*", op="del"),
    "entries-not-list": jedit("*", "x"),
    "entries-short": jedit("*", op="head"),
    "rle-not-dict": jedit("*.*", 5),
    "rle-counts-garbage": jedit("*.*.counts", "~~garbage~~"),
    "rle-counts-negative": jedit("*.*.counts", [-5, 10]),
    "rle-counts-short": jedit("*.*.counts", [7]),
    "rle-counts-dict": jedit("*.*.counts", {"a": 1}),
    "rle-size-wrong": jedit("*.*.size", [16, 16]),
    "rle-size-negative": jedit("*.*.size", [-32, 48]),
    "rle-size-huge": jedit("*.*.size", [100000, 100000]),
    "rle-size-str": jedit("*.*.size", "32x48"),
    "rle-no-counts": jedit("*.*.counts", op="del"),
}
"""`mask_dict.json`: {anno_id: [RLE | null per frame]}."""

FOREGROUND: dict[str, Mutation] = {
    "fg-video-missing": jedit("*", op="del"),
    "fg-rle-missing": jedit("*.masks_rle", op="del"),
    "fg-rle-not-list": jedit("*.masks_rle", {}),
    "fg-rle-short": jedit("*.masks_rle", op="head"),
    "fg-rle-garbage": jedit("*.masks_rle.0.counts", "~~garbage~~"),
    "fg-rle-size-wrong": jedit("*.masks_rle.0.size", [16, 16]),
    "fg-rle-null": jedit("*.masks_rle.0", None),
}
"""ReVOS `mask_dict_foreground.json`."""

LONG_RVOS_META: dict[str, Mutation] = {
    **META_IDS,
    "exp-id-dotdot": jedit(E, "..x", "rename"),
    "expressions-list": jedit(f"{V}.expressions", []),
    "exp-missing": jedit(f"{E}.exp", op="del"),
    "obj-id-dotdot": jedit(f"{E}.obj_id", "../../escape"),
    "obj-id-slash": jedit(f"{E}.obj_id", "0/0"),
    "obj-id-list": jedit(f"{E}.obj_id", [0]),
    "obj-id-bool": jedit(f"{E}.obj_id", True),
    "obj-id-float": jedit(f"{E}.obj_id", 0.5),
    "obj-id-null": jedit(f"{E}.obj_id", None),
    "type-unknown": jedit(f"{E}.type", "x"),
    "type-list": jedit(f"{E}.type", ["static"]),
    "type-int": jedit(f"{E}.type", 5),
}
"""Long-RVOS `meta_expressions.json` (obj_id a string that names a folder)."""

R = "videos.*.expressions.0"
REASONVOS_META: dict[str, Mutation] = {
    **{k: v for k, v in META_IDS.items() if k != "exp-text-int"},
    "source-dotdot": jedit(f"{V}.source", ".."),
    "source-slash": jedit(f"{V}.source", "../escape"),
    "source-missing": jedit(f"{V}.source", op="del"),
    "source-int": jedit(f"{V}.source", 5),
    "expressions-dict": jedit(f"{V}.expressions", {}),
    "exp-text-missing": jedit(f"{R}.exp_text", op="del"),
    "exp-text-int": jedit(f"{R}.exp_text", 5),
    "exp-id-dotdot": jedit(f"{R}.exp_id", "../x"),
    "exp-id-slash": jedit(f"{R}.exp_id", "x/y"),
    "exp-id-null": jedit(f"{R}.exp_id", None),
    "exp-id-bool": jedit(f"{R}.exp_id", True),
    "exp-id-list": jedit(f"{R}.exp_id", [1]),
    "exp-id-dup": jedit("videos.*.expressions.1.exp_id", f"{R}.exp_id", "copy"),
    "obj-id-negative": jedit(f"{R}.obj_id", -1),
    "obj-id-huge": jedit(f"{R}.obj_id", 10 ** 12),
    "obj-id-float": jedit(f"{R}.obj_id", 0.5),
    "obj-id-str": jedit(f"{R}.obj_id", "x"),
    "is-sent-str": jedit(f"{R}.is_sent", "false"),
    "expression-not-object": jedit(R, 7),
}
"""ReasonVOS `meta_expressions.json` (expressions a list; `source` names folders)."""

RLE_RESULTS: dict[str, Mutation] = {
    "pred-rle-garbage": jedit("*.*.prediction_masks.0.counts", "~~garbage~~"),
    "pred-rle-size-wrong": jedit("*.*.prediction_masks.0.size", [16, 16]),
    "pred-rle-negative": jedit("*.*.prediction_masks.0.counts", [-5, 10]),
    "pred-masks-not-list": jedit("*.*.prediction_masks", {}),
    "pred-masks-short": jedit("*.*.prediction_masks", op="head"),
    "pred-frames-dotdot": jedit("*.*.frames.0", "../x"),
    "pred-video-dotdot": jedit("*", "../escape", "rename"),
    "pred-exp-dotdot": jedit("*.*", "../x", "rename"),
    "pred-entry-not-object": jedit("*.*", 7),
}
"""A Ref-SAV prediction file ({video: {exp_id: {frames, prediction_masks}}})."""


# ---------------------------------------------------------------------------------------------- .h5 and .mat


def h5_edit(fn: Callable[[dict[str, np.ndarray]], None]) -> Mutation:
    """Rewrite an A2D frame file (every dataset read into a dict, edited, written back)."""
    def apply(p: Path) -> None:
        with h5py.File(p, "r") as f:
            data = {k: f[k][()] for k in f}
        fn(data)
        p.unlink()
        with h5py.File(p, "w") as f:
            for k, v in data.items():
                f.create_dataset(k, data=v)
    return apply


def _set(key: str, fn: Callable[[np.ndarray], Any]) -> Callable[[dict], None]:
    def edit(d: dict) -> None:
        d[key] = fn(d[key])
    return edit


def _drop(key: str) -> Callable[[dict], None]:
    return lambda d: d.pop(key)


H5: dict[str, Mutation] = {
    "h5-no-reMask": h5_edit(_drop("reMask")),
    "h5-no-instance": h5_edit(_drop("instance")),
    "h5-no-id": h5_edit(_drop("id")),
    "h5-reMask-wrong-size": h5_edit(_set("reMask", lambda m: np.zeros((m.shape[0], m.shape[1] + 3, m.shape[2]),
                                                                        np.uint8))),
    "h5-reMask-transposed": h5_edit(_set("reMask", lambda m: np.ascontiguousarray(m.transpose(0, 2, 1)))),
    "h5-reMask-4d": h5_edit(_set("reMask", lambda m: m[None])),
    "h5-reMask-str": h5_edit(_set("reMask", lambda m: np.array([b"mask"] * m.shape[0]))),
    "h5-reMask-float": h5_edit(_set("reMask", lambda m: m.astype(np.float64) * 0.5)),
    "h5-reMask-scalar": h5_edit(_set("reMask", lambda m: np.uint8(1))),
    "h5-instance-frac": h5_edit(_set("instance", lambda a: a + 0.5)),
    "h5-instance-negative": h5_edit(_set("instance", lambda a: a - 1)),
    "h5-instance-huge": h5_edit(_set("instance", lambda a: a + 300)),
    "h5-instance-dup": h5_edit(_set("instance", lambda a: np.zeros_like(a))),
    "h5-instance-nan": h5_edit(_set("instance", lambda a: a * np.nan)),
    "h5-instance-str": h5_edit(_set("instance", lambda a: np.array([b"x"] * a.size))),
    "h5-instance-short": h5_edit(_set("instance", lambda a: a[:-1])),
    "h5-id-short": h5_edit(_set("id", lambda a: a[:, :-1])),
    "h5-reBBox-shape": h5_edit(_set("reBBox", lambda b: b[:2])),
}
"""A2D `a2d_annotation_with_instances/<video>/<frame>.h5` (keys id, instance, reBBox, reMask)."""


def mat_edit(fn: Callable[[dict[str, Any]], None]) -> Mutation:
    """Rewrite a J-HMDB puppet_mask.mat (MATLAB v5) with `fn` applied to its variables."""
    def apply(p: Path) -> None:
        import scipy.io

        data = {k: v for k, v in scipy.io.loadmat(str(p)).items() if not k.startswith("__")}
        fn(data)
        scipy.io.savemat(str(p), data)
    return apply


def _mat_v73(p: Path) -> None:
    """The same masks as a MATLAB v7.3 (HDF5) file, which scipy cannot read."""
    import scipy.io

    m = scipy.io.loadmat(str(p))["part_mask"]
    p.unlink()
    with h5py.File(p, "w") as f:
        f.create_dataset("part_mask", data=m.T)


MAT: dict[str, Mutation] = {
    "mat-no-part-mask": mat_edit(lambda d: d.__setitem__("other", d.pop("part_mask"))),
    "mat-4d": mat_edit(_set("part_mask", lambda m: m[..., None])),
    "mat-wrong-size": mat_edit(_set("part_mask", lambda m: np.zeros((m.shape[0] + 3, m.shape[1] + 5, m.shape[2]),
                                                                    np.uint8))),
    "mat-one-frame": mat_edit(_set("part_mask", lambda m: m[..., :1])),
    "mat-float-half": mat_edit(_set("part_mask", lambda m: m.astype(np.float64) * 0.5)),
    "mat-uint16-256": mat_edit(_set("part_mask", lambda m: m.astype(np.uint16) * 256)),
    "mat-negative": mat_edit(_set("part_mask", lambda m: m.astype(np.int16) * -1)),
    "mat-nan": mat_edit(_set("part_mask", lambda m: np.where(m != 0, np.nan, 0.0))),
    "mat-str": mat_edit(_set("part_mask", lambda m: "abc")),
    "mat-cell": mat_edit(_set("part_mask", lambda m: np.array([m, m[:1]], dtype=object))),
    "mat-empty": mat_edit(_set("part_mask", lambda m: np.zeros((0, 0, 0), np.uint8))),
    "mat-v73": _mat_v73,
}
"""J-HMDB `puppet_mask/<class>/<video>/puppet_mask.mat` (one `part_mask` (H, W, T))."""


JSON_BY_NAME: dict[str, dict[str, Mutation]] = {
    "meta_expressions.json": MASK_DICT_META,
    "meta_expressions_valid_.json": {**MASK_DICT_META, **SIZED_META},
    "meta_expressions_valid.json": {**MASK_DICT_META, **SIZED_META},
    "mask_dict.json": MASK_DICT,
    "mask_dict_foreground.json": FOREGROUND,
}
"""Semantic JSON mutations per file name (Long-RVOS and ReasonVOS meta files by fixture, see `semantic_cases`)."""


def semantic_mutations(fixture: str, relpath: str) -> dict[str, Mutation]:
    """The key-level mutations that apply to one JSON file of a fixture (empty for files no mutation targets)."""
    name = relpath.rsplit("/", 1)[-1]
    if fixture == "long-rvos":
        return LONG_RVOS_META if name == "meta_expressions.json" else {}
    if fixture == "reasonvos":
        return REASONVOS_META if name == "meta_expressions.json" else {}
    if fixture == "mevis" and not relpath.startswith("valid_u/"):
        return {}  # the suite scores valid_u
    if fixture in ("mevis", "revos", "refsav"):
        return JSON_BY_NAME.get(name, {})
    return {}
