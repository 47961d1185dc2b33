"""User-facing errors.

Everything a user can cause (bad input files, missing roots, existing outputs) raises a subclass of
`LvsbenchError`; the CLI turns those into a one-line message and exit code 2. Anything else is a bug (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class LvsbenchError(Exception):
    """Base class of errors caused by the user's input or environment (CLI exit code 2)."""


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
