"""The `lvsbench` command line: parses options and calls the library; nothing else lives here.

Each module of `lvsbench.cli` exposes `commands: list[click.Command]`; they are discovered and added to the
group, so an area's commands live next to its options and this file stays small. Discovery is lazy: a command is
looked up in the module `_HOT` names for it first (so `lvsbench score` imports only `lvsbench.cli.score`, not
the synthesis, training or hard-split modules and their dependencies), and every module is imported only when a
name is not found that way or the commands are listed (`--help`).
Exit codes: 0 success, 2 user error (a one-line message naming the file and the problem), 1 internal error.
"""

from __future__ import annotations

import errno
import importlib
import json
import sys
from typing import Any

import click

from lvsbench import __version__
from lvsbench.core.errors import LvsbenchError, ValidationFailed, did_you_mean

_HOT = {"score": "score", "submit": "score"}
"""Command name -> module of `lvsbench.cli` to try first (a hint: a wrong entry only costs full discovery)."""


class _LazyGroup(click.Group):
    _all_loaded = False

    def _load(self, module_name: str) -> None:
        module = importlib.import_module(f"lvsbench.cli.{module_name}")
        for command in getattr(module, "commands", []):
            if command.name not in self.commands:
                self.add_command(command)

    def _load_all(self) -> None:
        if not self._all_loaded:
            import pkgutil

            import lvsbench.cli as pkg

            for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
                if not info.name.startswith("_"):  # not __main__ (it would run the command line)
                    self._load(info.name)
            self._all_loaded = True

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _HOT:
            self._load(_HOT[cmd_name])
        if cmd_name not in self.commands:
            self._load_all()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_all()
        return super().list_commands(ctx)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="lvsbench")
def cli() -> None:
    """lvsbench: datasets, hard splits, official-exact metrics and model runs for language-guided
    video segmentation (referring video object segmentation).

    \b
    Typical session:
      lvsbench synth a2d --out data/a2d            # a small dataset in the native A2D layout
      lvsbench datasets info a2d --root data/a2d   # what is there
      lvsbench run oracle --dataset a2d --root data/a2d --out preds/
      lvsbench score preds/ --dataset a2d --root data/a2d

    Every command has --help; --json gives JSON output, and a JSON error object on failure.
    """


ENVIRONMENT_ERRNOS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                      errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
                      errno.EPERM: "operation not permitted"}
"""OS errors caused by the machine, not by lvsbench: a full or read-only disk, missing permissions."""


def environment_error(exc: OSError) -> str | None:
    """One line naming the path and the cause for an `ENVIRONMENT_ERRNOS` error (None for any other OSError)."""
    cause = ENVIRONMENT_ERRNOS.get(exc.errno or -1)
    if cause is None:
        return None
    path = exc.filename if exc.filename is not None else "(unknown path)"
    extra = f" -> {exc.filename2}" if exc.filename2 is not None else ""
    return f"{path}{extra}: {cause}; free space or choose a writable location, then rerun (or --resume)"


def wants_json(argv: list[str]) -> bool:
    """`--json` among the options (before a `--` that ends them)."""
    head = argv[:argv.index("--")] if "--" in argv else argv
    return "--json" in head


def _json_error(kind: str, message: str, code: int, **extra: Any) -> None:
    """With --json, every error is one JSON object on stdout (`{"error": {...}}`), whatever the command."""
    click.echo(json.dumps({"error": {"kind": kind, "message": message, "exit_code": code, **extra}}, indent=2,
                          default=str))


def _suggest_command(exc: click.ClickException) -> None:
    """Add "did you mean" to click's "No such command" (subcommands of any group)."""
    ctx = getattr(exc, "ctx", None)
    group = ctx.command if ctx is not None else None
    if not (isinstance(group, click.Group) and exc.message.startswith("No such command")):
        return
    name = exc.message.split("'")[1] if exc.message.count("'") >= 2 else ""
    if hasattr(exc, "possibilities"):
        exc.possibilities = []  # click's own suggestion, replaced by the project's one helper
    exc.message = exc.message.rstrip(".") + did_you_mean(name, group.commands)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors exit 2 with one message, bugs exit 1 with a traceback; with --json, the error is a
    JSON object on stdout."""
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = wants_json(args)
    try:
        cli.main(args=args, prog_name="lvsbench", standalone_mode=False)
    except click.exceptions.Abort:
        if as_json:
            _json_error("aborted", "aborted", 130)
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        code = 2 if isinstance(exc, click.UsageError | click.BadParameter) else exc.exit_code
        _suggest_command(exc)
        if as_json:
            _json_error("usage", exc.format_message(), code)
        elif isinstance(exc, click.UsageError):  # one line, like every other error, with where to read more
            ctx = exc.ctx
            where = f" (see {ctx.command_path} --help)" if ctx is not None else ""
            click.echo(f"error: {exc.format_message()}{where}", err=True)
        else:
            exc.show()
        sys.exit(code)
    except LvsbenchError as exc:
        if as_json:
            extra: dict[str, Any] = {"problems": [{"path": p.path, "message": p.message} for p in exc.problems]} \
                if isinstance(exc, ValidationFailed) else {}
            if exc.payload is not None:
                extra["details"] = exc.payload
            _json_error(type(exc).__name__, str(exc), 2, **extra)
        else:
            click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        message = environment_error(exc)
        if message is None:
            raise  # not the environment's fault: a bug, exit 1 with the traceback
        if as_json:
            _json_error("environment", message, 2)
        else:
            click.echo(f"error: {message}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        if as_json:
            _json_error("interrupted", "interrupted", 130)
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if as_json:  # a bug: still a JSON object on stdout, and the traceback on stderr
            _json_error("internal", f"{type(exc).__name__}: {exc} (a bug in lvsbench; please report it with the "
                                    "traceback printed on stderr)", 1)
        raise
    sys.exit(0)


__all__ = ["ENVIRONMENT_ERRNOS", "cli", "environment_error", "main", "wants_json"]
