"""`lvsbench demo`: the whole benchmark loop on the embedded default, end to end (158 s on an idle 2-core machine).

1. synthesise an A2D-Sentences dataset in the released layout (`lvsbench synth a2d`);
2. build its A2D-S+ subsets (`lvsbench build-hard-split`: a2d-plus-m, a2d-plus-s, a2d-plus-t);
3. train the tiny reference model briefly on the train split (`lvsbench train locater`);
4. run the bound adapters (oracle, empty, full, random) and the model on the test split and the three subsets
   (`lvsbench run`), and score everything (`lvsbench score`, protocols `a2d` and `a2d-plus`);
5. write the leaderboards (`lvsbench leaderboard build`) and an HTML report (`lvsbench report`).

The demo is a leaderboard build over recipes it writes into `OUT/recipes/`, so every number it prints comes from
the same code path as the committed leaderboards, and re-running a stage reuses the cache in `OUT/cache/`.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lvsbench.adapters.bound import BOUND_ADAPTERS
from lvsbench.core.errors import ConfigError
from lvsbench.core.io import atomic_write_text, prepare_output_dir

MARKER = ".lvsbench-demo"
"""File that marks a folder as a demo output, so that --force never deletes anything else."""

SUBSETS = ("a2d-plus-m", "a2d-plus-s", "a2d-plus-t")
BOUNDS = BOUND_ADAPTERS


@dataclass
class DemoConfig:
    """Sizes of the demo: 158 s on an idle 2-core machine, 596-835 s on a shared one (load average 8-12), training
    85-90 % of it (docs/benchmarks.md, leaderboards section)."""

    videos: int = 96
    """Synthetic A2D videos (about a quarter are test videos)."""
    frames: int = 16
    height: int = 96
    width: int = 144
    model: str = "locater"
    train_steps: int = 200
    seed: int = 0
    extra_train: dict[str, Any] = field(default_factory=lambda: {"log_every": 20, "threads": 1})
    """[train] values of the demo's training recipe besides seed and steps. One torch thread: two OpenMP threads
    are ~1.6x faster on an idle 2-core machine but 3-4x slower as soon as anything else runs (threads spin-wait
    for each other); one thread does the tiny preset's batch of 16 in ~0.6 s per step either way."""
    inference_threads: int = 1
    """torch threads of the model at inference (one, for the same reason)."""


