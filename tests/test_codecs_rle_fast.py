"""The COCO RLE path (`rle_problem`'s numpy validation, `rle_decode`'s row-major pycocotools decode) against the
references: pycocotools' `mask.decode` for the pixels, and the pure-Python counts-string decoder
(`_rle_string_runs`, kept as the exact fallback) for every verdict and message, on valid RLEs (random, empty, full,
1-pixel, non-square, zero-size, list counts) and on damaged strings (characters outside the alphabet, cut-off and
over-long groups)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as coco_mask

from lvsbench.core import codecs
from lvsbench.core.codecs import rle_decode, rle_problem


def _ref_problem(rle: Any) -> str | None:
    """`rle_problem` as it was before the numpy path: every counts string decoded by `_rle_string_runs`."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        return "segmentation must be an RLE {size, counts}"
    size = rle["size"]
    if not (isinstance(size, list | tuple) and len(size) == 2
            and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in size)):
        return f"segmentation size {size!r} is not [H, W]"
    h, w = size
    if h * w > codecs.MAX_MASK_PIXELS:
        return f"segmentation size {h}x{w} is larger than {codecs.MAX_MASK_PIXELS} pixels"
    counts = rle["counts"]
    if isinstance(counts, list):
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            return "counts list must hold non-negative integers"
        runs = counts
    elif isinstance(counts, str | bytes):
        try:
            raw = counts.encode("ascii") if isinstance(counts, str) else counts
            runs = codecs._rle_string_runs(raw)
        except (UnicodeEncodeError, ValueError) as exc:
            return f"counts string is not COCO RLE: {exc}"
        if any(r < 0 for r in runs):
            return "counts string decodes to a negative run length"
    else:
        return "counts must be a string or a list"
    total = sum(runs)
    if total != h * w:
        return f"counts cover {total} pixels, the size {h}x{w} has {h * w}"
    return None


def _ref_decode(rle: dict) -> np.ndarray:
    """pycocotools' decode, as `rle_decode` called it before."""
    h, w = rle["size"]
    counts = rle["counts"]
    if isinstance(counts, list):
        obj = coco_mask.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    else:
        obj = {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    return coco_mask.decode(obj).astype(bool)


@st.composite
def _masks(draw: st.DrawFn) -> np.ndarray:
    h = draw(st.integers(1, 40))
    w = draw(st.integers(1, 40))
    kind = draw(st.sampled_from(["noise", "blob", "empty", "full", "pixel", "border"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    m = np.zeros((h, w), bool)
    if kind == "noise":
        m = rng.random((h, w)) < rng.random()
    elif kind == "blob":
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        m[y0:y0 + int(rng.integers(1, h + 1)), x0:x0 + int(rng.integers(1, w + 1))] = True
    elif kind == "full":
        m[:] = True
    elif kind == "pixel":
        m[int(rng.integers(0, h)), int(rng.integers(0, w))] = True
    elif kind == "border":
        m[0, :] = m[:, -1] = True
    return m


@settings(max_examples=200, deadline=None)
@given(_masks(), st.booleans())
def test_decode_equals_pycocotools(mask: np.ndarray, as_list: bool) -> None:
    enc = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle: dict[str, Any] = {"size": [int(s) for s in enc["size"]], "counts": enc["counts"].decode("ascii")}
    if as_list:
        rle["counts"] = [int(r) for r in codecs._rle_string_runs(enc["counts"])]
    assert rle_problem(rle) is None and _ref_problem(rle) is None
    got = rle_decode(rle)
    assert got.dtype == np.bool_ and got.shape == mask.shape and got.flags.c_contiguous and got.flags.writeable
    np.testing.assert_array_equal(got, _ref_decode(rle))
    np.testing.assert_array_equal(got, mask)


def test_zero_size_and_large_frames() -> None:
    for h, w in ((0, 0), (0, 5), (4, 0)):
        for counts in ("", [], [0]):
            rle = {"size": [h, w], "counts": counts}
            assert rle_problem(rle) == _ref_problem(rle)
            if rle_problem(rle) is None:
                assert rle_decode(rle).shape == (h, w)
    mask = np.zeros((480, 854), bool)
    mask[100:300, 200:260] = True
    mask[479, 853] = True
    rle = codecs.rle_encode(mask)
    np.testing.assert_array_equal(rle_decode(rle), mask)
    np.testing.assert_array_equal(rle_decode(rle), _ref_decode(rle))


_ALPHABET = [chr(c) for c in range(40, 120)]


def _damaged(mask: np.ndarray, edits: list[tuple[int, str, bool]], cut: int) -> str:
    """The counts string of `mask` with characters inserted or replaced (`edits`), cut to `cut` characters (60 and
    more: not cut)."""
    s = list(codecs.rle_encode(mask)["counts"])
    for pos, ch, insert in edits:
        if insert or not s:
            s.insert(pos % (len(s) + 1), ch)
        else:
            s[pos % len(s)] = ch
    return "".join(s)[: cut if cut < 60 else None]


@settings(max_examples=400, deadline=None)
@given(_masks(), st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(_ALPHABET), st.booleans()), max_size=4),
       st.integers(0, 60), st.sampled_from(["keep", "other", "big"]))
def test_verdicts_on_damaged_strings_equal_the_python_decoder(mask: np.ndarray, edits: list[tuple[int, str, bool]],
                                                              cut: int, size: str) -> None:
    counts = _damaged(mask, edits, max(cut, 1))
    h, w = mask.shape
    shape = {"keep": [h, w], "other": [w, h + 1], "big": [480, 854]}[size]
    for c in (counts, counts.encode("ascii")):
        rle = {"size": shape, "counts": c}
        assert rle_problem(rle) == _ref_problem(rle)
        if rle_problem(rle) is None:
            np.testing.assert_array_equal(rle_decode(rle), _ref_decode(rle))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**40), 2**40), max_size=12))
