"""`lvsbench demo`: the README's main command."""

from __future__ import annotations

from pathlib import Path

import click

from lvsbench.commands.common import force_option


@click.command("demo")
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo-output"), show_default=True,
              help="Folder for everything the demo writes.")
@click.option("--seed", type=int, default=0, show_default=True)
@force_option
def demo_cmd(out: Path, seed: int, force: bool) -> None:
    """Run the main job end to end on the embedded default and print where the outputs are."""
    from lvsbench.demo import run_demo

    run_demo(out, force=force, seed=seed)


commands = [demo_cmd]
