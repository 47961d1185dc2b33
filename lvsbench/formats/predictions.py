"""Prediction formats: write, read and auto-detect the four ways RVOS models hand in masks.

- `png-tree`: `[Annotations/]<video>/<exp_id>/<frame>.png`, single channel, any non-zero pixel is foreground.
  Refer-YouTube-VOS submissions (ReferFormer `inference_ytvos.py`, MTTR), MeViS (no `Annotations/`).
- `png-zip`: the same inside a .zip (the CodaLab submission of Refer-YouTube-VOS and MeViS).
- `coco-json`: a COCO *results* list `{image_id, category_id: 1, segmentation: RLE, score}`, several candidates per
  frame (optionally wrapped as `{"annotations": [...]}`). A2D-/J-HMDB-Sentences (MTTR `trainer.py`, ReferFormer
  `engine.py`).
- `davis-anno`: `[valid/]anno_<k>/<seq>/<frame>.png` indexed PNGs, one label map per annotator run, or a single
  run's `<seq>/<frame>.png`. Ref-DAVIS17 (ReferFormer `inference_davis.py`), davis2017 results folders.

Readers only index files when opened; masks are decoded on demand so a scorer can stream frames. Every decode error
names the file (for zips: `archive.zip!member`). Writers are atomic (temp file + rename).
"""

from __future__ import annotations

import json
import os
import re
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench.core.codecs import (
    DAVIS_PALETTE,
    encode_binary_png,
    encode_palette_png,
    read_binary_png,
    read_palette_png,
    rle_decode,
    rle_encode,
    rle_problem,
)
from lvsbench.core.errors import DataFormatError, LvsbenchError, unknown_name
from lvsbench.core.ids import check_id, id_problem
from lvsbench.core.io import atomic_write_bytes, atomic_write_text, sha256_file, sha256_tree
from lvsbench.core.textfiles import load_json

FORMATS = ("png-tree", "png-zip", "coco-json", "davis-anno")
"""Names accepted by `--format` and returned by `detect_format`."""

ANNOTATIONS_PREFIX = "Annotations"
COCO_RESULTS_NAME = "coco_results.json"
RUN_RECORD_FILES = ("run.json", "run_log.jsonl", "score.json")
"""Files `lvsbench run` writes beside predictions that describe the run, not the predictions (score.json: the
results of `lvsbench run --score`)."""
"""File name of COCO results inside an `lvsbench run` output folder (the folder itself can be scored)."""
_ANNO_DIR = re.compile(r"^anno_(\d+)$")


