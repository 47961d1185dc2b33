"""Generator of malformed variants of `lvsbench synth` datasets and of their oracle predictions, and the judge of
what lvsbench does with each.

Each case copies a small synthetic root (or prediction folder), applies one mutation to one file, and runs the
commands a user would (`datasets info --check`, `layout validate`, `score`) in-process. The outcome of a command is
- `named`: exit 2 and the message names the mutated file (its name or, for a deleted file, its folder),
- `baseline`: exit 0 and the same output (check) or the same metric values (score) as the unmutated input,
- `warned`: exit 0, other metric values, and the results JSON's `warnings` name the file and how it was read (a
  MeViS / ReVOS prediction PNG in RGB, with alpha or 16-bit, read as grey exactly as the official `cv2.imread(path,
  0)` reads it, so the values are the official ones),
- `traceback`: any other exit (1: a bug) or an exception escaping the CLI,
- `silent`: exit 0 with a different result, or exit 2 that does not name the file.
The test asserts 0 tracebacks and 0 silent cases; `python -m tests.malformed` prints the totals.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from lvsbench.cli import main
from tests.malformed_native import H5, MAT, RLE_RESULTS, semantic_mutations


def invoke(args: list[str]) -> tuple[int, str]:
    """Run the CLI in-process: (exit code, stdout + stderr); an exception escaping `main` is exit code -1."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as exc:
            code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
        except BaseException as exc:  # noqa: BLE001 - a traceback is what the suite counts
            return -1, f"{type(exc).__name__}: {exc}"
    return code, out.getvalue() + err.getvalue()


# ---------------------------------------------------------------------------------------------- mutations

Mutation = Callable[[Path], None]


def _write(p: Path, data: bytes) -> None:
    if p.is_dir():
        shutil.rmtree(p)
    p.write_bytes(data)


def delete(p: Path) -> None:
    shutil.rmtree(p) if p.is_dir() else p.unlink()


