"""Rebuild the synthetic DAVIS root and predictions of `davis_semi_parity.json`, and (once) produce its numbers
with the official davis2017-evaluation, imported from a checkout given on the command line (never copied here).

    python tests/data/golden/make_davis_semi_parity.py --davis2017 DIR --out davis_semi_parity.json
    python tests/data/golden/make_davis_semi_parity.py --verify tests/data/golden/davis_semi_parity.json

The ground truth is `lvsbench synth davis` (SYNTH below); the predictions are the ground truth perturbed by a seeded
generator (shifts, dropped objects, swapped ids, void painted as an object, spurious blobs, empty frames), written
as indexed PNGs `<seq>/<t:05d>.png`. `sha256` covers every file the scorers read except the JPEGs, which davis2017
only counts (their bytes depend on the JPEG encoder); `--verify` checks that a rebuild is bit-identical.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from lvsbench.core.codecs import DAVIS_PALETTE, encode_palette_png
from lvsbench.core.io import atomic_write_bytes
from lvsbench.core.records import VOID_LABEL
from lvsbench.synth.davis import ground_truth, write_synthetic
from lvsbench.synth.rdavis import plan

SYNTH = {"videos": 12, "seed": 3, "height": 64, "width": 112, "frames": 10}
PRED_SEED = 20261205
DAVIS2017_COMMIT = "ac7c43fca936f9722837b7fbd337d284ba37004b"


def _shift(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(mask)
    h, w = mask.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = mask[ys, xs]
    return out


def perturb(lab: np.ndarray, rng: np.random.Generator, swap: bool) -> np.ndarray:
    """One predicted label map from a ground-truth label map (ids 1..max of the GT, never above it)."""
    ids = [int(i) for i in np.unique(lab) if 0 < i < VOID_LABEL]
    n = max(ids, default=0)
    pred = np.zeros(lab.shape, dtype=np.uint8)
    if n == 0 or rng.random() < 0.08:
        return pred  # empty frame
    for i in ids:
        if rng.random() < 0.12:
            continue  # object missed on this frame
        m = _shift(lab == i, int(rng.integers(-3, 4)), int(rng.integers(-3, 4)))
        target = (3 - i if i in (1, 2) and n >= 2 else i) if swap else i
        pred[m] = target
    if rng.random() < 0.5:
        pred[lab == VOID_LABEL] = 1  # void is background in the semi-supervised task: a false positive
    if rng.random() < 0.3:
        y, x = int(rng.integers(0, lab.shape[0] - 6)), int(rng.integers(0, lab.shape[1] - 6))
        pred[y:y + 5, x:x + 5] = int(rng.integers(1, n + 1))
    return pred


def build(out: Path) -> tuple[Path, Path]:
    """(DAVIS root, predictions root) under `out`, bit-identical for the same SYNTH and PRED_SEED."""
    root = write_synthetic(out / "DAVIS", force=True, **SYNTH)
    preds = out / "results"
    rng = np.random.default_rng(PRED_SEED)
    for k, v in enumerate(sorted((v for v in plan(**SYNTH) if v.split == "val"), key=lambda v: v.name)):
        for t, (name, lab) in enumerate(zip(v.frame_names, ground_truth(v), strict=True)):
            pred = perturb(lab, rng, swap=(k == 1 and t % 2 == 0))
            atomic_write_bytes(preds / v.name / f"{name}.png", encode_palette_png(pred, DAVIS_PALETTE))
    return root, preds


def tree_sha256(root: Path, preds: Path) -> dict[str, str]:
    out = {}
    for base, label in ((root, "DAVIS"), (preds, "results")):
        h = hashlib.sha256()
        for p in sorted(base.rglob("*")):
            if p.is_file() and p.suffix != ".jpg" and p.name != ".lvsbench-output":  # lvsbench's output marker
                h.update(str(p.relative_to(base)).encode() + b"\0" + p.read_bytes())
        out[label] = h.hexdigest()
    return out


def official(davis2017: Path, root: Path, preds: Path) -> dict:
    """davis2017-evaluation semi-supervised on the val set, every figure at full precision."""
    sys.path.insert(0, str(davis2017))
    from davis2017.evaluation import DAVISEvaluation

    res = DAVISEvaluation(davis_root=str(root), task="semi-supervised", gt_set="val").evaluate(str(preds))
    j, f = res["J"], res["F"]
    names = list(j["M_per_object"])
    per_object = [{"sequence": n.rsplit("_", 1)[0], "object": int(n.rsplit("_", 1)[1]),
                   "J-Mean": float(j["M"][i]), "J-Recall": float(j["R"][i]), "J-Decay": float(j["D"][i]),
                   "F-Mean": float(f["M"][i]), "F-Recall": float(f["R"][i]), "F-Decay": float(f["D"][i])}
                  for i, n in enumerate(names)]
    # evaluation_method.py's global row
    glob = {"J&F-Mean": float((np.mean(j["M"]) + np.mean(f["M"])) / 2.0),
            "J-Mean": float(np.mean(j["M"])), "J-Recall": float(np.mean(j["R"])), "J-Decay": float(np.mean(j["D"])),
            "F-Mean": float(np.mean(f["M"])), "F-Recall": float(np.mean(f["R"])), "F-Decay": float(np.mean(f["D"]))}
    return {"per_object": per_object, "global": glob}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--davis2017", type=Path, help="davis2017-evaluation checkout at " + DAVIS2017_COMMIT)
    ap.add_argument("--out", type=Path, help="JSON to write")
    ap.add_argument("--verify", type=Path, help="check that a rebuild matches this JSON's sha256")
    ap.add_argument("--work", type=Path, default=Path("/tmp/davis_semi_parity"))
    a = ap.parse_args()
    root, preds = build(a.work)
    sums = tree_sha256(root, preds)
    if a.verify:
        want = json.loads(a.verify.read_text())["sha256"]
        print("ok" if want == sums else f"MISMATCH {sums} != {want}")
        sys.exit(0 if want == sums else 1)
    if not (a.davis2017 and a.out):
        ap.error("--davis2017 and --out (or --verify) are required")
    import numpy
    import scipy
    import skimage

    doc = {"source": {"repository": "davisvideochallenge/davis2017-evaluation", "commit": DAVIS2017_COMMIT,
                      "task": "semi-supervised", "set": "val",
                      "environment": {"python": sys.version.split()[0], "numpy": numpy.__version__,
                                      "scipy": scipy.__version__, "scikit-image": skimage.__version__}},
           "synth": SYNTH, "pred_seed": PRED_SEED, "sha256": sums, **official(a.davis2017, root, preds)}
    a.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {a.out}: {len(doc['per_object'])} objects, J&F-Mean {doc['global']['J&F-Mean']}")


if __name__ == "__main__":
    main()
