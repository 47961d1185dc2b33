"""Refer-DAVIS17 (Khoreva et al., ACCV'18) on the native DAVIS-2017 layout, as ReferFormer evaluates it.

```
ROOT/
  DAVIS/                                   (or ROOT itself)
    JPEGImages/480p/<seq>/<t:05d>.jpg      every frame, 0-based
    Annotations_unsupervised/480p/<seq>/<t:05d>.png   indexed PNGs, ids 1..N, 255 void   (annotations="unsupervised")
    Annotations/480p/<seq>/<t:05d>.png                 semi-supervised masks             (annotations="semi")
    ImageSets/2017/{train,val}.txt         60 / 30 sequence names
    davis_semantics.json                   optional: {seq: {"1": category, ...}}
  davis_text_annotations/                  (or DAVIS/davis_text_annotations)
    Davis17_annot1.txt  Davis17_annot1_full_video.txt  Davis17_annot2.txt  Davis17_annot2_full_video.txt
```

Text lines are `<video> <obj_id> "<expression>"`: the first two whitespace-separated fields, then the rest joined
by single spaces with the surrounding quotes removed (ReferFormer's parse, which also collapses whitespace).
annot1 files are UTF-8 and annot2 files latin-1 (as ReferFormer opens them). Misspelled video names are mapped to
the DAVIS names (`clasic-car` -> `classic-car`, `dog-scale` -> `dogs-scale`, `motor-bike` -> `motorbike`). Blank
lines are skipped; a line with fewer than three fields, a non-integer object id, an unquoted expression, a video
that is in neither ImageSets list or a repeated (video, object) is an error naming the file and the line.

Expression ids follow ReferFormer's `create_meta_expressions`: for the object at position k of the video's objects
sorted by the *string* obj_id (so "10" sorts before "2", as there), the expression of text file a gets id
`str(4k + a)` with a = 0 annot1 (first frame), 1 annot1 full video, 2 annot2 (first frame), 3 annot2 full video.
These are ReferFormer's `anno_0..anno_3` settings; option `annotator=a` keeps only that file's expressions, with
the same ids. Ids do not depend on which files are present, so they are unique and stable. (ReferFormer zips the
four per-video lists, which drops objects missing from any file; lvsbench keeps every line.)

`annotations="unsupervised"` (default) pairs the text obj_ids with `Annotations_unsupervised`, ReferFormer's
protocol (scored by Hungarian matching); `annotations="semi"` uses `Annotations/480p`, where object id = text
obj_id (URVOS-style loaders).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from lvsbench.codecs import read_image_rgb, read_palette_png
from lvsbench.datasets.base import Dataset
from lvsbench.datasets.ryvos import probe_size
from lvsbench.errors import ConfigError, DataFormatError, Problem
from lvsbench.records import Expression, FrameSource, Video

SPLITS: tuple[str, ...] = ("train", "val")
SPLIT_ALIASES = {"valid": "val", "validation": "val"}
DEFAULT_SPLIT = "val"
TEXT_FILES: tuple[tuple[str, str], ...] = (
    ("Davis17_annot1.txt", "utf-8"),
    ("Davis17_annot1_full_video.txt", "utf-8"),
    ("Davis17_annot2.txt", "latin-1"),
    ("Davis17_annot2_full_video.txt", "latin-1"),
)
"""The four text files in ReferFormer's order: index = annotator setting (anno_0..anno_3), with encodings."""
VIDEO_NAME_FIXES = {"clasic-car": "classic-car", "dog-scale": "dogs-scale", "motor-bike": "motorbike"}
ANNOTATION_DIRS = {"unsupervised": "Annotations_unsupervised", "semi": "Annotations"}


@dataclass(frozen=True)
class TextLine:
    """One parsed line of a Davis17 text file (video name already fixed)."""

    video: str
    obj_id: int
    text: str
    line: int


