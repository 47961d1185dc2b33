"""DAVIS 2016/2017 semi-supervised: the reader on the release layout, `lvsbench synth davis`, bit-exact parity of
`lvsbench score --dataset davis` with davis2017-evaluation (numbers in tests/data/golden/davis_semi_parity.json,
produced once by the official code; see tests/data/PROVENANCE.md), and the davis-semi annotation-set trap on a
Ref-DAVIS root (CLI and Python API)."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lvsbench.cli import cli, main
from lvsbench.core.codecs import DAVIS_PALETTE, encode_palette_png, read_palette_png
from lvsbench.core.errors import ConfigError, DataFormatError
from lvsbench.core.io import sha256_tree
from lvsbench.datasets.davis import DAVISDataset
from lvsbench.datasets.rdavis import RDAVISDataset
from lvsbench.datasets.registry import load
from lvsbench.formats.davis_anno import write_palette_prediction
from lvsbench.scoring import score
from lvsbench.synth.davis import ground_truth, write_synthetic
from lvsbench.synth.rdavis import plan

GOLDEN = Path(__file__).parent / "data" / "golden"
SMALL = {"videos": 6, "seed": 1, "height": 40, "width": 64, "frames": 7}


def _generator():
    spec = importlib.util.spec_from_file_location("make_davis_semi_parity", GOLDEN / "make_davis_semi_parity.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic(tmp_path_factory.mktemp("davis") / "DAVIS", **SMALL)


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


# ---------------------------------------------------------------------------------------------- reader + synth


def test_reader_round_trip_and_counts(synth: Path) -> None:
    truth = {v.name: v for v in plan(**SMALL)}
    for split in ("train", "val"):
        ds = DAVISDataset(synth, split)
        names = sorted(n for n, v in truth.items() if v.split == split)
        assert list(ds.videos()) == names and ds.expressions() == []
        for vid in names:
            gt = ground_truth(truth[vid])
            assert ds.videos()[vid].frames == truth[vid].frame_names
            for i, f in enumerate(ds.annotated_frames(vid)):
                np.testing.assert_array_equal(ds.read_labels(vid, f), gt[i])
        assert ds.counts() == {"videos": len(names), "frames": SMALL["frames"] * len(names),
                               "annotated_frames": SMALL["frames"] * len(names)}
    assert any((lab == 255).any() for lab in ground_truth(truth["bear"]))  # the void band is there
    assert load("davis", synth).split == "val"


def test_synth_is_deterministic_and_official_layout(synth: Path, tmp_path: Path) -> None:
    again = write_synthetic(tmp_path / "again", **SMALL)
    assert sha256_tree(again) == sha256_tree(synth)
    assert (synth / "ImageSets" / "2017" / "val.txt").read_text().endswith("\n")
    assert set((synth / "ImageSets").iterdir()) == {synth / "ImageSets" / "2016", synth / "ImageSets" / "2017"}
    png = next((synth / "Annotations" / "480p" / "bear").glob("*.png"))
    assert read_palette_png(png).dtype == np.uint8  # indexed PNG, DAVIS palette


def test_only_the_evaluated_image_set_is_required(synth: Path, tmp_path: Path) -> None:
    root = tmp_path / "DAVIS"
    shutil.copytree(synth, root)
    (root / "ImageSets" / "2017" / "train.txt").unlink()
    assert len(DAVISDataset(root, "val").videos()) == 2
    with pytest.raises(DataFormatError, match="sequence list") as exc:
        DAVISDataset(root, "train")
    assert exc.value.path == root / "ImageSets" / "2017" / "train.txt"
    # metadata-only: ImageSets alone gives counts and lists what is missing
    meta = tmp_path / "meta"
    shutil.copytree(synth / "ImageSets", meta / "DAVIS" / "ImageSets")
    ds = DAVISDataset(meta, "val")
    assert ds.counts() == {"videos": 2, "frames": 0, "annotated_frames": 0}
    assert {Path(p.path).parent.name for p in ds.missing()} == {"JPEGImages", "Annotations"}


def test_year_2016_is_single_object(synth: Path) -> None:
    ds = DAVISDataset(synth, "val", year=2016)
    assert list(ds.videos()) == (synth / "ImageSets" / "2016" / "val.txt").read_text().split()
    vid = next(iter(ds.videos()))
    raw = read_palette_png(synth / "Annotations" / "480p" / vid / "00001.png")
    np.testing.assert_array_equal(ds.read_labels(vid, "00001"), (raw > 0).astype(np.uint8))
    with pytest.raises(ConfigError, match="year"):
        DAVISDataset(synth, "val", year=2018)


def test_cli_synth_info_check(tmp_path: Path) -> None:
    root = tmp_path / "d"
    _cli("synth", "davis", "--out", str(root), "--videos", "3", "--frames", "4", "--height", "32", "--width", "48")
    info = json.loads(_cli("datasets", "info", "davis", "--root", str(root), "--check", "--json"))
    assert info["splits"]["val"] == {"counts": {"videos": 1, "frames": 4, "annotated_frames": 4}, "missing": [],
                                     "problems": []}
    listed = json.loads(_cli("datasets", "list", "--json"))
    assert {"name": "davis", "default_protocol": "davis-semi"}.items() <= next(
        d for d in listed if d["name"] == "davis").items()


# ---------------------------------------------------------------------------------------------- official parity


def test_davis_semi_equals_davis2017_evaluation(tmp_path: Path) -> None:
    """`lvsbench score --dataset davis` == davis2017-evaluation @ac7c43f semi-supervised, per object and global."""
    gen = _generator()
    ref = json.loads((GOLDEN / "davis_semi_parity.json").read_text())
    root, preds = gen.build(tmp_path)
    assert gen.tree_sha256(root, preds) == ref["sha256"], "the generator no longer rebuilds the golden inputs"
    out = tmp_path / "r.json"
    _cli("score", str(preds), "--dataset", "davis", "--root", str(root), "--out", str(out), "--decay", "compat")
    assert json.loads(out.read_text())["values"] == ref["global"]
    res = score(preds, DAVISDataset(root))  # Python API, default decay (fixed == compat below 256 frames)
    assert res.values == ref["global"]
    rows = res.per_sample.to_dict(orient="records")
    assert len(rows) == len(ref["per_object"]) == 11
    for row, want in zip(rows, ref["per_object"], strict=True):
        assert (row["video_id"], row["object_id"]) == (want["sequence"], want["object"])
        for k in ("J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"):
            assert row[k] == want[k], (want["sequence"], want["object"], k)


# ---------------------------------------------------------------------------------------------- the davis-semi trap


@pytest.fixture(scope="module")
def refdavis(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A Ref-DAVIS root whose unsupervised masks differ from the semi-supervised ones (all objects merged into
    id 1, as unsupervised annotations group instances), and oracle predictions of the semi-supervised masks."""
    from lvsbench.synth.rdavis import write_synthetic as write_rdavis

    base = tmp_path_factory.mktemp("refdavis")
    root = write_rdavis(base / "ref-davis", videos=6, seed=4, height=40, width=64, frames=6)
    unsup = root / "DAVIS" / "Annotations_unsupervised" / "480p"
    for png in unsup.rglob("*.png"):
        lab = read_palette_png(png)
        png.write_bytes(encode_palette_png(np.where((lab > 0) & (lab < 255), 1, lab).astype(np.uint8),
                                           DAVIS_PALETTE))
    semi = RDAVISDataset(root, annotations="semi")
    preds = base / "preds"
    for vid in semi.videos():
        for f in semi.annotated_frames(vid):
            write_palette_prediction(preds, None, vid, f, semi.read_labels(vid, f))
    return root, preds


