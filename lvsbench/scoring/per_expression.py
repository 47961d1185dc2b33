"""Per-expression scoring of the 2023-2026 benchmarks (`lvsbench.protocols.PER_EXPRESSION`: mevis, mevis-v2, revos,
revos-visa-png, refsav, long-rvos, reasonvos), each reproducing one official evaluator. `score_per_expression` (also
reached through `lvsbench.scoring.score` and `lvsbench score`): dataset + predictions -> one row per expression, the
figures, every missing item, and what the official script would have reported (`official_equivalent`). Videos are
scored by `lvsbench.scoring.expression_drivers` into `ExpressionAccumulator`s (`lvsbench.scoring.expressions`).
A missing prediction is refused with the full list unless `allow_missing`, which scores it as empty and records it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lvsbench.core.errors import ConfigError, Problem, ValidationFailed
from lvsbench.core.io import sha256_file, sha256_tree
from lvsbench.formats.png_tree import PngTreePredictions
from lvsbench.formats.raw_png import RawPngTree
from lvsbench.formats.rle_results import RleResultsPredictions
from lvsbench.metrics.names import units_of
from lvsbench.metrics.official_missing import MissingInput
from lvsbench.protocols import LONG_RVOS, PER_EXPRESSION, REASONVOS, Protocol, default_protocol_for, get_protocol
from lvsbench.scoring.expression_drivers import DRIVERS, score_expressions
from lvsbench.scoring.expressions import STYLES, ExpressionAccumulator, ExpressionResult
from lvsbench.scoring.results import ScoreResult, dataset_checksum, json_safe

if TYPE_CHECKING:
    import pandas as pd


def evaluate(ds: Any, preds: Any, protocol: str | Protocol, *, missing_as_empty: bool = False,
             workers: int = 1) -> ExpressionAccumulator:
    """Score every expression of a mask-dict dataset (MeViS, ReVOS, Ref-SAV: meta order, all listed frames) under
    one of their protocols (a name is resolved once here), predictions from `open_expression_predictions`. Missing
    predictions are left out and listed in `missing` (`missing_as_empty=True` scores them as empty masks and still
    lists them)."""
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    if not (proto.dataset in STYLES and STYLES[proto.dataset].mask_dict):
        raise ConfigError(f"protocol {proto.name} is not scored from a mask-dict dataset")
    return score_expressions(ds, preds, proto, missing_as_empty=missing_as_empty, workers=workers)


@dataclass
class ExpressionResults:
    """Long-RVOS / ReasonVOS results: rows (video_id, exp_id, metrics..., [type], key) in meta order, figures,
    missing items, the official view."""

    protocol: str
    rows: pd.DataFrame
    aggregates: dict[str, Any]
    missing: list[MissingInput] = field(default_factory=list)
    official_equivalent: dict[str, Any] = field(default_factory=dict)

    def per_sample_frame(self) -> pd.DataFrame:
        """The `--per-sample` CSV: video_id, exp_id, then each metric under its name, then the type."""
        return self.rows.drop(columns="key")


def _evaluate_png(ds: Any, preds: PngTreePredictions, proto: Protocol, allow_missing: bool,
                  workers: int) -> ExpressionResults:
    acc = score_expressions(ds, preds, proto, workers=workers)
    missing = [m for r in acc.rows() for m in r.missing]
    problems, _ = missing_report(acc)
    if problems and not allow_missing:
        raise ValidationFailed(problems, f"{proto.name}: predictions incomplete (--allow-missing scores them as "
                                         "empty masks and records them)")
    official = acc.official_view()
    del official["rule"]
    return ExpressionResults(proto.name, acc.per_sample_frame(key=True), acc.compute(), missing, official)


def evaluate_long_rvos(ds: Any, preds: PngTreePredictions, allow_missing: bool = False,
                       workers: int = 1) -> ExpressionResults:
    """Long-RVOS as `eval/eval_long_rvos/eval_{static,dynamic,hybrid,overall}.py` (Long_RVOS @ 447682a)."""
    return _evaluate_png(ds, preds, LONG_RVOS, allow_missing, workers)


def evaluate_reasonvos(ds: Any, preds: PngTreePredictions, allow_missing: bool = False,
                       workers: int = 1) -> ExpressionResults:
    """ReasonVOS as `evaluation/reason_vos/eval_reason_vos.py` (VideoLISA @ 146f2bc)."""
    return _evaluate_png(ds, preds, REASONVOS, allow_missing, workers)


def missing_report(acc: ExpressionAccumulator) -> tuple[list[Problem], list[dict[str, Any]]]:
    """One `Problem` and one results-JSON entry per missing item, meta order: the mask-dict drivers' kind and
    detail, or the PNG drivers' kind and the first frames concerned (a size mismatch: the first file and its
    size)."""
    def frames(m: MissingInput) -> str:
        more = " ..." if len(m.frames) > 10 else ""
        return f" (frames {', '.join(m.frames[:10])}{more})" if m.frames else ""

    rows: list[tuple[ExpressionResult, MissingInput]] = [(r, m) for r in acc.rows() for m in r.missing]
    if acc.style.mask_dict:
        return ([Problem(r.key, f"unusable prediction ({r.detail})" if m.kind == "error" else
                         f"{m.kind} missing ({r.detail})") for r, m in rows],
                [{"key": r.key, "video_id": r.video_id, "exp_id": r.exp_id, "kind": m.kind, "detail": r.detail}
                 for r, m in rows])
    def size(r: ExpressionResult, m: MissingInput) -> str:
        return f": {r.detail}" if m.kind == "size" and r.detail else ""

    return ([Problem(m.key, f"size mismatch{frames(m)}{size(r, m)}" if m.kind == "size" else
                     f"{m.kind} missing{frames(m)}") for r, m in rows],
            [{"key": m.key, "kind": m.kind, "frames": list(m.frames), **({"detail": r.detail} if size(r, m) else {})}
             for r, m in rows])


def open_expression_predictions(path: Path, fmt: str | None, proto: Protocol) -> tuple[str, Any]:
    """The format (given, or guessed from the path) and the predictions: a results JSON (Sa2VA per-expression RLE,
    `rle-json`) or a PNG tree (`png-tree`: raw values for the mask-dict drivers, binary masks for the others)."""
    fmt = fmt or ("rle-json" if path.is_file() and path.suffix.lower() == ".json" else "png-tree")
    if fmt not in proto.formats:
        raise ConfigError(f"{path}: protocol {proto.name} reads {', '.join(proto.formats)}, not {fmt}")
    if fmt == "rle-json":
        return fmt, RleResultsPredictions(path)
    if not STYLES[proto.dataset or ""].mask_dict:
        return fmt, PngTreePredictions(path)
    if not path.is_dir():
        raise ConfigError(f"{path}: the {fmt} format needs a folder <video>/<exp_id>/<frame>.png (zip archives are "
                          "not read by the per-expression protocols yet: unzip first)")
    return fmt, RawPngTree(path)


def extra_predictions(dataset: Any, proto: Protocol, preds: Any) -> list[Problem]:
    """Predictions for videos, expressions or frames the split does not have (the official scripts ignore them)."""
    out: list[Problem] = []
    if isinstance(preds, RleResultsPredictions):
        known = {e.key: e for e in dataset.expressions()}
        videos = {k[0] for k in known}
        for vid, exps in preds.doc.items():
            for eid, item in (exps.items() if isinstance(exps, dict) else ()):
                e = known.get((vid, str(eid)))
                n = len(item.get("prediction_masks") or []) if isinstance(item, dict) else 0
                if e is None:
                    why = "unexpected expression id" if vid in videos else "unexpected video (not in the split)"
                    out.append(Problem(f"{preds.path}:{vid}/{eid}", f"prediction for an expression not in the split: "
                                                                     f"{why}"))
                elif n > len(e.frames):
                    out.append(Problem(f"{preds.path}:{vid}/{eid}", f"{n} masks for {len(e.frames)} frames"))
        return out
    tree = preds.tree if isinstance(preds, RawPngTree) else preds
    by_object = proto.prediction_dir == "source-video-object"
    expected = {(dataset.prediction_video(e) if by_object else e.video_id, e.id): set(e.frames)
                for e in dataset.expressions()}
    for key, frames in tree.inventory().items.items():
        if key not in expected:
            out.append(Problem(tree.describe(*key), "prediction folder for an expression not in the split"))
        elif frames - expected[key]:
            out.append(Problem(tree.describe(*key), f"{len(frames - expected[key])} frame(s) not scored: "
                                                    f"{', '.join(sorted(frames - expected[key])[:5])}"))
    out += [Problem(path, why) for path, why in tree.inventory().stray]
    return out


_NO_VIDEO = {"zero": "every expression 0", "zero_int": "every expression 0", "empty": "every expression as empty",
             "skip": "nothing (every expression skipped)", "drop": "nothing (every expression dropped)"}
"""What an official script scores when it finds no video folder (`missing_rules` of kind "video")."""


def official_notes(dataset: Any, proto: Protocol, preds: Any) -> list[str]:
    """Where the official script, run on the same files, would see something else than lvsbench does."""
    notes = []
    tree = preds.tree if isinstance(preds, RawPngTree) else preds
    if not STYLES[proto.dataset or ""].mask_dict and isinstance(tree, PngTreePredictions) and tree.base != tree.path:
        notes.append("the official script needs the folder that holds the video folders (the predictions' "
                     f"{tree.base.relative_to(tree.path)}/ folder); given the predictions folder it finds no video and "
                     f"scores {_NO_VIDEO[dict(proto.missing_rules)['video']]}")
    if isinstance(preds, RleResultsPredictions):
        reordered = [f"{e.video_id}/{e.id}" for e in dataset.expressions()
                     if isinstance((item := (preds.doc.get(e.video_id) or {}).get(e.id)), dict)
                     and isinstance(item.get("frames"), list) and tuple(item["frames"]) != e.frames]
        if reordered:
            notes.append(f"{len(reordered)} expression(s) list their frames in another order than the meta file "
                         f"(e.g. {reordered[0]}); masks are matched by position in the meta order, as "
                         "eval_ref_sav.py does (Sa2VA's inference sorts the frames)")
    return notes


def headline_values(proto: Protocol, aggregates: dict[str, Any]) -> dict[str, float]:
    """`values`: exactly `proto.metrics`, in order, from the overall figures (`J&F` is the scripts' `JF`), stored
    as fractions like every other protocol's (`lvsbench.metrics.names`); a protocol of scale "percent" (ReVOS,
    Ref-SAV: the official round(100 x, 2) figures) keeps those exact figures in `aggregates` and the per-sample
    table, and its `values` are them / 100."""
    overall = aggregates.get("overall", aggregates)
    div = 100.0 if proto.scale == "percent" else 1.0
    return {m: overall["JF" if m == "J&F" else m] / div for m in proto.metrics}


def _check_dataset(dataset: Any, proto: Protocol, by: str | None) -> None:
    reader = DRIVERS[proto.dataset or ""].reader
    if not isinstance(dataset, reader):
        raise ConfigError(f"protocol {proto.name} scores the native {proto.dataset} release per expression (lvsbench "
                          f"score PRED --dataset {proto.dataset} --root NATIVE_ROOT), got dataset "
                          f"{getattr(dataset, 'name', '?')!r}; a copy converted to the lvsbench layout is scored with "
                          "--protocol ryvos (J and F, the MeViS convention; no-target expressions are not in the "
                          "layout)")
    if by is not None:
        raise ConfigError(f"--by does not apply to the {proto.name} protocol (one row per expression; the subset "
                          "figures are in the results JSON under 'aggregates')")
    if hasattr(dataset, "has_masks") and not dataset.has_masks():
        server = f" or use `{proto.server_submit}` for the server split" if proto.server_submit else ""
        raise ConfigError(f"{dataset.name} split {dataset.split!r} has no public masks; score a split with ground "
                          f"truth{server}")


def score_per_expression(preds: str | Path, dataset: Any, protocol: str | Protocol | None = None, *,
                         allow_missing: bool = False, allow_extra: bool = False, by: str | None = None,
                         format: str | None = None, workers: int = 1) -> Any:
    """Score a native 2023-2026 dataset under one of its per-expression protocols: a `ScoreResult` whose `values`
    are `protocol.metrics` (overall figures), whose `per_sample` has one row per expression (video_id, exp_id,
    then the metrics as the official per-expression output writes them), and whose results JSON also carries the
    subset figures (`aggregates`), `official_equivalent` and, when there are any, `warnings` (prediction PNGs read
    with a conversion to grey, as the official `cv2.imread(..., 0)` reads them: RGB, alpha, 16-bit, palette).

    Missing predictions are refused with the full list (`ValidationFailed`) unless `allow_missing`; predictions for
    items outside the split likewise unless `allow_extra` (then listed in `ignored_extra`). `by` does not apply.
    `workers > 1` scores the videos in a process pool (identical results).
    """
    from lvsbench import __version__

    proto = protocol if isinstance(protocol, Protocol) else (get_protocol(protocol) if protocol
                                                             else default_protocol_for(dataset))
    if proto.dataset not in DRIVERS:
        raise ConfigError(f"protocol {proto.name!r} is not a per-expression protocol ({', '.join(PER_EXPRESSION)})")
    _check_dataset(dataset, proto, by)
    path = Path(preds)
    fmt, src = open_expression_predictions(path, format, proto)
    extra = extra_predictions(dataset, proto, src)
    acc = score_expressions(dataset, src, proto, missing_as_empty=True, workers=workers)
    rows = acc.rows()
    missing, missing_json = missing_report(acc)
    problems = ([] if allow_missing else missing) + ([] if allow_extra else extra)
    if problems:
        raise ValidationFailed(problems, f"predictions {path} for {dataset.name} ({proto.name}): missing items "
                                         "(--allow-missing scores them as empty masks) or unexpected ones "
                                         "(--ignore-extra ignores them); both are recorded when allowed")
    aggregates = acc.compute()
    values = headline_values(proto, aggregates)
    ds_kind, ds_sum = dataset_checksum(dataset)
    checksum = sha256_file(path) if path.is_file() else sha256_tree(path)
    results: dict[str, Any] = {
        "lvsbench_version": __version__,
        "protocol": proto.header(),
        "values": values,
        "units": units_of(values),
        "aggregates": aggregates,
        "counts": {"videos": len(dataset.meta()) if acc.style.mask_dict else len({r.video_id for r in rows}),
                   "expressions": len(rows), "scored": sum(r.values is not None for r in rows),
                   "missing": len(missing_json)},
        "dataset": {"name": dataset.name, "split": dataset.split, "root": str(dataset.root), "checksum": ds_sum,
                    "checksum_kind": ds_kind},
        "predictions": {"path": str(path), "format": fmt, "checksum": checksum},
        "options": {"allow_missing": allow_missing, "allow_extra": allow_extra, "workers": workers},
        "missing": missing_json,
        "ignored_extra": [{"path": e.path, "message": e.message} for e in extra],
        "official_equivalent": {"reproduces": proto.reproduces, **acc.official_view(),
                                "notes": official_notes(dataset, proto, src)},
    }
    if warnings := [w for r in rows for w in r.warnings]:
        results["warnings"] = warnings  # only when there are any: the results of clean PNGs stay byte-identical
    import pandas as pd  # for the result tables only: not before the first frame

    summary = pd.DataFrame({"metric": list(values), "value": list(values.values())})
    per_group = pd.DataFrame(columns=["group", "n", *values])  # no --by for these protocols (refused earlier)
    return ScoreResult(proto, values, summary, acc.per_sample_frame(), per_group, json_safe(results), [])


__all__ = ["ExpressionResults", "evaluate", "evaluate_long_rvos", "evaluate_reasonvos", "extra_predictions",
           "headline_values", "missing_report", "official_notes", "open_expression_predictions",
           "score_per_expression"]
