"""`lvsbench layout ...`: our dataset layout."""

from __future__ import annotations

from pathlib import Path

import click

from lvsbench.cli.common import emit, json_option
from lvsbench.core.errors import ValidationFailed


@click.group("layout")
def layout_group() -> None:
    """Datasets in the lvsbench layout (Refer-YouTube-VOS style folders + lvsbench.json card)."""


@layout_group.command("validate")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@json_option
def validate_cmd(directory: Path, as_json: bool) -> None:
    """Check a dataset in the lvsbench layout and list every problem with its path.

    Checks: meta_expressions.json and lvsbench.json parse; every listed frame exists and decodes; no unlisted
    frames; annotation PNGs are palette images of the frame's size; every expression's object ids occur in some
    mask of its video; no duplicate ids. Exit code 0 when valid, 2 with the full list otherwise.
    """
    from lvsbench.datasets.layout import validate_layout

    if not directory.is_dir():
        raise click.BadParameter(f"{directory}: not a directory", param_hint="DIRECTORY")
    problems = validate_layout(directory)
    payload = {"directory": str(directory), "valid": not problems,
               "problems": [{"path": p.path, "message": p.message} for p in problems]}
    if problems:
        raise ValidationFailed(problems, f"layout validate {directory}")  # --json: the JSON error lists them
    nxt = f"next: lvsbench run oracle --dataset layout --root {directory} --out PREDS (or any adapter)"
    emit({**payload, "next": nxt}, as_json, f"{directory}: valid\n{nxt}")


commands = [layout_group]


__all__ = ["commands", "layout_group", "validate_cmd"]
