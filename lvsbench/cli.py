"""The `lvsbench` command line: parses options and calls the library; nothing else lives here.

Each module of `lvsbench.commands` exposes `commands: list[click.Command]`; they are discovered and added to the
group, so an area's commands live next to its options and this file stays small.
Exit codes: 0 success, 2 user error (a one-line message naming the file and the problem), 1 internal error.
"""

from __future__ import annotations

import errno
import importlib
import pkgutil
import sys

import click

from lvsbench import __version__
from lvsbench.errors import LvsbenchError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
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

    Video ids that start with '-' (A2D) must follow '--'. Every command has --help.
    """


def _register() -> None:
    import lvsbench.commands as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        for command in getattr(module, "commands", []):
            cli.add_command(command)


_register()


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


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors exit 2 with one message, bugs exit 1 with a traceback."""
    try:
        cli.main(args=argv, prog_name="lvsbench", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError | click.BadParameter) else exc.exit_code)
    except LvsbenchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        message = environment_error(exc)
        if message is None:
            raise  # not the environment's fault: a bug, exit 1 with the traceback
        click.echo(f"error: {message}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
