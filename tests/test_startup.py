"""`lvsbench score` starts without the heavy packages it needs only later (issue #16: "lazy imports so `lvsbench
score` starts in well under 0.3 s"; measured by `benchmarks/bench_startup.py`).

A fresh interpreter imports the command line, resolves `score` and imports the modules scoring needs before its
first frame (the scorer of every protocol family, the prediction formats, the DAVIS and per-expression readers,
the codecs and metric kernels); none of `LATER` may be in `sys.modules` then. pandas comes with the result tables,
tqdm with a progress bar, h5py with the A2D reader (it needs it for its first frame), scipy with Hungarian matching,
OpenCV with the first boundary measure (F) or PNG that needs it (A2D, scored on RLEs, never imports it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LATER = ("pandas", "scipy", "skimage", "h5py", "torch", "tqdm", "multiprocessing", "cv2")
ENTRY = ("lvsbench.scoring", "lvsbench.scoring.evaluate", "lvsbench.scoring.per_expression",
         "lvsbench.scoring.expression_drivers", "lvsbench.formats.predictions", "lvsbench.datasets.registry",
         "lvsbench.datasets.davis", "lvsbench.datasets.mevis", "lvsbench.datasets.layout", "lvsbench.core.codecs",
         "lvsbench.core.io", "lvsbench.metrics.functional", "lvsbench.metrics.referring", "lvsbench.protocols")


def _loaded_after(code: str) -> set[str]:
    """Top-level packages in `sys.modules` of a fresh interpreter after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_score_entry_modules_leave_heavy_packages_for_later() -> None:
    code = "from lvsbench.cli import cli\nassert cli.get_command(None, 'score') is not None\n" + "".join(
        f"import {m}\n" for m in ENTRY)
    loaded = _loaded_after(code)
    assert "lvsbench" in loaded and "numpy" in loaded  # the probe ran
    assert not loaded & set(LATER), sorted(loaded & set(LATER))


def test_a2d_scoring_on_rles_never_imports_opencv(tmp_path: Path) -> None:
    """A2D COCO-results samples are scored on RLEs (no mask decoded, no boundary measured): the whole run, tables
    included, goes without OpenCV (~0.04 s of start-up)."""
    from lvsbench.core.codecs import rle_encode
    from lvsbench.datasets.registry import load
    from lvsbench.formats.coco_json import a2d_image_id, write_coco_results
    from lvsbench.synth import get_writer

    root = get_writer("a2d")(tmp_path / "a2d", videos=6, seed=2, height=32, width=40, frames=4)
    ds = load("a2d", root, "test")
    results = [{"image_id": a2d_image_id(e.video_id, f, e.object_ids[0]), "category_id": 1, "score": 1.0,
                "segmentation": rle_encode(ds.read_masks(e.video_id, f).mask(e.object_ids))}
               for e in ds.expressions() for f in ds.expression_frames(e)]
    assert results
    write_coco_results(tmp_path / "r.json", results)
    loaded = _loaded_after(f"from lvsbench.datasets import load\nfrom lvsbench.scoring import score\n"
                           f"r = score({str(tmp_path / 'r.json')!r}, load('a2d', {str(root)!r}, 'test'), 'a2d')\n"
                           f"assert r.values['mean_iou'] == 1.0, r.values")
    assert "pandas" in loaded and "h5py" in loaded  # the run went through to the tables
    assert "cv2" not in loaded
