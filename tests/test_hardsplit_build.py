"""`lvsbench build-hard-split` end to end on a synthetic A2D-Sentences dataset (`lvsbench synth a2d`)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from lvsbench.core.codecs import read_palette_png
from lvsbench.core.errors import LvsbenchError, OutputExistsError
from lvsbench.core.io import sha256_tree
from lvsbench.datasets.layout import LayoutDataset, validate_layout
from lvsbench.hardsplit import build as build_module
from lvsbench.hardsplit.build import BuildOptions, build

SUBSETS = ("a2d-plus-m", "a2d-plus-s", "a2d-plus-t")


@pytest.fixture(scope="module")
def a2d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lvsbench.synth.a2d import write_synthetic

    return write_synthetic(tmp_path_factory.mktemp("synth") / "a2d", videos=48, seed=3, height=48, width=64,
                           frames=10, frame_format="png")


def _build(a2d: Path, out: Path, **kw: object) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build(BuildOptions(a2d_root=a2d, out=out, **kw))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def built(a2d: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hs") / "out"
    from lvsbench.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["build-hard-split", "--a2d-root", str(a2d), "--out", str(out), "--seed", "7", "--no-progress",
              "--json"])
    assert exit_info.value.code == 0
    return out


def test_outputs_pass_layout_validation(built: Path) -> None:
    for name in SUBSETS:
        assert validate_layout(built / name) == [], name
        card = json.loads((built / name / "lvsbench.json").read_text())
        assert card["name"] == name and card["default_protocol"] == "a2d-plus" and card["split"] == "test"
        assert LayoutDataset(built / name).expressions()
    for f in ("build.json", "srl.jsonl", "srl_requests.jsonl", "pairs.jsonl", "pairs_report.json", "stats.json",
              "stats.md"):
        assert (built / f).is_file(), f
    manifest = json.loads((built / "build.json").read_text())
    assert manifest["srl"]["backend"] == "rules" and manifest["seed"] == 7
    assert all(str(built) not in v for v in map(str, manifest.values()))  # no machine-specific paths


def test_geometry_of_built_subsets(built: Path, a2d: Path) -> None:
    src = build_module.load_a2d(a2d)
    vids = src.videos()
    s = LayoutDataset(built / "a2d-plus-s")
    for vid, v in s.videos().items():
        qv, pv = (vids[x] for x in vid.split("+"))
        assert v.height == qv.height
        assert v.width == qv.width + round(pv.width * qv.height / pv.height)
        assert v.num_frames == qv.num_frames
    t = LayoutDataset(built / "a2d-plus-t")
    for vid, v in t.videos().items():
        qv, pv = (vids[x] for x in vid.split("+"))
        n = qv.num_frames
        assert v.num_frames == 2 * n and (v.height, v.width) == (qv.height, qv.width)
        for e in t.video_expressions(vid):
            partner_frames = [f for f in e.frames if int(f) > n]
            assert partner_frames  # partner frames are scored ...
            for f in partner_frames:
                lab = read_palette_png(built / "a2d-plus-t" / "Annotations" / vid / f"{f}.png")
                assert not np.isin(lab, e.object_ids).any()  # ... with an empty target
            for f in e.frames:
                if int(f) <= n:
                    lab = read_palette_png(built / "a2d-plus-t" / "Annotations" / vid / f"{f}.png")
                    assert np.isin(lab, e.object_ids).any()
    m = LayoutDataset(built / "a2d-plus-m")
    for vid in m.videos():
        assert len(m.object_ids(vid)) >= 2


def test_every_accepted_pair_satisfies_the_sharing_rule(built: Path) -> None:
    roles = {}
    for line in (built / "srl.jsonl").read_text().splitlines():
        o = json.loads(line)
        roles[(o["video_id"], o["exp_id"])] = {tuple(x) for x in o["role_set"]}
    n = 0
    for line in (built / "pairs.jsonl").read_text().splitlines():
        p = json.loads(line)
        if p["partner"] is None:
            assert p["status"] in ("no-partner", "rejected", "unavailable")
            continue
        q = roles[(p["query"]["video_id"], p["query"]["exp_id"])]
        r = roles[(p["partner"]["video_id"], p["partner"]["exp_id"])]
        assert p["partner"]["video_id"] != p["query"]["video_id"] and not p["human_checked"]
        if p["tier"] < 2:  # an SRL partner: shares a role, contrasts in another
            assert q & r and q - r and p["contrasting_roles"]
        else:  # fallback: no shared role, the texts contrast
            assert p["tier_name"].startswith("fallback") and not p["contrasting_roles"]
        n += 1
    assert n > 0


def test_locater_expression_files(built: Path) -> None:
    base = built / "locater" / "A2D_SUBSET"
    for t, name in (("MUL", "a2d-plus-m"), ("SPAT", "a2d-plus-s"), ("TEMP", "a2d-plus-t"), ("NORM", None)):
        exps = json.loads((base / t / f"A2D_{t}_test_expressions.json").read_text())
        counts = json.loads((base / t / "vid_frame_dict.json").read_text())
        assert exps and set(counts) == set(exps)
        for seq, entry in exps.items():
            assert entry["frames"][0] == "00001" and counts[seq] == len(entry["frames"])
            for e in entry["expressions"].values():
                assert e["exp"] and e["labels"] and set(e["labels"]) <= set(entry["frames"])
        if name:
            assert set(exps) == set(LayoutDataset(built / name).videos())


def test_stats(built: Path) -> None:
    stats = json.loads((built / "stats.json").read_text())
    assert set(stats["table_ii"]) == {"A2D-S test", "A2D-S_m", "A2D-S_s", "A2D-S_t"}
    s = LayoutDataset(built / "a2d-plus-s")
    assert stats["table_ii"]["A2D-S_s"]["videos"] == len(s.videos())
    assert stats["table_ii"]["A2D-S_s"]["queries"] == len(s.expressions())
    assert sum(stats["table_vii_bins"]["A2D-S_m"].values()) == stats["table_ii"]["A2D-S_m"]["queries"]
    assert "Table II" in (built / "stats.md").read_text()
    for row in ("A2D-S_s", "A2D-S_t"):
        t = stats["table_ii"][row]
        assert t["query_objects_per_video"] + t["partner_objects_per_video"] == pytest.approx(
            t["objects_per_video"], abs=2e-4)
        assert sum(stats["table_vii_clusters"][row].values()) == t["queries"]


def test_same_seed_builds_are_byte_identical(a2d: Path, built: Path, tmp_path: Path) -> None:
    _build(a2d, tmp_path / "again", seed=7, workers=2)
    assert sha256_tree(tmp_path / "again") == sha256_tree(built)
    _build(a2d, tmp_path / "other", seed=8, stage="pairs")
    assert (tmp_path / "other" / "pairs.jsonl").read_bytes() != (built / "pairs.jsonl").read_bytes()


def test_interrupted_build_resumes(a2d: Path, built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = build_module.compose_one
    calls = {"n": 0}

    def interrupting(ds, spec, writer):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 6:
            real(ds, spec, writer)  # half of the way through a video ...
            raise KeyboardInterrupt  # ... the user presses Ctrl-C
        return real(ds, spec, writer)

    monkeypatch.setattr(build_module, "compose_one", interrupting)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        _build(a2d, out, seed=7)
    monkeypatch.setattr(build_module, "compose_one", real)
    with pytest.raises(OutputExistsError):
        _build(a2d, out, seed=7)
    _build(a2d, out, seed=7, resume=True)
    assert sha256_tree(out) == sha256_tree(built)
    _build(a2d, out, seed=7, resume=True)  # resuming a finished build changes nothing
    assert sha256_tree(out) == sha256_tree(built)
    # a build killed in the middle of a write leaves a temporary file (outside any video folder too): the resumed
    # build deletes it (sha256_tree skips such files, so only this check sees them)
    stale = [out / ".build.json.4242-0.tmp", next(out.glob("a2d-plus-*")) / ".meta.json.4242-1.tmp"]
    for f in stale:
        f.write_bytes(b"half")
    _build(a2d, out, seed=7, resume=True)
    assert not [f for f in stale if f.exists()]
    assert sha256_tree(out) == sha256_tree(built)


def test_missing_and_unreadable_partner_videos(a2d: Path, built: Path, tmp_path: Path) -> None:
    data = tmp_path / "a2d"
    shutil.copytree(a2d, data)
    pairs = [json.loads(x) for x in (built / "pairs.jsonl").read_text().splitlines()]
    partners = sorted({p["partner"]["video_id"] for p in pairs if p["partner"]})
    missing, corrupt = partners[0], partners[1]
    shutil.rmtree(data / "Release" / "pngs320H" / missing)  # found missing before composing
    frames = sorted((data / "Release" / "pngs320H" / corrupt).glob("*.png"))
    frames[len(frames) // 2].write_bytes(b"not a png")  # found unreadable while composing
    manifest = _build(data, tmp_path / "out", seed=7)
    assert {missing, corrupt} <= set(manifest["unavailable_videos"])
    for name in SUBSETS:
        root = tmp_path / "out" / name
        assert validate_layout(root) == []
        for vid in LayoutDataset(root).videos():
            assert missing not in vid.split("+") and corrupt not in vid.split("+")
        on_disk = {p.name for p in (root / "JPEGImages").iterdir()}
        assert on_disk == set(LayoutDataset(root).videos())  # nothing half-written is left
    for line in (tmp_path / "out" / "pairs.jsonl").read_text().splitlines():
        p = json.loads(line)
        if p["partner"]:
            assert p["partner"]["video_id"] not in (missing, corrupt)


def test_review_out_and_in(a2d: Path, tmp_path: Path) -> None:
    import csv

    review = tmp_path / "review"
    m0 = _build(a2d, tmp_path / "out", seed=7, stage="pairs", review_out=review)
    assert m0["human_checked"] is False and m0["human_checked_pairs"] == 0
    html = (review / "index.html").read_text()
    assert "data:image/jpeg;base64," in html and "http" not in html.split("<body>")[1]
    with open(review / "pairs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))  # ordered by risk
    paired = [r for r in rows if r["status"] == "paired"]
    rejected, resampled, accepted = paired[0], paired[1], paired[2]
    rejected["decision"], resampled["decision"], accepted["decision"] = "reject", "resample", "accept"
    decisions = tmp_path / "decisions.csv"
    with open(decisions, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    manifest = _build(a2d, tmp_path / "out2", seed=7, stage="pairs", review_in=decisions)
    assert manifest["decisions"] == 3 and manifest["human_checked"] is True
    got = {(p["subset"], p["query"]["video_id"], p["query"]["exp_id"]): p for p in
           map(json.loads, (tmp_path / "out2" / "pairs.jsonl").read_text().splitlines())}

    def key(r: dict) -> tuple[str, str, str]:
        return (r["subset"], r["query_video"], r["query_exp"])

    assert got[key(rejected)]["status"] == "rejected"
    p = got[key(resampled)]
    assert [resampled["partner_video"], resampled["partner_exp"]] in p["excluded_partners"]
    assert p["partner"] is None or (p["partner"]["video_id"], p["partner"]["exp_id"]) != \
        (resampled["partner_video"], resampled["partner_exp"])
    a = got[key(accepted)]
    assert a["human_checked"] and a["partner"]["video_id"] == accepted["partner_video"]
    assert sum(1 for q in got.values() if q["human_checked"]) == 2  # the resampled partner is a new, unchecked draw


def test_num_objects_bin_counts_the_objects_in_the_composed_video(built: Path, a2d: Path) -> None:
    """Table VII bins of S_s / S_t samples: the actors of both source videos, not the one referred to."""
    from lvsbench.core.errors import ConfigError
    from lvsbench.hardsplit.build import load_a2d
    from lvsbench.hardsplit.stats import table_vii_group
    from lvsbench.scoring.results import attach_metadata as _attach_metadata

    src = load_a2d(a2d)
    for name, row in (("a2d-plus-s", "A2D-S_s"), ("a2d-plus-t", "A2D-S_t")):
        ds = LayoutDataset(built / name)
        df = _attach_metadata(ds.expressions_frame()[["video_id", "exp_id"]], ds)
        expected = []
        for vid in df["video_id"]:
            qv, pv = vid.split("+")
            expected.append(len(src.object_ids(qv)) + len(src.object_ids(pv)))
        assert list(df["num_objects_in_video"]) == expected
        assert list(df["num_objects_bin"]) == [str(n) if n < 5 else ">=5" for n in expected]
        assert min(expected) >= 2 and len(set(expected)) > 1
        assert {table_vii_group(ds, n).split(" ")[0] for n in expected} == {row}
    with pytest.raises(ConfigError, match="table_vii_group"):
        table_vii_group(type("X", (), {"name": "ryvos"})(), 3)
    assert table_vii_group(src, 1) == "A2D-S test, single actor"


def test_pairs_stage_from_text_files_alone(a2d: Path, tmp_path: Path) -> None:
    text = tmp_path / "text"
    text.mkdir()
    shutil.copy(a2d / "Release" / "videoset.csv", text)
    for f in ("a2d_annotation.txt", "a2d_missed_videos.txt"):
        shutil.copy(a2d / "text_annotations" / f, text)
    manifest = _build(text, tmp_path / "out", seed=7, stage="pairs")
    assert manifest["pair_coverage"]["spatial"]["paired"] > 0
    assert json.loads((tmp_path / "out" / "stats.json").read_text())["projected"] is True
    with pytest.raises(LvsbenchError, match="--stage pairs"):
        _build(text, tmp_path / "out3", seed=7)
