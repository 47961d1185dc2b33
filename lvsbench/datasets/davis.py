"""DAVIS 2016 / 2017 semi-supervised video object segmentation (Perazzi et al. CVPR'16; Pont-Tuset et al.
arXiv:1704.00675) on the official release layout, as davis2017-evaluation @ac7c43f (`davis2017/davis.py`) reads it.

```
ROOT/                                       (or ROOT/DAVIS)
  JPEGImages/480p/<seq>/<t:05d>.jpg         every frame, 0-based
  Annotations/480p/<seq>/<t:05d>.png        palette PNGs: 0 background, ids 1..N, 255 void   (annotations="semi")
  Annotations_unsupervised/480p/...         DAVIS-2017 unsupervised masks (annotations="unsupervised")
  ImageSets/2017/{train,val}.txt            sequence names (60 / 30); ImageSets/2016/{train,val}.txt (30 / 20)
  davis_semantics.json                      optional: {seq: {"1": category, ...}}
```

Only the evaluated split's ImageSet is required. The dataset has videos and objects but no expressions; it is
scored by the DAVIS protocols (`davis-semi` by default: first and last frames dropped, objects 1..max id of the
first frame, ids aligned). `year=2016` reads `ImageSets/2016` and scores one object per sequence, the union of
every non-zero label (DAVIS-2016 is single-object; its own release stores 0/255 masks, where 255 is the object).

`RDAVISDataset` (Refer-DAVIS17) extends this reader with the referring expressions.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import numpy as np

from lvsbench.core.codecs import read_image_rgb, read_palette_png
from lvsbench.core.errors import ConfigError, DataFormatError, Problem, unknown_name
from lvsbench.core.ids import check_id
from lvsbench.core.records import Expression, FrameSource, Video
from lvsbench.core.textfiles import read_text
from lvsbench.datasets.base import Dataset
from lvsbench.datasets.native import open_root, probe_size

SPLITS: tuple[str, ...] = ("train", "val")
SPLIT_ALIASES = {"valid": "val", "validation": "val"}
DEFAULT_SPLIT = "val"
YEARS: tuple[str, ...] = ("2017", "2016")
RESOLUTIONS: tuple[str, ...] = ("480p", "Full-Resolution")
ANNOTATION_DIRS = {"semi": "Annotations", "unsupervised": "Annotations_unsupervised"}
"""Annotation set -> folder, as davis2017-evaluation's `DAVIS(task=...)` picks it."""


def read_image_set(path: Path) -> list[str]:
    """Sequence names of an ImageSets list (one per line, as davis2017's `readlines` + `strip`)."""
    if not path.exists():
        raise DataFormatError(path, "missing: the split's sequence list")
    names = [line.strip() for line in read_text(path, "sequence list").split("\n") if line.strip()]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise DataFormatError(path, f"duplicate sequence names: {', '.join(dup[:5])}")
    for n, name in enumerate(names, 1):
        check_id(name, "sequence name", path, f"entry {n}")
    return names


def davis_folder(root: Path) -> Path:
    """The folder holding JPEGImages/Annotations/ImageSets: ROOT/DAVIS when it exists, else ROOT."""
    return root / "DAVIS" if (root / "DAVIS").is_dir() else root


def _split(name: str, split: str | None) -> str:
    split = split or DEFAULT_SPLIT
    out = SPLIT_ALIASES.get(split, split)
    if out not in SPLITS:
        raise ConfigError(f"{name}: {unknown_name('split', split, [*SPLITS, 'valid'])}")
    return out


