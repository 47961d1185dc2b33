"""The lvsbench layout: the Refer-YouTube-VOS layout the field already reads, plus a dataset card.

```
DIR/
  lvsbench.json                      dataset card (name, split, source, version, counts, protocol, checksums)
  meta_expressions.json              {"videos": {vid: {"frames": [...], "expressions": {exp_id: {"exp", "obj_id"}}}}}
  JPEGImages/<vid>/<frame>.jpg|.png  frames
  Annotations/<vid>/<frame>.png      palette PNGs of object ids (0 background, 255 void), annotated frames only
  Overlaps/<vid>/<frame>/<obj>.png   complete 0/1 mask of each object that shares pixels with another (A2D)
```

`obj_id` is a string for a single object (as ReferFormer's `int(exp["obj_id"])` reads it) and a list of ints for
several (MeViS style). Optional extensions that ReferFormer-style code ignores: an expression's `frames` (frames to
score when not every annotated frame is), a video's `objects` ({id: {"category": ...}}) and `size` ([H, W]).
A label map cannot hold a pixel of two objects, so where objects overlap (A2D instances: a rider and a horse) each
involved object's complete mask is stored in `Overlaps/` and replaces `label == obj` for it (`FrameMasks`); such
layouts are format version 2, all others stay version 1. The specification is `docs/layout.md`.

Size: the reader, the resumable writer and the validator of one format, kept with the constants and path rules
(card, meta, Overlaps/, fragments) they share.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench import __version__
from lvsbench.core.codecs import (
    encode_jpeg,
    encode_palette_png,
    encode_png_rgb,
    image_size,
    read_image_rgb,
    read_palette_png,
)
from lvsbench.core.errors import ConfigError, DataFormatError, Problem
from lvsbench.core.ids import check_id, check_ids, id_problem, strict_int
from lvsbench.core.io import (
    atomic_write_bytes,
    atomic_write_json,
    mark_output_dir,
    prepare_output_dir,
    sha256_file,
    sha256_tree,
)
from lvsbench.core.records import Expression, FrameMasks, FrameSource, Video
from lvsbench.core.textfiles import load_json, read_text
from lvsbench.datasets.base import Dataset

CARD_NAME = "lvsbench.json"
META_NAME = "meta_expressions.json"
FORMAT_NAME = "lvsbench-layout"
FORMAT_VERSION = 2
"""Version 2 adds `Overlaps/`; a layout without overlapping objects is written as version 1 (unchanged)."""
OVERLAPS_DIR = "Overlaps"
PARTS_DIR = ".lvsbench-parts"
FRAME_EXTS = (".jpg", ".png")


def _obj_id_field(object_ids: tuple[int, ...]) -> str | list[int]:
    return str(object_ids[0]) if len(object_ids) == 1 else [int(o) for o in object_ids]


def parse_obj_ids(value: Any, path: Path, key: str) -> tuple[int, ...]:
    """`obj_id` as written by Refer-YouTube-VOS ("1"), by MeViS ([1, 2]) or as an int."""
    try:
        if isinstance(value, list):
            ids = tuple(strict_int(v) for v in value)
        else:
            ids = (strict_int(value),)
    except (TypeError, ValueError) as exc:
        raise DataFormatError(path, f"obj_id {value!r} is not an int or a list of ints", key) from exc
    if not ids:
        raise DataFormatError(path, "obj_id is an empty list", key)
    bad = [o for o in ids if not 0 < o < 255]
    if bad:
        raise DataFormatError(path, f"obj_id {bad[0]} outside 1..254", key)
    return ids


class LayoutDataset(Dataset):
    """Reader of a dataset in the lvsbench layout (also reads a plain Refer-YouTube-VOS-style train folder)."""

    def __init__(self, root: str | Path, name: str | None = None, split: str | None = None) -> None:
        self.root = Path(root)
        meta_path = self.root / META_NAME
        if not meta_path.is_file():
            raise DataFormatError(meta_path, "missing: not a dataset in the lvsbench layout")
        card_path = self.root / CARD_NAME
        self.card: dict[str, Any] = {}
        if card_path.exists():
            self.card = load_json(card_path, "dataset card")
            if not isinstance(self.card, dict):
                raise DataFormatError(card_path, "the card must be a JSON object")
        self.name = name or self.card.get("name", self.root.name)
        self.split = split or self.card.get("split", "unknown")
        self.meta = load_json(meta_path, "meta_expressions.json")
        if not isinstance(self.meta, dict) or not isinstance(self.meta.get("videos"), dict):
            raise DataFormatError(meta_path, "top-level key 'videos' (an object) is missing")
        self.meta_path = meta_path
        version = self.card.get("format_version", 1)
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise DataFormatError(card_path, f"format_version {version} is newer than this lvsbench reads "
                                             f"({FORMAT_VERSION}); upgrade lvsbench", "format_version")

    @cached_property
    def _videos(self) -> dict[str, Video]:
        out = {}
        for vid, entry in self.meta["videos"].items():
            key = f"videos.{vid}"
            check_id(vid, "video id", self.meta_path, key)
            if not isinstance(entry, dict):
                raise DataFormatError(self.meta_path, "video entry is not an object", key)
            raw_frames = entry.get("frames", [])
            if not isinstance(raw_frames, list) or not all(isinstance(f, str) for f in raw_frames):
                raise DataFormatError(self.meta_path, "'frames' must be a list of frame names", f"{key}.frames")
            frames = tuple(check_ids(raw_frames, "frame name", self.meta_path, f"{key}.frames"))
            if len(set(frames)) != len(frames):
                dup = sorted({f for f in frames if frames.count(f) > 1})
                raise DataFormatError(self.meta_path, f"frame(s) listed twice: {', '.join(dup[:5])}", f"{key}.frames")
            size = entry.get("size")
            ext = self._frame_ext(vid, frames)
            if size is not None:
                if (not isinstance(size, list) or len(size) != 2
                        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
                    raise DataFormatError(self.meta_path, f"'size' must be [height, width] in pixels, got {size!r}",
                                          f"{key}.size")
                h, w = int(size[0]), int(size[1])
            elif frames and (self.root / "JPEGImages" / vid / f"{frames[0]}{ext}").is_file():
                h, w = image_size(self.root / "JPEGImages" / vid / f"{frames[0]}{ext}")
            else:
                h, w = 0, 0
            src = FrameSource("images", self.root / "JPEGImages" / vid, "{name}" + ext)
            out[vid] = Video(vid, frames, h, w, src)
        return out

    def _frame_ext(self, vid: str, frames: tuple[str, ...]) -> str:
        ext = self.card.get("frame_ext")
        if ext:
            return ext
        if frames:
            for e in FRAME_EXTS:
                if (self.root / "JPEGImages" / vid / f"{frames[0]}{e}").is_file():
                    return e
        return ".jpg"

    def videos(self) -> dict[str, Video]:
        return self._videos

    @cached_property
    def _expressions(self) -> list[Expression]:
        out = []
        videos = self._videos
        for vid, entry in self.meta["videos"].items():
            exps = entry.get("expressions", {})
            if not isinstance(exps, dict):
                raise DataFormatError(self.meta_path, "'expressions' must be an object", f"videos.{vid}.expressions")
            for eid, e in exps.items():
                key = f"videos.{vid}.expressions.{eid}"
                check_id(eid, "expression id", self.meta_path, key)
                if not isinstance(e, dict) or not isinstance(e.get("exp"), str):
                    raise DataFormatError(self.meta_path, "expression has no 'exp' text", key)
                if "obj_id" not in e:
                    raise DataFormatError(self.meta_path, "expression has no 'obj_id'", key)
                ids = parse_obj_ids(e["obj_id"], self.meta_path, key)
                frames = e.get("frames", [])
                if not isinstance(frames, list) or not all(isinstance(f, str) for f in frames):
                    raise DataFormatError(self.meta_path, "'frames' must be a list of frame names", f"{key}.frames")
                if len(set(frames)) != len(frames):
                    raise DataFormatError(self.meta_path, "a frame is listed twice", f"{key}.frames")
                unknown = [f for f in frames if f not in videos[vid].frames]
                if unknown:
                    raise DataFormatError(self.meta_path, f"frame {unknown[0]!r} is not a frame of video {vid}",
                                          f"{key}.frames")
                out.append(Expression(str(eid), vid, e["exp"], ids, tuple(frames)))
        return out

    def expressions(self) -> list[Expression]:
        return self._expressions

    def read_frame(self, video_id: str, frame: str) -> np.ndarray:
        return read_image_rgb(self._videos[video_id].source.frame_path(frame))

    def annotation_path(self, video_id: str, frame: str) -> Path:
        return self.root / "Annotations" / video_id / f"{frame}.png"

    @cached_property
    def _annotated(self) -> dict[str, tuple[str, ...]]:
        out = {}
        for vid, video in self._videos.items():
            d = self.root / "Annotations" / vid
            present = set()
            for p in d.glob("*.png") if d.is_dir() else ():
                if not p.is_file():
                    raise DataFormatError(p, "is a folder, expected a PNG mask")
                present.add(p.stem)
            out[vid] = tuple(f for f in video.frames if f in present)
        return out

    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        return self._annotated[video_id]

    def read_labels(self, video_id: str, frame: str) -> np.ndarray | None:
        p = self.annotation_path(video_id, frame)
        if not p.is_file():
            return None
        return read_palette_png(p)

    @cached_property
    def _overlap_index(self) -> dict[str, dict[str, tuple[int, ...]]]:
        return {}

    def overlap_objects(self, video_id: str) -> dict[str, tuple[int, ...]]:
        """{frame: ids of objects with a complete mask in `Overlaps/`} of a video (listed once, cached)."""
        got = self._overlap_index.get(video_id)
        if got is None:
            got = {}
            d = self.root / OVERLAPS_DIR / video_id
            if d.is_dir():
                for fd in sorted(d.iterdir()):
                    ids = sorted(int(p.stem) for p in fd.glob("*.png") if p.stem.isdigit())
                    if ids:
                        got[fd.name] = tuple(ids)
            self._overlap_index[video_id] = got
        return got

    def read_masks(self, video_id: str, frame: str) -> FrameMasks | None:
        """Label map plus the complete masks of overlapping objects (`Overlaps/`); None on an unannotated frame."""
        lab = self.read_labels(video_id, frame)
        if lab is None:
            return None
        ids = self.overlap_objects(video_id).get(frame, ())
        over = {}
        for o in ids:
            p = overlap_path(self.root, video_id, frame, o)
            m = read_palette_png(p)
            if m.shape != lab.shape:
                raise DataFormatError(p, f"mask size {m.shape[1]}x{m.shape[0]} != label map size "
                                         f"{lab.shape[1]}x{lab.shape[0]}")
            over[o] = m != 0
        return FrameMasks(lab, over)

    def object_categories(self, video_id: str) -> dict[int, str]:
        objs = self.meta["videos"][video_id].get("objects", {})
        return {int(k): str(v.get("category", "")) for k, v in objs.items()}

    def num_objects_in_video(self, video_id: str) -> int:
        """A card with `"objects_in_video": "objects"` (written by build-hard-split) says that a video's `objects`
        lists every object in it; otherwise the objects referred to by its expressions."""
        if self.card.get("objects_in_video") == "objects":
            return len(self.meta["videos"][video_id].get("objects", {}))
        return super().num_objects_in_video(video_id)


@dataclass(frozen=True)
class EncodedFrame:
    """A frame as `LayoutWriter.encode_frame` encodes it, with its (height, width): a caller that writes the same
    frame into several videos (the hard split's source frames) encodes it once."""

    data: bytes
    hw: tuple[int, int]


class LayoutWriter:
    """Writes a dataset in the lvsbench layout, one video at a time, atomically per video and resumable.

    Each finished video leaves a fragment in `.lvsbench-parts/`; `finish()` assembles `meta_expressions.json` and
    the card from the fragments and removes them. A writer opened on a half-written output (`resume=True`) skips
    videos whose fragment exists.
    """

    def __init__(self, out: str | Path, *, name: str, split: str, source: str, version: str = "1",
                 default_protocol: str = "ryvos", frame_ext: str = ".jpg", force: bool = False,
                 resume: bool = False, extra_card: dict[str, Any] | None = None) -> None:
        self.out = Path(out)
        if frame_ext not in FRAME_EXTS:
            raise ValueError(f"frame_ext must be one of {FRAME_EXTS}")
        parts = self.out / PARTS_DIR
        if not (resume and parts.is_dir()):
            prepare_output_dir(self.out, force, legacy=(CARD_NAME, META_NAME))
        mark_output_dir(self.out)
        parts.mkdir(exist_ok=True)
        self.parts = parts
        self.card_fields = {"name": name, "split": split, "source": source, "version": version,
                            "default_protocol": default_protocol, "frame_ext": frame_ext, **(extra_card or {})}
        self.frame_ext = frame_ext

    def has_video(self, video_id: str) -> bool:
        return fragment_path(self.out, video_id).is_file()

    def remove_video(self, video_id: str) -> None:
        """Remove one video (finished or half-written): its frames, annotations and fragment."""
        remove_video(self.out, video_id)

    def encode_frame(self, rgb: np.ndarray) -> EncodedFrame:
        """The file content of an RGB frame in this writer's `frame_ext` (what `add_video` writes for it)."""
        data = encode_jpeg(rgb) if self.frame_ext == ".jpg" else encode_png_rgb(rgb)
        return EncodedFrame(data, (int(rgb.shape[0]), int(rgb.shape[1])))

    def add_video(self, video: Video, frames: Iterable[tuple[str, np.ndarray | EncodedFrame]],
                  labels: dict[str, np.ndarray | FrameMasks], expressions: list[Expression],
                  objects: dict[int, dict[str, Any]] | None = None) -> None:
        """Write one video: its frames (name, RGB or its `encode_frame`), the ground truth of its annotated frames
        (label maps, or `FrameMasks` whose overlapping objects go to `Overlaps/`), its expressions."""
        import shutil

        vid = video.id
        img_dir, ann_dir = self.out / "JPEGImages" / vid, self.out / "Annotations" / vid
        over_dir = self.out / OVERLAPS_DIR / vid
        if over_dir.exists():
            shutil.rmtree(over_dir)
        for d in (img_dir, ann_dir):
            if d.exists():
                shutil.rmtree(d)
            d.mkdir(parents=True)
        seen = []
        for name, rgb in frames:
            enc = rgb if isinstance(rgb, EncodedFrame) else self.encode_frame(rgb)
            if enc.hw != (video.height, video.width):
                raise ValueError(f"video {vid} frame {name}: size {enc.hw} != {(video.height, video.width)}")
            atomic_write_bytes(img_dir / f"{name}{self.frame_ext}", enc.data)
            seen.append(name)
        if tuple(seen) != video.frames:
            raise ValueError(f"video {vid}: frames written {len(seen)} differ from the video's {video.num_frames}")
        for name, gt in labels.items():
            if name not in video.frames:
                raise ValueError(f"video {vid}: label map for unknown frame {name}")
            fm = gt if isinstance(gt, FrameMasks) else FrameMasks(gt)
            atomic_write_bytes(ann_dir / f"{name}.png", encode_palette_png(fm.labels))
            for o, m in sorted(fm.overlapping.items()):
                if m.shape != fm.shape:
                    raise ValueError(f"video {vid} frame {name}: mask of object {o} is {m.shape}, label map "
                                     f"{fm.shape}")
                atomic_write_bytes(overlap_path(self.out, vid, name, o), encode_palette_png(m.astype(np.uint8)))
        entry: dict[str, Any] = {
            "frames": list(video.frames),
            "size": [video.height, video.width],
            "expressions": {},
        }
        for e in expressions:
            if e.video_id != vid:
                raise ValueError(f"expression {e.id} belongs to {e.video_id}, not {vid}")
            ex: dict[str, Any] = {"exp": e.text, "obj_id": _obj_id_field(e.object_ids)}
            if e.frames:
                ex["frames"] = list(e.frames)
            if e.id in entry["expressions"]:
                raise ValueError(f"video {vid}: duplicate expression id {e.id}")
            entry["expressions"][e.id] = ex
        if objects:
            entry["objects"] = {str(k): v for k, v in sorted(objects.items())}
        atomic_write_json(fragment_path(self.out, vid), {"video_id": vid, "entry": entry})

    def finish(self, order: list[str] | None = None) -> dict[str, Any]:
        """Assemble meta and card from the per-video fragments; returns the card."""
        import shutil

        fragments = {}
        for p in sorted(self.parts.glob("*.json")):
            frag = json.loads(p.read_text())
            fragments[frag["video_id"]] = frag["entry"]
        ids = order if order is not None else sorted(fragments)
        missing = [v for v in ids if v not in fragments]
        if missing:
            raise ValueError(f"videos not written: {missing[:10]}")
        meta = {"videos": {v: fragments[v] for v in ids}}
        atomic_write_json(self.out / META_NAME, meta, indent=None)
        card = build_card(self.out, self.card_fields)
        atomic_write_json(self.out / CARD_NAME, card)
        shutil.rmtree(self.parts)
        return card


def fragment_path(out: str | Path, video_id: str) -> Path:
    """Fragment that marks a video of an unfinished `LayoutWriter` output as completely written."""
    return Path(out) / PARTS_DIR / f"{video_id.replace('/', '%2F')}.json"


def overlap_path(root: str | Path, video_id: str, frame: str, object_id: int) -> Path:
    """`Overlaps/<video>/<frame>/<object id>.png`: complete 0/1 mask of an object that overlaps another."""
    return Path(root) / OVERLAPS_DIR / video_id / frame / f"{int(object_id)}.png"


def remove_video(out: str | Path, video_id: str) -> None:
    """Remove one video of an unfinished `LayoutWriter` output (frames, annotations, fragment)."""
    import shutil

    for d in (Path(out) / "JPEGImages" / video_id, Path(out) / "Annotations" / video_id,
              Path(out) / OVERLAPS_DIR / video_id):
        if d.exists():
            shutil.rmtree(d)
    fragment_path(out, video_id).unlink(missing_ok=True)


def build_card(root: Path, fields: dict[str, Any]) -> dict[str, Any]:
    ds = LayoutDataset(root, fields.get("name"), fields.get("split"))
    counts = ds.counts()
    counts["objects"] = sum(len(ds.object_ids(v)) for v in ds.videos())
    checksums = {
        META_NAME: sha256_file(root / META_NAME),
        "Annotations": sha256_tree(root / "Annotations"),
        "JPEGImages": sha256_tree(root / "JPEGImages"),
    }
    overlaps = root / OVERLAPS_DIR
    has_overlaps = overlaps.is_dir() and any(overlaps.rglob("*.png"))
    if has_overlaps:
        counts["overlap_masks"] = sum(1 for _ in overlaps.rglob("*.png"))
        checksums[OVERLAPS_DIR] = sha256_tree(overlaps)
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION if has_overlaps else 1,
        **fields,
        "counts": counts,
        "created_by": f"lvsbench {__version__}",
        "checksums": checksums,
    }


