"""Per-expression evaluation of Ref-SAV, Long-RVOS and ReasonVOS: dataset + predictions -> one row per expression,
the benchmark figures, every missing item, and what the official script would have reported.

Each `evaluate_*` streams one frame at a time (the official scripts build (T, H, W) stacks; per-frame values are
identical) and walks the expressions in meta order, which is the order aggregates are taken in. Missing input is
refused with the full list unless `allow_missing=True`; then missing prediction frames are scored as empty masks,
recorded as `MissingInput`s, and `official_equivalent` says what the official script does with them
(`lvsbench.metrics.official_missing`).

Predictions: Ref-SAV reads Sa2VA's results JSON (`Sa2VAResults`, `{video: {exp_id: {"prediction_masks": [RLE per
frame of the meta order], ...}}}` as `projects/sa2va/evaluation/sa2va_eval_ref_vos.py` @ 9832e1a writes it);
Long-RVOS and ReasonVOS read PNG trees (`lvsbench.predictions.PngTreePredictions`; any non-zero pixel is
foreground, so 0/255 and 0/1 PNGs score alike, as with the official `cv2` grayscale reads).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lvsbench.codecs import rle_decode
from lvsbench.datasets.long_rvos import LongRVOSDataset
from lvsbench.datasets.reasonvos import ReasonVOSDataset
from lvsbench.datasets.refsav import RefSAVDataset
from lvsbench.datasets.ryvos import load_json
from lvsbench.errors import DataFormatError, Problem, ValidationFailed
from lvsbench.io import sha256_file
from lvsbench.metrics import long_rvos as lr
from lvsbench.metrics import reasonvos as rv
from lvsbench.metrics import refsav as rs
from lvsbench.metrics.official_missing import MissingInput
from lvsbench.predictions import PngTreePredictions


class Sa2VAResults:
    """Sa2VA's per-expression RLE results JSON, `{video: {exp_id: {"prediction_masks": [RLE, ...], ...}}}`."""

    format = "sa2va-rle-json"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        doc = load_json(self.path)
        if not isinstance(doc, dict):
            raise DataFormatError(self.path, "top level must be an object {video: {exp_id: {prediction_masks}}}")
        self.doc: dict[str, Any] = doc

    def masks(self, video_id: str, exp_id: str) -> list[Any] | None:
        """The per-frame RLE list of an expression, or None where the video or the expression is absent."""
        entry = self.doc.get(video_id)
        item = entry.get(exp_id) if isinstance(entry, dict) else None
        if not isinstance(item, dict) or not isinstance(item.get("prediction_masks"), list):
            return None
        return item["prediction_masks"]


@dataclass
class ExpressionResults:
    """Rows (video_id, exp_id, key, [subset], metrics...) in meta order, figures, missing items, official view."""

    protocol: str
    rows: pd.DataFrame
    aggregates: dict[str, Any]
    missing: list[MissingInput] = field(default_factory=list)
    official_equivalent: dict[str, Any] = field(default_factory=dict)

    def per_sample_frame(self) -> pd.DataFrame:
        """The `--per-sample` CSV: video_id, exp_id, then each metric under its name, then the subset."""
        tail = [c for c in ("type", "type_id", "subset") if c in self.rows.columns]
        head = [c for c in self.rows.columns if c not in ("key", *tail)]
        return self.rows[head + tail]


def missing_problems(missing: list[MissingInput]) -> list[Problem]:
    """One `Problem` per missing input (key, kind, the first frames concerned)."""
    def frames(m: MissingInput) -> str:
        more = " ..." if len(m.frames) > 10 else ""
        return f" (frames {', '.join(m.frames[:10])}{more})" if m.frames else ""

    return [Problem(m.key, f"{m.kind} missing{frames(m)}") for m in missing]


def _refuse(missing: list[MissingInput], allow_missing: bool, what: str) -> None:
    if missing and not allow_missing:
        raise ValidationFailed(missing_problems(missing), f"{what}: predictions incomplete (--allow-missing scores "
                                                          "them as empty masks and records them)")


def _frame_missing(key: str, frames: tuple[str, ...], absent: list[str]) -> list[MissingInput]:
    out = []
    if absent and absent[0] == frames[0]:
        out.append(MissingInput(key, "first_frame", (frames[0],)))
        absent = absent[1:]
    if absent:
        out.append(MissingInput(key, "frames", tuple(absent)))
    return out


# ---------------------------------------------------------------------------------------------------- Ref-SAV


