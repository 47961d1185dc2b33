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

Size: one reader of the released layout; the text rows, the per-frame annotation index (read once per scoring run,
masks included) and the frame decoding share the split's video table and caches.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench.core.codecs import read_image_rgb
from lvsbench.core.errors import ConfigError, DataFormatError, LvsbenchError, Problem
from lvsbench.core.records import Expression, FrameMasks, FrameSource, Video
from lvsbench.datasets import native
from lvsbench.datasets.a2d_masks import (
    FrameAnnotation,
    FrameIndex,
    VideoReads,
    frame_masks,
    frame_masks_of_rles,
    frame_meta,
    label_map,
    read_frame_annotation,
    read_frame_index,
    read_frame_masks,
    read_label_map,
    read_video_indexes,
)
from lvsbench.datasets.a2d_text import (
    AnnotationRow,
    VideosetRow,
    actor_name,
    read_annotation_txt,
    read_missed,
    read_videoset,
)
from lvsbench.datasets.base import Dataset

SPLITS: dict[str, int | None] = {"train": 0, "test": 1, "all": None}
"""Split name -> value of videoset.csv column 9 (MTTR: `{'train': 0, 'test': 1}`)."""


_H5_DIR = "a2d_annotation_with_instances"


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


# ------------------------------------------------------------------------------------------ dataset


def _file(explicit: str | Path | None, *candidates: Path) -> Path:
    """The path given, else the first candidate that is a file, else the first (the error then names it)."""
    return Path(explicit) if explicit else next((p for p in candidates if p.is_file()), candidates[0])


