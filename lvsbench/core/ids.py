"""Ids read from user files (videos, expressions, objects, frames, ImageSets entries, zip members, COCO image ids).

Ids become path components (`Annotations/<video>/<expression>/<frame>.png`), so an id that holds a separator, is
`.` / `..`, or holds control characters could make lvsbench read, write or delete outside the folder it was given.
Every reader checks each id once, where it reads it, with `check_id`; nothing after that needs to care.
The rule is a deny-list, not a charset: real ids include YouTube ids that start with `-` (A2D), HMDB clip names with
`#`, `(`, `!` and `&` (J-HMDB) and free-form expression keys.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lvsbench.core.errors import DataFormatError

MAX_ID_LENGTH = 255
"""Longest file name most file systems accept."""

_BAD_CHAR = re.compile(r"[\x00-\x1f\x7f/\\]")


def id_problem(value: Any) -> str | None:
    """Why `value` is not a safe id, or None when it is."""
    if not isinstance(value, str):
        return f"{value!r} is a {type(value).__name__}, not a string"
    if not value or not value.strip():
        return "empty id"
    if len(value) > MAX_ID_LENGTH:
        return f"id of {len(value)} characters (longest allowed {MAX_ID_LENGTH})"
    bad = _BAD_CHAR.search(value)
    if bad:
        ch = bad.group()
        what = {"/": "'/'", "\\": "'\\'"}.get(ch, f"control character {ch!r}")
        return f"id {value!r} contains {what}; ids become path components"
    if value in (".", "..") or value.startswith(".."):
        return f"id {value!r} would name a parent or current folder"
    if re.match(r"^[A-Za-z]:", value):
        return f"id {value!r} looks like a drive path"
    return None


def check_id(value: Any, what: str, path: str | Path | None, where: str | None = None) -> str:
    """Return `value` if it is a safe id, else raise `DataFormatError` naming the file, the key and the rule.

    `what` says which id it is ("video id", "expression id", "frame name", ...).
    """
    problem = id_problem(value)
    if problem is not None:
        raise DataFormatError(path, f"bad {what}: {problem}", where)
    return value


def check_ids(values: Any, what: str, path: str | Path | None, where: str | None = None) -> list[str]:
    """`check_id` over an iterable; the first bad one raises."""
    return [check_id(v, what, path, where) for v in values]


def strict_int(value: Any) -> int:
    """An object id as the releases write it: an int or a decimal string ("1"). A float (1.5, also 1.0) or a bool
    raises ValueError: `int()` would truncate 1.5 to object 1 and score the wrong object silently."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not an integer")
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("+-").isdigit():
            raise ValueError(f"{value!r} is not an integer")
        return int(text)
    return value


__all__ = ["MAX_ID_LENGTH", "check_id", "check_ids", "id_problem", "strict_int"]
