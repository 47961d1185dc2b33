"""Accumulators merge exactly (issue #13): scoring frame ranges of every video as separate accumulators, merged in
any grouping and order, gives the figures of one accumulator fed every frame in order (compared with ==), for the
DAVIS family (rdavis), referring (a2d, COCO results) and locater (a2d-plus, PNG); and 2 workers equal 1, bit for
bit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lvsbench.datasets.layout import LayoutDataset
from lvsbench.formats.coco_json import a2d_image_id, coco_result, write_coco_results
from lvsbench.formats.davis_anno import write_palette_prediction
from lvsbench.formats.predictions import open_predictions
from lvsbench.protocols import get_protocol
from lvsbench.scoring import score
from lvsbench.scoring.evaluate import FAMILIES, _groups, _tables
from lvsbench.scoring.stream import Job, ScoreAccumulator
from lvsbench.scoring.validate import build_plan
from lvsbench.scoring.workers import score_task
from tests.scoring_helpers import ToyVideo, moving_objects_video, scored, write_oracle_png, write_toy_dataset

SHAPE = (30, 40)


def _noisy(rng: np.random.Generator, m: np.ndarray) -> np.ndarray:
    return np.roll(m, int(rng.integers(-3, 4)), axis=int(rng.integers(0, 2)))


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("merge")
    rng = np.random.default_rng(7)
    vids = [moving_objects_video(f"v{i}", 7 + 5 * i, 1 + i % 3, SHAPE, rng) for i in range(3)]
    davis = write_toy_dataset(root / "davis", [
        ToyVideo(v.id, v.labels, [(str(4 * k + a), f"object {k + 1}", (k + 1,), ())
                                        for k in range(len(v.expressions)) for a in range(4)]) for v in vids],
        name="merge-davis", default_protocol="rdavis")
    for v in vids:
        for f, lab in v.labels.items():
            for r in range(4):
                pred = _noisy(rng, lab)
                if rng.random() < 0.3:
                    pred[pred == int(rng.integers(1, 3))] = 0
                if rng.random() < 0.3:
                    pred[25:28, 0:6] = 4  # a surplus proposal: Hungarian matching sees it
                write_palette_prediction(root / "davis_p", r, v.id, f, pred.astype(np.uint8))
    a2d = write_toy_dataset(root / "a2d", vids, name="merge-a2d", default_protocol="a2d")
    results = []
    for e, f, gt in scored(a2d):
        iid = a2d_image_id(e.video_id, f, e.object_ids[0])
        tie = float(rng.choice([0.5, 0.7]))
        results += [coco_result(iid, _noisy(rng, gt), tie), coco_result(iid, rng.random(SHAPE) < 0.2, 0.5)]
    write_coco_results(root / "a2d.json", results)
    write_oracle_png(a2d, root / "png", transform=lambda gt, e, f: _noisy(rng, gt))
    return {"rdavis": (davis.root, root / "davis_p"), "a2d": (a2d.root, root / "a2d.json"),
            "a2d-plus": (a2d.root, root / "png")}


def _job(cases: dict[str, tuple[Path, Path]], proto: str) -> Job:
    ds = LayoutDataset(cases[proto][0])
    preds = open_predictions(cases[proto][1])
    plan = build_plan(ds, get_protocol(proto), preds)
    return Job(ds, preds, plan, False, "fixed", FAMILIES[plan.protocol.family])


def _figures(job: Job, acc: ScoreAccumulator) -> tuple[Any, ...]:
    done = acc.compute()
    df, counts, samples, coco = _tables(job, done)
    values = job.family.values(job.plan.protocol, df, samples, coco)
    groups = _groups(job, df, "num_objects_bin", samples, coco)
    return repr(df.to_dict("list")), counts, repr(values), repr(groups.to_dict("list"))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
@pytest.mark.parametrize("proto", ["rdavis", "a2d", "a2d-plus"])
def test_merge_in_any_grouping_and_order_equals_one_pass(cases: dict[str, tuple[Path, Path]], proto: str,
                                                         data: st.DataObject) -> None:
    job = _job(cases, proto)
    one = ScoreAccumulator(job.plan.videos)
    parts = []
    for v in job.plan.videos:
        n = len(job.family.frames(job, v))
        one.update(score_task(job, (v, 0, n)))
        cuts = data.draw(st.lists(st.integers(1, n - 1), max_size=4, unique=True), label=f"cuts {v}")
        bounds = [0, *sorted(cuts), n]
        parts += [score_task(job, (v, lo, hi)) for lo, hi in zip(bounds, bounds[1:], strict=False)]
    n_groups = data.draw(st.integers(1, len(parts)), label="groups")
    groups = [ScoreAccumulator(job.plan.videos) for _ in range(n_groups)]
    for i in data.draw(st.permutations(range(len(parts))), label="order"):
        groups[data.draw(st.integers(0, n_groups - 1))].update(parts[i])
    merged = ScoreAccumulator(job.plan.videos)
    for g in data.draw(st.permutations(groups), label="merge order"):
        merged.merge(g)
    assert _figures(job, merged) == _figures(job, one)


@pytest.mark.parametrize("proto", ["rdavis", "a2d", "a2d-plus"])
def test_two_workers_equal_one(cases: dict[str, tuple[Path, Path]], proto: str) -> None:
    ds = LayoutDataset(cases[proto][0])
    one = score(cases[proto][1], ds, proto, workers=1, by="num_objects_bin")
    two = score(cases[proto][1], ds, proto, workers=2, by="num_objects_bin")
    assert repr(one.values) == repr(two.values) and one.per_sample.equals(two.per_sample)
    assert one.per_group.equals(two.per_group)
    one.results["options"].pop("workers")
    two.results["options"].pop("workers")
    assert repr(one.results) == repr(two.results)
