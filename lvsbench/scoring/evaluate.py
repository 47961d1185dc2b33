"""`score()`: predictions x dataset x protocol -> numbers, per-sample and per-group tables, and a results JSON.

How it stays fast and small (measured in `docs/benchmarks.md`):

* Work is split by video, and long videos by frame ranges (`lvsbench.scoring.workers`). Where the reader reads
  the ground truth in worker processes (A2D: `keep_masks`), this process scores each video as it arrives, and reads
  too when none has (`score_arrivals`). A video's frames are
  streamed in order into the accumulator of its protocol family (`FAMILIES`, keyed by `Protocol.family`:
  `lvsbench.scoring.davis`, `lvsbench.scoring.samples`): each ground-truth frame is decoded once and shared by
  every expression / object / annotator run, each prediction once, and only per-frame scalars are kept (J, F, I, U),
  so memory does not grow with video length or resolution beyond one frame. The official evaluator instead builds
  float64 (objects x T x H x W) arrays (2.8 GB for 30 x 80-frame videos).
* J and F come from `lvsbench.metrics.functional` (exact crop-to-bbox formulation, bit-identical to
  davis2017-evaluation); A2D metrics from `lvsbench.metrics.referring`.
* Accumulators merge exactly in any grouping and order, so the numbers do not depend on the number of workers.

Nothing is scored until the predictions have passed `validate.check_inventory`; decode errors, size mismatches and
bad ids found while streaming are collected and raised together as `ValidationFailed`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lvsbench import __version__
from lvsbench.core.errors import ConfigError, Problem, ValidationFailed, did_you_mean
from lvsbench.datasets.base import Dataset
from lvsbench.datasets.registry import DATASETS
from lvsbench.formats.base import Predictions
from lvsbench.formats.predictions import open_predictions
from lvsbench.metrics.names import units_of
from lvsbench.metrics.statistics import DECAY_MODES, DEFAULT_DECAY
from lvsbench.protocols import PER_EXPRESSION, PROTOCOLS, Protocol, default_protocol_for, get_protocol
from lvsbench.scoring.davis import FAMILY as DAVIS
from lvsbench.scoring.results import ScoreResult, attach_metadata, dataset_checksum, json_safe
from lvsbench.scoring.samples import JF, LOCATER, REFERRING
from lvsbench.scoring.stream import Family, Job, VideoResult, merge_all
from lvsbench.scoring.validate import InventoryReport, Plan, build_plan, check_inventory, check_plannable
from lvsbench.scoring.workers import run as run_tasks
from lvsbench.scoring.workers import score_arrivals

if TYPE_CHECKING:
    import pandas as pd

FAMILIES: dict[str, Family] = {"davis": DAVIS, "referring": REFERRING, "jf": JF, "locater": LOCATER}
"""How each `Protocol.family` is scored (the per-expression family has its own scorer)."""


def score(preds: str | Path | Predictions, dataset: Dataset, protocol: str | Protocol | None = None, *,
          allow_missing: bool = False, workers: int = 1, by: str | None = None, allow_extra: bool = False,
          format: str | None = None, decay: str = DEFAULT_DECAY, progress: bool = False) -> ScoreResult:
    """Score predictions on a dataset under a named protocol.

    - `preds`: a path (format auto-detected, or `format`) or an opened `Predictions`.
    - `protocol`: a name from `PROTOCOLS`; default from the dataset (card `default_protocol`, else its name). The
      per-expression protocols of the native MeViS / ReVOS / Ref-SAV / Long-RVOS / ReasonVOS readers go to
      `lvsbench.scoring.per_expression.score_per_expression` (`per_sample`: one row per expression; `decay` does
      not apply).
    - `allow_missing`: score missing frames / expressions / videos / images / runs as empty predictions and record
      every missing item in the results (otherwise refuse with the full list).
    - `allow_extra`: ignore (but record) predictions for unknown videos / expressions / frames / image ids.
    - `workers`: processes, parallel over videos; results do not depend on it.
    - `by`: a per-sample column to group by (e.g. `num_objects_bin`, `category`, `num_words_bin`, `subset`), or
      `table_vii_group`: Locater's Table VII grouping (`lvsbench.hardsplit.stats.table_vii_group`).
    - `decay`: "fixed" (default; correct bins for any length) or "compat" (davis2017's uint8 index cast, NaN or
      wrong from 256 scored frames on); identical below 256 frames. Recorded in `results["options"]["decay"]`.

    A DAVIS-family protocol defined on one annotation set (`Protocol.annotations`) reads that set from a DAVIS
    reader opened without an explicit `annotations` option, and refuses (`ConfigError`) a reader explicitly opened
    on the other set.

    Raises `ValidationFailed` listing every problem (missing items, unexpected items, undecodable files, size
    mismatches, out-of-range ids), each with its path.
    """
    name = protocol.name if isinstance(protocol, Protocol) else protocol
    if not per_expression_protocol(dataset, name) and name is None:
        name = default_protocol_for(dataset).name  # a converted copy may name a per-expression protocol
    if per_expression_protocol(dataset, name):  # the 2023-2026 benchmarks, one row per expression
        from lvsbench.scoring.per_expression import score_per_expression

        if isinstance(preds, Predictions):
            raise ConfigError(f"protocol {name or dataset.name}: pass the prediction path (PNG tree or results "
                              "JSON), not an opened Predictions")
        return score_per_expression(preds, dataset, name, allow_missing=allow_missing, allow_extra=allow_extra,
                                    by=by, format=format, workers=workers)
    if decay not in DECAY_MODES:
        raise ConfigError(f"decay must be one of {', '.join(DECAY_MODES)} ('compat' = the official davis2017 "
                          f"value), got {decay!r}")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    proto = _resolve_protocol(dataset, protocol)
    dataset = _select_annotations(dataset, proto)
    family = FAMILIES[proto.family]
    early: Job | None = None
    scored: list[Any] = []
    with _reading_ground_truth(dataset, workers) as arrivals:
        p = preds if isinstance(preds, Predictions) else open_predictions(preds, format)
        if arrivals is not None:  # workers read the ground truth: import what the tables need, score what arrives
            import pandas  # noqa: F401

            check_plannable(dataset, proto, p)
            if family is not DAVIS:  # the expression families plan a video on its own
                early = Job(dataset, p, Plan(proto, []), allow_missing, decay, family)
                scored = score_arrivals(early, arrivals)
    plan = build_plan(dataset, proto, p)
    if early is not None:
        _same_plan(early.plan, plan)
    rep = check_inventory(p, dataset, plan)
    missing = [] if allow_missing else [m.problem() for m in rep.missing]
    _refuse(rep.problems + ([] if allow_extra else rep.extra) + missing, p, dataset, proto)
    job = Job(dataset, p, plan, allow_missing, decay, family)
    done = run_tasks(job, workers, progress, scored).compute()
    _refuse([x for r in done for x in r.problems], p, dataset, proto)
    import pandas as pd  # for the result tables only: not before the first frame

    df, counts, samples, coco = _tables(job, done)
    values = job.family.values(proto, df, samples, coco)
    per_group = _groups(job, df, by, samples, coco) if by else pd.DataFrame(columns=["group", "n", *values])
    results = _results(job, values, counts, rep, df, per_group, allow_extra=allow_extra, workers=workers, by=by)
    return ScoreResult(proto, values, pd.DataFrame({"metric": list(values), "value": list(values.values())}), df,
                       per_group, results, list(rep.missing))


PER_EXPRESSION_DATASETS = frozenset(p.dataset for p in PER_EXPRESSION.values() if p.dataset)
"""The datasets whose protocols are scored per expression (`lvsbench.scoring.per_expression.DRIVERS`)."""


def per_expression_protocol(dataset: Dataset, protocol: str | Protocol | None) -> bool:
    """Whether scoring takes the per-expression path: the protocol declares a native dataset scored per expression,
    or none is given and the dataset is one of their native readers (a subclass too). Decided from the protocol
    declarations and the dataset registry, so that scoring the other protocols does not import the per-expression
    scorer (~20 ms of start-up)."""
    if protocol:
        proto = protocol if isinstance(protocol, Protocol) else PER_EXPRESSION.get(protocol)
        return proto is not None and proto.dataset in PER_EXPRESSION_DATASETS
    readers = {DATASETS[n].loader for n in PER_EXPRESSION_DATASETS}
    return any(f"{c.__module__}:{c.__qualname__}" in readers for c in type(dataset).__mro__)


def _reading_ground_truth(dataset: Dataset, workers: int) -> AbstractContextManager[Any]:
    """Readers with `keep_masks` (A2D, J-HMDB): the plan's read of each annotation file keeps the masks for the
    scorer, so each file is opened once; A2D reads them in `workers` > 1 processes while the block runs and yields
    the videos as they arrive (`VideoReads`; else None). Other readers: nothing."""
    keep = getattr(dataset, "keep_masks", None)
    return keep(workers) if keep is not None else nullcontext(None)  # type: ignore[no-any-return]


def _same_plan(early: Plan, plan: Plan) -> None:
    """The videos scored as they arrived were planned alone (`plan_video`); the whole plan must agree."""
    for vid, items in early.exp_frames.items():
        if plan.exp_frames.get(vid) != items:
            raise RuntimeError(f"video {vid}: planned as it arrived differently from the whole plan (a bug)")


def _refuse(problems: list[Problem], p: Predictions, dataset: Dataset, proto: Protocol) -> None:
    if problems:
        raise ValidationFailed(problems, f"predictions {p.path} for {dataset.name} ({proto.name})")


def _tables(job: Job, done: list[VideoResult]) -> tuple[pd.DataFrame, dict[str, int], Any, Any]:
    """The per-sample table (with metadata columns), the counts, and the merged sample / COCO accumulators."""
    import pandas as pd

    counts = {"videos": len(done), "samples": 0}
    for key in ("frame_objects", "skipped_frames", "missing_scored"):
        counts[key] = sum(r.counts[key] for r in done)
    df = attach_metadata(pd.DataFrame([row for r in done for row in r.rows]), job.dataset)
    counts["samples"] = len(df)
    if df.empty:
        raise ValidationFailed([Problem(str(job.preds.path), f"nothing to score: no {job.plan.protocol.name} samples "
                                                              f"in {job.dataset.name}")], "scoring")
    counts.update(job.family.counts(job, df))
    return df, counts, merge_all([r.samples for r in done]), merge_all([r.coco for r in done])


def _groups(job: Job, df: pd.DataFrame, by: str, samples: Any, coco: Any) -> pd.DataFrame:
    """One row per value of the per-sample column `by` (n, the protocol's values on those rows)."""
    import pandas as pd

    if by == "table_vii_group" and by not in df.columns:  # a named grouping, added only when asked for
        from lvsbench.hardsplit.stats import table_vii_group

        df[by] = [table_vii_group(job.dataset, n) for n in df["num_objects_in_video"]]
    if by not in df.columns:
        raise ConfigError(f"--by {by!r}: no such per-sample column{did_you_mean(by, map(str, df.columns))} "
                          f"(available: {', '.join(map(str, df.columns))})")
    keys = [k for k, *_ in samples.items()] if samples is not None else []
    rows = []
    for key, sub in df.groupby(by, sort=True, dropna=False):
        sub_samples = samples.select([keys[i] for i in sub.index]) if samples is not None else None
        sub_coco = coco.select(sub["image_id"]) if coco is not None else None
        rows.append({by: key, "n": len(sub), **job.family.values(job.plan.protocol, sub, sub_samples, sub_coco)})
    return pd.DataFrame(rows)


def _results(job: Job, values: dict[str, float], counts: dict[str, int], rep: InventoryReport, df: pd.DataFrame,
             per_group: pd.DataFrame, **options: Any) -> dict[str, Any]:
    """The results JSON (JSON-safe: NaN and infinities as null)."""
    dataset, p, proto = job.dataset, job.preds, job.plan.protocol
    ds_kind, ds_sum = dataset_checksum(dataset)
    annotations = getattr(dataset, "annotations", None) if job.family.per_run else None
    results: dict[str, Any] = {
        "lvsbench_version": __version__, "protocol": proto.header(), "values": values, "units": units_of(values),
        "counts": counts,
        "dataset": {"name": dataset.name, "split": getattr(dataset, "split", None), "root": str(dataset.root),
                    "checksum": ds_sum, "checksum_kind": ds_kind, **({"annotations": annotations} if annotations
                                                                     else {})},
        "predictions": {"path": str(p.path), "format": p.format, "checksum": p.checksum()},
        "options": {"allow_missing": job.allow_missing, "allow_extra": options["allow_extra"],
                    "workers": options["workers"], "by": options["by"], "decay": job.decay},
        "missing": [m.as_dict() for m in rep.missing],
        "ignored_extra": [{"path": e.path, "message": e.message} for e in rep.extra],
    }
    if job.family.per_run:
        results["runs"] = {str(run): job.family.values(proto, sub, None, None)
                           for run, sub in df.groupby("run", sort=False)}
    if options["by"]:
        results["groups"] = {"by": options["by"], "rows": per_group.to_dict(orient="records")}
    return json_safe(results)  # type: ignore[no-any-return]


def _either(dataset: Dataset, proto: Protocol) -> str:
    """Protocols of the family that read either annotation set and suit the data (annotator runs need
    expressions)."""
    refer = bool(dataset.expressions())
    names = [q.name for q in PROTOCOLS.values() if q.family == proto.family and q.annotations is None
             and (refer or not q.annotator_runs)]
    return f" ({', '.join(names)} reads either)" if names else ""


def _resolve_protocol(dataset: Dataset, protocol: str | Protocol | None) -> Protocol:
    if isinstance(protocol, Protocol):
        return protocol
    return get_protocol(protocol) if protocol else default_protocol_for(dataset)


def _select_annotations(dataset: Dataset, proto: Protocol) -> Dataset:
    """The dataset read with the annotation set `proto` is defined on (DAVIS readers: `with_annotations`).

    davis2017-evaluation picks the folder from its task (`davis.py`: Annotations for semi-supervised,
    Annotations_unsupervised for unsupervised), so a protocol does too; an explicit contrary choice is refused."""
    need = proto.annotations
    have = getattr(dataset, "annotations", None)
    card = getattr(dataset, "card", None)
    if have is None and isinstance(card, dict) and card.get("native_annotations"):
        have = card["native_annotations"]  # a layout converted from a DAVIS reader: its masks are fixed
        if need is not None and have != need:
            raise ConfigError(f"protocol {proto.name} is defined on the {need!r} annotations, but {dataset.root} "
                              f"was converted from {card.get('native_dataset')} with annotations={have}; convert "
                              f"again with -o annotations={need}, or choose a protocol for the {have!r} set")
    if need is None or have is None or have == need:
        return dataset
    if getattr(dataset, "annotations_chosen", True):
        raise ConfigError(f"protocol {proto.name} is defined on the {need!r} annotations, but {dataset.name} was "
                          f"opened with annotations={have}; drop that option (or pass --dataset-option "
                          f"annotations={need}), or choose a protocol for the {have!r} set"
                          + _either(dataset, proto))
    return dataset.with_annotations(need)  # type: ignore[attr-defined, no-any-return]


__all__ = ["FAMILIES", "PER_EXPRESSION_DATASETS", "per_expression_protocol", "score"]
