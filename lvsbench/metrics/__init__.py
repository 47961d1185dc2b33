"""lvsbench metrics: official-exact per-frame J/F, DAVIS statistics, A2D/JHMDB referring metrics and streaming
accumulators. Definitions, the code each one reproduces, and deviations: docs/metrics.md.

The names below are imported from their modules on first use (PEP 562), so that importing one light module
(e.g. `lvsbench.metrics.statistics` for the CLI's option choices) does not import pandas, OpenCV and pycocotools.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "GLOBAL_MEASURES": "accumulate", "SequenceAccumulator": "accumulate", "summarize": "accumulate",
    "boundary_f_measure": "functional", "boundary_map": "functional", "boundary_radius": "functional",
    "j_and_f": "functional", "region_similarity": "functional",
    "COCO_STAT_NAMES": "referring", "LocaterAccumulator": "referring", "TopOneAccumulator": "referring",
    "coco_map": "referring", "coco_stats": "referring", "locater_frame_iou": "referring", "mttr_iou": "referring",
    "top1": "referring",
    "db_statistics": "statistics",
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
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
