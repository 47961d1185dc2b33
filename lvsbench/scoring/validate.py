"""Validation of predictions against a dataset and protocol, before any pixel is scored.

The anchors crash on the first missing file (davis2017 `sys.exit`, MeViS `cv2.imread` returning None, MTTR
`IndexError`) or silently score nonsense (wrong ids, stale CSVs). Here every problem is collected and reported at
once with its path: missing videos / expressions / frames / COCO images / annotator runs, files that do not belong
(unknown videos, expressions, frames, image ids, stray files). Size mismatches, undecodable images and out-of-range
ids need the pixels; the scorer reports those in the same `Problem` form while it streams frames
(`ValidationFailed` lists them all at the end).

`build_plan` fixes what is scored (videos, expressions, frames, annotator runs); `check_inventory` compares the
plan with what the prediction source holds, without decoding anything (`lvsbench.scoring.evaluate.validate` adds
the decoding checks by running the scorer).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lvsbench.core.errors import ConfigError, LvsbenchError, Problem
from lvsbench.core.records import Expression
from lvsbench.datasets.base import Dataset
from lvsbench.formats.base import Predictions
from lvsbench.formats.coco_json import CocoPredictions
from lvsbench.formats.davis_anno import DavisAnnoPredictions
from lvsbench.protocols import Protocol


@dataclass(frozen=True)
class MissingItem:
    """One item the predictions lack (recorded in the results JSON when `allow_missing` scores it as empty)."""

    kind: str  # "video" | "expression" | "frame" | "image" | "run"
    path: str
    video_id: str | None = None
    exp_id: str | None = None
    frame: str | None = None
    image_id: str | None = None
    annotator: int | None = None
    frames: int = 1
    """Number of scored frames this item stands for."""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def problem(self) -> Problem:
        what = {"video": f"video missing ({self.frames} scored frame(s))",
                "expression": f"expression missing ({self.frames} scored frame(s))",
                "frame": "frame missing",
                "image": f"no candidate for COCO image {self.image_id}",
                "run": f"annotator run anno_{self.annotator} missing"}[self.kind]
        return Problem(self.path, what)


@dataclass
class Plan:
    """What a protocol scores on a dataset.

    Expression families: `exp_frames[video]` = [(expression, scored frames)], frames in video order.
    DAVIS family: `davis_frames[video]` = frames read (the first one fixes the GT object count), `runs` = annotator
    runs (None = a single unnamed run), `expected_runs` = the runs the dataset's expressions call for.
    """

    protocol: Protocol
    videos: list[str]
    exp_frames: dict[str, list[tuple[Expression, tuple[str, ...]]]] = field(default_factory=dict)
    davis_frames: dict[str, tuple[str, ...]] = field(default_factory=dict)
    runs: list[int | None] = field(default_factory=list)
    expected_runs: list[int | None] = field(default_factory=list)
    extra_runs: list[int] = field(default_factory=list)
    """Runs the predictions hold beyond those the dataset calls for (e.g. a stray `anno_9/`): reported, never
    averaged in."""

    def image_id(self, video_id: str, expression: Expression, frame: str) -> str:
        """The sample's COCO image id (`Protocol.image_id`)."""
        from lvsbench.formats.coco_json import a2d_image_id, jhmdb_image_id

        if self.protocol.image_id == "jhmdb-frame":
            return jhmdb_image_id(video_id, frame)
        return a2d_image_id(video_id, frame, expression.object_ids[0])

    def scored_frames(self, video_id: str) -> tuple[str, ...]:
        """Frames of a DAVIS-family video that are scored (the protocol's `frames` rule)."""
        frames = self.davis_frames[video_id]
        return frames[1:-1] if self.protocol.frames == "inner" else frames


def annotator_of(expression: Expression) -> int | None:
    """ReferFormer's annotator setting of a Ref-DAVIS17 expression: id 4k + a is annotator a (anno_a)."""
    return int(expression.id) % 4 if expression.id.isdigit() else None


