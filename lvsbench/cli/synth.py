"""`lvsbench synth NAME --out DIR`: a small synthetic dataset in a native layout, with exact ground truth."""

from __future__ import annotations

from pathlib import Path

import click

from lvsbench.cli.common import Choice, emit, force_option, json_option
from lvsbench.synth import WRITERS


@click.command("synth")
@click.argument("name", type=Choice(list(WRITERS)), metavar="NAME")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output directory.")
@click.option("--videos", type=click.IntRange(min=1), default=12, show_default=True, help="Number of videos.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same bytes).")
@click.option("--height", type=click.IntRange(min=16), default=None, help="Frame height (default: the writer's).")
@click.option("--width", type=click.IntRange(min=16), default=None, help="Frame width (default: the writer's).")
@click.option("--frames", type=click.IntRange(min=4), default=None, help="Frames per video (default: the writer's).")
@force_option
@json_option
def synth_cmd(name: str, out: Path, videos: int, seed: int, height: int | None, width: int | None,
              frames: int | None, force: bool, as_json: bool) -> None:
    """Write a synthetic NAME dataset in the release's layout and encodings.

    Videos show procedurally rendered actors (classes, colours, motions) with referring expressions; many videos
    hold several look-alike actors, so expressions need motion or position to resolve.
    """
    out_path = synthesize(name, out, videos=videos, seed=seed, force=force, height=height, width=width,
                          frames=frames)
    nxt = f"next: lvsbench datasets info {name} --root {out_path}"
    emit({"dataset": name, "out": str(out_path), "videos": videos, "seed": seed, "next": nxt}, as_json,
         f"wrote synthetic {name} ({videos} videos, seed {seed}) to {out_path}\n{nxt}")


def synthesize(name: str, out: Path, videos: int = 12, seed: int = 0, force: bool = False,
               height: int | None = None, width: int | None = None, frames: int | None = None) -> Path:
    """Call the dataset's `write_synthetic`, passing only the size options that were given."""
    from lvsbench.synth import get_writer

    sizes = {k: v for k, v in (("height", height), ("width", width), ("frames", frames)) if v is not None}
    return get_writer(name)(out, videos=videos, seed=seed, force=force, **sizes)


commands = [synth_cmd]


__all__ = ["commands", "synth_cmd", "synthesize"]
