"""Per-expression evaluation for MeViS / MeViS v2 / ReVOS: dataset + predictions -> per-expression values, the
missing predictions, aggregates and what the official script would have reported (`official_equivalent`).

Protocols (declared in `MODERN_PROTOCOLS`; metric definitions in `lvsbench.metrics.modern`):
- `mevis`: MeViS `tools/eval_mevis.py` @ 7c0620b (J, F, J&F over expressions).
- `mevis-v2`: `mevis` + N-acc, T-acc, Final (definition from the GRES paper applied to video; no official code
  published).
- `revos`: VISA's ReVOS metrics with predictions binarised (= Sa2VA `tools/eval/eval_revos.py` @ 9832e1a on RLE).
- `revos-visa-png`: VISA `tools/eval_revos.py` @ ec158fd exactly as it runs on PNGs (raw values for A and R).

lvsbench never scores a missing prediction silently: by default it is left out of the values and listed in
`missing` (the caller refuses or reports); `missing_as_empty=True` scores it as an empty mask and still lists it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from lvsbench.datasets.mevis import MaskDictDataset
from lvsbench.datasets.revos import ReVOSDataset
from lvsbench.formats.raw_png import MissingPrediction
from lvsbench.metrics.modern import (
    V2_NOTE,
    ExpressionScores,
    MissingKind,
    mevis_aggregate,
    mevis_frame,
    mevis_v2_scores,
    no_target_counts,
    official_equivalent,
    revos_frame,
    revos_rounded,
    subset_aggregate,
)


@dataclass(frozen=True)
class ModernProtocol:
    """Declaration of one per-expression protocol (small and data-only, for the protocol registry)."""

    name: str
    dataset: str
    reproduces: str
    metrics: tuple[str, ...]
    binarize: bool = True
    subsets: tuple[tuple[int, str], ...] = ()
    """ReVOS-style (type_id, name) subsets averaged as a mean of subset means over rounded values."""
    missing_rule: str = ""
    """Key of `lvsbench.metrics.modern.MISSING_RULES` describing the official script's behaviour."""
    notes: str = ""


MODERN_PROTOCOLS: dict[str, ModernProtocol] = {p.name: p for p in (
    ModernProtocol("mevis", "mevis", "henghuiding/MeViS tools/eval_mevis.py @7c0620b", ("J", "F"),
                   missing_rule="mevis"),
    ModernProtocol("mevis-v2", "mevis", "J, F as eval_mevis.py @7c0620b; N-acc/T-acc from GRES (ReLA "
                   "refer_evaluation.py @3ca9551) applied to video", ("J", "F"), missing_rule="mevis",
                   notes=V2_NOTE),
    ModernProtocol("revos", "revos", "VISA metric definitions (tools/metrics.py @ec158fd) on binarised "
                   "predictions = Sa2VA tools/eval/eval_revos.py @9832e1a", ("J", "F", "A", "R"), binarize=True,
                   subsets=((0, "referring"), (1, "reason")), missing_rule="revos"),
    ModernProtocol("revos-visa-png", "revos", "VISA tools/eval_revos.py @ec158fd on PNGs (raw values, no "
                   "binarisation)", ("J", "F", "A", "R"), binarize=False,
                   subsets=((0, "referring"), (1, "reason")), missing_rule="revos-visa-png",
                   notes="A and R differ from the intended values when PNGs hold 0/255: use for comparing with "
                         "numbers published from VISA's evaluator."),
)}


class ExpressionPredictions(Protocol):
    """What the driver needs from a prediction source (`RawPngTree`, `RleResultsPredictions`)."""

    def frames(self, video_id: str, exp_id: str, frames: Sequence[str]) -> list[np.ndarray]: ...


