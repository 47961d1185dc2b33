"""Shared fixtures: the `shared/` folder beside the repository (real annotations, golden values, specs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LVSBENCH_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"shared/ folder not found at {SHARED} (set LVSBENCH_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def real_annotations(shared_dir: Path) -> Path:
    return shared_dir / "data" / "real-annotations"


@pytest.fixture(scope="session")
def golden_dir(shared_dir: Path) -> Path:
    return shared_dir / "golden"
