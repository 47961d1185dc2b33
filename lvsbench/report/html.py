"""The HTML report: one self-contained file (inline CSS, inline SVG charts, PNGs as data URIs), readable offline.

Written to be read in two minutes: the summary comes first (one table per data/protocol group, one line per run,
the best non-baseline value of each column in bold, a one-line note on what the protocol's numbers mean); every
other section is collapsed (`<details>`): charts per protocol; runs; breakdowns by objects per video, actor class,
expression length and subset (Locater TPAMI Table VII style); paired comparisons with bootstrap 95% confidence
intervals (never between two bound baselines: oracle, empty, full, random); qualitative strips of ground truth vs
prediction for the best and worst samples. All numbers are percent with two decimals
(`lvsbench.metrics.names.format_value`). The output is deterministic (no timestamps; seeded bootstrap).

Size: one page whose sections share the group, column and table helpers; charts (`svg`), images (`overlay`) and
statistics (`stats`) are already apart.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lvsbench import __version__
from lvsbench.adapters.bound import BOUND_ADAPTERS
from lvsbench.core.errors import ConfigError
from lvsbench.leaderboard.render import metric_columns, shown_in_markdown
from lvsbench.metrics.names import METRICS, as_percent, format_value
from lvsbench.protocols import PROTOCOLS
from lvsbench.report import svg
from lvsbench.report.overlay import make_strip, png_data_uri
from lvsbench.report.runs import Run, open_dataset
from lvsbench.report.stats import PairedDiff, paired_bootstrap

BREAKDOWNS: tuple[tuple[str, str], ...] = (
    ("num_objects_bin", "objects per video"),
    ("category", "actor class / category"),
    ("num_words_bin", "expression length (words)"),
)
"""Per-sample columns the breakdowns group by (written by the scorer), with their titles."""

BOUND_KINDS = frozenset({"bound", "baseline"})
"""Recipe kinds of baselines (a leaderboard recipe's `kind`)."""

def protocol_note(run: Run) -> str:
    """What the run's numbers mean: the protocol's `summary`, plus its note on the run's dataset if it has one."""
    spec = run.spec
    if spec is None:
        return ""
    extra = [note for name, note in spec.data_notes if name == run.dataset_ref.get("name")]
    return " ".join([spec.summary, *extra])

CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;color:#222;line-height:1.4}
h1{font-size:26px;margin-bottom:4px}h2{border-bottom:2px solid #3366cc;padding-bottom:4px;margin-top:36px}
h3{margin-top:24px;color:#333}summary{cursor:pointer}summary h2{display:inline-block;margin:18px 0 6px}
details{border-bottom:1px solid #ddd}td.k{color:#777;text-align:left}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f0f3fa}
td.l,th.l{text-align:left}tr:nth-child(even) td{background:#fafafa}td.best{font-weight:bold;color:#109618}
.sig{color:#109618;font-weight:bold}.signeg{color:#dc3912;font-weight:bold}.ns{color:#777}
.note{color:#555;font-size:13px}.strip{margin:6px 0 14px}.strip img{border:1px solid #ccc;max-width:100%}
.cap{font-size:12px;color:#444}.legend span{display:inline-block;width:12px;height:12px;margin:0 4px -2px 10px}
nav a{margin-right:14px}.charts{display:flex;flex-wrap:wrap;gap:12px}
"""


@dataclass
class ReportOptions:
    pairs: list[tuple[str, str]] = field(default_factory=list)
    """Explicit comparisons by run label; default: per group, the two best comparable runs."""
    strips: int = 3
    """Best and worst samples shown per qualitative section."""
    strip_frames: int = 6
    replicates: int = 2000
    seed: int = 0
    title: str = "lvsbench report"
    cache_root: Path | None = None
    """lvsbench's cache folder, where the predictions of leaderboard results are found (None: not looked up)."""
    reported_dir: Path | None = None
    """Folder of published-number CSVs (`leaderboards/reported`): when given, the report lists the papers' rows
    for the datasets and protocols its runs cover."""


def _pct(v: float | None, name: str = "") -> str:
    """A value as printed everywhere (percent, two decimals; n/a for COCO's -1), "–" when absent."""
    return "–" if v is None else format_value(name, v)


def _pcts(values: list[float | None], name: str = "") -> list[float | None]:
    """Values as chart coordinates (percent; None when absent or not applicable)."""
    return [None if v is None else as_percent(name, v) for v in values]


def is_baseline(run: Run) -> bool:
    """A bound baseline (oracle, empty, full, random): by recipe kind, or, for a plain `score` result, by the name
    of its predictions folder."""
    return run.kind in BOUND_KINDS or (not run.kind and run.label in BOUND_ADAPTERS)


def _section(html: str, open_: bool = False) -> str:
    """A section (`<h2 id=X>Title</h2>...`) as a collapsible `<details id=X>` whose summary is the heading."""
    m = re.match(r"<h2 id=([\w-]+)>(.*?)</h2>", html, flags=re.S)
    if m is None:
        return html
    return (f"<details id={m.group(1)}{' open' if open_ else ''}><summary><h2>{m.group(2)}</h2></summary>"
            f"{html[m.end():]}\n</details>")


def _primary(run: Run) -> str | None:
    p = run.spec.primary_metric if run.spec is not None else None
    if p in run.values:
        return p
    return next(iter(run.values), None)


def _groups(runs: list[Run]) -> dict[str, list[Run]]:
    out: dict[str, list[Run]] = {}
    for r in runs:
        out.setdefault(r.group, []).append(r)
    for rs in out.values():
        p = _primary(rs[0])
        rs.sort(key=lambda r, p=p: (-(r.values.get(p, -math.inf) if p else 0), r.label))
    return out


def _table(head: list[str], rows: list[list[str]], left: int = 1, classes: list[list[str]] | None = None) -> str:
    out = ["<table><tr>" + "".join(f'<th class="{"l" if i < left else ""}">{h}</th>' for i, h in enumerate(head))
           + "</tr>"]
    for ri, row in enumerate(rows):
        cells = []
        for i, c in enumerate(row):
            cls = ["l"] if i < left else []
            if classes is not None and classes[ri][i]:
                cls.append(classes[ri][i])
            cells.append(f'<td class="{" ".join(cls)}">{c}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


# ============================================================================================ sections


def section_runs(runs: list[Run]) -> str:
    rows = []
    for r in runs:
        n = r.counts.get("samples", len(r.samples) if r.samples is not None else "–")
        rows.append([escape(r.label), escape(r.group), escape(r.kind or "–"), str(n), escape(r.path.name),
                     "yes" if r.samples is not None else "no", "yes" if r.predictions and r.predictions.exists()
                     else "no"])
    return "<h2 id=runs>Runs</h2>\n" + _table(["run", "data · protocol · split", "kind", "samples", "results file",
                                                 "per-sample", "predictions"], rows, left=3)


def _columns(rs: list[Run]) -> list[str]:
    from lvsbench.leaderboard.render import Row

    rows = [Row("", r.protocol, r.split, r.label, "reproduced", r.kind, dict(r.values), "") for r in rs]
    return [c for c in metric_columns(rows, _primary(rs[0])) if shown_in_markdown(c)]


def _best(rs: list[Run], c: str) -> float | None:
    """Best value of column `c` among the runs that are not baselines (among all when every run is one)."""
    pool = [r for r in rs if not is_baseline(r)] or rs
    vals = [r.values[c] for r in pool if c in r.values and math.isfinite(r.values[c])
            and format_value(c, r.values[c]) != "n/a"]
    if not vals:
        return None
    m = METRICS.get(c)
    return min(vals) if m is not None and m.direction == "lower" else max(vals)


def section_summary(groups: dict[str, list[Run]]) -> str:
    """One table per data/protocol group, one line per run, best per column, and what the numbers mean."""
    out = ['<h2 id=summary>Summary</h2><p class=note>Percent, two decimals (n/a: not defined on this data); '
           '<b>bold</b>: best run per column that is not a bound baseline (oracle, empty, full, random). Metric '
           'names are exact (docs/metrics.md). Open the sections below for charts, breakdowns, comparisons and '
           'examples.</p>']
    for g, rs in groups.items():
        cols = _columns(rs)
        best = {c: _best(rs, c) for c in cols}
        body, cls = [], []
        for r in rs:
            body.append([escape(r.label), "baseline" if is_baseline(r) else "model",
                         *[_pct(r.values.get(c), c) for c in cols]])
            cls.append(["", "k", *["best" if c in r.values and best[c] is not None and r.values[c] == best[c]
                                   and len(rs) > 1 and (not is_baseline(r) or all(map(is_baseline, rs)))
                                   else "" for c in cols]])
        out.append(f"<h3>{escape(g)}</h3>")
        note = protocol_note(rs[0])
        if note:
            out.append(f"<p class=note>{escape(note)}</p>")
        out.append(_table(["run", "kind", *[f"<code>{escape(c)}</code>" for c in cols]], body, left=2,
                          classes=cls))
    return "\n".join(out)


def section_protocols(groups: dict[str, list[Run]]) -> str:
    out = ['<h2 id=results>Charts per protocol</h2><p class=note>Percent. Each run keeps its colour, marker and '
           'line style in every chart; hover a point for its value.</p>']
    for g, rs in groups.items():
        cols = _columns(rs)
        out.append(f"<h3>{escape(g)}</h3>")
        charts = []
        pk = [c for c in ("P@0.5", "P@0.6", "P@0.7", "P@0.8", "P@0.9") if any(c in r.values for r in rs)]
        if pk:
            charts.append(svg.line_chart([float(c[2:]) for c in pk],
                                         {r.label: [100 * r.values.get(c, math.nan) for c in pk] for r in rs},
                                         title=f"Precision at IoU thresholds: {g}", xlabel="IoU threshold K",
                                         ylabel="P@K (%)", unit=" %"))
        else:
            bars = [c for c in cols[:5]]
            lo = min([0.0, *[100 * r.values[c] for r in rs for c in bars if c in r.values
                             and math.isfinite(r.values[c])]])
            charts.append(svg.bar_chart(bars, {r.label: [as_percent(c, r.values.get(c)) for c in bars] for r in rs},
                                        title=f"Headline metrics: {g}", ylabel="%", ymax=100.0 if lo >= 0 else None,
                                        unit=" %"))
        hist = _histogram(rs)
        if hist:
            charts.append(hist)
        out.append('<div class="charts">' + "\n".join(charts) + "</div>")
    return "\n".join(out)


def _histogram(rs: list[Run]) -> str | None:
    col = rs[0].score_column
    if col is None:
        return None
    edges = np.linspace(0, 1, 11)
    cats = [f"{edges[i]:.1f}–{edges[i + 1]:.1f}" for i in range(10)]
    series = {}
    for r in rs:
        df = r.samples
        if df is None or col not in df:
            continue
        v = df[col].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if v.size == 0:
            continue
        h, _ = np.histogram(np.clip(v, 0, 1), bins=edges)
        series[r.label] = [100.0 * float(x) / v.size for x in h]
    if not series:
        return None
    return svg.bar_chart(cats, series, title=f"Distribution of per-sample {col}", ylabel="share of samples (%)",
                         unit=" %")


def _breakdown_table(rs: list[Run], column: str, score: str) -> tuple[list[str], dict[str, list[float | None]],
                                                                      list[int]] | None:
    frames = [(r, r.samples) for r in rs if r.samples is not None and column in r.samples and score in r.samples]
    if not frames:
        return None
    cats: set[str] = set()
    for _, df in frames:
        cats |= {str(x) for x in df[column].dropna().unique()}
    if len(cats) < 2:
        return None

    def order(c: str) -> tuple[int, float, str]:
        try:
            return (0, float(c.split("-")[0].lstrip(">=+")), c)
        except ValueError:
            return (1, 0.0, c)

    cat_list = sorted(cats, key=order)
    series: dict[str, list[float | None]] = {}
    counts = [0] * len(cat_list)
    for i, (r, df) in enumerate(frames):
        g = df.groupby(df[column].astype(str))[score]
        means, n = g.mean(), g.size()
        series[r.label] = [float(means[c]) if c in means.index else None for c in cat_list]
        if i == 0:
            counts = [int(n[c]) if c in n.index else 0 for c in cat_list]
    return cat_list, series, counts


def section_breakdowns(groups: dict[str, list[Run]], runs: list[Run]) -> str:
    out = ['<h2 id=breakdowns>Breakdowns</h2><p class=note>Mean per-sample score per bin (mean IoU for A2D-style '
           'protocols, J&amp;F per expression for Refer-YouTube-VOS, per object for Ref-DAVIS17), as Locater TPAMI '
           'Table VII reports by number of objects per video; n = samples in the bin.</p>']
    any_ = False
    for g, rs in groups.items():
        score = rs[0].score_column
        if score is None:
            continue
        for column, title in BREAKDOWNS:
            bt = _breakdown_table(rs, column, score)
            if bt is None:
                continue
            any_ = True
            cats, series, counts = bt
            out.append(f"<h3>{escape(g)}: by {escape(title)}</h3>")
            rows = [[escape(c), str(counts[i]), *[_pct(series[r][i]) for r in series]] for i, c in enumerate(cats)]
            out.append(_table([escape(column), "n", *[escape(r) for r in series]], rows))
            out.append(svg.bar_chart(cats, {k: _pcts(v) for k, v in series.items()}, title=f"{score} by {title}: {g}",
                                     ylabel=f"{score} (%)", ymax=100.0, counts=counts, unit=" %"))
    sub = _subset_breakdown(runs)
    if sub:
        any_ = True
        out.append(sub)
    if not any_:
        out.append("<p class=note>No per-sample tables with breakdown columns were found.</p>")
    return "\n".join(out)


SUBSET_PROTOCOLS = frozenset(n for p in PROTOCOLS.values() if p.subset_of for n in (p.name, p.subset_of))
"""Protocols whose datasets are compared side by side (`Protocol.subset_of`: A2D-S test vs the A2D-S+ subsets,
Locater TPAMI Table III)."""


def _subset_breakdown(runs: list[Run]) -> str | None:
    """Each run label across the A2D datasets / subsets it was scored on (A2D-S test vs A2D-S+ m, s, t), by mean
    IoU (the one metric both protocols share)."""
    by_entry: dict[str, dict[str, float]] = {}
    for r in runs:
        if r.protocol not in SUBSET_PROTOCOLS or "mean_iou" not in r.values:
            continue
        by_entry.setdefault(r.label, {})[r.dataset_label] = r.values["mean_iou"]
    datasets = sorted({d for v in by_entry.values() for d in v})
    entries = [e for e, v in by_entry.items() if len(v) > 1]
    if len(datasets) < 2 or not entries:
        return None
    rows = [[escape(e), *[_pct(by_entry[e].get(d)) for d in datasets]] for e in entries]
    chart = svg.bar_chart(datasets, {e: _pcts([by_entry[e].get(d) for d in datasets]) for e in entries},
                          title="mean_iou by dataset / subset", ylabel="mean_iou (%)", ymax=100.0, unit=" %")
    return ("<h3>By subset (<code>mean_iou</code>; <code>a2d</code> protocol on the test split, <code>a2d-plus</code> "
            "on the A2D-S+ subsets)</h3>" + _table(["run", *[escape(d) for d in datasets]], rows) + chart)


# ============================================================================================ comparisons


def _paired_metrics(a: Run, b: Run, opts: ReportOptions) -> list[tuple[str, PairedDiff]]:
    da, db = a.samples, b.samples
    if da is None or db is None:
        return []
    keys = [k for k in a.key_columns if k in da.columns and k in db.columns]
    if not keys:
        return []
    m = da.merge(db, on=keys, suffixes=("_a", "_b"))
    if m.empty:
        return []
    out: list[tuple[str, PairedDiff]] = []

    def boot(xa: np.ndarray, xb: np.ndarray, ua: np.ndarray | None = None, ub: np.ndarray | None = None
             ) -> PairedDiff:
        return paired_bootstrap(xa, xb, ua, ub, replicates=opts.replicates, seed=opts.seed)

    if a.aggregate == "samples":
        ia, ib = m["iou_a"].to_numpy(float), m["iou_b"].to_numpy(float)
        out.append(("mean_iou", boot(ia, ib)))
        if "inter_a" in m and "union_a" in m:
            out.append(("overall_iou", boot(m["inter_a"].to_numpy(float), m["inter_b"].to_numpy(float),
                                            m["union_a"].to_numpy(float), m["union_b"].to_numpy(float))))
        strict = a.spec is not None and a.spec.pk_strict
        for k in (0.5, 0.7, 0.9):
            pa = (ia > k) if strict else (ia >= k)
            pb = (ib > k) if strict else (ib >= k)
            out.append((f"P@{k}", boot(pa.astype(float), pb.astype(float))))
    else:
        for col in ("J&F", "J", "F", "J-Mean", "F-Mean"):
            if f"{col}_a" in m and f"{col}_b" in m:
                out.append((col, boot(m[f"{col}_a"].to_numpy(float), m[f"{col}_b"].to_numpy(float))))
    return out


def default_pairs(groups: dict[str, list[Run]]) -> list[tuple[Run, Run]]:
    """Per group: the two best models; with a single model, the model against the best non-oracle baseline; none
    when every run is a baseline (two bounds differ by construction: testing that fills space and says nothing)."""
    pairs = []
    for rs in groups.values():
        rs = [r for r in rs if r.samples is not None]
        models = [r for r in rs if not is_baseline(r)]
        if len(models) >= 2:
            pairs.append((models[1], models[0]))
        elif len(models) == 1:
            bounds = [r for r in rs if is_baseline(r) and r.label != "oracle"]
            if bounds:
                pairs.append((bounds[0], models[0]))
    return pairs


def section_comparisons(pairs: list[tuple[Run, Run]], opts: ReportOptions) -> str:
    out = ["<h2 id=compare>Paired comparisons</h2><p class=note>B − A (percentage points) on the samples both "
           "runs scored, with a "
           f"paired bootstrap 95% confidence interval ({opts.replicates} replicates, seed {opts.seed}; samples "
           "resampled jointly); <span class=sig>significant</span> when the interval excludes 0. The p-value is the "
           "two-sided bootstrap one.</p>"]
    if not pairs:
        out.append("<p class=note>No pair of comparable runs with per-sample tables (bound baselines are not "
                   "compared with each other).</p>")
    for a, b in pairs:
        diffs = _paired_metrics(a, b, opts)
        out.append(f"<h3>A = {escape(a.label)} vs B = {escape(b.label)} <small>({escape(a.group)})</small></h3>")
        if not diffs:
            out.append("<p class=note>These runs share no samples.</p>")
            continue
        rows, cls = [], []
        for name, d in diffs:
            flag = "yes" if d.significant else "no"
            rows.append([f"<code>{escape(name)}</code>", _pct(d.a), _pct(d.b), format_value("", d.diff, True),
                         f"[{format_value('', d.low, True)}, {format_value('', d.high, True)}]", f"{d.p_value:.4f}",
                         flag, str(d.n)])
            c = "sig" if d.significant and d.diff > 0 else "signeg" if d.significant else "ns"
            cls.append(["", "", "", c, "", "", c, ""])
        out.append(_table(["metric", "A", "B", "B − A", "95% CI", "p", "significant", "paired samples"], rows,
                          classes=cls))
        out.append(svg.interval_chart([n for n, _ in diffs], [100 * d.diff for _, d in diffs],
                                      [100 * d.low for _, d in diffs], [100 * d.high for _, d in diffs],
                                      title=f"B − A with 95% CI: {b.label} − {a.label}",
                                      xlabel="difference (percentage points)"))
    return "\n".join(out)


# ============================================================================================ qualitative


def _expression_scores(run: Run) -> pd.DataFrame | None:
    df, col = run.samples, run.score_column
    if df is None or col is None:
        return None
    if run.aggregate == "objects":
        keep = [c for c in ("run", "annotator", "video_id", "object_id", "pred_id", "exp_id", col) if c in df]
        return df[keep].rename(columns={col: "score"}).reset_index(drop=True)
    if run.aggregate == "samples":
        cols = ["video_id", "exp_id"]
        g = df.groupby(cols, sort=True)
        agg = g[col].mean().rename("score").reset_index()
        agg["frames"] = [list(x) for x in g["frame"].apply(list)]
        if "image_id" in df:
            agg["image_ids"] = [list(x) for x in g["image_id"].apply(list)]
        return agg
    return df[["video_id", "exp_id", col]].rename(columns={col: "score"}).reset_index(drop=True)


def _pred_mask(run: Run, preds: Any, row: dict[str, Any], frame: str, image_id: str | None, shape: tuple[int, int]
               ) -> np.ndarray | None:
    fmt = preds.format
    if fmt == "coco-json":
        from lvsbench.metrics.referring import top1

        if image_id is None:
            return None
        cands = preds.candidates(image_id)
        return cands[top1(cands)][0] if cands else np.zeros(shape, dtype=bool)
    if fmt == "davis-anno":
        ann = row.get("annotator")
        ann = None if ann is None or (isinstance(ann, float) and math.isnan(ann)) else int(ann)
        lab = preds.label_map(ann, row["video_id"], frame)
        return None if lab is None else lab == int(row["pred_id"])
    m = preds.mask(row["video_id"], str(row["exp_id"]), frame)
    return m


def _strip_for(run: Run, ds: Any, preds: Any, row: dict[str, Any], opts: ReportOptions) -> tuple[str, str] | None:

    vid = str(row["video_id"])
    if vid not in ds.videos():
        return None
    exprs = {e.id: e for e in ds.video_expressions(vid)}
    if run.aggregate == "objects":
        ids: tuple[int, ...] = (int(row["object_id"]),)
        frames = list(ds.annotated_frames(vid))
        text = exprs[str(row["exp_id"])].text if str(row.get("exp_id")) in exprs else f"object {ids[0]}"
    else:
        e = exprs.get(str(row["exp_id"]))
        if e is None:
            return None
        ids, text = e.object_ids, e.text
        frames = list(row.get("frames") or ds.expression_frames(e))
    if not frames:
        return None
    image_ids = list(row.get("image_ids") or [None] * len(frames))
    pick = sorted({int(round(x)) for x in np.linspace(0, len(frames) - 1, min(opts.strip_frames, len(frames)))})
    tiles = []
    for i in pick:
        f = str(frames[i])
        rgb = ds.read_frame(vid, f)
        lab = ds.read_masks(vid, f)
        gt = lab.mask(ids) if lab is not None else None
        try:
            pred = _pred_mask(run, preds, row, f, image_ids[i] if i < len(image_ids) else None, rgb.shape[:2])
        except Exception:  # noqa: BLE001 - a missing prediction frame leaves the tile empty
            pred = None
        if pred is not None and pred.shape != rgb.shape[:2]:
            pred = None
        tiles.append((rgb, gt, pred))
    img = make_strip(tiles)
    caption = (f"{escape(vid)} / expression {escape(str(row.get('exp_id')))}: “{escape(text)}” — "
               f"{escape(run.score_column or 'score')} {100 * float(row['score']):.2f} % over {len(frames)} "
               "scored frame(s)"
               f"{'' if len(pick) == len(frames) else f', {len(pick)} shown'}")
    return png_data_uri(img), caption


def choose_qualitative(groups: dict[str, list[Run]]) -> list[Run]:
    """Per group, the best run that is not a bound (oracle, empty, full, random): the model worth looking at."""
    out = []
    for rs in groups.values():
        models = [r for r in rs if not is_baseline(r) and r.samples is not None and r.predictions is not None
                  and r.predictions.exists()]
        if models:
            out.append(models[0])
    return out


def section_qualitative(runs: list[Run], opts: ReportOptions) -> str:
    from lvsbench.formats.predictions import open_predictions

    out = ['<h2 id=qualitative>Qualitative: best and worst samples</h2><p class=note>Each strip: scored frames of '
           'one sample; top row: ground truth, bottom row: prediction, each drawn as a contour line whose colour is '
           'chosen per frame to stand out against the pixels under it (with a thin black or white halo).</p>']
    shown = 0
    for run in runs:
        scores = _expression_scores(run)
        ds = open_dataset(run)
        if scores is None or ds is None or scores.empty:
            continue
        try:
            preds = open_predictions(run.predictions, run.prediction_format)
        except Exception:  # noqa: BLE001
            continue
        scores = scores.sort_values(["score", "video_id"], ascending=[False, True], kind="mergesort")
        k = min(opts.strips, len(scores) // 2 if len(scores) >= 2 else 1)
        best = scores.head(k).to_dict(orient="records")
        worst = scores.tail(k).iloc[::-1].to_dict(orient="records") if len(scores) > k else []
        out.append(f"<h3>{escape(run.label)} <small>({escape(run.group)})</small></h3>")
        for title, rows in (("Best", best), ("Worst", worst)):
            if not rows:
                continue
            out.append(f"<h4>{title}</h4>")
            for row in rows:
                made = _strip_for(run, ds, preds, row, opts)
                if made is None:
                    continue
                uri, cap = made
                shown += 1
                out.append(f'<div class="strip"><img alt="{escape(cap)}" src="{uri}"><div class="cap">{cap}</div>'
                           "</div>")
    if shown == 0:
        out.append("<p class=note>No strips: no model run with predictions and data available here (bound adapters "
                   "are not shown).</p>")
    return "\n".join(out)


# ============================================================================================ page


def render_report(runs: list[Run], opts: ReportOptions | None = None) -> str:
    """The whole HTML page for these runs."""
    opts = opts or ReportOptions()
    groups = _groups(runs)
    labels = {r.label: r for r in runs}
    order = sorted(labels, key=lambda lab: (is_baseline(labels[lab]), lab))
    svg.fix_colours(order)
    if opts.pairs:
        pairs = []
        for a, b in opts.pairs:
            missing = [x for x in (a, b) if x not in labels]
            if missing:
                raise ConfigError(f"--pair: no run labelled {', '.join(missing)} (runs: {', '.join(labels)})")
            if is_baseline(labels[a]) and is_baseline(labels[b]):
                raise ConfigError(f"--pair {a} {b}: both are bound baselines ({', '.join(BOUND_ADAPTERS)}); "
                                  "compare a model with a baseline or with another model")
            pairs.append((labels[a], labels[b]))
    else:
        pairs = default_pairs(groups)
    body = [
        f"<h1>{escape(opts.title)}</h1>",
        f"<p class=note>{len(runs)} run(s) in {len(groups)} group(s); lvsbench {escape(__version__)}. "
        "Self-contained: charts are inline SVG, images are embedded PNGs. Click a heading to open its section.</p>",
        "<nav><a href=#summary>Summary</a><a href=#results>Charts</a><a href=#runs>Runs</a>"
        "<a href=#breakdowns>Breakdowns</a><a href=#compare>Comparisons</a><a href=#qualitative>Qualitative</a></nav>",
        _section(section_summary(groups), open_=True),
        _section(section_protocols(groups)),
        _section(section_runs(runs)),
        _section(section_breakdowns(groups, runs)),
        _section(section_comparisons(pairs, opts)),
        _section(section_qualitative(choose_qualitative(groups), opts)),
    ]
    if opts.reported_dir is not None:
        from lvsbench.report.published import section_reported

        body.insert(6, _section(section_reported(runs, opts.reported_dir, _table)))
        body[2] = body[2].replace("</nav>", "<a href=#reported>Published</a></nav>")
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width, initial-scale=1'><title>{escape(opts.title)}</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


__all__ = ["BOUND_KINDS", "BREAKDOWNS", "CSS", "ReportOptions", "SUBSET_PROTOCOLS", "choose_qualitative",
           "default_pairs", "is_baseline", "protocol_note", "render_report", "section_breakdowns",
           "section_comparisons", "section_protocols", "section_qualitative", "section_runs", "section_summary"]
