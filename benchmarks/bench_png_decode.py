"""Mask PNG decoding: lvsbench's direct-inflate path vs the general decoders, measured in the same run.

Workload: DAVIS-like 480x854 label maps (1-3 filled, rotating ellipses per frame, ids 1..3), written three ways:
- `davis`: palette PNG, filter type None on every row (the layout of the DAVIS / YouTube-VOS annotation releases);
- `opencv`: 8-bit grayscale written by `cv2.imwrite` (filter Sub on every row; common for predictions);
- `pillow`: palette PNG written by Pillow (adaptive filters; rows with Paeth fall back to the general decoder).

Decoders, each on the same bytes already in memory (file reading is not what differs): Pillow (`Image.open` +
`np.asarray`), OpenCV (`cv2.imdecode`, palette relabelled as grayscale: lvsbench's previous fast path), and
`core.png_decode.decode_png_fast` (direct inflate with zlib-ng when installed, else zlib; falls back to OpenCV).
Every decoder's output is checked equal to Pillow's before timing.

    python benchmarks/bench_png_decode.py            # 200 frames per layout
    python benchmarks/bench_png_decode.py --frames 40
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lvsbench.core import codecs, png_decode  # noqa: E402


def _frames(n: int, shape: tuple[int, int] = (480, 854)) -> list[np.ndarray]:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    out = []
    for t in range(n):
        lab = np.zeros(shape, np.uint8)
        for k in range(1, 1 + (t % 3) + 1):
            cy, cx = 120 + 80 * k + 20 * math.sin(t / 7 + k), 150 + 200 * k + 30 * math.cos(t / 5)
            th = t / 11 + k
            u = (xx - cx) * math.cos(th) + (yy - cy) * math.sin(th)
            v = -(xx - cx) * math.sin(th) + (yy - cy) * math.cos(th)
            lab[(u / (60 + 10 * k)) ** 2 + (v / (40 + 5 * k)) ** 2 <= 1] = k
        out.append(lab)
    return out


def _filter0_palette(lab: np.ndarray) -> bytes:
    import struct

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    h, w = lab.shape
    raw = np.zeros((h, w + 1), np.uint8)
    raw[:, 1:] = lab
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
            + chunk(b"PLTE", codecs.DAVIS_PALETTE.tobytes()) + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
            + chunk(b"IEND", b""))


def _pillow(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def _opencv(data: bytes) -> np.ndarray:
    if png_decode.png_colour_type(data) == 3:
        data = png_decode._palette_as_grayscale(data)  # noqa: SLF001 - lvsbench's previous path, for comparison
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def _time(fn, items: list[bytes], repeats: int) -> float:  # noqa: ANN001
    best = math.inf
    for _ in range(repeats):
        t0 = time.process_time()
        for d in items:
            fn(d)
        best = min(best, time.process_time() - t0)
    return best / len(items) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    labs = _frames(args.frames)
    layouts = {"davis": [_filter0_palette(x) for x in labs],
               "opencv": [cv2.imencode(".png", x)[1].tobytes() for x in labs],
               "pillow": [codecs.encode_palette_png(x) for x in labs]}
    print(f"inflate: {png_decode._INFLATE.__name__}; {args.frames} frames of 480x854 per layout; "  # noqa: SLF001
          f"CPU ms per frame, best of {args.repeats}")
    print(f"{'layout':<8} {'pillow':>8} {'opencv':>8} {'lvsbench':>9} {'x pillow':>9} {'x opencv':>9}")
    for name, items in layouts.items():
        for d, lab in zip(items, labs, strict=True):
            ref = _pillow(d)
            assert np.array_equal(ref, lab) and np.array_equal(_opencv(d), ref)
            assert np.array_equal(png_decode.decode_png_fast(d), ref)
        fast_hits = sum(png_decode.decode_png_inflate(d) is not None for d in items)
        tp, to, tl = (_time(f, items, args.repeats) for f in (_pillow, _opencv, png_decode.decode_png_fast))
        print(f"{name:<8} {tp:8.3f} {to:8.3f} {tl:9.3f} {tp / tl:8.1f}x {to / tl:8.1f}x"
              f"   (direct inflate on {fast_hits}/{len(items)} frames)")


if __name__ == "__main__":
    main()
