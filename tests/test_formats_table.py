"""The format table (`lvsbench.formats.predictions.PREDICTION_FORMATS`): every format a run writes is read back by
the reader beside its writer, whole-run files are assembled from part files in dataset order, and the runner,
importers and formats read protocol facts from `Protocol` fields instead of comparing protocol names."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from lvsbench.adapters.base import VideoHandle
from lvsbench.core.errors import ConfigError
from lvsbench.core.records import Expression
from lvsbench.formats.base import FrameOutput, Writer
from lvsbench.formats.coco_json import coco_image_id
from lvsbench.formats.predictions import (
    PREDICTION_FORMATS,
    RUN_FORMATS,
    open_predictions,
    prediction_path,
    writer_class,
)
from lvsbench.formats.rle_results import RleResultsPredictions
from lvsbench.protocols import PROTOCOLS, get_protocol
from lvsbench.run.units import Unit

ROOT = Path(__file__).resolve().parents[1] / "lvsbench"
FRAMES = ("00000", "00005", "00010")


def _video() -> VideoHandle:
    return VideoHandle("v1", FRAMES, 6, 8, lambda name: np.zeros((6, 8, 3), np.uint8))


def _mask(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((6, 8)) > 0.5


def _write(fmt: str, out: Path, protocol: str) -> tuple[Writer, list[Unit], dict[str, dict[str, np.ndarray]]]:
    """Two expressions of one video (annotator 0 for palettes), written clip by clip and finalised from parts."""
    exprs = (Expression("0", "v1", "a", (1,)), Expression("4", "v1", "b", (2,)))
    units = [Unit(0, "v1", exprs, 0)] if fmt == "davis-anno" else [Unit(i, "v1", (e,)) for i, e in enumerate(exprs)]
    writer = writer_class(fmt)(out, get_protocol(protocol), 0.5)
    masks = {e.id: {f: _mask(10 * k + j) for j, f in enumerate(FRAMES)} for k, e in enumerate(exprs)}
    if fmt == "davis-anno":  # disjoint masks: the palette composition keeps each one
        for f in FRAMES:
            masks["4"][f] &= ~masks["0"][f]
    for f in FRAMES:
        writer.add_frames(_video(), units, {eid: {f: FrameOutput(m[f], 0.5)} for eid, m in masks.items()})
    parts = [{"order": u.order, "video_id": u.video_id, "expressions": list(u.exp_ids), **writer.unit_part(u)}
             for u in units]
    writer.finalize(parts)
    return writer, units, masks


@pytest.mark.parametrize(("fmt", "protocol"), [("png-tree", "ryvos"), ("coco-json", "a2d"),
                                               ("davis-anno", "rdavis"), ("rle-json", "refsav")])
def test_writer_round_trips_through_its_reader(fmt: str, protocol: str, tmp_path: Path) -> None:
    writer, _, masks = _write(fmt, tmp_path, protocol)
    path = prediction_path(tmp_path, fmt)
    assert path == (tmp_path / writer.file if writer.file else tmp_path)
    if fmt == "rle-json":
        reader = RleResultsPredictions(path)
        for eid, m in masks.items():
            got = reader.frames("v1", eid, FRAMES)
            assert all(np.array_equal(g, m[f]) for g, f in zip(got, FRAMES, strict=True))
        return
    preds = open_predictions(path, fmt)
    assert isinstance(preds, PREDICTION_FORMATS[fmt].reader)
    for eid, m in masks.items():
        e = Expression(eid, "v1", "", (1 if eid == "0" else 2,))
        for f in FRAMES:
            if fmt == "png-tree":
                got = preds.mask("v1", eid, f)
            elif fmt == "coco-json":
                (got, score), = preds.candidates(coco_image_id(get_protocol(protocol), e, f))
                assert score == 0.5
            else:
                got = preds.label_map(0, "v1", f) == e.object_ids[0]
            assert np.array_equal(got, m[f]), (eid, f)


def test_every_protocol_runs_in_a_format_it_scores() -> None:
    for p in PROTOCOLS.values():
        assert p.run_format in p.formats and p.run_format in RUN_FORMATS, p.name
        assert (p.run_format == "coco-json") == (p.image_id != "none"), p.name


def test_coco_ids_need_a_protocol_with_image_ids() -> None:
    e = Expression("1", "v", "x", (2,))
    assert coco_image_id(get_protocol("a2d"), e, "00012") == "v_v_f_12_i_1"
    assert coco_image_id(get_protocol("jhmdb"), e, "00012") == "v_v_f_12"
    with pytest.raises(ConfigError):
        coco_image_id(get_protocol("ryvos"), e, "00012")


def test_unknown_run_format_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown output format"):
        writer_class("png-zip")
    assert prediction_path(tmp_path, "png-zip") == tmp_path


@pytest.mark.parametrize("rel", sorted(p.name for p in ROOT.iterdir()
                                        if p.name != "protocols.py" and (p.suffix == ".py" or any(p.glob("*.py")))))
def test_no_protocol_name_is_compared(rel: str) -> None:
    """Protocol facts come from `Protocol` fields: no comparison against a protocol's name anywhere in the package
    but `lvsbench/protocols.py`, where the declarations are (issue #13)."""
    names = set(PROTOCOLS)
    path = ROOT / rel
    for f in [path] if path.is_file() else sorted(path.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            for side in (node.left, *node.comparators):
                consts = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
                hits = [c.value for c in consts if isinstance(c, ast.Constant) and c.value in names]
                assert not hits, f"{f.relative_to(ROOT.parent)}:{node.lineno} compares with protocol name {hits}"
