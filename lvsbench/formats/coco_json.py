"""`coco-json`: a COCO *results* list `{image_id, category_id: 1, segmentation: RLE, score}`, several candidates per
frame (optionally wrapped as `{"annotations": [...]}`). A2D-/J-HMDB-Sentences (MTTR `trainer.py`, ReferFormer
`engine.py`); `lvsbench run` writes every candidate of every scored frame to `coco_results.json`. Image ids follow
the protocol's `image_id` rule. Reader and writer side by side.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench.core.codecs import rle_decode, rle_encode, rle_problems
from lvsbench.core.errors import ConfigError, DataFormatError
from lvsbench.core.ids import check_id
from lvsbench.core.io import atomic_write_text
from lvsbench.core.records import Expression
from lvsbench.core.textfiles import load_json
from lvsbench.formats.base import Inventory, Outputs, Predictions, Writer, WriteUnit, WriteVideo
from lvsbench.protocols import Protocol

COCO_RESULTS_NAME = "coco_results.json"
"""File name of COCO results inside an `lvsbench run` output folder (the folder itself can be scored)."""


# ============================================================================ ids


def _frame_index(frame: str | int) -> str:
    """MTTR writes the frame number as an unpadded integer (`00012` -> `12`); other names stay as they are."""
    s = str(frame)
    return str(int(s)) if s.isdigit() else s


def a2d_image_id(video_id: str, frame: str | int, object_id: int) -> str:
    """COCO image id of an A2D-Sentences sample, `v_<vid>_f_<frame number>_i_<instance>` (MTTR
    `create_gt_in_coco_format.py`, frame unpadded); lvsbench object ids are A2D instance ids + 1."""
    return f"v_{video_id}_f_{_frame_index(frame)}_i_{int(object_id) - 1}"


def jhmdb_image_id(video_id: str, frame: str | int) -> str:
    """COCO image id of a J-HMDB-Sentences sample, `v_<vid>_f_<frame number>` (unpadded, 1-based)."""
    return f"v_{video_id}_f_{_frame_index(frame)}"


def coco_image_id(protocol: Protocol, expression: Expression, frame: str) -> str:
    """COCO image id of an expression's frame under the protocol's `image_id` rule."""
    if protocol.image_id == "jhmdb-frame":
        return jhmdb_image_id(expression.video_id, frame)
    if protocol.image_id != "a2d-instance":
        raise ConfigError(f"protocol {protocol.name} is not scored on COCO image ids")
    if len(expression.object_ids) != 1:
        raise ConfigError(f"expression {expression.video_id}/{expression.id}: A2D COCO ids need exactly one "
                          f"object, got {expression.object_ids}")
    return a2d_image_id(expression.video_id, frame, expression.object_ids[0])


# ============================================================================ writer


def coco_result(image_id: str, mask: np.ndarray, score: float) -> dict[str, Any]:
    """One COCO results entry as MTTR / ReferFormer emit it: `category_id` 1, compressed RLE with str counts."""
    return {"image_id": image_id, "category_id": 1, "segmentation": rle_encode(np.asarray(mask) != 0),
            "score": float(score)}


def write_coco_results(path: str | Path, results: Iterable[dict[str, Any]]) -> Path:
    """Write a COCO results list (JSON array), atomically."""
    items = list(results)
    for i, r in enumerate(items):
        if not {"image_id", "segmentation", "score"} <= set(r):
            raise ValueError(f"result {i} lacks image_id/segmentation/score")
    atomic_write_text(path, json.dumps(items, separators=(",", ":")) + "\n")
    return Path(path)


class CocoWriter(Writer):
    """COCO results: every candidate of every scored frame, with its score (A2D / J-HMDB)."""

    fmt = "coco-json"
    file = COCO_RESULTS_NAME
    want_candidates = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._results: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def add_frames(self, video: WriteVideo, units: Sequence[WriteUnit], outputs: Outputs) -> None:
        for e, frame, fo in self._frame_outputs(units, outputs):
            image_id = coco_image_id(self.protocol, e, frame)
            res = self._results.setdefault((video.id, e.id), [])
            if fo.candidates:
                res.extend(coco_result(image_id, m, s) for m, s in fo.candidates)
            else:
                res.append(coco_result(image_id, fo.mask, fo.score))
            self._score(video.id, e.id, frame, fo.score)

    def unit_part(self, unit: WriteUnit) -> dict[str, Any]:
        return {**super().unit_part(unit),
                "coco": {e.id: self._results.pop((unit.video_id, e.id), []) for e in unit.expressions}}

    def finalize(self, parts: list[dict[str, Any]]) -> None:
        results: list[dict[str, Any]] = []
        for part in parts:
            for eid in part["expressions"]:
                results.extend(part.get("coco", {}).get(eid, []))
        write_coco_results(self.out / COCO_RESULTS_NAME, results)


# ============================================================================ reader


class CocoPredictions(Predictions):
    """COCO results JSON: a list of `{image_id, segmentation (RLE), score}` (or `{"annotations": [...]}`).

    Candidates keep their listed order, which matters: COCOeval breaks score ties by first listed, MTTR's top-1 by
    last listed. RLEs are decoded on demand."""

    format = "coco-json"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():  # an `lvsbench run` output folder holds its COCO results under a fixed name
            self.path = self.path / COCO_RESULTS_NAME
        data = load_json(self.path, "COCO results")
        if isinstance(data, dict):
            if not isinstance(data.get("annotations"), list):
                raise DataFormatError(self.path, "expected a JSON list of results or an object with 'annotations'")
            data = data["annotations"]
        if not isinstance(data, list):
            raise DataFormatError(self.path, "expected a JSON list of COCO results")
        self._by_image: dict[str, list[tuple[dict[str, Any], float]]] = {}
        rle_verdicts = rle_problems([r.get("segmentation") if isinstance(r, dict) else None for r in data])
        for i, r in enumerate(data):
            where = f"result [{i}]"
            if not isinstance(r, dict):
                raise DataFormatError(self.path, "not an object", where)
            for key in ("image_id", "segmentation", "score"):
                if key not in r:
                    raise DataFormatError(self.path, f"missing '{key}'", where)
            image_id = r["image_id"]
            if isinstance(image_id, bool) or not isinstance(image_id, int | str):
                raise DataFormatError(self.path, f"image_id {image_id!r} is not a string or an integer", where)
            if isinstance(image_id, str):
                check_id(image_id, "image_id", self.path, where)
            seg = r["segmentation"]
            problem = rle_verdicts[i]
            if problem is not None:
                raise DataFormatError(self.path, problem, f"{where} image_id {image_id}")
            score = r["score"]
            if isinstance(score, bool) or not isinstance(score, int | float) or not np.isfinite(score):
                raise DataFormatError(self.path, f"score {score!r} is not a finite number", where)
            self._by_image.setdefault(str(image_id), []).append((seg, float(score)))
        self._n = len(data)

    def __len__(self) -> int:
        return self._n

    def image_ids(self) -> list[str]:
        return list(self._by_image)

    def inventory(self) -> Inventory:
        inv = Inventory(self.format)
        inv.candidates = {k: len(v) for k, v in self._by_image.items()}
        return inv

    def describe(self, *key: Any) -> str:
        return f"{self.path} [image_id {key[0]}]" if key else str(self.path)

    def rles(self, image_id: str) -> list[tuple[dict[str, Any], float]]:
        """Raw (RLE, score) candidates of an image in listed order."""
        return list(self._by_image.get(image_id, []))

    def candidates(self, image_id: str) -> list[tuple[np.ndarray, float]]:
        out = []
        for j, (seg, score) in enumerate(self._by_image.get(image_id, [])):
            try:
                out.append((rle_decode(seg), score))
            except ValueError as exc:  # rle_problem's rule (checked again: a result may be built in memory)
                raise DataFormatError(self.path, f"RLE does not decode: {exc}",
                                      f"image_id {image_id} candidate {j}") from exc
        return out


__all__ = [
    "COCO_RESULTS_NAME",
    "CocoPredictions",
    "CocoWriter",
    "a2d_image_id",
    "coco_image_id",
    "coco_result",
    "jhmdb_image_id",
    "write_coco_results",
]
