"""Start-up of `lvsbench score`: CPU time of fresh interpreters, this tree against a base checkout, same run.

    python benchmarks/bench_startup.py --base /tmp/base [--repeat 5] [--workdir /tmp/bench_startup]

Cases, for both trees (lowest CPU time of `--repeat` runs after one warm-up run: user + system of the child,
`getrusage`; the last column is base / this):
- `python -c pass`: the interpreter alone;
- `lvsbench score --help`: the CLI reaching the score command (command discovery and the command's imports);
- `import lvsbench.cli`, resolving `score`, then importing `lvsbench.scoring.evaluate`, the DAVIS reader, the
  codecs and `lvsbench.metrics.functional` (the measurement of the first version of this script);
- `lvsbench score <davis|a2d|mevis> until the first frame`: the real command line on a tiny synthetic dataset (written
  once into `--workdir` by this tree's `synth`: 4 videos of 4 frames, 32x48; predictions = the ground truth: `run
  oracle`, or DAVIS's own label maps with void set to 0), stopped the moment its first frame has been scored. The
  child wraps the per-frame metric kernels as their modules are imported (`FIRST_FRAME`: J/F of a mask pair, its
  closed form for an empty prediction, J/F against a shared target (MeViS family), the A2D intersection/union counts
  of masks or of RLEs; names absent from a tree are skipped) and, when the first of them returns, reads its own CPU
  time and exits: everything the command did and imported before scoring a frame (command line, dataset and
  predictions opened, validation, the first frame decoded) is counted; what it imports only afterwards (pandas for the
  result tables) is not. A child in which no kernel ran is an error, not a number. Listed below each: the heavy
  packages (`HEAVY`) each tree had imported by then, and the CPU of importing numpy, click and this tree's heavy
  packages alone (`FLOOR`: what no lazy import can save). stderr is a pipe, so there is no progress bar: in a terminal
  `lvsbench score` also imports tqdm for it.
Every case runs twice: with byte-code cached (as installed; written to `--workdir`/pycache through
PYTHONPYCACHEPREFIX, the trees are not touched) and with none written (PYTHONDONTWRITEBYTECODE=1, as in this
project's development environment: every module of the tree is compiled from source in every run).
CPU time rather than wall time because the machine is shared (load printed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "scipy", "skimage", "h5py", "torch", "cv2", "pycocotools", "PIL", "tqdm")
FLOOR = {"PIL": "PIL.Image", "pycocotools": "pycocotools.mask"}
"""What of a heavy package the floor line imports (the interpreter with numpy, click and the case's heavy packages:
what no lazy import of lvsbench can save)."""
FIRST_FRAME = {"lvsbench.metrics.functional": ("_j_f", "j_and_f_empty_prediction", "j_and_f_target"),
               "lvsbench.metrics.referring": ("_counts", "rle_counts")}
"""Module -> per-frame kernels whose first return marks the first scored frame (absent names are skipped)."""

_PROBE = r'''
import importlib.machinery, json, os, resource, sys
OUT, MARKS, HEAVY = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])

def fire():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    top = {m.split(".")[0] for m in sys.modules}
    with open(OUT, "w") as f:
        json.dump({"cpu": ru.ru_utime + ru.ru_stime, "heavy": sorted(h for h in HEAVY if h in top)}, f)
    os._exit(0)

def wrap(fn):
    def first(*a, **k):
        out = fn(*a, **k)
        fire()
        return out
    return first

class Finder:
    """Wraps the named kernels right after their module runs, before anyone imports them by name."""
    def find_spec(self, name, path=None, target=None):
        if name not in MARKS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module
        def exec_module(module):
            run(module)
            for attr in MARKS[name]:
                if hasattr(module, attr):
                    setattr(module, attr, wrap(getattr(module, attr)))
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, Finder())
from lvsbench.cli import main
main(sys.argv[4:])
'''

CASES = {
    "python -c pass": "pass",
    "lvsbench score --help": "from lvsbench.cli import main\ntry:\n    main(['score', '--help'])\n"
                             "except SystemExit:\n    pass",
    "score imports (davis entry modules)": "from lvsbench.cli import cli; cli.get_command(None, 'score'); "
                                           "import lvsbench.scoring.evaluate, lvsbench.datasets.davis, "
                                           "lvsbench.core.codecs, lvsbench.metrics.functional",
}


def cli_of_this(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "lvsbench.cli", *args], env={**os.environ, "PYTHONPATH": str(ROOT)},
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def tiny_data(work: Path) -> dict[str, list[str]]:
    """The three tiny datasets and their predictions; -> case name -> `lvsbench score` arguments."""
    size = ("--videos", "4", "--frames", "4", "--height", "32", "--width", "48", "--force")
    for name in ("davis", "a2d", "mevis"):
        if not (work / name).is_dir():
            cli_of_this("synth", name, "--out", str(work / name), *size)
    for name in ("a2d", "mevis"):
        if not (work / f"p_{name}" / "run.json").is_file():
            shutil.rmtree(work / f"p_{name}", ignore_errors=True)
            cli_of_this("run", "oracle", "--dataset", name, "--root", str(work / name), "--out",
                        str(work / f"p_{name}"))
    preds = work / "p_davis"
    if not preds.is_dir():
        anno = work / "davis" / "Annotations" / "480p"
        for vid in (work / "davis" / "ImageSets" / "2017" / "val.txt").read_text().split():
            (preds / vid).mkdir(parents=True)
            for png in sorted((anno / vid).glob("*.png")):
                im = Image.open(png)
                lab = np.array(im)
                lab[lab == 255] = 0  # void is not a prediction
                out = Image.fromarray(lab, mode="P")
                out.putpalette(im.getpalette())
                out.save(preds / vid / png.name)
    return {"davis": [str(preds), "--dataset", "davis", "--root", str(work / "davis"), "--split", "val"],
            "a2d": [str(work / "p_a2d" / "coco_results.json"), "--dataset", "a2d", "--root", str(work / "a2d")],
            "mevis": [str(work / "p_mevis"), "--dataset", "mevis", "--root", str(work / "mevis")]}


def child_env(tree: Path, pycache: Path | None) -> dict[str, str]:
    """PYTHONPATH = the tree; with `pycache`, byte-code is written to and read from there (an installed package
    has its byte-code; the trees are left untouched), else none is written (every module compiled each run)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("PYTHONPYCACHEPREFIX", None)
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def run_child(tree: Path, argv: list[str], pycache: Path | None) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # cwd = the tree: `python -c` puts the working directory first on sys.path; stderr is a pipe (no progress bar)
    done = subprocess.run([sys.executable, *argv], env=child_env(tree, pycache), cwd=tree, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"{tree}: {argv[-1] if argv[0] != '-c' else argv[1][:60]!r} failed:\n{done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def first_frame(tree: Path, args: list[str], out: Path, pycache: Path | None) -> tuple[float, list[str]]:
    """(CPU seconds, heavy packages imported) of `lvsbench score ARGS` up to its first scored frame."""
    out.unlink(missing_ok=True)
    run_child(tree, ["-c", _PROBE, str(out), json.dumps(FIRST_FRAME), json.dumps(HEAVY), "score", *args], pycache)
    if not out.is_file():
        raise SystemExit(f"{tree}: lvsbench score {' '.join(args)} finished without scoring a frame through "
                         f"{FIRST_FRAME}")
    got = json.loads(out.read_text())
    return got["cpu"], got["heavy"]


def measure(trees: tuple[tuple[str, Path], ...], data: dict[str, list[str]], work: Path, repeat: int,
            pycache: Path | None) -> None:
    """Print every case for both trees (after one warm-up run each, which fills the byte-code cache)."""
    for name, code in CASES.items():
        got = {}
        for label, tree in trees:
            run_child(tree, ["-c", code], pycache)
            got[label] = min(run_child(tree, ["-c", code], pycache) for _ in range(repeat))
        print(f"{name:<44} CPU base {got['base']:.3f} s, this {got['this']:.3f} s  x{got['base'] / got['this']:.2f}")
    for name, score_args in data.items():
        cpu, heavy = {}, {}
        for label, tree in trees:
            probe = work / f"probe_{label}.json"
            first_frame(tree, score_args, probe, pycache)
            runs = [first_frame(tree, score_args, probe, pycache) for _ in range(repeat)]
            cpu[label], heavy[label] = min(r[0] for r in runs), runs[0][1]
        print(f"{f'lvsbench score {name} until the first frame':<44} CPU base {cpu['base']:.3f} s, this "
              f"{cpu['this']:.3f} s  x{cpu['base'] / cpu['this']:.2f}")
        for label, _ in trees:
            print(f"    {label} had imported: {', '.join(heavy[label]) or '-'}")
        floor = "import " + ", ".join(["numpy", "click", *(FLOOR.get(h, h) for h in heavy["this"])])
        run_child(ROOT, ["-c", floor], pycache)
        cost = min(run_child(ROOT, ["-c", floor], pycache) for _ in range(repeat))
        print(f"    `{floor}` alone: CPU {cost:.3f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bench_startup"))
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    data = tiny_data(args.workdir)
    trees = (("base", args.base.resolve()), ("this", ROOT))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("byte-code cached (as installed):")
    measure(trees, data, args.workdir, args.repeat, args.workdir / "pycache")
    print("no byte-code written (PYTHONDONTWRITEBYTECODE=1: every module of the tree compiled in every run):")
    measure(trees, data, args.workdir, args.repeat, None)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
