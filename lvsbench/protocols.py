"""Named scoring protocols: what is compared, on which frames, how it is aggregated, and which paper/code it
reproduces. Every switch is a field, and the whole `Protocol` is written into the results JSON, so a number can
always be traced back to its definition. Background and the anchors' quirks: `docs/protocols.md`, `docs/metrics.md`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from lvsbench.core.errors import ConfigError
from lvsbench.core.registry import Registry
from lvsbench.datasets.registry import DATASETS
from lvsbench.metrics.names import (
    COCO_METRICS,
    DAVIS_METRICS,
    JF_METRICS,
    LOCATER_METRICS,
    PK_METRICS,
    TOP1_METRICS,
    V2_NOTE,
)

Family = Literal["referring", "jf", "locater", "davis", "per-expression"]

@dataclass(frozen=True)
class Protocol:
    """A named evaluation protocol (all fields end up in the results JSON under `protocol`)."""

    name: str
    family: Family
    title: str
    reproduces: str
    formats: tuple[str, ...]
    metrics: tuple[str, ...]
    """The keys of the results' `values`, in order (names from `lvsbench.metrics.names.METRICS`)."""
    frames: str
    """Which frames are scored: "expression" (the expression's scored frames), "all" (every annotated frame),
    "inner" (every annotated frame but the first and the last)."""
    void: bool = False
    """Whether void (255) pixels are excluded from J and F."""
    matching: str = "none"
    """"none" (ids aligned), "hungarian" (davis2017 unsupervised: (J+F)/2, linear_sum_assignment)."""
    max_proposals: int = 20
    aggregate: str = "samples"
    """"expressions": mean over expressions; "objects": mean over objects, averaged over annotator runs;
    "samples": per (expression, frame) sample."""
    annotations: str | None = None
    """DAVIS family: the annotation set the protocol is defined on ("semi" = Annotations/, "unsupervised" =
    Annotations_unsupervised/); a reader opened without an explicit choice is switched to it, an explicit other
    choice is refused. None: either set."""
    proxy: bool = False
    """True when no official local evaluator exists and the protocol is an offline stand-in."""
    notes: str = ""
    dataset: str | None = None
    """Per-expression family: the native reader the protocol scores (mevis, revos, refsav, long-rvos, reasonvos)."""
    scale: Literal["fraction", "percent"] = "fraction"
    """Scale of the official per-expression output and figures (the results' `aggregates` and per-sample table):
    "fraction" (0..1) or "percent" (0..100: ReVOS / Ref-SAV print round(100 x, 2)). `values` are fractions always."""
    rounding: str = "none"
    """Per-expression rounding before aggregation: "none", or "numpy-round2-x100" (`np.round(100 x, 2)` on a numpy
    float64, `lvsbench.metrics.modern.np_round2`)."""
    subsets: tuple[tuple[int | str, str], ...] = ()
    """(type, subset name) pairs. With `subset_rule` "mean-of-subset-means", overall = mean of the subset means
    (types outside the pairs never enter an aggregate); "pooled": overall = mean over the expressions of the
    subsets taken in this order."""
    subset_rule: str = "none"
    binarize: bool = True
    """Whether predictions are binarised before A / R (False: VISA's raw PNG values)."""
    missing_rules: tuple[tuple[str, str], ...] = ()
    """The official script on missing input: (kind, outcome) pairs, kinds of
    `lvsbench.metrics.official_missing.MissingKind`, outcomes "empty" (read as an empty mask), "zero" (0.0 per
    metric), "zero_int" (the int 0), "drop" (worker crash: left out of the means) or "skip" (left out, with a
    message)."""
    primary_metric: str = "J&F"
    """The metric tables are sorted by and reports lead with (a key of `metrics`)."""
    data_notes: tuple[tuple[str, str], ...] = ()
    """(dataset name, note) pairs: what the numbers mean on one dataset the protocol scores (added to `summary`)."""
    subset_of: str | None = None
    """The protocol whose data this one scores subsets of (A2D-S+ of A2D-S test; reports compare the two)."""
    pk_strict: bool = False
    """P@K counts IoU > K (MTTR metrics.py @2cc35ab), not IoU >= K (Locater tools/evaluate.py @5da6daa)."""
    reported_only: tuple[str, ...] = ()
    """Metrics papers print for this protocol that lvsbench does not compute (accepted by the audit)."""
    comparability: str = ""
    """How the published numbers of this protocol relate to lvsbench's (shown above the reported rows)."""
    run_format: str = "png-tree"
    """The prediction format `lvsbench run` writes for this protocol (one of `formats`)."""
    image_id: Literal["none", "a2d-instance", "jhmdb-frame"] = "none"
    """COCO image id of a sample: "a2d-instance" `v_<vid>_f_<frame>_i_<instance>` (instance = object id - 1, MTTR's
    A2D), "jhmdb-frame" `v_<vid>_f_<frame>` (MTTR's `create_gt_in_coco_format.py`), "none" (not COCO-scored)."""
    top1: Literal["none", "max-score-last-tie"] = "none"
    """Which candidate the per-sample metrics read: "max-score-last-tie" (highest score, the last listed among ties,
    MTTR's `calculate_precision_at_k_and_iou_metrics`), "none" (one prediction per sample)."""
    empty_union: Literal["one", "epsilon"] = "one"
    """IoU when prediction and target are both empty: "one" (IoU = 1: davis2017 db_eval_iou, Locater), "epsilon"
    (float32 (I + 1e-6) / (U + 1e-6), MTTR, which is 1 too but is computed, not special-cased)."""
    annotator_runs: bool = False
    """Ref-DAVIS17: predictions hold one run per annotator setting (`anno_<a>/`, expression id 4k + a), each scored
    and the results averaged."""
    instance_annotated_only: bool = False
    """A sample exists only on frames where the referred instance is annotated (MTTR / CMPC-V on A2D); applied when
    the reader does not list an expression's frames."""
    prediction_dir: Literal["video", "source-video-object"] = "video"
    """Folder of an expression's predicted PNGs: "video" `<video>/<exp>/` or "source-video-object"
    `<source>_<video>_<obj_id>/<exp>/` (VideoLISA's ReasonVOS layout)."""
    summary: str = ""
    """What the numbers mean, in one line (shown above the protocol's tables in reports)."""
    server_submit: str = ""
    """The command that packs predictions of a split without public masks for the benchmark's evaluation server
    (named when such a split is scored locally), or "" if there is none."""

    def header(self) -> dict[str, Any]:
        return asdict(self)


