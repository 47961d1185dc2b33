"""lvsbench metrics: official-exact per-frame J/F, DAVIS statistics, A2D/JHMDB referring metrics and streaming
accumulators. Definitions, the code each one reproduces, and deviations: docs/metrics.md.
"""

from lvsbench.metrics.accumulate import GLOBAL_MEASURES, SequenceAccumulator, summarize
from lvsbench.metrics.functional import (
    boundary_f_measure,
    boundary_map,
    boundary_radius,
    j_and_f,
    region_similarity,
)
from lvsbench.metrics.referring import (
    COCO_STAT_NAMES,
    LocaterAccumulator,
    TopOneAccumulator,
    coco_map,
    coco_stats,
    locater_frame_iou,
    mttr_iou,
    top1,
)
from lvsbench.metrics.statistics import db_statistics

__all__ = [
    "COCO_STAT_NAMES",
    "GLOBAL_MEASURES",
    "LocaterAccumulator",
    "SequenceAccumulator",
    "TopOneAccumulator",
    "boundary_f_measure",
    "boundary_map",
    "boundary_radius",
    "coco_map",
    "coco_stats",
    "db_statistics",
    "j_and_f",
    "locater_frame_iou",
    "mttr_iou",
    "region_similarity",
    "summarize",
    "top1",
]
