"""Sa2VA's per-expression RLE results JSON (bytedance/Sa2VA @ 9832e1a: written by
`projects/sa2va/evaluation/sa2va_eval_ref_vos.py` without `--submit`, read by `tools/eval/eval_revos.py`,
`eval_ref_sav.py` and `eval_mevis.py`):

```
{<video>: {<exp_id>: {"video_id": str, "exp_id": str, "frames": [frame names],
                      "prediction_masks": [COCO RLE {"size": [H, W], "counts": str}, one per frame]}}}
```

The evaluators index `prediction_masks` by the position of the frame in the meta file's `frames` (Sa2VA predicts in
sorted frame order: identical when the meta lists frames sorted). Reader and writer are side by side so that a
round trip is exact; RLE goes through pycocotools (`lvsbench.core.codecs`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench.core.codecs import rle_decode, rle_encode
from lvsbench.core.errors import DataFormatError
from lvsbench.core.io import atomic_write_text
from lvsbench.formats.base import Outputs, Writer, WriteUnit, WriteVideo
from lvsbench.formats.raw_png import MissingPrediction

FORMAT = "rle-json"
RLE_FILE = "results.json"
"""File name of the results JSON inside an `lvsbench run` output folder."""


def _write_doc(path: str | Path, items: Iterable[tuple[str, str, Sequence[str], Sequence[dict[str, Any]]]]) -> Path:
    """(video, exp_id, frame names, one RLE per frame) items as the results JSON, in item order (compact JSON like
    `json.dump`); an item repeated for the same (video, exp_id) is an error."""
    doc: dict[str, dict[str, Any]] = {}
    for vid, eid, frames, rles in items:
        if len(frames) != len(rles):
            raise ValueError(f"{vid}/{eid}: {len(rles)} masks for {len(frames)} frames")
        if eid in doc.get(vid, {}):
            raise ValueError(f"{vid}/{eid}: written twice")
        doc.setdefault(vid, {})[str(eid)] = {"video_id": vid, "exp_id": str(eid), "frames": list(frames),
                                             "prediction_masks": list(rles)}
    path = Path(path)
    atomic_write_text(path, json.dumps(doc))
    return path


def write_rle_results(path: str | Path, items: Iterable[tuple[str, str, Sequence[str], Sequence[np.ndarray]]]) -> Path:
    """Write (video, exp_id, frame names, one mask per frame) items as Sa2VA's results JSON (atomic)."""
    return _write_doc(path, ((vid, eid, frames, [rle_encode(np.asarray(m) != 0) for m in masks])
                             for vid, eid, frames, masks in items))


class RleJsonWriter(Writer):
    """`results.json` of a run directory: parts keep each unit's RLEs, `finalize` writes the file in dataset
    order (the frames of each expression in its frame-list order)."""

    fmt = FORMAT
    file = RLE_FILE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._items: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}

    def add_frames(self, video: WriteVideo, units: Sequence[WriteUnit], outputs: Outputs) -> None:
        for e, frame, fo in self._frame_outputs(units, outputs):
            self._items.setdefault((video.id, e.id), []).append((frame, rle_encode(fo.mask)))
            self._score(video.id, e.id, frame, fo.score)

    def unit_part(self, unit: WriteUnit) -> dict[str, Any]:
        items = {e.id: self._items.pop((unit.video_id, e.id), []) for e in unit.expressions}
        return {**super().unit_part(unit), "rle": {
            eid: {"frames": [f for f, _ in v], "prediction_masks": [r for _, r in v]} for eid, v in items.items()}}

    def finalize(self, parts: list[dict[str, Any]]) -> None:
        _write_doc(self.out / RLE_FILE, ((part["video_id"], eid, item["frames"], item["prediction_masks"])
                                         for part in parts for eid in part["expressions"]
                                         if (item := part.get("rle", {}).get(eid)) is not None))


class RleResultsPredictions:
    """Reader of a results JSON: `frames(video, exp_id, frame_names)` -> 0/1 uint8 masks, one per listed frame
    position, or `MissingPrediction` saying what is absent (video, expression or frame)."""

    format = FORMAT

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DataFormatError(self.path, "results JSON not found")
        try:
            doc = json.loads(self.path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataFormatError(self.path, f"invalid JSON: {exc}") from exc
        if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
            raise DataFormatError(self.path, "top level must be {video: {exp_id: {prediction_masks: [...]}}}")
        self.doc: dict[str, dict[str, Any]] = doc

    def has_video(self, video_id: str) -> bool:
        return video_id in self.doc

    def masks(self, video_id: str, exp_id: str) -> list[dict]:
        if video_id not in self.doc:
            raise MissingPrediction("video", f"{self.path}: video {video_id!r} absent")
        entry = self.doc[video_id].get(exp_id)
        if entry is None:
            raise MissingPrediction("expression", f"{self.path}: {video_id}/{exp_id} absent")
        rles = entry.get("prediction_masks") if isinstance(entry, dict) else None
        if not isinstance(rles, list):
            raise DataFormatError(self.path, "no 'prediction_masks' list", f"{video_id}.{exp_id}")
        return rles

    def frames(self, video_id: str, exp_id: str, frames: Sequence[str], missing_ok: bool = False
               ) -> list[np.ndarray | None]:
        """One 0/1 mask per frame position; too few masks raise `MissingPrediction` (None with `missing_ok`)."""
        rles = self.masks(video_id, exp_id)
        if len(rles) < len(frames) and not missing_ok:
            raise MissingPrediction("frame", f"{self.path}: {video_id}/{exp_id} has {len(rles)} masks for "
                                             f"{len(frames)} frames")
        out: list[np.ndarray | None] = []
        for t in range(len(frames)):
            if t >= len(rles):
                out.append(None)
                continue
            try:
                out.append(rle_decode(rles[t]).view(np.uint8))
            except (KeyError, TypeError, ValueError) as exc:
                raise DataFormatError(self.path, f"undecodable RLE: {exc}", f"{video_id}.{exp_id}[{t}]") from exc
        return out


__all__ = ["FORMAT", "RLE_FILE", "RleJsonWriter", "RleResultsPredictions", "write_rle_results"]
