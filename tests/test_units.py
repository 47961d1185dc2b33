"""One unit per number: a value is stored as a full-precision fraction (results JSON, `--json`) with its unit named
next to it, and printed as percent with two decimals everywhere (score table, leaderboard CSV and Markdown, report);
COCO's "not applicable" (-1) prints as n/a. The unit comes from the metric-name table only."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from lvsbench.cli import main
from lvsbench.metrics.names import METRICS, format_value, printed_unit
from lvsbench.pipeline.build import BuildOptions, build
from lvsbench.pipeline.cache import Cache


def test_format_value_is_percent_and_na() -> None:
    assert format_value("mean_iou", 0.46104) == "46.10"
    assert format_value("coco AP 0.5:0.95 S", -1.0) == "n/a"
    assert format_value("J-Decay", -0.00001) == "0.00" and format_value("J-Decay", 0.1234, signed=True) == "+12.34"
    assert printed_unit("J&F") == "percent" and printed_unit("F-Decay") == "percentage points"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("units")
    r = base / "recipes"
    r.mkdir()
    (r / "synth-a2d-random.toml").write_text(
        'entry = "random"\nkind = "bound"\n[model]\nadapter = "random"\n[dataset]\nname = "a2d"\n'
        'synthetic = { videos = 12, seed = 0 }\nsplit = "test"\n[score]\nprotocol = "a2d"\n')
    build(BuildOptions(r, base / "out", Cache(base / "cache"), progress=False))
    return base / "out"


def test_results_json_csv_and_leaderboard_agree(built: Path) -> None:
    doc = json.loads((built / "results" / "synth-a2d-random.json").read_text())
    values, units = doc["values"], doc["units"]
    assert set(units) == set(values) and all(units[k] == METRICS[k].unit for k in values)
    rows = list(csv.DictReader(io.StringIO((built / "leaderboards" / "synth-a2d.csv").read_text())))
    by_metric = {r["metric"]: r for r in rows if r["entry"] == "random"}
    assert by_metric, "no leaderboard rows"
    for name, row in by_metric.items():
        assert row["unit"] == printed_unit(name) == "percent"
        assert row["value"] == format_value(name, values[name])
        assert float(row["value"]) == pytest.approx(100 * values[name], abs=0.005)
    md = (built / "leaderboards" / "synth-a2d.md").read_text()
    line = next(x for x in md.splitlines() if x.startswith("| 1 | random"))
    assert f"| {format_value('mean_iou', values['mean_iou'])} |" in line
    # COCO's -1 (no small objects in this data) is never printed as -1
    minus = [k for k, v in values.items() if v == -1.0]
    assert all(k not in by_metric for k in minus) and "-1" not in line.replace("–", "")


def test_score_table_prints_percent_and_json_keeps_precision(built: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads((built / "results" / "synth-a2d-random.json").read_text())
    cache = built.parent / "cache"
    data = next((cache / "synth-a2d").iterdir()) / "data"
    preds = cache / doc["score"]["predictions"]["path"].removeprefix("cache:")
    args = ["score", str(preds), "--dataset", "a2d", "--root", str(data), "--split", "test"]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "percent" in text and "-1.0000" not in text and " -1" not in text
    for name, v in doc["values"].items():
        assert f"{name} " in text and format_value(name, v) in text.split(f"  {name} ", 1)[1].splitlines()[0]
    if any(v == -1.0 for v in doc["values"].values()):
        assert "n/a" in text
    with pytest.raises(SystemExit) as exc:
        main([*args, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["values"] == doc["values"] and out["units"] == doc["units"]  # full precision, unit named
