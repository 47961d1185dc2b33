"""`lvsbench import-preds`: published models' native outputs as lvsbench predictions, so that numbers computed
elsewhere can be rescored identically.

- referformer: `valid/<vid>/<exp_id>/<frame>.png` (or the renamed `Annotations/`, or its zip), written by
  `inference_ytvos.py`; `[valid/]anno_<k>/<seq>/<frame>.png` palettes, written by `inference_davis.py`.
- referformer, mttr: COCO results `.json` (a list, or `{"annotations": [...]}`; RLE counts as str), the list that
  `engine.py::evaluate_a2d` / `trainer.py::evaluate_a2d_sentences` build in memory, dumped.
- mttr: `validation_outputs/epoch_N/Annotations/<vid>/<exp_id>/<frame>.png` or the submission zip
  (`trainer.py::evaluate_refer_youtube_vos`).
- locater: `<video>_<obj>_<frame>.{pth,npy,png}` per-frame masks at any folder depth. Locater itself saves no
  predictions (`tools/evaluate.py` scores in process); a dump named like its GT masks (`mask/<seq>_<obj>_<frame>.pth`)
  is what a patched evaluate.py writes. Unverified against a real dump (none is published).

The output is a run directory exactly like `lvsbench run` writes (same sinks, `run.json`, `run_log.jsonl`), in the
format of the dataset's protocol: a PNG tree is re-encoded 0/255 (any non-zero pixel is foreground, as the server
reads it), palettes keep their indices, COCO candidates keep their order and scores (COCOeval breaks ties by first
listed, MTTR's top-1 by last listed). Masks written without scores (PNG, Locater) get score 1.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lvsbench import __version__
from lvsbench.adapters.base import VideoHandle
from lvsbench.core.codecs import read_binary_png
from lvsbench.core.errors import ConfigError, DataFormatError, MissingDependencyError
from lvsbench.core.io import atomic_write_json, prepare_output_dir
from lvsbench.datasets.base import Dataset
from lvsbench.formats.base import FrameOutput, Outputs, Predictions
from lvsbench.formats.coco_json import CocoPredictions, coco_image_id
from lvsbench.formats.davis_anno import DavisAnnoPredictions, annotator_dirs, write_palette_prediction
from lvsbench.formats.png_tree import PngTreePredictions, PngZipPredictions
from lvsbench.formats.predictions import prediction_path, writer_class
from lvsbench.metrics.referring import top1
from lvsbench.protocols import Protocol, default_protocol_for
from lvsbench.run import rundir
from lvsbench.run.units import Unit, build_units

SOURCES = ("referformer", "mttr", "locater")

# ============================================================================================ sources


@dataclass
class Source:
    """What an import reads: a prediction format's reader (PNG tree or zip, Ref-DAVIS17 palettes, COCO results) or
    Locater's dumps, and the published layout it was recognised as."""

    reader: Predictions | LocaterDumps
    layout: str


class LocaterDumps:
    """`<video>_<obj>_<frame>.{pth,npy,png}` files: probabilities (> 0.5 is foreground, as `tools/evaluate.py`
    thresholds) or binary masks. Names are split from the right, so video ids may contain '_'."""

    _NAME = re.compile(r"^(?P<video>.+)_(?P<obj>[^_]+)_(?P<frame>[^_]+)\.(?P<ext>pth|npy|png)$")

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[tuple[str, str, str], Path] = {}
        for p in sorted(root.rglob("*")):
            m = self._NAME.match(p.name)
            if m and p.is_file():
                key = (m["video"], m["obj"], m["frame"])
                if key in self.files:
                    raise DataFormatError(p, f"duplicate dump of {key} (also {self.files[key]})")
                self.files[key] = p
        if not self.files:
            raise DataFormatError(root, "no <video>_<obj>_<frame>.pth/.npy/.png files found")

    def close(self) -> None:
        """Nothing is held open."""

    def read(self, video_id: str, obj: str, frame: str, size: tuple[int, int]) -> np.ndarray | None:
        p = self.files.get((video_id, obj, frame))
        if p is None:
            return None
        if p.suffix == ".png":
            arr: np.ndarray = read_binary_png(p)
        elif p.suffix == ".npy":
            try:
                arr = np.load(p, allow_pickle=False)
            except (ValueError, OSError) as exc:
                raise DataFormatError(p, f"cannot read .npy: {exc}") from exc
        else:
            arr = _load_tensor_file(p)
        arr = np.squeeze(np.asarray(arr))
        if arr.ndim != 2:
            raise DataFormatError(p, f"expected an (H, W) mask, got shape {arr.shape}")
        if np.issubdtype(arr.dtype, np.floating):
            if arr.shape != size:
                arr = _resize_align_corners(arr.astype(np.float32), size)
            return arr > 0.5
        if arr.shape != size:
            raise DataFormatError(p, f"mask size {arr.shape} != frame size {size}")
        return arr != 0


