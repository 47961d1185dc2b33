"""Reading the text and JSON files of dataset roots and runs: every failure is a `DataFormatError` naming the file.

Annotation lists come from many hands: CRLF (Windows), CR-only (classic Mac OS) and LF line endings all occur and
are read alike; bytes that are not UTF-8, a folder where a file belongs, an unreadable file, and a JSON object that
gives one key twice (the official readers keep the last silently, so one of two expressions would vanish) are
refused with the file and line or key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lvsbench.core.errors import DataFormatError


def read_bytes(path: str | Path, what: str = "file") -> bytes:
    """The bytes of `path`; missing, a folder, or unreadable -> `DataFormatError` naming it."""
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError as exc:
        raise DataFormatError(p, f"missing ({what})") from exc
    except IsADirectoryError as exc:
        raise DataFormatError(p, f"is a folder, expected a {what}") from exc
    except PermissionError as exc:
        raise DataFormatError(p, f"cannot be read (permission denied): {what}") from exc
    except OSError as exc:
        raise DataFormatError(p, f"cannot be read: {exc.strerror or exc}") from exc


def decode_text(data: bytes, path: str | Path, encoding: str = "utf-8") -> str:
    """Decode `data` and turn CRLF / CR line endings into LF; a decoding error names the line."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + data[: exc.start].count(b"\r") - data[: exc.start].count(b"\r\n") + 1
        raise DataFormatError(path, f"not valid {encoding} text: {exc.reason} (save it as UTF-8)",
                              f"line {line}") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: str | Path, what: str = "text file", encoding: str = "utf-8") -> str:
    """Text of `path` with LF line endings (see `decode_text`)."""
    return decode_text(read_bytes(path, what), path, encoding)


def _no_duplicate_keys(path: Path):  # noqa: ANN202
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):  # rare: find the first repeated key (the check above is C speed)
            seen: set[str] = set()
            for k, _ in pairs:
                if k in seen:
                    raise DataFormatError(path, f"key {k!r} is given twice in one object (a JSON reader keeps only "
                                                "the last one)", k)
                seen.add(k)
        return out

    return hook


def load_json(path: str | Path, what: str = "JSON file") -> Any:
    """Parse a JSON file strictly: missing, not a file, invalid, non-UTF-8 or with duplicate keys ->
    `DataFormatError` naming the file (and the line or key)."""
    p = Path(path)
    data = read_bytes(p, what)
    try:
        return json.loads(data, object_pairs_hook=_no_duplicate_keys(p))
    except json.JSONDecodeError as exc:
        raise DataFormatError(p, f"invalid JSON: {exc.msg}", f"line {exc.lineno}") from exc
    except UnicodeDecodeError as exc:
        raise DataFormatError(p, f"invalid JSON: not UTF-8 ({exc.reason})") from exc
    except RecursionError as exc:
        raise DataFormatError(p, "invalid JSON: nested too deeply") from exc


__all__ = ["decode_text", "load_json", "read_bytes", "read_text"]