@dataclass
class DemoReport:
    out: Path
    lines: list[str] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)

    def add(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_recipes(recipes: Path, cfg: DemoConfig) -> list[Path]:
    """The demo's leaderboard recipes (bounds + model on test and the three subsets) and its training recipe."""
    recipes.mkdir(parents=True, exist_ok=True)
    synth = {"videos": cfg.videos, "seed": cfg.seed, "frames": cfg.frames, "height": cfg.height,
             "width": cfg.width, "frame_format": "png"}
    train = recipes / "train" / f"{cfg.model}-demo.toml"
    train.parent.mkdir(exist_ok=True)
    atomic_write_text(train, "\n".join([
        "# Training recipe of the demo: the tiny preset, trained briefly.",
        "[recipe]", f'name = "{cfg.model}-demo"', f'model = "{cfg.model}"',
        'description = "lvsbench demo: tiny preset, few steps on CPU"', "",
        "[train]", f"seed = {cfg.seed}", f"steps = {cfg.train_steps}",
        *[f"{k} = {_toml_value(v)}" for k, v in cfg.extra_train.items()], ""]))
    written = [train]
    targets: list[tuple[str, str | None, str]] = [("synth-a2d", None, "a2d")]
    targets += [(f"synth-{s}", s, "a2d-plus") for s in SUBSETS]
    for label, subset, protocol in targets:
        for entry in (*BOUNDS, cfg.model):
            lines = [f'entry = "{entry}"']
            if entry == cfg.model:
                lines += ['kind = "model"', "", "[model]", f'adapter = "{entry}"',
                          f"options = {{ threads = {cfg.inference_threads} }}", f'train = "recipes/train/{train.name}"']
            else:
                lines += ["", "[model]", f'adapter = "{entry}"']
            lines += ["", "[dataset]", 'name = "a2d"', f"synthetic = {_toml_value(synth)}", 'split = "test"']
            if subset:
                lines += [f'subset = "{subset}"', 'hard_split = { srl_backend = "rules" }']
            lines += ["", "[score]", f'protocol = "{protocol}"', ""]
            p = recipes / f"{label}-{entry}.toml"
            atomic_write_text(p, "\n".join(lines))
            written.append(p)
    return written


def _prepare_out(out: Path, force: bool) -> None:
    prepare_output_dir(out, force, legacy=(MARKER,))
    atomic_write_text(out / MARKER, "lvsbench demo output; `lvsbench demo --force` may replace this folder\n")


def run_demo(out: Path, config: DemoConfig | None = None, *, force: bool = False,
             progress: bool = True) -> DemoReport:
    """Run the demo (sizes and seed: `config`, default `DemoConfig()`) into `out` and print where everything is."""
    from lvsbench.pipeline.build import BuildOptions, build
    from lvsbench.pipeline.cache import Cache
    from lvsbench.report import ReportOptions, build_report

    cfg = config or DemoConfig()
    out = Path(out)
    t0 = time.perf_counter()
    _prepare_out(out, force)
    report = DemoReport(out)
    recipes = out / "recipes"
    write_recipes(recipes, cfg)
    n = len(list(recipes.glob("*.toml")))
    print(f"lvsbench demo: {n} recipes ({len(BOUNDS)} bound adapters + {cfg.model} on the A2D test split and "
          f"{len(SUBSETS)} A2D-S+ subsets) -> {out}", file=sys.stderr, flush=True)
    cache = Cache(out / "cache")
    rep = build(BuildOptions(recipes_dir=recipes, out=out, cache=cache, reported_dir=None, progress=progress))
    failed = [o for o in rep.outcomes if o.status == "skipped"]
    if failed:
        raise ConfigError("demo recipes could not run: " + "; ".join(f"{o.recipe.name}: {o.reason}" for o in failed))
    results = sorted((out / "results").glob("*.json"))
    report_options = ReportOptions(title="lvsbench demo report", cache_root=cache.root)
    html = build_report(results, out / "report.html", report_options, force=True)
    data = sorted(cache.root.glob("synth-a2d/*/data"))
    subsets = sorted(cache.root.glob("hard-split/*/subsets"))
    ckpts = sorted(cache.root.glob("checkpoints/*/train/ckpt.pt"))
    boards = sorted((out / "leaderboards").glob("*.md"))
    report.paths = {"dataset": data[0] if data else out, "subsets": subsets[0] if subsets else out,
                    "checkpoint": ckpts[0] if ckpts else out, "report": html}
    report.add("")
    report.add(f"dataset      {report.paths['dataset']}  (synthetic A2D-Sentences, {cfg.videos} videos)")
    report.add(f"hard split   {report.paths['subsets']}  ({', '.join(SUBSETS)})")
    if ckpts:
        report.add(f"model        {ckpts[0]}  ({cfg.model}, {cfg.train_steps} steps)")
    report.add(f"results      {out / 'results'}  ({len(results)} runs scored)")
    for b in boards:
        report.add(f"leaderboard  {b}")
    report.add(f"report       {html}  (open it in a browser)")
    report.add(f"done in {time.perf_counter() - t0:.0f} s")
    report.add(f"next: open {html} in a browser; the recipes in {recipes} are ordinary leaderboard recipes: edit one "
               f"and rerun `lvsbench leaderboard build {recipes} --cache {cache.root}`")
    return report


__all__ = ["BOUNDS", "DemoConfig", "DemoReport", "MARKER", "SUBSETS", "run_demo", "write_recipes"]
