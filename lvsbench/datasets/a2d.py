"""Reader of A2D-Sentences (Gavrilyuk et al., CVPR'18, on A2D by Xu et al., CVPR'15) in its released layout.

```
ROOT/
  Release/videoset.csv                       headerless, 9 columns, column 9: 0 train / 1 test
  Release/clips320H/<vid>.mp4                frames (or extracted Release/pngs320H/<vid>/<fid>.png)
  Release/Annotations/mat/<vid>/<fid>.mat    MATLAB v7.3 (HDF5), arrays transposed, no instance ids
  text_annotations/a2d_annotation.txt        video_id,instance_id,query[,short_query]
  text_annotations/a2d_missed_videos.txt     28 videos without sentences
  text_annotations/a2d_annotation_with_instances/<vid>/<fid>.h5   instance, reMask, reBBox (+ id, reS_id)
```
A flat root holding the text files directly (as the authors serve them at kgavrilyuk.github.io/actor_action/) also
works.

Conventions (see `docs/datasets-a2d-jhmdb.md`): object id = A2D instance id + 1 (label maps keep 0 for
background); expression id = position of the row among the video's kept rows in file order ("0", "1", ...); frame
names are `%05d`, 1-based (frame `00001` is decode index 0). An expression is scored on the annotated frames
whose h5 `instance` field contains its instance, as MTTR's `get_text_annotations` / `create_gt_in_coco_format` do.
Instance masks may overlap (riders and horses, adults holding babies): `read_masks` keeps every instance's own
mask, as MTTR's COCO ground truth does; `read_labels` is a flattened map for display only.
The row with instance id `1 (copy)` is dropped (MTTR does so explicitly); missed videos are excluded.
"""

from __future__ import annotations

import csv
import io
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from lvsbench.core.codecs import read_image_rgb
from lvsbench.core.errors import ConfigError, DataFormatError, LvsbenchError, Problem, unknown_name
from lvsbench.core.ids import check_id, check_ids
from lvsbench.core.records import VOID_LABEL, Expression, FrameMasks, FrameSource, Video
from lvsbench.core.textfiles import read_text
from lvsbench.datasets.base import Dataset

SPLITS: dict[str, int | None] = {"train": 0, "test": 1, "all": None}
"""Split name -> value of videoset.csv column 9 (MTTR: `{'train': 0, 'test': 1}`)."""

ACTORS: tuple[str, ...] = ("adult", "baby", "ball", "bird", "car", "cat", "dog")
ACTIONS: tuple[str, ...] = ("climbing", "crawling", "eating", "flying", "jumping", "rolling", "running", "walking",
                            "none")
COPY_ROW_INSTANCE = "1 (copy)"
"""The one non-integer instance id of the official file (T6bNPuKV-wY, line 3181)."""

_H5_DIR = "a2d_annotation_with_instances"


def actor_action(a2d_id: int) -> tuple[int, int]:
    """(actor id, action id) of an A2D actor-action id: (id // 10, id % 10)."""
    return int(a2d_id) // 10, int(a2d_id) % 10


def actor_name(a2d_id: int) -> str:
    a = int(a2d_id) // 10
    return ACTORS[a - 1] if 1 <= a <= len(ACTORS) else f"actor{a}"


def action_name(a2d_id: int) -> str:
    a = int(a2d_id) % 10
    return ACTIONS[a - 1] if 1 <= a <= len(ACTIONS) else f"action{a}"


