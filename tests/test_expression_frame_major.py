"""The per-expression drivers' two orders (`lvsbench.scoring.expression_drivers`): frame by frame (`_frame_major`,
plain 8-bit grayscale PNG trees) and expression by expression (`_expression_major`, every other case) give the
same rows bit for bit, and the frame-major path steps aside (None) whenever a file is missing, of another size or
layout, or unreadable, so that problems are reported exactly as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from lvsbench.core.codecs import encode_palette_png
from lvsbench.core.errors import DataFormatError
from lvsbench.datasets.mevis import MeViSDataset
from lvsbench.formats.png_tree import write_png_prediction
from lvsbench.formats.raw_png import RawPngTree
from lvsbench.protocols import get_protocol
from lvsbench.scoring import expression_drivers as drivers
from lvsbench.synth.mevis import plan, shared_object_entry


def _build(root: Path, videos: int = 4) -> tuple[MeViSDataset, Path]:
    """Synthetic MeViS videos (multi-object, overlapping and no-target expressions), each expression repeated
    three times with new ids as MeViS shares objects between expressions; predictions = the target shifted by a few
    pixels, with empty, full-frame and 0/1-valued frames mixed in."""
    rng = np.random.default_rng(3)
    meta: dict = {"videos": {}}
    mask_dict: dict[str, list] = {}
    preds = root / "pred"
    for i, v in enumerate(plan(videos, seed=11, height=48, width=80, frames=5, splits=("valid_u",))):
        entry, obj_of = shared_object_entry(v, i, mask_dict, 3 * len(v.expressions))
        meta["videos"][v.video_id] = entry
        for eid, e in entry["expressions"].items():
            objs = tuple(obj_of[a] for a in e["anno_id"])
            for t, f in enumerate(v.frame_names):
                kind = rng.integers(0, 8)
                m = np.roll(v.target_sum(objs, t) > 0, tuple(int(x) for x in rng.integers(-4, 5, 2)), axis=(0, 1))
                if kind == 0:
                    m[:] = False
                elif kind == 1:
                    m[:] = True
                path = write_png_prediction(preds, v.video_id, eid, f, m)
                if kind == 2:  # a 0/1 PNG written by OpenCV (Sub filters)
                    cv2.imwrite(str(path), m.astype(np.uint8))
    (root / "valid_u").mkdir(parents=True)
    (root / "valid_u" / "mask_dict.json").write_text(json.dumps(mask_dict))
    (root / "valid_u" / "meta_expressions.json").write_text(json.dumps(meta))
    return MeViSDataset(root, "valid_u"), preds


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[MeViSDataset, Path]:
    return _build(tmp_path_factory.mktemp("frame_major"))


def _job(ds: MeViSDataset, preds: Path, protocol: str = "mevis") -> drivers.Job:
    return drivers.Job(ds, RawPngTree(preds), get_protocol(protocol), True, drivers._plan(ds))


@pytest.mark.parametrize("protocol", ["mevis", "mevis-v2"])
def test_both_orders_give_the_same_rows(built: tuple[MeViSDataset, Path], protocol: str) -> None:
    ds, preds = built
    job = _job(ds, preds, protocol)
    for vid in job.plan:
        fast = drivers._frame_major(job, vid)
        assert fast is not None
        assert fast.rows() == drivers._expression_major(job, vid).rows()


def _damage(how: str, path: Path) -> None:
    if how == "missing":
        path.unlink()
    elif how == "size":
        cv2.imwrite(str(path), np.zeros((10, 12), np.uint8))
    elif how == "palette":
        path.write_bytes(encode_palette_png(np.zeros((48, 80), np.uint8)))
    elif how == "rgb":
        cv2.imwrite(str(path), np.zeros((48, 80, 3), np.uint8))
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:60])
    else:
        path.unlink()
        path.mkdir()  # unreadable as a file


@pytest.mark.parametrize("how", ["missing", "size", "palette", "rgb", "truncated", "directory"])
def test_any_problem_leaves_the_video_to_the_expression_order(tmp_path: Path, how: str) -> None:
    """One damaged file: the frame-major path gives None for that video only, and `score_expressions` (which falls
    back) reports and scores exactly what the expression order does."""
    ds, preds = _build(tmp_path, videos=2)
    job = _job(ds, preds)
    vid, other = list(job.plan)
    eid = job.plan[vid][1][1].id
    _damage(how, preds / vid / eid / f"{ds.meta()[vid].frames[2]}.png")
    assert drivers._frame_major(job, vid) is None
    assert drivers._frame_major(job, other) is not None
    if how in ("truncated", "directory"):  # an unusable file: raised by both, with the same message
        with pytest.raises(DataFormatError) as want:
            drivers._expression_major(job, vid)
        with pytest.raises(DataFormatError) as got:
            drivers._mask_dict_video(job, vid)
        assert str(got.value) == str(want.value)
        return
    assert drivers._mask_dict_video(job, vid).rows() == drivers._expression_major(job, vid).rows()


def test_workers_after_multithreaded_opencv(tmp_path: Path) -> None:
    """`workers=2` after OpenCV has run on several threads in the parent: the forked workers used to hang in
    `cv2.setNumThreads` (inherited thread-pool state); now they finish, with the single-process values."""
    ds, preds = _build(tmp_path, videos=3)
    script = f"""
import cv2, numpy as np
from lvsbench.datasets.mevis import MeViSDataset
from lvsbench.formats.raw_png import RawPngTree
from lvsbench.scoring.per_expression import evaluate
cv2.setNumThreads(2)
big = np.random.default_rng(0).random((2000, 2000)) > 0.5
for _ in range(5):
    cv2.dilate(big.view(np.uint8), np.ones((9, 9), np.uint8))
ds = MeViSDataset({str(tmp_path)!r}, "valid_u")
two = evaluate(ds, RawPngTree({str(preds)!r}), "mevis", workers=2)
assert two.rows() == evaluate(ds, RawPngTree({str(preds)!r}), "mevis").rows()
assert cv2.getNumThreads() == 2
print(len(two.scored))
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(ds.expressions())
