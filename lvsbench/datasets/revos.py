"""ReVOS (Yan et al., "VISA", ECCV 2024) in its release layout (cilinyan/ReVOS-api @ 2633da9 `README.md`).

```
ROOT/JPEGImages/<video>/<frame>.jpg           train and valid videos together
ROOT/mask_dict.json                           {<anno_id>: [COCO RLE | null per frame]}       (train and valid)
ROOT/mask_dict_foreground.json                {<video>: {"masks_rle": [RLE per frame], "foreground_ratio": [...]}}
ROOT/meta_expressions_{train,train_sub,valid}_.json
    as MeViS, plus per video "height", "width" and per expression "type_id": 0 referring, 1 reasoning, 2 no-target
```

The foreground of a frame is the union of every object referred to by any expression of its video (VISA
`tools/generate_foreground_mask.py` @ ec158fd); it is the denominator of the robustness score R. Both splits have
public masks; there is no server. Everything else (per-object masks, uint8 target sums, no-target expressions) is
`lvsbench.datasets.mevis.MaskDictDataset`.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lvsbench.core.codecs import rle_decode
from lvsbench.core.errors import DataFormatError, Problem
from lvsbench.core.textfiles import load_json
from lvsbench.datasets.mevis import MaskDictDataset
from lvsbench.datasets.native import choose_split

if TYPE_CHECKING:
    import pandas as pd

SPLITS: tuple[str, ...] = ("valid", "train", "train_sub")
DEFAULT_SPLIT = "valid"
TYPE_NAMES: dict[int, str] = {0: "referring", 1: "reasoning", 2: "no-target"}


class ReVOSDataset(MaskDictDataset):
    """A split of ReVOS; metadata-only when frames and masks are absent. Option `no_target` as MeViS."""

    name = "revos"
    splits = SPLITS
    default_split = DEFAULT_SPLIT
    types = TYPE_NAMES
    sized = True

    def __init__(self, root: str | Path, split: str | None = None, *, no_target: str = "keep") -> None:
        super().__init__(root, choose_split("revos", split, SPLITS, DEFAULT_SPLIT), no_target=no_target)

    @property
    def meta_path(self) -> Path:
        return self.root / f"meta_expressions_{self.split}_.json"

    @property
    def mask_dict_path(self) -> Path:
        return self.root / "mask_dict.json"

    @property
    def foreground_path(self) -> Path:
        return self.root / "mask_dict_foreground.json"

    def frames_dir(self, video_id: str) -> Path:
        return self.root / "JPEGImages" / video_id

    def expressions_frame(self) -> pd.DataFrame:
        df = super().expressions_frame()
        df["type_id"] = [self.type_id(e) for e in self.expressions()]
        df["type"] = [TYPE_NAMES[t] for t in df["type_id"]]
        return df

    def counts(self) -> dict[str, int]:
        out = super().counts()
        for t, name in TYPE_NAMES.items():
            if t == 2:  # counted as no_target_expressions
                continue
            out[f"{name}_expressions"] = sum(1 for e in self.expressions() if self.type_id(e) == t)
        return out

    @cached_property
    def foreground(self) -> dict[str, Any]:
        """`mask_dict_foreground.json` (loaded once, on first use)."""
        doc = load_json(self.foreground_path)
        if not isinstance(doc, dict):
            raise DataFormatError(self.foreground_path, "top level must be an object video -> {masks_rle, ...}")
        return doc

    def read_foreground(self, video_id: str, frame: str) -> np.ndarray:
        """uint8 foreground of a frame as VISA's evaluator reads it (a 3-D decode is summed over its last axis)."""
        t = self._frame_index(video_id, frame)
        entry = self.foreground.get(video_id)
        rles = entry.get("masks_rle") if isinstance(entry, dict) else None
        if not isinstance(rles, list) or t >= len(rles):
            raise DataFormatError(self.foreground_path, f"no foreground RLE for frame {t}", f"{video_id}.masks_rle")
        try:
            m = rle_decode(rles[t])
        except ValueError as exc:  # not an RLE, bad size or counts
            raise DataFormatError(self.foreground_path, f"invalid RLE: {exc}", f"{video_id}.masks_rle[{t}]") from exc
        video = self.videos()[video_id]
        if m.shape[:2] != (video.height, video.width):
            raise DataFormatError(self.foreground_path, f"foreground size {m.shape[:2]} != frame size "
                                  f"{(video.height, video.width)}", f"{video_id}.masks_rle[{t}]")
        return m.sum(axis=2).astype(np.uint8) if m.ndim == 3 else m.view(np.uint8)

    def expected_foreground(self, video_id: str, frame: str) -> np.ndarray:
        """The foreground `generate_foreground_mask.py` would write: OR of every object of the video's expressions."""
        masks = self.read_object_masks(video_id, frame)
        video = self.videos()[video_id]
        out = np.zeros((video.height, video.width), dtype=bool)
        for m in masks.values():
            out |= m
        return out.view(np.uint8)

    def missing(self) -> list[Problem]:
        out = super().missing()
        if not self.foreground_path.is_file():
            out.append(Problem(str(self.foreground_path), "missing (needed for the robustness score R)"))
        return out

    def check(self, progress: bool = False) -> list[Problem]:
        problems = super().check(progress)
        if self.has_masks() and self.foreground_path.is_file():
            for vid, video in self.videos().items():
                for f in video.frames:
                    try:
                        if not np.array_equal(self.read_foreground(vid, f), self.expected_foreground(vid, f)):
                            problems.append(Problem(f"{self.foreground_path}:{vid}/{f}", "foreground differs from "
                                                    "the union of the video's referred objects"))
                    except DataFormatError as exc:
                        problems.append(Problem(f"{vid}/{f}", str(exc)))
        return problems


__all__ = ["DEFAULT_SPLIT", "ReVOSDataset", "SPLITS", "TYPE_NAMES"]
