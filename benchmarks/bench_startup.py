"""Start-up of `lvsbench score`: CPU time of fresh interpreters, this tree against a base checkout, same run.

    python benchmarks/bench_startup.py --base /tmp/base [--repeat 5]

Three measurements per tree (lowest CPU time of `--repeat` runs, user + system of the child, `getrusage`):
- `lvsbench score --help`: the CLI reaching the score command (command discovery and the command's imports);
- `import lvsbench.cli` then resolving `score`, plus importing what scoring a DAVIS-family dataset needs before its
  first frame (`lvsbench.scoring.evaluate`, the DAVIS reader, the PNG codecs);
- `python -c pass`: the interpreter alone, to subtract.
CPU time rather than wall time because the machine is shared (load printed).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "python -c pass": "pass",
    "lvsbench score --help": "from lvsbench.cli import main\ntry:\n    main(['score', '--help'])\n"
                             "except SystemExit:\n    pass",
    "score imports before the first frame": "from lvsbench.cli import cli; cli.get_command(None, 'score'); "
                                            "import lvsbench.scoring.evaluate, lvsbench.datasets.davis, "
                                            "lvsbench.core.codecs, lvsbench.metrics.functional",
}


def cpu_of(tree: Path, code: str) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # cwd = the tree: `python -c` puts the working directory first on sys.path
    subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tree, check=True,
                   stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, code in CASES.items():
        got = {}
        for label, tree in (("base", args.base), ("this", ROOT)):
            got[label] = min(cpu_of(tree, code) for _ in range(args.repeat))
        print(f"{name:<40} CPU base {got['base']:.3f} s, this {got['this']:.3f} s")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