PROTOCOLS: Registry[Protocol] = Registry("protocol")
"""Every protocol by name, in declaration order."""
_register = PROTOCOLS.add


A2D = _register(Protocol(
    name="a2d",
    family="referring",
    title="A2D-Sentences (MTTR / ReferFormer)",
    reproduces=("Gavrilyuk et al. CVPR'18 task; metrics of MTTR (Botach et al. CVPR'22) trainer.py:"
                "evaluate_a2d_sentences + metrics.py:calculate_precision_at_k_and_iou_metrics @2cc35ab, reused by "
                "ReferFormer engine.py:evaluate_a2d @06fc218"),
    formats=("coco-json", "png-tree", "png-zip"),
    metrics=COCO_METRICS + TOP1_METRICS,
    frames="expression",
    aggregate="samples",
    notes=("One sample per (expression, annotated frame in which the referred instance is annotated), COCO image id "
           "v_<vid>_f_<frame>_i_<instance>. coco_* = pycocotools COCOeval segm, useCats=0, all candidates. "
           "P@K (strict >), overall_iou, mean_iou on the top-1 candidate (highest score, last listed among ties), "
           "float32 (I+1e-6)/(U+1e-6). prec_mAP = mean over t in .50:.05:.95 of frac(IoU >= t) (LBDT); "
           "locater_mAP = mean of P@0.5..0.9. PNG predictions are one candidate of score 1."),
    primary_metric="mean_iou",
    run_format="coco-json",
    image_id="a2d-instance",
    top1="max-score-last-tie",
    empty_union="epsilon",
    instance_annotated_only=True,
    summary=("One sample per (expression, annotated frame showing the referred actor), top-1 candidate: mean_iou "
             "averages per-sample IoU, overall_iou is summed intersection / summed union, P@K the share of samples"
             " with IoU > K. Every sample has a target, so an empty prediction scores 0. The three mAPs (coco, "
             "prec, locater) are different definitions."),
    pk_strict=True,
    comparability=(
        "Three different \"mAP\" definitions are printed in the papers, each in its own column, never ranked "
        "together: `coco mAP 0.5:0.95` (COCO AP over scored candidates, pycocotools; MTTR / ReferFormer rows), "
        "`prec_mAP` (mean over IoU .50:.05:.95 of the top-1 precision; the older methods and the papers' own rows) "
        "and `locater_mAP` (mean of P@0.5..0.9, Locater's released code; no table copied here uses it). P@K: "
        "lvsbench counts IoU > K as MTTR and Locater's text do; LBDT / MMVT count IoU >= K. Reported rows score "
        "the full A2D-Sentences test split; reproduced rows score the data named above. `FPS` is frames per "
        "second (not a percentage), measured on the GPU named in the note; it is not comparable across papers."),
))