def class_table() -> list[dict[str, Any]]:
    """The actor-action table (id, name, actor, action, valid_43, R, G, B) shipped as package data."""
    text = resources.files("lvsbench").joinpath("data", "a2d_actor_action_classes.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    out = []
    for r in rows:
        out.append({"id": int(r["id"]), "name": r["name"], "actor": r["actor"], "action": r["action"],
                    "valid_43": r["valid_43"] == "1", "rgb": (int(r["R"]), int(r["G"]), int(r["B"]))})
    return out


def frame_name(index_1based: int) -> str:
    return f"{int(index_1based):05d}"


# ------------------------------------------------------------------------------------------ text files


@dataclass(frozen=True)
class VideosetRow:
    """One row of `Release/videoset.csv` (MTTR's column names)."""

    vid: str
    label: int
    start: str
    end: str
    height: int
    width: int
    total_frames: int
    annotated_frames: int
    subset: int
    line: int


def read_videoset(path: str | Path) -> list[VideosetRow]:
    """Parse the headerless 9-column videoset.csv; a header line (as in a public copy) is skipped."""
    path = Path(path)
    out: list[VideosetRow] = []
    text = _read_text(path)
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if lineno == 1 and len(row) == 9 and not row[4].strip().isdigit():
            continue  # header added by a third party (VID,Label,...,Usage)
        if len(row) != 9:
            raise DataFormatError(path, f"expected 9 comma-separated columns, got {len(row)}", f"line {lineno}")
        check_id(row[0], "video id", path, f"line {lineno}")
        try:
            out.append(VideosetRow(row[0], int(row[1]), row[2], row[3], int(row[4]), int(row[5]), int(row[6]),
                                   int(row[7]), int(row[8]), lineno))
        except ValueError as exc:
            raise DataFormatError(path, f"non-integer value in an integer column: {exc}", f"line {lineno}") from exc
        if out[-1].subset not in (0, 1):
            raise DataFormatError(path, f"split flag (column 9) must be 0 or 1, got {out[-1].subset}",
                                  f"line {lineno}")
    return out


@dataclass(frozen=True)
class AnnotationRow:
    """One row of a2d_annotation.txt; `instance_id` is None for the `1 (copy)` row."""

    video_id: str
    instance_id: int | None
    raw_instance: str
    query: str
    line: int
    short_query: str | None = None


def read_annotation_txt(path: str | Path) -> list[AnnotationRow]:
    """Parse a2d_annotation.txt (header `video_id,instance_id,query`, optionally a 4th `short_query` column).

    Queries are kept verbatim (leading/trailing spaces included). Only the known `1 (copy)` instance id may be
    non-integer; any other raises.
    """
    path = Path(path)
    text = _read_text(path)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise DataFormatError(path, "empty file", "line 1")
    header = [h.strip() for h in rows[0]]
    if header[:3] != ["video_id", "instance_id", "query"] or len(header) not in (3, 4):
        raise DataFormatError(path, f"header must be 'video_id,instance_id,query[,short_query]', got {rows[0]}",
                              "line 1")
    ncol = len(header)
    out: list[AnnotationRow] = []
    for lineno, row in enumerate(rows[1:], 2):
        if not row:
            continue
        if len(row) != ncol:
            raise DataFormatError(path, f"expected {ncol} comma-separated fields, got {len(row)}", f"line {lineno}")
        raw = row[1]
        if raw.strip() == COPY_ROW_INSTANCE:
            inst = None
        else:
            try:
                inst = int(raw)
            except ValueError as exc:
                raise DataFormatError(path, f"instance_id {raw!r} is not an integer", f"line {lineno}") from exc
            if not 0 <= inst < 254:
                raise DataFormatError(path, f"instance_id {inst} outside 0..253", f"line {lineno}")
        if not row[0]:
            raise DataFormatError(path, "empty video_id", f"line {lineno}")
        check_id(row[0], "video id", path, f"line {lineno}")
        out.append(AnnotationRow(row[0], inst, raw, row[2], lineno, row[3] if ncol == 4 else None))
    return out


def read_missed(path: str | Path) -> list[str]:
    """Ids in a2d_missed_videos.txt (one per line; the official file has no trailing newline)."""
    ids = [line.strip() for line in _read_text(Path(path)).split("\n") if line.strip()]
    return check_ids(ids, "video id", path)


def _read_text(path: Path) -> str:
    return read_text(path)


# ------------------------------------------------------------------------------------------ mask files


@dataclass(frozen=True)
class FrameAnnotation:
    """Instance annotation of one A2D frame, in (H, W) orientation.

    `masks` is (N, H, W) uint8 0/1; `boxes` (N, 4) x1, y1, x2, y2 as stored; `ids` the actor-action ids (or None
    when the file has no `id` key); `instances` the A2D instance ids (the .mat files have none: 0..N-1).
    """

    instances: tuple[int, ...]
    masks: np.ndarray
    boxes: np.ndarray | None
    ids: tuple[int, ...] | None

    def index(self, instance: int) -> int | None:
        try:
            return self.instances.index(int(instance))
        except ValueError:
            return None


def _numeric_1d(f: h5py.File, key: str, path: Path) -> np.ndarray:
    try:
        arr = np.asarray(f[key][()], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise DataFormatError(path, f"key {key!r} is not numeric", key) from exc
    return arr


def _int_tuple(arr: np.ndarray, path: Path, key: str) -> tuple[int, ...]:
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
        raise DataFormatError(path, f"key {key!r} holds non-integer values {arr.tolist()}", key)
    return tuple(int(v) for v in arr)


def _instances(f: h5py.File, path: Path) -> tuple[int, ...]:
    """The `instance` ids of a frame file: distinct integers in 0..253 (instance i is object id i + 1 of a uint8
    label map, so a negative or larger id would be background or overflow)."""
    if "instance" not in f:
        raise DataFormatError(path, "key 'instance' missing", "instance")
    instances = _int_tuple(_numeric_1d(f, "instance", path), path, "instance")
    if len(set(instances)) != len(instances):
        raise DataFormatError(path, f"duplicate instance ids {list(instances)}", "instance")
    if any(not 0 <= i < VOID_LABEL - 1 for i in instances):
        raise DataFormatError(path, f"instance ids {list(instances)} outside 0..253", "instance")
    return instances


def read_frame_annotation(path: str | Path, expect_hw: tuple[int, int] | None = None, instance_field: bool = True,
                          read_masks: bool = True) -> FrameAnnotation:
    """Read an `a2d_annotation_with_instances` .h5 (or, with `instance_field=False`, a v7.3 .mat) frame file.

    h5py shows MATLAB arrays transposed: `reMask` is (N, W, H), or (W, H) when N == 1 (MATLAB drops the
    trailing singleton); `reBBox` is (4, N); `id` is (1, N). Masks are returned (N, H, W).
    """
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError as exc:
        raise DataFormatError(path, "missing") from exc
    except OSError as exc:
        raise DataFormatError(path, f"not an HDF5 / MATLAB v7.3 file: {exc}") from exc
    with f:
        ids = _int_tuple(_numeric_1d(f, "id", path), path, "id") if "id" in f else None
        instances = _instances(f, path) if instance_field else ()
        if "reMask" not in f:
            raise DataFormatError(path, "key 'reMask' missing", "reMask")
        ds = f["reMask"]
        shape = tuple(ds.shape)
        if ds.dtype.kind not in "biuf":
            raise DataFormatError(path, f"reMask has dtype {ds.dtype}, expected numeric 0/1 masks", "reMask")
        if not instance_field:
            n = shape[0] if len(shape) == 3 else 1
            instances = tuple(range(n))
        n = len(instances)
        if len(shape) == 2:
            if n != 1:
                raise DataFormatError(path, f"reMask has 2-D shape {shape} but there are {n} instances "
                                            "(a 2-D reMask means exactly one instance)", "reMask")
        elif len(shape) != 3 or shape[0] != n:
            raise DataFormatError(path, f"reMask has shape {shape}, expected (N={n}, W, H)", "reMask")
        wh = shape[-2:]
        if expect_hw is not None and (wh[1], wh[0]) != tuple(expect_hw):
            raise DataFormatError(path, f"reMask frames are {wh[1]}x{wh[0]} (HxW after transposing), expected "
                                        f"{expect_hw[0]}x{expect_hw[1]}", "reMask")
        if read_masks:
            raw = ds[()]
            if raw.ndim == 2:
                raw = raw[None]
            if raw.dtype != np.uint8:
                raw = (raw != 0).astype(np.uint8)
            masks = raw.transpose(0, 2, 1)
        else:
            masks = np.zeros((0, wh[1], wh[0]), dtype=np.uint8)
        boxes = None
        if "reBBox" in f:
            b = np.asarray(f["reBBox"][()], dtype=np.float64)
            if b.ndim == 1 and b.shape[0] == 4 and n == 1:
                b = b[:, None]
            if b.shape != (4, n):
                raise DataFormatError(path, f"reBBox has shape {b.shape}, expected (4, {n})", "reBBox")
            boxes = b.T
        if ids is not None and len(ids) != n:
            raise DataFormatError(path, f"'id' has {len(ids)} values for {n} instances", "id")
    return FrameAnnotation(instances, masks, boxes, ids)


def frame_meta(path: str | Path) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """(`instance`, `id` or None) of an h5 frame file in one open, no masks read: what the scoring plan needs
    (which frames annotate an instance) and the categories (actor-action ids), so neither reopens the file."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            inst = _instances(f, path)
            ids = _int_tuple(_numeric_1d(f, "id", path), path, "id") if "id" in f else None
    except OSError as exc:
        raise DataFormatError(path, f"not an HDF5 file: {exc}") from exc
    if ids is not None and len(ids) != len(inst):
        raise DataFormatError(path, f"'id' has {len(ids)} values for {len(inst)} instances", "id")
    return inst, ids


def _strong_close_fapl() -> h5py.h5p.PropFAID:
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_fclose_degree(h5py.h5f.CLOSE_STRONG)  # closing the file closes its datasets too
    return fapl


_FAPL = _strong_close_fapl()


def _read_raw(path: str | Path, expect_hw: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(instance ids, reMask as stored: (N, W, H) uint8) of an h5 frame file through h5py's low-level API, or
    None on any irregularity (the caller then goes through `read_frame_annotation`, which names file and key)."""
    try:
        fid = h5py.h5f.open(str(path).encode(), h5py.h5f.ACC_RDONLY, fapl=_FAPL)
    except (OSError, KeyError):
        return None
    try:
        d = h5py.h5d.open(fid, b"instance")
        inst = np.empty(d.shape, dtype=np.float64)
        d.read(h5py.h5s.ALL, h5py.h5s.ALL, inst)
        d = h5py.h5d.open(fid, b"reMask")
        if d.dtype != np.uint8:  # HDF5 would convert 0.5 to 0; the general reader binarises (!= 0)
            return None
        masks = np.empty(d.shape, dtype=np.uint8)
        d.read(h5py.h5s.ALL, h5py.h5s.ALL, masks)
    except (KeyError, OSError, TypeError, ValueError):
        return None
    finally:
        fid.close()
    inst = inst.reshape(-1)
    if masks.ndim not in (2, 3) or (masks.ndim == 2 and inst.size != 1) or (
            masks.ndim == 3 and masks.shape[0] != inst.size) or (
            expect_hw is not None and masks.shape[-1:-3:-1] != tuple(expect_hw)) or (
            not np.all(inst == np.round(inst))) or len(np.unique(inst)) != inst.size or (
            inst.size and not 0 <= inst.min() <= inst.max() < VOID_LABEL - 1):
        return None
    return inst, (masks[None] if masks.ndim == 2 else masks)


def read_label_map(path: str | Path, expect_hw: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W) label map of an h5 frame file (instance i -> i + 1), reading only `instance` and `reMask`.

    Flattened: where instances overlap the later one wins, so use `read_frame_masks` for ground truth. The fast
    path of `read_labels`: one transpose of the finished map instead of copies of every mask.
    """
    raw = _read_raw(path, expect_hw)
    if raw is None:
        return label_map(read_frame_annotation(path, expect_hw))
    inst, masks = raw
    lab_t = np.zeros(masks.shape[1:], dtype=np.uint8)
    for k, i in enumerate(inst):
        lab_t[masks[k] != 0] = int(i) + 1
    return np.ascontiguousarray(lab_t.T)


def read_frame_masks(path: str | Path, expect_hw: tuple[int, int] | None = None) -> FrameMasks:
    """Ground truth of an h5 frame file with every instance's own mask (object id = instance + 1), overlaps kept.

    MTTR's `create_gt_in_coco_format.py` encodes `reMask[idx]` of the referred instance, which may share pixels
    with other instances (a rider and a horse, an adult holding a baby).
    """
    raw = _read_raw(path, expect_hw)
    if raw is None:
        return frame_masks(read_frame_annotation(path, expect_hw))
    inst, masks = raw
    lab_t = np.zeros(masks.shape[1:], dtype=np.uint8)
    area = 0
    for k, i in enumerate(inst):
        m = masks[k] != 0
        lab_t[m] = int(i) + 1
        area += int(np.count_nonzero(m))
    labels = np.ascontiguousarray(lab_t.T)
    if area == np.count_nonzero(lab_t):  # no pixel belongs to two instances (the common case: one cheap count)
        return FrameMasks(labels)
    return FrameMasks.from_instances([int(i) + 1 for i in inst], [m.T for m in masks])


def label_map(ann: FrameAnnotation) -> np.ndarray:
    """(H, W) uint8 label map: instance i -> object id i + 1. Where masks overlap, the later instance wins."""
    n, h, w = ann.masks.shape
    lab_t = np.zeros((w, h), dtype=np.uint8)
    for k, inst in enumerate(ann.instances):
        lab_t[ann.masks[k].T != 0] = inst + 1
    return np.ascontiguousarray(lab_t.T)


def frame_masks(ann: FrameAnnotation) -> FrameMasks:
    """Ground truth of a frame annotation: object id = instance + 1, each instance's own mask (overlaps kept)."""
    return FrameMasks.from_instances([i + 1 for i in ann.instances], list(ann.masks))


# ------------------------------------------------------------------------------------------ dataset


def _find(candidates: list[Path], kind: str = "file") -> Path | None:
    for p in candidates:
        if (kind == "file" and p.is_file()) or (kind == "dir" and p.is_dir()):
            return p
    return None


class A2DDataset(Dataset):
    """A2D-Sentences split (`train`, `test` or `all`) read from the released files.

    Options: `annotations="auto"|"h5"|"mat"` (mask source; "mat" has no instance ids, instance = position, an
    assumption), `frames="auto"|"mp4"|"png"`, `frame_count="videoset"|"container"` (number of frames per video:
    FramesCut of videoset.csv, or what the mp4 reports), `drop_unlocated=False` (drop expressions whose instance
    is in no annotated frame; MTTR yields no sample for them), and explicit paths `videoset`, `annotation_file`,
    `missed_file`, `instances_dir`, `mat_dir`, `clips_dir`, `pngs_dir`.
    """

    name = "a2d"
    splits: tuple[str, ...] = tuple(SPLITS)
    default_split = "test"

    def __init__(self, root: str | Path, split: str | None = None, *, annotations: str = "auto",
                 frames: str = "auto", frame_count: str = "videoset", drop_unlocated: bool = False,
                 videoset: str | Path | None = None, annotation_file: str | Path | None = None,
                 missed_file: str | Path | None = None, instances_dir: str | Path | None = None,
                 mat_dir: str | Path | None = None, clips_dir: str | Path | None = None,
                 pngs_dir: str | Path | None = None) -> None:
        self.root = Path(root)
        self.split = split or "test"
        if self.split not in SPLITS:
            raise ConfigError(f"a2d: {unknown_name('split', self.split, SPLITS)}")
        if annotations not in ("auto", "h5", "mat") or frames not in ("auto", "mp4", "png") or \
                frame_count not in ("videoset", "container"):
            raise ConfigError("a2d: invalid option: annotations in auto|h5|mat, frames in auto|mp4|png, "
                                "frame_count in videoset|container")
        r, rel, txt = self.root, self.root / "Release", self.root / "text_annotations"
        self.videoset_path = Path(videoset) if videoset else (
            _find([rel / "videoset.csv", r / "videoset.csv"]) or rel / "videoset.csv")
        self.annotation_path = Path(annotation_file) if annotation_file else (
            _find([txt / "a2d_annotation.txt", r / "a2d_annotation.txt"]) or txt / "a2d_annotation.txt")
        self.missed_path = Path(missed_file) if missed_file else (
            _find([txt / "a2d_missed_videos.txt", r / "a2d_missed_videos.txt"]) or txt / "a2d_missed_videos.txt")
        h5 = Path(instances_dir) if instances_dir else _find([txt / _H5_DIR, r / _H5_DIR], "dir")
        if h5 is not None and (h5 / _H5_DIR).is_dir() and not any(p.suffix == ".h5" for p in h5.glob("*/*.h5")):
            h5 = h5 / _H5_DIR  # the zip extracted into a doubled folder
        self.instances_dir = h5
        self.mat_dir = Path(mat_dir) if mat_dir else _find([rel / "Annotations" / "mat", r / "Annotations" / "mat"],
                                                           "dir")
        self.clips_dir = Path(clips_dir) if clips_dir else _find([rel / "clips320H", r / "clips320H"], "dir")
        self.pngs_dir = Path(pngs_dir) if pngs_dir else _find([rel / "pngs320H", r / "pngs320H"], "dir")
        if annotations == "auto":
            annotations = "h5" if self.instances_dir is not None or self.mat_dir is None else "mat"
        self.annotation_source = annotations
        self.frames_option = frames
        self.frame_count = frame_count
        self.drop_unlocated = drop_unlocated
        for p, what in ((self.videoset_path, "videoset.csv"), (self.annotation_path, "a2d_annotation.txt")):
            if not p.is_file():
                raise DataFormatError(p, f"missing: A2D-Sentences needs {what} (looked under {self.root})")
        self._cache: OrderedDict[str, list[np.ndarray]] = OrderedDict()

    # -------------------------------------------------------------- text metadata

    @cached_property
    def videoset(self) -> dict[str, VideosetRow]:
        rows = read_videoset(self.videoset_path)
        if not rows:
            raise DataFormatError(self.videoset_path, "no videos (empty file); restore it from the release")
        out: dict[str, VideosetRow] = {}
        for row in rows:
            if row.vid in out:
                raise DataFormatError(self.videoset_path, f"video {row.vid} listed twice", f"line {row.line}")
            out[row.vid] = row
        return out

    @cached_property
    def missed(self) -> tuple[str, ...]:
        return tuple(read_missed(self.missed_path)) if self.missed_path.is_file() else ()

    @cached_property
    def annotation_rows(self) -> list[AnnotationRow]:
        return read_annotation_txt(self.annotation_path)

    def _in_split(self, row: VideosetRow) -> bool:
        flag = SPLITS[self.split]
        return flag is None or row.subset == flag

    @cached_property
    def _videos(self) -> dict[str, Video]:
        missed = set(self.missed)
        out: dict[str, Video] = {}
        for vid, row in self.videoset.items():
            if vid in missed or not self._in_split(row):
                continue
            n = row.total_frames
            if self.frame_count == "container":
                n = self._container_frames(vid) or n
            out[vid] = Video(vid, tuple(frame_name(i) for i in range(1, n + 1)), row.height, row.width,
                             self._frame_source(vid))
        return out

    def _frame_source(self, vid: str) -> FrameSource:
        png = self.pngs_dir / vid if self.pngs_dir is not None else None
        mp4 = self.clips_dir / f"{vid}.mp4" if self.clips_dir is not None else None
        use_png = self.frames_option == "png" or (
            self.frames_option == "auto" and png is not None and png.is_dir())
        if use_png:
            return FrameSource("images", png if png is not None else self.root / "Release" / "pngs320H" / vid,
                               "{name}.png")
        return FrameSource("video", mp4 if mp4 is not None else self.root / "Release" / "clips320H" / f"{vid}.mp4",
                           index_base=1)

    def _container_frames(self, vid: str) -> int | None:
        import cv2

        p = self.clips_dir / f"{vid}.mp4" if self.clips_dir is not None else None
        if p is None or not p.is_file():
            return None
        cap = cv2.VideoCapture(str(p))
        try:
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        finally:
            cap.release()
        return n or None

    def videos(self) -> dict[str, Video]:
        return self._videos

    @cached_property
    def _rows_by_video(self) -> dict[str, list[AnnotationRow]]:
        vids = self._videos
        out: dict[str, list[AnnotationRow]] = {}
        seen: dict[tuple[str, int], int] = {}
        for row in self.annotation_rows:
            if row.video_id not in vids or row.instance_id is None:
                continue
            key = (row.video_id, row.instance_id)
            if key in seen:
                raise DataFormatError(self.annotation_path, f"video {row.video_id} instance {row.instance_id} "
                                                            f"already described on line {seen[key]}",
                                      f"line {row.line}")
            seen[key] = row.line
            out.setdefault(row.video_id, []).append(row)
        return out

    @cached_property
    def _expressions(self) -> list[Expression]:
        out = []
        index_available = self._annotation_dir_root() is not None
        for vid in self._videos:
            for k, row in enumerate(self._rows_by_video.get(vid, [])):
                frames: tuple[str, ...] = ()
                if index_available:
                    frames = self._frames_with_instance(vid, row.instance_id)
                    if not frames and self.drop_unlocated:
                        continue
                out.append(Expression(str(k), vid, row.query, (row.instance_id + 1,), frames))
        return out

    def expressions(self) -> list[Expression]:
        return self._expressions

    def expression_row(self, expression: Expression) -> AnnotationRow:
        """The a2d_annotation.txt row of an expression (its line number, raw instance id)."""
        rows = self._rows_by_video[expression.video_id]
        inst = expression.object_ids[0] - 1
        return next(r for r in rows if r.instance_id == inst)

    def expression_frames(self, expression: Expression) -> tuple[str, ...]:
        """Annotated frames whose h5 lists the expression's instance (possibly none), as MTTR samples them."""
        if self._annotation_dir_root() is None:
            return expression.frames
        return self._frames_with_instance(expression.video_id, expression.object_ids[0] - 1)

    # -------------------------------------------------------------- annotation files

    def _annotation_dir_root(self) -> Path | None:
        return self.instances_dir if self.annotation_source == "h5" else self.mat_dir

    def annotation_file(self, video_id: str, frame: str) -> Path:
        base = self._annotation_dir_root()
        ext = ".h5" if self.annotation_source == "h5" else ".mat"
        if base is None:
            base = self.root / "text_annotations" / _H5_DIR if ext == ".h5" else \
                self.root / "Release" / "Annotations" / "mat"
        return base / video_id / f"{frame}{ext}"

    @cached_property
    def _annotated(self) -> dict[str, tuple[str, ...]]:
        base = self._annotation_dir_root()
        out: dict[str, tuple[str, ...]] = {}
        ext = ".h5" if self.annotation_source == "h5" else ".mat"
        for vid in self._videos:
            d = base / vid if base is not None else None
            if d is None or not d.is_dir():
                out[vid] = ()
                continue
            names = []
            for p in d.iterdir():
                if p.suffix == ext:
                    if not p.stem.isdigit():
                        raise DataFormatError(p, "annotation file name is not a frame number")
                    names.append(frame_name(int(p.stem)))
            out[vid] = tuple(sorted(names))
        return out

    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        return self._annotated[video_id]

    @cached_property
    def _instance_index(self) -> dict[str, dict[str, tuple[int, ...]]]:
        return {}

    def frame_instances(self, video_id: str) -> dict[str, tuple[int, ...]]:
        """{frame: instance ids annotated in it} (read from the `instance` fields only, cached). The same open
        reads the actor-action ids, which `actor_action_ids` then takes from here: the scoring plan (which frames
        annotate an instance) and the categories cost one open of each annotation file together."""
        idx = self._instance_index.get(video_id)
        if idx is None:
            idx = {}
            ids: dict[str, tuple[int, ...] | None] = {}
            for fr in self.annotated_frames(video_id):
                p = self.annotation_file(video_id, fr)
                if self.annotation_source == "h5":
                    idx[fr], ids[fr] = frame_meta(p)
                else:
                    ann = read_frame_annotation(p, instance_field=False, read_masks=False)
                    idx[fr], ids[fr] = ann.instances, ann.ids
            self._instance_index[video_id] = idx
            self._ids_index[video_id] = ids
        return idx

    @cached_property
    def _ids_index(self) -> dict[str, dict[str, tuple[int, ...] | None]]:
        return {}

    def _frames_with_instance(self, video_id: str, instance: int) -> tuple[str, ...]:
        return tuple(fr for fr, inst in self.frame_instances(video_id).items() if instance in inst)

    def read_annotation(self, video_id: str, frame: str, read_masks: bool = True) -> FrameAnnotation:
        """All instance masks of one annotated frame, checked against the video size."""
        v = self._videos[video_id]
        return read_frame_annotation(self.annotation_file(video_id, frame), (v.height, v.width),
                                     instance_field=self.annotation_source == "h5", read_masks=read_masks)

    def read_labels(self, video_id: str, frame: str) -> np.ndarray | None:
        """Flattened label map (the later instance wins where instances overlap): for display; `read_masks` is
        the ground truth."""
        if frame not in self._annotated_sets[video_id]:
            return None
        v = self._videos[video_id]
        if self.annotation_source == "h5":
            return read_label_map(self.annotation_file(video_id, frame), (v.height, v.width))
        return label_map(self.read_annotation(video_id, frame))

    def read_masks(self, video_id: str, frame: str) -> FrameMasks | None:
        """Every instance's own mask (object id = instance + 1); overlapping instances keep their shared pixels."""
        if frame not in self._annotated_sets[video_id]:
            return None
        v = self._videos[video_id]
        if self.annotation_source == "h5":
            return read_frame_masks(self.annotation_file(video_id, frame), (v.height, v.width))
        return frame_masks(self.read_annotation(video_id, frame))

    @cached_property
    def _annotated_sets(self) -> dict[str, frozenset[str]]:
        return {v: frozenset(f) for v, f in self._annotated.items()}

    def instance_mask(self, video_id: str, frame: str, instance: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(H, W) uint8 mask and x1y1x2y2 box of one instance; DataFormatError if the frame does not have it."""
        ann = self.read_annotation(video_id, frame)
        k = ann.index(instance)
        if k is None:
            raise DataFormatError(self.annotation_file(video_id, frame),
                                  f"instance {instance} not annotated here (instances {list(ann.instances)})",
                                  "instance")
        return ann.masks[k], None if ann.boxes is None else ann.boxes[k]

    @cached_property
    def _categories(self) -> dict[str, dict[int, int]]:
        return {}

    def actor_action_ids(self, video_id: str) -> dict[int, int]:
        """{object id: A2D actor-action id} from the annotation files' `id` field (empty without files)."""
        got = self._categories.get(video_id)
        if got is None:
            got = {}
            instances = self.frame_instances(video_id)  # cached by the scoring plan: no file is reopened
            for fr, ids in self._ids_index[video_id].items():
                if ids is not None:
                    for inst, aid in zip(instances[fr], ids, strict=True):
                        got.setdefault(inst + 1, aid)
            self._categories[video_id] = got
        return got

    def object_categories(self, video_id: str) -> dict[int, str]:
        """Actor class name per object id (adult, baby, ball, bird, car, cat, dog)."""
        return {o: actor_name(a) for o, a in sorted(self.actor_action_ids(video_id).items())}

    # -------------------------------------------------------------- frames

    def read_frame(self, video_id: str, frame: str) -> np.ndarray:
        video = self._videos[video_id]
        if video.source.kind == "images":
            p = video.source.frame_path(frame)
            if not p.is_file():
                raise DataFormatError(p, "missing frame", f"frame {frame}")
            return read_image_rgb(p)
        frames = self._cache.get(video_id)
        if frames is None:
            frames = [rgb for _, rgb in self._decode(video_id)]
            self._cache[video_id] = frames
            while len(self._cache) > 2:
                self._cache.popitem(last=False)
        i = int(frame) - video.source.index_base
        if not 0 <= i < len(frames):
            raise DataFormatError(video.source.path, f"container has {len(frames)} frames, no frame {frame}",
                                  f"frame {frame}")
        return frames[i]

    def _decode(self, video_id: str) -> Iterator[tuple[int, np.ndarray]]:
        import cv2

        path = self._videos[video_id].source.path
        assert path is not None
        if not path.is_file():
            raise DataFormatError(path, "missing video file")
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            cap.release()
            raise DataFormatError(path, "cannot open video container")
        try:
            i = 0
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                yield i, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                i += 1
        finally:
            cap.release()
        if i == 0:
            raise DataFormatError(path, "no decodable frames")

    def iter_frames(self, video_id: str, frames: tuple[str, ...] | None = None) -> Iterator[tuple[str, np.ndarray]]:
        """Frames in video order; an mp4 is decoded sequentially once (seeking in mp4 is not frame-exact)."""
        video = self._videos[video_id]
        names = video.frames if frames is None else frames
        if video.source.kind == "images":
            for name in names:
                yield name, self.read_frame(video_id, name)
            return
        wanted = {int(n) - video.source.index_base: n for n in names}
        last = max(wanted) if wanted else -1
        got = 0
        for i, rgb in self._decode(video_id):
            if i in wanted:
                yield wanted[i], rgb
                got += 1
            if i >= last:
                break
        if got < len(wanted):
            first_missing = min(k for k in wanted if k > i) if any(k > i for k in wanted) else last
            raise DataFormatError(video.source.path, f"container ends after {i + 1} frames but "
                                                     f"{len(names)} are listed", f"frame {wanted[first_missing]}")

    # -------------------------------------------------------------- reporting

    def counts(self) -> dict[str, int]:
        vids = self._videos
        out = {
            "videos": len(vids),
            "expressions": len(self.expressions()),
            "frames": sum(v.num_frames for v in vids.values()),
            "annotated_frames": sum(len(self.annotated_frames(v)) for v in vids),
            "annotated_frames_listed": sum(self.videoset[v].annotated_frames for v in vids),
            "missed_videos": sum(1 for v in self.missed if v in self.videoset and self._in_split(self.videoset[v])),
        }
        if self._annotation_dir_root() is not None:
            out["scored_frames"] = sum(len(self.expression_frames(e)) for e in self.expressions())
            out["expressions_without_frames"] = sum(1 for e in self.expressions() if not self.expression_frames(e))
        return out

    def missing(self) -> list[Problem]:
        out: list[Problem] = []
        if not self.missed_path.is_file():
            out.append(Problem(str(self.missed_path), "absent: no videos are excluded as missed"))
        base = self._annotation_dir_root()
        if base is None:
            where = self.root / "text_annotations" / _H5_DIR
            out.append(Problem(str(where), "no mask annotations (metadata-only mode)"))
        if self.clips_dir is None and self.pngs_dir is None:
            out.append(Problem(str(self.root / "Release" / "clips320H"), "no frames (metadata-only mode)"))
        for vid, video in self._videos.items():
            src = video.source
            if (self.clips_dir is not None or self.pngs_dir is not None) and src.path is not None \
                    and not src.path.exists():
                out.append(Problem(str(src.path), "missing frames of a video of the split"))
            if base is not None and not (base / vid).is_dir():
                out.append(Problem(str(base / vid), "missing annotations of a video of the split"))
        return out

    def check(self, progress: bool = False) -> list[Problem]:
        """Decode every frame and annotation of the split; every problem is listed, not only the first."""
        from tqdm import tqdm

        problems = list(self.missing())
        have_frames = self.clips_dir is not None or self.pngs_dir is not None
        for vid, video in tqdm(self._videos.items(), desc="check a2d", unit="video", disable=not progress):
            if have_frames and video.source.path is not None and video.source.path.exists():
                problems.extend(self._check_frames(vid, video))
            if self._annotation_dir_root() is None:
                continue
            names = set(video.frames)
            row = self.videoset.get(vid)
            found = self.annotated_frames(vid)
            base = self._annotation_dir_root()
            if row is not None and base is not None and (base / vid).is_dir() and len(found) != row.annotated_frames:
                problems.append(Problem(str(base / vid), f"{len(found)} annotation file(s), but {self.videoset_path} "
                                                         f"(line {row.line}) says {row.annotated_frames} annotated "
                                                         "frames: a ground-truth file is missing or extra"))
            for fr in found:
                p = self.annotation_file(vid, fr)
                if fr not in names:
                    problems.append(Problem(str(p), f"annotated frame {fr} beyond the video's {video.num_frames} "
                                                    "frames"))
                try:
                    self.read_annotation(vid, fr)
                except LvsbenchError as exc:
                    problems.append(Problem(str(p), _detail(exc)))
            try:
                located = {i for inst in self.frame_instances(vid).values() for i in inst}
            except LvsbenchError:
                continue
            for row in self._rows_by_video.get(vid, []):
                if row.instance_id not in located:
                    problems.append(Problem(f"{self.annotation_path} (line {row.line})",
                                            f"instance {row.instance_id} of video {vid} is in no annotated frame"))
        return problems

    def _check_frames(self, vid: str, video: Video) -> list[Problem]:
        out: list[Problem] = []
        if video.source.kind == "images":
            for name in video.frames:
                try:
                    rgb = self.read_frame(vid, name)
                except LvsbenchError as exc:
                    out.append(Problem(str(video.source.frame_path(name)), _detail(exc)))
                    continue
                if rgb.shape[:2] != (video.height, video.width):
                    out.append(Problem(str(video.source.frame_path(name)),
                                       f"frame size {rgb.shape[0]}x{rgb.shape[1]} != video size "
                                       f"{video.height}x{video.width}"))
            return out
        try:
            for name, rgb in self.iter_frames(vid):
                if rgb.shape[:2] != (video.height, video.width):
                    out.append(Problem(f"{video.source.path} (frame {name})",
                                       f"frame size {rgb.shape[0]}x{rgb.shape[1]} != video size "
                                       f"{video.height}x{video.width}"))
                    break
        except LvsbenchError as exc:
            out.append(Problem(str(video.source.path), _detail(exc)))
        return out


def _detail(exc: LvsbenchError) -> str:
    if isinstance(exc, DataFormatError):
        return exc.detail + (f" ({exc.where})" if exc.where else "")
    return str(exc)
