"""Reader of J-HMDB-Sentences (Gavrilyuk et al., CVPR'18, on J-HMDB by Jhuang et al., ICCV'13).

```
ROOT/
  jhmdb_annotation.txt                                  video_id,query (one sentence per video)
  Rename_Images/<class>/<vid>/<t:05d>.png               frames, 1-based
  puppet_mask/<class>/<vid>/puppet_mask.mat             MATLAB v5, `part_mask` (H, W, T) uint8 0/1
  jhmdb_sentences_samples_metadata.json                 (optional) MTTR's frozen evaluation frames
```
The class of a video is the name of its `Rename_Images/<class>/` folder. As in MTTR, a video's usable frames are
the first min(#PNG frames, T) frames: the last frames of some videos have no mask.

Evaluation frames: MTTR/ReferFormer score 3 frames per video, drawn once with `random.sample` and frozen in
`jhmdb_sentences_samples_metadata.json` (2,784 samples); that list ships as package data
(`lvsbench/data/jhmdb_sentences_samples_metadata.json`, see `lvsbench/data/PROVENANCE.md`). A copy in ROOT takes
precedence (the synthetic writer puts one there). A video in neither gets 3 frames by a documented deterministic
rule (`fallback_frames`): sorted, drawn without replacement from its usable frames by
`numpy.random.default_rng(int(sha256(video_id)[:16], 16))`. Object id 1 is the puppet (the one referred person);
the split is `test` (J-HMDB-Sentences is evaluation-only).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from lvsbench.core.codecs import read_image_rgb
from lvsbench.core.errors import ConfigError, DataFormatError, LvsbenchError, Problem
from lvsbench.core.ids import check_id
from lvsbench.core.records import Expression, FrameSource, Video
from lvsbench.core.textfiles import load_json as _load_json
from lvsbench.core.textfiles import read_text
from lvsbench.datasets.base import Dataset
from lvsbench.datasets.native import Recent, check_image_frames, probe_size, problem_detail

T = TypeVar("T")

SAMPLES_NAME = "jhmdb_sentences_samples_metadata.json"
DEFAULT_SIZE = (240, 320)
"""J-HMDB frame size (H, W); used only in metadata-only mode, when no frame or mask file gives the size."""
SPLITS = ("test", "all")


def read_annotation_txt(path: str | Path) -> list[tuple[str, str, int]]:
    """(video_id, query, line) rows of jhmdb_annotation.txt (header `video_id,query`), queries verbatim."""
    path = Path(path)
    text = read_text(path)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [h.strip() for h in rows[0]] != ["video_id", "query"]:
        raise DataFormatError(path, f"header must be 'video_id,query', got {rows[0] if rows else ''}", "line 1")
    out = []
    seen: dict[str, int] = {}
    for lineno, row in enumerate(rows[1:], 2):
        if not row:
            continue
        if len(row) != 2:
            raise DataFormatError(path, f"expected 2 comma-separated fields, got {len(row)}", f"line {lineno}")
        if not row[0]:
            raise DataFormatError(path, "empty video_id", f"line {lineno}")
        check_id(row[0], "video id", path, f"line {lineno}")
        if row[0] in seen:
            raise DataFormatError(path, f"video {row[0]} already has a sentence on line {seen[row[0]]}",
                                  f"line {lineno}")
        seen[row[0]] = lineno
        out.append((row[0], row[1], lineno))
    return out


def read_samples(source: str | Path | None = None) -> list[list[Any]]:
    """MTTR's frozen sample list: `[video_id, frame_path, mask_path, video_total_frames, query]` entries.

    `None` reads the copy shipped with lvsbench.
    """
    if source is None:
        text = resources.files("lvsbench").joinpath("data", SAMPLES_NAME).read_text()
        where: str | Path = f"lvsbench/data/{SAMPLES_NAME}"
        data = json.loads(text)
    else:
        where = Path(source)
        data = _load_json(where, "J-HMDB-Sentences samples metadata")
    if not isinstance(data, list):
        raise DataFormatError(where, "expected a JSON list of samples")
    for i, s in enumerate(data):
        if not (isinstance(s, list) and len(s) == 5 and isinstance(s[0], str) and isinstance(s[1], str)
                and isinstance(s[3], int)):
            raise DataFormatError(where, "sample must be [video_id, frame_path, mask_path, total_frames, query]",
                                  f"item {i}")
    return data


def sample_frame(sample: list[Any]) -> str:
    """The `%05d` frame name of a sample (the file name of its frame path)."""
    return Path(sample[1]).stem


def sample_class(sample: list[Any]) -> str:
    """The class folder of a sample (`.../Rename_Images/<class>/<vid>/<t>.png`)."""
    return Path(sample[1]).parts[-3]


def fallback_frames(video_id: str, usable: int, k: int = 3) -> tuple[str, ...]:
    """Deterministic evaluation frames for a video outside the frozen list (documented rule, not MTTR's)."""
    if usable <= 0:
        return ()
    rng = np.random.default_rng(int(hashlib.sha256(video_id.encode()).hexdigest()[:16], 16))
    picks = rng.choice(np.arange(1, usable + 1), size=min(k, usable), replace=False)
    return tuple(f"{int(t):05d}" for t in sorted(picks))


def _read_mat(path: Path, read: Callable[[str], T]) -> T:
    """`read(path)` with scipy.io; a missing or unreadable file is a DataFormatError naming it."""
    import scipy.io

    try:
        return read(str(path))
    except FileNotFoundError as exc:
        raise DataFormatError(path, "missing") from exc
    except (ValueError, TypeError, OSError, NotImplementedError, scipy.io.matlab.MatReadError) as exc:
        raise DataFormatError(path, f"not a readable MATLAB v5 file: {exc}") from exc


def read_part_mask(path: str | Path) -> np.ndarray:
    """`part_mask` of a puppet_mask.mat as (T, H, W) uint8 (scipy gives (H, W, T); MTTR transposes (2, 0, 1))."""
    import scipy.io

    path = Path(path)
    mat = _read_mat(path, lambda p: scipy.io.loadmat(p, variable_names=["part_mask"]))
    if "part_mask" not in mat:
        raise DataFormatError(path, "key 'part_mask' missing", "part_mask")
    arr = np.asarray(mat["part_mask"])
    if arr.dtype.kind not in "biuf" or (arr.dtype.kind == "f" and not np.isfinite(arr).all()):
        raise DataFormatError(path, f"part_mask has dtype {arr.dtype}{' with NaN/inf' if arr.dtype.kind == 'f' else ''}"
                                    ", expected numeric 0/1 masks (the release stores uint8)", "part_mask")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise DataFormatError(path, f"part_mask has shape {arr.shape}, expected (H, W, T)", "part_mask")
    if arr.dtype != np.uint8:  # binarised as `read_labels` does; a cast would turn 0.5 or 256 into 0
        arr = (arr != 0).astype(np.uint8)
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def part_mask_shape(path: str | Path) -> tuple[int, int, int]:
    """(H, W, T) of `part_mask` read from the .mat header, without loading the masks."""
    import scipy.io

    path = Path(path)
    info = {name: shape for name, shape, _ in _read_mat(path, scipy.io.whosmat)}
    if "part_mask" not in info:
        raise DataFormatError(path, "key 'part_mask' missing", "part_mask")
    shape = tuple(int(s) for s in info["part_mask"])
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3:
        raise DataFormatError(path, f"part_mask has shape {shape}, expected (H, W, T)", "part_mask")
    return shape  # type: ignore[return-value]


def _frame_rles(masks: np.ndarray, frames: list[str]) -> dict[str, dict[str, Any]]:
    """{frame: pycocotools RLE of (masks[t - 1] != 0)} of (T, H, W) masks, frames 1-based 5-digit names."""
    from pycocotools import mask as mask_utils

    if not frames:
        return {}
    picked = masks[[int(f) - 1 for f in frames]] != 0
    rles = mask_utils.encode(np.asfortranarray(picked.transpose(1, 2, 0)).view(np.uint8))
    return dict(zip(frames, rles, strict=True))


class JHMDBDataset(Dataset):
    """J-HMDB-Sentences: 928 videos, one sentence each, scored on the frozen 3 frames per video.

    Options: `samples` (path of a samples json; default ROOT's copy, else the packaged one), `annotation_file`,
    `frames_dir` (Rename_Images), `masks_dir` (puppet_mask), `eval_frames="frozen"|"all"` ("all" scores every
    usable frame: a different protocol, not comparable with published numbers).
    """

    name = "jhmdb"
    splits: tuple[str, ...] = SPLITS
    default_split = "test"

    def __init__(self, root: str | Path, split: str | None = None, *, samples: str | Path | None = None,
                 annotation_file: str | Path | None = None, frames_dir: str | Path | None = None,
                 masks_dir: str | Path | None = None, eval_frames: str = "frozen") -> None:
        self.root = Path(root)
        self.split = split or "test"
        if self.split not in SPLITS:
            raise ConfigError(f"jhmdb: the only split is 'test' (evaluation-only), got {self.split!r}")
        if eval_frames not in ("frozen", "all"):
            raise ConfigError("jhmdb: eval_frames must be 'frozen' or 'all'")
        self.eval_frames = eval_frames
        self.annotation_path = Path(annotation_file) if annotation_file else self.root / "jhmdb_annotation.txt"
        if not self.annotation_path.is_file():
            raise DataFormatError(self.annotation_path, f"missing: J-HMDB-Sentences needs jhmdb_annotation.txt "
                                                        f"(looked under {self.root})")
        self.frames_dir = Path(frames_dir) if frames_dir else self.root / "Rename_Images"
        self.masks_dir = Path(masks_dir) if masks_dir else self.root / "puppet_mask"
        if samples is not None:
            self.samples_path: Path | None = Path(samples)
        elif (self.root / SAMPLES_NAME).exists():  # a folder there is an error, not "no file"
            self.samples_path = self.root / SAMPLES_NAME
        else:
            self.samples_path = None
        self._masks: Recent[np.ndarray] = Recent(4)
        self._kept: dict[str, dict[str, dict[str, Any]]] | None = None
        """After `keep_masks`: {video: {scored frame: its mask as a pycocotools RLE}} from the one read of each
        puppet_mask.mat that also gave the video's frame count."""

    # -------------------------------------------------------------- metadata

    @cached_property
    def rows(self) -> list[tuple[str, str, int]]:
        return read_annotation_txt(self.annotation_path)

    @cached_property
    def samples(self) -> list[list[Any]]:
        """The frozen evaluation samples (root copy, else packaged). A root copy naming a video that has no
        sentence means the annotation file lost lines (cut short, edited): refused, as scoring would drop it."""
        samples = read_samples(self.samples_path)
        if self.samples_path is not None:
            have = {vid for vid, _, _ in self.rows}
            lost = sorted({s[0] for s in samples} - have)
            if lost:
                raise DataFormatError(self.annotation_path, f"{len(lost)} video(s) with frozen samples in "
                                                            f"{self.samples_path.name} have no sentence here (e.g. "
                                                            f"{lost[0]}); is the file cut short?")
        return samples

    @cached_property
    def _samples_by_video(self) -> dict[str, list[list[Any]]]:
        out: dict[str, list[list[Any]]] = {}
        for s in self.samples:
            out.setdefault(s[0], []).append(s)
        return out

    @cached_property
    def classes(self) -> dict[str, str]:
        """{video id: class}: from the Rename_Images folders, else from the samples' frame paths."""
        out: dict[str, str] = {}
        for vid, ss in self._samples_by_video.items():
            out[vid] = sample_class(ss[0])
        if self.frames_dir.is_dir():
            for cdir in sorted(p for p in self.frames_dir.iterdir() if p.is_dir()):
                for vdir in cdir.iterdir():
                    if vdir.is_dir():
                        out[vdir.name] = cdir.name
        return out

    def video_dir(self, video_id: str) -> Path:
        return self.frames_dir / self.classes.get(video_id, "_unknown_class_") / video_id

    def mask_path(self, video_id: str) -> Path:
        return self.masks_dir / self.classes.get(video_id, "_unknown_class_") / video_id / "puppet_mask.mat"

    def _png_count(self, video_id: str) -> int | None:
        d = self.video_dir(video_id)
        if not d.is_dir():
            return None
        return sum(1 for p in d.iterdir() if p.suffix == ".png" and p.stem.isdigit())

    @cached_property
    def _videos(self) -> dict[str, Video]:
        out: dict[str, Video] = {}
        for vid, _, _ in self.rows:
            n_png = self._png_count(vid)
            mp = self.mask_path(vid)
            masks = self._read_to_keep(mp) if self._kept is not None and mp.is_file() else None
            if masks is not None:
                shape: tuple[int, int, int] | None = (masks.shape[1], masks.shape[2], masks.shape[0])
            else:
                shape = part_mask_shape(mp) if mp.is_file() else None
            if n_png is not None and shape is not None:
                n = min(n_png, shape[2])  # MTTR: "some of the last frames in the video may not have masks"
            elif vid in self._samples_by_video:
                n = int(self._samples_by_video[vid][0][3])
            else:
                n = n_png if n_png is not None else (shape[2] if shape is not None else 0)
            # frames are authoritative (check() compares the masks with them), then the masks, then the default
            h, w = probe_size([self.video_dir(vid) / "00001.png"]) if n_png else (0, 0)
            if not h:
                h, w = (shape[0], shape[1]) if shape is not None else DEFAULT_SIZE
            out[vid] = Video(vid, tuple(f"{t:05d}" for t in range(1, n + 1)), h, w,
                             FrameSource("images", self.video_dir(vid), "{name}.png"))
            if masks is not None and self._kept is not None and masks.shape[1:] == (h, w):
                self._kept[vid] = _frame_rles(masks, [f for f in self._scored_frames(out[vid]) if f in
                                                      out[vid].frames])
        return out

    @contextmanager
    def keep_masks(self, workers: int = 1) -> Iterator[None]:
        """Keep the scored frames' masks (as RLEs) from the read of each puppet_mask.mat that finds the video's
        frame count, so that a scoring run opens each file once (the scorer enters this before its plan; the
        header-only read is for other uses). Yields None: nothing is read in the background."""
        if "_videos" not in self.__dict__:  # else the frame counts were read already: the scorer reads the masks
            self._kept = {}
        yield None

    @staticmethod
    def _read_to_keep(path: Path) -> np.ndarray | None:
        """The masks of a file to keep, or None when they cannot be read (the header read then raises what is wrong
        with it, or the scorer's read names the problem, as without `keep_masks`)."""
        try:
            return read_part_mask(path)
        except DataFormatError:
            return None

    def read_mask_rles(self, video_id: str, frame: str) -> dict[int, dict[str, Any]] | None:
        """{1: the puppet mask of a scored frame as a pycocotools RLE} kept after `keep_masks` (no file is opened
        again), else None (then `read_masks`)."""
        rles = self._kept.get(video_id) if self._kept is not None else None
        rle = rles.get(frame) if rles is not None else None
        return None if rle is None else {1: rle}

    def action_class(self, video_id: str) -> str | None:
        """J-HMDB action class of a video (its Rename_Images folder)."""
        return self.classes.get(video_id)

    def eval_frames_of(self, video_id: str) -> tuple[str, ...]:
        """Frames scored for a video: the frozen samples, else `fallback_frames`, or all usable frames."""
        return self._scored_frames(self._videos[video_id])

    def _scored_frames(self, video: Video) -> tuple[str, ...]:
        if self.eval_frames == "all":
            return video.frames
        ss = self._samples_by_video.get(video.id)
        if ss:
            return tuple(sample_frame(s) for s in ss)
        return fallback_frames(video.id, video.num_frames)

    @cached_property
    def _expressions(self) -> list[Expression]:
        return [Expression("0", vid, text, (1,), self.eval_frames_of(vid)) for vid, text, _ in self.rows]

    def object_categories(self, video_id: str) -> dict[int, str]:
        return {1: "person"}

    # -------------------------------------------------------------- pixels

    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        """Every usable frame has a puppet mask (metadata-only mode: none)."""
        if not self.mask_path(video_id).is_file():
            return ()
        return self._videos[video_id].frames

    def masks(self, video_id: str) -> np.ndarray:
        """All puppet masks of a video, (T, H, W) uint8 (cached for the last few videos)."""
        return self._masks.get(video_id, lambda: read_part_mask(self.mask_path(video_id)))

    def read_labels(self, video_id: str, frame: str) -> np.ndarray | None:
        video = self._videos[video_id]
        if not self.mask_path(video_id).is_file():
            return None
        if frame not in video.frames:
            if frame in self.eval_frames_of(video_id):  # a scored frame must not silently drop out
                raise DataFormatError(self.mask_path(video_id), f"no mask for scored frame {frame}: the video has "
                                      f"{video.num_frames} usable frames (PNG frames and part_mask masks)",
                                      f"frame {frame}")
            return None
        kept = self.read_mask_rles(video_id, frame)
        if kept is not None:
            from pycocotools import mask as mask_utils

            return mask_utils.decode(kept[1])  # type: ignore[no-any-return]
        m = self.masks(video_id)
        t = int(frame)
        path = self.mask_path(video_id)
        if t > m.shape[0]:
            raise DataFormatError(path, f"part_mask has {m.shape[0]} masks, no mask for frame {frame}",
                                  f"frame {frame}")
        if m.shape[1:] != (video.height, video.width):
            raise DataFormatError(path, f"part_mask frames are {m.shape[1]}x{m.shape[2]}, frames are "
                                        f"{video.height}x{video.width}", "part_mask")
        return (m[t - 1] != 0).astype(np.uint8)

    def read_frame(self, video_id: str, frame: str) -> np.ndarray:
        p = self._videos[video_id].source.frame_path(frame)
        if not p.is_file():
            raise DataFormatError(p, "missing frame", f"frame {frame}")
        return read_image_rgb(p)

    # -------------------------------------------------------------- reporting

    def counts(self) -> dict[str, int]:
        vids = self._videos
        exps = self.expressions()
        return {
            **super().counts(),
            "scored_frames": sum(len(e.frames) for e in exps),
            "frozen_samples": sum(len(self._samples_by_video.get(v, ())) for v in vids),
        }

    def missing(self) -> list[Problem]:
        out: list[Problem] = []
        for d, what in ((self.frames_dir, "frames"), (self.masks_dir, "puppet masks")):
            if not d.is_dir():
                out.append(Problem(str(d), f"no {what} (metadata-only mode)"))
        have_frames, have_masks = self.frames_dir.is_dir(), self.masks_dir.is_dir()
        for vid, _, line in self.rows:
            if vid not in self.classes:
                if have_frames:
                    out.append(Problem(f"{self.annotation_path} (line {line})",
                                       f"video {vid} has no Rename_Images/<class>/{vid} folder"))
                continue
            if have_frames and not self.video_dir(vid).is_dir():
                out.append(Problem(str(self.video_dir(vid)), "missing frames of a video"))
            if have_masks and not self.mask_path(vid).is_file():
                out.append(Problem(str(self.mask_path(vid)), "missing puppet mask of a video"))
        return out

    def check(self, progress: bool = False) -> list[Problem]:
        """Decode every usable frame and mask; also check the frozen frames against the files."""
        from tqdm import tqdm

        problems = list(self.missing())
        for vid, video in tqdm(self._videos.items(), desc="check jhmdb", unit="video", disable=not progress):
            if self.video_dir(vid).is_dir():
                problems.extend(check_image_frames(self, video, "mask"))
            mp = self.mask_path(vid)
            if mp.is_file():
                try:
                    m = self.masks(vid)
                    if m.shape[1:] != (video.height, video.width):
                        raise DataFormatError(mp, f"part_mask frames are {m.shape[1]}x{m.shape[2]}, expected "
                                                  f"{video.height}x{video.width}", "part_mask")
                except LvsbenchError as exc:
                    problems.append(Problem(str(mp), problem_detail(exc)))
            ss = self._samples_by_video.get(vid, [])
            if ss and (self.video_dir(vid).is_dir() and mp.is_file()) and int(ss[0][3]) != video.num_frames:
                problems.append(Problem(str(self.video_dir(vid)), f"{video.num_frames} usable frames (the fewer of "
                                        f"the PNG frames and the masks in {mp}), the frozen samples say {ss[0][3]}"))
            for s in ss:
                if sample_frame(s) not in video.frames and video.frames:
                    problems.append(Problem(str(self.video_dir(vid)), f"frozen frame {sample_frame(s)} is not "
                                                                      "a usable frame"))
        return problems


__all__ = ["DEFAULT_SIZE", "JHMDBDataset", "SAMPLES_NAME", "SPLITS", "T", "fallback_frames", "part_mask_shape",
           "read_annotation_txt", "read_part_mask", "read_samples", "sample_class", "sample_frame"]
