"""`lvsbench demo`: the README's main command."""

from __future__ import annotations

from pathlib import Path

import click

from lvsbench.cli.common import force_option


@click.command("demo")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("demo-output"),
              show_default=True, help="Folder for everything the demo writes.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the data, the split and the model.")
@click.option("--videos", type=int, default=None, help="Synthetic A2D videos (default 96; a quarter are test).")
@click.option("--train-steps", type=int, default=None, help="Training steps of the tiny model (default 200).")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@force_option
def demo_cmd(out: Path, seed: int, videos: int | None, train_steps: int | None, no_progress: bool,
             force: bool) -> None:
    """Run the benchmark end to end on a synthetic A2D dataset and print where the outputs are.

    Synthesises an A2D-Sentences dataset, builds its A2D-S+ subsets, trains the tiny Locater-style reference model
    briefly, runs the bound adapters (oracle, empty, full, random) and the model on the test split and the three
    subsets, scores everything, and writes leaderboards (OUT/leaderboards) and an HTML report (OUT/report.html).
    --force replaces an earlier demo output (never another folder).

    \b
    Time, measured on 2 CPU cores (docs/benchmarks.md, leaderboards section):
      idle machine:    about 3 minutes (193 s; `make demo` from a fresh clone with the install: 4 min 10 s)
      shared machine:  several times that (10-14 minutes at load average 8-12, with 300 steps)
    Training the tiny model (--train-steps, default 200, one thread) is about 80 % of it;
    --train-steps 100 makes a quicker, weaker model.
    """
    from lvsbench.pipeline.demo import DemoConfig, run_demo

    sizes = {k: v for k, v in {"videos": videos, "train_steps": train_steps}.items() if v is not None}
    run_demo(out, DemoConfig(seed=seed, **sizes), force=force, progress=not no_progress)


commands = [demo_cmd]


__all__ = ["commands", "demo_cmd"]