JHMDB = _register(Protocol(
    name="jhmdb",
    family="referring",
    title="J-HMDB-Sentences (MTTR / ReferFormer), frozen 2,784 frames",
    reproduces=("Gavrilyuk et al. CVPR'18 task; MTTR trainer.py + datasets/jhmdb_sentences/"
                "create_gt_in_coco_format.py @2cc35ab (image id v_<vid>_f_<frame>), frames frozen in "
                "jhmdb_sentences_samples_metadata.json (3 per video), reused by ReferFormer"),
    formats=("coco-json", "png-tree", "png-zip"),
    metrics=COCO_METRICS + TOP1_METRICS,
    frames="expression",
    aggregate="samples",
    notes="As a2d, on the expression's frozen frames (Expression.frames); image id v_<vid>_f_<frame>.",
    primary_metric="mean_iou",
    run_format="coco-json",
    image_id="jhmdb-frame",
    top1="max-score-last-tie",
    empty_union="epsilon",
    summary="As a2d, on MTTR's frozen 3 frames per video: every sample has a target, so an empty prediction scores 0.",
    pk_strict=True,
    comparability=(
        "As on A2D: `coco mAP 0.5:0.95`, `prec_mAP` and `locater_mAP` are three different definitions, in separate "
        "columns. All reported J-HMDB-Sentences rows are models trained on A2D-Sentences and evaluated without "
        "fine-tuning. lvsbench's `jhmdb` scores MTTR's frozen 2,784 frames (3 per video); the papers copied here do "
        "not say which frames the older methods scored, so small differences in the frame set are possible."),
))

RYVOS = _register(Protocol(
    name="ryvos",
    family="jf",
    title="Refer-YouTube-VOS offline proxy (MeViS convention)",
    reproduces=("MeViS tools/eval_mevis.py @7c0620b (Ding et al. ICCV'23): per expression, J (db_eval_iou) and F "
                "(db_eval_boundary, bound_th 0.008) averaged over all scored frames, then over expressions; "
                "J&F = (J+F)/2. The Refer-YouTube-VOS server (Seo et al. ECCV'20) code is not public."),
    formats=("png-tree", "png-zip"),
    metrics=JF_METRICS,
    frames="expression",
    aggregate="expressions",
    proxy=True,
    notes=("OFFLINE PROXY, not the CodaLab server. No first/last frame skip, no void; a frame whose GT and "
           "prediction are both empty scores J = F = 1 (DAVIS convention; URVOS' baseline would give 0)."),
    summary=("Offline proxy (held-out training videos, not the server): J, F averaged over each expression's "
             "frames, then over expressions; a frame with empty target and empty prediction scores 1."),
    reported_only=PK_METRICS,  # Refer-YouTube-VOS papers print prec@X, the share of frames with J > X (URVOS §5.2)
    comparability=(
        "Reported Refer-YouTube-VOS rows are scored on the `valid` split by the challenge server (Locater Table V) "
        "or as the URVOS paper states; lvsbench's `ryvos` is an offline proxy on held-out training videos (split "
        "`train-heldout-v1`): the two never score the same videos, so a reproduced and a reported number are not "
        "comparable value for value. `P@K` of reported rows is URVOS' per-frame prec@X (J > X). Rows without `J&F` "
        "(URVOS prints J and F only) sort last; J&F is never derived."),
))

