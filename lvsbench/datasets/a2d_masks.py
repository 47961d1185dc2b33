"""The per-frame instance masks of A2D-Sentences: `a2d_annotation_with_instances/<vid>/<fid>.h5` (keys
`instance`, `reMask`, `reBBox`, `id`) and the MATLAB v7.3 `Release/Annotations/mat/<vid>/<fid>.mat` (no instance
ids), as MTTR reads them (mttr2021/MTTR @ 2cc35ab, `datasets/a2d_sentences/`). Every problem names the file and
the key."""

from __future__ import annotations

import multiprocessing as mp
import queue
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from lvsbench.core.errors import DataFormatError, LvsbenchError
from lvsbench.core.records import VOID_LABEL, FrameMasks


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
    # no chunk cache: each chunk of a mask is read once, straight into the output (a cache only adds copies;
    # measured 0.87 -> 0.62 ms per A2D frame file with its gzip'd reMask)
    fapl.set_cache(0, 0, 0, 1.0)
    fapl.set_fapl_core(1 << 16, False)  # one read of the (small) file instead of a read per chunk: -7 %
    return fapl


_FAPL = _strong_close_fapl()


def _read_dataset(fid: h5py.h5f.FileID, name: bytes, dtype: type) -> np.ndarray:
    d = h5py.h5d.open(fid, name)
    if dtype is np.uint8 and d.dtype != np.uint8:  # HDF5 would convert 0.5 to 0; the general reader binarises
        raise TypeError(f"{name!r} is {d.dtype}")
    out = np.empty(d.shape, dtype=dtype)
    d.read(h5py.h5s.ALL, h5py.h5s.ALL, out)  # one read call per dataset: h5py's per-call overhead is large
    return out


def _read_raw(path: str | Path, expect_hw: tuple[int, int] | None, with_ids: bool = False
              ) -> tuple[np.ndarray, np.ndarray, tuple[int, ...] | None] | None:
    """(instance ids, reMask as stored: (N, W, H) uint8, and with `with_ids` the `id` values or None when the key
    is absent) of an h5 frame file through h5py's low-level API, or None on any irregularity (the caller then goes
    through `read_frame_annotation` / `frame_meta`, which name file and key)."""
    try:
        fid = h5py.h5f.open(str(path).encode(), h5py.h5f.ACC_RDONLY, fapl=_FAPL)
    except (OSError, KeyError):
        return None
    try:
        inst = _read_dataset(fid, b"instance", np.float64).reshape(-1)
        masks = _read_dataset(fid, b"reMask", np.uint8)
        raw_ids = _read_dataset(fid, b"id", np.float64).reshape(-1) if with_ids and b"id" in fid else None
    except (KeyError, OSError, TypeError, ValueError):
        return None
    finally:
        fid.close()
    if masks.ndim not in (2, 3) or (masks.ndim == 2 and inst.size != 1) or (
            masks.ndim == 3 and masks.shape[0] != inst.size) or (
            expect_hw is not None and masks.shape[-1:-3:-1] != tuple(expect_hw)) or (
            not np.all(inst == np.round(inst))) or len(set(inst.tolist())) != inst.size or (
            inst.size and not 0 <= inst.min() <= inst.max() < VOID_LABEL - 1) or (
            raw_ids is not None and (raw_ids.size != inst.size or not np.all(np.isfinite(raw_ids))
                                    or not np.all(raw_ids == np.round(raw_ids)))):
        return None
    ids = None if raw_ids is None else tuple(int(v) for v in raw_ids)
    return inst, (masks[None] if masks.ndim == 2 else masks), ids


FrameIndex = tuple[tuple[int, ...], tuple[int, ...] | None, tuple[dict[str, Any], ...] | None]
"""(`instance` ids, `id` values or None, each instance's mask as a pycocotools RLE or None)."""


def read_frame_index(path: str | Path, expect_hw: tuple[int, int] | None) -> FrameIndex:
    """`frame_meta` plus every instance's own mask as a pycocotools RLE (bytes counts), in the same open: the
    scoring plan needs the instance lists and the scorer the masks, so each file is opened once per scoring run.

    The masks are None when the file is irregular (the scorer's `read_frame_masks` then names the problem).
    h5py shows `reMask` transposed, (N, W, H): its (H, W, N) view is Fortran-ordered, as pycocotools encodes."""
    from pycocotools import mask as mask_utils

    raw = _read_raw(path, expect_hw, with_ids=True)
    if raw is None:
        return (*frame_meta(path), None)
    inst, masks, ids = raw
    if masks.size and masks.max() > 1:
        masks = (masks != 0).view(np.uint8)
    rles = mask_utils.encode(masks.transpose(2, 1, 0)) if inst.size else []
    return tuple(int(i) for i in inst), ids, tuple(rles)


def frame_masks_of_rles(rles: dict[int, dict[str, Any]], hw: tuple[int, int]) -> FrameMasks:
    """`read_frame_masks` of a frame from its instances' RLEs (`read_frame_index`), {object id: RLE} in file
    order: the same label map (the later instance wins) and the same complete masks of overlapping instances."""
    from pycocotools import mask as mask_utils

    if not rles:
        return FrameMasks(np.zeros(hw, dtype=np.uint8))
    return FrameMasks.from_instances(list(rles), [mask_utils.decode(r) for r in rles.values()])


