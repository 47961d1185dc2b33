"""Options and output helpers shared by the command modules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from lvsbench.core.errors import did_you_mean

commands: list[click.Command] = []


class Choice(click.Choice):
    """`click.Choice` whose error says "did you mean" (the project's one helper, `errors.did_you_mean`)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            hint = did_you_mean(str(value), [str(c) for c in self.choices])
            if hint:
                exc.message = exc.message.rstrip(".") + hint
            raise

DATASET_NAMES = "a2d, jhmdb, ryvos, rdavis, davis, mevis, revos, refsav, long-rvos, reasonvos"
"""The built-in dataset names for `--dataset` help texts, kept here as text so that `--help` imports no reader;
`tests/test_cli_help.py` checks it against `lvsbench.datasets.registry.DATASETS`."""
DATASET_HELP = f"Dataset name: {DATASET_NAMES}, or layout (any dataset in the lvsbench layout, e.g. a2d-plus)."

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text.")
force_option = click.option("--force", is_flag=True, help="Overwrite existing output.")


def emit(payload: Any, as_json: bool, text: Callable[[], str] | str) -> None:
    """Print `payload` as JSON with --json, else the human text."""
    if as_json:
        click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))
    else:
        click.echo(text() if callable(text) else text)


__all__ = ["DATASET_HELP", "DATASET_NAMES", "Choice", "commands", "emit", "force_option", "json_option"]