def parse_text_file(path: Path, encoding: str, known_videos: set[str] | None) -> list[TextLine]:
    """Parse one Davis17 text file; malformed lines raise `DataFormatError` with the line number."""
    try:
        content = path.read_bytes().decode(encoding)
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DataFormatError(path, f"not valid {encoding}: {exc.reason}", f"line {line}") from exc
    out: list[TextLine] = []
    seen: dict[tuple[str, int], int] = {}
    # Split on newlines only, as file iteration does: str.splitlines() would also break at U+0085, which is
    # byte 0x85 (cp1252 "...") decoded as latin-1.
    lines = content.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for n, raw in enumerate(lines, start=1):
        fields = raw.split()
        if not fields:
            continue
        where = f"line {n}"
        if len(fields) < 3:
            raise DataFormatError(path, f"expected '<video> <obj_id> \"<expression>\"', got {raw.strip()!r}", where)
        video, obj = VIDEO_NAME_FIXES.get(fields[0], fields[0]), fields[1]
        try:
            obj_id = int(obj)
        except ValueError as exc:
            raise DataFormatError(path, f"object id {obj!r} is not an integer", where) from exc
        if not 0 < obj_id < 255:
            raise DataFormatError(path, f"object id {obj_id} outside 1..254", where)
        rest = " ".join(fields[2:])
        if len(rest) < 2 or rest[0] != '"' or rest[-1] != '"':
            raise DataFormatError(path, f"expression must be in double quotes, got {rest!r}", where)
        if known_videos is not None and video not in known_videos:
            raise DataFormatError(path, f"video {fields[0]!r} is in neither ImageSets/2017 list", where)
        if (video, obj_id) in seen:
            raise DataFormatError(path, f"({video}, {obj_id}) already given on line {seen[video, obj_id]}", where)
        seen[video, obj_id] = n
        out.append(TextLine(video, obj_id, rest[1:-1], n))
    return out


def read_image_set(path: Path) -> list[str]:
    if not path.is_file():
        raise DataFormatError(path, "missing: the split's sequence list")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if len(set(names)) != len(names):
        raise DataFormatError(path, "duplicate sequence names")
    return names


