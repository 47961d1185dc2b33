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
obj_id (URVOS-style loaders). Without an explicit `annotations`, the protocol picks the set it is defined on
(`davis-semi` reads `Annotations/480p`; see `lvsbench.protocols.Protocol.annotations`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from lvsbench.core.errors import ConfigError, DataFormatError, Problem
from lvsbench.core.ids import check_id
from lvsbench.core.records import Expression
from lvsbench.core.textfiles import decode_text, read_bytes
from lvsbench.datasets.base import Dataset
from lvsbench.datasets.davis import SPLITS, DAVISDataset, read_image_set

TEXT_FILES: tuple[tuple[str, str], ...] = (
    ("Davis17_annot1.txt", "utf-8"),
    ("Davis17_annot1_full_video.txt", "utf-8"),
    ("Davis17_annot2.txt", "latin-1"),
    ("Davis17_annot2_full_video.txt", "latin-1"),
)
"""The four text files in ReferFormer's order: index = annotator setting (anno_0..anno_3), with encodings."""
VIDEO_NAME_FIXES = {"clasic-car": "classic-car", "dog-scale": "dogs-scale", "motor-bike": "motorbike"}


@dataclass(frozen=True)
class TextLine:
    """One parsed line of a Davis17 text file (video name already fixed)."""

    video: str
    obj_id: int
    text: str
    line: int


def parse_text_file(path: Path, encoding: str, known_videos: set[str] | None) -> list[TextLine]:
    """Parse one Davis17 text file; malformed lines raise `DataFormatError` with the line number."""
    content = decode_text(read_bytes(path, "Davis17 expression file"), path, encoding)
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
        check_id(video, "video name", path, where)
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
            raise DataFormatError(path, f"video {fields[0]!r} is in neither ImageSets/2017/train.txt nor val.txt",
                                  where)
        if (video, obj_id) in seen:
            raise DataFormatError(path, f"({video}, {obj_id}) already given on line {seen[video, obj_id]}", where)
        seen[video, obj_id] = n
        out.append(TextLine(video, obj_id, rest[1:-1], n))
    return out


class RDAVISDataset(DAVISDataset):
    """A split ("train" 60 / "val" 30 sequences) of Refer-DAVIS17 read from the native DAVIS layout: the DAVIS-2017
    reader (`lvsbench.datasets.davis`) plus the referring expressions of the text files.

    Options: `annotator` (None = all four settings, or 0..3 = anno_0..anno_3) and `annotations`
    ("unsupervised", the ReferFormer protocol and the default, or "semi"). When `annotations` is not given, a
    protocol defined on the semi-supervised masks (`davis-semi`) reads those instead.
    """

    name = "rdavis"
    default_annotations = "unsupervised"

    def __init__(self, root: str | Path, split: str | None = None, *, annotator: int | str | None = None,
                 annotations: str | None = None) -> None:
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
        super().__init__(root, split, annotations=annotations)
        self.text_dir = next((d for d in (self.root / "davis_text_annotations", self.davis / "davis_text_annotations")
                              if d.is_dir()), self.root / "davis_text_annotations")
        self._all_videos = {v for names in self.sequences.values() for v in names}
        self.text_lines: dict[int, list[TextLine]] = {}
        for a, (fname, enc) in enumerate(TEXT_FILES):
            p = self.text_dir / fname
            if p.exists():  # a folder there is an error, not an absent file
                self.text_lines[a] = parse_text_file(p, enc, self._all_videos)

    def _read_sequences(self) -> dict[str, list[str]]:
        """Both lists: a text line naming a video of neither split is an error."""
        image_sets = self.davis / "ImageSets" / "2017"
        return {s: read_image_set(image_sets / f"{s}.txt") for s in SPLITS}

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
        return self._expressions  # DAVISDataset has none

    def counts(self) -> dict[str, int]:
        return Dataset.counts(self)

    def missing(self) -> list[Problem]:
        out = super().missing()
        for a, (fname, _) in enumerate(TEXT_FILES):
            if a not in self.text_lines and (self.annotator is None or self.annotator == a):
                out.append(Problem(str(self.text_dir / fname), "missing"))
            elif a in self.text_lines and not self.text_lines[a]:
                out.append(Problem(str(self.text_dir / fname), "no expressions (empty file)"))
        return out

    def run_source(self, annotator: int) -> Path | None:
        """The text file whose expressions make up annotator run `anno_<annotator>`."""
        return self.text_dir / TEXT_FILES[annotator][0] if 0 <= annotator < len(TEXT_FILES) else None


__all__ = ["RDAVISDataset", "TEXT_FILES", "TextLine", "VIDEO_NAME_FIXES", "parse_text_file"]
