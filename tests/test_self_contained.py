"""The repository stands alone: a clone has nothing beside it, so no tracked file may point outside it, and every
test fixture under tests/data is accounted for in tests/data/PROVENANCE.md (source, sha256, licence)."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
# A path to a folder beside the clone, to a reference shelf's sub-folders, or the old environment variable naming it
# (spelled in pieces so that this file does not match itself).
_SHELF = "shared"
OUTSIDE = re.compile(rf"\.\./{_SHELF}|LVSBENCH_{_SHELF.upper()}|{_SHELF}/(specs|golden|data|papers)")
MAX_BYTES = 2 * 1024 * 1024


def _tracked() -> list[str]:
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout (installed package): nothing to list")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True).stdout
    return [p for p in out.decode().split("\0") if p]


def test_no_tracked_file_points_outside_the_repository() -> None:
    files = [p for p in _tracked() if not p.startswith("tests/data/") and (REPO / p).is_file()]
    assert len(files) > 100  # the listing really covers the repository
    hits = []
    for rel in files:
        text = (REPO / rel).read_bytes().decode("utf-8", errors="replace")
        hits += [f"{rel}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert not hits, "cite the public source (paper, repository at a commit) or docs/ instead:\n" + "\n".join(hits)


def test_the_pattern_catches_what_it_must() -> None:
    for bad in (f"see ../{_SHELF}/golden", f"LVSBENCH_{_SHELF.upper()}=/x", f"`{_SHELF}/specs/metrics.md` §3",
                f"{_SHELF}/data/x", f"{_SHELF}/papers/locater.txt"):
        assert OUTSIDE.search(bad), bad
    assert not OUTSIDE.search("masks shared by every expression")


def _provenance() -> dict[str, str]:
    """`file -> sha256` from the tables of tests/data/PROVENANCE.md (paths relative to the section's folder)."""
    out: dict[str, str] = {}
    folder = ""
    for line in (DATA / "PROVENANCE.md").read_text().splitlines():
        m = re.match(r"#+ .*\(`([^`]+)/`\)", line)
        if m:
            folder = m.group(1)
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0].startswith("`") and re.fullmatch(r"[0-9a-f]{64}", cells[3]):
            out[f"{folder}/{cells[0].strip('`')}"] = cells[3]
    return out


def test_every_fixture_is_listed_with_its_sha256_and_is_small() -> None:
    listed = _provenance()
    present = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*")
               if p.is_file() and p.name != "PROVENANCE.md" and "__pycache__" not in p.parts}
    assert len(present) > 20
    assert present == set(listed), f"unlisted: {sorted(present - set(listed))}; gone: {sorted(set(listed) - present)}"
    for rel, sha in sorted(listed.items()):
        data = (DATA / rel).read_bytes()
        assert len(data) <= MAX_BYTES, f"{rel}: {len(data)} bytes"
        assert hashlib.sha256(data).hexdigest() == sha, rel


def test_no_tracked_file_is_over_2_mb() -> None:
    big = [p for p in _tracked() if (REPO / p).is_file() and (REPO / p).stat().st_size > MAX_BYTES]
    assert not big
