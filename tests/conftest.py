"""Shared fixtures: the real-annotation files and golden values committed under `tests/data/`.

Every file there is listed with its public source, sha256, licence and any trimming in `tests/data/PROVENANCE.md`;
the repository needs nothing beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def real_annotations() -> Path:
    """Public annotation text files of A2D-Sentences, J-HMDB-Sentences, Refer-YouTube-VOS and DAVIS 2017 ImageSets."""
    return DATA / "real-annotations"


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    """Numbers from the reference evaluators, the mask builders that rebuild their inputs, and the SRL fixtures."""
    return DATA / "golden"
