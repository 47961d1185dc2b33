"""`lvsbench demo`: the main job on the embedded default, end to end, with what the toolkit provides.

Stages run in order and each prints where its output is; the output folder is rebuilt with --force.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lvsbench.errors import ValidationFailed
from lvsbench.io import check_overwrite
from lvsbench.layout import LayoutWriter, validate_layout
from lvsbench.records import Expression, Video


@dataclass
class DemoReport:
    out: Path
    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)


def _toy_video(rng: np.random.Generator, vid: str, t: int = 8, h: int = 48, w: int = 64):
    """Two squares moving in opposite directions; the expressions name them by colour and motion."""
    frames = tuple(f"{i:05d}" for i in range(t))
    rgb, labels = [], {}
    for i, f in enumerate(frames):
        img = np.full((h, w, 3), 40, dtype=np.uint8)
        lab = np.zeros((h, w), dtype=np.uint8)
        x1, x2 = 4 + 4 * i, w - 16 - 4 * i
        lab[10:22, x1:x1 + 12] = 1
        lab[26:38, x2:x2 + 12] = 2
        img[lab == 1] = (220, 30, 30)
        img[lab == 2] = (30, 30, 220)
        rgb.append((f, img))
        labels[f] = lab
    exps = [Expression("0", vid, "the red square moving right", (1,)),
            Expression("1", vid, "the blue square moving left", (2,))]
    return Video(vid, frames, h, w), rgb, labels, exps


def run_demo(out: Path, force: bool = False, seed: int = 0) -> DemoReport:
    check_overwrite(out, force)
    report = DemoReport(out)
    rng = np.random.default_rng(seed)
    data = out / "toy-layout"
    writer = LayoutWriter(data, name="toy", split="test", source="lvsbench demo", force=True)
    for k in range(3):
        writer.add_video(*_toy_video(rng, f"video{k}"))
    card = writer.finish()
    report.add(f"dataset   {data}  ({card['counts']['videos']} videos, {card['counts']['expressions']} expressions)")
    problems = validate_layout(data)
    if problems:
        raise ValidationFailed(problems, "demo dataset")
    report.add(f"validate  {data}: valid")
    return report
