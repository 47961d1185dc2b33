"""Per-expression evaluation for MeViS / MeViS v2 / ReVOS: dataset + predictions -> per-expression values, the
missing predictions, aggregates and what the official script would have reported (`official_equivalent`).

Protocols (declared in `lvsbench.scoring.protocols.MODERN_PROTOCOLS`; metric definitions in
`lvsbench.metrics.modern`):
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
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from lvsbench.datasets.mevis import MaskDictDataset
from lvsbench.datasets.revos import ReVOSDataset
from lvsbench.errors import ConfigError, Problem, ValidationFailed
from lvsbench.formats.raw_png import MissingPrediction
from lvsbench.io import sha256_file, sha256_tree
from lvsbench.metrics.modern import (
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
from lvsbench.scoring.protocols import MODERN_PROTOCOLS, ModernProtocol


class ExpressionPredictions(Protocol):
    """What the driver needs from a prediction source (`RawPngTree`, `RleResultsPredictions`)."""

    def frames(self, video_id: str, exp_id: str, frames: Sequence[str], missing_ok: bool = False
               ) -> list[np.ndarray | None]: ...


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

    def aggregate(self, per_expression: dict[str, dict[str, float] | None] | None = None, *,
                  count_missing: bool = True) -> dict[str, Any]:
        """Aggregates over `per_expression` (default: the scored expressions), meta order. `count_missing=False`
        leaves expressions with missing predictions out of the MeViS v2 no-target counts."""
        per = per_expression if per_expression is not None else {k: v for k, v in self.scored.items()}
        rows = [(k, per[k]) for k in self.order if per.get(k) is not None]
        if self.protocol.subsets:
            return subset_aggregate([(self.type_id[k], revos_rounded(v)) for k, v in rows],
                                    dict(self.protocol.subsets), self.protocol.metrics)
        out = mevis_aggregate([v for _, v in rows], n_meta=len(self.order))
        if self.protocol.name == "mevis-v2":
            flags = [(self.no_target[k], self.pred_empty[k]) for k, _ in rows
                     if k in self.pred_empty and (count_missing or k not in self.missing)]
            out.update(mevis_v2_scores(out["JF"], no_target_counts(flags)))
        return out

    def official_equivalent(self) -> dict[str, Any]:
        """What the official script would report on these predictions (zeros / drops for missing ones)."""
        eq = official_equivalent(self.order, self.scored, self.missing, self.protocol.missing_rule,
                                 self.protocol.metrics)
        eq["aggregate"] = self.aggregate(eq["per_expression"], count_missing=False)
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
                got = preds.frames(vid, me.id, mv.frames, missing_ok=True)
                absent = [f for f, p in zip(mv.frames, got, strict=True) if p is None]
                if absent:
                    raise MissingPrediction("frame", f"{vid}/{me.id}: {len(absent)} frame(s) missing: "
                                                     f"{', '.join(absent[:5])}{' ...' if len(absent) > 5 else ''}")
                bad = [p.shape for p in got if p is not None and shape[0] and p.shape != shape]
                if bad:
                    got = [None] * len(mv.frames)
                    raise MissingPrediction("error", f"{vid}/{me.id}: prediction size {bad[0]} != frame size "
                                                     f"{shape}")
            except MissingPrediction as exc:
                res.missing[key] = exc.kind
                res.missing_detail[key] = str(exc)
                if not missing_as_empty:
                    continue
                if exc.kind in ("video", "expression"):
                    got = [None] * len(mv.frames)
            if not shape[0]:
                shape = next((p.shape for p in got if p is not None), shape)
            pred = [np.zeros(shape, dtype=np.uint8) if p is None else p for p in got]
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


# ------------------------------------------------------------------------------------------ entry point


def open_expression_predictions(path: str | Path, fmt: str | None = None) -> Any:
    """A results JSON (Sa2VA per-expression RLE, `rle-json`) or a PNG tree (`png-tree`, raw values)."""
    from lvsbench.formats.raw_png import RawPngTree
    from lvsbench.formats.rle_results import RleResultsPredictions

    p = Path(path)
    fmt = fmt or ("rle-json" if p.is_file() and p.suffix.lower() == ".json" else "png-tree")
    if fmt == "rle-json":
        return RleResultsPredictions(p)
    if fmt == "png-tree":
        if not p.is_dir():
            raise ConfigError(f"{p}: the {fmt} format needs a folder <video>/<exp_id>/<frame>.png (zip archives "
                              "are not read by the per-expression protocols yet: unzip first)")
        return RawPngTree(p)
    raise ConfigError(f"{p}: format {fmt!r} is not read by the per-expression protocols (png-tree, rle-json)")


def _extra(ds: MaskDictDataset, preds: Any) -> list[Problem]:
    """Predicted videos / expressions that the split does not have."""
    known = {vid: {e.id for e in mv.expressions} for vid, mv in ds.meta().items()}
    found: list[tuple[str, str, str]] = []
    if hasattr(preds, "doc"):
        found = [(v, e, f"{preds.path}: {v}/{e}") for v, exps in preds.doc.items() for e in exps]
    else:
        base = preds.tree.base
        for v in sorted(p.name for p in base.iterdir() if p.is_dir()):
            found += [(v, e.name, str(base / v / e.name)) for e in sorted((base / v).iterdir()) if e.is_dir()]
    out = []
    for v, e, where in found:
        if v not in known:
            out.append(Problem(where, "unexpected video (not in the split)"))
        elif e not in known[v]:
            out.append(Problem(where, f"unexpected expression id {e!r}"))
    return list(dict.fromkeys(out))


@dataclass
class ModernScore:
    """What `score_modern` returns: values, the per-expression table and the results JSON."""

    protocol: ModernProtocol
    values: dict[str, Any]
    per_sample: pd.DataFrame
    results: dict[str, Any]

    def table(self) -> str:
        lines = [f"protocol {self.protocol.name}: {self.protocol.reproduces}"]
        if self.protocol.notes:
            lines.append(f"  note: {self.protocol.notes}")
        lines.append("  " + ", ".join(f"{k} {v}" for k, v in self.results["counts"].items()))
        for k, v in _flat(self.values).items():
            lines.append(f"  {k:<20}  {v:.4f}" if isinstance(v, float) else f"  {k:<20}  {v}")
        if self.results["missing"]:
            lines.append(f"  {len(self.results['missing'])} missing prediction(s) scored as empty (listed in the "
                         "results JSON, with what the official script would report)")
        return "\n".join(lines)


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        elif not isinstance(v, str):
            out[f"{prefix}{k}"] = v
    return out


def per_sample_frame(res: ModernResult) -> pd.DataFrame:
    """One row per scored expression: video_id, exp_id, then each metric under its name, on the scale of the
    official per-expression output (MeViS: raw [0, 1] as eval_mevis.py saves them; ReVOS: round(100 x, 2) as
    revos_valid.csv, plus the unrounded `<metric>_raw`), then type / no-target / missing columns."""
    rows = []
    for k in res.order:
        if k not in res.scored:
            continue
        vid, eid = res.keys[k]
        raw = res.scored[k]
        row: dict[str, Any] = {"video_id": vid, "exp_id": eid}
        if res.protocol.subsets:
            row.update(revos_rounded(raw))
            row.update({f"{m}_raw": v for m, v in raw.items()})
            row["type_id"] = res.type_id[k]
        else:
            row.update(raw)
            row["JF"] = (raw["J"] + raw["F"]) / 2
            row["no_target"] = res.no_target[k]
            row["pred_empty"] = res.pred_empty.get(k)
        row["missing"] = res.missing.get(k, "")
        rows.append(row)
    return pd.DataFrame(rows)


def score_modern(preds_path: str | Path, ds: MaskDictDataset, protocol: str | None = None, *,
                 allow_missing: bool = False, allow_extra: bool = False, fmt: str | None = None) -> ModernScore:
    """Score a prediction set on a MeViS / ReVOS split under a per-expression protocol.

    Missing predictions are refused with the full list (`ValidationFailed`) unless `allow_missing`, which scores
    them as empty and records them; unexpected videos / expressions likewise unless `allow_extra`. The results JSON
    always carries `official_equivalent`: what the official script would report on these files (zeros / drops).
    """
    from lvsbench import __version__
    from lvsbench.scoring.evaluate import _json_safe, dataset_checksum

    name = protocol or ("revos" if isinstance(ds, ReVOSDataset) else "mevis")
    if name not in MODERN_PROTOCOLS:
        raise ConfigError(f"unknown per-expression protocol {name!r}; choose one of {', '.join(MODERN_PROTOCOLS)}")
    proto = MODERN_PROTOCOLS[name]
    if proto.dataset != ds.name:
        raise ConfigError(f"protocol {name} scores {proto.dataset}, not {ds.name}")
    if not ds.has_masks():
        raise ConfigError(f"{ds.name} split {ds.split!r} has no public masks ({ds.mask_dict_path}); "
                          "score valid_u / train locally, or use `lvsbench submit mevis` for the server split")
    preds = open_expression_predictions(preds_path, fmt)
    extra = _extra(ds, preds)
    if extra and not allow_extra:
        raise ValidationFailed(extra, f"predictions {preds_path}: unexpected items (--ignore-extra to ignore)")
    res = evaluate(ds, preds, proto, missing_as_empty=True)
    if res.missing and not allow_missing:
        raise ValidationFailed([Problem("/".join(res.keys[k]), f"{res.missing[k]} missing: {res.missing_detail[k]}")
                                for k in res.order if k in res.missing],
                               f"predictions {preds_path} are incomplete (--allow-missing scores them as empty)")
    values = res.aggregate()
    eq = res.official_equivalent()
    per_sample = per_sample_frame(res)
    pred_file = Path(preds_path)
    ds_kind, ds_sum = dataset_checksum(ds)
    results: dict[str, Any] = {
        "lvsbench_version": __version__,
        "protocol": proto.header(),
        "values": values,
        "counts": {"videos": len(ds.meta()), "expressions": len(res.order), "scored": len(res.scored),
                   "missing": len(res.missing)},
        "dataset": {"name": ds.name, "split": ds.split, "root": str(ds.root), "checksum": ds_sum,
                    "checksum_kind": ds_kind},
        "predictions": {"path": str(pred_file), "format": preds.format,
                        "checksum": sha256_file(pred_file) if pred_file.is_file() else sha256_tree(pred_file)},
        "options": {"allow_missing": allow_missing, "allow_extra": allow_extra},
        "missing": [{"video_id": res.keys[k][0], "exp_id": res.keys[k][1], "kind": res.missing[k],
                     "detail": res.missing_detail[k]} for k in res.order if k in res.missing],
        "ignored_extra": [{"path": e.path, "message": e.message} for e in extra],
        "official_equivalent": {"script": proto.reproduces, "rule": eq["rule"], "dropped": eq["dropped"],
                                "zeroed": eq["zeroed"], "values": eq["aggregate"]},
    }
    return ModernScore(proto, values, per_sample, _json_safe(results))
