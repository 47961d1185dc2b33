"""`lvsbench leaderboard build|check`: leaderboards regenerated from recipes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from lvsbench.cli.common import emit, json_option
from lvsbench.core.errors import LvsbenchError

if TYPE_CHECKING:  # pragma: no cover
    from lvsbench.pipeline.cache import Cache


@click.group("leaderboard")
def leaderboard_group() -> None:
    """Run the recipes (recipes/*.toml) and write results/*.json and leaderboards/<dataset>.md|.csv."""


def _cache(cache_dir: Path | None, no_cache: bool) -> Cache:
    from lvsbench.pipeline.cache import Cache, default_cache_dir

    return Cache(cache_dir or default_cache_dir(), enabled=not no_cache)


recipes_arg = click.argument("recipes_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("recipes"),
                             required=False)
cache_opt = click.option("--cache", "cache_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                         help="Cache folder (default: $LVSBENCH_CACHE, else ~/.cache/lvsbench).")
workers_opt = click.option("--workers", type=int, default=1, show_default=True, help="Scoring processes.")


@leaderboard_group.command("build")
@recipes_arg
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder receiving results/ and leaderboards/ (default: the parent of RECIPES_DIR).")
@click.option("--reported", "reported_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Published numbers (default: <project>/leaderboards/reported).")
@click.option("--only", multiple=True, metavar="RECIPE", help="Run only this recipe (repeatable); others keep "
                                                               "their committed results.")
@cache_opt
@click.option("--no-cache", is_flag=True, help="Recompute every result (the cache is neither read nor reused).")
@workers_opt
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@json_option
def build_cmd(recipes_dir: Path, out: Path | None, reported_dir: Path | None, only: tuple[str, ...],
              cache_dir: Path | None, no_cache: bool, workers: int, no_progress: bool, as_json: bool) -> None:
    """Run every recipe that can run here and write the leaderboards.

    Synthetic datasets always run; real datasets when their root is configured (LVSBENCH_<NAME>_ROOT or [roots] in
    the user config); checkpoints when the file exists. A recipe that cannot run keeps its committed result, or is
    listed under "Not run here" with the reason. Results are cached by (recipe hash, lvsbench version, dataset
    checksum, checkpoint hash), so an unchanged recipe is not recomputed and a stale result is never reused. Two
    builds give byte-identical files.
    """
    from lvsbench.pipeline.build import BuildOptions, build, summary_text

    project = recipes_dir.resolve().parent
    out = out or project
    opts = BuildOptions(recipes_dir=recipes_dir, out=out, cache=_cache(cache_dir, no_cache),
                        reported_dir=reported_dir or project / "leaderboards" / "reported", only=only,
                        workers=workers, progress=not no_progress)
    report = build(opts)
    payload = {"counts": report.counts(),
               "recipes": [{"recipe": o.recipe.name, "status": o.status, "reason": o.reason}
                           for o in report.outcomes],
               "written": [str(p) for p in report.written], "removed": [str(p) for p in report.removed],
               "reported": report.reported, "flagged": report.flagged,
               "flags": [{"file": f.value.source_file, "line": f.value.line, "check": f.check, "reason": f.reason}
                         for f in report.flags]}
    payload["next"] = nxt = (f"next: lvsbench leaderboard check {recipes_dir}, then commit leaderboards/ and results/; "
                             f"lvsbench report {out / 'results'}/*.json --out report.html for the HTML report")
    emit(payload, as_json, lambda: f"{summary_text(report, out)}\n{nxt}")


@leaderboard_group.command("check")
@recipes_arg
@cache_opt
@click.option("--no-cache", is_flag=True, help="Recompute every result instead of reusing cached ones.")
@workers_opt
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@json_option
def check_cmd(recipes_dir: Path, cache_dir: Path | None, no_cache: bool, workers: int, no_progress: bool,
              as_json: bool) -> None:
    """Exit non-zero (2) when the committed leaderboards differ from what the runnable recipes produce.

    Rebuilds into a temporary folder and compares leaderboards/*.md|.csv byte for byte with the committed files,
    and checks that committed results/*.json come from the current recipes and lvsbench version. Every difference
    is listed with a short diff.
    """
    from lvsbench.pipeline.check import check

    project = recipes_dir.resolve().parent
    rep = check(recipes_dir, project, _cache(cache_dir, no_cache), workers=workers, progress=not no_progress)
    payload = {"ok": rep.ok, "problems": rep.problems, "diff": rep.diffs}
    if as_json:
        if rep.ok:
            emit(payload, True, "")
    else:
        if rep.ok:
            click.echo(f"leaderboards up to date ({project / 'leaderboards'})")
        else:
            click.echo("leaderboard check FAILED:", err=True)
            for p in rep.problems:
                click.echo(f"  {p}", err=True)
            if rep.diffs:
                click.echo("\n".join(rep.diffs), err=True)
    if not rep.ok:
        exc = LvsbenchError(f"leaderboard check failed with {len(rep.problems)} problem(s); run `lvsbench "
                            "leaderboard build` and commit the result")
        exc.payload = payload  # with --json, the problems and the diff travel inside the JSON error object
        raise exc


commands = [leaderboard_group]


__all__ = ["build_cmd", "cache_opt", "check_cmd", "commands", "leaderboard_group", "recipes_arg", "workers_opt"]
