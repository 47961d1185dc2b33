"""`png-tree`: `[Annotations/]<video>/<exp_id>/<frame>.png`, single channel, any non-zero pixel is foreground, and
`png-zip`, the same tree inside a .zip (the CodaLab submission, written by `lvsbench submit`).

Refer-YouTube-VOS submissions (ReferFormer `inference_ytvos.py`, MTTR), MeViS (no `Annotations/`); `lvsbench run`
writes 0/255 under `Annotations/`. ReasonVOS names the video folder `<source>_<video>_<obj_id>` (VideoLISA's
layout, `Protocol.prediction_dir`). Readers and writer side by side.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lvsbench.core.codecs import encode_binary_png, read_binary_png
from lvsbench.core.errors import DataFormatError
from lvsbench.core.ids import id_problem
from lvsbench.core.io import atomic_write_bytes
from lvsbench.core.png_decode import PNG_SIGNATURE
from lvsbench.formats.base import (
    ANNOTATIONS_PREFIX,
    Inventory,
    Outputs,
    Predictions,
    Writer,
    WriteUnit,
    WriteVideo,
    png_frames,
    read_file,
)

if TYPE_CHECKING:
    import zipfile


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
                frames = png_frames(e.path, inv)
                bad = id_problem(v.name) or id_problem(e.name)
                if bad:
                    inv.stray.append((e.path, bad))
                    continue
                inv.items[(v.name, e.name)] = frames
        self._inv = inv
        return inv

    def raw_bytes(self, video_id: str, exp_id: str, frame: str) -> bytes | None:
        """The PNG file's bytes, or None when absent."""
        return read_file(self.file(video_id, exp_id, frame))

    def mask(self, video_id: str, exp_id: str, frame: str) -> np.ndarray | None:
        p = self.file(video_id, exp_id, frame)
        data = read_file(p)
        return None if data is None else read_binary_png(data, where=p)


class PngTreeWriter(Writer):
    """`Annotations/<folder>/<exp_id>/<frame>.png`, 0/255; `folder` is the video id unless the protocol's
    `prediction_dir` names another folder (given by the dataset, e.g. `ReasonVOSDataset.prediction_video`)."""

    fmt = "png-tree"

    def add_frames(self, video: WriteVideo, units: Sequence[WriteUnit], outputs: Outputs) -> None:
        for e, frame, fo in self._frame_outputs(units, outputs):
            write_png_prediction(self.out / ANNOTATIONS_PREFIX, self.folder(e), e.id, frame, fo.mask)
            self._score(video.id, e.id, frame, fo.score)

    @classmethod
    def dirs(cls, run_dir: Path) -> list[Path]:
        return [run_dir / ANNOTATIONS_PREFIX] if (run_dir / ANNOTATIONS_PREFIX).is_dir() else []


# ============================================================================ png-zip


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


def member_limit(head: bytes, declared: int, where: str) -> int:
    """Most bytes read from one zip member whose first bytes are `head`: for a PNG, what its header's frame size
    allows (8 bytes per pixel, the widest PNG pixel, plus a filter byte per row, twice for chunk and deflate
    overhead, plus 1 MiB of ancillary chunks), and the scorer then requires that frame size to be the ground truth's,
    so a member is bounded by the expected frame size; `MAX_MEMBER_BYTES` for anything else (the reader refuses it).
    A member declaring more than its limit in the zip directory is refused unread."""
    limit, what = MAX_MEMBER_BYTES, "a mask PNG"
    if len(head) >= 24 and head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        limit, what = min(limit, 2 * h * (1 + 8 * w) + (1 << 20)), f"a {w}x{h} PNG"
    if declared > limit:
        raise DataFormatError(where, f"member declares {declared} bytes, more than {what} can hold ({limit}): "
                                     "not a mask PNG; refused unread")
    return limit


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
    """A zip holding a PNG tree (with or without a top-level folder of `prefixes`, `Annotations/` when scoring). The
    archive is opened lazily per process, so a reader can be handed to worker processes."""

    format = "png-zip"

    def __init__(self, path: str | Path, prefixes: tuple[str, ...] = (ANNOTATIONS_PREFIX,)) -> None:
        self.path = Path(path)
        self.prefixes = prefixes
        import zipfile

        if not zipfile.is_zipfile(self.path):
            raise DataFormatError(self.path, "not a zip archive")
        self._zf: zipfile.ZipFile | None = None
        self._pid = -1
        self._members: dict[tuple[str, str, str], str] | None = None
        self._inv: Inventory | None = None

    def close(self) -> None:
        if self._zf is not None:
            self._zf.close()
            self._zf = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_zf"] = None
        state["_pid"] = -1
        return state

    def _zip(self) -> zipfile.ZipFile:
        import zipfile

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
            if parts and parts[0] in self.prefixes:
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
        import zipfile

        if self._members is None:
            self._index()
        assert self._members is not None
        name = self._members.get((video_id, str(exp_id), frame))
        if name is None:
            return None
        try:
            with self._zip().open(name) as f:
                head = f.read(24)
                limit = member_limit(head, self._zip().getinfo(name).file_size, f"{self.path}!{name}")
                data = head + f.read(limit - len(head) + 1)
            if len(data) > limit:
                raise DataFormatError(f"{self.path}!{name}", f"member expands past {limit} bytes")
            return data
        except (OSError, zipfile.BadZipFile, KeyError, EOFError, zlib.error) as exc:
            raise DataFormatError(f"{self.path}!{name}", f"cannot read from zip: {exc}") from exc

    def mask(self, video_id: str, exp_id: str, frame: str) -> np.ndarray | None:
        data = self.raw_bytes(video_id, exp_id, frame)
        if data is None:
            return None
        return read_binary_png(data, where=self.describe(video_id, exp_id, frame))


__all__ = [
    "MAX_MEMBERS",
    "member_limit",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "PngTreePredictions",
    "PngTreeWriter",
    "PngZipPredictions",
    "check_zip_members",
    "png_prediction_path",
    "write_png_prediction",
]
