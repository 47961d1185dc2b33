"""`lvsbench convert NAME --root R --out DIR`: a native dataset to our layout, or to MTTR's COCO ground truth."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lvsbench.cli.common import Choice, emit, force_option, json_option
from lvsbench.cli.datasets import option_option


@click.command("convert")
@click.argument("name")
@click.option("--root", type=click.Path(path_type=Path), default=None,
              help="Dataset root (else $LVSBENCH_<NAME>_ROOT, else [roots] in the config file).")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Output directory (layout), or a directory or .json file (coco).")
@click.option("--split", default=None, help="Split to convert (default: the dataset's default split).")
@click.option("--to", "to", type=Choice(["layout", "coco"]), default="layout", show_default=True,
              help="layout: the lvsbench layout; coco: COCO ground truth as MTTR/ReferFormer build it (a2d, jhmdb).")
@click.option("--frame-ext", type=Choice(["jpg", "png"]), default="jpg", show_default=True,
              help="Frame format in the layout.")
@option_option
@force_option
@json_option
def convert_cmd(name: str, root: Path | None, out: Path, split: str | None, to: str, frame_ext: str,
                options: tuple[str, ...], force: bool, as_json: bool) -> None:
    """Convert a split of dataset NAME to the lvsbench layout or to COCO-format ground truth.

    The layout output is validated by `lvsbench layout validate`. A2D expressions whose instance is in no
    annotated frame are dropped from the layout (MTTR has no sample for them); pass -o drop_unlocated=false to
    keep them.
    """
    from lvsbench.datasets.registry import convert_dataset, parse_options

    summary = convert_dataset(name, root, out, split, to=to, force=force, frame_ext=f".{frame_ext}",
                              progress=sys.stderr.isatty(), **parse_options(options))
    if summary["format"] == "coco":
        text = (f"wrote COCO ground truth of {name} {summary['split']} ({summary['images']} images) to "
                f"{summary['out']}")
    else:
        counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary["counts"].items())
        text = f"wrote {name} {summary['split']} in the lvsbench layout to {summary['out']} ({counts})"
    summary["next"] = (f"next: lvsbench layout validate {summary['out']}" if summary["format"] != "coco" else
                       "next: score COCO results against it with pycocotools, or with lvsbench score --dataset "
                       f"{name}")
    emit(summary, as_json, f"{text}\n{summary['next']}")


commands = [convert_cmd]


__all__ = ["commands", "convert_cmd"]
