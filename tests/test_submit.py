"""`lvsbench submit ryvos`: completeness against the valid meta, binary, right size, server layout; and the ryvos
protocol on the native reader's held-out train split."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lvsbench.cli import main
from lvsbench.core.errors import OutputExistsError, ValidationFailed
from lvsbench.core.records import expression_mask
from lvsbench.datasets.registry import load
from lvsbench.formats.png_tree import write_png_prediction
from lvsbench.formats.submit import build_ryvos_submission
from lvsbench.scoring import score


@pytest.fixture(scope="module")
def ryvos_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lvsbench.synth.ryvos import write_synthetic

    return write_synthetic(tmp_path_factory.mktemp("ryvos") / "root", videos=6, seed=0, height=36, width=64)


def _write_all(ds, out: Path) -> int:  # noqa: ANN001
    n = 0
    for e in ds.expressions():
        v = ds.videos()[e.video_id]
        for f in e.frames or v.frames:
            m = np.zeros((v.height, v.width), bool)
            m[: 1 + n % v.height, :5] = True
            write_png_prediction(out, e.video_id, e.id, f, m)
            n += 1
    return n


def test_complete_submission_zip_layout(ryvos_root: Path, tmp_path: Path) -> None:
    ds = load("ryvos", ryvos_root, "valid")
    n = _write_all(ds, tmp_path / "preds")
    rep = build_ryvos_submission(tmp_path / "preds", ds, tmp_path / "sub.zip")
    assert rep.files == n and rep.expressions == len(ds.expressions()) and rep.reencoded == 0
    with zipfile.ZipFile(tmp_path / "sub.zip") as zf:
        names = sorted(zf.namelist())
        assert len(names) == n and all(x.startswith("Annotations/") for x in names)
        e = ds.expressions()[0]
        member = f"Annotations/{e.video_id}/{e.id}/{ds.videos()[e.video_id].frames[0]}.png"
        img = Image.open(io.BytesIO(zf.read(member)))
        assert img.mode == "L" and set(np.unique(np.asarray(img)).tolist()) <= {0, 255}
    with pytest.raises(OutputExistsError):
        build_ryvos_submission(tmp_path / "preds", ds, tmp_path / "sub.zip")
    # 0/1 masks are accepted and re-encoded as 0/255
    e = ds.expressions()[1]
    f = ds.videos()[e.video_id].frames[2]
    p = tmp_path / "preds" / e.video_id / e.id / f"{f}.png"
    Image.fromarray((np.asarray(Image.open(p)) > 0).astype(np.uint8), mode="L").save(p)
    rep = build_ryvos_submission(tmp_path / "preds", ds, tmp_path / "sub.zip", force=True)
    assert rep.reencoded == 1


def test_incomplete_or_bad_submission_lists_every_problem(ryvos_root: Path, tmp_path: Path) -> None:
    ds = load("ryvos", ryvos_root, "valid")
    pr = tmp_path / "preds"
    _write_all(ds, pr)
    e0, e1 = ds.expressions()[0], ds.expressions()[-1]
    v0 = ds.videos()[e0.video_id]
    missing = pr / e0.video_id / e0.id / f"{v0.frames[3]}.png"
    missing.unlink()
    wrong_size = pr / e0.video_id / e0.id / f"{v0.frames[4]}.png"
    write_png_prediction(pr, e0.video_id, e0.id, v0.frames[4], np.zeros((v0.height + 1, v0.width), bool))
    soft = pr / e1.video_id / e1.id / f"{ds.videos()[e1.video_id].frames[0]}.png"
    Image.fromarray(np.arange(36 * 64, dtype=np.uint16).reshape(36, 64).astype(np.uint8) % 7, mode="L").save(soft)
    write_png_prediction(pr, "ffffffffff", "0", "00000", np.zeros((36, 64), bool))
    with pytest.raises(ValidationFailed) as err:
        build_ryvos_submission(pr, ds, tmp_path / "sub.zip")
    got = {p.path: p.message for p in err.value.problems}
    assert set(got) == {str(missing), str(wrong_size), str(soft), str(pr / "ffffffffff")}
    assert got[str(missing)] == "frame missing" and "64x37" in got[str(wrong_size)]
    assert "not binary" in got[str(soft)] and "unexpected video" in got[str(pr / "ffffffffff")]
    assert not (tmp_path / "sub.zip").exists()


def test_submit_cli(ryvos_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds = load("ryvos", ryvos_root, "valid")
    _write_all(ds, tmp_path / "preds")
    with pytest.raises(SystemExit) as exc:
        main(["submit", "ryvos", str(tmp_path / "preds"), "--out", str(tmp_path / "s.zip"), "--root",
              str(ryvos_root)])
    assert exc.value.code == 0
    assert "masks" in capsys.readouterr().out and (tmp_path / "s.zip").is_file()


def test_ryvos_protocol_on_native_heldout_split(ryvos_root: Path, tmp_path: Path) -> None:
    ds = load("ryvos", ryvos_root, "train")
    for e in ds.expressions():
        for f in ds.expression_frames(e):
            write_png_prediction(tmp_path / "p" / "Annotations", e.video_id, e.id, f,
                                 expression_mask(ds.read_labels(e.video_id, f), e.object_ids))
    r = score(tmp_path / "p", ds)  # default protocol by dataset name
    assert r.protocol.name == "ryvos" and r.values["J&F"] == 1.0
    assert r.results["dataset"]["split"] == "train"


def test_valid_split_without_masks_cannot_be_scored(ryvos_root: Path, tmp_path: Path) -> None:
    from lvsbench.core.errors import ConfigError

    ds = load("ryvos", ryvos_root, "valid")
    _write_all(ds, tmp_path / "preds")
    with pytest.raises(ConfigError, match="no public ground-truth masks"):
        score(tmp_path / "preds", ds)
