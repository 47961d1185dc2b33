"""Would a decode thread speed up scoring? Mask PNGs decoded by lvsbench's reader in one thread, then split over two
threads, in the same run; and the part of that decoding that releases the GIL (the zlib-ng inflate of the IDAT
stream) timed the same way.

    python benchmarks/bench_decode_thread.py [--frames 1200] [--pngs DIR]

Masks: DAVIS-like 854x480 palette PNGs with three moving ellipses, written once into a temporary folder (or every
`*.png` under `--pngs`, e.g. the `Annotations/480p` of `benchmarks/bench_peers.py`'s workload). A thread helps only
with work that releases the GIL: on a machine with a spare core, two threads take half the time of one on such work
and longer on work that holds it (the threads take turns and pay for the switches).
"""

from __future__ import annotations

import argparse
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _masks(out: Path, n: int) -> list[Path]:
    from lvsbench.formats.davis_anno import write_palette_prediction

    yy, xx = np.mgrid[:480, :854]
    paths = []
    for t in range(n):
        lab = np.zeros((480, 854), np.uint8)
        for k in range(3):
            cy, cx = 120 + 100 * k + 20 * np.sin(t / 7 + k), 150 + 250 * k + 40 * np.cos(t / 5 + k)
            lab[((yy - cy) / 60) ** 2 + ((xx - cx) / 90) ** 2 <= 1] = k + 1
        paths.append(write_palette_prediction(out, None, f"v{t // 80:03d}", f"{t % 80:05d}", lab))
    return paths


def _idat(data: bytes) -> bytes:
    """The concatenated IDAT payload (the zlib stream) of a PNG."""
    i, parts = 8, []
    while i + 8 <= len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        if data[i + 4:i + 8] == b"IDAT":
            parts.append(data[i + 8:i + 8 + n])
        i += 12 + n
    return b"".join(parts)


def _timed(fn: Callable[[bytes], object], items: list[bytes], threads: int) -> float:
    def work(part: list[bytes]) -> None:
        for x in part:
            fn(x)

    parts = [items[k::threads] for k in range(threads)]
    runners = [threading.Thread(target=work, args=(p,)) for p in parts]
    t = time.perf_counter()
    for r in runners:
        r.start()
    for r in runners:
        r.join()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=1200)
    ap.add_argument("--pngs", type=Path, help="decode the PNGs under this folder instead of generated ones")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the lowest time is kept")
    args = ap.parse_args()
    import zlib_ng.zlib_ng as zlib_ng

    from lvsbench.core.codecs import read_palette_png

    with tempfile.TemporaryDirectory() as tmp:
        paths = sorted(args.pngs.rglob("*.png"))[:args.frames] if args.pngs else _masks(Path(tmp), args.frames)
        data = [p.read_bytes() for p in paths]
    streams = [_idat(d) for d in data]
    print(f"{len(data)} mask PNGs, {sum(map(len, data)) / len(data) / 1024:.1f} KiB each on average")
    for name, fn, items in (("read_palette_png (whole decode)", read_palette_png, data),
                            ("zlib-ng inflate of the IDAT stream", zlib_ng.decompress, streams)):
        one = min(_timed(fn, items, 1) for _ in range(args.repeat))
        two = min(_timed(fn, items, 2) for _ in range(args.repeat))
        print(f"{name:<36} 1 thread {1e6 * one / len(items):6.1f} us/frame, 2 threads {1e6 * two / len(items):6.1f} "
              f"us/frame: RATIO 1 / 2 threads x{one / two:.2f}")


if __name__ == "__main__":
    main()
