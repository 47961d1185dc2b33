"""Server submission helpers: check a prediction set completely, then zip it in the layout the server expects.

MeViS (`build_mevis_submission`) differs only in the zip layout: video folders at the zip root, no `Annotations/`.

Refer-YouTube-VOS (CodaLab, competition 13520 on codalab.lisn.upsaclay.fr): the server scores
`Annotations/<video_id>/<exp_id>/<frame>.png` for every valid video (202), every expression and every frame listed in
`meta_expressions/valid/meta_expressions.json` (22,046 PNGs), single-channel at the JPEG's size, zipped with the
`Annotations/` directory at the top (ReferFormer `inference_ytvos.py`, MTTR `trainer.evaluate_refer_youtube_vos`).
A partial or mis-sized upload is only discovered after the server run, so everything is checked here first and every
problem is listed with its path.

PNGs that are already 8-bit L-mode 0/255 are copied byte for byte; other binary encodings (0/1, palette with one
object, 1-bit) are re-encoded as 0/255 L-mode, the format the reference repositories write. Masks with more than
one non-zero value are refused as not binary.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lvsbench.core.codecs import encode_binary_png
from lvsbench.core.errors import LvsbenchError, Problem, ValidationFailed
from lvsbench.core.io import check_overwrite
from lvsbench.datasets.base import Dataset
from lvsbench.formats.png_tree import PngTreePredictions, PngZipPredictions
from lvsbench.formats.predictions import open_predictions


@dataclass
class SubmissionReport:
    """What `build_ryvos_submission` checked and wrote."""

    out: Path
    videos: int = 0
    expressions: int = 0
    files: int = 0
    reencoded: int = 0
    size_checked: bool = True
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "videos": self.videos, "expressions": self.expressions, "files": self.files,
                "reencoded": self.reencoded, "size_checked": self.size_checked, "notes": self.notes}


def _check_png(data: bytes, where: str, size: tuple[int, int] | None) -> tuple[bytes | None, tuple[int, int] | None,
                                                                            Problem | None]:
    """(bytes to store, (H, W), problem). Copies L-mode 0/255 files as they are; re-encodes other binary ones."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (OSError, SyntaxError, ValueError) as exc:
        return None, None, Problem(where, f"cannot decode image: {exc}")
    arr = np.asarray(img)
    if arr.ndim != 2:
        return None, None, Problem(where, f"not a single-channel mask (mode {img.mode}, shape {arr.shape})")
    hw = (int(arr.shape[0]), int(arr.shape[1]))
    if size is not None and size[0] and hw != size:
        return None, hw, Problem(where, f"size {hw[1]}x{hw[0]} (WxH) differs from the video's {size[1]}x{size[0]}")
    values = np.unique(arr)
    nonzero = values[values != 0]
    if nonzero.size > 1:
        return None, hw, Problem(where, f"not binary: pixel values {values[:8].tolist()}"
                                        f"{' ...' if values.size > 8 else ''}")
    if img.mode == "L" and (nonzero.size == 0 or int(nonzero[0]) == 255):
        return data, hw, None
    return encode_binary_png(arr != 0), hw, None


def build_ryvos_submission(preds_path: str | Path, dataset: Dataset, out: str | Path, *, force: bool = False,
                           prefix: str = "Annotations/") -> SubmissionReport:
    """Check `preds_path` (PNG tree or zip, with or without `Annotations/`) against every expression and frame of
    `dataset` (the Refer-YouTube-VOS valid split) and write `out` (a zip with `Annotations/` at the top).

    Raises `ValidationFailed` listing every missing video / expression / frame, unexpected item, undecodable,
    non-binary or mis-sized PNG; nothing is written then.
    """
    out = Path(out)
    check_overwrite(out, force)
    preds = open_predictions(preds_path)
    if not isinstance(preds, PngTreePredictions | PngZipPredictions):
        raise LvsbenchError(f"{preds_path}: a Refer-YouTube-VOS submission is a PNG tree or zip, not {preds.format}")
    inv = preds.inventory()
    problems: list[Problem] = [Problem(p, why) for p, why in inv.stray]
    videos = dataset.videos()
    report = SubmissionReport(out)
    expected: list[tuple[str, str, str]] = []
    known: dict[str, set[str]] = {}
    for vid, video in videos.items():
        exps = dataset.video_expressions(vid)
        known[vid] = {e.id for e in exps}
        if exps:
            report.videos += 1
        for e in exps:
            report.expressions += 1
            frames = e.frames or video.frames
            held = inv.items.get((vid, e.id))
            if held is None:
                problems.append(Problem(preds.describe(vid, e.id), f"expression missing ({len(frames)} frames)"))
                continue
            for f in frames:
                if f not in held:
                    problems.append(Problem(preds.describe(vid, e.id, f), "frame missing"))
                else:
                    expected.append((vid, e.id, f))
            vframes = set(video.frames)
            for f in sorted(held - vframes):
                problems.append(Problem(preds.describe(vid, e.id, f), f"unexpected frame {f!r}: not a frame of {vid}"))
    for vid, eid in sorted(inv.items):
        if vid not in videos:
            problems.append(Problem(preds.describe(vid), "unexpected video (not in the valid split)"))
        elif eid not in known[vid]:
            problems.append(Problem(preds.describe(vid, eid), f"unexpected expression id {eid!r}"))
    problems = list(dict.fromkeys(problems))
    if any(not v.height for v in videos.values()):
        report.size_checked = False
        report.notes.append("frame sizes unknown for some videos (JPEGImages absent): their masks were only checked "
                            "for a consistent size within each video")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent if str(out.parent) else ".")
    os.close(fd)
    try:
        sizes: dict[str, tuple[int, int]] = {}
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for vid, eid, f in expected:
                where = preds.describe(vid, eid, f)
                try:
                    data = preds.raw_bytes(vid, eid, f)
                except LvsbenchError as exc:
                    problems.append(Problem(where, str(exc)))
                    continue
                if data is None:
                    problems.append(Problem(where, "frame missing"))
                    continue
                v = videos[vid]
                size = (v.height, v.width) if v.height else sizes.get(vid)
                stored, hw, prob = _check_png(data, where, size)
                if prob is not None:
                    problems.append(prob)
                    continue
                if hw is not None and not v.height:
                    sizes.setdefault(vid, hw)
                if problems:
                    continue  # keep checking, stop writing
                if stored is not data:
                    report.reencoded += 1
                zf.writestr(f"{prefix}{vid}/{eid}/{f}.png", stored)
                report.files += 1
        if problems:
            raise ValidationFailed(problems, f"submission check of {preds_path}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return report


def build_mevis_submission(preds_path: str | Path, dataset: Dataset, out: str | Path, *, force: bool = False
                           ) -> SubmissionReport:
    """As `build_ryvos_submission`, for the MeViS server (CodaLab 15094 for v1, Codabench 11420 for v2): the zip
    holds `<video>/<exp_id>/<frame>.png` at its root, no `Annotations/` folder (henghuiding/MeViS @ 7c0620b
    README: `zip -r ../x.zip *` inside the output folder), one PNG per frame of `frames` for every expression,
    no-target ones included (an all-black PNG says "no target")."""
    return build_ryvos_submission(preds_path, dataset, out, force=force, prefix="")


__all__ = ["SubmissionReport", "build_mevis_submission", "build_ryvos_submission"]
