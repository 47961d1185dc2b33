"""docs/protocols.md carries the protocol table that scripts/build_protocols_doc.py renders from the `Protocol`
declarations: a protocol changed without rebuilding the doc fails here."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from lvsbench.protocols import PROTOCOLS

REPO = Path(__file__).resolve().parents[1]


def _script():  # noqa: ANN202 - a module loaded from scripts/
    spec = importlib.util.spec_from_file_location("build_protocols_doc", REPO / "scripts" / "build_protocols_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_table_is_what_the_script_renders() -> None:
    script = _script()
    text = (REPO / "docs" / "protocols.md").read_text()
    assert script.rebuilt(text) == text, "docs/protocols.md is stale: run python scripts/build_protocols_doc.py"


def test_table_lists_every_protocol_with_its_primary_metric_first() -> None:
    section = _script().render()
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert [re.match(r"\| `([^`]+)`", r).group(1) for r in rows] == list(PROTOCOLS)  # type: ignore[union-attr]
    for line, p in zip(rows, PROTOCOLS.values(), strict=True):
        named = re.findall(r"`([^`]+)`", line.rsplit(" | ", 1)[1])
        assert named[0] == p.primary_metric and sorted(named) == sorted(p.metrics)