def truncate(p: Path) -> None:
    _write(p, p.read_bytes()[: max(1, len(p.read_bytes()) // 2)])


def empty(p: Path) -> None:
    _write(p, b"")


def to_directory(p: Path) -> None:
    p.unlink()
    p.mkdir()
    (p / "x").write_bytes(b"x")


def garbage(p: Path) -> None:
    _write(p, b"\x00\xff garbage \x13\x37" * 7)


def cr_only(p: Path) -> None:
    _write(p, p.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))


def crlf(p: Path) -> None:
    _write(p, p.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def latin1_byte(p: Path) -> None:
    data = p.read_bytes()
    i = data.find(b"\n", len(data) // 3)
    i = len(data) // 2 if i < 0 else i
    _write(p, data[:i] + b"\xe9\xff" + data[i:])


def duplicate_line(p: Path) -> None:
    lines = p.read_bytes().splitlines(keepends=True) or [b"\n"]
    k = len(lines) - 1
    if not lines[k].endswith(b"\n"):
        lines[k] += b"\n"
    _write(p, b"".join([*lines, lines[k]]))


def replace_first_id(new: str) -> Mutation:
    """The first id-like token on the last data line becomes `new` (`../escape`, an absolute path)."""
    def apply(p: Path) -> None:
        lines = p.read_bytes().decode("latin-1").split("\n")
        k = max((i for i, ln in enumerate(lines) if ln.strip()), default=0)
        first = (lines[k].replace(",", " ").split() or [""])[0]
        lines[k] = lines[k].replace(first, new, 1) if first else new
        p.write_bytes("\n".join(lines).encode("latin-1"))
    return apply


def jpeg_as_png(p: Path) -> None:
    img = Image.open(p).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    _write(p, buf.getvalue())


def _png(arr: np.ndarray, mode: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def gray_alpha(p: Path) -> None:
    m = (np.asarray(Image.open(p)) != 0).astype(np.uint8) * 255
    m = m if m.ndim == 2 else m[..., 0]
    _write(p, _png(np.stack([np.full_like(m, 255), m], -1), "LA"))


def rgba(p: Path) -> None:
    m = (np.asarray(Image.open(p)) != 0).astype(np.uint8) * 255
    m = m if m.ndim == 2 else m[..., 0]
    full = np.full_like(m, 255)
    _write(p, _png(np.stack([full, full, full, m], -1), "RGBA"))


def wrong_size(p: Path) -> None:
    img = Image.open(p)
    _write(p, _png(np.zeros((img.height + 3, img.width + 5), np.uint8), "L" if img.mode != "P" else "P"))


def bomb_header(p: Path) -> None:
    """A PNG whose IHDR claims 20000 x 20000 pixels over a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 100)

    def chunk(t: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + t + body + struct.pack(">I", zlib.crc32(t + body))

    _write(p, b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def sixteen_bit(p: Path) -> None:
    m = (np.asarray(Image.open(p)) != 0)
    m = m if m.ndim == 2 else m[..., 0]
    buf = io.BytesIO()
    Image.fromarray(m.astype("<u2") * 65535).save(buf, format="PNG")
    _write(p, buf.getvalue())


def palette_out_of_range(p: Path) -> None:
    """A palette PNG with a 2-entry PLTE (black, white) whose pixels index entries 0 and 7: index 7 has no colour
    (libpng reads it as black, PIL as index 7)."""
    m = (np.asarray(Image.open(p)) != 0)
    m = m if m.ndim == 2 else m[..., 0]
    ihdr = struct.pack(">IIBBBBB", m.shape[1], m.shape[0], 8, 3, 0, 0, 0)
    raw = b"".join(b"\x00" + row.tobytes() for row in (m.astype(np.uint8) * 7))

    def chunk(t: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + t + body + struct.pack(">I", zlib.crc32(t + body))

    _write(p, b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"PLTE", b"\x00\x00\x00\xff\xff\xff")
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def json_mutations() -> dict[str, Mutation]:
    def edit(fn: Callable[[object], object]) -> Mutation:
        def apply(p: Path) -> None:
            p.write_text(json.dumps(fn(json.loads(p.read_text()))))
        return apply

    def dup_key(p: Path) -> None:
        text = p.read_text()
        i = text.rfind("}")
        j = text.rfind('"', 0, text.rfind(":", 0, i))
        k = text.rfind('"', 0, j)
        key = text[k:j + 1]
        _write(p, (text[:i] + f", {key}: null" + text[i:]).encode())

    return {"json-truncated": truncate, "json-empty": empty, "json-garbage": garbage, "json-dup-key": dup_key,
            "json-null": edit(lambda d: None), "json-list": edit(lambda d: [d]),
            "json-latin1": latin1_byte, "json-dir": to_directory}


TEXT_MUTATIONS: dict[str, Mutation] = {
    "delete": delete, "truncate": truncate, "empty": empty, "dir": to_directory, "garbage": garbage,
    "cr-only": cr_only, "crlf": crlf, "latin1": latin1_byte, "dup-line": duplicate_line,
    "dotdot-id": replace_first_id("../escape"),
    "absolute-id": replace_first_id("/tmp/escape"),
}
MASK_MUTATIONS: dict[str, Mutation] = {
    "delete": delete, "truncate": truncate, "empty": empty, "dir": to_directory, "garbage": garbage,
    "jpeg-as-png": jpeg_as_png, "gray-alpha": gray_alpha, "rgba": rgba, "wrong-size": wrong_size,
    "bomb-header": bomb_header,
}
FRAME_MUTATIONS: dict[str, Mutation] = {"delete": delete, "truncate": truncate, "garbage": garbage,
                                        "dir": to_directory, "bomb-header": bomb_header}
BINARY_MUTATIONS: dict[str, Mutation] = {"delete": delete, "truncate": truncate, "empty": empty, "garbage": garbage,
                                         "dir": to_directory}


# ---------------------------------------------------------------------------------------------- cases

FAITHFUL = {("reasonvos", "delete"), ("long-rvos", "delete")}
"""(fixture, mask mutation) whose changed result is the official one: ReasonVOS scores an expression on the listing
of its object's annotation folder (`eval_reason_vos.py`), so a removed ground-truth PNG is a frame less; Long-RVOS
reads a missing ground-truth PNG as an empty mask (`eval_long_rvos`). Neither is an error."""


@dataclass
class Case:
    """One mutation of one file: `target` is relative to the dataset root (kind "data") or predictions ("preds")."""

    dataset: str
    kind: str
    target: str
    mutation: str
    apply: Mutation

    @property
    def name(self) -> str:
        return f"{self.dataset}:{self.kind}:{self.target}:{self.mutation}"


@dataclass
class Fixture:
    """A synthetic dataset, its oracle predictions and the baseline outputs of the commands."""

    name: str
    reader: str
    split: str
    root: Path
    preds: Path
    check_args: list[str]
    baseline_check: str = ""
    baseline_values: dict | None = None
    pred_file: str = ""
    """The prediction file inside `preds` when the protocol reads one file (Ref-SAV's RLE json)."""
    scope: str = ""
    """The sub-folder of the root that the scored split reads (MeViS `valid_u/`, Long-RVOS `valid/`): files are
    mutated there only."""

    def score_args(self, root: Path, preds: Path) -> list[str]:
        target = preds / self.pred_file if self.pred_file else preds
        return ["score", str(target), "--dataset", self.reader, "--root", str(root), "--split", self.split, "--json"]

    def check_cmd(self, root: Path) -> list[str]:
        return [a.replace("{root}", str(root)) for a in self.check_args]


def _pick(root: Path, pattern: str, n: int = 1, base: Path | None = None) -> list[str]:
    """The first `n` files under `root` matching `pattern`, relative to `base` (default `root`)."""
    return [p.relative_to(base or root).as_posix() for p in sorted(root.glob(pattern)) if p.is_file()][:n]


def data_cases(fx: Fixture) -> Iterator[Case]:
    r = fx.root / fx.scope if fx.scope else fx.root
    texts = [p.relative_to(fx.root).as_posix() for p in sorted(r.rglob("*"))
             if p.is_file() and p.suffix in (".txt", ".csv") and not p.name.startswith(".")]
    jsons = [p.relative_to(fx.root).as_posix() for p in sorted(r.rglob("*.json")) if p.is_file()]
    for t in texts:
        for m, fn in TEXT_MUTATIONS.items():
            yield Case(fx.name, "data", t, m, fn)
    for t in jsons:
        for m, fn in {**json_mutations(), **semantic_mutations(fx.name, t)}.items():
            yield Case(fx.name, "data", t, m, fn)
    masks = (_pick(r, "**/Annotations/**/*.png", base=fx.root) or
             _pick(r, "**/Annotations/480p/*/*.png", base=fx.root))
    for t in masks:
        for m, fn in MASK_MUTATIONS.items():
            if (fx.name, m) not in FAITHFUL:
                yield Case(fx.name, "data", t, m, fn)
    for pattern, native in (("**/*.h5", H5), ("**/puppet_mask.mat", MAT), ("**/Annotations/mat/**/*.mat", {})):
        for t in _pick(r, pattern, base=fx.root):
            for m, fn in {**BINARY_MUTATIONS, **native}.items():
                yield Case(fx.name, "data", t, m, fn)
    frames = next((got for pattern in ("**/JPEGImages/**/*.jpg", "**/Rename_Images/**/*.png", "**/pngs320H/**/*.png",
                                       "**/videos/*/*.jpg") if (got := _pick(r, pattern, base=fx.root))), [])
    for t in frames:
        for m, fn in FRAME_MUTATIONS.items():
            yield Case(fx.name, "data", t, m, fn)


def pred_cases(fx: Fixture) -> Iterator[Case]:
    p = fx.preds
    masks = _pick(p, "**/*.png", 1)
    for t in masks:
        extra = {"palette-out-of-range": palette_out_of_range} if fx.name in PALETTE_CHECKED else {}
        for m, fn in {**MASK_MUTATIONS, "16-bit": sixteen_bit, **extra}.items():
            yield Case(fx.name, "preds", t, m, fn)
        yield Case(fx.name, "preds", t, "stray-file", lambda q: (q.parent / "notes.txt").write_text("x"))
        parts = t.split("/")
        video = "/".join(parts[:2] if parts[0] == "Annotations" or parts[0].startswith("anno_") else parts[:1])
        yield Case(fx.name, "preds", video, "unknown-video", _unknown_video)
    for t in _pick(p, "**/coco_results.json"):
        for m, fn in {**json_mutations(), **COCO_MUTATIONS}.items():
            yield Case(fx.name, "preds", t, m, fn)
    if fx.pred_file:
        for m, fn in {**json_mutations(), **RLE_RESULTS}.items():
            yield Case(fx.name, "preds", fx.pred_file, m, fn)
    if any(p.glob("anno_*")):
        yield Case(fx.name, "preds", "anno_0", "extra-run", _extra_run)


PALETTE_CHECKED = {"mevis", "revos", "long-rvos", "reasonvos", "ryvos", "a2d", "jhmdb", "layout"}
"""Fixtures whose prediction PNGs get the palette-index-past-the-PLTE mutation: not yet Ref-DAVIS17's annotator runs
(`anno_k/`), whose reader takes index 7 as object 7 and scores it (issue #20, left to the run-format reader)."""


def _unknown_video(q: Path) -> None:
    """`q` is a video folder of the predictions: a copy under a name the dataset does not have."""
    shutil.copytree(q, q.parent / "zz-unknown-video")


def _extra_run(q: Path) -> None:
    shutil.copytree(q, q.parent / "anno_9")


def _coco_edit(fn: Callable[[list], None]) -> Mutation:
    def apply(p: Path) -> None:
        data = json.loads(p.read_text())
        fn(data)
        p.write_text(json.dumps(data))
    return apply


def _set_seg(key: str, value: object) -> Callable[[list], None]:
    def fn(data: list) -> None:
        data[0]["segmentation"][key] = value
    return fn


def _set(key: str, value: object) -> Callable[[list], None]:
    def fn(data: list) -> None:
        data[0][key] = value
    return fn


def _short_list(data: list) -> None:
    h, w = data[0]["segmentation"]["size"]
    data[0]["segmentation"]["counts"] = [h * w - 7]


def _short_string(data: list) -> None:
    data[0]["segmentation"]["counts"] = data[0]["segmentation"]["counts"][:-2] or "0"


COCO_MUTATIONS: dict[str, Mutation] = {
    "rle-garbage": _coco_edit(_set_seg("counts", "~~garbage~~")),
    "rle-short-string": _coco_edit(_short_string),
    "rle-short-list": _coco_edit(_short_list),
    "rle-negative": _coco_edit(_set_seg("counts", [-5, 10])),
    "rle-size-str": _coco_edit(_set_seg("size", "32x48")),
    "rle-size-huge": _coco_edit(_set_seg("size", [100000, 100000])),
    "rle-counts-dict": _coco_edit(_set_seg("counts", {"a": 1})),
    "image-id-dict": _coco_edit(_set("image_id", {"x": 1})),
    "image-id-dotdot": _coco_edit(_set("image_id", "../../etc/passwd")),
    "score-nan-str": _coco_edit(_set("score", "nan")),
    "score-bool": _coco_edit(_set("score", True)),
    "no-segmentation": _coco_edit(lambda d: d[0].pop("segmentation")),
    "result-not-object": _coco_edit(lambda d: d.__setitem__(0, 7)),
}


# ---------------------------------------------------------------------------------------------- judging


def _values(out: str) -> dict | None:
    try:
        start = out.index("{")
        doc, _ = json.JSONDecoder().raw_decode(out[start:])
        return doc.get("values")
    except (ValueError, AttributeError):
        return None


def names_file(out: str, target: Path, mutation: str) -> bool:
    """The message names the mutated file (or, for a removed one, what is missing: its name or its folder)."""
    stem = target.name.rsplit(".", 1)[0]
    added = {"unknown-video": "zz-unknown-video", "extra-run": "anno_9", "stray-file": "notes.txt"}.get(mutation)
    if added is not None:
        return added in out
    if target.name in out or str(target) in out or f"{target.parent.name}/{stem}" in out:
        return True  # the path, or <video>/<frame> of a mask
    if mutation in ("delete", "dir") and (stem in out
                                                                                       or target.parent.name in out):
        return True
    return False


def _warnings(out: str) -> list[str]:
    try:
        doc, _ = json.JSONDecoder().raw_decode(out[out.index("{"):])
        return [str(w) for w in doc.get("warnings") or []]
    except (ValueError, AttributeError):
        return []


def judge(code: int, out: str, target: Path, mutation: str, baseline_ok: Callable[[str], bool]) -> str:
    if code == 2:
        return "named" if names_file(out, target, mutation) else "silent"
    if code == 0:
        if baseline_ok(out):
            return "baseline"
        return "warned" if any(str(target) in w for w in _warnings(out)) else "silent"
    return "traceback"


def run_case(case: Case, fx: Fixture, work: Path) -> list[tuple[str, str, str]]:
    """Apply `case` to a copy and run the commands; [(command, outcome, output)]."""
    root, preds = fx.root, fx.preds
    if case.kind == "data":
        root = work / "root"
        shutil.copytree(fx.root, root, symlinks=True)
    else:
        preds = work / "preds"
        shutil.copytree(fx.preds, preds, symlinks=True)
    target = (root if case.kind == "data" else preds) / case.target
    case.apply(target)
    results = []
    if case.kind == "data":
        code, out = invoke(fx.check_cmd(root))
        results.append(("check", judge(code, out, target, case.mutation,
                                       lambda o: o.replace(str(root), "{root}") == fx.baseline_check), out))
    code, out = invoke(fx.score_args(root, preds))
    results.append(("score", judge(code, out, target, case.mutation,
                                   lambda o: _values(o) == fx.baseline_values), out))
    return results


def zip_cases(fx: Fixture, work: Path) -> list[tuple[str, str, str, str]]:
    """Hostile and faithful zips of a PNG tree: (case, command, outcome, output)."""
    base = fx.preds / "Annotations" if (fx.preds / "Annotations").is_dir() else fx.preds
    files = sorted(p for p in base.rglob("*.png"))

    def make(name: str, extra: Callable[[zipfile.ZipFile], None] | None = None, skip_first: bool = False,
             compression: int = zipfile.ZIP_DEFLATED) -> Path:
        z = work / f"{name}.zip"
        with zipfile.ZipFile(z, "w", compression) as zf:
            for i, f in enumerate(files):
                if skip_first and i == 0:
                    continue
                zf.write(f, "Annotations/" + f.relative_to(base).as_posix())
            if extra:
                extra(zf)
        return z

    first = "Annotations/" + files[0].relative_to(base).as_posix()
    variants: dict[str, tuple[Path, str]] = {
        "zip-faithful": (make("faithful"), ""),
        "zip-stored": (make("stored", compression=zipfile.ZIP_STORED), ""),
        "zip-slip-dotdot": (make("slip", lambda zf: zf.writestr("Annotations/../../evil.png", b"x")), "evil.png"),
        "zip-slip-absolute": (make("abs", lambda zf: zf.writestr("/tmp/evil.png", b"x")), "evil.png"),
        "zip-backslash": (make("bs", lambda zf: zf.writestr("Annotations\\..\\evil.png", b"x")), "evil.png"),
        "zip-bomb": (make("bomb", lambda zf: zf.writestr(first.replace(".png", "b.png"), b"\0" * (200 << 20))),
                     "b.png"),
        "zip-missing-member": (make("missing", skip_first=True), files[0].stem),
        "zip-truncated": (_truncated(make("trunc")), "trunc.zip"),
    }
    out = []
    import warnings

    for name, (z, must_name) in variants.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code, text = invoke(fx.score_args(fx.root, z))
        if code == 2:
            outcome = "named" if must_name and must_name in text else "silent"
        elif code == 0:
            outcome = "baseline" if not must_name and _values(text) == fx.baseline_values else "silent"
        else:
            outcome = "traceback"
        out.append((name, "score", outcome, text))
    return out


def _truncated(z: Path) -> Path:
    data = z.read_bytes()
    z.write_bytes(data[: len(data) * 2 // 3])
    return z


def setup_fixtures(base: Path) -> list[Fixture]:
    """Small synthetic datasets of every reader, oracle predictions and the baselines."""
    fixtures = []
    specs = [("ryvos", "ryvos", "train"), ("a2d", "a2d", "test"), ("jhmdb", "jhmdb", "test"),
             ("rdavis", "rdavis", "val")]
    modern = [("mevis", "mevis", "valid_u"), ("revos", "revos", "valid"), ("refsav", "refsav", "valid"),
              ("long-rvos", "long-rvos", "valid"), ("reasonvos", "reasonvos", "test")]
    for name, reader, split in [*specs, *modern]:
        root = base / name
        code, out = invoke(["synth", name, "--out", str(root), "--videos", "2", "--frames", "4", "--height", "32",
                            "--width", "48"])
        assert code == 0, out
        fixtures.append(Fixture(name, reader, split, root, base / f"{name}-preds",
                                ["datasets", "info", reader, "--root", "{root}", "--split", split, "--check"],
                                pred_file="results.json" if name == "refsav" else "",
                                scope={"mevis": "valid_u", "long-rvos": "valid"}.get(name, "")))
    layout = base / "layout"
    code, out = invoke(["convert", "ryvos", "--root", str(base / "ryvos"), "--split", "train", "--out", str(layout)])
    assert code == 0, out
    fixtures.append(Fixture("layout", "layout", "train", layout, base / "layout-preds",
                            ["layout", "validate", "{root}"]))
    for fx in fixtures:
        code, out = invoke(["run", "oracle", "--dataset", fx.reader, "--root", str(fx.root), "--split", fx.split,
                            "--out", str(fx.preds), "--quiet"])
        assert code == 0, out
        for rec in ("run.json", "run_log.jsonl", "frame_scores.csv"):
            (fx.preds / rec).unlink(missing_ok=True)
        shutil.rmtree(fx.preds / "run_parts", ignore_errors=True)
        (fx.preds / ".lvsbench-output").unlink(missing_ok=True)
        code, out = invoke(fx.check_cmd(fx.root))
        assert code == 0, out
        fx.baseline_check = out.replace(str(fx.root), "{root}")
        code, out = invoke(fx.score_args(fx.root, fx.preds))
        assert code == 0, out
        fx.baseline_values = _values(out)
        assert fx.baseline_values, out
    return fixtures


def run_suite(base: Path) -> dict[str, list]:
    """Every case; {outcome: [(case, command, output)]}."""
    results: dict[str, list] = {"named": [], "baseline": [], "warned": [], "traceback": [], "silent": []}
    fixtures = setup_fixtures(base / "fixtures")
    n = 0
    for fx in fixtures:
        for case in [*data_cases(fx), *pred_cases(fx)]:
            n += 1
            work = base / f"case{n}"
            work.mkdir()
            for cmd, outcome, out in run_case(case, fx, work):
                results[outcome].append((case.name, cmd, out[-600:]))
            shutil.rmtree(work, ignore_errors=True)
        if fx.name in ("ryvos", "layout"):
            work = base / f"zip-{fx.name}"
            work.mkdir()
            for name, cmd, outcome, out in zip_cases(fx, work):
                n += 1
                results[outcome].append((f"{fx.name}:{name}", cmd, out[-600:]))
    results["cases"] = [n]
    return results


if __name__ == "__main__":  # pragma: no cover - prints the totals for a report
    import tempfile
    import time

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        res = run_suite(Path(d))
    runs = sum(len(res[k]) for k in ("named", "baseline", "warned", "traceback", "silent"))
    print(f"cases {res['cases'][0]}, command runs {runs}"
          f": named errors {len(res['named'])}, baseline-equal {len(res['baseline'])}, official values with a "
          f"named warning {len(res['warned'])}, tracebacks "
          f"{len(res['traceback'])}, silent differences {len(res['silent'])} ({time.perf_counter() - t0:.0f}s)")
    for k in ("traceback", "silent"):
        for c, cmd, out in res[k]:
            print(f"--- {k} {c} [{cmd}]\n{out}", file=sys.stderr)
