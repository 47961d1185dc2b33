"""What the readers of native release layouts share, written once: the root and split checks, the
meta-expressions JSON of the Refer-YouTube-VOS family (a `videos` object, frame lists, expression objects; every id
checked as a path component, `lvsbench.core.ids`), integers read strictly and bounded, listed frames, per-object
masks flattened or kept, and the metadata-only report.

Refer-YouTube-VOS, MeViS, ReVOS, Ref-SAV, Long-RVOS and ReasonVOS all start from such a JSON; each reader adds only
the keys its release has.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from lvsbench.core.codecs import MAX_MASK_PIXELS, image_size, read_binary_png, read_image_rgb
from lvsbench.core.errors import ConfigError, DataFormatError, LvsbenchError, Problem, unknown_name
from lvsbench.core.ids import check_id, check_ids, strict_int
from lvsbench.core.records import FrameMasks, Video
from lvsbench.core.textfiles import load_json
from lvsbench.datasets.base import Dataset

# ---------------------------------------------------------------------------------------------- root and split


def open_root(name: str, root: str | Path) -> Path:
    """`root` as a Path; a ConfigError when it is not a directory."""
    path = Path(root)
    if not path.is_dir():
        raise ConfigError(f"{name}: root {path} is not a directory")
    return path


def choose_split(name: str, split: str | None, splits: Sequence[str], default: str) -> str:
    """`split` (or the default) if the dataset has it, else a ConfigError listing the splits."""
    split = split or default
    if split not in splits:
        raise ConfigError(f"{name}: {unknown_name('split', split, splits)}")
    return split


def nested_root(root: Path, marker: str, *candidates: str) -> Path:
    """The first of `root / c` (for each candidate sub-folder, in order) that holds `marker`, else `root`: releases
    unpack into a folder of their own (`ROOT/ReasonVOS`, `ROOT/ref_sav_eval`)."""
    return next((root / c for c in candidates if (root / c / marker).is_file()), root)


def present(path: Path) -> bool:
    """Whether a file the reader may go without (masks in metadata-only mode) is there; a folder (or anything but a
    file) in its place is an error, not an absence."""
    if path.is_file():
        return True
    if path.exists():
        raise DataFormatError(path, "expected a file, found a folder or special file; replace it with the release's "
                                    "file or remove it")
    return False


# ---------------------------------------------------------------------------------------------- meta JSON


def meta_videos(path: Path) -> dict[str, Any]:
    """The `videos` object of a meta-expressions JSON, its keys checked as video ids."""
    doc = load_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("videos"), dict):
        raise DataFormatError(path, "top-level key 'videos' (an object) is missing", "videos")
    for vid in doc["videos"]:
        check_id(vid, "video id", path, f"videos.{vid}")
    return doc["videos"]


def meta_frames(entry: Any, path: Path, key: str) -> tuple[str, ...]:
    """A video entry's `frames`: a list of distinct, safe frame names, else an error naming the key."""
    if not isinstance(entry, dict):
        raise DataFormatError(path, "video entry is not an object", key)
    frames = entry.get("frames")
    if not isinstance(frames, list) or not all(isinstance(f, str) for f in frames):
        raise DataFormatError(path, "'frames' must be a list of frame names", f"{key}.frames")
    if len(set(frames)) != len(frames):
        raise DataFormatError(path, "duplicate frame names", f"{key}.frames")
    check_ids(frames, "frame name", path, f"{key}.frames")
    return tuple(frames)


def meta_expressions(entry: dict[str, Any], path: Path, key: str) -> dict[str, Any]:
    """A video entry's `expressions` object, its keys checked as expression ids."""
    exps = entry.get("expressions")
    if not isinstance(exps, dict):
        raise DataFormatError(path, "'expressions' (an object) is missing", f"{key}.expressions")
    for eid in exps:
        check_id(eid, "expression id", path, f"{key}.expressions.{eid}")
    return exps


def meta_int(value: Any, path: Path, key: str, lo: int, hi: int, what: str) -> int:
    """An integer field in lo..hi (an int or a decimal string; no float, no bool: `strict_int`)."""
    try:
        n = strict_int(value)
    except ValueError as exc:
        raise DataFormatError(path, f"{what} {value!r} is not an integer (expected {lo}..{hi})", key) from exc
    if not lo <= n <= hi:
        raise DataFormatError(path, f"{what} {n} outside {lo}..{hi}", key)
    return n


