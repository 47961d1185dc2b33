"""`lvsbench score` and `lvsbench submit`: scoring predictions under named protocols, server submissions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lvsbench.cli.common import DATASET_HELP, Choice, emit, force_option, json_option
from lvsbench.metrics.statistics import DECAY_MODES, DEFAULT_DECAY

if TYPE_CHECKING:
    from lvsbench.datasets.base import Dataset


def _load_dataset(name: str, root: Path | None, split: str | None, options: tuple[str, ...]) -> Dataset:
    from lvsbench.datasets.registry import load, parse_options, resolve_root

    path = resolve_root(name, root)
    return load(name, path, split, **parse_options(options))


@click.command("score")
@click.argument("preds", type=click.Path(path_type=Path))
@click.option("--dataset", "dataset_name", required=True,
              help=DATASET_HELP)
@click.option("--root", type=click.Path(path_type=Path), default=None,
              help="Ground-truth root (else $LVSBENCH_<NAME>_ROOT, else [roots] in the user config file).")
@click.option("--split", default=None, help="Dataset split (default: the reader's).")
@click.option("--dataset-option", "dataset_options", multiple=True, metavar="KEY=VALUE",
              help="Reader option, repeatable (e.g. annotator=0, urvos_release=PATH, year=2016).")
@click.option("--protocol", default=None,
              help="a2d, jhmdb, ryvos, rdavis, rdavis-aligned, davis-semi, a2d-plus; per expression (native "
                   "readers): mevis, mevis-v2, revos, revos-visa-png, refsav, long-rvos, reasonvos (default: the "
                   "dataset's). "
                   "A DAVIS protocol reads the annotation set it is defined on (davis-semi: Annotations/, rdavis: "
                   "Annotations_unsupervised/) unless annotations= is given, which must then agree.")
@click.option("--format", "fmt", type=Choice(["png-tree", "png-zip", "coco-json", "davis-anno", "rle-json"]),
              default=None,
              help="Prediction format (default: auto-detected).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the results JSON here.")
@click.option("--per-sample", type=click.Path(path_type=Path), default=None, help="Write the per-sample CSV here.")
@click.option("--by", default=None, metavar="COLUMN",
              help="Group per-sample results by a column (num_objects_bin, num_objects_in_video, category, "
                   "num_words_bin, subset, ...) or by table_vii_group: Locater's Table VII grouping (three clusters "
                   "of objects per composed video for A2D-S+ S_s / S_t, the single-actor videos of A2D-S test).")
@click.option("--workers", default="1", show_default=True, metavar="N|auto",
              help="Processes, parallel over videos; 'auto' = the cores this process may use (CPU affinity, "
                   "cgroup quota).")
@click.option("--allow-missing", is_flag=True,
              help="Score missing frames/expressions/videos as empty and record each in the results JSON.")
@click.option("--ignore-extra", is_flag=True,
              help="Ignore (and record) predictions for videos/expressions/frames/images not in the split.")
@click.option("--decay", type=Choice(DECAY_MODES), default=DEFAULT_DECAY, show_default=True,
              help="DAVIS decay bins: 'fixed' is correct for any length; 'compat' is the official davis2017 value "
                   "(its uint8 bin indices are wrong or NaN from 256 scored frames on); identical below 256. "
                   "The table and the results JSON (options.decay) say which was used.")
@json_option
@force_option
def score_cmd(preds: Path, dataset_name: str, root: Path | None, split: str | None, dataset_options: tuple[str, ...],
              protocol: str | None, fmt: str | None, out: Path | None, per_sample: Path | None, by: str | None,
              workers: str, allow_missing: bool, ignore_extra: bool, decay: str, as_json: bool, force: bool) -> None:
    """Score predictions PREDS (PNG tree or zip, COCO results JSON, or anno_k/ label-map tree) on a dataset.

    Predictions are validated first: missing videos / expressions / frames / images, unexpected ids, sizes and
    undecodable files are all listed with their paths and nothing is scored (exit 2) unless --allow-missing
    (missing items only) or --ignore-extra (unexpected items only) say otherwise.

    \b
    Examples:
      lvsbench score preds.json --dataset a2d --root data/a2d
      lvsbench score preds/ --dataset ryvos --split train-heldout-v1 --workers 4 --out results.json
      lvsbench score results/ --dataset rdavis --protocol rdavis-aligned --per-sample s.csv --by category
      lvsbench score results/ --dataset davis --root DAVIS   (davis2017-evaluation semi-supervised)
    """
    from lvsbench.core.io import check_overwrite
    from lvsbench.scoring import score, write_results
    from lvsbench.scoring.workers import resolve_workers

    for target in (out, per_sample):
        if target is not None:
            check_overwrite(target, force)
    ds = _load_dataset(dataset_name, root, split, dataset_options)
    result = score(preds, ds, protocol, allow_missing=allow_missing, allow_extra=ignore_extra,
                   workers=resolve_workers(workers), by=by, format=fmt, decay=decay,
                   progress=not as_json and sys.stderr.isatty())
    write_results(result, out, per_sample, force=force)
    nxt = (f"next: lvsbench report {out} --out report.html" if out is not None else
           "next: add --out results.json (and --per-sample samples.csv) to keep these numbers, then lvsbench report "
           "results.json")
    emit(result.results, as_json, lambda: f"{result.table()}\n{nxt}")


@click.group("submit")
def submit_group() -> None:
    """Check predictions completely and package them for an evaluation server."""


def _emit_submission(report: Any, out: Path, as_json: bool) -> None:
    emit(report.as_dict(), as_json,
         lambda: f"{out}: {report.files} masks, {report.expressions} expressions, {report.videos} videos"
                 + (f" ({report.reencoded} re-encoded as 0/255 L-mode)" if report.reencoded else "")
                 + "".join(f"\nnote: {n}" for n in report.notes))


@submit_group.command("ryvos")
@click.argument("preds", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The submission zip to write.")
@click.option("--root", type=click.Path(path_type=Path), default=None,
              help="Refer-YouTube-VOS root (else $LVSBENCH_RYVOS_ROOT or the config file).")
@click.option("--split", default="valid", show_default=True,
              help="Split whose expressions and frames must all be present (valid = the 202 videos).")
@json_option
@force_option
def submit_ryvos_cmd(preds: Path, out: Path, root: Path | None, split: str, as_json: bool, force: bool) -> None:
    """Zip PREDS (PNG tree or zip, with or without Annotations/) as a Refer-YouTube-VOS server submission.

    Checks before writing: every valid video, expression and meta frame present; each PNG decodes, is a
    single-channel binary mask of the video's frame size; nothing unexpected. All problems are listed (exit 2).
    The zip holds Annotations/<video>/<exp_id>/<frame>.png (0/255, L mode).
    """
    from lvsbench.formats.submit import build_ryvos_submission

    ds = _load_dataset("ryvos", root, split, ())
    _emit_submission(build_ryvos_submission(preds, ds, out, force=force), out, as_json)


@submit_group.command("mevis")
@click.argument("preds", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The submission zip to write.")
@click.option("--root", type=click.Path(path_type=Path), default=None,
              help="MeViS root (else $LVSBENCH_MEVIS_ROOT or the config file).")
@click.option("--split", default="valid", show_default=True,
              help="Split whose expressions and frames must all be present (valid = the server split).")
@click.option("--meta", default="meta_expressions.json", show_default=True,
              help="Meta file name inside the split folder (v2 challenge releases may name it differently).")
@json_option
@force_option
def submit_mevis_cmd(preds: Path, out: Path, root: Path | None, split: str, meta: str, as_json: bool,
                     force: bool) -> None:
    """Zip PREDS (PNG tree or zip) as a MeViS (v1 or v2) server submission.

    The same checks as `submit ryvos` (every video, expression and meta frame present, binary single-channel
    PNGs, nothing unexpected; all problems listed, exit 2), but the zip holds <video>/<exp_id>/<frame>.png at its
    root, without an Annotations/ folder, as the MeViS README prescribes.
    """
    from lvsbench.formats.submit import build_mevis_submission

    ds = _load_dataset("mevis", root, split, (f"meta={meta}",))
    _emit_submission(build_mevis_submission(preds, ds, out, force=force), out, as_json)


commands = [score_cmd, submit_group]


__all__ = ["commands", "score_cmd", "submit_group", "submit_mevis_cmd", "submit_ryvos_cmd"]
