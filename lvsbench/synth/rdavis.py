"""A small synthetic Refer-DAVIS17 in the native DAVIS-2017 + davis_text_annotations layout.

```
OUT/DAVIS/JPEGImages/480p/<seq>/<t:05d>.jpg                  every frame, 0-based
OUT/DAVIS/Annotations/480p/<seq>/<t:05d>.png                 palette PNGs (DAVIS palette), ids 1..N
OUT/DAVIS/Annotations_unsupervised/480p/<seq>/<t:05d>.png    same objects (the synthetic scenes have no grouping
                                                              ambiguity, so both annotation sets agree)
OUT/DAVIS/ImageSets/2017/{train,val}.txt                     sorted names, LF, trailing newline
OUT/DAVIS/davis_semantics.json                               {seq: {"1": category}}
OUT/davis_text_annotations/Davis17_annot{1,2}[_full_video].txt
```

The four text files are line-aligned over all sequences (train and val, sorted) and objects, with lines
`<video> <obj_id> "<expression>"`. First-frame files describe appearance and position only; full-video files may
use motion. annot2 files are latin-1 and contain non-ASCII bytes; some lines have runs of spaces (which the
reader collapses); and the release's misspelled names occur (`clasic-car`, `dog-scale`, `motor-bike`), which the
reader maps back. The folder name says 480p whatever the synthetic frame size is, as in the release.

Everything is a pure function of (videos, seed, sizes): `plan(...)` returns the ground truth the writer writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lvsbench.core.codecs import DAVIS_PALETTE, encode_jpeg, encode_palette_png
from lvsbench.core.io import atomic_dir, atomic_write_bytes, atomic_write_text
from lvsbench.datasets.rdavis import TEXT_FILES
from lvsbench.synth.scene import SceneVideo, describe, render_video

NAMES: tuple[str, ...] = (
    "classic-car", "dogs-scale", "motorbike", "bear", "blackswan", "bmx-trees", "breakdance", "camel", "car-shadow",
    "cows", "dance-twirl", "dog", "drift-chicane", "goat", "horsejump-high", "kite-surf", "libby", "parkour",
    "scooter-black", "soapbox",
)
"""Sequence names (DAVIS-2017 names); beyond these, "-2", "-3", ... suffixes."""
MISSPELLED: dict[str, tuple[str, tuple[int, ...]]] = {
    "classic-car": ("clasic-car", (0, 1)),
    "dogs-scale": ("dog-scale", (2, 3)),
    "motorbike": ("motor-bike", (0, 1, 2, 3)),
}
"""How the text files misspell a sequence name, and in which of the four files (annotator settings)."""
CATEGORY = {"adult": "person", "baby": "person"}


@dataclass(frozen=True)
class SynthDAVISVideo:
    """One planned sequence: name, split, scene, and per (obj_id, annotator) the written and the parsed text."""

    name: str
    split: str
    scene: SceneVideo
    written: dict[tuple[int, int], str] = field(default_factory=dict)

    @property
    def frame_names(self) -> tuple[str, ...]:
        return tuple(f"{t:05d}" for t in range(self.scene.num_frames))

    def expected_text(self, obj_id: int, annotator: int) -> str:
        """The text a reader must return: ReferFormer's parse collapses whitespace runs."""
        return " ".join(self.written[obj_id, annotator].split())

    def category(self, obj_id: int) -> str:
        cls = self.scene.actor(obj_id).cls
        return CATEGORY.get(cls, cls)


def _accent(text: str) -> str:
    """Put a latin-1 letter in an annot2 text (the release's annot2 files are latin-1, not UTF-8)."""
    i = text.find("e", 1)
    return text if i < 0 else text[:i] + "\u00e9" + text[i + 1:]


def plan(videos: int = 12, seed: int = 0, height: int = 64, width: int = 112,
         frames: int = 6) -> list[SynthDAVISVideo]:
    """The synthetic dataset as data: every third sequence is in val (the first one included), the rest in train."""
    if videos < 1:
        raise ValueError("need at least one video")
    rng = np.random.default_rng([seed, 0x44415649])
    out = []
    for i in range(videos):
        name = NAMES[i % len(NAMES)] + (f"-{i // len(NAMES) + 1}" if i >= len(NAMES) else "")
        split = "val" if i % 3 == 0 else "train"
        scene = render_video(rng, name, frames, height, width, similar=None)
        written: dict[tuple[int, int], str] = {}
        for a in scene.actors:
            for anno in range(len(TEXT_FILES)):
                first_frame = anno in (0, 2)
                text = describe(rng, scene.actors, a.object_id, use_motion=not first_frame)
                if anno >= 2 and a.object_id == 1:
                    text = _accent(text)
                if anno == 1 and a.object_id == 2:
                    text = text.replace(" ", "  ", 1)
                written[a.object_id, anno] = text
        out.append(SynthDAVISVideo(name, split, scene, written))
    return out


def write_davis_tree(davis: Path, seqs: list[SynthDAVISVideo], annotation_dirs: tuple[str, ...],
                     labels: list[list[np.ndarray]], years: tuple[str, ...] = ("2017",)) -> None:
    """JPEGImages/480p, the palette PNGs `labels[k]` of `seqs[k]` in each of `annotation_dirs`/480p, and
    ImageSets/<year>/{train,val}.txt (2017: every sequence of the split; 2016: every other one)."""
    for v, labs in zip(seqs, labels, strict=True):
        for t, (name, lab) in enumerate(zip(v.frame_names, labs, strict=True)):
            atomic_write_bytes(davis / "JPEGImages" / "480p" / v.name / f"{name}.jpg",
                               encode_jpeg(v.scene.frames[t], quality=90))
            png = encode_palette_png(lab, DAVIS_PALETTE)
            for ann in annotation_dirs:
                atomic_write_bytes(davis / ann / "480p" / v.name / f"{name}.png", png)
    for split in ("train", "val"):
        names = [v.name for v in seqs if v.split == split]
        for year in years:
            listed = names if year == "2017" else names[::2]
            atomic_write_text(davis / "ImageSets" / year / f"{split}.txt", "".join(f"{n}\n" for n in listed))


def write_synthetic(out: str | Path, *, videos: int = 12, seed: int = 0, force: bool = False, height: int = 64,
                    width: int = 112, frames: int = 6) -> Path:
    """Write the dataset of `plan(videos, seed, height, width, frames)` under `out` (atomically) and return it."""
    out = Path(out)
    seqs = sorted(plan(videos, seed, height, width, frames), key=lambda v: v.name)
    with atomic_dir(out, force=force) as tmp:
        davis = tmp / "DAVIS"
        write_davis_tree(davis, seqs, ("Annotations", "Annotations_unsupervised"), [v.scene.labels for v in seqs])
        semantics = {v.name: {str(a.object_id): v.category(a.object_id) for a in v.scene.actors} for v in seqs}
        atomic_write_text(davis / "davis_semantics.json", json.dumps(semantics))
        for anno, (fname, encoding) in enumerate(TEXT_FILES):
            lines = []
            for v in seqs:
                written_name, files = MISSPELLED.get(v.name, (v.name, ()))
                shown = written_name if anno in files else v.name
                for a in sorted(v.scene.actors, key=lambda x: x.object_id):
                    lines.append(f'{shown} {a.object_id} "{v.written[a.object_id, anno]}"\n')
            atomic_write_bytes(tmp / "davis_text_annotations" / fname, "".join(lines).encode(encoding))
    return out


__all__ = ["CATEGORY", "MISSPELLED", "NAMES", "SynthDAVISVideo", "plan", "write_davis_tree", "write_synthetic"]