@dataclass
class ModernResult:
    """Per-expression values (raw, in [0, 1]) keyed `<video>_<exp_id>` in meta order, and what was missing."""

    protocol: ModernProtocol
    order: list[str] = field(default_factory=list)
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    scored: dict[str, dict[str, float]] = field(default_factory=dict)
    missing: dict[str, MissingKind] = field(default_factory=dict)
    missing_detail: dict[str, str] = field(default_factory=dict)
    type_id: dict[str, int] = field(default_factory=dict)
    no_target: dict[str, bool] = field(default_factory=dict)
    pred_empty: dict[str, bool] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """One row per scored expression (video_id, exp_id, then each metric under its name), meta order."""
        out = []
        for k in self.order:
            if k in self.scored:
                vid, eid = self.keys[k]
                vals = self.scored[k]
                if self.protocol.subsets:
                    vals = {**vals, **{f"{m}_rounded": v for m, v in revos_rounded(vals).items()},
                            "type_id": self.type_id[k]}
                out.append({"video_id": vid, "exp_id": eid, **vals})
        return out

    def aggregate(self, per_expression: dict[str, dict[str, float] | None] | None = None) -> dict[str, Any]:
        """Aggregates over `per_expression` (default: the scored expressions), meta order."""
        per = per_expression if per_expression is not None else {k: v for k, v in self.scored.items()}
        rows = [(k, per[k]) for k in self.order if per.get(k) is not None]
        if self.protocol.subsets:
            return subset_aggregate([(self.type_id[k], revos_rounded(v)) for k, v in rows],
                                    dict(self.protocol.subsets), self.protocol.metrics)
        out = mevis_aggregate([v for _, v in rows], n_meta=len(self.order))
        if self.protocol.name == "mevis-v2":
            flags = [(self.no_target[k], self.pred_empty[k]) for k, _ in rows if k in self.pred_empty]
            out.update(mevis_v2_scores(out["JF"], no_target_counts(flags)))
        return out

    def official_equivalent(self) -> dict[str, Any]:
        """What the official script would report on these predictions (zeros / drops for missing ones)."""
        eq = official_equivalent(self.order, self.scored, self.missing, self.protocol.missing_rule,
                                 self.protocol.metrics)
        eq["aggregate"] = self.aggregate(eq["per_expression"])
        return eq


def evaluate(ds: MaskDictDataset, preds: ExpressionPredictions, protocol: str | ModernProtocol, *,
             missing_as_empty: bool = False) -> ModernResult:
    """Score every expression of `ds` (meta order, all listed frames) under a modern protocol."""
    proto = MODERN_PROTOCOLS[protocol] if isinstance(protocol, str) else protocol
    revos = bool(proto.subsets)
    if revos and not isinstance(ds, ReVOSDataset):
        raise TypeError(f"protocol {proto.name} needs a ReVOS dataset")
    res = ModernResult(proto)
    videos = ds.videos()
    for vid, mv in ds.meta().items():
        video = videos[vid]
        for me in mv.expressions:
            key = f"{vid}_{me.id}"
            res.order.append(key)
            res.keys[key] = (vid, me.id)
            res.no_target[key] = not me.anno_ids
            if me.type_id is not None:
                res.type_id[key] = me.type_id
            shape = (video.height, video.width)
            try:
                pred = preds.frames(vid, me.id, mv.frames)
                bad = [p.shape for p in pred if shape[0] and p.shape != shape]
                if bad:
                    raise MissingPrediction("error", f"{vid}/{me.id}: prediction size {bad[0]} != frame size "
                                                     f"{shape}")
            except MissingPrediction as exc:
                res.missing[key] = exc.kind
                res.missing_detail[key] = str(exc)
                if not missing_as_empty:
                    continue
                pred = [np.zeros(shape, dtype=np.uint8) for _ in mv.frames]
            if not shape[0]:
                shape = pred[0].shape
            res.pred_empty[key] = not any(p.any() for p in pred)
            acc = ExpressionScores(proto.metrics)
            for f, p in zip(mv.frames, pred, strict=True):
                gt = ds.target_sum((vid, me.id), f) if video.height else np.zeros(shape, dtype=np.uint8)
                if revos:
                    assert isinstance(ds, ReVOSDataset)
                    acc.update(*revos_frame(gt, p, ds.read_foreground(vid, f), binarize=proto.binarize))
                else:
                    acc.update(*mevis_frame(gt, p))
            res.scored[key] = acc.compute()
    return res