class DAVISDataset(Dataset):
    """A split ("train" / "val") of DAVIS 2017 (or 2016) semi-supervised, read from the release layout.

    Options: `annotations` ("semi" = Annotations/, the default, or "unsupervised" = Annotations_unsupervised/),
    `year` (2017 or 2016), `resolution` ("480p" or "Full-Resolution"). `annotations_chosen` records whether the
    annotation set was given explicitly; if not, a scoring protocol defined on the other set selects it
    (`with_annotations`).
    """

    name = "davis"
    splits = SPLITS
    default_split = DEFAULT_SPLIT
    default_annotations = "semi"

    def __init__(self, root: str | Path, split: str | None = None, *, annotations: str | None = None,
                 year: int | str = 2017, resolution: str = "480p") -> None:
        self.root = open_root(self.name, root)
        self.split = _split(self.name, split)
        self.annotations_chosen = annotations is not None
        annotations = annotations or self.default_annotations
        if annotations not in ANNOTATION_DIRS:
            raise ConfigError(f"{self.name}: annotations must be one of {', '.join(ANNOTATION_DIRS)}, "
                              f"got {annotations!r}")
        self.annotations = annotations
        self.year = str(year)
        if self.year not in YEARS:
            raise ConfigError(f"{self.name}: year must be one of {', '.join(YEARS)}, got {year!r}")
        if resolution not in RESOLUTIONS:
            raise ConfigError(f"{self.name}: resolution must be one of {', '.join(RESOLUTIONS)}, got {resolution!r}")
        self.resolution = resolution
        self.davis = davis_folder(self.root)
        self.sequences = self._read_sequences()

    def _read_sequences(self) -> dict[str, list[str]]:
        """Sequence names per split; only the evaluated split's list is read (and required)."""
        return {self.split: read_image_set(self.davis / "ImageSets" / self.year / f"{self.split}.txt")}

    def with_annotations(self, annotations: str) -> DAVISDataset:
        """The same split read with another annotation set (what a protocol defined on that set scores)."""
        import copy

        if annotations not in ANNOTATION_DIRS:
            raise ConfigError(f"{self.name}: annotations must be one of {', '.join(ANNOTATION_DIRS)}")
        other = copy.copy(self)
        other.__dict__.pop("_videos", None)  # frame lists depend on the annotation folder
        other.annotations = annotations
        return other

    # ------------------------------------------------------------------ metadata

    @property
    def annotation_root(self) -> Path:
        return self.davis / ANNOTATION_DIRS[self.annotations] / self.resolution

    @property
    def image_root(self) -> Path:
        return self.davis / "JPEGImages" / self.resolution

    @cached_property
    def _videos(self) -> dict[str, Video]:
        out = {}
        for seq in self.sequences[self.split]:
            img_dir = self.image_root / seq
            # Frames = JPEGs and masks together, so that a frame missing from either is listed and reported.
            names = {p.stem for p in img_dir.glob("*.jpg")}
            names |= {p.stem for p in (self.annotation_root / seq).glob("*.png")}
            frames = tuple(sorted(names))
            h, w = probe_size(img_dir / f"{f}.jpg" for f in frames)
            out[seq] = Video(seq, frames, h, w, FrameSource("images", img_dir, "{name}.jpg"))
        return out

    def expressions(self) -> list[Expression]:
        """None: DAVIS objects are given by the first frame's mask, not by text."""
        return []

    def counts(self) -> dict[str, int]:
        vids = self.videos()
        return {"videos": len(vids), "frames": sum(v.num_frames for v in vids.values()),
                "annotated_frames": sum(len(self.annotated_frames(v)) for v in vids)}

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
        return self.image_root / video_id / f"{frame}.jpg"

    def annotation_path(self, video_id: str, frame: str) -> Path:
        return self.annotation_root / video_id / f"{frame}.png"

    def read_frame(self, video_id: str, frame: str) -> np.ndarray:
        p = self.frame_path(video_id, frame)
        if not p.is_file():
            raise DataFormatError(p, "frame missing", f"{video_id}/{frame}")
        return read_image_rgb(p)

    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        """Every frame: DAVIS train/val annotate all frames (both annotation sets)."""
        return self._videos[video_id].frames

    def read_labels(self, video_id: str, frame: str) -> np.ndarray | None:
        p = self.annotation_path(video_id, frame)
        if not p.is_file():
            raise DataFormatError(p, f"{self.annotations} annotation missing", f"{video_id}/{frame}")
        if self.year == "2016":
            return (read_palette_png(p, require_palette=False) > 0).astype(np.uint8)
        return read_palette_png(p)

    def missing(self) -> list[Problem]:
        return [Problem(str(d), "missing") for d in (self.image_root, self.annotation_root) if not d.is_dir()]


__all__ = ["ANNOTATION_DIRS", "DAVISDataset", "DEFAULT_SPLIT", "RESOLUTIONS", "SPLITS", "SPLIT_ALIASES", "YEARS",
           "davis_folder", "read_image_set"]
