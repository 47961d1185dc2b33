"""`lvsbench build-hard-split`: build A2D-S+ (Locater, TPAMI 2023) from A2D-Sentences."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from lvsbench.cli.common import Choice, emit, json_option
from lvsbench.hardsplit.srl import BACKENDS

_path = click.Path(path_type=Path)


@click.command("build-hard-split")
@click.option("--a2d-root", required=True, type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="A2D-Sentences root (released layout, or a folder with a2d_annotation.txt + videoset.csv).")
@click.option("--out", required=True, type=_path, help="Output folder.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the contrasting-partner sampling.")
@click.option("--stage", type=Choice(["srl", "pairs", "all"]), default="all", show_default=True,
              help="srl: SRL + cleaning only; pairs: up to the pair manifest from the text files alone; all: "
                   "also compose the videos.")
@click.option("--srl-backend", type=Choice(list(BACKENDS)),
              default="auto", show_default=True,
              help="auto: precomputed with --srl-json, allennlp-archive with --srl-archive, else rules (warns).")
@click.option("--srl-archive", type=click.Path(path_type=Path, dir_okay=False),
              help="AllenNLP structured-prediction-srl-bert model.tar.gz (never downloaded).")
@click.option("--bert-vocab", type=click.Path(path_type=Path, dir_okay=False),
              help="bert-base-uncased vocab.txt for --srl-archive.")
@click.option("--srl-json", type=click.Path(path_type=Path, dir_okay=False),
              help="Precomputed AllenNLP SRL predictor output (JSON lines).")
@click.option("--predicates", default="auto", show_default=True,
              help="Predicate finder: auto (spaCy en_core_web_sm if installed, else heuristic), heuristic, "
                   "spacy[:MODEL].")
@click.option("--review-out", type=_path, help="Write pairs.csv + index.html for a human check here.")
@click.option("--review-in", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Reviewed pairs.csv: accept / reject / resample decisions to apply.")
@click.option("--stats-out", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the small A2D-S+ statistics file here (Table II ours and the paper's, pairing "
                   "coverage and tiers, Table VII groups); the A2D leaderboard renders the committed "
                   "leaderboards/reported/a2d-plus-stats.json.")
@click.option("--order", type=Choice(["query-first", "partner-first"]), default="query-first",
              show_default=True, help="Query left (S_s) / first (S_t), or the partner.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Processes composing videos.")
@click.option("--min-actors", default=2, show_default=True, type=click.IntRange(1, 100),
              help="A2D-S_m: videos with at least this many described actors.")
@click.option("--frame-ext", type=Choice([".jpg", ".png"]), default=".jpg", show_default=True,
              help="Frame format of the composed videos.")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@click.option("--resume", is_flag=True, help="Continue an interrupted build in --out (skips finished videos).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bars on stderr.")
@json_option
def build_hard_split(a2d_root: Path, out: Path, seed: int, stage: str, srl_backend: str, srl_archive: Path | None,
                     bert_vocab: Path | None, srl_json: Path | None, predicates: str, review_out: Path | None,
                     review_in: Path | None, stats_out: Path | None, order: str, workers: int, min_actors: int,
                     frame_ext: str, force: bool, resume: bool, progress: bool, as_json: bool) -> None:
    """Build A2D-S+ (multi-actor S_m, spatial S_s, temporal S_t contrasting subsets) from the A2D-Sentences test
    split: SRL of every query, cleaning and lemmatisation, contrasting-partner sampling, optional human review,
    and composition into a2d-plus-m / a2d-plus-s / a2d-plus-t in the lvsbench layout, plus Locater-compatible
    expression files and stats (Table II / Table VII). Deterministic given the inputs, --seed and --review-in.
    See docs/hard-split.md."""
    from lvsbench.hardsplit.build import BuildOptions, build

    opts = BuildOptions(a2d_root=a2d_root, out=out, seed=seed, stage=stage, srl_backend=srl_backend,
                        srl_archive=srl_archive, bert_vocab=bert_vocab, srl_json=srl_json, predicates=predicates,
                        review_out=review_out, review_in=review_in, stats_out=stats_out, order=order,
                        workers=workers, force=force, resume=resume, min_actors=min_actors, frame_ext=frame_ext,
                        progress=progress)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manifest = build(opts)
    for w in {str(w.message) for w in caught}:
        click.echo(f"warning: {w}", err=True)

    def text() -> str:
        lines = [f"{out}: stage {stage}, SRL {manifest['srl'].get('backend')}, predicates {manifest['predicates']}",
                 f"  test queries {manifest['test_queries']} in {manifest['test_videos']} videos; "
                 f"without roles {manifest['queries_without_roles']}"]
        for subset, cov in sorted(manifest.get("pair_coverage", {}).items()):
            lines.append(f"  {subset}: " + ", ".join(f"{k} {v}" for k, v in sorted(cov.items())))
        for name, n in sorted(manifest.get("subsets", {}).items()):
            lines.append(f"  {name}: {n} videos")
        if manifest.get("unavailable_videos"):
            lines.append(f"  unavailable source videos: {len(manifest['unavailable_videos'])}")
        if manifest.get("failed_compositions"):
            lines.append(f"  failed compositions: {len(manifest['failed_compositions'])}")
        lines += next_steps
        return "\n".join(lines)

    next_steps = _next_steps(out, stage, sorted(k for k, n in manifest.get("subsets", {}).items() if n),
                             review_out)
    emit({**manifest, "next": next_steps}, as_json, text)


def _next_steps(out: Path, stage: str, subsets: list[str], review_out: Path | None) -> list[str]:
    """The commands that come next: score predictions on each non-empty subset written (after running a model on
    it), or finish a staged build."""
    written = [name for name in subsets if (out / name / "meta_expressions.json").is_file()]
    if written:
        lines = ["next: run a model on each subset and score it (protocol a2d-plus), e.g. with the oracle:"]
        for name in written:
            lines.append(f"  lvsbench run oracle --dataset layout --root {out / name} --out preds/{name}")
            lines.append(f"  lvsbench score preds/{name} --dataset layout --root {out / name}")
        return lines
    if review_out is not None:
        return [f"next: review the pairs in {review_out}, then rerun with --review-in {review_out}"]
    return [f"next: rerun with --stage all (this was --stage {stage}) to write the subsets"]


commands = [build_hard_split]


__all__ = ["build_hard_split", "commands"]
