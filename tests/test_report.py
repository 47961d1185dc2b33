"""The HTML report: bootstrap statistics, SVG charts, overlay strips, and a report of real (small) runs."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lvsbench.cli import main
from lvsbench.pipeline.build import BuildOptions, build
from lvsbench.pipeline.cache import Cache
from lvsbench.report import ReportOptions, build_report, load_runs, render_report, svg
from lvsbench.report.overlay import CONTOUR_COLOURS, contrast_colour, draw, make_strip, png_data_uri
from lvsbench.report.runs import load_run
from lvsbench.report.stats import paired_bootstrap

REPO = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------------------------------------ statistics


def test_bootstrap_identical_runs_not_significant() -> None:
    a = np.random.default_rng(0).random(50)
    d = paired_bootstrap(a, a.copy(), replicates=300)
    assert d.diff == 0 and d.low == 0 and d.high == 0 and d.p_value == 1.0 and not d.significant


def test_bootstrap_detects_a_consistent_gain_and_is_deterministic() -> None:
    rng = np.random.default_rng(1)
    a = rng.random(200)
    b = np.clip(a + 0.05 + rng.normal(0, 0.02, 200), 0, 1)
    d = paired_bootstrap(a, b, replicates=500, seed=3)
    assert d.significant and 0 < d.low < d.diff < d.high and d.p_value < 0.01
    assert d == paired_bootstrap(a, b, replicates=500, seed=3)
    # pairing matters: the same numbers shuffled across samples lose the pairing and the tight interval
    loose = paired_bootstrap(a, rng.permutation(b), replicates=500, seed=3)
    assert (loose.high - loose.low) > 2 * (d.high - d.low)


def test_bootstrap_ratio_statistic_is_sum_over_sum() -> None:
    inter_a, union_a = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 4.0])
    inter_b, union_b = np.array([2.0, 2.0, 4.0]), np.array([2.0, 4.0, 4.0])
    d = paired_bootstrap(inter_a, inter_b, union_a, union_b, replicates=200)
    assert d.a == pytest.approx(6 / 10) and d.b == pytest.approx(8 / 10) and d.diff == pytest.approx(0.2)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=2, max_size=40))
def test_bootstrap_antisymmetric(pairs: list[tuple[float, float]]) -> None:
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    ab, ba = paired_bootstrap(a, b, replicates=100), paired_bootstrap(b, a, replicates=100)
    assert ab.diff == pytest.approx(-ba.diff, abs=1e-12)
    assert ab.low == pytest.approx(-ba.high, abs=1e-9) and ab.high == pytest.approx(-ba.low, abs=1e-9)
    assert ab.significant == ba.significant


# ------------------------------------------------------------------------------------------------ charts, strips


def test_charts_are_well_formed_svg() -> None:
    charts = [
        svg.bar_chart(["a", "b", "c"], {"x": [0.1, None, 0.9], "y": [0.5, 0.2, float("nan")]}, title="t <&>",
                      counts=[1, 2, 3]),
        svg.line_chart([0.5, 0.7, 0.9], {"run": [1.0, 0.5, float("nan")]}, title="p", xlabel="K"),
        svg.interval_chart(["m1", "m2"], [0.1, -0.2], [0.05, -0.3], [0.15, 0.1], title="ci"),
        svg.bar_chart([], {}, title="empty"),
    ]
    ns = "{http://www.w3.org/2000/svg}"
    for c in charts:
        root = ET.fromstring(c)
        assert root.tag == f"{ns}svg"
    bars = ET.fromstring(charts[0]).findall(f"{ns}rect")
    assert len([r for r in bars if r.find(f"{ns}title") is not None]) == 4  # None and NaN draw no bar


def test_strip_layout_and_png_round_trip() -> None:
    from PIL import Image

    rgb = np.full((40, 60, 3), 100, dtype=np.uint8)
    gt = np.zeros((40, 60), dtype=bool)
    gt[10:30, 10:30] = True
    yellow = CONTOUR_COLOURS[0]
    out = draw(rgb, gt, yellow)
    assert tuple(out[10, 10]) == yellow and tuple(out[0, 0]) == (100, 100, 100)  # contour; outside untouched
    assert tuple(out[9, 15]) == (0, 0, 0)  # dark halo just outside a light line
    assert tuple(out[20, 20]) == (100, 100, 100)  # a contour, not a fill: the object stays visible
    # the colour is chosen against the frame: on a yellow actor the contour is not yellow
    actor = rgb.copy()
    actor[gt] = yellow
    c = contrast_colour(actor, gt)
    assert c != yellow and tuple(draw(actor, gt)[10, 10]) != yellow
    strip = make_strip([(rgb, gt, None), (rgb, None, gt)], tile_height=20, gap=2)
    assert strip.shape == (42, 30 + 2 + 30, 3)
    uri = png_data_uri(strip)
    back = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))
    assert np.array_equal(back, strip)


# ------------------------------------------------------------------------------------------------ report of runs


def _recipe(entry: str, dataset: str, spec: str, split: str, protocol: str, kind: str | None = None,
            adapter: str | None = None) -> str:
    k = f'kind = "{kind}"\n' if kind else ""
    return (f'entry = "{entry}"\n{k}[model]\nadapter = "{adapter or entry}"\n[dataset]\nname = "{dataset}"\n'
            f'synthetic = {spec}\nsplit = "{split}"\n[score]\nprotocol = "{protocol}"\n')


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("report")
    r = base / "recipes"
    r.mkdir()
    for entry in ("oracle", "empty", "random"):
        kind = "baseline" if entry == "random" else None
        (r / f"synth-a2d-{entry}.toml").write_text(_recipe(entry, "a2d", "{ videos = 16, seed = 0 }", "test", "a2d",
                                                           kind))
    # a stand-in "model" (noise under another name): the report treats it as a method, not as a bound baseline
    (r / "synth-a2d-noisy.toml").write_text(_recipe("noisy", "a2d", "{ videos = 16, seed = 0 }", "test", "a2d",
                                                    "model", adapter="random"))
    for entry in ("oracle", "random"):
        kind = "baseline" if entry == "random" else None
        (r / f"synth-rdavis-{entry}.toml").write_text(_recipe(entry, "rdavis", "{ videos = 3, seed = 0 }", "val",
                                                              "rdavis", kind))
    build(BuildOptions(r, base / "out", Cache(base / "cache"), progress=False))
    return {"out": base / "out", "cache": base / "cache", "base": base}


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.srcs += [v or "" for k, v in attrs if k in ("src", "href")]


def test_report_sections_and_self_contained(runs_dir: dict[str, Path]) -> None:
    results = sorted((runs_dir["out"] / "results").glob("*.json"))
    runs = load_runs(results, runs_dir["cache"])
    html = render_report(runs, ReportOptions(replicates=200))
    p = _Collect()
    p.feed(html)
    assert p.tags["table"] >= 6 and p.tags["svg"] >= 4 and p.tags["img"] >= 4
    assert all(s.startswith(("data:image/png;base64,", "#")) for s in p.srcs)  # nothing fetched from anywhere
    for anchor in ("id=runs", "id=results", "id=breakdowns", "id=compare", "id=qualitative"):
        assert anchor in html
    assert "by objects per video" in html and "by actor class / category" in html
    assert "A = random vs B = noisy" in html or "A = empty vs B = noisy" in html
    # no significance test between two bound baselines (the rdavis group has only oracle and random)
    compare = html.split("id=compare")[1].split("</details>")[0]
    assert compare.count("<h3>A = ") == 1 and "B = random" not in compare and "B = oracle" not in compare
    # summary first, open; every other section collapsed; one line per run; values in percent
    assert html.index("<details id=summary open>") < html.index("<table") < html.index("<details id=results>")
    summary = html.split("<details id=summary open>")[1].split("</details>")[0]
    assert "contrasting" not in summary and "every sample has a target" in summary.lower()
    assert summary.count("<td class=\"l\">noisy</td>") == 1 and ">100.00</td>" in summary
    assert "P@K (%)" in html and "difference (percentage points)" in html
    assert "paired bootstrap 95% confidence interval" in html
    assert "Best</h4>" in html and "Worst</h4>" in html
    assert render_report(runs, ReportOptions(replicates=200)) == html  # deterministic


def test_report_cli_and_scorer_results(runs_dir: dict[str, Path], tmp_path: Path) -> None:
    from lvsbench.pipeline.engine import open_dataset
    from lvsbench.scoring import score, write_results

    res = runs_dir["out"] / "results"
    out = tmp_path / "r.html"
    args = ["report", *map(str, sorted(res.glob("synth-a2d-*.json"))), "--out", str(out), "--cache",
            str(runs_dir["cache"]), "--replicates", "100", "--pair", "oracle", "noisy"]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 0 and "A = oracle vs B = noisy" in out.read_text()
    with pytest.raises(SystemExit) as exc:  # two bound baselines are not compared
        main([*args[:-2], "oracle", "random", "--force"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2  # exists, no --force
    # a plain `lvsbench score --out x.json --per-sample x.samples.csv` result is read too
    data = next((runs_dir["cache"] / "synth-a2d").iterdir()) / "data"
    preds = load_run(res / "synth-a2d-random.json", runs_dir["cache"]).predictions
    assert preds is not None and preds.name == "coco_results.json"
    ds = open_dataset("a2d", data, "test")
    sr = score(preds, ds, "a2d")
    write_results(sr, tmp_path / "x.json", tmp_path / "x.samples.csv")
    run = load_run(tmp_path / "x.json")
    assert run.samples is not None and len(run.samples) == sr.results["counts"]["samples"]
    assert run.values == pytest.approx(sr.values, nan_ok=True)
    build_report([tmp_path / "x.json"], tmp_path / "x.html", ReportOptions(replicates=50))
    assert "<svg" in (tmp_path / "x.html").read_text()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_report_renders_in_headless_chromium(runs_dir: dict[str, Path], tmp_path: Path) -> None:
    from PIL import Image

    html = build_report(sorted((runs_dir["out"] / "results").glob("*.json")), tmp_path / "r.html",
                        ReportOptions(replicates=100, cache_root=runs_dir["cache"]))
    png = tmp_path / "shot.png"
    subprocess.run([str(REPO / "scripts" / "screenshot_report.sh"), str(html), str(png), "1200", "1400"],
                   check=True, timeout=120, capture_output=True)
    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape == (1400, 1200, 3)
    assert (img < 250).any(axis=2).mean() > 0.02  # the page is drawn, not blank
    # the DOM Chromium built: the first table is the summary's, and the other sections start collapsed
    dom = subprocess.run([str(REPO / "scripts" / "screenshot_report.sh"), "--dump-dom", str(html)], check=True,
                         timeout=120, capture_output=True, text=True).stdout
    assert '<details id="summary" open="">' in dom
    assert dom.index('id="summary"') < dom.index("<table") < dom.index('<details id="results">')
    assert '<details id="compare">' in dom and '<details id="compare" open' not in dom


def test_report_lists_published_rows_of_the_covered_datasets(runs_dir: dict[str, Path]) -> None:
    """`--reported`: the papers' rows for the runs' datasets and protocols (a2d here; the a2d runs' dataset is
    synthetic A2D, so the rows sit beside them with the caveat), audited, never mixing mAP definitions."""
    reported = Path(__file__).resolve().parents[1] / "leaderboards" / "reported"
    results = sorted((runs_dir["out"] / "results").glob("*.json"))
    runs = load_runs(results, runs_dir["cache"])
    html = render_report(runs, ReportOptions(replicates=50, reported_dir=reported))
    assert "id=reported" in html and "<a href=#reported>Published</a>" in html
    assert "<h3>a2d · a2d</h3>" in html and "<h3>jhmdb · jhmdb</h3>" not in html  # only what the runs cover
    assert "<h3>rdavis · rdavis</h3>" in html  # the synth-rdavis runs
    section = html.split("id=reported")[1].split("</details>")[0]
    assert "<code>coco mAP 0.5:0.95</code>" in section and "<code>prec_mAP</code>" in section
    assert "<code>mAP</code>" not in section and "Video-Swin-T" in section and "46.1" in section
    assert "id=reported" not in render_report(runs, ReportOptions(replicates=50))


def test_protocol_facts_come_from_the_protocol() -> None:
    """The summary note, the contrasting-frames note of A2D-S_t, the subset comparison and the per-sample keys are
    `Protocol` fields (summary, data_notes, subset_of, aggregate), not tables keyed by protocol name."""
    from lvsbench.report.html import SUBSET_PROTOCOLS, protocol_note
    from lvsbench.report.runs import Run

    def run(protocol: str, dataset: str) -> Run:
        return Run(Path("x.json"), "m", "g", f"synth-{dataset}", protocol, "test", "", {}, None, None, None,
                   {"name": dataset})

    t, m = protocol_note(run("a2d-plus", "a2d-plus-t")), protocol_note(run("a2d-plus", "a2d-plus-m"))
    assert t.startswith(m) and "contrasting frames" in t and "contrasting" not in m
    assert protocol_note(run("no-such-protocol", "x")) == "" and SUBSET_PROTOCOLS == {"a2d", "a2d-plus"}
    assert run("rdavis", "rdavis").key_columns == ("run", "video_id", "object_id")
    assert run("a2d", "a2d").key_columns == ("video_id", "exp_id", "frame")
    assert run("mevis", "mevis").key_columns == ("video_id", "exp_id") == run("x", "x").key_columns