def meta_size(entry: dict[str, Any], path: Path, key: str) -> tuple[int, int]:
    """A video's `height` and `width`: positive, and no larger than a mask lvsbench decodes (a huge size in a meta
    file would otherwise allocate that much for every empty mask)."""
    if "height" not in entry or "width" not in entry:
        raise DataFormatError(path, "video has no integer 'height'/'width'", key)
    h = meta_int(entry["height"], path, f"{key}.height", 1, MAX_MASK_PIXELS, "height")
    w = meta_int(entry["width"], path, f"{key}.width", 1, MAX_MASK_PIXELS // h, "width")
    return h, w


# ---------------------------------------------------------------------------------------------- frames and masks

T = TypeVar("T")


class Recent(Generic[T]):
    """The values of the last `keep` keys made (decoded videos, a video's mask stack): readers are called video by
    video, so a small cache avoids decoding a container once per frame."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._items: OrderedDict[str, T] = OrderedDict()

    def get(self, key: str, make: Callable[[], T]) -> T:
        got = self._items.get(key)
        if got is None:
            got = make()
            self._items[key] = got
            while len(self._items) > self.keep:
                self._items.popitem(last=False)
        return got


def decode_container(path: Path | None, wanted: Container[int] | None = None) -> Iterator[np.ndarray | None]:
    """RGB frames of a video file, decoded sequentially by OpenCV (seeking in mp4 is not frame-exact). With
    `wanted` (frame indices), the other frames are decoded but not converted or copied out (`grab` without
    `retrieve`: the decoder's state, so every later frame, is the same) and come as None."""
    import cv2

    if path is None or not path.is_file():
        raise DataFormatError(str(path), "missing video file")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise DataFormatError(path, "cannot open video container")
    n = 0
    try:
        while True:
            if wanted is not None and n not in wanted:
                if not cap.grab():
                    break
                n += 1
                yield None
                continue
            ok, bgr = cap.read()
            if not ok:
                break
            n += 1
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    if n == 0:
        raise DataFormatError(path, "no decodable frames")


def container_frame_count(path: Path | None) -> int | None:
    """Number of frames a video file reports (None when absent or unknown)."""
    import cv2

    if path is None or not path.is_file():
        return None
    cap = cv2.VideoCapture(str(path))
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()
    return n or None


def container_frame(frames: list[np.ndarray], video: Video, frame: str, where: str) -> np.ndarray:
    """Frame `frame` (its number, from the source's `index_base`) of a decoded container."""
    i = int(frame) - video.source.index_base if frame.isdigit() else -1
    if not 0 <= i < len(frames):
        raise DataFormatError(video.source.path, f"container has {len(frames)} frames, no frame {frame}", where)
    return frames[i]


def problem_detail(exc: LvsbenchError) -> str:
    """An error's message without its file (a `Problem` names the file itself)."""
    if isinstance(exc, DataFormatError):
        return exc.detail + (f" ({exc.where})" if exc.where else "")
    return str(exc)


def check_image_frames(ds: Dataset, video: Video, size_of: str = "video") -> list[Problem]:
    """Decode every listed image frame of a video: a problem per unreadable frame or frame of another size."""
    out = []
    for name in video.frames:
        p = video.source.frame_path(name)
        try:
            rgb = ds.read_frame(video.id, name)
        except LvsbenchError as exc:
            out.append(Problem(str(p), problem_detail(exc)))
            continue
        if rgb.shape[:2] != (video.height, video.width):
            out.append(Problem(str(p), f"frame size {rgb.shape[0]}x{rgb.shape[1]} != {size_of} size "
                                       f"{video.height}x{video.width}"))
    return out


def probe_size(paths: Iterable[Path]) -> tuple[int, int]:
    """(H, W) of the first readable image among `paths`, (0, 0) if none (metadata-only mode).

    A missing or corrupt frame is not an error here: `check()` reports it; the size comes from another frame.
    """
    for p in paths:
        if p.is_file():
            try:
                return image_size(p)
            except DataFormatError:
                continue
    return 0, 0


def read_listed_frame(path: Path, video_id: str, frame: str) -> np.ndarray:
    """RGB of a frame the meta file lists; a missing file names the frame."""
    if not path.is_file():
        raise DataFormatError(path, "frame listed in the meta file is missing", f"{video_id}/{frame}")
    return read_image_rgb(path)


def metadata_only_problems(frames: Path, masks: Path) -> list[Problem]:
    """What a reader in metadata-only mode lacks: the frames folder and/or the masks (file or folder)."""
    out = []
    if not frames.is_dir():
        out.append(Problem(str(frames), "missing (metadata-only: no frames)"))
    if not masks.exists():
        out.append(Problem(str(masks), "missing (metadata-only: no masks)"))
    return out


def flatten_object_masks(masks: Mapping[int, np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """uint8 label map of per-object masks; where objects overlap the larger label wins (the per-object masks
    keep the overlap; a label map cannot)."""
    lab = np.zeros(shape, dtype=np.uint8)
    for label, m in sorted(masks.items()):
        lab[m] = label
    return lab


def frame_masks(masks: Mapping[int, np.ndarray], shape: tuple[int, int]) -> FrameMasks:
    """Per-object ground truth of one frame (objects that overlap keep their full masks), for the scorer's
    per-object API."""
    if not masks:
        return FrameMasks(np.zeros(shape, dtype=np.uint8))
    return FrameMasks.from_instances(list(masks), list(masks.values()))


# ---------------------------------------------------------------------------------------------- per-object PNG readers


def read_object_png(path: Path, video: Video, frame: str) -> np.ndarray | None:
    """One object's 0/255 PNG as a bool mask, None where the file is absent (a folder in its place is an error);
    its size must be the video's."""
    if not present(path):
        return None
    m = read_binary_png(path)
    if video.height and m.shape != (video.height, video.width):
        raise DataFormatError(path, f"mask size {m.shape} != video size {(video.height, video.width)}",
                              f"{video.id}/{frame}")
    return m


class ObjectMaskDataset(Dataset):
    """A release with one PNG per (object, frame) under `annotations_dir` and JPEG frames listed by a meta file
    (Long-RVOS, ReasonVOS). Subclasses build `_videos` and `_expressions` and read `read_object_masks`; the label
    map, the per-object ground truth, frames and the metadata-only report are the same for both."""

    root: Path

    @property
    def annotations_dir(self) -> Path:
        raise NotImplementedError

    @property
    def frames_root(self) -> Path:
        raise NotImplementedError

    def has_masks(self) -> bool:
        return self.annotations_dir.is_dir()

    def read_object_masks(self, video_id: str, frame: str) -> dict[int, np.ndarray]:
        raise NotImplementedError

    def read_masks(self, video_id: str, frame: str) -> FrameMasks | None:
        """Per-object ground truth of a frame: overlapping objects keep their own full masks."""
        if not self.has_masks():
            return None
        video = self._videos[video_id]
        return frame_masks(self.read_object_masks(video_id, frame), (video.height, video.width))

    def read_labels(self, video_id: str, frame: str) -> np.ndarray | None:
        """Label map of the frame's objects (where objects overlap the larger label wins; per-object masks are in
        `read_object_masks`); None without masks."""
        masks = self.read_object_masks(video_id, frame) if self.has_masks() else {}
        if not masks:
            return None
        video = self._videos[video_id]
        return flatten_object_masks(masks, (video.height, video.width))

    def read_frame(self, video_id: str, frame: str) -> np.ndarray:
        return read_listed_frame(self._videos[video_id].source.frame_path(frame), video_id, frame)

    def missing(self) -> list[Problem]:
        return metadata_only_problems(self.frames_root, self.annotations_dir)


__all__ = ["ObjectMaskDataset", "Recent", "T", "check_image_frames", "choose_split", "container_frame",
           "container_frame_count", "decode_container", "flatten_object_masks", "frame_masks", "meta_expressions",
           "meta_frames", "meta_int", "meta_size", "meta_videos", "metadata_only_problems", "nested_root", "open_root",
           "present", "probe_size", "problem_detail", "read_listed_frame", "read_object_png"]
