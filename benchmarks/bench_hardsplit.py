"""Benchmark of `lvsbench build-hard-split` (A2D-S+): full build and SRL throughput.

1. **Build**: a synthetic A2D-Sentences test split of 737 videos (`lvsbench.synth.a2d`, all videos flagged test,
   mp4 frames as in the release), then `build-hard-split --stage all --workers W` with the SRL stage run
   beforehand (the build reuses it, so the timed part excludes SRL). Baseline measured in the same run: converting
   the same 737 videos to the lvsbench layout (`datasets.layout.write_dataset`: decode + encode every frame once).
2. **SRL throughput**: the native AllenNLP SRL-BERT backend at bert-base shapes (12 layers, hidden 768, 129 labels,
   30,522-entry vocabulary) with random weights, on the 1,295 real A2D test queries (heuristic predicates),
   batched; baseline: the same backend unbatched (batch size 1) on the first 100 sentences.

Usage: `python benchmarks/bench_hardsplit.py [--workdir DIR] [--videos 737] [--workers 2] [--threads 2]
[--skip-build] [--skip-srl]`. Prints the figures and the ratios; docs/benchmarks/hardsplit.md records a run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The official A2D-Sentences text files (tests/data/PROVENANCE.md): the SRL benchmark labels their 1,295 test queries.
A2D_TEXT = REPO / "tests" / "data" / "real-annotations" / "a2d_sentences"


def make_synthetic_test_split(out: Path, videos: int, seed: int = 0) -> Path:
    """A synthetic A2D-Sentences dataset whose videos are all in the test split (synth default frame sizes)."""
    from lvsbench.core.io import atomic_dir
    from lvsbench.synth.a2d import generate, write_plan

    plans = generate(videos + 1, seed)  # one video becomes a "missed" video without sentences
    for p in plans:
        p.subset = 1
    with atomic_dir(out, force=True) as tmp:
        write_plan(tmp, plans, frame_format="mp4")
    return out


def bench_build(workdir: Path, videos: int, workers: int) -> dict:
    from lvsbench.datasets.layout import write_dataset
    from lvsbench.hardsplit.build import BuildOptions, build, load_a2d

    data = workdir / "a2d"
    t0 = time.perf_counter()
    if not (data / "Release" / "videoset.csv").is_file():
        make_synthetic_test_split(data, videos)
    t_synth = time.perf_counter() - t0
    ds = load_a2d(data)
    counts = {"test_videos": len(ds.videos()), "test_queries": len(ds.expressions()),
              "source_frames": sum(v.num_frames for v in ds.videos().values())}

    t0 = time.perf_counter()
    write_dataset(ds, workdir / "converted", source="bench", default_protocol="a2d", force=True, progress=False)
    t_convert = time.perf_counter() - t0

    out = workdir / "built"
    if out.exists():
        shutil.rmtree(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        build(BuildOptions(a2d_root=data, out=out, stage="srl"))
        t_srl = time.perf_counter() - t0
        t0 = time.perf_counter()
        manifest = build(BuildOptions(a2d_root=data, out=out, stage="all", workers=workers, resume=True))
        t_build = time.perf_counter() - t0
    out_frames = 0
    for name in ("a2d-plus-m", "a2d-plus-s", "a2d-plus-t"):
        meta = json.loads((out / name / "meta_expressions.json").read_text())
        out_frames += sum(len(v["frames"]) for v in meta["videos"].values())
    return {**counts, "synth_s": round(t_synth, 1), "convert_baseline_s": round(t_convert, 1),
            "srl_stage_rules_s": round(t_srl, 1), "build_excluding_srl_s": round(t_build, 1),
            "output_frames": out_frames, "output_frames_per_s": round(out_frames / t_build, 1),
            "subsets": manifest["subsets"], "pair_coverage": manifest["pair_coverage"],
            "ratio_build_vs_convert": round(t_build / t_convert, 2)}


def _bert_base_archive(path: Path, n_labels: int = 129, seed: int = 0) -> None:
    """A random SRL-BERT archive at bert-base shapes (uncompressed tar; the loader reads any tar)."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    bert = BertModel(BertConfig(), add_pooling_layer=True)
    state = {f"bert_model.{k}": v for k, v in bert.state_dict().items()}
    state["bert_model.embeddings.position_ids"] = torch.arange(512).unsqueeze(0)
    proj = torch.nn.Linear(768, n_labels)
    state["tag_projection_layer.weight"] = proj.weight.detach()
    state["tag_projection_layer.bias"] = proj.bias.detach()
    roles = ["ARG0", "ARG1", "ARG2", "ARG3", "ARG4", "ARGM-LOC", "ARGM-TMP", "ARGM-DIR", "ARGM-MNR", "ARGM-ADV"]
    labels = ["O", "B-V", "I-V"] + [f"{p}-{r}" for r in roles for p in "BI"]
    k = 0
    while len(labels) < n_labels:
        labels += [f"B-R-X{k}", f"I-R-X{k}"]
        k += 1
    labels = labels[:n_labels]
    buf = io.BytesIO()
    torch.save(state, buf)
    config = {"dataset_reader": {"type": "srl", "bert_model_name": "bert-base-uncased"},
              "model": {"type": "srl_bert", "bert_model": "bert-base-uncased", "embedding_dropout": 0.1}}
    members = {"config.json": json.dumps(config).encode(), "weights.th": buf.getvalue(),
               "vocabulary/labels.txt": ("\n".join(labels) + "\n").encode(),
               "vocabulary/non_padded_namespaces.txt": b"*tags\n*labels\n"}
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _vocab(path: Path, words: list[str], size: int = 30522) -> None:
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    seen = set(tokens)
    for w in sorted({w.lower() for w in words}):
        if w not in seen:
            tokens.append(w)
            seen.add(w)
    i = 0
    while len(tokens) < size:
        tokens.append(f"##x{i}")
        i += 1
    path.write_text("\n".join(tokens[:size]) + "\n")


