"""`lvsbench run`, `lvsbench merge`, `lvsbench import-preds`, `lvsbench adapters ...`: running models."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lvsbench.cli.common import DATASET_HELP, Choice, emit, force_option, json_option

if TYPE_CHECKING:  # pragma: no cover
    from lvsbench.run.runner import RunResult


def _load_dataset(name: str, root: str | None, split: str | None, options: dict[str, str]) -> tuple[Any, str]:
    """Load a dataset through the dataset registry (root from --root, the environment or the user config)."""
    from lvsbench.datasets import load

    try:
        from lvsbench.datasets.registry import resolve_root

        resolved = str(resolve_root(name, root))
    except ImportError:  # pragma: no cover - registry not present
        if root is None:
            raise click.UsageError("--root is required") from None
        resolved = root
    return load(name, resolved, split=split, **options), resolved


@click.command("run")
@click.argument("adapter")
@click.option("--dataset", "dataset_name", required=True, help=DATASET_HELP)
@click.option("--root", default=None, help="Dataset root (else LVSBENCH_<NAME>_ROOT or the user config).")
@click.option("--split", default=None, help="Split (default: the dataset's evaluation split).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output run directory (predictions, run.json, run_log.jsonl).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--batch-frames", default=8, show_default=True, type=int, help="Frames per adapter call.")
@click.option("--batch-expressions", default=None, type=int,
              help="Expressions of a video per adapter call (default: all of them).")
@click.option("--shard", default=None, metavar="I/N",
              help="Run shard I of N (whole videos, balanced by frames), then `lvsbench merge`. Default: one process, "
                   "or the rank of a torchrun / srun / Slurm-array launch read from the environment; an explicit "
                   "--shard turns that detection off.")
@click.option("--limit", default=None, type=int, help="Only the first N expressions (of the shard).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out, skipping finished expressions.")
@force_option
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="Adapter option (repeatable).")
@click.option("--dataset-option", "dataset_options", multiple=True, metavar="KEY=VALUE",
              help="Dataset reader option, e.g. annotator=0 for rdavis (repeatable).")
@click.option("--checkpoint", default=None, type=click.Path(path_type=Path), help="Model weights (file or dir).")
@click.option("--format", "fmt", default=None, type=Choice(["png-tree", "coco-json", "davis-anno", "rle-json"]),
              help="Output format (default: the one the dataset's protocol scores).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed handed to the adapter.")
@click.option("--no-bf16", is_flag=True, help="Disable bf16 autocast on CUDA.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--score", "do_score", is_flag=True,
              help="When the run is complete, score it with the dataset's default protocol on every available core "
                   "and write <OUT>/score.json (under a launch: the process that merges).")
@click.option("--dist-timeout", default=48.0, show_default=True, type=float, metavar="HOURS",
              help="torchrun / srun: how long rank 0 waits for the slowest rank before giving up.")
@json_option
def run_cmd(adapter: str, dataset_name: str, root: str | None, split: str | None, out: Path, device: str,
            batch_frames: int, batch_expressions: int | None, shard: str | None, limit: int | None, resume: bool,
            force: bool, options: tuple[str, ...], dataset_options: tuple[str, ...], checkpoint: Path | None,
            fmt: str | None, seed: int, no_bf16: bool, quiet: bool, do_score: bool, dist_timeout: float,
            as_json: bool) -> None:
    """Run ADAPTER over a dataset and write predictions that `lvsbench score` reads.

    \b
    Output (the run directory --out):
      Annotations/<video>/<exp_id>/<frame>.png   Refer-YouTube-VOS-style datasets (0/255 PNG tree)
      coco_results.json                          A2D / J-HMDB (COCO results with RLE and scores)
      anno_<k>/<video>/<frame>.png               Ref-DAVIS17 (palette per annotator setting)
      run.json, run_log.jsonl, run_parts/, frame_scores.csv
    An interrupted run continues with --resume (finished expressions are skipped and logged as such).

    \b
    Several GPUs or machines (docs/scale-out.md): launch the same command with
      torchrun --standalone --nproc-per-node 8 --no-python lvsbench run ...   (or srun, or sbatch --array)
    Each rank writes shard RANK/WORLD_SIZE to <OUT>.shards/<RANK>-of-<N>/ on cuda:LOCAL_RANK; rank 0 (for an
    array: the last task to finish) merges into --out, identical to one process. Rerunning the same command after
    a rank died computes only the missing expressions.
    """
    from lvsbench.adapters.base import parse_key_values
    from lvsbench.adapters.registry import create_adapter
    from lvsbench.core.options import parse_typed_options
    from lvsbench.run.distributed import Launch, detect_launch
    from lvsbench.run.options import RunOptions, parse_shard

    launch = detect_launch() if shard is None else Launch("single")
    adapter_obj = create_adapter(adapter, parse_key_values(options))
    ds_opts = parse_typed_options(dataset_options)
    dataset, resolved = _load_dataset(dataset_name, root, split, ds_opts)
    opts = RunOptions(out=out, device=device, batch_frames=batch_frames, batch_expressions=batch_expressions,
                      shard=parse_shard(shard or "0/1"), limit=limit, resume=resume, force=force,
                      checkpoint=checkpoint, format=fmt, seed=seed, bf16=not no_bf16, progress=not quiet,
                      dataset_root=resolved, dataset_options=ds_opts)
    score_hint = f"lvsbench score {{}} --dataset {dataset_name} --root {resolved}" + (
        f" --split {split}" if split else "") + "".join(f" --dataset-option {o}" for o in dataset_options)
    if shard is None and not launch.distributed:
        from lvsbench.run.distributed import check_other_shards

        check_other_shards(out, 1, force)
    if launch.distributed:
        _run_launched(adapter_obj, dataset, opts, launch, adapter, do_score, dist_timeout, score_hint, as_json)
        return
    _run_single(adapter_obj, dataset, opts, adapter, do_score, score_hint, as_json)


def _run_single(adapter_obj: Any, dataset: Any, opts: Any, adapter: str, do_score: bool, score_hint: str,
                as_json: bool) -> None:
    from lvsbench.run.distributed import score_run
    from lvsbench.run.rundir import SCORE_JSON
    from lvsbench.run.runner import run

    result = run(adapter_obj, dataset, opts, adapter_name=adapter)
    s = result.session
    payload = {"out": str(result.out), "predictions": str(result.predictions), "format": result.format,
               "status": result.status, "units": result.units_total, "units_done": result.units_done,
               "units_skipped": result.units_skipped, "frames": result.frames,
               "seconds": round(result.seconds, 3), "frames_per_s": s.get("frames_per_s"),
               "device": s.get("device"), "peak_memory": s.get("peak_memory")}
    scored = None
    if do_score and result.status == "complete":
        scored = score_run(result.predictions, dataset, result.out / SCORE_JSON)
        payload["score"] = {k: v for k, v in scored.items() if k != "table"}
    elif do_score:
        payload["score"] = None
    next_step = None if scored else _next_step(result, opts.shard, score_hint.split("{}", 1)[1])
    payload["next"] = next_step
    emit(payload, as_json, lambda: (
        f"{result.out}: {result.status}; {result.units_done} unit(s) written, {result.units_skipped} skipped "
        f"(resume), {result.frames} frames in {result.seconds:.1f}s on {s.get('device')}\n"
        + (f"{scored['table']}\nwritten to {scored['path']}" if scored else next_step)))


def _run_launched(adapter_obj: Any, dataset: Any, opts: Any, launch: Any, adapter: str, do_score: bool,
                  timeout_h: float, score_hint: str, as_json: bool) -> None:
    from lvsbench.run.distributed import run_launch, shard_dir

    click.echo(f"lvsbench run: rank {launch.rank} of {launch.world_size} ({launch.launcher}, local rank "
               f"{launch.local_rank}) -> {shard_dir(opts.out, launch.rank, launch.world_size)}", err=True)
    res = run_launch(adapter_obj, dataset, opts, launch, adapter_name=adapter, score=do_score, timeout_h=timeout_h)
    sh = res.shard
    payload: dict[str, Any] = {
        "launch": {"launcher": launch.launcher, "rank": launch.rank, "world_size": launch.world_size,
                   "local_rank": launch.local_rank, "process_group": launch.process_group},
        "shard": {"out": str(sh.out), "status": sh.status, "units": sh.units_total, "units_done": sh.units_done,
                  "units_skipped": sh.units_skipped, "frames": sh.frames, "seconds": round(sh.seconds, 3),
                  "device": sh.session.get("device")},
        "merged": None, "statuses": res.statuses, "waiting_for": res.waiting_for, "note": res.note,
    }
    lines = [f"rank {launch.rank}/{launch.world_size} ({launch.launcher}): {sh.out} {sh.status}; {sh.units_done} "
             f"unit(s) written, {sh.units_skipped} skipped (done earlier), {sh.frames} frames in {sh.seconds:.1f}s "
             f"on {sh.session.get('device')}"]
    if res.merged is not None:
        from lvsbench.formats.predictions import prediction_path

        preds = prediction_path(opts.out, res.merged["format"])
        payload["merged"] = {"out": str(opts.out), "status": res.merged["status"],
                             "units": res.merged["shard"]["units"], "predictions": str(preds)}
        lines.append(f"{opts.out}: merged {launch.world_size} shard(s), {res.merged['shard']['units']} unit(s), "
                     f"status {res.merged['status']}")
        if res.score is not None:
            payload["score"] = {k: v for k, v in res.score.items() if k != "table"}
            lines += [res.score["table"], f"written to {res.score['path']}"]
        else:
            lines.append(f"next: {score_hint.format(preds)}")
    if res.note:
        lines.append(res.note)
    emit(payload, as_json, "\n".join(lines))


def _next_step(result: RunResult, shard: tuple[int, int], score_tail: str) -> str:
    """What the user does next: score a complete run; for one shard of several, run the others and merge them
    (scoring one shard would report an incomplete run); for an unfinished run, resume it."""
    status = result.status
    if status not in ("complete", "partial"):
        return f"next: continue it with the same command plus --resume (status {status})"
    i, n = shard
    if n > 1:
        others = ", ".join(f"{j}/{n}" for j in range(n) if j != i)
        return (f"shard {i}/{n} of this run is {status}; still missing: shard(s) {others} (same command with "
                f"--shard J/{n} and its own --out).\nnext: when every shard is complete: lvsbench merge "
                f"<the {n} shard folders> --out MERGED, then: lvsbench score MERGED{score_tail}")
    return f"next: lvsbench score {result.predictions}{score_tail}"


@click.command("merge")
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Merged run directory.")
@force_option
@click.option("--allow-incomplete", is_flag=True, help="Merge even if a shard is missing or unfinished.")
@json_option
def merge_cmd(shards: tuple[Path, ...], out: Path, force: bool, allow_incomplete: bool, as_json: bool) -> None:
    """Join the run directories of `lvsbench run --shard I/N` into one, identical to an unsharded run."""
    from lvsbench.formats.predictions import prediction_path
    from lvsbench.run.rundir import merge_runs

    merged = merge_runs(list(shards), out, force=force, allow_incomplete=allow_incomplete)
    payload = {"out": str(out), "status": merged["status"], "units": merged["shard"]["units"],
               "predictions": str(prediction_path(out, merged["format"]))}
    pred = payload["predictions"]
    ds = merged.get("dataset") if isinstance(merged.get("dataset"), dict) else {}
    where = f" --dataset {ds.get('name', 'NAME')} --root {ds.get('root') or 'ROOT'}" + (
        f" --split {ds['split']}" if ds.get("split") else "")
    payload["next"] = (f"next: lvsbench score {pred}{where}" if merged["status"] == "complete"
                       else "next: run the shard(s) still missing or unfinished, then merge again")
    emit(payload, as_json, f"{out}: merged {len(shards)} shard(s), {merged['shard']['units']} unit(s), "
                           f"status {merged['status']}\n{payload['next']}")


@click.command("import-preds")
@click.argument("source", type=Choice(["referformer", "mttr", "locater"]))
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@click.option("--dataset", "dataset_name", required=True, help=DATASET_HELP)
@click.option("--root", default=None, help="Dataset root (else LVSBENCH_<NAME>_ROOT or the user config).")
@click.option("--split", default=None, help="Split the predictions were made on.")
@click.option("--dataset-option", "dataset_options", multiple=True, metavar="KEY=VALUE",
              help="Dataset reader option (repeatable).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Output run directory.")
@click.option("--locater-key", type=Choice(["auto", "exp_id", "instance"]), default="auto",
              show_default=True, help="What <obj> means in Locater's <video>_<obj>_<frame> names.")
@force_option
@json_option
def import_cmd(source: str, path: Path, dataset_name: str, root: str | None, split: str | None,
               dataset_options: tuple[str, ...], out: Path, locater_key: str, force: bool, as_json: bool) -> None:
    """Import a published model's native output (PATH) as lvsbench predictions, to rescore it identically.

    \b
    referformer: Refer-YTVOS tree `valid/<vid>/<exp>/<frame>.png` or `Annotations/...` (dir or .zip),
                 Ref-DAVIS17 `[valid/]anno_<k>/<seq>/<frame>.png`, A2D/J-HMDB COCO results .json
    mttr:        `validation_outputs/epoch_N/Annotations/...` tree or submission .zip, A2D/J-HMDB COCO .json
    locater:     per-frame dumps `<video>_<obj>_<frame>.{pth,npy,png}` (Locater's mask naming)
    """
    from lvsbench.core.options import parse_typed_options
    from lvsbench.importers import import_predictions

    ds_opts = parse_typed_options(dataset_options)
    dataset, resolved = _load_dataset(dataset_name, root, split, ds_opts)
    report = import_predictions(source, path, dataset, out, force=force, locater_key=locater_key,
                                dataset_options=ds_opts, dataset_root=resolved)
    emit(report, as_json, lambda: (
        f"{out}: imported {report['expressions']} expression(s) from {source} {report['layout']} "
        f"({report['frames']} frame(s), {report['missing']} missing); score with: lvsbench score "
        f"{report['predictions']} --dataset {dataset_name} --root {resolved}" + (f" --split {split}" if split else "")))


@click.group("adapters")
def adapters_group() -> None:
    """Adapters known to `lvsbench run` (built-in and plug-ins of the entry-point group lvsbench.adapters)."""


@adapters_group.command("list")
@json_option
def adapters_list(as_json: bool) -> None:
    """List adapters without importing them."""
    from lvsbench.adapters.registry import conflicts, entries

    items = [{"name": e.name, "source": e.source, "target": e.target} for e in entries().values()]
    warn = conflicts()

    def text() -> str:
        width = max(len(i["name"]) for i in items)
        lines = [f"{i['name']:<{width}}  {i['source']:<24}  {i['target']}" for i in items]
        return "\n".join(lines + [f"warning: {w}" for w in warn])

    emit({"adapters": items, "conflicts": warn}, as_json, text)


@adapters_group.command("info")
@click.argument("name")
@json_option
def adapters_info(name: str, as_json: bool) -> None:
    """Describe one adapter: capabilities and options (imports it)."""
    from lvsbench.adapters.registry import describe

    d = describe(name)

    def text() -> str:
        lines = [f"{d['name']} ({d['source']}: {d['target']})", f"  {d['description']}", "  capabilities:"]
        lines += [f"    {k}: {v}" for k, v in d["capabilities"].items()]
        lines.append("  options:" if d["options"] else "  options: none")
        lines += [f"    {o['name']} ({o['type']}) = {o['default']!r}" for o in d["options"]]
        return "\n".join(lines)

    emit(d, as_json, text)


commands = [run_cmd, merge_cmd, import_cmd, adapters_group]


__all__ = ["adapters_group", "adapters_info", "adapters_list", "commands", "import_cmd", "merge_cmd", "run_cmd"]
