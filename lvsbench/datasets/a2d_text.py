"""The text tables of the A2D-Sentences release: `Release/videoset.csv`, `text_annotations/a2d_annotation.txt` and
`a2d_missed_videos.txt`, as MTTR reads them (mttr2021/MTTR @ 2cc35ab, `datasets/a2d_sentences/`); the layout is in
`lvsbench.datasets.a2d`. Every problem names the file and the line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from lvsbench.core.errors import DataFormatError
from lvsbench.core.ids import check_id, check_ids
from lvsbench.core.textfiles import read_text

COPY_ROW_INSTANCE = "1 (copy)"
"""The one non-integer instance id of the official file (T6bNPuKV-wY, line 3181)."""
ACTORS: tuple[str, ...] = ("adult", "baby", "ball", "bird", "car", "cat", "dog")
"""Actor names by actor id - 1; an actor-action id is 10 * actor + action (`data/a2d_actor_action_classes.csv`)."""


def actor_action(a2d_id: int) -> tuple[int, int]:
    """(actor id, action id) of an A2D actor-action id: (id // 10, id % 10)."""
    return int(a2d_id) // 10, int(a2d_id) % 10


def actor_name(a2d_id: int) -> str:
    a = int(a2d_id) // 10
    return ACTORS[a - 1] if 1 <= a <= len(ACTORS) else f"actor{a}"


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
    text = read_text(path)
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
    text = read_text(path)
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
    ids = [line.strip() for line in read_text(Path(path)).split("\n") if line.strip()]
    return check_ids(ids, "video id", path)


__all__ = ["ACTORS", "AnnotationRow", "COPY_ROW_INSTANCE", "VideosetRow", "actor_action", "actor_name",
           "read_annotation_txt", "read_missed", "read_videoset"]
