"""Human check of contrasting pairs: a CSV to fill in and a self-contained HTML contact sheet; decisions replay.

Locater's authors checked the sampled pairs by hand ("all sampled example pairs are checked by human"). `--review-out
DIR` writes `pairs.csv` (one row per subset and query, with an empty `decision` column) and `index.html` (the query's
and the partner's frames side by side, each with its described actor tinted and its sentence, shared / contrasting
roles beneath), both **ordered by risk** (`risk`), so a reviewer who stops early has seen the pairs most likely to
be wrong: fallback pairs without a shared role first, then pairs whose actors have the same class (A2D actor class,
or the same subject head without videos), then by content-word overlap of the two sentences and by shared roles.
`--review-in decisions.csv` reads the same CSV back: `accept` pins the shown partner, `reject` drops the query from
the subset, `resample` excludes the shown partner and draws again; empty rows change nothing. Pairs are
`human_checked: false` (and `build.json` says so) until a decision about them is loaded.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lvsbench.core.errors import DataFormatError, LvsbenchError
from lvsbench.core.io import atomic_write_text
from lvsbench.datasets.base import Dataset
from lvsbench.hardsplit.contrast import Contrast
from lvsbench.hardsplit.pairs import Decision, Pair

CSV_COLUMNS = ("rank", "risk", "subset", "query_video", "query_exp", "query_text", "partner_video", "partner_exp",
               "partner_text", "shared_roles", "query_only_roles", "partner_only_roles", "status", "decision", "note")
ACTIONS = ("accept", "reject", "resample")


def _roles(pairs: object) -> str:
    return "; ".join(f"{r}={p}" for r, p in sorted(pairs)) if pairs else ""  # type: ignore[call-overload]


def risk(p: Pair, contrast: Contrast, ds: Dataset | None = None) -> tuple[tuple[float, ...], str]:
    """(sort key, reasons) of a pair: higher key = reviewed earlier."""
    if p.partner is None or p.comparison is None:
        return (-1.0,), ""
    c = p.comparison
    reasons = []
    fallback = c.tier == 2
    if fallback:
        reasons.append("fallback: no shared role")
    same_class = False
    if ds is not None:
        try:
            qc = {ds.object_categories(p.query.video_id).get(o) for o in p.query.object_ids} - {None, ""}
            pc = {ds.object_categories(p.partner.video_id).get(o) for o in p.partner.object_ids} - {None, ""}
            same_class = bool(qc & pc)
            if same_class:
                reasons.append("same class: " + ",".join(sorted(qc & pc)))
        except (LvsbenchError, KeyError):
            same_class = False
    if not same_class:
        head = contrast.subject_head(p.query.text)
        if head and head == contrast.subject_head(p.partner.text):
            same_class = True
            reasons.append(f"same subject: {head}")
    a, b = contrast.content_lemmas(p.query.text), contrast.content_lemmas(p.partner.text)
    overlap = len(a & b) / max(1, len(a | b))
    reasons.append(f"content overlap {overlap:.2f}")
    if c.shared:
        reasons.append(f"{len(c.shared)} shared role(s)")
    return (float(fallback), float(same_class), round(overlap, 4), float(len(c.shared))), "; ".join(reasons)


def review_order(pairs: Sequence[Pair], ds: Dataset | None = None,
                 contrast: Contrast | None = None) -> list[tuple[Pair, str]]:
    """Pairs with their risk reasons, riskiest first (ties in subset, query order); unpaired queries last."""
    con = contrast or Contrast()
    scored = [(risk(p, con, ds), i, p) for i, p in enumerate(pairs)]
    scored.sort(key=lambda t: (tuple(-x for x in t[0][0]), t[1]))
    return [(p, why) for (_, why), _, p in scored]


def review_rows(pairs: Sequence[Pair], ds: Dataset | None = None) -> list[dict[str, str]]:
    rows = []
    for k, (p, why) in enumerate(review_order(pairs, ds), 1):
        c = p.comparison
        rows.append({
            "rank": str(k), "risk": why,
            "subset": p.subset, "query_video": p.query.video_id, "query_exp": p.query.exp_id,
            "query_text": p.query.text, "partner_video": p.partner.video_id if p.partner else "",
            "partner_exp": p.partner.exp_id if p.partner else "", "partner_text": p.partner.text if p.partner else "",
            "shared_roles": _roles(c.shared) if c else "", "query_only_roles": _roles(c.query_only) if c else "",
            "partner_only_roles": _roles(c.partner_only) if c else "", "status": p.status,
            "decision": "accept" if p.human_checked and p.partner else "", "note": ""})
    return rows


def write_csv(path: Path, pairs: Sequence[Pair], ds: Dataset | None = None) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in review_rows(pairs, ds):
        w.writerow(row)
    atomic_write_text(path, buf.getvalue())


def read_decisions(path: str | Path) -> list[Decision]:
    """Decisions from a reviewed `pairs.csv`; rows with an empty decision are skipped."""
    p = Path(path)
    if not p.is_file():
        raise DataFormatError(p, "decisions file not found")
    out = []
    with open(p, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        need = {"subset", "query_video", "query_exp", "decision"}
        missing = need - set(reader.fieldnames or ())
        if missing:
            raise DataFormatError(p, f"missing column(s) {sorted(missing)}", "line 1")
        for lineno, row in enumerate(reader, 2):
            action = (row.get("decision") or "").strip().lower()
            if not action:
                continue
            if action not in ACTIONS:
                raise DataFormatError(p, f"decision {action!r} is not one of {', '.join(ACTIONS)}", f"line {lineno}")
            pv, pe = (row.get("partner_video") or "").strip(), (row.get("partner_exp") or "").strip()
            partner = (pv, pe) if pv and pe else None
            if action in ("accept", "resample") and partner is None:
                raise DataFormatError(p, f"{action} needs partner_video and partner_exp", f"line {lineno}")
            out.append(Decision(row["subset"].strip(), (row["query_video"].strip(), row["query_exp"].strip()),
                                partner, action))
    return out


# ---------------------------------------------------------------------------------------------- HTML


def _thumb(ds: Dataset, video_id: str, object_ids: Sequence[int], height: int = 120) -> str | None:
    """Data URI of the first annotated frame showing the object, its mask tinted red; None if unreadable."""
    import cv2

    try:
        frames = ds.annotated_frames(video_id)
        chosen, mask = None, None
        for f in frames:
            lab = ds.read_masks(video_id, f)
            if lab is not None and lab.mask(object_ids).any():
                chosen, mask = f, lab.mask(object_ids)
                break
        if chosen is None:
            chosen = ds.videos()[video_id].frames[0]
        rgb = ds.read_frame(video_id, chosen).astype(np.float32)
    except (LvsbenchError, OSError, KeyError, ValueError):
        return None
    if mask is not None:
        rgb[mask] = 0.5 * rgb[mask] + 0.5 * np.array([255, 0, 0], dtype=np.float32)
    img = rgb.clip(0, 255).astype(np.uint8)
    w = max(1, int(round(img.shape[1] * height / img.shape[0])))
    img = cv2.resize(img, (w, height), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(img[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def write_html(path: Path, pairs: Sequence[Pair], ds: Dataset | None) -> None:
    cache: dict[tuple[str, tuple[int, ...]], str | None] = {}

    def img(vid: str, objs: tuple[int, ...]) -> str:
        if ds is None:
            return '<div class="nof">no frames</div>'
        key = (vid, objs)
        if key not in cache:
            cache[key] = _thumb(ds, vid, objs)
        uri = cache[key]
        return f'<img src="{uri}" alt="{html.escape(vid)}">' if uri else '<div class="nof">unreadable</div>'

    rows = []
    for k, (p, why) in enumerate(review_order(pairs, ds)):
        if p.partner is None:
            rows.append(f'<tr class="none"><td>{k + 1}</td><td>{html.escape(p.subset)}</td>'
                        f'<td>{html.escape(p.query.video_id)}/{html.escape(p.query.exp_id)}<br>'
                        f'{html.escape(p.query.text)}</td><td></td><td colspan="2">{html.escape(p.status)}</td></tr>')
            continue
        c = p.comparison
        rows.append(
            f'<tr><td>{k + 1}</td><td>{html.escape(p.subset)}</td>'
            f'<td>{img(p.query.video_id, p.query.object_ids)}<br><b>{html.escape(p.query.text)}</b><br>'
            f'<small>{html.escape(p.query.video_id)}/{html.escape(p.query.exp_id)}</small></td>'
            f'<td>{img(p.partner.video_id, p.partner.object_ids)}<br><b>{html.escape(p.partner.text)}</b><br>'
            f'<small>{html.escape(p.partner.video_id)}/{html.escape(p.partner.exp_id)}</small></td>'
            f'<td>shared: {html.escape(_roles(c.shared) if c else "")}<br>'
            f'contrasting: {html.escape(", ".join(sorted(c.contrasting)) if c else "")}<br>'
            f'query: {html.escape(_roles(c.query_only) if c else "")}<br>'
            f'partner: {html.escape(_roles(c.partner_only) if c else "")}</td>'
            f'<td>{html.escape(why)}</td></tr>')
    doc = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>A2D-S+ pair review</title><style>"
           "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
           "td,th{border:1px solid #ccc;padding:4px;vertical-align:top}img{height:120px}"
           ".nof{width:160px;height:120px;background:#eee;color:#888;text-align:center;line-height:120px}"
           "tr.none{background:#fee}</style></head><body>\n"
           "<h1>A2D-S+ contrasting pairs</h1><p>Fill the <code>decision</code> column of pairs.csv with accept, "
           "reject or resample and pass it back with <code>--review-in</code>. Red tint: the described actor. Riskiest "
           "pairs first (the <code>rank</code> column of pairs.csv).</p>\n"
           "<table><tr><th>rank</th><th>subset</th><th>query</th><th>partner</th><th>roles</th>"
           "<th>risk</th></tr>\n" + "\n".join(rows) + "\n</table></body></html>\n")
    atomic_write_text(path, doc)


def write_review(out_dir: str | Path, pairs: Sequence[Pair], ds: Dataset | None) -> Path:
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    write_csv(d / "pairs.csv", pairs, ds)
    write_html(d / "index.html", pairs, ds)
    return d


__all__ = ["ACTIONS", "CSV_COLUMNS", "read_decisions", "review_order", "review_rows", "risk", "write_csv",
           "write_html", "write_review"]