def evaluate_refsav(ds: RefSAVDataset, preds: Sa2VAResults, allow_missing: bool = False) -> ExpressionResults:
    """Ref-SAV as `tools/eval/eval_ref_sav.py` (Sa2VA @ 9832e1a): J, F, A, rounded, long/short/overall."""
    acc = rs.RefSAVAccumulator()
    missing: list[MissingInput] = []
    rows = []
    videos = ds.videos()
    for e in ds.expressions():
        key = f"{e.video_id}_{e.id}"
        video = videos[e.video_id]
        shape = (video.height, video.width)
        rles = preds.masks(e.video_id, e.id)
        if rles is None:
            missing.append(MissingInput(key, "video" if e.video_id not in preds.doc else "expression"))
        absent, wrong = [], []
        per_frame = []
        for t, frame in enumerate(e.frames):
            pred = np.zeros(shape, dtype=np.uint8)
            rle = rles[t] if rles is not None and t < len(rles) else None
            if rle:
                m = rle_decode(rle)
                if m.shape == shape:
                    pred = m.view(np.uint8)
                else:
                    wrong.append(frame)
            elif rles is not None:
                absent.append(frame)
            per_frame.append(rs.frame_scores(ds.target_sum(e, frame), pred))
        missing += _frame_missing(key, e.frames, absent)
        if wrong:
            missing.append(MissingInput(key, "size", tuple(wrong)))
        raw = rs.expression_scores(per_frame)
        acc.update(key, ds.type_id(e), raw)
        rows.append({"video_id": e.video_id, "exp_id": e.id, "key": key, "type_id": ds.type_id(e),
                     "subset": ds.subset(e), **rs.rounded(raw),
                     "J_raw": raw.J, "F_raw": raw.F, "A_raw": raw.A})
    _refuse(missing, allow_missing, "refsav")
    order = [r["key"] for r in rows]
    return ExpressionResults("refsav", pd.DataFrame(rows), acc.compute(order), missing,
                             acc.official_equivalent(order, missing))


# ---------------------------------------------------------------------------------------------------- PNG trees


def _png_expression(preds: PngTreePredictions, pred_video: str, exp_id: str, frames: tuple[str, ...],
                    shape: tuple[int, int], key: str, gt_of: Callable[[str], np.ndarray],
                    score: Callable[[np.ndarray, np.ndarray], Any]) -> tuple[list[Any], list[MissingInput]]:
    """Per-frame scores of one expression from a PNG tree (missing or wrongly sized frames scored as empty)."""
    missing: list[MissingInput] = []
    if not (preds.base / pred_video).is_dir():
        missing.append(MissingInput(key, "video"))
    elif not (preds.base / pred_video / exp_id).is_dir():
        missing.append(MissingInput(key, "expression"))
    have = not missing
    absent, wrong, out = [], [], []
    empty = np.zeros(shape, dtype=bool)
    for frame in frames:
        pred = preds.mask(pred_video, exp_id, frame) if have else None
        if pred is None:
            if have:
                absent.append(frame)
            pred = empty
        elif pred.shape != shape:
            wrong.append(frame)
            pred = empty
        out.append(score(gt_of(frame), pred))
    missing += _frame_missing(key, frames, absent)
    if wrong:
        missing.append(MissingInput(key, "size", tuple(wrong)))
    return out, missing


def evaluate_long_rvos(ds: LongRVOSDataset, preds: PngTreePredictions,
                       allow_missing: bool = False) -> ExpressionResults:
    """Long-RVOS as `eval/eval_long_rvos/eval_{static,dynamic,hybrid,overall}.py` (Long_RVOS @ 447682a)."""
    acc = lr.LongRVOSAccumulator()
    missing: list[MissingInput] = []
    rows = []
    videos = ds.videos()
    untyped = [f"{e.video_id}_{e.id}" for e in ds.expressions() if ds.expression_type(e) is None]
    if untyped:
        raise ValidationFailed([Problem(k, "expression has no 'type' (static/dynamic/static+dynamic)")
                                for k in untyped], "long-rvos")
    for e in ds.expressions():
        key = f"{e.video_id}_{e.id}"
        video = videos[e.video_id]
        label = e.object_ids[0]
        frame_scores, miss = _png_expression(
            preds, e.video_id, e.id, e.frames, (video.height, video.width), key,
            lambda f, v=e.video_id, lab=label: ds.read_object_mask(v, lab, f), lr.frame_scores)
        missing += miss
        scores = lr.expression_scores(frame_scores)
        typ = ds.expression_type(e)
        assert typ is not None
        acc.update(key, typ, scores)
        rows.append({"video_id": e.video_id, "exp_id": e.id, "key": key, "type": typ,
                     "J": scores.J, "F": scores.F, "JF": (scores.J + scores.F) / 2, "tIoU": scores.tIoU,
                     "vIoU": scores.vIoU})
    _refuse(missing, allow_missing, "long-rvos")
    order = [r["key"] for r in rows]
    return ExpressionResults("long-rvos", pd.DataFrame(rows), acc.compute(order), missing,
                             acc.official_equivalent(order, missing))


