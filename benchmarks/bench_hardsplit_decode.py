"""`build-hard-split --stage all` with each source video decoded once per worker (FrameCache): this tree against a
base checkout (`git worktree add /tmp/base <commit>`) on the same synthetic A2D-Sentences test split, same run.

    python benchmarks/bench_hardsplit_decode.py --base /tmp/base --workdir /dev/shm/hs [--videos 700] [--workers 2] \\
        [--rounds 4]

The split is written once (`bench_hardsplit.make_synthetic_test_split`: mp4 sources as in the release). For each
tree, in a fresh interpreter with the tree on PYTHONPATH: the SRL stage first (rule-based predicates; not timed,
the same for both), then `--stage all --resume` timed. The machine is shared (load 10-15 on 2 cores), so CPU time
(user + system of the build and its worker processes, `getrusage`) is the figure compared; wall is printed too.
The script fails unless both output trees are byte-identical (`lvsbench.core.io.sha256_tree`).

Put `--workdir` on a tmpfs (`/dev/shm`) to measure the code rather than the disk file system's state: on ext4 the
same 29,000 file creations of a 150-video build took 0.6 s or 4.3 s of kernel time depending on what had been deleted
shortly before (session 6), which moved the ratio between runs; on ext4 without a journal, creating files within
~30 s of deleting many (`recently_deleted` in inode allocation) costs kernel time that depends on what was deleted
before, not on the code. On tmpfs, a build run while the other build's output tree (1.3 GB) was still held took 4 s
more kernel time (session 6). So each build's output is deleted right after it is hashed, and the script waits
`--settle` seconds before the next build; with `--rounds N` the two builds alternate which runs first and the
medians are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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
    ap.add_argument("--settle", type=float, default=35.0, help="seconds to wait after deleting an output tree")
    ap.add_argument("--rounds", type=int, default=1, help="rounds of both builds, alternating which runs first")
    args = ap.parse_args()
    data = args.workdir / "a2d"
    if not (data / "Release" / "videoset.csv").is_file():
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_hardsplit import make_synthetic_test_split

        make_synthetic_test_split(data, args.videos)
    outs = {"base": args.workdir / "out-base", "this": args.workdir / "out-this"}
    trees = {"base": args.base, "this": ROOT}
    if any(o.exists() for o in outs.values()):
        for o in outs.values():
            shutil.rmtree(o, ignore_errors=True)
        time.sleep(35)  # past ext4's recently-deleted window (see the module docstring)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs: dict[str, list[dict]] = {"base": [], "this": []}
    for k in range(args.rounds):
        for name in ("base", "this") if k % 2 == 0 else ("this", "base"):  # interleaved: neither always first
            runs[name].append(run(trees[name], data, outs[name], args.workers))
            shutil.rmtree(outs[name])  # each build starts with no output tree held and no recent deletion
            time.sleep(args.settle)
    this = runs["this"][-1]
    print(f"{args.videos}-video synthetic A2D test split, --workers {args.workers}; subsets {this['subsets']}")
    for k in range(args.rounds):
        b, t = runs["base"][k], runs["this"][k]
        first = "base" if k % 2 == 0 else "this"
        print(f"round {k + 1} ({first} first): base CPU {b['cpu_s']:6.1f} s wall {b['wall_s']:5.1f} s | this CPU "
              f"{t['cpu_s']:6.1f} s wall {t['wall_s']:5.1f} s | RATIO CPU x{b['cpu_s'] / t['cpu_s']:.2f}, wall "
              f"x{b['wall_s'] / t['wall_s']:.2f}")
    med = {name: {key: statistics.median(r[key] for r in rs) for key in ("cpu_s", "wall_s")}
           for name, rs in runs.items()}
    b, t = med["base"], med["this"]
    print(f"RATIO base / this (medians of {args.rounds} rounds): CPU x{b['cpu_s'] / t['cpu_s']:.2f}, "
          f"wall x{b['wall_s'] / t['wall_s']:.2f}")
    digests = {r["tree"] for rs in runs.values() for r in rs}
    same = len(digests) == 1
    print(f"outputs byte-identical: {same} (sha256_tree {this['tree'][:16]}...)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not same:
        raise SystemExit("outputs differ")


if __name__ == "__main__":
    main()