def _load_tensor_file(p: Path) -> np.ndarray:
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("torch", "models", f"reading {p}") from None
    try:
        t = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors have many types
        raise DataFormatError(p, f"cannot load tensor (weights_only): {exc}") from exc
    if not isinstance(t, torch.Tensor):
        raise DataFormatError(p, f"expected a tensor, got {type(t).__name__}")
    if t.dtype == torch.bfloat16 or t.dtype == torch.float16:
        t = t.float()
    return t.numpy()


def _resize_align_corners(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize with align_corners=True, as Locater upsamples its prediction to the GT size."""
    h, w = size
    ys = np.linspace(0, a.shape[0] - 1, h) if h > 1 else np.zeros(1)
    xs = np.linspace(0, a.shape[1] - 1, w) if w > 1 else np.zeros(1)
    y0 = np.floor(ys).astype(int)
    x0 = np.floor(xs).astype(int)
    y1 = np.minimum(y0 + 1, a.shape[0] - 1)
    x1 = np.minimum(x0 + 1, a.shape[1] - 1)
    wy = (ys - y0)[:, None]
    wx = (xs - x0)[None, :]
    top = a[y0][:, x0] * (1 - wx) + a[y0][:, x1] * wx
    bot = a[y1][:, x0] * (1 - wx) + a[y1][:, x1] * wx
    return (top * (1 - wy) + bot * wy).astype(np.float32)


def open_source(source: str, path: Path) -> Source:
    """Recognise the published layout under `path` for `source`."""
    if source not in SOURCES:
        raise ConfigError(f"unknown import source {source!r}; choose from {', '.join(SOURCES)}")
    if not path.exists():
        raise DataFormatError(path, "not found")
    if source == "locater":
        if not path.is_dir():
            raise DataFormatError(path, "Locater dumps must be a directory of <video>_<obj>_<frame> files")
        return Source(LocaterDumps(path), "locater per-frame mask dumps")
    if path.is_file():
        if zipfile.is_zipfile(path):
            return Source(PngZipPredictions(path, ("Annotations", "valid")), f"{source} PNG zip")
        if path.suffix.lower() == ".json":
            return Source(CocoPredictions(path), f"{source} COCO results")
        raise DataFormatError(path, "expected a directory, a .zip or a COCO results .json")
    if source == "referformer" and annotator_dirs(path):
        return Source(DavisAnnoPredictions(path), "referformer Ref-DAVIS17 anno_k palettes")
    for sub, layout in (("Annotations", f"{source} Annotations/ tree"), ("valid", "referformer valid/ tree")):
        if (path / sub).is_dir() and not annotator_dirs(path / sub):
            return Source(PngTreePredictions(path / sub), layout)
    if source == "mttr":
        epochs = sorted(path.glob("epoch_*/Annotations"))
        if len(epochs) == 1:
            return Source(PngTreePredictions(epochs[0]), "mttr validation_outputs tree")
        if len(epochs) > 1:
            raise DataFormatError(path, f"several epochs ({', '.join(p.parent.name for p in epochs)}): pass one")
    return Source(PngTreePredictions(path), f"{source} PNG tree")


# ============================================================================================ import


def _locater_key(protocol: Protocol, key: str) -> str:
    """`auto`: Locater's `<obj>` is the A2D instance id where samples are instances (A2D's image ids)."""
    if key != "auto":
        return key
    return "instance" if protocol.image_id == "a2d-instance" else "exp_id"


def _copy_palettes(src: DavisAnnoPredictions, dataset: Dataset, video: VideoHandle, units: list[Unit], out: Path,
                   missing: list[str], scores: dict[str, list[tuple[str, float]]]) -> int:
    """Copy one video's label maps verbatim (indices kept: surplus proposals matter to Hungarian matching)."""
    size = (video.height, video.width)
    n = 0
    for u in units:
        assert u.group is not None
        frames_of = {e.id: set(dataset.expression_frames(e)) for e in u.expressions}
        for frame in video.frames:
            group = [e for e in u.expressions if frame in frames_of[e.id]]
            if not group:
                continue
            lab = src.label_map(u.group, video.id, frame)
            if lab is None:
                missing.append(f"anno_{u.group}/{video.id}/{frame}.png")
                continue
            if lab.shape != size:
                raise DataFormatError(None, f"anno_{u.group}/{video.id}/{frame}.png: size {lab.shape} != {size}")
            write_palette_prediction(out, u.group, video.id, frame, lab)
            n += 1
            for e in group:
                scores.setdefault(e.id, []).append((frame, 1.0))
    return n


