"""Options and output helpers shared by the command modules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

commands: list[click.Command] = []

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text.")
force_option = click.option("--force", is_flag=True, help="Overwrite existing output.")


def emit(payload: Any, as_json: bool, text: Callable[[], str] | str) -> None:
    """Print `payload` as JSON with --json, else the human text."""
    if as_json:
        click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))
    else:
        click.echo(text() if callable(text) else text)
