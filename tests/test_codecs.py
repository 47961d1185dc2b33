"""Round trips of every mask codec (property tests over sizes incl. 1x1 and odd sizes, empty/full masks, 255 ids)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from lvsbench.core.codecs import (
    DAVIS_PALETTE,
    encode_binary_png,
    encode_palette_png,
    label_map_to_masks,
    masks_to_label_map,
    read_binary_png,
    read_palette_png,
    rle_area,
    rle_decode,
    rle_encode,
)
from lvsbench.core.errors import DataFormatError

shapes = st.tuples(st.integers(1, 37), st.integers(1, 41))


def bool_masks() -> st.SearchStrategy[np.ndarray]:
    return shapes.flatmap(lambda s: st.one_of(
        arrays(np.bool_, s),
        st.just(np.zeros(s, dtype=bool)),
        st.just(np.ones(s, dtype=bool)),
    ))


def label_maps(max_id: int = 255) -> st.SearchStrategy[np.ndarray]:
    return shapes.flatmap(lambda s: arrays(np.uint8, s, elements=st.integers(0, max_id)))


@settings(max_examples=80, deadline=None)
@given(bool_masks())
def test_rle_round_trip(mask: np.ndarray) -> None:
    rle = rle_encode(mask)
    assert isinstance(rle["counts"], str)
    assert rle["size"] == list(mask.shape)
    np.testing.assert_array_equal(rle_decode(rle), mask)
    assert rle_area(rle) == int(mask.sum())


def test_rle_uncompressed_counts() -> None:
    mask = np.zeros((3, 4), dtype=bool)
    mask[1, 2] = True  # column-major: index 2*3+1 = 7
    rle = {"size": [3, 4], "counts": [7, 1, 4]}
    np.testing.assert_array_equal(rle_decode(rle), mask)


@settings(max_examples=80, deadline=None)
@given(bool_masks())
def test_binary_png_round_trip(mask: np.ndarray) -> None:
    data = encode_binary_png(mask)
    img = Image.open(io.BytesIO(data))
    assert img.mode == "L"
    assert set(np.unique(np.asarray(img))) <= {0, 255}
    np.testing.assert_array_equal(read_binary_png(data), mask)


@settings(max_examples=40, deadline=None)
@given(label_maps())
def test_binary_png_any_nonzero_is_foreground(values: np.ndarray) -> None:
    buf = io.BytesIO()
    Image.fromarray(values, mode="L").save(buf, format="PNG")
    np.testing.assert_array_equal(read_binary_png(buf.getvalue()), values != 0)


@settings(max_examples=80, deadline=None)
@given(label_maps())
def test_palette_png_round_trip_preserves_indices(lab: np.ndarray) -> None:
    data = encode_palette_png(lab)
    img = Image.open(io.BytesIO(data))
    assert img.mode == "P"
    np.testing.assert_array_equal(read_palette_png(data), lab)


def test_palette_differs_from_luminance() -> None:
    """Reading a palette PNG as grayscale (what cv2 does) changes ids; our reader keeps them."""
    lab = np.array([[0, 1, 2, 3]], dtype=np.uint8)
    data = encode_palette_png(lab)
    lum = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    assert not np.array_equal(lum, lab)
    np.testing.assert_array_equal(read_palette_png(data), lab)


def test_davis_palette_first_colours() -> None:
    assert DAVIS_PALETTE[:4].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]]


def test_non_palette_rejected(tmp_path) -> None:
    p = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((2, 2, 3), dtype=np.uint8)).save(p)
    with pytest.raises(DataFormatError, match="rgb.png.*not a palette"):
        read_palette_png(p)


def test_corrupt_png_names_file(tmp_path) -> None:
    p = tmp_path / "bad.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(DataFormatError, match="bad.png"):
        read_binary_png(p)


@settings(max_examples=80, deadline=None)
@given(label_maps(max_id=254))
def test_label_map_masks_round_trip(lab: np.ndarray) -> None:
    masks = label_map_to_masks(lab)
    assert all(m.dtype == bool and m.shape == lab.shape for m in masks.values())
    assert set(masks) == {int(i) for i in np.unique(lab)} - {0}
    np.testing.assert_array_equal(masks_to_label_map(masks, lab.shape), lab)


def test_label_map_up_to_255_ids() -> None:
    lab = np.arange(256, dtype=np.uint8).reshape(16, 16)
    masks = label_map_to_masks(lab, ignore=(0,))
    assert len(masks) == 255
    np.testing.assert_array_equal(masks_to_label_map(masks, lab.shape), lab)


def test_overlapping_masks_rejected() -> None:
    a = np.ones((2, 2), dtype=bool)
    with pytest.raises(ValueError, match="overlaps"):
        masks_to_label_map({1: a, 2: a})
