"""The per-expression results of the 2023-2026 benchmarks as one accumulator
(`lvsbench.metrics.accumulate.Accumulator`): `update` takes one `ExpressionResult`, `merge` folds in the accumulator
of other videos (worker processes, shards), `compute` gives the official figures. Results are kept keyed by
expression and reduced in meta order (each result carries its position), so any grouping of merges gives the same
bits as one process fed in meta order.

What the figures, the per-sample rows and the official view look like is decided by the official evaluator of the
protocol's native dataset (`Protocol.dataset` -> `STYLES`); everything else is a field of the `Protocol`: the subset
rule, the rounding, the MeViS v2 no-target scores (present when `metrics` has N-acc) and the missing rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lvsbench.metrics import long_rvos as lr
from lvsbench.metrics import reasonvos as rv
from lvsbench.metrics.modern import mevis_aggregate, mevis_v2_scores, no_target_counts, revos_rounded, subset_aggregate
from lvsbench.metrics.official_missing import MissingInput, official_values
from lvsbench.protocols import Protocol

if TYPE_CHECKING:
    import pandas as pd

_DERIVED = ("J&F", "N-acc", "T-acc", "Final")


def expression_metrics(proto: Protocol) -> tuple[str, ...]:
    """The values measured per expression, in the official order (J&F and the no-target scores are derived)."""
    return tuple(m for m in proto.metrics if m not in _DERIVED)


@dataclass(frozen=True)
class ExpressionResult:
    """One expression: its position in meta order (`index`), official key, ids, raw per-expression values (None:
    not scored), group (ReVOS / Ref-SAV type_id, Long-RVOS type), what was missing (with a detail: the mask-dict
    drivers' message, the PNG drivers' first wrongly sized file), the MeViS v2 flags (no target; prediction empty in
    every frame, None when not scored) and `warnings`: prediction files read with a conversion to grey."""

    index: int
    key: str
    video_id: str
    exp_id: str
    values: Mapping[str, float] | None
    group: int | str | None = None
    missing: tuple[MissingInput, ...] = ()
    detail: str = ""
    no_target: bool = False
    pred_empty: bool | None = None
    warnings: tuple[str, ...] = ()


Rows = list[tuple[ExpressionResult, Mapping[str, float]]]


def _mask_dict_figures(proto: Protocol, rows: Rows, n_meta: int, count_missing: bool) -> dict[str, Any]:
    """eval_mevis.py (J, F, J&F; MeViS v2 adds N-acc, T-acc, Final) or the ReVOS / Ref-SAV subset means of rounded
    values. `count_missing=False` leaves expressions with missing predictions out of the no-target counts."""
    if proto.subsets:
        return subset_aggregate([(r.group, revos_rounded(v)) for r, v in rows], dict(proto.subsets),
                                expression_metrics(proto))
    out = mevis_aggregate([v for _, v in rows], n_meta=n_meta)
    if "N-acc" in proto.metrics:
        flags = [(r.no_target, r.pred_empty) for r, _ in rows
                 if r.pred_empty is not None and (count_missing or not r.missing)]
        out.update(mevis_v2_scores(out["JF"], no_target_counts(flags)))
    return out


def _long_rvos_figures(proto: Protocol, rows: Rows, n_meta: int, count_missing: bool) -> dict[str, Any]:
    return lr.aggregate([(str(r.group), v) for r, v in rows], [t for t, _ in proto.subsets])


def _reasonvos_figures(proto: Protocol, rows: Rows, n_meta: int, count_missing: bool) -> dict[str, Any]:
    return rv.aggregate([v for _, v in rows])


def _mask_dict_row(proto: Protocol, r: ExpressionResult, v: Mapping[str, float]) -> dict[str, Any]:
    """The official per-expression output: MeViS raw [0, 1] as eval_mevis.py saves them; ReVOS, Ref-SAV
    round(100 x, 2) as revos_valid.csv / ref_sav_valid.csv, plus the unrounded `<metric>_raw`."""
    row: dict[str, Any] = {"video_id": r.video_id, "exp_id": r.exp_id}
    if proto.subsets:
        row.update(revos_rounded(v))
        row.update({f"{m}_raw": x for m, x in v.items()})
        row["type_id"] = r.group
        row["subset"] = dict(proto.subsets).get(r.group, "")
    else:
        row.update(v)
        row.update(JF=(v["J"] + v["F"]) / 2, no_target=r.no_target, pred_empty=r.pred_empty)
    row["missing"] = r.missing[0].kind if r.missing else ""
    return row


def _png_row(proto: Protocol, r: ExpressionResult, v: Mapping[str, float]) -> dict[str, Any]:
    """Long-RVOS / ReasonVOS: J, F, J&F, then the other values, then the type."""
    row: dict[str, Any] = {"video_id": r.video_id, "exp_id": r.exp_id, "J": v["J"], "F": v["F"],
                           "JF": (v["J"] + v["F"]) / 2}
    row.update({m: x for m, x in v.items() if m not in row})
    if r.group is not None:
        row["type"] = r.group
    return row


@dataclass(frozen=True)
class Style:
    """How one official evaluator reports: its figures, its per-expression rows, the keys of its official view (the
    results JSON's `official_equivalent`), and whether its dataset is a mask-dict one (MeViS, ReVOS, Ref-SAV: one
    missing kind per expression, with a detail)."""

    figures: Callable[[Protocol, Rows, int, bool], dict[str, Any]]
    row: Callable[[Protocol, ExpressionResult, Mapping[str, float]], dict[str, Any]]
    official_keys: tuple[str, ...]
    mask_dict: bool


_MASK_DICT = Style(_mask_dict_figures, _mask_dict_row, ("dropped", "zeroed", "aggregates"), True)
STYLES: dict[str, Style] = {
    "mevis": _MASK_DICT, "revos": _MASK_DICT, "refsav": _MASK_DICT,
    "long-rvos": Style(_long_rvos_figures, _png_row, ("per_expression", "aggregates", "n_scored", "zeroed",
                                                      "dropped"), False),
    "reasonvos": Style(_reasonvos_figures, _png_row, ("aggregates", "n_scored", "skipped", "dropped"), False),
}
"""`Protocol.dataset` -> how its official evaluator reports."""


class ExpressionAccumulator:
    """Per-expression results of one protocol, keyed by official key (`Accumulator`: update / compute / merge)."""

    def __init__(self, protocol: Protocol) -> None:
        if protocol.dataset not in STYLES:
            raise ValueError(f"protocol {protocol.name} is not scored per expression")
        self.protocol = protocol
        self.style = STYLES[protocol.dataset]
        self.results: dict[str, ExpressionResult] = {}

    def update(self, result: ExpressionResult) -> None:
        if result.key in self.results:
            raise ValueError(f"expression {result.key} was added twice")
        self.results[result.key] = result

    def merge(self, other: ExpressionAccumulator) -> ExpressionAccumulator:
        """Fold in the results of other expressions (other videos, workers or shards) scored under the same
        protocol; the order of merges does not matter."""
        if other.protocol != self.protocol:
            raise ValueError(f"cannot merge {other.protocol.name} results into {self.protocol.name} results")
        if twice := [k for k in other.results if k in self.results]:
            raise ValueError(f"expressions merged twice: {', '.join(twice[:5])}")
        self.results.update(other.results)
        return self

    def rows(self) -> list[ExpressionResult]:
        """The results in meta order."""
        return sorted(self.results.values(), key=lambda r: r.index)

    def aggregate(self, values: Mapping[str, Mapping[str, float] | None] | None = None, *,
                  count_missing: bool = True) -> dict[str, Any]:
        """The official figures over `values` (default: lvsbench's values of the scored expressions), meta order."""
        rows = self.rows()
        got = {r.key: r.values for r in rows} if values is None else values
        kept: Rows = [(r, v) for r in rows if (v := got.get(r.key)) is not None]
        return self.style.figures(self.protocol, kept, len(rows), count_missing)

    def compute(self) -> dict[str, Any]:
        return self.aggregate()

    def official_equivalent(self) -> dict[str, Any]:
        """What the official script reports on these predictions (`Protocol.missing_rules`): `rule`,
        `per_expression` (None where it leaves the expression out), `dropped`, `skipped`, `zeroed`, its
        `aggregates` and `n_scored`."""
        rows = self.rows()
        eq = official_values([r.key for r in rows], {r.key: r.values for r in rows},
                             [m for r in rows for m in r.missing], dict(self.protocol.missing_rules),
                             expression_metrics(self.protocol))
        per = eq["per_expression"]
        return {"rule": dict(self.protocol.missing_rules), **eq,
                "aggregates": self.aggregate(per, count_missing=False),
                "n_scored": sum(v is not None for v in per.values())}

    def official_view(self) -> dict[str, Any]:
        """The results JSON's part of `official_equivalent`: `rule` and the keys the evaluator's output has
        (Long-RVOS: its per-expression `[J, F, tIoU, vIoU]` lists)."""
        eq = self.official_equivalent()
        eq["per_expression"] = {k: list(v.values()) for k, v in eq["per_expression"].items() if v is not None}
        return {k: eq[k] for k in ("rule", *self.style.official_keys)}

    def per_sample_frame(self, key: bool = False) -> pd.DataFrame:
        """One row per scored expression in meta order: video_id, exp_id, the metrics as the official
        per-expression output writes them, then type / no-target / missing columns (`key`: the official key too)."""
        import pandas as pd

        return pd.DataFrame([{**self.style.row(self.protocol, r, r.values), **({"key": r.key} if key else {})}
                             for r in self.rows() if r.values is not None])

    # ---------------------------------------------------------------- views keyed by official key, meta order

    @property
    def keys(self) -> dict[str, tuple[str, str]]:
        return {r.key: (r.video_id, r.exp_id) for r in self.rows()}

    @property
    def scored(self) -> dict[str, Mapping[str, float]]:
        return {r.key: r.values for r in self.rows() if r.values is not None}

    @property
    def missing(self) -> dict[str, str]:
        """Key -> the kind of the first missing item."""
        return {r.key: r.missing[0].kind for r in self.rows() if r.missing}


__all__ = ["ExpressionAccumulator", "ExpressionResult", "Rows", "STYLES", "Style", "expression_metrics"]
