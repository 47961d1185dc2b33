"""Named scoring protocols: what is compared, on which frames, how it is aggregated, and which paper/code it
reproduces. Every switch is a field, and the whole `Protocol` is written into the results JSON, so a number can
always be traced back to its definition. Background and the anchors' quirks: `docs/protocols.md`, `docs/metrics.md`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from lvsbench.errors import ConfigError, unknown_name
from lvsbench.metrics.modern import V2_NOTE
from lvsbench.metrics.names import COCO_METRICS, DAVIS_METRICS, JF_METRICS, LOCATER_METRICS, TOP1_METRICS

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

    def header(self) -> dict[str, Any]:
        return asdict(self)


PROTOCOLS: dict[str, Protocol] = {}


def _register(p: Protocol) -> Protocol:
    PROTOCOLS[p.name] = p
    return p


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
))

REFSAV = _register(Protocol(
    name="refsav",
    family="per-expression",
    title="Ref-SAV (Sa2VA eval_ref_sav.py): J, F, A, mean of long and short",
    reproduces=("bytedance/Sa2VA tools/eval/eval_ref_sav.py @9832e1a: per expression J, F (davis2017 kernel) and A "
                "(pixel accuracy of the uint8 target sum vs the 0/1 prediction) averaged over all meta frames, "
                "round(100*x, 2) with numpy rounding, subset means over type_id 0 (long) and 1 (short), "
                "overall = mean of the two subset means"),
    formats=("sa2va-rle-json",),
    metrics=("J", "F", "JF", "A"),
    frames="expression",
    aggregate="expressions",
    notes=("Values 0..100. Overlap pixels of multi-object targets (sum 2) never count as correct in A. "
           "Missing predictions: refused, or with --allow-missing scored as empty; the official script drops the "
           "expression (worker crash), see official_equivalent."),
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
    metrics=("J", "F", "JF", "tIoU", "vIoU"),
    frames="expression",
    aggregate="expressions",
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
    metrics=("J", "F", "JF"),
    frames="expression",
    aggregate="expressions",
    notes=("Values 0..1. Predictions in <pred>/<source>_<video>_<obj_id>/<exp_id>/<frame>.png. Officially a missing "
           "ground-truth or prediction folder skips the expression and a missing frame drops it "
           "(official_equivalent)."),
))

DEFAULT_PROTOCOL: dict[str, str] = {
    "a2d": "a2d",
    "jhmdb": "jhmdb",
    "ryvos": "ryvos",
    "rdavis": "rdavis",
    "davis": "davis-semi",
    "a2d-plus": "a2d-plus",
    "refsav": "refsav",
    "long-rvos": "long-rvos",
    "reasonvos": "reasonvos",
}
"""Default protocol per dataset name (a layout dataset's card may name its own `default_protocol`)."""


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        modern = MODERN_PROTOCOLS.get(name)
        if modern is not None:
            raise ConfigError(f"protocol {name} scores the native {modern.dataset} release per expression (lvsbench "
                              f"score PRED --dataset {modern.dataset} --root NATIVE_ROOT); a copy converted to the "
                              "lvsbench layout is scored with --protocol ryvos (J and F, the MeViS convention; "
                              "no-target expressions are not in the layout)") from None
        raise ConfigError(unknown_name("protocol", name, [*PROTOCOLS, *MODERN_PROTOCOLS])) from None


def default_protocol_for(dataset: Any) -> Protocol:
    """The protocol a dataset is scored with when none is given: the card's `default_protocol` (layout datasets),
    else by dataset name."""
    card = getattr(dataset, "card", None) or {}
    name = card.get("default_protocol") if isinstance(card, dict) else None
    if not name:
        name = DEFAULT_PROTOCOL.get(str(getattr(dataset, "name", "")))
    if not name:
        raise ConfigError(f"no default protocol for dataset {getattr(dataset, 'name', '?')!r}; pass --protocol "
                          f"({', '.join(PROTOCOLS)})")
    return get_protocol(name)


# ============================================================================ per-expression protocols (2023-2026)
# Scored by `lvsbench.scoring.modern` (not by the generic scorer): multi-object uint8 ground truth, raw-value A/R,
# numpy rounding before subset means, and each official script's handling of missing predictions.

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
    family: str = "per-expression"

    def header(self) -> dict[str, Any]:
        return asdict(self)


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