def evaluate_reasonvos(ds: ReasonVOSDataset, preds: PngTreePredictions,
                       allow_missing: bool = False) -> ExpressionResults:
    """ReasonVOS as `evaluation/reason_vos/eval_reason_vos.py` (VideoLISA @ 146f2bc)."""
    acc = rv.ReasonVOSAccumulator()
    missing: list[MissingInput] = []
    rows = []
    videos = ds.videos()
    for e in ds.expressions():
        key = ds.official_key(e)
        video = videos[e.video_id]
        shape = (video.height, video.width)
        label = e.object_ids[0]
        if not ds.has_ground_truth(e):
            missing.append(MissingInput(key, "ground_truth"))

        def gt_of(f: str, v: str = e.video_id, lab: int = label, hw: tuple[int, int] = shape) -> np.ndarray:
            m = ds.read_object_mask(v, lab, f)
            return np.zeros(hw, dtype=bool) if m is None else m

        frame_scores, miss = _png_expression(preds, ds.prediction_video(e), e.id, e.frames, shape, key, gt_of,
                                             rv.frame_scores)
        missing += miss
        scores = rv.expression_scores(frame_scores)
        acc.update(key, scores)
        rows.append({"video_id": e.video_id, "exp_id": e.id, "key": key, "J": scores[0], "F": scores[1],
                     "JF": (scores[0] + scores[1]) / 2})
    _refuse(missing, allow_missing, "reasonvos")
    order = [r["key"] for r in rows]
    return ExpressionResults("reasonvos", pd.DataFrame(rows), acc.compute(order), missing,
                             acc.official_equivalent(order, missing))


# ---------------------------------------------------------------------------------------------------- lvsbench score

EVALUATORS: dict[str, tuple[type, Callable[..., ExpressionResults]]] = {
    "refsav": (RefSAVDataset, evaluate_refsav),
    "long-rvos": (LongRVOSDataset, evaluate_long_rvos),
    "reasonvos": (ReasonVOSDataset, evaluate_reasonvos),
}
"""Per-expression protocol -> (native reader it needs, evaluation function)."""


def _flat_values(protocol: str, aggregates: dict[str, Any]) -> dict[str, float]:
    """Headline values: the overall figures under the metric names, subsets as `<subset>.<metric>`."""
    if protocol == "reasonvos":
        return {m: aggregates[m] for m in rv.METRICS}
    names = rs.METRICS if protocol == "refsav" else lr.METRICS
    out = {m: aggregates["overall"][m] for m in names}
    for subset, figs in aggregates.items():
        if subset != "overall":
            out.update({f"{subset}.{m}": figs[m] for m in names})
    return out


def extra_predictions(dataset: Any, protocol: str, preds: Sa2VAResults | PngTreePredictions) -> list[Problem]:
    """Predictions for videos, expressions or frames the split does not have (the official scripts ignore them)."""
    out: list[Problem] = []
    if isinstance(preds, Sa2VAResults):
        known = {e.key: e for e in dataset.expressions()}
        for vid, exps in preds.doc.items():
            for eid, item in (exps.items() if isinstance(exps, dict) else ()):
                e = known.get((vid, str(eid)))
                n = len(item.get("prediction_masks") or []) if isinstance(item, dict) else 0
                if e is None:
                    out.append(Problem(f"{preds.path}:{vid}/{eid}", "prediction for an expression not in the split"))
                elif n > len(e.frames):
                    out.append(Problem(f"{preds.path}:{vid}/{eid}", f"{n} masks for {len(e.frames)} frames"))
        return out
    folder = (lambda e: dataset.prediction_video(e)) if protocol == "reasonvos" else (lambda e: e.video_id)
    expected = {(folder(e), e.id): set(e.frames) for e in dataset.expressions()}
    for key, frames in preds.inventory().items.items():
        if key not in expected:
            out.append(Problem(preds.describe(*key), "prediction folder for an expression not in the split"))
        elif frames - expected[key]:
            out.append(Problem(preds.describe(*key), f"{len(frames - expected[key])} frame(s) not scored: "
                                                     f"{', '.join(sorted(frames - expected[key])[:5])}"))
    out += [Problem(path, why) for path, why in preds.inventory().stray]
    return out


