"""Inference speed and memory of the reference models (randomly initialised weights: speed does not depend on them).

Measures, for the Locater-style model at a given preset and input size:

- frames/s of streaming inference with one video at a time in fp32 (the baseline) and with `--streams` videos
  stepped together as one batch (bf16 autocast on CUDA); the ratio batched / baseline is printed;
- peak CUDA memory while streaming 30, 100 and 300 frames (must be flat: the memories have a fixed size);
- frames/s and peak CUDA memory at 30, 100 and 300 frames of the URVOS-style model's two-stage inference (its
  memory grows with the video: the whole video is one clip).

These are lvsbench's re-implementations with randomly initialised weights, not the papers' models: the figures
say what this code costs, and are not comparable with speeds the papers report for their own networks.

Timing follows detectron2's protocol: warm-up iterations, `torch.cuda.synchronize()` around the timed region.

    python benchmarks/bench_models.py --preset paper --size 320 --streams 64 --frames 60   # on a GPU
    python benchmarks/bench_models.py --preset tiny --size 64 --device cpu --threads 2  # on a CPU
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lvsbench.models import build_model  # noqa: E402
from lvsbench.models.locater import global_indices  # noqa: E402
from lvsbench.models.train import load_recipe  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _preset(model: str, preset: str) -> dict:
    path = ROOT / "recipes" / "train" / f"{model}-{preset}.toml"
    rec = load_recipe(path, model)
    return {**rec.model_config, "vocab_size": 1000}


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _autocast(dev: torch.device, bf16: bool):
    if bf16 and dev.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def locater_fps(model, dev: torch.device, size: int, streams: int, frames: int, bf16: bool, warmup: int = 3) -> float:
    """Frames/s of `streams` videos segmented together, one frame of each per step (one expression per video)."""
    ids = torch.randint(1, 1000, (streams, 12), device=dev)
    pool = torch.randn(8, streams, 3, size, size, device=dev)  # 8 distinct frames per stream, cycled
    g = pool[:, 0][global_indices(8, model.cfg.global_frames)]
    with _autocast(dev, bf16):
        state = model.begin(ids, g)
        for t in range(warmup):
            _, state = model.step(pool[t % 8], state)
        _sync(dev)
        t0 = time.perf_counter()
        for t in range(frames):
            _, state = model.step(pool[t % 8], state)
        _sync(dev)
    return streams * frames / (time.perf_counter() - t0)


@torch.no_grad()
def locater_peak_memory(model, dev: torch.device, size: int, frames: int, bf16: bool) -> int:
    """Peak CUDA memory while streaming `frames` frames of one video (frames decoded one at a time, as the
    runner feeds them)."""
    ids = torch.randint(1, 1000, (1, 12), device=dev)
    gen = torch.Generator(device=dev).manual_seed(0)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(dev)
    with _autocast(dev, bf16):
        g = torch.randn(model.cfg.global_frames, 3, size, size, device=dev, generator=gen)
        state = model.begin(ids, g)
        for _ in range(frames):
            frame = torch.randn(3, size, size, device=dev, generator=gen)
            _, state = model.step(frame, state)
    _sync(dev)
    return int(torch.cuda.max_memory_allocated(dev))


@torch.no_grad()
def urvos_fps(model, dev: torch.device, size: int, frames: int, bf16: bool) -> float:
    ids = torch.randint(1, 1000, (1, 12), device=dev)
    x = torch.randn(frames, 3, size, size, device=dev)
    with _autocast(dev, bf16):
        model.segment_video(x[:4], ids)
        _sync(dev)
        t0 = time.perf_counter()
        model.segment_video(x, ids)
        _sync(dev)
    return frames / (time.perf_counter() - t0)


@torch.no_grad()
def urvos_peak_memory(model, dev: torch.device, size: int, frames: int, bf16: bool) -> int:
    """Peak CUDA memory of the two-stage inference over a `frames`-frame video (one expression)."""
    ids = torch.randint(1, 1000, (1, 12), device=dev)
    gen = torch.Generator(device=dev).manual_seed(0)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(dev)
    with _autocast(dev, bf16):
        x = torch.randn(frames, 3, size, size, device=dev, generator=gen)
        model.segment_video(x, ids)
    _sync(dev)
    return int(torch.cuda.max_memory_allocated(dev))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="paper", choices=["tiny", "paper"])
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--streams", type=int, default=64, help="videos stepped together in the batched measurement")
    ap.add_argument("--frames", type=int, default=60, help="frames per timed video")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--no-bf16", action="store_true")
    ap.add_argument("--memory-frames", default="30,100,300")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    torch.manual_seed(0)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    bf16 = not args.no_bf16 and dev.type == "cuda"
    loc = build_model("locater", _preset("locater", args.preset)).to(dev).eval()
    res: dict = {"device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
                 "torch": str(torch.__version__), "preset": args.preset, "size": args.size,
                 "locater_params": sum(p.numel() for p in loc.parameters())}
    base = locater_fps(loc, dev, args.size, 1, args.frames, bf16=False)
    fast = locater_fps(loc, dev, args.size, args.streams, args.frames, bf16=bf16)
    res.update({"locater_fps_1stream_fp32": round(base, 2),
                f"locater_fps_{args.streams}streams_{'bf16' if bf16 else 'fp32'}": round(fast, 2),
                "locater_speedup_vs_baseline": round(fast / base, 2)})
    if dev.type == "cuda":
        for n in [int(v) for v in args.memory_frames.split(",") if v]:
            res[f"locater_peak_mem_MiB_{n}frames"] = round(locater_peak_memory(loc, dev, args.size, n, bf16) / 2**20,
                                                           1)
    del loc
    urv = build_model("urvos", _preset("urvos", args.preset)).to(dev).eval()
    res["urvos_params"] = sum(p.numel() for p in urv.parameters())
    res[f"urvos_fps_two_stage_{'bf16' if bf16 else 'fp32'}"] = round(urvos_fps(urv, dev, args.size, args.frames,
                                                                               bf16), 2)
    if dev.type == "cuda":
        for n in [int(v) for v in args.memory_frames.split(",") if v]:
            res[f"urvos_peak_mem_MiB_{n}frames"] = round(urvos_peak_memory(urv, dev, args.size, n, bf16) / 2**20, 1)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k:40s} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