def _outputs_for_video(src: Predictions | LocaterDumps, dataset: Dataset, video: VideoHandle, units: list[Unit],
                       protocol: Protocol, locater_key: str, missing: list[str]) -> Iterator[Outputs]:
    """Per frame batch: {exp_id: {frame: FrameOutput}} read from the source (one frame at a time for memory)."""
    size = (video.height, video.width)
    exprs = [e for u in units for e in u.expressions]
    frames_of = {e.id: tuple(dataset.expression_frames(e)) for e in exprs}
    ordered = [f for f in video.frames if any(f in fr for fr in frames_of.values())]
    obj_name = {e.id: (str(e.object_ids[0] - 1) if locater_key == "instance" else e.id) for e in exprs}
    for frame in ordered:
        batch: Outputs = {}
        for e in exprs:
            if frame not in frames_of[e.id]:
                continue
            fo: FrameOutput | None
            if isinstance(src, CocoPredictions):
                image_id = coco_image_id(protocol, e, frame)
                cands = src.candidates(image_id)
                if not cands:
                    missing.append(image_id)
                    continue
                for m, _ in cands:
                    if m.shape != size:
                        raise DataFormatError(src.path, f"mask size {m.shape} != frame size {size}",
                                              f"image_id {image_id}")
                top = top1(cands)
                fo = FrameOutput(cands[top][0], cands[top][1], None, cands)
            else:
                if isinstance(src, LocaterDumps):
                    m = src.read(video.id, obj_name[e.id], frame, size)
                elif (m := src.mask(video.id, e.id, frame)) is not None and m.shape != size:
                    raise DataFormatError(None, f"{video.id}/{e.id}/{frame}.png: size {m.shape} != frame size "
                                                f"{size}")
                fo = None if m is None else FrameOutput(m, 1.0, m.astype(np.float32))
            if fo is None:
                missing.append(f"{video.id}/{e.id}/{frame}")
                continue
            batch.setdefault(e.id, {})[frame] = fo
        yield batch