def card_checksum(root: str | Path) -> str:
    """Checksum that identifies a dataset version: that of its card (which holds the content checksums)."""
    p = Path(root) / CARD_NAME
    if p.is_file():
        return sha256_file(p)
    return sha256_file(Path(root) / META_NAME)


def write_dataset(ds: Dataset, out: str | Path, *, source: str, default_protocol: str, force: bool = False,
                  frame_ext: str = ".jpg", progress: bool = True, extra_card: dict[str, Any] | None = None,
                  resume: bool = False) -> dict[str, Any]:
    """Convert any `Dataset` to the lvsbench layout (the converters of every native reader use this)."""
    from tqdm import tqdm

    unscorable = [e for e in ds.expressions() if not e.object_ids]
    if unscorable:
        raise ConfigError(
            f"{ds.name} split {ds.split!r}: {len(unscorable)} expressions have no object ids (for example "
            f"{unscorable[0].video_id}/{unscorable[0].id}); their ground truth is not public, so this split "
            "cannot be converted to a scorable dataset. Convert a split with ground truth (e.g. train).")
    writer = LayoutWriter(out, name=ds.name, split=ds.split, source=source, default_protocol=default_protocol,
                          frame_ext=frame_ext, force=force, resume=resume, extra_card=extra_card)
    videos = ds.videos()
    for vid, video in tqdm(videos.items(), desc=f"convert {ds.name}", unit="video", disable=not progress):
        if resume and writer.has_video(vid):
            continue
        labels = {}
        for f in ds.annotated_frames(vid):
            lab = ds.read_masks(vid, f)  # overlapping objects keep their complete masks (Overlaps/)
            if lab is not None:
                labels[f] = lab
        cats = ds.object_categories(vid)
        objects = {o: {"category": c} for o, c in cats.items()} or None
        writer.add_video(video, ds.iter_frames(vid), labels, ds.video_expressions(vid), objects)
    return writer.finish(order=list(videos))


