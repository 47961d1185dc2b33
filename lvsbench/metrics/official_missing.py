"""What an official evaluator does with a missing or broken prediction, as data, and the figures it then reports.

The evaluators of the 2023-2026 benchmarks never stop on missing input (spec: the official scripts at the commits
cited in each metric module): depending on the script and on *what* is missing, an expression is scored 0
("zero"), read as an empty mask ("empty", which is also what lvsbench's `--allow-missing` does), left out of the
mean because the worker process crashed ("drop"), or skipped with a message ("skip"). lvsbench scores every
expression itself and records what was missing; `official_outcomes` then says, per expression, what the official
script would have done, so the results can carry the number a paper using that script would print.

The rules themselves are facts of each protocol (`Protocol.missing_rules`, passed in as a table: this module sits
below `lvsbench.protocols`); this module applies them. Kinds of missing input (`MissingKind`):
- "video": nothing for the expression's video (prediction folder or results-JSON entry absent)
- "expression": the video is there, the expression is not
- "frame": some frame missing (MeViS / ReVOS drivers: every frame reads the same way there)
- "first_frame": the expression is there but its first scored frame is missing (some scripts take the size there)
- "frames": other frames missing
- "size" / "error": a prediction whose size differs from the ground truth, or that cannot be read
- "ground_truth": the expression's ground-truth folder is absent (ReasonVOS)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

MissingKind = Literal["video", "expression", "frame", "first_frame", "frames", "size", "error", "ground_truth"]
Outcome = Literal["score", "empty", "zero", "zero_int", "drop", "skip"]


@dataclass(frozen=True)
class MissingInput:
    """One expression with missing or unusable input: its key, the kind, and the frames concerned (if any)."""

    key: str
    kind: MissingKind
    frames: tuple[str, ...] = ()


def official_outcomes(keys: Sequence[str], missing: Sequence[MissingInput],
                      table: Mapping[str, Outcome]) -> dict[str, Outcome]:
    """Outcome per expression key: "score" where nothing is missing, else `table[kind]` of the worst item.

    Items of one expression are combined in the order drop/skip > zero > empty (a crash anywhere loses the
    expression; a missing video is decided before any frame is read)."""
    rank = {"score": 0, "empty": 1, "zero": 2, "zero_int": 2, "skip": 3, "drop": 3}
    out: dict[str, Outcome] = {k: "score" for k in keys}
    by_key: dict[str, list[MissingInput]] = {}
    for m in missing:
        by_key.setdefault(m.key, []).append(m)
    for key, items in by_key.items():
        if key not in out:
            raise KeyError(f"missing item for unknown expression {key!r}")
        # a missing video is decided first by every script that has the branch; else the worst item, first on ties
        out[key] = table["video"] if any(m.kind == "video" for m in items) else max(
            (table[m.kind] for m in items), key=rank.__getitem__)
    return out


def official_values(order: Sequence[str], scored: Mapping[str, Mapping[str, float] | None],
                    missing: Sequence[MissingInput], table: Mapping[str, Outcome],
                    metrics: Sequence[str]) -> dict[str, Any]:
    """What the official script whose rules are `table` (`Protocol.missing_rules`) reports per expression, given
    lvsbench's per-expression values (`scored`, None where not scored) and the missing items, keyed by the official
    key and listed in meta order in `order`.

    Returns `per_expression` (key -> metric values: lvsbench's, or `metrics` set to 0.0 / the int 0, or None where
    the script leaves the expression out), `dropped`, `skipped` and `zeroed` (keys in meta order).
    """
    outcomes = official_outcomes(order, missing, table)
    per: dict[str, dict[str, float] | None] = {}
    out: dict[str, list[str]] = {"dropped": [], "skipped": [], "zeroed": []}
    for key in order:
        action = outcomes[key]
        values = scored.get(key)
        if action in ("drop", "skip"):
            per[key] = None
            out["dropped" if action == "drop" else "skipped"].append(key)
        elif action in ("zero", "zero_int"):
            per[key] = dict.fromkeys(metrics, 0 if action == "zero_int" else 0.0)
            out["zeroed"].append(key)
        elif values is None:
            raise ValueError(f"{key}: neither scored nor listed as missing")
        else:
            per[key] = dict(values)
    return {"per_expression": per, **out}


__all__ = ["MissingInput", "MissingKind", "Outcome", "official_outcomes", "official_values"]
