"""Refer-YouTube-VOS (Seo et al., ECCV'20, "URVOS") in its Codalab release layout.

```
ROOT/
  meta_expressions/{train,valid,test}/meta_expressions.json   {"videos": {vid: {"expressions": {k: {"exp"[, "obj_id"]}},
                                                                                 "frames": [...]}}}
  train/{JPEGImages,Annotations}/<vid>/<frame>.{jpg,png}        frames every ~5th original frame, names kept sparse
  train/meta.json                                               YouTube-VOS object metadata (category per object)
  valid/JPEGImages/<vid>/<frame>.jpg                            no public masks
  test/JPEGImages/<vid>/<frame>.jpg                             (test phase)
  [meta_expressions_valid.json | urvos_original_release/meta_expressions_valid.json]   optional URVOS release
```

Splits (see docs/datasets-ryvos-rdavis.md):

- `train`: the training meta, with `obj_id` = palette index in `train/Annotations`.
- `valid`: the 202 videos / 834 expressions everyone reports: competition valid meta minus test meta (MTTR,
  ReferFormer, SgMg and OnlineRefer all compute `set(valid) - set(test)`). Without a test meta, the packaged list of
  the 202 ids is used, when the valid meta holds all of them.
- `test`: the 305 videos of `meta_expressions/test`.
- `valid-competition`: the whole competition valid meta (507 videos = 202 valid + 305 test, 2,096 expressions).
- `train-heldout-v1` / `train-minus-heldout-v1`: lvsbench's offline proxy for local scoring (valid GT is not
  public): a train video is held out iff `sha256("lvsbench/ryvos/train-heldout-v1:" + vid)` read as a big-endian
  integer (first 8 bytes) is < 10 % of 2**64 modulo 1000, i.e. `% 1000 < 100`. The rule depends on the video id
  alone, so it is the same on every machine and for any subset of the train set.

Competition valid/test expressions have no `obj_id`. Their `object_ids` are empty ("unavailable"; `scorable` is
False) unless the original URVOS release (`meta_expressions_valid.json`, videos -> objects -> expressions) is given
or found: the competition expressions are that file's full-video expressions flattened in object order (verified
for all 2,096 strings), so expression k gets the obj_id and category of the object it came from. The texts are
compared and a mismatch is an error.

Frame names are the sparse 0-based original frame numbers ("00000", "00005", ...): frames, masks and predictions
are linked by name, never by position. Every sampled train frame is annotated, so train expressions are scored on
every frame of their video; valid/test expressions carry the whole frame list explicitly, since the server scores
every frame of `frames` (including leading frames where no object is annotated, as in 00f88c4f0a).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from lvsbench.core.codecs import read_palette_png
from lvsbench.core.errors import ConfigError, DataFormatError, Problem
from lvsbench.core.records import Expression, FrameSource, Video
from lvsbench.datasets import native
from lvsbench.datasets.base import Dataset

SPLITS: tuple[str, ...] = ("train", "valid", "test", "valid-competition", "train-heldout-v1",
                           "train-minus-heldout-v1")
DEFAULT_SPLIT = "valid"
HELDOUT_V1_SALT = "lvsbench/ryvos/train-heldout-v1"
HELDOUT_V1_PER_MILLE = 100
VALID_202_IDS_FILE = Path(__file__).resolve().parents[1] / "data" / "ryvos" / "valid_202_video_ids.txt"
URVOS_RELEASE_CANDIDATES = ("meta_expressions_valid.json", "urvos_original_release/meta_expressions_valid.json")

YTVOS_PALETTE: np.ndarray = np.array(
    [(0, 0, 0), (236, 95, 103), (249, 145, 87), (250, 200, 99), (153, 199, 148), (98, 179, 178), (102, 153, 204),
     (197, 148, 197), (171, 121, 103), (255, 255, 255), (101, 115, 126)] + [(i, i, i) for i in range(11, 256)],
    dtype=np.uint8,
)
"""Palette of the YouTube-VOS annotation PNGs (as in valid/Annotations/0a49f5265b/00000.png); indices are ids."""


def in_heldout_v1(video_id: str) -> bool:
    """Whether a train video belongs to `train-heldout-v1` (a pure function of the id; ~10 % of videos)."""
    digest = hashlib.sha256(f"{HELDOUT_V1_SALT}:{video_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 1000 < HELDOUT_V1_PER_MILLE


@dataclass(frozen=True)
class MetaVideo:
    """One video of a `meta_expressions.json`: frame names and expressions (id -> (text, obj_id or None))."""

    id: str
    frames: tuple[str, ...]
    expressions: tuple[tuple[str, str, int | None], ...]


def read_meta_expressions(path: Path, require_obj_id: bool) -> dict[str, MetaVideo]:
    """Read a competition `meta_expressions.json`; every structural problem names the file and the key."""
    out: dict[str, MetaVideo] = {}
    for vid, entry in native.meta_videos(path).items():
        key = f"videos.{vid}"
        frames = native.meta_frames(entry, path, key)
        exps = native.meta_expressions(entry, path, key)
        rows: list[tuple[str, str, int | None]] = []
        for eid, e in exps.items():
            ekey = f"{key}.expressions.{eid}"
            if not isinstance(e, dict) or not isinstance(e.get("exp"), str):
                raise DataFormatError(path, "expression has no 'exp' text", ekey)
            obj: int | None = None
            if "obj_id" in e:
                obj = native.meta_int(e["obj_id"], path, ekey, 1, 254, "obj_id")
            elif require_obj_id:
                raise DataFormatError(path, "expression has no 'obj_id'", ekey)
            rows.append((str(eid), e["exp"], obj))
        out[vid] = MetaVideo(vid, tuple(frames), tuple(rows))
    return out


@dataclass(frozen=True)
class UrvosObject:
    """An object of the original URVOS release: id, category, full-video and first-frame expressions, frames."""

    obj_id: int
    category: str
    expressions: tuple[str, ...]
    expressions_first_frame: tuple[str, ...]
    frames: tuple[str, ...]


def read_urvos_release(path: Path) -> dict[str, tuple[UrvosObject, ...]]:
    """Read the original URVOS release json (skynbe/Refer-Youtube-VOS): videos -> objects in file order."""
    out: dict[str, tuple[UrvosObject, ...]] = {}
    for vid, entry in native.meta_videos(path).items():
        key = f"videos.{vid}.objects"
        objs = entry.get("objects") if isinstance(entry, dict) else None
        if not isinstance(objs, dict):
            raise DataFormatError(path, "'objects' (an object) is missing", key)
        items = []
        for oid, o in objs.items():
            okey = f"{key}.{oid}"
            try:
                obj_id = int(oid)
            except ValueError as exc:
                raise DataFormatError(path, f"object id {oid!r} is not an integer", okey) from exc
            if not isinstance(o, dict):
                raise DataFormatError(path, "object entry is not an object", okey)
            lists = {}
            for name in ("expressions", "expressions_first_frame", "frames"):
                value = o.get(name, [])
                if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
                    raise DataFormatError(path, f"'{name}' must be a list of strings", f"{okey}.{name}")
                lists[name] = tuple(value)
            items.append(UrvosObject(obj_id, str(o.get("category", "")), lists["expressions"],
                                     lists["expressions_first_frame"], lists["frames"]))
        out[vid] = tuple(items)
    return out


def _read_id_list(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


class RYVOSDataset(Dataset):
    """A split of Refer-YouTube-VOS read from the release layout (metadata-only when frames/masks are absent).

    Options: `urvos_release` (path of the original release json; default: looked up under the root; "none" turns
    it off) attaches obj_ids and categories to valid/test expressions; `first_frame_expressions` (bool) adds the
    release's first-frame expressions with ids "ff<k>" (k counts them in object order).
    """

    name = "ryvos"
    splits = SPLITS
    default_split = DEFAULT_SPLIT

    def __init__(self, root: str | Path, split: str | None = None, *, urvos_release: str | Path | None = None,
                 first_frame_expressions: bool | str = False) -> None:
        self.split = native.choose_split("ryvos", split, SPLITS, DEFAULT_SPLIT)
        self.root = native.open_root("ryvos", root)
        self.notes: list[str] = []
        self.first_frame_expressions = str(first_frame_expressions).lower() in ("1", "true", "yes")
        self._urvos_option = urvos_release
        self.has_ground_truth = self.split.startswith("train")
        meta = self._load_split_meta()
        self._meta = meta
        self._urvos = self._load_urvos() if not self.has_ground_truth else None
        if self.first_frame_expressions and self._urvos is None:
            raise ConfigError("ryvos: first_frame_expressions needs the original URVOS release (urvos_release=PATH)")

    # ------------------------------------------------------------------ metadata

    def meta_path(self, split: str) -> Path:
        return self.root / "meta_expressions" / split / "meta_expressions.json"

    @cached_property
    def _split_dirs(self) -> dict[str, Path]:
        """Folder (train/valid/test) holding each video's frames: valid/test videos may sit in either."""
        out = {}
        for vid in self._meta:
            if self.has_ground_truth:
                out[vid] = self.root / "train"
                continue
            found = [self.root / d for d in ("valid", "test") if (self.root / d / "JPEGImages" / vid).is_dir()]
            out[vid] = found[0] if found else self.root / ("test" if self.split == "test" else "valid")
        return out

    def _split_dir_of(self, vid: str) -> Path:
        return self._split_dirs[vid]

    def _load_split_meta(self) -> dict[str, MetaVideo]:
        if self.has_ground_truth:
            meta = read_meta_expressions(self.meta_path("train"), require_obj_id=True)
            if self.split == "train-heldout-v1":
                meta = {v: m for v, m in meta.items() if in_heldout_v1(v)}
            elif self.split == "train-minus-heldout-v1":
                meta = {v: m for v, m in meta.items() if not in_heldout_v1(v)}
            return meta
        if self.split == "test":
            return read_meta_expressions(self.meta_path("test"), require_obj_id=False)
        meta = read_meta_expressions(self.meta_path("valid"), require_obj_id=False)
        if self.split == "valid-competition":
            return meta
        test_path = self.meta_path("test")
        if test_path.is_file():
            test = read_meta_expressions(test_path, require_obj_id=False)
            return {v: m for v, m in meta.items() if v not in test}
        ids = _read_id_list(VALID_202_IDS_FILE)
        if not all(v in meta for v in ids):
            raise DataFormatError(test_path, "missing: needed to compute the 'valid' split (valid minus test)")
        self.notes.append(f"{test_path} missing: used the packaged list of the 202 valid video ids")
        keep = set(ids)
        return {v: m for v, m in meta.items() if v in keep}

    def _load_urvos(self) -> dict[str, tuple[UrvosObject, ...]] | None:
        opt = self._urvos_option
        if isinstance(opt, str) and opt.lower() in ("none", "off", "false", ""):
            return None
        if opt is not None:
            path = Path(opt)
            if not path.is_file():
                raise ConfigError(f"ryvos: urvos_release {path} is not a file")
        else:
            path = next((self.root / c for c in URVOS_RELEASE_CANDIDATES if (self.root / c).is_file()), None)
            if path is None:
                return None
        release = read_urvos_release(path)
        for vid, mv in self._meta.items():
            objs = release.get(vid)
            if objs is None:
                raise DataFormatError(path, f"video {vid} of the {self.split} meta is absent", f"videos.{vid}")
            flat = [t for o in objs for t in o.expressions]
            texts = [t for _, t, _ in sorted(mv.expressions, key=lambda r: _int_key(r[0]))]
            if flat != texts:
                raise DataFormatError(path, "full-video expressions in object order differ from the competition "
                                            "meta_expressions", f"videos.{vid}")
        return release

    @cached_property
    def _categories(self) -> dict[str, dict[int, str]]:
        out: dict[str, dict[int, str]] = {}
        if self._urvos is not None:
            for vid in self._meta:
                out[vid] = {o.obj_id: o.category for o in self._urvos[vid]}
        meta_json = (self.root / ("train" if self.has_ground_truth else "valid")) / "meta.json"
        if meta_json.is_file():
            videos = native.meta_videos(meta_json)
            for vid in self._meta:
                objs = videos.get(vid, {}).get("objects", {}) if isinstance(videos.get(vid), dict) else {}
                for oid, o in objs.items():
                    try:
                        out.setdefault(vid, {})[int(oid)] = str(o.get("category", ""))
                    except (ValueError, AttributeError) as exc:
                        raise DataFormatError(meta_json, f"bad object entry {oid!r}",
                                              f"videos.{vid}.objects.{oid}") from exc
        return out

    def object_categories(self, video_id: str) -> dict[int, str]:
        return dict(self._categories.get(video_id, {}))

    @cached_property
    def _videos(self) -> dict[str, Video]:
        out = {}
        for vid, mv in self._meta.items():
            img_dir = self._split_dir_of(vid) / "JPEGImages" / vid
            h, w = native.probe_size(img_dir / f"{f}.jpg" for f in mv.frames)
            out[vid] = Video(vid, mv.frames, h, w, FrameSource("images", img_dir, "{name}.jpg"))
        return out

    @cached_property
    def _expressions(self) -> list[Expression]:
        out = []
        for vid, mv in self._meta.items():
            frames = () if self.has_ground_truth else mv.frames
            flat: list[int] = []
            if self._urvos is not None:
                flat = [o.obj_id for o in self._urvos[vid] for _ in o.expressions]
            ordered = sorted(mv.expressions, key=lambda r: _int_key(r[0]))
            for k, (eid, text, obj) in enumerate(ordered):
                if obj is None and flat:
                    obj = flat[k]
                ids = () if obj is None else (obj,)
                out.append(Expression(eid, vid, text, ids, frames))
            if self.first_frame_expressions and self._urvos is not None:
                k = 0
                for o in self._urvos[vid]:
                    for text in o.expressions_first_frame:
                        out.append(Expression(f"ff{k}", vid, text, (o.obj_id,), frames))
                        k += 1
        return out

    @property
    def scorable(self) -> bool:
        """True when every expression has its object id(s) (train splits, or valid/test with the URVOS release)."""
        return all(e.object_ids for e in self.expressions())

    # ------------------------------------------------------------------ pixels

    def frame_path(self, video_id: str, frame: str) -> Path:
        return self._split_dir_of(video_id) / "JPEGImages" / video_id / f"{frame}.jpg"

    def annotation_path(self, video_id: str, frame: str) -> Path:
        return self._split_dir_of(video_id) / "Annotations" / video_id / f"{frame}.png"

    def read_frame(self, video_id: str, frame: str) -> np.ndarray:
        return native.read_listed_frame(self.frame_path(video_id, frame), video_id, frame)

    @cached_property
    def _annotated(self) -> dict[str, tuple[str, ...]]:
        out = {}
        for vid, video in self._videos.items():
            if self.has_ground_truth:
                out[vid] = video.frames
                continue
            d = self._split_dir_of(vid) / "Annotations" / vid
            present = {p.stem for p in d.glob("*.png")} if d.is_dir() else set()
            out[vid] = tuple(f for f in video.frames if f in present)
        return out

    def annotated_frames(self, video_id: str) -> tuple[str, ...]:
        return self._annotated[video_id]

    def read_labels(self, video_id: str, frame: str) -> np.ndarray | None:
        p = self.annotation_path(video_id, frame)
        if not p.is_file():
            if self.has_ground_truth and frame in self._videos[video_id].frames:
                raise DataFormatError(p, "annotation of a train frame is missing", f"{video_id}/{frame}")
            return None
        return read_palette_png(p)

    def missing(self) -> list[Problem]:
        out = []
        if self.has_ground_truth:
            for rel in ("train/JPEGImages", "train/Annotations", "train/meta.json"):
                if not (self.root / rel).exists():
                    out.append(Problem(str(self.root / rel), "missing"))
        else:
            dirs = {self._split_dir_of(v) / "JPEGImages" for v in self._meta}
            out += [Problem(str(d), "missing") for d in sorted(dirs) if not d.is_dir()]
            if self.split == "valid" and not self.meta_path("test").is_file():
                out.append(Problem(str(self.meta_path("test")), "missing (the packaged 202-id list was used)"))
        return out


def _int_key(eid: str) -> tuple[int, int | str]:
    return (0, int(eid)) if eid.isdigit() else (1, eid)


__all__ = ["DEFAULT_SPLIT", "HELDOUT_V1_PER_MILLE", "HELDOUT_V1_SALT", "MetaVideo", "RYVOSDataset", "SPLITS",
           "URVOS_RELEASE_CANDIDATES", "UrvosObject", "VALID_202_IDS_FILE", "YTVOS_PALETTE", "in_heldout_v1",
           "read_meta_expressions", "read_urvos_release"]
