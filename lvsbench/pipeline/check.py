"""`lvsbench leaderboard check`: the committed leaderboards must be exactly what the runnable recipes produce.

The recipes are rebuilt into a temporary folder (recipes that cannot run here carry their committed results, as
`build` does), then every generated leaderboard (`leaderboards/*.md`, `*.csv`; `leaderboards/reported/` is input,
not output) is compared byte for byte with the committed one, and every committed `results/*.json` of a recipe that
ran must come from the same recipe and lvsbench version as the rebuilt one. Any difference (an edited number, a
stale table, a missing or extra file) is listed with a short diff, and the command exits non-zero.
"""

from __future__ import annotations

import difflib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lvsbench.pipeline.build import BuildOptions, BuildReport, build
from lvsbench.pipeline.cache import Cache


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)
    build: BuildReport | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _generated(directory: Path) -> dict[str, Path]:
    if not directory.is_dir():
        return {}
    return {p.name: p for p in sorted(directory.iterdir()) if p.is_file() and p.suffix in (".md", ".csv")}


def check(recipes_dir: Path, project: Path, cache: Cache, *, reported_dir: Path | None = None, workers: int = 1,
          progress: bool = True, max_diff_lines: int = 40) -> CheckReport:
    """Rebuild into a temporary folder and compare with `project/leaderboards` and `project/results`."""
    report = CheckReport()
    committed_lb = project / "leaderboards"
    committed_res = project / "results"
    with tempfile.TemporaryDirectory(prefix="lvsbench-check-") as tmp:
        out = Path(tmp)
        rep = build(BuildOptions(recipes_dir=recipes_dir, out=out, cache=cache,
                                 reported_dir=reported_dir if reported_dir is not None else committed_lb / "reported",
                                 carry_from=committed_res, workers=workers, progress=progress, prune=False))
        report.build = rep
        new, old = _generated(out / "leaderboards"), _generated(committed_lb)
        for name in sorted(set(new) | set(old)):
            if name not in old:
                report.problems.append(f"leaderboards/{name}: not committed (run `lvsbench leaderboard build`)")
                continue
            if name not in new:
                report.problems.append(f"leaderboards/{name}: committed but no recipe or reported file produces it")
                continue
            a, b = old[name].read_bytes(), new[name].read_bytes()
            if a != b:
                report.problems.append(f"leaderboards/{name}: differs from what the recipes produce")
                diff = difflib.unified_diff(a.decode(errors="replace").splitlines(),
                                            b.decode(errors="replace").splitlines(),
                                            f"committed/leaderboards/{name}", f"rebuilt/leaderboards/{name}",
                                            lineterm="", n=0)
                report.diffs.extend(list(diff)[:max_diff_lines])
        for o in rep.outcomes:
            if o.status not in ("computed", "cached") or o.result is None:
                continue
            p = committed_res / f"{o.recipe.name}.json"
            if not p.is_file():
                report.problems.append(f"results/{p.name}: not committed (run `lvsbench leaderboard build`)")
                continue
            try:
                doc = json.loads(p.read_text())
            except json.JSONDecodeError as exc:
                report.problems.append(f"results/{p.name}: invalid JSON ({exc})")
                continue
            old_key, new_key = doc.get("cache_key", {}), o.result.get("cache_key", {})
            for k in ("recipe_hash", "lvsbench_version"):
                if old_key.get(k) != new_key.get(k):
                    report.problems.append(f"results/{p.name}: stale ({k} {old_key.get(k)} != {new_key.get(k)})")
    return report


__all__ = ["CheckReport", "check"]
