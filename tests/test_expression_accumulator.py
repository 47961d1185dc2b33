"""The per-expression accumulator (`lvsbench.scoring.expressions.ExpressionAccumulator`) on `lvsbench synth` data:
per-expression results merged in any grouping and order give the same bits as one accumulator fed in meta order
(figures, official view, per-sample rows), and scoring with two worker processes gives the same bits as one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lvsbench.datasets.registry import load
from lvsbench.formats.png_tree import PngTreePredictions, write_png_prediction
from lvsbench.formats.raw_png import RawPngTree
from lvsbench.formats.rle_results import RleResultsPredictions, write_rle_results
from lvsbench.metrics.accumulate import Accumulator
from lvsbench.protocols import PROTOCOLS
from lvsbench.scoring.expression_drivers import score_expressions
from lvsbench.scoring.expressions import ExpressionAccumulator, ExpressionResult
from lvsbench.synth import get_writer

SPLIT = {"mevis": "valid_u", "revos": "valid", "refsav": "valid", "long-rvos": "valid", "reasonvos": None}
CASES = [("mevis", "mevis"), ("mevis", "mevis-v2"), ("revos", "revos"), ("revos", "revos-visa-png"),
         ("refsav", "refsav"), ("long-rvos", "long-rvos"), ("reasonvos", "reasonvos")]


def _prediction(ds: Any, e: Any, f: str) -> np.ndarray:
    if hasattr(ds, "target_sum"):
        return ds.target_sum(e, f)
    m = ds.read_object_mask(e.video_id, e.object_ids[0], f)
    video = ds.videos()[e.video_id]
    return np.zeros((video.height, video.width), dtype=bool) if m is None else m


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Any]]:
    """Per dataset: the reader and imperfect predictions (shifted, some empty, one expression and some frames
    missing, one video missing)."""
    base = tmp_path_factory.mktemp("accumulate")
    out = {}
    for name, split in SPLIT.items():
        root = get_writer(name)(base / name, videos=9, seed=3, height=32, width=48, frames=4)
        ds = load(name, root, split)
        exprs = ds.expressions()
        gone_video = exprs[-1].video_id
        items = []
        for i, e in enumerate(exprs):
            if i == 1 or e.video_id == gone_video:
                continue
            folder = ds.prediction_video(e) if hasattr(ds, "prediction_video") else e.video_id
            kept = [f for t, f in enumerate(e.frames) if not ((i == 2 and t == 0) or (i == 3 and t == 2))]
            masks = [np.roll(m, i % 4, axis=1) if i % 5 else np.zeros_like(m)
                     for m in (_prediction(ds, e, f) for f in kept)]
            items.append((e.video_id, e.id, kept[:len(kept) - (i == 3)], masks[:len(kept) - (i == 3)]))
            for f, m in zip(kept, masks, strict=True):
                write_png_prediction(base / f"{name}_pred" / "Annotations", folder, e.id, f, m)
        preds = base / f"{name}_pred"
        if name == "refsav":  # Sa2VA's results JSON: a missing frame is a missing last mask
            out[name] = (ds, RleResultsPredictions(write_rle_results(base / "results.json", items)))
        else:
            out[name] = (ds, RawPngTree(preds) if hasattr(ds, "target_sum") else PngTreePredictions(preds))
    return out


def _bits(x: Any) -> Any:
    """`x` with every float as its exact bit pattern (NaN included) and its type kept, for `==`."""
    if isinstance(x, dict):
        return {k: _bits(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_bits(v) for v in x]
    if isinstance(x, float | np.floating):
        return ("float", float(x).hex())
    return (type(x).__name__, x)


def _summary(acc: ExpressionAccumulator) -> Any:
    return _bits({"compute": acc.compute(), "official": acc.official_equivalent(), "view": acc.official_view(),
                  "rows": acc.per_sample_frame(key=True).to_dict("records")})


_ROWS: dict[str, list[ExpressionResult]] = {}


def _results(scored: dict[str, tuple[Any, Any]], name: str, protocol: str) -> list[ExpressionResult]:
    if protocol not in _ROWS:
        ds, preds = scored[name]
        acc = score_expressions(ds, preds, PROTOCOLS[protocol])
        assert isinstance(acc, Accumulator)
        _ROWS[protocol] = acc.rows()
    rows = _ROWS[protocol]
    assert sum(bool(r.missing) for r in rows) >= 3 and len({r.video_id for r in rows}) >= 3
    return rows


@pytest.mark.parametrize(("name", "protocol"), CASES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_merging_in_any_grouping_gives_the_same_bits(scored: dict[str, tuple[Any, Any]], name: str, protocol: str,
                                                     data: st.DataObject) -> None:
    rows = _results(scored, name, protocol)
    proto = PROTOCOLS[protocol]
    one = ExpressionAccumulator(proto)
    for r in rows:
        one.update(r)
    shuffled = data.draw(st.permutations(rows))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(rows)), max_size=6)))
    parts = []
    for lo, hi in zip([0, *cuts], [*cuts, len(rows)], strict=True):
        acc = ExpressionAccumulator(proto)
        for r in shuffled[lo:hi]:
            acc.update(r)
        parts.append(acc)
    while len(parts) > 1:  # a random merge tree
        i, j = data.draw(st.lists(st.integers(0, len(parts) - 1), min_size=2, max_size=2, unique=True))
        parts[i].merge(parts[j])
        del parts[j]
    assert _summary(parts[0]) == _summary(one)


@pytest.mark.parametrize(("name", "protocol"), CASES)
def test_two_workers_give_the_same_bits_as_one(scored: dict[str, tuple[Any, Any]], name: str, protocol: str) -> None:
    ds, preds = scored[name]
    one = score_expressions(ds, preds, PROTOCOLS[protocol], workers=1)
    two = score_expressions(ds, preds, PROTOCOLS[protocol], workers=2)
    assert _bits([r.__dict__ for r in two.rows()]) == _bits([r.__dict__ for r in one.rows()])
    assert _summary(two) == _summary(one)


def test_merge_refuses_an_expression_twice_or_another_protocol(scored: dict[str, tuple[Any, Any]]) -> None:
    ds, preds = scored["mevis"]
    acc = score_expressions(ds, preds, PROTOCOLS["mevis"])
    with pytest.raises(ValueError, match="merged twice"):
        score_expressions(ds, preds, PROTOCOLS["mevis"]).merge(acc)
    with pytest.raises(ValueError, match="cannot merge"):
        ExpressionAccumulator(PROTOCOLS["mevis-v2"]).merge(acc)
