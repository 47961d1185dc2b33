"""`lvsbench demo` end to end at a reduced size (the default size is timed in docs/leaderboards.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvsbench.core.errors import ConfigError, OutputExistsError
from lvsbench.core.io import OUTPUT_MARKER
from lvsbench.leaderboard.recipes import load_recipes
from lvsbench.pipeline.demo import BOUNDS, MARKER, SUBSETS, DemoConfig, _prepare_out, run_demo, write_recipes


def test_demo_recipes_cover_bounds_and_model_on_test_and_subsets(tmp_path: Path) -> None:
    write_recipes(tmp_path / "recipes", DemoConfig())
    recipes = load_recipes(tmp_path / "recipes")
    boards = {r.leaderboard for r in recipes}
    assert boards == {"synth-a2d", *(f"synth-{s}" for s in SUBSETS)}
    for b in boards:
        assert sorted(r.entry for r in recipes if r.leaderboard == b) == sorted([*BOUNDS, "locater"])
    model = next(r for r in recipes if r.entry == "locater")
    assert model.train == "recipes/train/locater-demo.toml" and (tmp_path / model.train).is_file()
    assert {r.protocol for r in recipes} == {"a2d", "a2d-plus"}


def test_force_never_deletes_a_folder_that_is_not_a_demo_output(tmp_path: Path) -> None:
    d = tmp_path / "mine"
    d.mkdir()
    (d / "thesis.tex").write_text("precious")
    with pytest.raises(OutputExistsError):
        run_demo(d)
    with pytest.raises(ConfigError, match="written by lvsbench"):
        run_demo(d, force=True)
    assert (d / "thesis.tex").read_text() == "precious"
    earlier = tmp_path / "demo"
    earlier.mkdir()
    (earlier / MARKER).write_text("x")
    (earlier / "old.txt").write_text("old")
    _prepare_out(earlier, force=True)  # an earlier demo output is replaced
    assert sorted(p.name for p in earlier.iterdir()) == sorted([MARKER, OUTPUT_MARKER])


@pytest.mark.slow
def test_demo_end_to_end_small(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    cfg = DemoConfig(videos=24, frames=8, height=64, width=96, train_steps=3,
                     extra_train={"batch_size": 2, "log_every": 1, "threads": 1})
    rep = run_demo(out, config=cfg, progress=False)
    assert (out / MARKER).is_file()
    for s in ("synth-a2d", *(f"synth-{x}" for x in SUBSETS)):
        md = (out / "leaderboards" / f"{s}.md").read_text()
        assert "| 1 | oracle | reproduced | test | 100.00 |" in md, s
        assert "| locater | reproduced |" in md, s
    results = sorted((out / "results").glob("*.json"))
    assert len(results) == 4 * (len(BOUNDS) + 1)
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "<svg" in html and "By subset" in html
    assert any("report" in line and str(out / "report.html") in line for line in rep.lines)
