"""`lvsbench datasets list|info`: which datasets lvsbench reads, and what a root holds."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lvsbench.cli.common import emit, json_option
from lvsbench.core.errors import Problem, ValidationFailed

option_option = click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE",
                             help="Reader option, repeatable (e.g. -o frames=mp4, -o annotator=0).")


@click.group("datasets")
def datasets_group() -> None:
    """Native dataset readers: list them, count and check a root."""


@datasets_group.command("list")
@json_option
def list_cmd(as_json: bool) -> None:
    """List the datasets, their splits, default split and default scoring protocol, and where roots come from."""
    from lvsbench.datasets.registry import DATASETS, env_var

    payload = [{"name": s.name, "title": s.title, "splits": list(s.splits), "default_split": s.default_split,
                "default_protocol": s.default_protocol, "root_env": env_var(s.name)} for s in DATASETS.values()]

    def text() -> str:
        lines = [f"{p['name']:<7} {p['title']}\n        splits: {', '.join(p['splits'])} (default "
                 f"{p['default_split']}); protocol: {p['default_protocol']}; root: --root or ${p['root_env']}"
                 for p in payload]
        lines.append("layout  any dataset in the lvsbench layout (meta_expressions.json + lvsbench.json)")
        return "\n".join(lines)

    emit(payload, as_json, text)


def _format_info(info: dict) -> str:
    lines = [f"{info['dataset']} at {info['root']}"]
    for split, entry in info["splits"].items():
        if "error" in entry:
            lines.append(f"  {split}: unavailable: {entry['error']}")
            continue
        counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in entry["counts"].items())
        lines.append(f"  {split}: {counts}")
        for note in entry.get("notes", []):
            lines.append(f"    note: {note}")
        if entry["missing"]:
            lines.append("    missing:")
            lines.extend(f"      {m['path']}: {m['message']}" for m in entry["missing"])
        if "problems" in entry:
            n = len(entry["problems"])
            lines.append(f"    check: {'ok' if n == 0 else f'{n} problem(s)'}")
            lines.extend(f"      {p['path']}: {p['message']}" for p in entry["problems"])
    return "\n".join(lines)


@datasets_group.command("info")
@click.argument("name")
@click.option("--root", type=click.Path(path_type=Path), default=None,
              help="Dataset root (else $LVSBENCH_<NAME>_ROOT, else [roots] in the config file).")
@click.option("--split", default=None, help="One split (default: the dataset's main splits).")
@click.option("--check", is_flag=True, help="Decode every frame and mask and list all problems (exit 2 if any).")
@option_option
@json_option
def info_cmd(name: str, root: Path | None, split: str | None, check: bool, options: tuple[str, ...],
             as_json: bool) -> None:
    """Videos, expressions and annotated frames per split of dataset NAME, and what is missing.

    Works with only the text files present (metadata-only mode); then the missing frame and mask folders are
    listed. NAME is a built-in dataset (a2d, jhmdb, ryvos, rdavis, davis, mevis, revos, refsav, long-rvos,
    reasonvos), layout, or any name whose root is in the lvsbench layout.
    """
    from lvsbench.datasets.registry import dataset_info, parse_options

    info = dataset_info(name, root, split, check=check, progress=check and sys.stderr.isatty(),
                        **parse_options(options))
    problems = [Problem(p["path"], p["message"]) for e in info["splits"].values() for p in e.get("problems", [])]
    info["next"] = nxt = (f"next: lvsbench run oracle --dataset {name} --root {info['root']} --out PREDS (the "
                          "harness self-check), then lvsbench score PREDS with the same --dataset and --root")
    if check and problems:
        exc = ValidationFailed(problems, f"datasets info --check {name}")
        exc.payload = info  # with --json, the counts travel inside the one JSON error object
        if not as_json:
            click.echo(_format_info(info))
        raise exc
    emit(info, as_json, lambda: f"{_format_info(info)}\n{nxt}")


commands = [datasets_group]


__all__ = ["commands", "datasets_group", "info_cmd", "list_cmd", "option_option"]
