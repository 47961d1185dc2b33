"""User-facing errors.

Everything a user can cause (bad input files, missing roots, existing outputs) raises a subclass of
`LvsbenchError`; the CLI turns those into a one-line message and exit code 2. Anything else is a bug (exit 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """"; did you mean X?" for a name a user typed (dataset, split, protocol, adapter, recipe, model, column), or ""
    when nothing is close. The one helper every "unknown name" message uses."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=3, cutoff=0.6)
    if not close:
        lowered = {str(c).lower(): str(c) for c in choices}
        close = [lowered[str(name).lower()]] if str(name).lower() in lowered else []
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def unknown_name(what: str, name: str, choices: Iterable[str]) -> str:
    """"unknown <what> 'x'; did you mean 'y'? (known: a, b, c)": the message of every unknown-name error."""
    known = [str(c) for c in choices]
    return f"unknown {what} {name!r}{did_you_mean(name, known)} (known: {', '.join(known)})"


class LvsbenchError(Exception):
    """Base class of errors caused by the user's input or environment (CLI exit code 2)."""

    payload: dict | None = None
    """What the command found before failing (counts, diffs); `--json` puts it in the error object as `details`."""


def _where(path: str | Path | None, where: str | None) -> str:
    if path is None:
        return where or ""
    return f"{path}" + (f" ({where})" if where else "")


class DataFormatError(LvsbenchError):
    """A file is malformed. The message names the file and, when known, the line/key/frame."""

    def __init__(self, path: str | Path | None, message: str, where: str | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.where = where
        self.detail = message
        super().__init__(f"{_where(path, where)}: {message}" if path or where else message)


@dataclass(frozen=True)
class Problem:
    """One finding of a validator: the path it concerns and what is wrong there."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ValidationFailed(LvsbenchError):
    """Validation found problems; all of them are listed, not just the first."""

    def __init__(self, problems: list[Problem], what: str = "validation") -> None:
        self.problems = list(problems)
        head = f"{what} failed with {len(self.problems)} problem(s)"
        shown = "\n".join(f"  {p}" for p in self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"{head}:\n{shown}{more}")


class OutputExistsError(LvsbenchError):
    """Refuse to overwrite a user's output without --force."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(f"{path}: already exists (use --force to overwrite)")


class ConfigError(LvsbenchError):
    """A setting (root, option, environment variable, config file) is missing or wrong."""


class MissingDependencyError(LvsbenchError):
    """An optional extra is needed for this feature."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the '{package}' package: pip install 'lvsbench[{extra}]'"
        )


__all__ = ["ConfigError", "DataFormatError", "LvsbenchError", "MissingDependencyError", "OutputExistsError", "Problem",
           "ValidationFailed", "did_you_mean", "unknown_name"]