RDAVIS = _register(Protocol(
    name="rdavis",
    family="davis",
    title="Ref-DAVIS17 (ReferFormer): davis2017 unsupervised, Hungarian, mean of 4 annotator runs",
    reproduces=("ReferFormer (Wu et al. CVPR'22) inference_davis.py + eval_davis.py @06fc218 = "
                "davis2017-evaluation @ac7c43f task 'unsupervised', once per anno_0..anno_3, averaged "
                "(ReferFormer issue #30)"),
    formats=("davis-anno",),
    metrics=DAVIS_METRICS,
    frames="all",
    void=True,
    matching="hungarian",
    aggregate="objects",
    annotations="unsupervised",
    notes=("GT objects 1..max id of the first annotated frame; up to 20 predicted ids per video; predictions "
           "zero-padded to the GT count; assignment by scipy linear_sum_assignment on -(mean_t J + mean_t F)/2. "
           "Surplus proposals are not penalised and swapped referents are not detected (see rdavis-aligned)."),
    primary_metric="J&F-Mean",
    run_format="davis-anno",
    annotator_runs=True,
    summary=("DAVIS-2017 unsupervised evaluation with Hungarian matching of predicted to ground-truth objects, "
             "mean of the four annotators' runs; -Decay: lower is better."),
    comparability=(
        "lvsbench's `rdavis` is ReferFormer's protocol (DAVIS-2017 unsupervised evaluation, Hungarian matching, "
        "mean of the four annotators' expressions). Papers that predate it (URVOS) do not say which DAVIS-2017 mode "
        "they used, and pre-train on other data (see the notes): read their rows as the paper's own numbers, not as "
        "scores under this protocol."),
))

RDAVIS_ALIGNED = _register(Protocol(
    name="rdavis-aligned",
    family="davis",
    title="Ref-DAVIS17, ids aligned to referents (no matching; stricter)",
    reproduces=("lvsbench: the rdavis data, frames and void handling with davis2017's id-aligned comparison "
                "(object i against predicted id i); recommended next to rdavis (metrics.md §8.1)"),
    formats=("davis-anno",),
    metrics=DAVIS_METRICS,
    frames="all",
    void=True,
    matching="none",
    aggregate="objects",
    notes=("In anno_<k>, pixel value v is the prediction for the referent with GT object id v. Always <= rdavis "
           "on J&F-Mean, because the Hungarian assignment maximises the same objective."),
    primary_metric="J&F-Mean",
    run_format="davis-anno",
    annotator_runs=True,
    summary='As rdavis, but predicted id i is compared with referent i (no matching): never above rdavis.',
))

DAVIS_SEMI = _register(Protocol(
    name="davis-semi",
    family="davis",
    title="DAVIS-2017 semi-supervised (official)",
    reproduces="davis2017-evaluation @ac7c43f task 'semi-supervised' (Pont-Tuset et al. arXiv:1704.00675)",
    formats=("davis-anno",),
    metrics=DAVIS_METRICS,
    frames="inner",
    void=False,
    matching="none",
    aggregate="objects",
    annotations="semi",
    notes=("Reads Annotations/ (the semi-supervised masks), also on a Ref-DAVIS root. "
           "First and last annotated frames dropped; void pixels are background (the official code does not pass "
           "void masks in this mode, so a prediction over void is a false positive); predicted id i is GT object "
           "i; an id above the GT count is an error."),
    primary_metric="J&F-Mean",
    run_format="davis-anno",
    summary='DAVIS-2017 semi-supervised (official): J and F per object over the inner frames; -Decay: lower is better.',
))

