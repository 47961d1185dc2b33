"""One table of metric names (`lvsbench.metrics.names`): for every protocol, a score on synthetic data writes
exactly the names of `protocol.metrics` as the keys of `values` (and vice versa, in order), each defined in the
table; the leaderboard columns and docs/metrics.md come from the same table."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvsbench.adapters.registry import create_adapter
from lvsbench.datasets.registry import load
from lvsbench.formats.davis_anno import write_palette_prediction
from lvsbench.leaderboard.render import METRIC_ORDER, Row, render_csv, shown_in_markdown
from lvsbench.metrics.names import METRICS, markdown_table
from lvsbench.protocols import PER_EXPRESSION, PROTOCOLS
from lvsbench.run.runner import RunOptions, run
from lvsbench.scoring import score
from lvsbench.synth import get_writer

REPO = Path(__file__).resolve().parents[1]
SIZE = {"height": 32, "width": 48, "frames": 4}
CASES = {  # dataset -> (split, videos, [(prediction format, protocols scored on it)])
    "a2d": ("test", 6, [("coco-json", ("a2d",)), ("png-tree", ("a2d-plus",))]),
    "jhmdb": ("test", 4, [("coco-json", ("jhmdb",))]),
    "ryvos": ("train", 4, [("png-tree", ("ryvos",))]),
    "rdavis": ("val", 4, [("davis-anno", ("rdavis", "rdavis-aligned", "davis-semi"))]),
    # the 2023-2026 benchmarks (native readers, one row per expression; no --by)
    "mevis": ("valid_u", 3, [("png-tree", ("mevis", "mevis-v2"))]),
    "revos": ("valid", 3, [("png-tree", ("revos", "revos-visa-png"))]),
    "refsav": ("valid", 3, [("rle-json", ("refsav",))]),
    "long-rvos": ("valid", 3, [("png-tree", ("long-rvos",))]),
    "reasonvos": (None, 3, [("png-tree", ("reasonvos",))]),
}


def _scores(tmp: Path) -> list:
    out = []
    for name, (split, videos, formats) in CASES.items():
        size = {**SIZE, "frames": 10} if name in ("a2d", "jhmdb") else SIZE  # A2D/J-HMDB annotate a few frames
        root = get_writer(name)(tmp / name, videos=videos, seed=1, **size)
        ds = load(name, root, split)
        for fmt, protocols in formats:
            preds = run(create_adapter("random"), ds, RunOptions(out=tmp / f"{name}-{fmt}", progress=False,
                                                                 format=fmt)).predictions
            out += [score(preds, ds, p, by=None if p in PER_EXPRESSION else "num_objects_bin")
                    for p in protocols]
    root = get_writer("davis")(tmp / "davis", videos=4, seed=1, **SIZE)
    ds = load("davis", root)
    for vid in ds.videos():
        for f in ds.annotated_frames(vid):
            write_palette_prediction(tmp / "davis-preds", None, vid, f, ds.read_labels(vid, f) % 255)
    out.append(score(tmp / "davis-preds", ds))
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list:
    return _scores(tmp_path_factory.mktemp("names"))


def test_every_protocol_writes_exactly_its_metric_names(results: list) -> None:
    assert {r.protocol.name for r in results} == set(PROTOCOLS)
    for r in results:
        names = r.results["protocol"]["metrics"]
        assert names == list(r.values) == list(r.results["values"]), r.protocol.name
        assert list(r.summary["metric"]) == names
        assert all(n in METRICS for n in names), r.protocol.name
        assert [c for c in r.per_group.columns if c not in ("num_objects_bin", "group", "n")] == names
        assert r.results["units"] == {n: METRICS[n].unit for n in names}
        # leaderboards: every name is a column, in the table's order, and the CSV carries the same strings
        assert [m for m in METRIC_ORDER if m in names] == sorted(names, key=METRIC_ORDER.index)
        csv = render_csv([Row("lb", r.protocol.name, "s", "e", "reproduced", "bound", dict(r.values), "ref")])
        assert {line.split(",")[6].strip('"') for line in csv.splitlines()[1:]} <= set(names)


def test_table_is_the_only_spelling() -> None:
    assert list(METRIC_ORDER) == list(METRICS)
    assert not any("_mAP" in m and m.startswith("coco") for m in METRICS)  # no coco_mAP alias
    assert shown_in_markdown("coco mAP 0.5:0.95") and not shown_in_markdown("coco AR@100 0.5:0.95 S")
    assert {m.direction for m in METRICS.values()} == {"higher", "lower"}
    assert [m.name for m in METRICS.values() if m.direction == "lower"] == ["J-Decay", "F-Decay"]


def test_docs_carry_the_table() -> None:
    doc = (REPO / "docs" / "metrics.md").read_text()
    assert markdown_table() in doc, "docs/metrics.md: paste lvsbench.metrics.names.markdown_table() output"


def test_protocols_doc_names_only_table_metrics() -> None:
    """docs/protocols.md's protocol table: each row's metrics column names only table metrics, and names the first
    and last metric of that protocol (rows abbreviate runs with '…')."""
    import re

    rows = [line for line in (REPO / "docs" / "protocols.md").read_text().splitlines()
            if re.match(r"\| `[a-z0-9-]+` \| ", line)]
    seen = set()
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        proto = cells[0].strip("`")
        if proto not in PROTOCOLS:
            continue
        seen.add(proto)
        named = re.findall(r"`([^`]+)`", cells[-1])
        if named == ["a2d"] or cells[-1].startswith("as "):
            continue  # "as `a2d`", "as `rdavis`"
        assert named and all(n in METRICS for n in named), (proto, named)
        metrics = PROTOCOLS[proto].metrics
        assert metrics[0] in named and (metrics[-1] in named or "…" in cells[-1]), (proto, named)
    assert seen == set(PROTOCOLS)
