"""Regenerate leaderboards/reported/a2d-plus-stats.json: the lvsbench side of the A2D-S+ statistics shown in
leaderboards/a2d.md next to Locater's Table II.

    python scripts/update_a2d_plus_stats.py --a2d-root <A2D-Sentences root> [--srl-backend rules] [--seed 0]

Runs `lvsbench build-hard-split --stage pairs` (text files only: a2d_annotation.txt, videoset.csv,
a2d_missed_videos.txt) into a temporary folder and keeps the Table II part of its stats.json. Then run
`lvsbench leaderboard build` to re-render the leaderboards.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from lvsbench.io import atomic_write_text, json_dumps_canonical
from lvsbench.leaderboard.stats_page import FORMAT, STATS_FILE

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--a2d-root", required=True, type=Path)
    ap.add_argument("--srl-backend", default="rules")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=REPO / "leaderboards" / "reported" / STATS_FILE)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="a2d-plus-stats-") as tmp:
        cmd = ["build-hard-split", "--a2d-root", "<A2D root>", "--out", "<dir>", "--stage", "pairs", "--seed",
               str(args.seed), "--srl-backend", args.srl_backend]
        run = [sys.executable, "-c", "from lvsbench.cli import main; main()", *cmd]
        run[run.index("<A2D root>")] = str(args.a2d_root)
        run[run.index("<dir>")] = str(Path(tmp) / "hs")
        subprocess.run([*run, "--no-progress"], check=True)
        stats = json.loads((Path(tmp) / "hs" / "stats.json").read_text())
        build = json.loads((Path(tmp) / "hs" / "build.json").read_text())
    doc = {"format": FORMAT, "command": "lvsbench " + " ".join(cmd), "srl_backend": build["srl"]["backend"],
           "seed": build["seed"], "lvsbench_version": build["lvsbench"], "inputs_sha256": build["inputs"],
           "projected": stats.get("projected", False), "table_ii": stats["table_ii"],
           "pair_coverage": stats.get("pair_coverage", {})}
    atomic_write_text(args.out, json_dumps_canonical(doc))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