A2D_PLUS = _register(Protocol(
    name="a2d-plus",
    family="locater",
    title="A2D-S+ (Locater): per-frame IoU",
    reproduces=("Locater (Liang et al. TPAMI'23) tools/evaluate.py @5da6daa: per evaluated frame I, U; IoU = 1 when "
                "U = 0; P@K counts IoU >= K; overall IoU = sum I / sum U; mean IoU over frames; its 'mAP' = mean of "
                "P@0.5..0.9 (reported as locater_mAP)"),
    formats=("png-tree", "png-zip"),
    metrics=LOCATER_METRICS,
    frames="expression",
    aggregate="samples",
    notes=("An empty prediction on an empty target (A2D-S_t contrasting frames) scores IoU 1; any false positive "
           "there scores 0 and adds its area to the overall-IoU denominator."),
    primary_metric="mean_iou",
    summary=("Locater's A2D-S+ subsets (IoU per frame, P@K counts IoU >= K). A frame where the referred actor is "
             "absent scores IoU 1 when the prediction is empty too, 0 on any false positive."),
    data_notes=(("a2d-plus-t", "A2D-S_t pairs each query with contrasting frames in which its actor is absent: an "
                 "empty prediction scores IoU 1 there, which is why the `empty` baseline can rank above a model on "
                 "this subset; compare models with each other and with `oracle`, not with `empty`."),),
    subset_of="a2d",
))

# ============================================================================ per-expression protocols (2023-2026)
# Scored by `lvsbench.scoring.per_expression` on the native readers: multi-object uint8 ground truth, raw-value A/R,
# numpy rounding before subset means, and each official script's handling of missing input (`missing_rules`,
# applied by `lvsbench.metrics.official_missing`). Background: docs/protocols.md.

_MEVIS_MISSING = (("video", "zero_int"), ("expression", "drop"), ("frame", "drop"), ("error", "drop"))
"""eval_mevis.py: `[0, 0]` for a missing video folder (even for a no-target expression); any other problem raises
inside the worker, which dies, and the expression is absent from the mean."""
_SA2VA_MISSING = (("video", "drop"), ("expression", "drop"), ("frame", "drop"), ("error", "drop"),
                  ("first_frame", "drop"), ("frames", "drop"), ("size", "drop"), ("ground_truth", "drop"))
"""Sa2VA eval_revos.py / eval_ref_sav.py: no missing-video branch and no try/except: KeyError / IndexError /
broadcast errors kill the worker and the expression leaves the mean."""

MEVIS = _register(Protocol(
    name="mevis",
    family="per-expression",
    title="MeViS (eval_mevis.py): J, F, J&F over expressions",
    reproduces=("henghuiding/MeViS tools/eval_mevis.py @7c0620b (Ding et al. ICCV'23): per expression J, F "
                "(davis2017 kernel) over all meta frames of the uint8 sum of the target masks; np.mean over "
                "expressions in meta order"),
    formats=("png-tree", "rle-json"),
    metrics=JF_METRICS,
    frames="expression",
    aggregate="expressions",
    dataset="mevis",
    missing_rules=_MEVIS_MISSING,
    notes=("Values 0..1. A no-target expression predicted empty scores J = F = 1. Missing predictions: refused, or "
           "with --allow-missing scored as empty; official_equivalent gives the official zeros / drops."),
    server_submit="lvsbench submit mevis",
))

