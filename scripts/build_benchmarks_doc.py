"""Rebuild docs/benchmarks.md: docs/benchmarks/_summary.md (title, conditions, summary table), then every section
file docs/benchmarks/*.md with its headings moved one level down.

Edit the section files and the summary, then run `python scripts/build_benchmarks_doc.py`.
"""

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
ORDER = ["metrics", "decoding", "scoring", "datasets-a2d", "hardsplit", "runner", "leaderboards", "models"]


def main() -> None:
    sections = {p.stem: p for p in (DOCS / "benchmarks").glob("*.md") if not p.stem.startswith("_")}
    parts = [(DOCS / "benchmarks" / "_summary.md").read_text()]
    for name in ORDER + sorted(set(sections) - set(ORDER)):
        if name in sections:
            lines = sections[name].read_text().strip().splitlines()
            parts.append("\n".join("#" + line if line.startswith("#") else line for line in lines) + "\n")
    out = DOCS / "benchmarks.md"
    out.write_text("\n".join(parts))
    print("wrote", out, "from", sorted(sections))


if __name__ == "__main__":
    main()
