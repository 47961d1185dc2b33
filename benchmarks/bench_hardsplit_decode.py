"""`build-hard-split --stage all` with each source video decoded once per worker (FrameCache): this tree against a
base checkout (`git worktree add /tmp/base <commit>`) on the same synthetic A2D-Sentences test split, same run.

    python benchmarks/bench_hardsplit_decode.py --base /tmp/base --workdir /tmp/hs [--videos 700] [--workers 2]

The split is written once (`bench_hardsplit.make_synthetic_test_split`: mp4 sources as in the release). For each
tree, in a fresh interpreter with the tree on PYTHONPATH: the SRL stage first (rule-based predicates; not timed,
the same for both), then `--stage all --resume` timed. The machine is shared (load 10-15 on 2 cores), so CPU time
(user + system of the build and its worker processes, `getrusage`) is the figure compared; wall is printed too.
The script fails unless both output trees are byte-identical (`lvsbench.core.io.sha256_tree`).

Outputs are deleted after both builds, not before each: on ext4 without a journal, creating files within ~30 s of
deleting many (`recently_deleted` in inode allocation) costs kernel time that depends on what was deleted before,
not on the code, and the build writes one file per output frame. Stale outputs of an interrupted run are deleted
first, then the script waits that window out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time, warnings
from pathlib import Path
from lvsbench.hardsplit.build import BuildOptions, build
from lvsbench.core.io import sha256_tree
data, out, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
def cpu():
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    build(BuildOptions(a2d_root=data, out=out, stage="srl"))
    c0, t0 = cpu(), time.perf_counter()
    m = build(BuildOptions(a2d_root=data, out=out, stage="all", workers=workers, resume=True))
    cpu_s, wall_s = cpu() - c0, time.perf_counter() - t0
print(json.dumps({"cpu_s": cpu_s, "wall_s": wall_s, "tree": sha256_tree(out), "subsets": m["subsets"]}))
"""


def run(tree: Path, data: Path, out: Path, workers: int) -> dict:
    res = subprocess.run([sys.executable, "-c", CHILD, str(data), str(out), str(workers)], cwd=tree, check=True,
                         env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--videos", type=int, default=700)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    data = args.workdir / "a2d"
    if not (data / "Release" / "videoset.csv").is_file():
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_hardsplit import make_synthetic_test_split

        make_synthetic_test_split(data, args.videos)
    outs = [args.workdir / "out-base", args.workdir / "out-this"]
    if any(o.exists() for o in outs):
        for o in outs:
            shutil.rmtree(o, ignore_errors=True)
        time.sleep(35)  # past ext4's recently-deleted window (see the module docstring)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    base = run(args.base, data, outs[0], args.workers)
    this = run(ROOT, data, outs[1], args.workers)
    for o in outs:
        shutil.rmtree(o)
    print(f"{args.videos}-video synthetic A2D test split, --workers {args.workers}; subsets {this['subsets']}")
    for name, r in (("base", base), ("this", this)):
        print(f"{name}: build --stage all CPU {r['cpu_s']:8.1f} s, wall {r['wall_s']:8.1f} s")
    print(f"RATIO base / this: CPU x{base['cpu_s'] / this['cpu_s']:.2f}, wall x{base['wall_s'] / this['wall_s']:.2f}")
    same = base["tree"] == this["tree"]
    print(f"outputs byte-identical: {same} (sha256_tree {this['tree'][:16]}...)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not same:
        raise SystemExit("outputs differ")


if __name__ == "__main__":
    main()
