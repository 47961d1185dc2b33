"""Atomic writes, no-clobber rule, checksums, and the invariants of the core records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lvsbench.core.errors import DataFormatError, OutputExistsError, Problem, ValidationFailed
from lvsbench.core.io import (
    OUTPUT_MARKER,
    atomic_dir,
    atomic_write_json,
    atomic_write_text,
    check_overwrite,
    sha256_tree,
)
from lvsbench.core.records import Expression, Video, expression_mask, normalize_text, void_mask


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "a" / "x.txt", "hello")
    atomic_write_json(tmp_path / "a" / "y.json", {"b": 1, "a": 2})
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["x.txt", "y.json"]
    assert (tmp_path / "a" / "y.json").read_text() == '{\n  "a": 2,\n  "b": 1\n}\n'


def test_atomic_write_temp_names_modes_and_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counter-named temp file gives the mode open() gives; a name taken by an interrupted process of the same
    id falls back to mkstemp (same mode); both names are the ones `remove_interrupted_writes` clears."""
    import itertools
    import os

    from lvsbench.core import io

    (tmp_path / "ref").write_bytes(b"")
    mode = (tmp_path / "ref").stat().st_mode
    monkeypatch.setattr(io, "_TMP_SEQ", itertools.count(7))
    left = tmp_path / "d" / f".x.bin.{os.getpid()}-8.tmp"  # what a killed writer of this pid would leave
    io.atomic_write_bytes(tmp_path / "d" / "w.bin", b"1")  # creates the folder, then writes
    left.write_bytes(b"half")
    io.atomic_write_bytes(tmp_path / "d" / "x.bin", b"2")
    io.atomic_write_bytes(tmp_path / "d" / "y.bin", b"3")  # the counter-named temp file
    assert [(tmp_path / "d" / n).read_bytes() for n in ("w.bin", "x.bin", "y.bin")] == [b"1", b"2", b"3"]
    assert {(tmp_path / "d" / n).stat().st_mode for n in ("w.bin", "x.bin", "y.bin")} == {mode}
    assert sorted(q.name for q in (tmp_path / "d").iterdir()) == [left.name, "w.bin", "x.bin", "y.bin"]
    (tmp_path / io.OUTPUT_MARKER).write_text("")
    assert io.remove_interrupted_writes(tmp_path) == [left]


def test_sha256_tree_is_the_rglob_definition(tmp_path: Path) -> None:
    """sha256_tree walks with os.walk; the digest is the one of its definition over `sorted(rglob("*"))` (paths
    ordered by parts, so "a/b" before "a-b"; marker, excluded names and interrupted-write temp files skipped;
    symlinked folders not entered)."""
    import hashlib

    from lvsbench.core.io import sha256_file

    def reference(base: Path, exclude: tuple[str, ...] = ()) -> str:
        h = hashlib.sha256()
        for p in sorted(base.rglob("*")):
            skipped = p.name in exclude or p.name == OUTPUT_MARKER
            if p.is_dir() or skipped or any(part.startswith(".") and part.endswith(".tmp") for part in p.parts):
                continue
            h.update(p.relative_to(base).as_posix().encode() + b"\0")
            h.update(sha256_file(p).encode() + b"\n")
        return h.hexdigest()

    root = tmp_path / "t"
    for rel, text in [("a/b", "1"), ("a-b", "2"), ("a/c/d.png", "3"), ("a.b/x", "4"), (".hidden", "5"),
                      (OUTPUT_MARKER, "m"), ("k/.f.jpg.12-3.tmp", "half"), ("k/.d.ab12.tmp/inner", "6"),
                      ("k/keep.txt", "7"), ("k/skip.me", "8"), ("Z", "9"), ("z/a", "10")]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "k" / "empty").mkdir()
    (root / "linked").symlink_to(root / "a", target_is_directory=True)
    (root / "file-link").symlink_to(root / "Z")
    for exclude in ((), ("skip.me", "b")):
        assert sha256_tree(root, exclude) == reference(root, exclude)
    assert sha256_tree(root / "a") == reference(root / "a")


def test_atomic_dir_is_all_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as d:
            (d / "half.txt").write_text("x")
            raise RuntimeError("interrupted")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with atomic_dir(target) as d:
        (d / "f.txt").write_text("1")
    with pytest.raises(OutputExistsError, match="--force"):
        with atomic_dir(target):
            pass
    with atomic_dir(target, force=True) as d:
        (d / "g.txt").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == [OUTPUT_MARKER, "g.txt"]


def test_check_overwrite(tmp_path: Path) -> None:
    check_overwrite(tmp_path / "new", force=False)
    (tmp_path / "empty").mkdir()
    check_overwrite(tmp_path / "empty", force=False)
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputExistsError):
        check_overwrite(tmp_path / "f", force=False)
    check_overwrite(tmp_path / "f", force=True)


def test_sha256_tree_changes_with_content(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("1")
    first = sha256_tree(tmp_path)
    assert sha256_tree(tmp_path) == first
    (tmp_path / "a").write_text("2")
    assert sha256_tree(tmp_path) != first


def test_records_are_immutable_and_checked() -> None:
    v = Video("v", ["00001", "00002"], 4, 5)
    assert v.frames == ("00001", "00002") and v.num_frames == 2
    with pytest.raises(AttributeError):
        v.id = "w"  # type: ignore[misc]
    with pytest.raises(ValueError, match="duplicate"):
        Video("v", ["a", "a"], 1, 1)
    e = Expression("0", "v", "  The RED dog ", [3])
    assert e.object_ids == (3,) and e.normalized_text == normalize_text(e.text) == "the red dog"
    with pytest.raises(ValueError, match="1..254"):
        Expression("0", "v", "x", (255,))


def test_expression_mask_union_and_void() -> None:
    lab = np.array([[0, 1, 2], [2, 255, 1]], dtype=np.uint8)
    np.testing.assert_array_equal(expression_mask(lab, (1,)), lab == 1)
    np.testing.assert_array_equal(expression_mask(lab, (1, 2)), (lab == 1) | (lab == 2))
    np.testing.assert_array_equal(void_mask(lab), lab == 255)
    assert void_mask(np.zeros((2, 2), np.uint8)) is None


def test_error_messages_name_file_and_place() -> None:
    err = DataFormatError("a/b.csv", "expected 9 columns, got 4", "line 12")
    assert str(err) == "a/b.csv (line 12): expected 9 columns, got 4"
    many = ValidationFailed([Problem(f"p{i}", "bad") for i in range(60)], "check")
    assert "60 problem(s)" in str(many) and "p0: bad" in str(many) and "10 more" in str(many)


def test_remove_interrupted_writes_only_touches_atomic_temps_in_owned_folders(tmp_path) -> None:  # noqa: ANN001
    from lvsbench.core.io import mark_output_dir, remove_interrupted_writes

    run = mark_output_dir(tmp_path / "run")
    (run / "parts").mkdir()
    left = [run / ".frame_scores.csv.k2j4h1xz.tmp", run / "parts" / ".v1.json.abcd1234.tmp"]
    for p in left:
        p.write_text("partial")
    (run / ".run_parts.q9w8e7r6.tmp").mkdir()  # an interrupted atomic_dir
    keep = [run / "frame_scores.csv", run / ".notes.tmp"]
    for p in keep:
        p.write_text("user")
    removed = remove_interrupted_writes(run)
    assert len(removed) == 3 and not any(p.exists() for p in left) and all(p.exists() for p in keep)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("x")
    (foreign / ".a.b.c.tmp").write_text("x")
    assert remove_interrupted_writes(foreign) == [] and (foreign / ".a.b.c.tmp").exists()
