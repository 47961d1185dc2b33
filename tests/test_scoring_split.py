"""`score --workers N` splits long DAVIS-family videos by frame ranges: any split merges to exactly the single pass
(rows compared with ==, problems too), and 2 workers give the numbers of 1 worker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lvsbench.core.errors import ValidationFailed
from lvsbench.formats.davis_anno import write_palette_prediction
from lvsbench.formats.predictions import open_predictions
from lvsbench.protocols import get_protocol
from lvsbench.scoring import score
from lvsbench.scoring.evaluate import FAMILIES
from lvsbench.scoring.stream import Job, merge_all
from lvsbench.scoring.validate import build_plan
from lvsbench.scoring.workers import score_task, tasks
from tests.scoring_helpers import ToyVideo, write_toy_dataset

H, W, T = 24, 32, 40


def _video(seed: int) -> tuple[dict[str, np.ndarray], dict[int, dict[str, np.ndarray]]]:
    """GT label maps of two moving boxes (void band every 5th frame), and per-run predictions: shifted boxes, a
    spurious id 3 now and then (Hungarian sees it), an object dropped now and then."""
    rng = np.random.default_rng(seed)
    labels, preds = {}, {r: {} for r in range(4)}
    for t in range(T):
        lab = np.zeros((H, W), np.uint8)
        lab[2 + t % 8:10 + t % 8, 3:12] = 1
        lab[12:20, 10 + t % 12:18 + t % 12] = 2
        if t % 5 == 2:
            lab[:2][lab[:2] == 0] = 255
        f = f"{t:05d}"
        labels[f] = lab
        for r in range(4):
            p = np.where(lab == 255, 0, lab).astype(np.uint8)
            p = np.roll(p, int(rng.integers(-2, 3)), axis=int(rng.integers(0, 2)))
            if rng.random() < 0.2:
                p[p == int(rng.integers(1, 3))] = 0
            if rng.random() < 0.2:
                p[20:23, 0:5] = 3
            preds[r][f] = p
    return labels, preds


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("split")
    labels, preds = _video(0)
    exps = [(str(4 * k + a), f"object {k + 1} annot {a}", (k + 1,), ()) for k in range(2) for a in range(4)]
    ds = write_toy_dataset(root / "ds", [ToyVideo("v", labels, exps)], name="split-toy", default_protocol="rdavis")
    aligned = root / "aligned"  # no spurious id: rdavis-aligned / davis-semi refuse ids beyond the GT objects
    for r, frames in preds.items():
        for f, p in frames.items():
            write_palette_prediction(root / "p", r, "v", f, p)
            write_palette_prediction(aligned, r, "v", f, np.where(p == 3, 0, p).astype(np.uint8))
    return ds.root, root / "p", aligned


def _job(toy: tuple[Path, Path, Path], proto: str) -> Job:
    from lvsbench.datasets.layout import LayoutDataset

    ds = LayoutDataset(toy[0])
    preds = open_predictions(toy[1] if proto == "rdavis" else toy[2])
    plan = build_plan(ds, get_protocol(proto), preds)
    return Job(ds, preds, plan, False, "fixed", FAMILIES[plan.protocol.family])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["rdavis", "rdavis-aligned", "davis-semi"]),
       st.lists(st.integers(1, T - 3), max_size=5, unique=True))
def test_any_frame_split_merges_to_the_single_pass(toy: tuple[Path, Path, Path], proto: str,
                                                   cuts: list[int]) -> None:
    job = _job(toy, proto)
    n = len(job.plan.scored_frames("v"))
    bounds = [0, *sorted(c for c in cuts if c < n), n]
    parts = [score_task(job, ("v", lo, hi)) for lo, hi in zip(bounds, bounds[1:], strict=False)]
    merged, single = merge_all(parts).compute(), score_task(job, ("v", 0, n)).compute()
    assert single.rows and repr(merged.rows) == repr(single.rows)
    assert merged.counts == single.counts and merged.problems == single.problems


def test_long_video_is_split_and_two_workers_equal_one(toy: tuple[Path, Path, Path]) -> None:
    job = _job(toy, "rdavis")
    assert len(tasks(job, 2)) == 3  # 40 frames in ranges of 16
    from lvsbench.datasets.layout import LayoutDataset

    ds = LayoutDataset(toy[0])
    one, two = score(toy[1], ds, "rdavis", workers=1), score(toy[1], ds, "rdavis", workers=2)
    assert one.values == two.values and one.per_sample.equals(two.per_sample)


def test_split_reports_the_single_pass_problems(toy: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """A run with undecodable frames in two ranges (found while streaming, not by the inventory): the single pass
    stops reading that run at its first problem, and so does the merge."""
    import shutil

    from lvsbench.datasets.layout import LayoutDataset

    shutil.copytree(toy[1], tmp_path / "p")
    for f in ("00003", "00030"):
        (tmp_path / "p" / "anno_1" / "v" / f"{f}.png").write_bytes(b"not a png")
    ds = LayoutDataset(toy[0])
    got = []
    for workers in (1, 2):
        with pytest.raises(ValidationFailed) as exc:
            score(tmp_path / "p", ds, "rdavis", workers=workers)
        got.append(exc.value.problems)
    assert got[0] == got[1] and len(got[0]) == 1 and "00003" in got[0][0].path
