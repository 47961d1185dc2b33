"""The official DAVIS boundary F written straightforwardly, the baseline the benchmarks measure lvsbench against:
full-frame boundary map (`_seg2bmap`: a pixel differs from its right, lower or lower-right neighbour) and a
full-frame `cv2.dilate` with skimage's disk, per frame and object, as davis2017-evaluation `db_eval_boundary` does
(davis2017-evaluation @ ac7c43f, written from its documented behaviour in docs/metrics.md, not copied). Shared by
bench_boundary_f.py and bench_score_e2e.py.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.morphology import disk as sk_disk


def official_bmap(seg: np.ndarray) -> np.ndarray:
    seg = seg.astype(bool)
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = seg ^ e | seg ^ s | seg ^ se
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = 0
    return b


def official_f(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None, bound_th: float = 0.008) -> float:
    void = np.zeros_like(pred).astype(bool) if void is None else void.astype(bool)
    bound_pix = bound_th if bound_th >= 1 else np.ceil(bound_th * np.linalg.norm(pred.shape))
    fg_boundary = official_bmap(pred * np.logical_not(void))
    gt_boundary = official_bmap(gt * np.logical_not(void))
    fg_dil = cv2.dilate(fg_boundary.astype(np.uint8), sk_disk(bound_pix).astype(np.uint8))
    gt_dil = cv2.dilate(gt_boundary.astype(np.uint8), sk_disk(bound_pix).astype(np.uint8))
    gt_match = gt_boundary * fg_dil
    fg_match = fg_boundary * gt_dil
    n_fg = np.sum(fg_boundary)
    n_gt = np.sum(gt_boundary)
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1, 0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0, 1
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1, 1
    else:
        precision = np.sum(fg_match) / float(n_fg)
        recall = np.sum(gt_match) / float(n_gt)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)
