"""`lvsbench score` starts without the heavy packages it needs only later (issue #16: "lazy imports so `lvsbench
score` starts in well under 0.3 s"; measured by `benchmarks/bench_startup.py`).

A fresh interpreter imports the command line, resolves `score` and imports the modules scoring needs before its
first frame (the scorer of every protocol family, the prediction formats, the DAVIS and per-expression readers,
the codecs and metric kernels); none of `LATER` may be in `sys.modules` then. pandas comes with the result tables,
tqdm with a progress bar, h5py with the A2D reader (it needs it for its first frame), scipy with Hungarian matching.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LATER = ("pandas", "scipy", "skimage", "h5py", "torch", "tqdm", "multiprocessing")
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