def bench_srl(workdir: Path, threads: int) -> dict:
    import torch

    from lvsbench.hardsplit.build import load_a2d
    from lvsbench.hardsplit.predicates import HeuristicPredicates, Tokenizer
    from lvsbench.hardsplit.srl.allennlp_archive import AllennlpArchiveBackend

    torch.set_num_threads(threads)
    ds = load_a2d(A2D_TEXT)
    tok, finder = Tokenizer(), HeuristicPredicates()
    sentences = [tok(e.text) for e in ds.expressions()]
    preds = [finder.find(w) for w in sentences]
    archive, vocab = workdir / "srl-bert-base-random.tar", workdir / "vocab.txt"
    _bert_base_archive(archive)
    _vocab(vocab, [w for s in sentences for w in s])
    t0 = time.perf_counter()
    backend = AllennlpArchiveBackend(archive, vocab, batch_size=32)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    backend.label(sentences, preds)
    t_batched = time.perf_counter() - t0
    n_frames = sum(len(p) for p in preds)
    backend.batch_size = 1
    t0 = time.perf_counter()
    backend.label(sentences[:100], preds[:100])
    t_single = time.perf_counter() - t0
    sps_batched = len(sentences) / t_batched
    sps_single = 100 / t_single
    return {"sentences": len(sentences), "frames": n_frames, "threads": threads, "load_s": round(t_load, 1),
            "batched32_s": round(t_batched, 1), "sentences_per_s_batched": round(sps_batched, 1),
            "frames_per_s_batched": round(n_frames / t_batched, 1),
            "sentences_per_s_unbatched": round(sps_single, 1),
            "ratio_batched_vs_unbatched": round(sps_batched / sps_single, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--videos", type=int, default=737)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--skip-srl", action="store_true")
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="lvsbench-bench-hardsplit-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report = {"load_avg_start": os.getloadavg()}
    if not args.skip_build:
        report["build"] = bench_build(workdir, args.videos, args.workers)
        print(json.dumps({"build": report["build"]}, indent=1), flush=True)
    if not args.skip_srl:
        report["srl"] = bench_srl(workdir, args.threads)
        print(json.dumps({"srl": report["srl"]}, indent=1), flush=True)
    report["load_avg_end"] = os.getloadavg()
    print(json.dumps({"load_avg": [report["load_avg_start"], report["load_avg_end"]]}))


if __name__ == "__main__":
    main()
