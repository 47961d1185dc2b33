"""Zip members of a png-zip prediction are bounded by the frame size their PNG header declares (issue #20: member
sizes checked against the expected frame sizes; the scorer then requires that frame size to be the ground truth's)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from lvsbench.core.codecs import encode_binary_png
from lvsbench.core.errors import DataFormatError
from lvsbench.formats.png_tree import MAX_MEMBER_BYTES, PngZipPredictions, member_limit


def _zip(path: Path, data: bytes) -> PngZipPredictions:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Annotations/vid/0/00000.png", data)
    return PngZipPredictions(path)


def test_a_mask_png_reads_within_its_frame_limit(tmp_path: Path) -> None:
    mask = np.zeros((6, 9), dtype=bool)
    mask[2:4, 3:7] = True
    png = encode_binary_png(mask)
    preds = _zip(tmp_path / "ok.zip", png)
    assert preds.raw_bytes("vid", "0", "00000") == png
    assert np.array_equal(preds.mask("vid", "0", "00000"), mask)


def test_a_member_larger_than_its_png_header_allows_is_refused_unread(tmp_path: Path) -> None:
    png = encode_binary_png(np.zeros((4, 4), dtype=bool))
    limit = member_limit(png[:24], len(png), "x")
    assert limit == 2 * 4 * (1 + 8 * 4) + (1 << 20) < MAX_MEMBER_BYTES
    padded = png + np.random.default_rng(0).bytes(limit)  # incompressible bytes after IEND: no 4x4 mask needs them
    preds = _zip(tmp_path / "big.zip", padded)
    with pytest.raises(DataFormatError, match=r"big\.zip!Annotations/vid/0/00000\.png.*a 4x4 PNG can hold"):
        preds.raw_bytes("vid", "0", "00000")


def test_non_png_members_keep_the_fixed_limit() -> None:
    assert member_limit(b"GIF89a" + bytes(18), 10, "x") == MAX_MEMBER_BYTES
    with pytest.raises(DataFormatError, match="more than a mask PNG can hold"):
        member_limit(b"GIF89a" + bytes(18), MAX_MEMBER_BYTES + 1, "x")