def test_fast_runs_equal_python_runs_or_defer(values: list[int]) -> None:
    """Long groups (values beyond 30 bits: 7..9 characters) defer to the Python decoder; short ones decode equal."""
    raw = _encode_values(values)
    fast = codecs._rle_string_runs_fast(raw)
    exact = codecs._rle_string_runs(raw)
    if fast is None:
        assert any(not -(2**29) <= x < 2**29 for x in _deltas(values))
    else:
        assert fast.tolist() == exact


def _deltas(runs: list[int]) -> list[int]:
    return [r - runs[i - 2] if i > 2 else r for i, r in enumerate(runs)]


def _encode_values(runs: list[int]) -> bytes:
    """COCO `rleToString` for arbitrary (also negative) runs: delta from run i - 2 for i > 2, 5-bit groups."""
    out = bytearray()
    for x in _deltas(runs):
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = not ((x == 0 and not c & 0x10) or (x == -1 and c & 0x10))
            out.append(c + 48 + (0x20 if more else 0))
    return bytes(out)


def test_messages_of_each_rule() -> None:
    cases = [
        {"size": [2, 2], "counts": "4"},  # valid
        {"size": [2, 2], "counts": "0~"},  # outside the alphabet
        {"size": [2, 2], "counts": "0P"},  # cut-off group (continuation bit on the last character)
        {"size": [2, 2], "counts": "o" * 14 + "0"},  # a group of 15 characters
        {"size": [2, 2], "counts": "0" + "o" * 7 + "0"},  # a 9-character group: deferred, total differs
        {"size": [2, 2], "counts": "3@"},  # a negative run (0x10 set on a last character: -16)
        {"size": [2, 2], "counts": "5"},  # covers 5 pixels
    ]
    for rle in cases:
        assert rle_problem(rle) == _ref_problem(rle)
    assert [rle_problem(r) is None for r in cases] == [True, False, False, False, False, False, False]


def _rle_variants(mask: np.ndarray, edits: list[tuple[int, str, bool]], cut: int, size: str, kind: str) -> Any:
    """An RLE of `mask`, damaged by `edits` / `cut`, sized `size`, with counts as a string, bytes or a list, or
    something that is not an RLE at all."""
    if kind == "junk":
        return [None, {"size": [2, 2]}, {"size": [2, True], "counts": "4"}, {"size": [2, 2], "counts": 4},
                {"size": [2, 2], "counts": "é"}, {"size": [1 << 14, 1 << 14], "counts": "0"}][cut % 6]
    counts = _damaged(mask, edits, cut)
    h, w = mask.shape
    shape = {"keep": [h, w], "other": [w, h + 1], "big": [480, 854]}[size]
    if kind == "list":
        return {"size": shape, "counts": codecs._rle_string_runs(codecs.rle_encode(mask)["counts"].encode())}
    return {"size": shape, "counts": counts.encode("ascii") if kind == "bytes" else counts}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_masks(), st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(_ALPHABET),
                                                        st.booleans()), max_size=2),
                          st.integers(0, 60), st.sampled_from(["keep", "other", "big"]),
                          st.sampled_from(["str", "str", "str", "bytes", "list", "junk"])), max_size=12),
       st.booleans())
def test_batched_verdicts_equal_one_by_one(items: list[Any], clean: bool) -> None:
    """`rle_problems` (strings decoded together) == `rle_problem` on each, on mixes of valid, damaged, list-counts
    and malformed RLEs; with `clean`, only undamaged strings, so that the vectorised pass runs (one damaged string
    sends the whole batch through `rle_problem`)."""
    rles = [_rle_variants(m, [] if clean else e, 60 if clean else cut, size, kind) for m, e, cut, size, kind in items]
    assert codecs.rle_problems(rles) == [rle_problem(r) for r in rles]


def test_batched_verdicts_of_each_rule() -> None:
    """Valid, empty, negative-run and wrong-total strings in one vectorised pass (no string deferred)."""
    cases = [
        {"size": [2, 2], "counts": "4"},
        {"size": [0, 0], "counts": ""},
        {"size": [2, 2], "counts": ""},
        {"size": [2, 2], "counts": "3@"},  # a negative run
        {"size": [2, 2], "counts": "5"},  # covers 5 pixels
        codecs.rle_encode(np.eye(40, dtype=bool)),
        {"size": [480, 854], "counts": codecs.rle_encode(np.ones((480, 854), bool))["counts"].encode()},
    ]
    assert codecs._string_batch_problems([((r["size"][0], r["size"][1]),
                                           r["counts"] if isinstance(r["counts"], bytes) else r["counts"].encode())
                                          for r in cases]) is not None
    got = codecs.rle_problems(cases)
    assert got == [rle_problem(r) for r in cases]
    assert [g is None for g in got] == [True, True, False, False, False, True, True]