def _dir(explicit: str | Path | None, *candidates: Path) -> Path | None:
    """The folder given, else the first candidate that is one (None: that part of the release is absent)."""
    return Path(explicit) if explicit else next((p for p in candidates if p.is_dir()), None)


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
        self.split = native.choose_split("a2d", split, self.splits, self.default_split)
        if annotations not in ("auto", "h5", "mat") or frames not in ("auto", "mp4", "png") or \
                frame_count not in ("videoset", "container"):
            raise ConfigError("a2d: invalid option: annotations in auto|h5|mat, frames in auto|mp4|png, "
                                "frame_count in videoset|container")
        r, rel, txt = self.root, self.root / "Release", self.root / "text_annotations"
        self.videoset_path = _file(videoset, rel / "videoset.csv", r / "videoset.csv")
        self.annotation_path = _file(annotation_file, txt / "a2d_annotation.txt", r / "a2d_annotation.txt")
        self.missed_path = _file(missed_file, txt / "a2d_missed_videos.txt", r / "a2d_missed_videos.txt")
        h5 = _dir(instances_dir, txt / _H5_DIR, r / _H5_DIR)
        if h5 is not None and (h5 / _H5_DIR).is_dir() and not any(p.suffix == ".h5" for p in h5.glob("*/*.h5")):
            h5 = h5 / _H5_DIR  # the zip extracted into a doubled folder
        self.instances_dir = h5
        self.mat_dir = _dir(mat_dir, rel / "Annotations" / "mat", r / "Annotations" / "mat")
        self.clips_dir = _dir(clips_dir, rel / "clips320H", r / "clips320H")
        self.pngs_dir = _dir(pngs_dir, rel / "pngs320H", r / "pngs320H")
        if annotations == "auto":
            annotations = "h5" if self.instances_dir is not None or self.mat_dir is None else "mat"
        self.annotation_source = annotations
        self.frames_option = frames
        self.frame_count = frame_count
        self.drop_unlocated = drop_unlocated
        self._keep_rles = False
        for p, what in ((self.videoset_path, "videoset.csv"), (self.annotation_path, "a2d_annotation.txt")):
            if not p.is_file():
                raise DataFormatError(p, f"missing: A2D-Sentences needs {what} (looked under {self.root})")
        self._decoded: native.Recent[list[np.ndarray]] = native.Recent(2)

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
                mp4 = self.clips_dir / f"{vid}.mp4" if self.clips_dir is not None else None
                n = native.container_frame_count(mp4) or n
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
        return [e for vid in self._videos for e in self.video_expressions(vid)]

    def video_expressions(self, video_id: str) -> list[Expression]:
        """A video's expressions, found from its own annotation files only (so a scorer can plan a video as soon as
        its files are read)."""
        got = self._expressions_of.get(video_id)
        if got is None:
            got = self._expressions_of[video_id] = self._read_video_expressions(video_id)
        return got

    @cached_property
    def _expressions_of(self) -> dict[str, list[Expression]]:
        return {}

    def _read_video_expressions(self, vid: str) -> list[Expression]:
        if vid not in self._videos:
            return []
        out = []
        index_available = self._annotation_dir_root() is not None
        for k, row in enumerate(self._rows_by_video.get(vid, [])):
            frames: tuple[str, ...] = ()
            if index_available:
                frames = self._frames_with_instance(vid, row.instance_id)
                if not frames and self.drop_unlocated:
                    continue
            out.append(Expression(str(k), vid, row.query, (row.instance_id + 1,), frames))
        return out

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

    @cached_property
    def _rle_index(self) -> dict[str, dict[str, tuple[dict[str, Any], ...] | None]]:
        return {}

    @contextmanager
    def keep_masks(self, workers: int = 1) -> Iterator[VideoReads | None]:
        """Read every instance mask (as a pycocotools RLE) in the same open as the instance lists (h5 files only):
        the scorer enters this before its plan, so each annotation file is opened once per scoring run. With
        `workers` > 1 the files of the videos with expressions are read while the block runs, by `workers` - 1
        processes and by the block as it iterates the yielded `VideoReads` (the reads are most of an A2D scoring
        run; the scorer parses the predictions meanwhile, then scores each video as it arrives and reads when none
        has); every video is indexed when the block ends. Yields None without workers."""
        self._keep_rles = self.annotation_source == "h5"
        todo = [v for v in self._videos if v in self._rows_by_video and v not in self._instance_index]
        if not self._keep_rles or workers <= 1 or len(todo) <= 1:
            yield None
            return
        with read_video_indexes([(v, [str(self.annotation_file(v, fr)) for fr in self.annotated_frames(v)],
                                  (self._videos[v].height, self._videos[v].width)) for v in todo], workers,
                                self._install_index) as reads:
            yield reads

    def _install_index(self, video_id: str, frames: list[FrameIndex] | None) -> None:
        """A video's frame indexes read in a worker (None: a data problem; `frame_instances` then reads the video
        again and names it)."""
        if frames is not None:
            names = self.annotated_frames(video_id)
            self._instance_index[video_id] = {fr: x[0] for fr, x in zip(names, frames, strict=True)}
            self._ids_index[video_id] = {fr: x[1] for fr, x in zip(names, frames, strict=True)}
            self._rle_index[video_id] = {fr: x[2] for fr, x in zip(names, frames, strict=True)}

    def frame_instances(self, video_id: str) -> dict[str, tuple[int, ...]]:
        """{frame: instance ids annotated in it} (read from the `instance` fields only, cached). The same open
        reads the actor-action ids, which `actor_action_ids` then takes from here: the scoring plan (which frames
        annotate an instance) and the categories cost one open of each annotation file together (and the masks,
        after `keep_masks`)."""
        idx = self._instance_index.get(video_id)
        if idx is None:
            idx = {}
            ids: dict[str, tuple[int, ...] | None] = {}
            rles: dict[str, tuple[dict[str, Any], ...] | None] = {}
            for fr in self.annotated_frames(video_id):
                p = self.annotation_file(video_id, fr)
                if self._keep_rles:
                    v = self._videos[video_id]
                    idx[fr], ids[fr], rles[fr] = read_frame_index(p, (v.height, v.width))
                elif self.annotation_source == "h5":
                    idx[fr], ids[fr] = frame_meta(p)
                else:
                    ann = read_frame_annotation(p, instance_field=False, read_masks=False)
                    idx[fr], ids[fr] = ann.instances, ann.ids
            self._instance_index[video_id] = idx
            self._ids_index[video_id] = ids
            self._rle_index[video_id] = rles
        return idx

    def read_mask_rles(self, video_id: str, frame: str) -> dict[int, dict[str, Any]] | None:
        """{object id: its own mask as a pycocotools RLE} of an annotated frame, kept by the plan's read after
        `keep_masks` (the file is not reopened); None when not kept (then `read_masks`)."""
        got = self._rle_index.get(video_id, {}).get(frame)
        if got is None:
            return None
        return {i + 1: r for i, r in zip(self._instance_index[video_id][frame], got, strict=True)}

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
        """Every instance's own mask (object id = instance + 1); overlapping instances keep their shared pixels.
        After `keep_masks`, decoded from the RLEs the plan's read kept (the file is not reopened)."""
        if frame not in self._annotated_sets[video_id]:
            return None
        v = self._videos[video_id]
        rles = self.read_mask_rles(video_id, frame)
        if rles is not None:
            return frame_masks_of_rles(rles, (v.height, v.width))
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
        frames = self._decoded.get(video_id, lambda: list(native.decode_container(video.source.path)))
        return native.container_frame(frames, video, frame, f"frame {frame}")

    def iter_frames(self, video_id: str, frames: tuple[str, ...] | None = None) -> Iterator[tuple[str, np.ndarray]]:
        """Frames in video order; an mp4 is decoded sequentially once (seeking in mp4 is not frame-exact), up to the
        last frame asked for, converting only the frames asked for."""
        video = self._videos[video_id]
        names = video.frames if frames is None else frames
        if video.source.kind == "images":
            for name in names:
                yield name, self.read_frame(video_id, name)
            return
        wanted = {int(n) - video.source.index_base: n for n in names}
        last = max(wanted) if wanted else -1
        got = 0
        for i, rgb in enumerate(native.decode_container(video.source.path, wanted)):
            if rgb is not None:
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
                    problems.append(Problem(str(p), native.problem_detail(exc)))
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
        if video.source.kind == "images":
            return native.check_image_frames(self, video)
        out: list[Problem] = []
        try:
            for name, rgb in self.iter_frames(vid):
                if rgb.shape[:2] != (video.height, video.width):
                    out.append(Problem(f"{video.source.path} (frame {name})",
                                       f"frame size {rgb.shape[0]}x{rgb.shape[1]} != video size "
                                       f"{video.height}x{video.width}"))
                    break
        except LvsbenchError as exc:
            out.append(Problem(str(video.source.path), native.problem_detail(exc)))
        return out


__all__ = ["A2DDataset", "SPLITS", "class_table", "frame_name"]