def _video_indexes(chunk: list[tuple[str, list[str], tuple[int, int]]]
                   ) -> list[tuple[str, list[FrameIndex] | None]]:
    """(video id, `read_frame_index` of each of its frame files) of a chunk of videos (in a worker process); None
    for a video with a data problem."""
    out: list[tuple[str, list[FrameIndex] | None]] = []
    for vid, paths, hw in chunk:
        try:
            out.append((vid, [read_frame_index(p, hw) for p in paths]))
        except LvsbenchError:
            out.append((vid, None))
    return out


_CLAIMS: Any = None
"""In a reading worker: the shared flags of the chunks taken (by a worker or by the parent, `read_video_indexes`)."""


def _set_claims(claims: Any) -> None:
    global _CLAIMS
    _CLAIMS = claims


def _claim(claims: Any, k: int) -> bool:
    """Take chunk k unless a worker or the parent took it already."""
    with claims.get_lock():
        if claims[k]:
            return False
        claims[k] = 1
        return True


def _claimed_video_indexes(k: int, chunk: list[tuple[str, list[str], tuple[int, int]]]
                           ) -> list[tuple[str, list[FrameIndex] | None]] | None:
    """`_video_indexes` of chunk k in a worker, None when the parent took it."""
    return _video_indexes(chunk) if _claim(_CLAIMS, k) else None


class VideoReads:
    """Videos read by worker processes and by this one, as they arrive: iterating installs each one (`install(video
    id, frame indexes or None)`) and yields its id. The workers take chunks of videos from the front, this process
    from the back when no chunk has arrived (so it reads instead of waiting, and the reads take `workers` processes
    in all, not one more); it waits only when every chunk is taken. `reading` says whether workers are still
    reading, so that a consumer can tell a pipeline (keep up with the reads) from a backlog (the reads are over)."""

    def __init__(self, chunks: list[list[tuple[str, list[str], tuple[int, int]]]], claims: Any,
                 arrived: queue.SimpleQueue[Any], install: Callable[[str, list[FrameIndex] | None], None]) -> None:
        self._chunks, self._claims, self._arrived, self._install = chunks, claims, arrived, install
        self._pending = len(chunks)  # worker tasks not reported yet (a chunk read, or skipped: taken here)
        self._back = len(chunks)  # chunks from here on were offered to this process
        self._ready: list[str] = []

    @property
    def reading(self) -> bool:
        """Whether a worker task has not reported yet (rather than waiting in the queue)."""
        return self._pending > self._arrived.qsize()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        while not self._ready:
            if not self._arrived.empty():
                self._take(self._arrived.get())
            elif (k := self._claim_from_back()) is not None:
                self._add(_video_indexes(self._chunks[k]))
            elif self._pending:
                self._take(self._arrived.get())
            else:
                raise StopIteration
        return self._ready.pop()

    def _claim_from_back(self) -> int | None:
        while self._back > 0:
            self._back -= 1
            if _claim(self._claims, self._back):
                return self._back
        return None

    def _take(self, got: Any) -> None:
        self._pending -= 1
        if isinstance(got, BaseException):  # a bug in a worker: raised here, not swallowed
            raise got
        if got is not None:
            self._add(got)

    def _add(self, got: list[tuple[str, list[FrameIndex] | None]]) -> None:
        for vid, frames in got:
            self._install(vid, frames)
        self._ready = [vid for vid, _ in reversed(got)]


@contextmanager
def read_video_indexes(videos: list[tuple[str, list[str], tuple[int, int]]], workers: int,
                       install: Callable[[str, list[FrameIndex] | None], None]) -> Iterator[VideoReads]:
    """`read_frame_index` of every frame file of each video ((video id, paths, (H, W))), in `workers` - 1 processes
    that start reading on entry and in this one as the block iterates the yielded `VideoReads` (which yields the
    videos as they arrive; all are installed when the block ends; a block that raises stops the reads). The reads
    are most of an A2D scoring run. None for a video with a data problem (the caller reads it again itself, which
    names the problem)."""
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    size = max(1, len(videos) // (16 * workers))
    chunks = [videos[lo:lo + size] for lo in range(0, len(videos), size)]
    claims = ctx.Array("b", len(chunks))
    arrived: queue.SimpleQueue[Any] = queue.SimpleQueue()
    with ctx.Pool(max(1, min(workers - 1, len(chunks))), initializer=_set_claims, initargs=(claims,)) as pool:
        for k, chunk in enumerate(chunks):
            pool.apply_async(_claimed_video_indexes, (k, chunk), callback=arrived.put, error_callback=arrived.put)
        reads = VideoReads(chunks, claims, arrived, install)
        yield reads
        for _ in reads:  # what the block did not take
            pass


def read_label_map(path: str | Path, expect_hw: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W) label map of an h5 frame file (instance i -> i + 1), reading only `instance` and `reMask`.

    Flattened: where instances overlap the later one wins, so use `read_frame_masks` for ground truth. The fast
    path of `read_labels`: one transpose of the finished map instead of copies of every mask.
    """
    raw = _read_raw(path, expect_hw)
    if raw is None:
        return label_map(read_frame_annotation(path, expect_hw))
    inst, masks, _ = raw
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
    inst, masks, _ = raw
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


__all__ = ["FrameAnnotation", "FrameIndex", "frame_masks", "frame_masks_of_rles", "frame_meta", "label_map",
           "read_frame_annotation", "read_frame_index", "read_frame_masks", "read_label_map", "read_video_indexes",
           "VideoReads"]