def official_notes(dataset: Any, protocol: str, preds: Sa2VAResults | PngTreePredictions) -> list[str]:
    """Where the official script, run on the same files, would see something else than lvsbench does."""
    notes = []
    if isinstance(preds, PngTreePredictions) and preds.base != preds.path:
        notes.append(f"the official script needs the folder that holds the video folders ({preds.base}); given "
                     f"{preds.path} it finds no video and scores "
                     + ("every expression 0" if protocol == "long-rvos" else "nothing (every expression skipped)"))
    if isinstance(preds, Sa2VAResults):
        reordered = [f"{e.video_id}/{e.id}" for e in dataset.expressions()
                     if isinstance((item := (preds.doc.get(e.video_id) or {}).get(e.id)), dict)
                     and isinstance(item.get("frames"), list) and tuple(item["frames"]) != e.frames]
        if reordered:
            notes.append(f"{len(reordered)} expression(s) list their frames in another order than the meta file "
                         f"(e.g. {reordered[0]}); masks are matched by position in the meta order, as "
                         "eval_ref_sav.py does (Sa2VA's inference sorts the frames)")
    return notes


def score_per_expression(preds: str | Path, dataset: Any, protocol: str, allow_missing: bool = False,
                         allow_extra: bool = False, by: str | None = None, format: str | None = None) -> Any:
    """`lvsbench score` for the per-expression protocols (refsav, long-rvos, reasonvos): a `ScoreResult` whose
    results JSON also carries `official_equivalent` and whose per-sample table has one row per expression.
    Predictions for items outside the split are refused unless `allow_extra` (then listed in `ignored_extra`);
    `by` and `format` do not apply to these protocols and are refused."""
    from lvsbench import __version__
    from lvsbench.errors import ConfigError
    from lvsbench.scoring.evaluate import ScoreResult, _json_safe, dataset_checksum
    from lvsbench.scoring.protocols import get_protocol

    proto = get_protocol(protocol)
    if protocol not in EVALUATORS:
        raise ConfigError(f"protocol {protocol!r} is not a per-expression protocol ({', '.join(EVALUATORS)})")
    reader, evaluate = EVALUATORS[protocol]
    if not isinstance(dataset, reader):
        raise ConfigError(f"protocol {protocol} needs the native {reader.name} reader (--dataset {reader.name}), "
                          f"got dataset {getattr(dataset, 'name', '?')!r}")
    if by is not None or format is not None:
        raise ConfigError(f"--by / --format do not apply to the {protocol} protocol (one row per expression; "
                          f"predictions: {proto.formats[0]})")
    path = Path(preds)
    p: Any = Sa2VAResults(path) if protocol == "refsav" else PngTreePredictions(path)
    extra = extra_predictions(dataset, protocol, p)
    res = evaluate(dataset, p, allow_missing=True)
    problems = ([] if allow_missing else missing_problems(res.missing)) + ([] if allow_extra else extra)
    if problems:
        raise ValidationFailed(problems, f"predictions {path} for {dataset.name} ({protocol}): missing items "
                                         "(--allow-missing scores them as empty masks) or unexpected ones "
                                         "(--ignore-extra ignores them); both are recorded when allowed")
    values = _flat_values(protocol, res.aggregates)
    notes = official_notes(dataset, protocol, p)
    ds_kind, ds_sum = dataset_checksum(dataset)
    checksum = p.checksum() if isinstance(p, PngTreePredictions) else sha256_file(path)
    results: dict[str, Any] = {
        "lvsbench_version": __version__,
        "protocol": proto.header(),
        "values": values,
        "aggregates": res.aggregates,
        "counts": {"videos": int(res.rows["video_id"].nunique()), "expressions": len(res.rows),
                   "missing_scored": len(res.missing)},
        "dataset": {"name": dataset.name, "split": dataset.split, "root": str(dataset.root), "checksum": ds_sum,
                    "checksum_kind": ds_kind},
        "predictions": {"path": str(path), "format": proto.formats[0], "checksum": checksum},
        "options": {"allow_missing": allow_missing, "allow_extra": allow_extra, "workers": 1},
        "missing": [{"key": m.key, "kind": m.kind, "frames": list(m.frames)} for m in res.missing],
        "ignored_extra": [{"path": e.path, "message": e.message} for e in extra],
        "official_equivalent": {"reproduces": proto.reproduces, **res.official_equivalent, "notes": notes},
    }
    summary = pd.DataFrame({"metric": list(values), "value": list(values.values())})
    return ScoreResult(proto, values, summary, res.per_sample_frame(), None, _json_safe(results), [])


def per_expression_protocol(dataset: Any, protocol: str | None) -> bool:
    """Whether `lvsbench score` takes the per-expression path: the protocol (or, when none is given, the native
    dataset) is refsav, long-rvos or reasonvos."""
    if protocol:
        return protocol in EVALUATORS
    return any(isinstance(dataset, reader) for reader, _ in EVALUATORS.values())