def import_predictions(source: str, path: str | Path, dataset: Dataset, out: str | Path, *, force: bool = False,
                       locater_key: str = "auto", dataset_options: dict[str, Any] | None = None,
                       dataset_root: str | None = None, fmt: str | None = None) -> dict[str, Any]:
    """Import `path` (the native output of `source`) for `dataset` into the run directory `out`."""
    path, out = Path(path), Path(out)
    protocol = default_protocol_for(dataset)
    fmt = fmt or protocol.run_format
    opened = open_source(source, path)
    src = opened.reader
    coco, davis = isinstance(src, CocoPredictions), isinstance(src, DavisAnnoPredictions)
    if davis and fmt != "davis-anno":
        raise ConfigError(f"{path}: Ref-DAVIS17 palettes, but dataset {dataset.name} is scored as {fmt}")
    if fmt == "davis-anno" and coco:
        raise ConfigError(f"{path}: COCO results cannot be imported for a Ref-DAVIS17 protocol")
    if coco and protocol.image_id == "none":
        raise ConfigError(f"{path}: COCO results need an A2D or J-HMDB dataset, not {dataset.name}")
    lkey = _locater_key(protocol, locater_key)
    prepare_output_dir(out, force, legacy=(rundir.RUN_JSON,))
    (out / rundir.PARTS_DIR).mkdir()
    sink = writer_class(fmt)(out, protocol, 0.5)
    rundir.append_log(out, {"event": "session_start", "session": 1, "import": source, "source": str(path),
                            "time": rundir.now()})
    videos = dataset.videos()
    units = build_units(dataset, fmt, protocol)
    by_video: dict[str, list[Unit]] = {}
    for u in units:
        by_video.setdefault(u.video_id, []).append(u)
    if isinstance(src, CocoPredictions):
        known = {coco_image_id(protocol, e, f) for u in units for e in u.expressions
                 for f in dataset.expression_frames(e)}
        unknown = sorted(set(src.image_ids()) - known)
        if unknown:
            raise DataFormatError(path, f"{len(unknown)} image id(s) not in dataset {dataset.name}: "
                                        f"{', '.join(unknown[:5])}")
    missing: list[str] = []
    n_frames = 0
    try:
        for vid, vunits in by_video.items():
            v = videos[vid]
            handle = VideoHandle(vid, v.frames, v.height, v.width, lambda n, _v=vid: dataset.read_frame(_v, n))
            davis_scores: dict[str, list[tuple[str, float]]] = {}
            if isinstance(src, DavisAnnoPredictions):
                n_frames += _copy_palettes(src, dataset, handle, vunits, out, missing, davis_scores)
            else:
                for batch in _outputs_for_video(src, dataset, handle, vunits, protocol, lkey, missing):
                    sink.add_frames(handle, vunits, batch)
                    n_frames += sum(len(d) for d in batch.values())
            for u in vunits:
                extra = ({"scores": {e: davis_scores.pop(e, []) for e in u.exp_ids}}
                         if davis else sink.unit_part(u))
                rundir.finish_unit(out, u, extra, 1, sum(len(v) for v in extra.get("scores", {}).values()))
    finally:
        src.close()
    rundir.finish_outputs(out, sink)
    status = "complete" if not missing else "partial"
    config = {"source": str(path), "layout": opened.layout, "locater_key": lkey}
    ident = rundir.run_identity(adapter=f"import:{source}", adapter_config=config, checkpoint_sha256=None,
                                dataset=dataset, dataset_options=dict(dataset_options or {}), fmt=fmt,
                                protocol=protocol, shard=[0, 1], limit=None, seed=0, threshold=0.5)
    doc = {**rundir.run_record(ident, adapter={"name": f"import:{source}", "config": ident["adapter_config"]},
                               root=dataset_root or str(getattr(dataset, "root", "")), units=units),
           "status": status, "sessions": [],
           "import": {"source": source, "path": str(path), "layout": opened.layout, "missing_count": len(missing),
                      "missing": missing[:100], "lvsbench": __version__}}
    atomic_write_json(out / rundir.RUN_JSON, doc)
    rundir.append_log(out, {"event": "session_end", "session": 1, "status": status})
    return {"out": str(out), "predictions": str(prediction_path(out, fmt)), "format": fmt, "layout": opened.layout,
            "expressions": sum(len(u.expressions) for u in units), "frames": n_frames, "missing": len(missing),
            "status": status}


__all__ = ["SOURCES", "import_predictions", "open_source"]