def _read_file(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DataFormatError(path, f"cannot read: {exc}") from exc


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


# ============================================================================ writers


def png_prediction_path(root: str | Path, video_id: str, exp_id: str, frame: str) -> Path:
    return Path(root) / video_id / str(exp_id) / f"{frame}.png"


def write_png_prediction(root: str | Path, video_id: str, exp_id: str, frame: str, mask: np.ndarray) -> Path:
    """Write one binary mask as `<root>/<video>/<exp_id>/<frame>.png` (L mode, 0/255), atomically.

    This is the Refer-YouTube-VOS submission format (without the `Annotations/` prefix, which `lvsbench submit`
    adds) and MeViS' layout."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask for {video_id}/{exp_id}/{frame} must be 2-D, got shape {mask.shape}")
    path = png_prediction_path(root, video_id, exp_id, frame)
    atomic_write_bytes(path, encode_binary_png(mask))
    return path


def palette_prediction_path(root: str | Path, annotator: int | None, video_id: str, frame: str) -> Path:
    base = Path(root) if annotator is None else Path(root) / f"anno_{int(annotator)}"
    return base / video_id / f"{frame}.png"


def write_palette_prediction(root: str | Path, annotator: int | None, video_id: str, frame: str,
                             label_map: np.ndarray, palette: np.ndarray = DAVIS_PALETTE) -> Path:
    """Write one label map as `<root>/anno_<annotator>/<video>/<frame>.png`, an indexed PNG with the DAVIS palette
    (ReferFormer `inference_davis.py` layout). `annotator=None` writes a single run `<root>/<video>/<frame>.png`
    (davis2017 results folder)."""
    lab = np.asarray(label_map)
    if lab.ndim != 2:
        raise ValueError(f"label map for {video_id}/{frame} must be 2-D, got shape {lab.shape}")
    path = palette_prediction_path(root, annotator, video_id, frame)
    atomic_write_bytes(path, encode_palette_png(lab, palette))
    return path


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


# ============================================================================ detection


def detect_format(path: str | Path) -> str:
    """Guess the prediction format of a file or directory (one of `FORMATS`).

    A .zip is `png-zip`, a .json `coco-json`; a directory holding `anno_<k>/` folders (possibly under `valid/`)
    or PNGs two levels deep (`<seq>/<frame>.png`) is `davis-anno`; PNGs three levels deep (after an optional
    `Annotations/`) or an empty directory is `png-tree`; a directory holding `coco_results.json` (a run's output)
    is `coco-json`."""
    p = Path(path)
    if not p.exists():
        raise DataFormatError(p, "predictions not found")
    if p.is_file():
        if zipfile.is_zipfile(p):
            return "png-zip"
        if p.suffix.lower() == ".json":
            return "coco-json"
        with open(p, "rb") as f:
            head = f.read(64).lstrip()
        if head[:1] in (b"[", b"{"):
            return "coco-json"
        raise DataFormatError(p, "not a directory, .zip or COCO results .json: cannot tell the prediction format")
    if (p / COCO_RESULTS_NAME).is_file():
        return "coco-json"
    if _annotator_dirs(p):
        return "davis-anno"
    base = p / ANNOTATIONS_PREFIX if (p / ANNOTATIONS_PREFIX).is_dir() else p
    depth = _first_png_depth(base)
    if depth == 2:
        return "davis-anno"
    return "png-tree"


def _annotator_dirs(root: Path) -> dict[int, Path]:
    for base in (root, root / "valid"):
        if not base.is_dir():
            continue
        found = {}
        for entry in os.scandir(base):
            m = _ANNO_DIR.match(entry.name)
            if m and entry.is_dir():
                found[int(m.group(1))] = Path(entry.path)
        if found:
            return dict(sorted(found.items()))
    return {}


def _first_png_depth(base: Path, max_depth: int = 4) -> int | None:
    """Depth (1 = directly in base) of the first PNG found in a breadth-first walk."""
    level = [base]
    for depth in range(1, max_depth + 1):
        nxt: list[Path] = []
        for d in level:
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except OSError:
                continue
            for e in entries:
                if e.is_file() and e.name.lower().endswith(".png"):
                    return depth
                if e.is_dir() and not e.name.startswith("."):
                    nxt.append(Path(e.path))
        level = nxt
        if not level:
            return None
    return None


# ============================================================================ readers


@dataclass
class Inventory:
    """What a prediction source holds, for validation before scoring.

    `items` maps a key to its frame names: `(video, exp_id)` for PNG trees, `(annotator, video)` for DAVIS trees,
    `image_id` (str) for COCO results (with the number of candidates instead of frames in `candidates`).
    `stray` lists files that do not fit the layout (path, reason).
    """

    format: str
    items: dict[Any, set[str]] = field(default_factory=dict)
    candidates: dict[str, int] = field(default_factory=dict)
    stray: list[tuple[str, str]] = field(default_factory=list)


class Predictions:
    """Common interface of the readers returned by `open_predictions`."""

    format: str = ""
    path: Path

    def inventory(self) -> Inventory:
        raise NotImplementedError

    def describe(self, *key: Any) -> str:
        """Path (or archive member) of one item, for error messages."""
        return str(self.path)

    def mask(self, video_id: str, exp_id: str, frame: str) -> np.ndarray | None:
        raise LvsbenchError(f"{self.path}: {self.format} predictions hold no per-expression masks")

    def candidates(self, image_id: str) -> list[tuple[np.ndarray, float]]:
        raise LvsbenchError(f"{self.path}: {self.format} predictions hold no COCO candidates")

    def label_map(self, annotator: int | None, video_id: str, frame: str) -> np.ndarray | None:
        raise LvsbenchError(f"{self.path}: {self.format} predictions hold no label maps")

    def checksum(self) -> str:
        """sha256 of the prediction files; a run's own records (run.json, run log: timestamps) are left out so that
        equal predictions have equal checksums."""
        p = self.path
        return sha256_file(p) if p.is_file() else sha256_tree(p, exclude=RUN_RECORD_FILES)


class PngTreePredictions(Predictions):
    """`[Annotations/]<video>/<exp_id>/<frame>.png` on disk; any non-zero pixel is foreground."""

    format = "png-tree"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise DataFormatError(self.path, "not a directory")
        pref = self.path / ANNOTATIONS_PREFIX
        self.base = pref if pref.is_dir() else self.path
        self._inv: Inventory | None = None

    def file(self, video_id: str, exp_id: str, frame: str) -> Path:
        return self.base / video_id / str(exp_id) / f"{frame}.png"

    def describe(self, *key: Any) -> str:
        if len(key) == 3:
            return str(self.file(*key))
        return str(self.base.joinpath(*[str(k) for k in key]))

    def inventory(self) -> Inventory:
        if self._inv is not None:
            return self._inv
        inv = Inventory(self.format)
        for v in sorted(os.scandir(self.base), key=lambda e: e.name):
            if not v.is_dir():
                if not v.name.startswith("."):
                    inv.stray.append((v.path, "file outside any <video>/<exp_id>/ folder"))
                continue
            for e in sorted(os.scandir(v.path), key=lambda e: e.name):
                if not e.is_dir():
                    inv.stray.append((e.path, "file outside any <video>/<exp_id>/ folder"))
                    continue
                frames = set()
                for f in os.scandir(e.path):
                    if f.is_file() and f.name.lower().endswith(".png"):
                        frames.add(f.name[:-4])
                    elif not f.name.startswith("."):
                        inv.stray.append((f.path, "not a .png file"))
                bad = id_problem(v.name) or id_problem(e.name)
                if bad:
                    inv.stray.append((e.path, bad))
                    continue
                inv.items[(v.name, e.name)] = frames
        self._inv = inv
        return inv

    def raw_bytes(self, video_id: str, exp_id: str, frame: str) -> bytes | None:
        """The PNG file's bytes, or None when absent."""
        return _read_file(self.file(video_id, exp_id, frame))

    def mask(self, video_id: str, exp_id: str, frame: str) -> np.ndarray | None:
        p = self.file(video_id, exp_id, frame)
        data = _read_file(p)
        return None if data is None else read_binary_png(data, where=p)


MAX_MEMBER_BYTES = 64 << 20
"""Largest uncompressed zip member read: a mask PNG of the largest frame `MAX_MASK_PIXELS` allows stays far
below it (PNG is compressed; a 4K binary mask is a few tens of KiB)."""
MAX_MEMBERS = 2_000_000
"""Most members in a predictions zip (the Refer-YouTube-VOS valid split has about 200,000 masks)."""
MAX_TOTAL_BYTES = 16 << 30
"""Most uncompressed bytes in a predictions zip."""
MAX_RATIO = 200
"""Largest compression ratio of a member over 1 MiB: PNGs are already deflated (ratio near 1), so a member of
zeros compressed 1000:1 is a zip bomb, refused before it is expanded."""


def check_zip_members(zf: zipfile.ZipFile, path: Path) -> list[zipfile.ZipInfo]:
    """The members of a predictions zip, refused as a whole (`DataFormatError` naming the archive and member)
    when one is unsafe to read: a name that is absolute, holds `..`, a backslash or a control character (zip slip),
    a name given twice, too many members, or declared sizes that expand past the limits above."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise DataFormatError(path, f"{len(infos)} members (more than {MAX_MEMBERS}): not a predictions archive")
    total = 0
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        where = f"{path}!{name}"
        parts = name.rstrip("/").split("/")
        if name.startswith("/") or "\\" in name or any(p in ("..", "") for p in parts) or \
                any(ord(ch) < 32 for ch in name):
            raise DataFormatError(where, "unsafe member name (absolute, '..', backslash or control character); "
                                         "nothing was read")
        if name in seen:
            raise DataFormatError(where, "member name given twice in the archive")
        seen.add(name)
        if info.file_size > MAX_MEMBER_BYTES:
            raise DataFormatError(where, f"member expands to {info.file_size} bytes (more than "
                                         f"{MAX_MEMBER_BYTES}): not a mask PNG; refused unread")
        if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise DataFormatError(where, f"compression ratio {info.file_size // max(info.compress_size, 1)}:1 "
                                         "(a zip bomb, not a PNG); refused unread")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise DataFormatError(path, f"members expand to more than {MAX_TOTAL_BYTES} bytes; refused unread")
    return infos


class PngZipPredictions(Predictions):
    """A zip holding a PNG tree (with or without the top-level `Annotations/`). The archive is opened lazily per
    process, so a reader can be handed to worker processes."""

    format = "png-zip"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not zipfile.is_zipfile(self.path):
            raise DataFormatError(self.path, "not a zip archive")
        self._zf: zipfile.ZipFile | None = None
        self._pid = -1
        self._members: dict[tuple[str, str, str], str] | None = None
        self._inv: Inventory | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_zf"] = None
        state["_pid"] = -1
        return state

    def _zip(self) -> zipfile.ZipFile:
        if self._zf is None or self._pid != os.getpid():
            try:
                self._zf = zipfile.ZipFile(self.path)
            except (OSError, zipfile.BadZipFile) as exc:
                raise DataFormatError(self.path, f"cannot open zip: {exc}") from exc
            self._pid = os.getpid()
        return self._zf

    def _index(self) -> None:
        inv = Inventory(self.format)
        members: dict[tuple[str, str, str], str] = {}
        infos = check_zip_members(self._zip(), self.path)
        for info in infos:
            name = info.filename
            if name.endswith("/"):
                continue
            parts = name.split("/")
            if parts and parts[0] == ANNOTATIONS_PREFIX:
                parts = parts[1:]
            if any(p.startswith(".") or p == "__MACOSX" for p in parts):
                continue
            if len(parts) != 3:
                inv.stray.append((f"{self.path}!{name}", "not at <video>/<exp_id>/<frame>.png"))
                continue
            if not parts[2].lower().endswith(".png"):
                inv.stray.append((f"{self.path}!{name}", "not a .png file"))
                continue
            key = (parts[0], parts[1], parts[2][:-4])
            bad = next((id_problem(k) for k in key if id_problem(k)), None)
            if bad:
                inv.stray.append((f"{self.path}!{name}", bad))
                continue
            members[key] = name
            inv.items.setdefault((parts[0], parts[1]), set()).add(key[2])
        self._members, self._inv = members, inv

    def inventory(self) -> Inventory:
        if self._inv is None:
            self._index()
        assert self._inv is not None
        return self._inv

    def describe(self, *key: Any) -> str:
        if self._members is None:
            self._index()
        assert self._members is not None
        if len(key) == 3 and tuple(key) in self._members:
            return f"{self.path}!{self._members[tuple(key)]}"
        return f"{self.path}!{'/'.join(str(k) for k in key)}"

    def raw_bytes(self, video_id: str, exp_id: str, frame: str) -> bytes | None:
        """The member's bytes, or None when absent."""
        if self._members is None:
            self._index()
        assert self._members is not None
        name = self._members.get((video_id, str(exp_id), frame))
        if name is None:
            return None
        try:
            with self._zip().open(name) as f:
                data = f.read(MAX_MEMBER_BYTES + 1)
            if len(data) > MAX_MEMBER_BYTES:
                raise DataFormatError(f"{self.path}!{name}", f"member expands past {MAX_MEMBER_BYTES} bytes")
            return data
        except (OSError, zipfile.BadZipFile, KeyError, EOFError, zlib.error) as exc:
            raise DataFormatError(f"{self.path}!{name}", f"cannot read from zip: {exc}") from exc

    def mask(self, video_id: str, exp_id: str, frame: str) -> np.ndarray | None:
        data = self.raw_bytes(video_id, exp_id, frame)
        if data is None:
            return None
        return read_binary_png(data, where=self.describe(video_id, exp_id, frame))


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
            problem = rle_problem(seg)
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


class DavisAnnoPredictions(Predictions):
    """`[valid/]anno_<k>/<seq>/<frame>.png` indexed PNGs (ReferFormer Ref-DAVIS17 output), or one run's
    `<seq>/<frame>.png` (davis2017 results folder; its annotator is `None`)."""

    format = "davis-anno"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise DataFormatError(self.path, "not a directory")
        dirs = _annotator_dirs(self.path)
        self.runs: dict[int | None, Path] = dict(dirs) if dirs else {None: self.path}
        self._inv: Inventory | None = None

    @property
    def annotators(self) -> list[int | None]:
        return list(self.runs)

    def file(self, annotator: int | None, video_id: str, frame: str) -> Path:
        base = self.runs.get(annotator)
        if base is None:
            base = self.path / f"anno_{annotator}"
        return base / video_id / f"{frame}.png"

    def describe(self, *key: Any) -> str:
        if len(key) == 3:
            return str(self.file(*key))
        if len(key) == 2:
            return str(self.file(key[0], key[1], "x").parent)
        return str(self.path)

    def inventory(self) -> Inventory:
        if self._inv is not None:
            return self._inv
        inv = Inventory(self.format)
        for ann, base in self.runs.items():
            for v in sorted(os.scandir(base), key=lambda e: e.name):
                if not v.is_dir():
                    if not v.name.startswith("."):
                        inv.stray.append((v.path, "file outside any <seq>/ folder"))
                    continue
                frames = set()
                for f in os.scandir(v.path):
                    if f.is_file() and f.name.lower().endswith(".png"):
                        frames.add(f.name[:-4])
                    elif not f.name.startswith("."):
                        inv.stray.append((f.path, "not a .png file"))
                inv.items[(ann, v.name)] = frames
        self._inv = inv
        return inv

    def label_map(self, annotator: int | None, video_id: str, frame: str) -> np.ndarray | None:
        p = self.file(annotator, video_id, frame)
        data = _read_file(p)
        return None if data is None else read_palette_png(data, require_palette=False, where=p)

    def mask(self, video_id: str, exp_id: str, frame: str) -> np.ndarray | None:
        raise LvsbenchError(f"{self.path}: davis-anno predictions are label maps per annotator; "
                            "use a davis protocol (rdavis, rdavis-aligned, davis-semi)")


_READERS: dict[str, type[Predictions]] = {
    "png-tree": PngTreePredictions,
    "png-zip": PngZipPredictions,
    "coco-json": CocoPredictions,
    "davis-anno": DavisAnnoPredictions,
}


def open_predictions(path: str | Path, format: str | None = None) -> Predictions:
    """Open predictions in `format` (auto-detected when None); raises `DataFormatError` naming the path."""
    fmt = format or detect_format(path)
    if fmt not in _READERS:
        raise LvsbenchError(unknown_name("prediction format", fmt, FORMATS))
    if not Path(path).exists():
        raise DataFormatError(path, "predictions not found")
    return _READERS[fmt](path)