def build_plan(dataset: Dataset, protocol: Protocol, preds: Predictions) -> Plan:
    check_plannable(dataset, protocol, preds)
    videos = dataset.videos()
    plan = Plan(protocol, [])
    if isinstance(preds, DavisAnnoPredictions):  # the DAVIS family's only format, checked above
        for vid in videos:
            frames = dataset.annotated_frames(vid)
            if frames:
                plan.videos.append(vid)
                plan.davis_frames[vid] = frames
        anns = {annotator_of(e) for e in dataset.expressions()} if protocol.annotator_runs else set()
        expected: list[int | None] = sorted(a for a in anns if a is not None)
        have = preds.annotators
        plan.expected_runs = expected or list(have)
        if have == [None]:
            plan.runs = [None]  # a single run folder: score it as it is
        else:
            plan.runs = list(plan.expected_runs)
            plan.extra_runs = sorted(a for a in have if a is not None and a not in plan.expected_runs)
        return plan
    for vid in videos:
        plan_video(plan, dataset, vid)
    return plan


def check_plannable(dataset: Dataset, protocol: Protocol, preds: Predictions) -> None:
    """Refuse (`ConfigError`) predictions of a format the protocol does not score, and a split without ground
    truth."""
    if preds.format not in protocol.formats:
        raise ConfigError(f"protocol {protocol.name} scores {', '.join(protocol.formats)} predictions, "
                          f"not {preds.format} ({preds.path}); use --format or another --protocol")
    if getattr(dataset, "has_ground_truth", True) is False:
        raise ConfigError(f"{dataset.name} split {getattr(dataset, 'split', '?')} has no public ground-truth masks, "
                          "so it cannot be scored locally (Refer-YouTube-VOS valid/test: use `lvsbench submit ryvos`, "
                          "or score the offline proxy split train-heldout-v1)")


def plan_video(plan: Plan, dataset: Dataset, vid: str) -> bool:
    """Add a video of an expression family to the plan (if it has expressions): its expressions and the frames
    each is scored on, from the video's own annotations. Whether it was added."""
    items = []
    for e in dataset.video_expressions(vid):
        if not e.object_ids:
            raise ConfigError(f"{dataset.name}: expression {vid}/{e.id} has no object id, so it cannot be scored "
                              "(competition valid/test metadata; give the original release or score a split "
                              "with ground truth)")
        items.append((e, tuple(dataset.expression_frames(e))))
    if items:
        plan.videos.append(vid)
        plan.exp_frames[vid] = items
    return bool(items)


@dataclass
class InventoryReport:
    problems: list[Problem] = field(default_factory=list)
    missing: list[MissingItem] = field(default_factory=list)
    extra: list[Problem] = field(default_factory=list)


def check_inventory(preds: Predictions, dataset: Dataset, plan: Plan) -> InventoryReport:
    """Compare what the predictions hold with what the plan scores (no decoding)."""
    if isinstance(preds, DavisAnnoPredictions):  # the DAVIS family's only format (build_plan checked it)
        return _check_davis(preds, dataset, plan)
    if isinstance(preds, CocoPredictions):
        return _check_coco(preds, dataset, plan)
    return _check_png(preds, dataset, plan)


def _check_png(preds: Predictions, dataset: Dataset, plan: Plan) -> InventoryReport:
    rep = InventoryReport()
    inv = preds.inventory()
    by_video: dict[str, dict[str, set[str]]] = {}
    for (vid, eid), frames in inv.items.items():
        by_video.setdefault(vid, {})[eid] = frames
    for vid in plan.videos:
        held = by_video.get(vid)
        items = plan.exp_frames[vid]
        if held is None:
            rep.missing.append(MissingItem("video", preds.describe(vid), vid, frames=sum(len(f) for _, f in items)))
            continue
        for e, frames in items:
            got = held.get(e.id)
            if got is None:
                rep.missing.append(MissingItem("expression", preds.describe(vid, e.id), vid, e.id,
                                               frames=len(frames)))
                continue
            for f in frames:
                if f not in got:
                    rep.missing.append(MissingItem("frame", preds.describe(vid, e.id, f), vid, e.id, f))
    videos = dataset.videos()
    for vid, exps in sorted(by_video.items()):
        if vid not in videos:
            rep.extra.append(Problem(preds.describe(vid), "unexpected video (not in the dataset split)"))
            continue
        known = {e.id for e in dataset.video_expressions(vid)}
        vframes = set(videos[vid].frames)
        for eid, frames in sorted(exps.items()):
            if eid not in known:
                rep.extra.append(Problem(preds.describe(vid, eid), f"unexpected expression id {eid!r} for video {vid}"))
                continue
            for f in sorted(frames - vframes):
                rep.extra.append(Problem(preds.describe(vid, eid, f), f"unexpected frame {f!r}: not a frame of {vid}"))
    rep.problems += [Problem(p, why) for p, why in inv.stray]
    return rep