# ---------------------------------------------------------------------- validation


def validate_layout(root: str | Path) -> list[Problem]:
    """Check a dataset in our layout; return every problem found (empty list = valid)."""
    root = Path(root)
    problems: list[Problem] = []

    def add(path: Path | str, msg: str) -> None:
        problems.append(Problem(str(path), msg))

    meta_path = root / META_NAME
    if not meta_path.is_file():
        add(meta_path, "missing" if not meta_path.exists() else "is not a file")
        return problems
    try:
        raw = read_text(meta_path, META_NAME)
    except DataFormatError as exc:
        add(meta_path, exc.detail)
        return problems
    try:
        meta = json.loads(raw, object_pairs_hook=_dup_checking_pairs)
    except _DuplicateKey as exc:
        add(meta_path, f"duplicate key {exc.key!r} (duplicate video or expression id)")
        meta = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        add(meta_path, f"invalid JSON: {exc}")
        return problems
    videos = meta.get("videos") if isinstance(meta, dict) else None
    if not isinstance(videos, dict):
        add(meta_path, "top-level key 'videos' (an object) is missing")
        return problems
    card_path = root / CARD_NAME
    card: Any = None
    if not card_path.is_file():
        add(card_path, "missing dataset card")
    else:
        try:
            card = load_json(card_path, "dataset card")
        except DataFormatError as exc:
            add(card_path, exc.detail)
    for vid, entry in videos.items():
        key = f"videos.{vid}"
        bad_id = id_problem(vid)
        if bad_id:
            add(f"{meta_path} [{key}]", bad_id)
            continue
        if not isinstance(entry, dict):
            add(f"{meta_path} [{key}]", "video entry is not an object")
            continue
        raw_frames = entry.get("frames", [])
        if not isinstance(raw_frames, list) or not all(isinstance(f, str) for f in raw_frames):
            add(f"{meta_path} [{key}.frames]", "'frames' must be a list of frame names")
            continue
        unsafe = [(f, id_problem(f)) for f in raw_frames if id_problem(f)]
        if unsafe:
            add(f"{meta_path} [{key}.frames]", str(unsafe[0][1]))
            continue
        frames = list(raw_frames)
        twice = sorted({f for f in frames if frames.count(f) > 1})
        if twice:
            add(f"{meta_path} [{key}.frames]", f"frame(s) listed twice: {', '.join(twice[:5])}")
        if not frames:
            add(f"{meta_path} [{key}]", "video lists no frames")
        img_dir = root / "JPEGImages" / vid
        ann_dir = root / "Annotations" / vid
        sizes: dict[str, tuple[int, int]] = {}
        for f in frames:
            path = next((img_dir / f"{f}{e}" for e in FRAME_EXTS if (img_dir / f"{f}{e}").is_file()), None)
            if path is None:
                add(img_dir / f"{f}.jpg", "frame listed in meta_expressions.json but absent")
                continue
            try:
                sizes[f] = image_size(path)
            except DataFormatError as exc:
                add(path, f"unreadable image: {exc.detail}")
        size = entry.get("size")
        if size is not None:
            if (not isinstance(size, list) or len(size) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
                add(f"{meta_path} [{key}.size]", f"'size' must be [height, width] in pixels, got {size!r}")
            elif sizes and tuple(size) != next(iter(sizes.values())):
                fh, fw = next(iter(sizes.values()))
                add(f"{meta_path} [{key}.size]", f"size {size[1]}x{size[0]} != frame size {fw}x{fh}")
        if img_dir.is_dir():
            listed = set(frames)
            for p in sorted(img_dir.iterdir()):
                if p.suffix in FRAME_EXTS and p.stem not in listed:
                    add(p, "frame on disk but not listed in meta_expressions.json")
        present_ids: set[int] = set()
        if ann_dir.is_dir():
            for p in sorted(ann_dir.glob("*.png")):
                if not p.is_file():
                    add(p, "is a folder, expected a PNG mask")
                    continue
                if p.stem not in frames:
                    add(p, "annotation of a frame not listed in meta_expressions.json")
                try:
                    lab = read_palette_png(p)
                except DataFormatError as exc:
                    add(p, exc.detail)
                    continue
                size = sizes.get(p.stem) or (next(iter(sizes.values())) if sizes else None)
                if size is not None and lab.shape != size:
                    add(p, f"mask size {lab.shape[1]}x{lab.shape[0]} != frame size {size[1]}x{size[0]}")
                present_ids.update(int(i) for i in np.unique(lab))
        _validate_overlaps(root / OVERLAPS_DIR / vid, ann_dir, frames, sizes, present_ids, add)
        exps = entry.get("expressions", {})
        if not isinstance(exps, dict):
            add(f"{meta_path} [{key}.expressions]", "'expressions' must be an object")
            continue
        for eid, e in exps.items():
            ekey = f"{key}.expressions.{eid}"
            bad_id = id_problem(eid)
            if bad_id:
                add(f"{meta_path} [{ekey}]", bad_id)
                continue
            if not isinstance(e, dict):
                add(f"{meta_path} [{ekey}]", "expression is not an object")
                continue
            if not isinstance(e.get("exp"), str):
                add(f"{meta_path} [{ekey}]", "expression has no 'exp' text")
            try:
                ids = parse_obj_ids(e.get("obj_id"), meta_path, ekey)
            except DataFormatError as exc:
                add(f"{meta_path} [{ekey}]", exc.detail)
                continue
            absent = [o for o in ids if o not in present_ids]
            if absent:
                add(f"{meta_path} [{ekey}]", f"object id(s) {absent} absent from every mask of video {vid}")
            efr = e.get("frames", [])
            if not isinstance(efr, list) or not all(isinstance(f, str) for f in efr):
                add(f"{meta_path} [{ekey}.frames]", "'frames' must be a list of frame names")
                continue
            if len(set(efr)) != len(efr):
                add(f"{meta_path} [{ekey}.frames]", "a scored frame is listed twice")
            for f in efr:
                if f not in frames:
                    add(f"{meta_path} [{ekey}]", f"scored frame {f} is not a frame of the video")
    if isinstance(card, dict) and not problems:
        _validate_card(root, card, card_path, add)
    return problems


def _validate_card(root: Path, card: dict[str, Any], card_path: Path, add: Any) -> None:
    """The card's counts must describe the data beside it (a card copied from another version would not)."""
    counts = card.get("counts")
    if counts is None:
        return
    if not isinstance(counts, dict):
        add(f"{card_path} [counts]", "'counts' must be an object")
        return
    try:
        actual = LayoutDataset(root).counts()
    except DataFormatError as exc:
        add(exc.path or card_path, exc.detail)
        return
    for k, v in sorted(actual.items()):
        if k in counts and counts[k] != v:
            add(f"{card_path} [counts.{k}]", f"card says {counts[k]!r}, the data has {v}")
    if counts.get("annotated_frames") not in (None, actual.get("annotated_frames")):
        ds = LayoutDataset(root)
        for vid, video in ds.videos().items():  # where a mask is gone: a few frames without one in a masked video
            have = set(ds.annotated_frames(vid))
            lacking = [f for f in video.frames if f not in have]
            if have and len(lacking) <= 3:
                for f in lacking:
                    add(ds.annotation_path(vid, f), "no mask, while the other frames of the video have one (the card "
                                                    "counts more annotated frames)")


def _validate_overlaps(over_dir: Path, ann_dir: Path, frames: list[str], sizes: dict[str, tuple[int, int]],
                       present_ids: set[int], add: Any) -> None:
    """Problems of one video's `Overlaps/<frame>/<obj>.png` masks; adds the ids found to `present_ids`."""
    if not over_dir.is_dir():
        return
    for fd in sorted(over_dir.iterdir()):
        if fd.name not in frames:
            add(fd, "overlap masks of a frame not listed in meta_expressions.json")
        if not (ann_dir / f"{fd.name}.png").is_file():
            add(fd, "overlap masks of a frame that has no Annotations PNG")
        for p in sorted(fd.iterdir()):
            if p.suffix != ".png" or not p.stem.isdigit() or not 0 < int(p.stem) < 255:
                add(p, "expected <object id 1..254>.png")
                continue
            try:
                m = read_palette_png(p)
            except DataFormatError as exc:
                add(p, exc.detail)
                continue
            size = sizes.get(fd.name)
            if size is not None and m.shape != size:
                add(p, f"mask size {m.shape[1]}x{m.shape[0]} != frame size {size[1]}x{size[0]}")
            if m.size and int(m.max()) > 1:
                add(p, f"an object mask holds 0/1, found value {int(m.max())}")
            if m.any():
                present_ids.add(int(p.stem))


class _DuplicateKey(Exception):
    def __init__(self, key: str, where: str) -> None:
        self.key, self.where = key, where


def _dup_checking_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for k, v in pairs:
        if k in seen:
            raise _DuplicateKey(k, "an object of meta_expressions.json")
        seen[k] = v
    return seen


def is_layout(root: str | Path) -> bool:
    return (Path(root) / META_NAME).is_file()


__all__ = ["CARD_NAME", "EncodedFrame", "FORMAT_NAME", "FORMAT_VERSION", "FRAME_EXTS", "LayoutDataset", "LayoutWriter",
           "META_NAME", "OVERLAPS_DIR", "PARTS_DIR", "build_card", "card_checksum", "fragment_path", "is_layout",
           "overlap_path", "parse_obj_ids", "remove_video", "validate_layout", "write_dataset"]
