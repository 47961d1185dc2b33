"""Audit of published numbers before they enter a leaderboard.

Published tables contain errors (one public README lists J&F 62.6 with J 59.9 and F 63.3), and a number copied
under the wrong metric name is worse than no number. Each check below compares printed numbers with each other,
allowing for the paper's rounding (a value printed with d decimals is the true value +- 0.5e-d). A row that fails is
kept, flagged with the reason in the leaderboard, and counted in the build summary: the audit never drops or edits a
published number.

Checks (per CSV line, or per table row = the lines of one (file, leaderboard, protocol, split, method, backbone,
table)):

- `range`: a percentage lies in [0, 100]; FPS is positive.
- `metric`: the metric is one the protocol defines (`lvsbench.protocols`), or one of the few reported-only
  names it lists (`Protocol.reported_only`), or `FPS`.
- `J&F`: J&F = (J + F) / 2 (also J&F-Mean from J-Mean, F-Mean).
- `P@K`: precision non-increasing in K.
- `prec_mAP`: the mean precision over the ten IoU thresholds .50:.05:.95 lies between the bounds the five printed
  P@0.5..0.9 allow (precision is non-increasing in the threshold): lower (P.5 + 2 (P.6 + P.7 + P.8 + P.9)) / 10,
  upper the mean of the five.
- `locater_mAP`: equals the mean of the printed P@0.5..0.9.
- `duplicate`: the same (leaderboard, protocol, split, method, backbone, metric) printed with incompatible values
  (in two tables or two papers, e.g. a row cited from another paper that does not match that paper).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from lvsbench.leaderboard.reported import ReportedValue
from lvsbench.metrics.names import PK_METRICS
from lvsbench.protocols import PROTOCOLS

JF_TRIPLES = (("J&F", "J", "F"), ("J&F-Mean", "J-Mean", "F-Mean"))
SPEED_METRICS = frozenset({"FPS"})


@dataclass(frozen=True)
class Flag:
    value: ReportedValue
    check: str
    reason: str

    def text(self) -> str:
        v = self.value
        return (f"{v.where}: {v.leaderboard}/{v.protocol}/{v.split} {v.method} {v.metric}={v.value or '(empty)'} "
                f"[{self.check}] {self.reason}")


def half_unit(printed: str) -> float:
    """Half a unit in the last printed decimal: the rounding error of a printed value."""
    s = printed.strip()
    decimals = len(s.split(".", 1)[1]) if "." in s else 0
    return 0.5 * 10.0 ** -decimals


EPS = 1e-9


def known_metrics(protocol: str) -> frozenset[str] | None:
    p = PROTOCOLS.get(protocol)
    if p is None:
        return None
    return frozenset(p.metrics) | frozenset(p.reported_only) | SPEED_METRICS


def _row_key(v: ReportedValue) -> tuple[str, ...]:
    return (v.source_file, v.leaderboard, v.protocol, v.split, v.method, v.backbone, v.paper, v.table)


def _check_value(v: ReportedValue) -> list[Flag]:
    out: list[Flag] = []
    known = known_metrics(v.protocol)
    if known is None:
        out.append(Flag(v, "metric", f"unknown protocol {v.protocol!r} (known: {', '.join(sorted(PROTOCOLS))})"))
    elif v.metric not in known:
        out.append(Flag(v, "metric", f"metric {v.metric!r} is not defined for protocol {v.protocol!r} (known: "
                                     f"{', '.join(sorted(known))})"))
    x = v.number
    if x is not None:
        if v.metric in SPEED_METRICS:
            if not x > 0:
                out.append(Flag(v, "range", "FPS must be positive"))
        elif not (0.0 <= x <= 100.0):
            out.append(Flag(v, "range", "a percentage must lie in [0, 100]"))
    return out


def _check_row(vals: dict[str, ReportedValue]) -> list[Flag]:
    out: list[Flag] = []

    def num(m: str) -> float | None:
        v = vals.get(m)
        return None if v is None else v.number

    for jf, j, f in JF_TRIPLES:
        a, b, c = num(jf), num(j), num(f)
        if a is None or b is None or c is None:
            continue
        tol = half_unit(vals[jf].value) + (half_unit(vals[j].value) + half_unit(vals[f].value)) / 2 + EPS
        if abs(a - (b + c) / 2) > tol:
            out.append(Flag(vals[jf], "J&F", f"{jf} {vals[jf].value} != ({j} {vals[j].value} + {f} {vals[f].value}) "
                                             f"/ 2 = {(b + c) / 2:.3f} (beyond rounding, tolerance {tol:.3f})"))
    pk = [(m, num(m)) for m in PK_METRICS if num(m) is not None]
    for (m0, x0), (m1, x1) in zip(pk, pk[1:], strict=False):
        assert x0 is not None and x1 is not None
        tol = half_unit(vals[m0].value) + half_unit(vals[m1].value) + EPS
        if x1 > x0 + tol:
            out.append(Flag(vals[m1], "P@K", f"{m1} {vals[m1].value} > {m0} {vals[m0].value}: precision must not "
                                             "increase with the threshold"))
    if len(pk) == len(PK_METRICS):
        p = [x for _, x in pk]
        assert all(x is not None for x in p)
        u_p = max(half_unit(vals[m].value) for m in PK_METRICS)
        mean5 = sum(p) / 5  # type: ignore[arg-type]
        lower = (p[0] + 2 * sum(p[1:])) / 10  # type: ignore[operator,arg-type]
        for m in ("prec_mAP", "locater_mAP"):
            x = num(m)
            if x is None:
                continue
            tol = half_unit(vals[m].value) + u_p + EPS
            if m == "locater_mAP" and abs(x - mean5) > tol:
                out.append(Flag(vals[m], "locater_mAP", f"locater_mAP {vals[m].value} != mean of the printed "
                                                        f"P@0.5..0.9 = {mean5:.2f}: not this definition"))
            if m == "prec_mAP" and not (lower - tol <= x <= mean5 + tol):
                out.append(Flag(vals[m], "prec_mAP", f"prec_mAP {vals[m].value} outside [{lower:.2f}, {mean5:.2f}], "
                                                     "the range the printed P@0.5..0.9 allow for a mean precision "
                                                     "over IoU .50:.05:.95: a different definition (e.g. COCO AP) or "
                                                     "a misprint"))
    return out


def _check_duplicates(values: list[ReportedValue]) -> list[Flag]:
    by: dict[tuple[str, ...], list[ReportedValue]] = defaultdict(list)
    for v in values:
        if v.number is not None:
            by[(v.leaderboard, v.protocol, v.split, v.method, v.backbone, v.metric)].append(v)
    out: list[Flag] = []
    for group in by.values():
        for v in group:
            others = [w for w in group if w is not v and
                      abs(w.number - v.number) > half_unit(w.value) + half_unit(v.value) + EPS]  # type: ignore[operator]
            same_place = [w for w in group if w is not v and (w.paper, w.table) == (v.paper, v.table)]
            if others:
                out.append(Flag(v, "duplicate", "disagrees with " + "; ".join(
                    f"{w.value} in {w.citation} ({w.where})" for w in others)))
            elif same_place:
                out.append(Flag(v, "duplicate", "listed twice for the same table (" +
                                ", ".join(w.where for w in same_place) + ")"))
    return out


def audit(values: Iterable[ReportedValue]) -> list[Flag]:
    """Every flag, in file / line order (a value may carry several)."""
    values = list(values)
    flags: list[Flag] = []
    rows: dict[tuple[str, ...], dict[str, ReportedValue]] = defaultdict(dict)
    for v in values:
        flags.extend(_check_value(v))
        rows[_row_key(v)][v.metric] = v
    for row in rows.values():
        flags.extend(_check_row(row))
    flags.extend(_check_duplicates(values))
    return sorted(flags, key=lambda f: (f.value.source_file, f.value.line, f.check))


__all__ = ["EPS", "Flag", "JF_TRIPLES", "SPEED_METRICS", "audit", "half_unit", "known_metrics"]