def _check_coco(preds: CocoPredictions, dataset: Dataset, plan: Plan) -> InventoryReport:
    rep = InventoryReport()
    held = preds.inventory().candidates
    expected: dict[str, tuple[str, Expression, str]] = {}
    for vid in plan.videos:
        for e, frames in plan.exp_frames[vid]:
            for f in frames:
                iid = plan.image_id(vid, e, f)
                if iid in expected:
                    o = expected[iid]
                    rep.problems.append(Problem(f"{dataset.name} {vid}/{e.id}", f"COCO image id {iid} is also the id "
                                                f"of expression {o[0]}/{o[1].id}: one referent per image id"))
                    continue
                expected[iid] = (vid, e, f)
                if iid not in held:
                    rep.missing.append(MissingItem("image", preds.describe(iid), vid, e.id, f, image_id=iid))
    for iid in held:
        if iid not in expected:
            rep.extra.append(Problem(preds.describe(iid), "unexpected image_id (not a ground-truth sample)"))
    if plan.protocol.instance_annotated_only and rep.missing:
        rep.missing = _a2d_real_samples(rep.missing, dataset, plan)
    return rep


def _a2d_real_samples(missing: list[MissingItem], dataset: Dataset, plan: Plan) -> list[MissingItem]:
    """A2D samples exist only where the referred instance is annotated (MTTR skips other frames, following
    CMPC-V). When a reader does not list an expression's frames, drop candidate samples whose ground truth lacks
    the instance (reads only their masks)."""
    exprs = {(vid, e.id): e for vid in plan.videos for e, _ in plan.exp_frames[vid]}
    keep = []
    for m in missing:
        assert m.video_id is not None and m.frame is not None
        try:
            lab = dataset.read_masks(m.video_id, m.frame)
        except LvsbenchError:
            keep.append(m)  # the scorer reports the GT problem
            continue
        e = exprs[(m.video_id, str(m.exp_id))]
        if e.frames or (lab is not None and lab.mask(e.object_ids).any()):
            keep.append(m)
    return keep


def _check_davis(preds: DavisAnnoPredictions, dataset: Dataset, plan: Plan) -> InventoryReport:
    rep = InventoryReport()
    inv = preds.inventory()
    held_runs = set(preds.annotators)
    for a in plan.runs:
        if a not in held_runs:
            n = sum(len(plan.scored_frames(v)) for v in plan.videos)
            rep.missing.append(MissingItem("run", str(preds.path / f"anno_{a}"), annotator=a, frames=n))
            continue
        for vid in plan.videos:
            frames = plan.scored_frames(vid)
            got = inv.items.get((a, vid))
            if got is None:
                rep.missing.append(MissingItem("video", preds.describe(a, vid), vid, annotator=a, frames=len(frames)))
                continue
            for f in frames:
                if f not in got:
                    rep.missing.append(MissingItem("frame", preds.describe(a, vid, f), vid, frame=f, annotator=a))
    for a in plan.extra_runs:
        source = getattr(dataset, "run_source", lambda _a: None)(a)
        why = f" ({source} gives no expressions: missing or empty?)" if source is not None else ""
        rep.extra.append(Problem(str(preds.runs.get(a, preds.path / f"anno_{a}")),
                                 f"unexpected annotator run anno_{a}: the dataset's expressions call for runs "
                                 f"{', '.join(f'anno_{r}' for r in plan.expected_runs)}; it is not scored{why}"))
    videos = dataset.videos()
    for (a, vid), frames in sorted(inv.items.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        if a in plan.extra_runs:
            continue
        if vid not in videos:
            rep.extra.append(Problem(preds.describe(a, vid), "unexpected video (not in the dataset split)"))
            continue
        for f in sorted(frames - set(videos[vid].frames)):
            rep.extra.append(Problem(preds.describe(a, vid, f), f"unexpected frame {f!r}: not a frame of {vid}"))
    rep.problems += [Problem(p, why) for p, why in inv.stray]
    return rep


__all__ = ["InventoryReport", "MissingItem", "Plan", "annotator_of", "build_plan", "check_inventory", "check_plannable",
           "plan_video"]