MEVIS_V2 = _register(Protocol(
    name="mevis-v2",
    family="per-expression",
    title="MeViS v2: J&F + N-acc, T-acc, Final (GRES definition applied to video; no official code published)",
    reproduces=("J, F as eval_mevis.py @7c0620b; N-acc / T-acc from GRES (Liu, Ding et al. CVPR'23, ReLA "
                "refer_evaluation.py @3ca9551) applied to video; Final = mean(J&F, N-acc, T-acc)"),
    formats=("png-tree", "rle-json"),
    metrics=(*JF_METRICS, "N-acc", "T-acc", "Final"),
    frames="expression",
    aggregate="expressions",
    dataset="mevis",
    missing_rules=_MEVIS_MISSING,
    notes=V2_NOTE + "; predicted no-target = empty in every frame, GT no-target = no anno_id.",
    server_submit="lvsbench submit mevis",
))

REVOS = _register(Protocol(
    name="revos",
    family="per-expression",
    title="ReVOS (VISA metrics, binarised predictions = Sa2VA eval_revos.py): J, F, A, R",
    reproduces=("VISA metric definitions (cilinyan/VISA tools/metrics.py @ec158fd) on binarised predictions = "
                "bytedance/Sa2VA tools/eval/eval_revos.py @9832e1a: round(100 x, 2) with numpy rounding, means of "
                "referring (type_id 0) and reasoning (1), overall = mean of the two; no-target (2) excluded"),
    formats=("rle-json", "png-tree"),
    metrics=(*JF_METRICS, "A", "R"),
    frames="expression",
    aggregate="expressions",
    dataset="revos",
    scale="percent",
    rounding="numpy-round2-x100",
    subsets=((0, "referring"), (1, "reason")),
    subset_rule="mean-of-subset-means",
    binarize=True,
    missing_rules=_SA2VA_MISSING,
    notes=("Official figures 0..100 (aggregates, per-sample CSV; values = them / 100). Overlap pixels of "
           "multi-object targets (sum 2) never count as correct in A; R wraps."),
))

REVOS_VISA_PNG = _register(Protocol(
    name="revos-visa-png",
    family="per-expression",
    title="ReVOS as VISA's eval_revos.py runs on PNGs (raw values for A and R)",
    reproduces="cilinyan/VISA tools/eval_revos.py @ec158fd on PNGs (raw grayscale values, no binarisation)",
    formats=("png-tree",),
    metrics=(*JF_METRICS, "A", "R"),
    frames="expression",
    aggregate="expressions",
    dataset="revos",
    scale="percent",
    rounding="numpy-round2-x100",
    subsets=((0, "referring"), (1, "reason")),
    subset_rule="mean-of-subset-means",
    binarize=False,
    missing_rules=(("video", "zero_int"), ("expression", "zero"), ("frame", "zero"), ("error", "zero")),
    notes=("Official figures 0..100. A and R differ from the intended values when PNGs hold 0/255: use for "
           "comparing with "
           "numbers published from VISA's evaluator. Every exception is scored [0.0] * 4 officially."),
))

REFSAV = _register(Protocol(
    name="refsav",
    family="per-expression",
    title="Ref-SAV (Sa2VA eval_ref_sav.py): J, F, A, mean of long and short",
    reproduces=("bytedance/Sa2VA tools/eval/eval_ref_sav.py @9832e1a: per expression J, F (davis2017 kernel) and A "
                "(pixel accuracy of the uint8 target sum vs the 0/1 prediction) averaged over all meta frames, "
                "round(100*x, 2) with numpy rounding, subset means over type_id 0 (long) and 1 (short), "
                "overall = mean of the two subset means"),
    formats=("rle-json",),
    metrics=(*JF_METRICS, "A"),
    frames="expression",
    aggregate="expressions",
    dataset="refsav",
    scale="percent",
    rounding="numpy-round2-x100",
    subsets=((0, "long"), (1, "short")),
    subset_rule="mean-of-subset-means",
    missing_rules=_SA2VA_MISSING,
    notes=("Official figures 0..100 (aggregates, per-sample CSV; values = them / 100). Overlap pixels of "
           "multi-object targets (sum 2) never count as correct in A. "
           "Missing predictions: refused, or with --allow-missing scored as empty; the official script drops the "
           "expression (worker crash), see official_equivalent."),
    run_format="rle-json",
))

