"""`lvsbench report RESULTS... --out report.html`: a self-contained HTML report of scored runs."""

from __future__ import annotations

from pathlib import Path

import click

from lvsbench.cli.common import emit, force_option, json_option


@click.command("report")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=Path("report.html"),
              show_default=True, help="HTML file to write.")
@click.option("--pair", "pairs", nargs=2, multiple=True, metavar="A B",
              help="Compare run B against run A (labels as shown in the report; repeatable). Default: per "
                   "data/protocol group, the two best models (or the model against the best non-oracle bound); two "
                   "bound baselines (oracle, empty, full, random) are never compared.")
@click.option("--strips", type=int, default=3, show_default=True,
              help="Best and worst samples shown as ground-truth / prediction strips per model run.")
@click.option("--replicates", type=int, default=2000, show_default=True, help="Bootstrap replicates.")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--title", default="lvsbench report", show_default=True)
@click.option("--cache", "cache_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Cache folder that `cache:` pointers of leaderboard results refer to (default: $LVSBENCH_CACHE, "
                   "else ~/.cache/lvsbench).")
@click.option("--reported", "reported_dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              default=None, help="Also list the papers' published numbers (leaderboards/reported) for the datasets "
                                 "and protocols of these runs, audited, under their exact metric names.")
@force_option
@json_option
def report_cmd(results: tuple[Path, ...], out: Path, pairs: tuple[tuple[str, str], ...], strips: int,
               replicates: int, seed: int, title: str, cache_dir: Path | None, reported_dir: Path | None,
               force: bool, as_json: bool) -> None:
    """Write an HTML report of RESULTS (results JSON files of `lvsbench score --out` or of `leaderboard build`).

    Per-protocol tables and charts; breakdowns by objects per video, actor class, expression length and subset;
    paired comparisons with bootstrap 95% confidence intervals and a significance flag; strips of ground truth vs
    prediction for the best and worst samples. One file, images embedded, readable offline. The per-sample CSV of a
    `score` result is found beside it as <stem>.samples.csv, <stem>_samples.csv or samples.csv.
    """
    from lvsbench.pipeline.cache import default_cache_dir
    from lvsbench.report import ReportOptions, build_report

    opts = ReportOptions(pairs=[tuple(p) for p in pairs], strips=strips, replicates=replicates, seed=seed,
                         title=title, reported_dir=reported_dir, cache_root=cache_dir or default_cache_dir())
    path = build_report(results, out, opts, force=force)
    nxt = f"next: open it in a browser (one self-contained file: file://{path.resolve()})"
    emit({"report": str(path), "next": nxt}, as_json, f"report {path}\n{nxt}")


commands = [report_cmd]


__all__ = ["commands", "report_cmd"]
