"""Non-blank lines of Python per package of `lvsbench/` at two git revisions, as a Markdown table (issue #13).

A package is the first folder under `lvsbench/` (`lvsbench/protocols.py` and `lvsbench/importers.py` count as
packages of their own, `lvsbench/__init__.py` as "(root)"). The layout commit moved modules between packages
(`lvsbench/runner.py` -> `lvsbench/run/runner.py`, `lvsbench/commands/` -> `lvsbench/cli/`, ...), so by default
every file of the BEFORE revision is counted in the package it moved to, by git's rename detection over the
`--moves` range (the pure-move commit, where every rename is detected); a deleted `__init__.py` goes where the
rest of its folder went; a file without a counterpart in `lvsbench/` (e.g. `scoring/testing.py`, now
`tests/scoring_helpers.py`) stays in its old package.
`--old-location` counts BEFORE by where its files were instead.

    python scripts/loc_by_package.py                      # facc2d7 (before the redesign) vs HEAD
    python scripts/loc_by_package.py --after h4 --old-location
"""

from __future__ import annotations

import argparse
import subprocess
from collections import Counter
from pathlib import Path

__all__ = ["count", "main", "moves", "package_of"]

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "facc2d7"
MOVES = "facc2d7..6830a91"


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout


def package_of(path: str) -> str:
    """`lvsbench/run/runner.py` -> `run`; `lvsbench/protocols.py` -> `protocols`; `lvsbench/__init__.py` ->
    `(root)`."""
    parts = path.split("/")[1:]
    if len(parts) > 1:
        return parts[0]
    return "(root)" if parts[0] == "__init__.py" else parts[0].removesuffix(".py")


def files(rev: str) -> list[tuple[str, str]]:
    """(path, blob id) of every `.py` file under `lvsbench/` at `rev`."""
    out = []
    for line in _git("ls-tree", "-r", rev, "--", "lvsbench/").decode().splitlines():
        meta, path = line.split("\t", 1)
        if path.endswith(".py"):
            out.append((path, meta.split()[2]))
    return out


def nonblank_lines(blobs: list[str]) -> list[int]:
    """Non-blank lines of each blob (one `git cat-file --batch` for all)."""
    data = _git_batch(blobs)
    out = []
    pos = 0
    for _ in blobs:
        header_end = data.index(b"\n", pos)
        size = int(data[pos:header_end].split()[2])
        body = data[header_end + 1: header_end + 1 + size]
        out.append(sum(1 for line in body.splitlines() if line.strip()))
        pos = header_end + 1 + size + 1
    return out


def _git_batch(blobs: list[str]) -> bytes:
    return subprocess.run(["git", "cat-file", "--batch"], cwd=ROOT, check=True, capture_output=True,
                          input="".join(f"{b}\n" for b in blobs).encode()).stdout


def moves(span: str) -> dict[str, str]:
    """Old path -> new path of every rename under `lvsbench/` in the commit range `span` (A..B); a deleted
    `__init__.py` maps to ""."""
    a, b = span.split("..", 1)
    raw = _git("diff", "-M", "--name-status", "-z", a, b, "--", "lvsbench/").decode().split("\0")
    out = {}
    i = 0
    while i < len(raw) - 1:
        status = raw[i]
        if status.startswith(("R", "C")):
            if raw[i + 2].startswith("lvsbench/"):
                out[raw[i + 1]] = raw[i + 2]
            i += 3
        else:
            if status == "D" and raw[i + 1].endswith("/__init__.py"):
                out[raw[i + 1]] = ""  # deleted package marker: `_new_package` places it by its folder
            i += 2
    return out


def _new_package(path: str, renames: dict[str, str]) -> str:
    """Package a file of the old revision belongs to now: that of its renamed path; for a file without one (a
    deleted `__init__.py`), the one package all moved files of its folder went to; else its old package."""
    new = renames.get(path)
    if new:
        return package_of(new)
    if new == "":
        folder = path.rsplit("/", 1)[0] + "/"
        went = {package_of(n) for o, n in renames.items() if n and o.rsplit("/", 1)[0] + "/" == folder}
        if len(went) == 1:
            return went.pop()
    return package_of(path)


def count(rev: str, renames: dict[str, str] | None = None) -> tuple[Counter[str], Counter[str]]:
    """(lines, files) per package at `rev`; with `renames`, each file counts in the package it moved to."""
    entries = files(rev)
    lines: Counter[str] = Counter()
    nfiles: Counter[str] = Counter()
    for (path, _), n in zip(entries, nonblank_lines([blob for _, blob in entries]), strict=True):
        pkg = package_of(path) if renames is None else _new_package(path, renames)
        lines[pkg] += n
        nfiles[pkg] += 1
    return lines, nfiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help=f"old revision (default {BEFORE}, before the redesign)")
    parser.add_argument("--after", default="HEAD", help="new revision (default HEAD)")
    parser.add_argument("--moves", default=MOVES, help=f"commit range whose renames map old files (default {MOVES})")
    parser.add_argument("--old-location", action="store_true", help="count BEFORE by where its files were")
    args = parser.parse_args()
    before, before_files = count(args.before, None if args.old_location else moves(args.moves))
    after, after_files = count(args.after)
    print(f"Non-blank lines of `.py` per package of `lvsbench/` (files in brackets): {args.before} -> {args.after}"
          + ("" if args.old_location else f"; {args.before} counted by where its files are after {args.moves}"))
    print()
    print("| package | before | after | change |")
    print("|---|---:|---:|---:|")
    for pkg in sorted(set(before) | set(after)):
        b, a = before[pkg], after[pkg]
        pct = f" ({(a - b) / b:+.1%})" if b else ""
        print(f"| {pkg} | {b} ({before_files[pkg]}) | {a} ({after_files[pkg]}) | {a - b:+d}{pct} |")
    b, a = sum(before.values()), sum(after.values())
    print(f"| **total** | **{b}** ({sum(before_files.values())}) | **{a}** ({sum(after_files.values())}) | "
          f"**{a - b:+d}** ({(a - b) / b:+.1%}) |")


if __name__ == "__main__":
    main()
