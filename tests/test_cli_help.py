"""`--dataset` help texts list every built-in dataset (kept as text in `lvsbench.cli.common` so `--help` loads no
reader)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from lvsbench.cli import cli
from lvsbench.cli.common import DATASET_NAMES
from lvsbench.datasets.registry import DATASETS


def test_dataset_names_text_is_the_registry() -> None:
    assert DATASET_NAMES.split(", ") == list(DATASETS)


@pytest.mark.parametrize("command", [["run"], ["import-preds"], ["train"], ["score"], ["datasets", "info"]])
def test_dataset_help_names_every_dataset(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for name in DATASETS:
        assert name in text, (command, name)