LONG_RVOS = _register(Protocol(
    name="long-rvos",
    family="per-expression",
    title="Long-RVOS (eval_long_rvos): J, F, tIoU, vIoU per type and overall",
    reproduces=("iSEE-Laboratory/Long_RVOS eval/eval_long_rvos/eval_{static,dynamic,hybrid,overall}.py @447682a: "
                "per expression J, F over all meta frames, tIoU = |G&P|/|G|P| and vIoU = sum_{G&P} J_t / |G|P| over "
                "frames with foreground (int 1 when both are empty); per type means; overall pooled over "
                "expressions in the order dynamic, static, hybrid"),
    formats=("png-tree",),
    metrics=(*JF_METRICS, "tIoU", "vIoU"),
    frames="expression",
    aggregate="expressions",
    dataset="long-rvos",
    subsets=(("dynamic", "dynamic"), ("static", "static"), ("hybrid", "hybrid")),
    subset_rule="pooled",
    missing_rules=(("video", "zero_int"), ("expression", "drop"), ("first_frame", "drop"), ("frames", "empty"),
                   ("size", "drop"), ("ground_truth", "empty")),
    notes=("Values 0..1. Absent ground-truth PNGs are empty masks. Missing video folders score 0 officially, a "
           "missing first frame drops the expression, other missing frames are read as empty (official_equivalent)."),
))

REASONVOS = _register(Protocol(
    name="reasonvos",
    family="per-expression",
    title="ReasonVOS (VideoLISA eval_reason_vos.py): J, F, J&F",
    reproduces=("showlab/VideoLISA evaluation/reason_vos/eval_reason_vos.py @146f2bc: per expression J, F "
                "(davis2017 kernel) over the sorted PNG listing of the object's annotation folder; means over "
                "expressions"),
    formats=("png-tree",),
    metrics=JF_METRICS,
    frames="expression",
    aggregate="expressions",
    dataset="reasonvos",
    missing_rules=(("video", "skip"), ("expression", "skip"), ("ground_truth", "skip"), ("first_frame", "drop"),
                   ("frames", "drop"), ("size", "drop")),
    notes=("Values 0..1. Predictions in <pred>/<source>_<video>_<obj_id>/<exp_id>/<frame>.png. Officially a missing "
           "ground-truth or prediction folder skips the expression and a missing frame drops it "
           "(official_equivalent)."),
    prediction_dir="source-video-object",
))

PER_EXPRESSION: dict[str, Protocol] = {n: p for n, p in PROTOCOLS.items() if p.family == "per-expression"}
"""The seven per-expression protocols (scored by `lvsbench.scoring.per_expression`)."""


def get_protocol(name: str) -> Protocol:
    return PROTOCOLS.load(name)


def default_protocol_for(dataset: Any) -> Protocol:
    """The protocol a dataset is scored with when none is given: the card's `default_protocol` (layout datasets),
    else the native dataset's (`DatasetSpec.default_protocol`), else the protocol of the dataset's name."""
    card = getattr(dataset, "card", None) or {}
    name = str(getattr(dataset, "name", ""))
    spec = DATASETS.get(name)
    chosen = (card.get("default_protocol") if isinstance(card, dict) else None) or (
        spec.default_protocol if spec is not None else name if name in PROTOCOLS else None)
    if not chosen:
        raise ConfigError(f"no default protocol for dataset {getattr(dataset, 'name', '?')!r}; pass --protocol "
                          f"({', '.join(PROTOCOLS)})")
    return get_protocol(chosen)


__all__ = ["A2D", "A2D_PLUS", "DAVIS_SEMI", "Family", "JHMDB", "LONG_RVOS", "MEVIS", "MEVIS_V2", "PER_EXPRESSION",
           "PROTOCOLS", "Protocol", "RDAVIS", "RDAVIS_ALIGNED", "REASONVOS", "REFSAV", "REVOS", "REVOS_VISA_PNG",
           "RYVOS", "default_protocol_for", "get_protocol"]