class RDAVISDataset(Dataset):
    """A split ("train" 60 / "val" 30 sequences) of Refer-DAVIS17 read from the native DAVIS layout.

    Options: `annotator` (None = all four settings, or 0..3 = anno_0..anno_3) and `annotations`
    ("unsupervised", the ReferFormer protocol, or "semi").
    """

    name = "rdavis"
    splits = SPLITS
    default_split = DEFAULT_SPLIT

    def __init__(self, root: str | Path, split: str | None = None, *, annotator: int | str | None = None,
                 annotations: str = "unsupervised") -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ConfigError(f"rdavis: root {self.root} is not a directory")
        split = split or DEFAULT_SPLIT
        self.split = SPLIT_ALIASES.get(split, split)
        if self.split not in SPLITS:
            raise ConfigError(f"rdavis: unknown split {split!r}; choose one of {', '.join(SPLITS)} (or 'valid')")
        if annotator is not None and str(annotator).lower() not in ("", "none", "all"):
            try:
                annotator = int(annotator)
            except ValueError as exc:
                raise ConfigError(f"rdavis: annotator must be 0..3, got {annotator!r}") from exc
            if annotator not in range(4):
                raise ConfigError(f"rdavis: annotator must be 0..3, got {annotator}")
        else:
            annotator = None
        self.annotator: int | None = annotator
        if annotations not in ANNOTATION_DIRS:
            raise ConfigError(f"rdavis: annotations must be one of {', '.join(ANNOTATION_DIRS)}, got {annotations!r}")
        self.annotations = annotations
        self.davis = self.root / "DAVIS" if (self.root / "DAVIS").is_dir() else self.root
        self.text_dir = next((d for d in (self.root / "davis_text_annotations", self.davis / "davis_text_annotations")
                              if d.is_dir()), self.root / "davis_text_annotations")
        image_sets = self.davis / "ImageSets" / "2017"
        self.sequences = {s: read_image_set(image_sets / f"{s}.txt") for s in SPLITS}
        self._all_videos = {v for names in self.sequences.values() for v in names}
        self.text_lines: dict[int, list[TextLine]] = {}
        for a, (fname, enc) in enumerate(TEXT_FILES):
            p = self.text_dir / fname
            if p.is_file():
                self.text_lines[a] = parse_text_file(p, enc, self._all_videos)

    # ------------------------------------------------------------------ metadata

    @property
    def annotation_root(self) -> Path:
        return self.davis / ANNOTATION_DIRS[self.annotations] / "480p"

    @cached_property
    def _videos(self) -> dict[str, Video]:
        out = {}
        for seq in self.sequences[self.split]:
            img_dir = self.davis / "JPEGImages" / "480p" / seq
            # Frames = JPEGs and masks together, so that a frame missing from either is listed and reported.
            names = {p.stem for p in img_dir.glob("*.jpg")}
            names |= {p.stem for p in (self.annotation_root / seq).glob("*.png")}
            frames = tuple(sorted(names))
            h, w = probe_size(img_dir / f"{f}.jpg" for f in frames)
            out[seq] = Video(seq, frames, h, w, FrameSource("images", img_dir, "{name}.jpg"))
        return out

    def videos(self) -> dict[str, Video]:
        return self._videos

    @cached_property
    def _expressions(self) -> list[Expression]:
        by_video: dict[str, dict[tuple[int, int], TextLine]] = {}
        for a, lines in self.text_lines.items():
            for t in lines:
                by_video.setdefault(t.video, {})[(t.obj_id, a)] = t
        out = []
        for seq in self.sequences[self.split]:
            entries = by_video.get(seq, {})
            objects = sorted({o for o, _ in entries}, key=str)
            for k, obj in enumerate(objects):
                for a in range(len(TEXT_FILES)):
                    if (self.annotator is None or a == self.annotator) and (obj, a) in entries:
                        out.append(Expression(str(4 * k + a), seq, entries[obj, a].text, (obj,)))
        return out

    def expressions(self) -> list[Expression]:
        return self._expressions

    @cached_property
    def _semantics(self) -> dict[str, dict[int, str]]:
        for p in (self.davis / "davis_semantics.json", self.root / "davis_semantics.json"):
            if p.is_file():
                try:
                    doc = json.loads(p.read_bytes())
                    return {seq: {int(k): str(v) for k, v in objs.items()} for seq, objs in doc.items()}
                except (json.JSONDecodeError, AttributeError, ValueError) as exc:
                    raise DataFormatError(p, f"expected {{seq: {{obj_id: category}}}}: {exc}") from exc
        return {}

    def object_categories(self, video_id: str) -> dict[int, str]:
        return dict(self._semantics.get(video_id, {}))

    # ------------------------------------------------------------------ pixels

    def frame_path(self, video_id: str, frame: str) -> Path:
        return self.davis / "JPEGImages" / "480p" / video_id / f"{frame}.jpg"

    def annotation_path(self, video_id: str, frame: str) -> Path:
        return self.annotation_root / video_id / f"{frame}.png"

    def read_frame(self, video_id: str, frame: str) -> np.ndarray:
        p = self.frame_path(video_id, frame)
        if not p.is_file():
            raise DataFormatError(p, "frame missing", f"{video_id}/{frame}")
        return read_image_rgb(p)

    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        """Every frame: DAVIS-2017 train/val annotate all frames (both annotation sets)."""
        return self._videos[video_id].frames

    def read_labels(self, video_id: str, frame: str) -> np.ndarray | None:
        p = self.annotation_path(video_id, frame)
        if not p.is_file():
            raise DataFormatError(p, f"{self.annotations} annotation missing", f"{video_id}/{frame}")
        return read_palette_png(p)

    def missing(self) -> list[Problem]:
        out = []
        for d in (self.davis / "JPEGImages" / "480p", self.annotation_root):
            if not d.is_dir():
                out.append(Problem(str(d), "missing"))
        for a, (fname, _) in enumerate(TEXT_FILES):
            if a not in self.text_lines and (self.annotator is None or self.annotator == a):
                out.append(Problem(str(self.text_dir / fname), "missing"))
        return out
