"""The `lvsbench` command line: parses options and calls the library; nothing else lives here.

Each module of `lvsbench.commands` exposes `commands: list[click.Command]`; they are discovered and added to the
group, so an area's commands live next to its options and this file stays small. Discovery is lazy: a command is
looked up in the module `_HOT` names for it first (so `lvsbench score` imports only `lvsbench.commands.score`, not
the synthesis, training or hard-split modules and their dependencies), and every module is imported only when a
name is not found that way or the commands are listed (`--help`).
Exit codes: 0 success, 2 user error (a one-line message naming the file and the problem), 1 internal error.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from lvsbench import __version__
from lvsbench.errors import LvsbenchError

_HOT = {"score": "score", "submit": "score"}
"""Command name -> module of `lvsbench.commands` to try first (a hint: a wrong entry only costs full discovery)."""


class _LazyGroup(click.Group):
    _all_loaded = False

    def _load(self, module_name: str) -> None:
        module = importlib.import_module(f"lvsbench.commands.{module_name}")
        for command in getattr(module, "commands", []):
            if command.name not in self.commands:
                self.add_command(command)

    def _load_all(self) -> None:
        if not self._all_loaded:
            import lvsbench.commands as pkg

            for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
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

    Video ids that start with '-' (A2D) must follow '--'. Every command has --help.
    """


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
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