def test_davis_semi_reads_the_semi_annotations_python_api(refdavis: tuple[Path, Path]) -> None:
    root, preds = refdavis
    explicit = score(preds, RDAVISDataset(root, annotations="semi"), "davis-semi").values
    assert explicit["J&F-Mean"] == 1.0
    implicit = score(preds, RDAVISDataset(root), "davis-semi")
    assert implicit.values == explicit and implicit.results["dataset"]["annotations"] == "semi"
    unsup = score(preds, RDAVISDataset(root), "rdavis")  # reads the (merged) unsupervised set: other numbers
    assert unsup.values["J&F-Mean"] < 1.0 and unsup.results["dataset"]["annotations"] == "unsupervised"
    with pytest.raises(ConfigError, match="davis-semi is defined on the 'semi' annotations"):
        score(preds, RDAVISDataset(root, annotations="unsupervised"), "davis-semi")
    with pytest.raises(ConfigError, match="rdavis is defined on the 'unsupervised' annotations"):
        score(preds, RDAVISDataset(root, annotations="semi"), "rdavis")


def test_davis_semi_trap_cli(refdavis: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    root, preds = refdavis
    base = ["score", str(preds), "--dataset", "rdavis", "--root", str(root), "--protocol", "davis-semi"]
    out = _cli(*base, "--json")
    doc = json.loads(out)
    assert doc["values"]["J&F-Mean"] == 1.0 and doc["dataset"]["annotations"] == "semi"
    assert doc["options"]["decay"] == "fixed"
    table = _cli(*base)
    assert "decay fixed; annotations semi" in table
    with pytest.raises(SystemExit) as exc:  # the real entry point: user error -> exit 2 with the fix
        main([*base, "--dataset-option", "annotations=unsupervised"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "protocol davis-semi is defined on the 'semi' annotations" in err and "annotations=semi" in err


def test_converted_layout_remembers_its_annotation_set(refdavis: tuple[Path, Path], tmp_path: Path) -> None:
    from lvsbench.datasets.layout import LayoutDataset
    from lvsbench.datasets.registry import convert_dataset

    root, preds = refdavis
    convert_dataset("rdavis", root, tmp_path / "unsup")
    with pytest.raises(ConfigError, match="convert again with -o annotations=semi"):
        score(preds, LayoutDataset(tmp_path / "unsup"), "davis-semi")
    convert_dataset("rdavis", root, tmp_path / "semi", annotations="semi")
    assert score(preds, LayoutDataset(tmp_path / "semi"), "davis-semi").values["J&F-Mean"] == 1.0
