"""`leaderboard build` / `check` end to end on small synthetic data with the bound adapters (real runner and scorer)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import lvsbench
from lvsbench.cli import main
from lvsbench.core.errors import ConfigError
from lvsbench.pipeline.build import BuildOptions, build
from lvsbench.pipeline.cache import Cache
from lvsbench.pipeline.check import check

A2D = "{ videos = 8, seed = 0 }"
RDAVIS = "{ videos = 3, seed = 0 }"


def recipe(entry: str, dataset: str, spec: str | None, split: str, protocol: str, kind: str | None = None,
           root: str | None = None) -> str:
    lines = [f'entry = "{entry}"']
    if kind:
        lines.append(f'kind = "{kind}"')
    lines += ["[model]", f'adapter = "{entry}"', "[dataset]", f'name = "{dataset}"']
    lines.append(f'root = "{root}"' if root else f"synthetic = {spec}")
    lines += [f'split = "{split}"', "[score]", f'protocol = "{protocol}"']
    return "\n".join(lines) + "\n"


def make_project(root: Path) -> Path:
    r = root / "recipes"
    r.mkdir(parents=True)
    for a in ("oracle", "empty"):
        (r / f"synth-a2d-{a}.toml").write_text(recipe(a, "a2d", A2D, "test", "a2d"))
        (r / f"synth-rdavis-{a}.toml").write_text(recipe(a, "rdavis", RDAVIS, "val", "rdavis"))
    (r / "synth-rdavis-empty.toml").write_text('notes = "no mask on any frame"\n' + recipe("empty", "rdavis", RDAVIS,
                                                                                           "val", "rdavis"))
    (r / "synth-a2d-random.toml").write_text(recipe("random", "a2d", A2D, "test", "a2d", kind="baseline"))
    (r / "a2d-oracle.toml").write_text(recipe("oracle", "a2d", None, "test", "a2d", root="a2d"))
    return r


def tree(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


COMPUTED = ("synth-a2d-empty", "synth-a2d-oracle", "synth-a2d-random", "synth-rdavis-empty", "synth-rdavis-oracle")


def built_tree(d: Path) -> dict[str, bytes]:
    """`tree(d)` of a build of `make_project`, checked to hold every table and every computed result (so that two
    such trees compared equal are not two empty trees)."""
    t = tree(d)
    want = {f"leaderboards/{b}.{x}" for b in ("a2d", "synth-a2d", "synth-rdavis") for x in ("md", "csv")}
    want |= {f"results/{r}.json" for r in COMPUTED}
    assert want <= set(t), sorted(want - set(t))
    assert all(t[f"results/{r}.json"] for r in COMPUTED)
    return t


@pytest.fixture(autouse=True)
def no_real_roots(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.delenv("LVSBENCH_A2D_ROOT", raising=False)
    monkeypatch.setenv("LVSBENCH_CONFIG", str(tmp_path_factory.getbasetemp() / "no-config.toml"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("lb")
    mp = pytest.MonkeyPatch()
    mp.delenv("LVSBENCH_A2D_ROOT", raising=False)
    mp.setenv("LVSBENCH_CONFIG", str(base / "no-config.toml"))
    try:
        recipes = make_project(base / "project")
        cache = Cache(base / "cache")
        rep = build(BuildOptions(recipes, base / "out1", cache, progress=False))
        assert {o.recipe.name: o.status for o in rep.outcomes} == {
            "a2d-oracle": "skipped", "synth-a2d-empty": "computed", "synth-a2d-oracle": "computed",
            "synth-a2d-random": "computed", "synth-rdavis-empty": "computed", "synth-rdavis-oracle": "computed"}
    finally:
        mp.undo()
    return {"base": base, "recipes": recipes, "cache": base / "cache", "out1": base / "out1"}


def test_outputs(built: dict[str, Path]) -> None:
    out = built["out1"]
    md = (out / "leaderboards" / "synth-a2d.md").read_text()
    assert "| 1 | oracle | reproduced | test | 100.00 |" in md
    assert "| 3 | empty | reproduced | test | 0.00 |" in md
    a2d = (out / "leaderboards" / "a2d.md").read_text()
    assert "`a2d-oracle` (oracle): LVSBENCH_A2D_ROOT is not set" in a2d
    rdavis = (out / "leaderboards" / "synth-rdavis.md").read_text()  # a recipe's `notes` follow its reference
    assert "[recipes/synth-rdavis-empty.toml](../recipes/synth-rdavis-empty.toml) (no mask on any frame) |" in rdavis
    res = json.loads((out / "results" / "synth-a2d-oracle.json").read_text())
    assert res["values"]["mean_iou"] == 1.0 and res["cache_key"]["lvsbench_version"] == lvsbench.__version__
    text = json.dumps(res)
    assert str(built["cache"]) not in text and str(built["base"]) not in text  # no machine-local paths
    assert (out / "results" / "synth-a2d-oracle.samples.csv").is_file()


def test_two_builds_identical_and_second_is_cached(built: dict[str, Path]) -> None:
    base = built["base"]
    rep = build(BuildOptions(built["recipes"], base / "out2", Cache(built["cache"]), progress=False))
    assert {o.status for o in rep.outcomes} == {"cached", "skipped"}
    assert tree(base / "out2") == built_tree(built["out1"])


def test_recomputation_is_byte_identical(built: dict[str, Path], tmp_path: Path) -> None:
    build(BuildOptions(built["recipes"], tmp_path / "out", Cache(built["cache"], enabled=False), progress=False))
    assert tree(tmp_path / "out") == built_tree(built["out1"])


def test_version_change_invalidates_cache(built: dict[str, Path], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lvsbench, "__version__", lvsbench.__version__ + ".dev99")
    shutil.copytree(built["cache"], tmp_path / "cache")
    recipes = built["recipes"]
    only = ("synth-rdavis-oracle",)
    rep = build(BuildOptions(recipes, tmp_path / "out", Cache(tmp_path / "cache"), only=only, progress=False))
    by = {o.recipe.name: o.status for o in rep.outcomes}
    assert by["synth-rdavis-oracle"] == "computed"
    res = json.loads((tmp_path / "out" / "results" / "synth-rdavis-oracle.json").read_text())
    assert res["cache_key"]["lvsbench_version"].endswith(".dev99")


def test_code_change_invalidates_cache_without_changing_results(built: dict[str, Path], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed generator or scorer (other code, same version) recomputes the synthetic data and the result, and
    the committed files do not record the fingerprint, so an unchanged result stays byte-identical."""
    from lvsbench.pipeline import cache as cache_mod

    shutil.copytree(built["cache"], tmp_path / "cache")
    only = ("synth-rdavis-oracle",)
    same = build(BuildOptions(built["recipes"], tmp_path / "same", Cache(tmp_path / "cache"), only=only,
                              progress=False))
    assert {o.recipe.name: o.status for o in same.outcomes}["synth-rdavis-oracle"] == "cached"
    monkeypatch.setattr(cache_mod, "code_fingerprint", lambda: "0" * 64)
    rep = build(BuildOptions(built["recipes"], tmp_path / "out", Cache(tmp_path / "cache"), only=only,
                             progress=False))
    assert {o.recipe.name: o.status for o in rep.outcomes}["synth-rdavis-oracle"] == "computed"
    data = sorted((tmp_path / "cache").glob("**/code.txt"))
    assert any(f.read_text().strip() == "0" * 64 for f in data)  # artefacts rebuilt under the new code
    name = "results/synth-rdavis-oracle.json"
    assert (tmp_path / "out" / name).read_bytes() == (built["out1"] / name).read_bytes()


def test_check_passes_and_fails_on_edited_number(built: dict[str, Path], tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(built["recipes"], project / "recipes")
    for sub in ("leaderboards", "results"):
        shutil.copytree(built["out1"] / sub, project / sub)
    cache = Cache(built["cache"])
    assert check(project / "recipes", project, cache, progress=False).ok
    md = project / "leaderboards" / "synth-a2d.md"
    original = md.read_text()
    row = "| 1 | oracle | reproduced | test | "
    md.write_text(original.replace(row + "100.00 |", row + "99.00 |"))
    rep = check(project / "recipes", project, cache, progress=False)
    assert not rep.ok and rep.problems == ["leaderboards/synth-a2d.md: differs from what the recipes produce"]
    assert any(line.startswith("-| 1 | oracle | reproduced | test | 99.00") for line in rep.diffs)
    # through the CLI: exit code 2 with the problem listed
    with pytest.raises(SystemExit) as exc:
        main(["leaderboard", "check", str(project / "recipes"), "--cache", str(built["cache"]), "--no-progress"])
    assert exc.value.code == 2
    md.write_text(original)
    csv = project / "leaderboards" / "synth-rdavis.csv"
    csv.write_text(csv.read_text().replace(",100.00,", ",100.01,", 1))
    assert not check(project / "recipes", project, cache, progress=False).ok
    shutil.copy(built["out1"] / "leaderboards" / "synth-rdavis.csv", csv)
    (project / "leaderboards" / "extra.md").write_text("# stale\n")
    rep = check(project / "recipes", project, cache, progress=False)
    assert rep.problems == ["leaderboards/extra.md: committed but no recipe or reported file produces it"]
    (project / "leaderboards" / "extra.md").unlink()
    res = project / "results" / "synth-a2d-empty.json"
    doc = json.loads(res.read_text())
    doc["cache_key"]["lvsbench_version"] = "0.0.1"
    res.write_text(json.dumps(doc))
    rep = check(project / "recipes", project, cache, progress=False)
    assert rep.problems == ["results/synth-a2d-empty.json: stale (lvsbench_version 0.0.1 != "
                            f"{lvsbench.__version__})"]
    with pytest.raises(SystemExit) as exc:
        main(["leaderboard", "check", str(project / "recipes"), "--cache", str(built["cache"]), "--no-progress"])
    assert exc.value.code == 2


def test_real_root_runs_when_configured_then_is_carried(built: dict[str, Path], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    synth = next((built["cache"] / "synth-a2d").iterdir()) / "data"
    recipes = built["recipes"]
    out = tmp_path / "out"
    monkeypatch.setenv("LVSBENCH_A2D_ROOT", str(synth))
    rep = build(BuildOptions(recipes, out, Cache(built["cache"]), progress=False))
    assert {o.recipe.name: o.status for o in rep.outcomes}["a2d-oracle"] == "computed"
    with_root = tree(out)
    assert "| 1 | oracle | reproduced | test | 100.00 |" in (out / "leaderboards" / "a2d.md").read_text()
    monkeypatch.delenv("LVSBENCH_A2D_ROOT")
    rep = build(BuildOptions(recipes, out, Cache(built["cache"]), progress=False))
    o = {o.recipe.name: o for o in rep.outcomes}["a2d-oracle"]
    assert o.status == "carried" and "LVSBENCH_A2D_ROOT is not set" in o.reason
    assert tree(out) == with_root  # a carried result renders exactly as when it was computed


def test_reported_rows_are_merged(built: dict[str, Path], tmp_path: Path) -> None:
    rdir = tmp_path / "reported"
    rdir.mkdir()
    (rdir / "paper.csv").write_text("# test\nleaderboard,protocol,split,method,backbone,metric,value,paper,table,"
                                    "cited_from,note\n"
                                    "synth-a2d,a2d,test,Paper net,R50,mean_iou,50.5,Doe et al. 2030,Table 9,,\n"
                                    "a2d,a2d,test,Paper net,R50,prec_mAP,47.2,Doe et al. 2030,Table 9,,mean prec\n")
    build(BuildOptions(built["recipes"], tmp_path / "out", Cache(built["cache"]), reported_dir=rdir, progress=False))
    md = (tmp_path / "out" / "leaderboards" / "synth-a2d.md").read_text()
    assert "| 2 | Paper net | reported | R50 | test | 50.5 |" in md and "Doe et al. 2030, Table 9" in md
    assert "| 1 | oracle | reproduced | – | test | 100.00 |" in md  # reproduced rows beside the reported ones
    a2d = (tmp_path / "out" / "leaderboards" / "a2d.md").read_text()
    assert "| 1 | Paper net | reported | R50 | test | 47.2 | Doe et al. 2030, Table 9 [1] |  |" in a2d
    assert "1. mean prec" in a2d and "Comparability: Three different" in a2d


def test_planted_inconsistent_row_is_kept_flagged_and_counted(built: dict[str, Path], tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    rdir = tmp_path / "reported"
    rdir.mkdir()
    (rdir / "readme.csv").write_text("leaderboard,protocol,split,method,backbone,metric,value,paper,table,cited_from,"
                                     "note\n" + "".join(f"ryvos,ryvos,valid,Net,Swin-B,{m},{v},README,Table 1,,\n"
                                                        for m, v in (("J&F", "62.6"), ("J", "59.9"), ("F", "63.3"))))
    out = tmp_path / "out"
    args = ["leaderboard", "build", str(built["recipes"]), "--out", str(out), "--reported", str(rdir),
            "--cache", str(built["cache"]), "--no-progress"]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "reported numbers: 3, flagged by the audit: 1" in text
    assert "readme.csv:2: ryvos/ryvos/valid Net J&F=62.6 [J&F]" in text
    md = (out / "leaderboards" / "ryvos.md").read_text()
    assert "| 1 | Net | reported | Swin-B | valid | 62.6 | 59.9 | 63.3 | README, Table 1 | FLAGGED `J&F` (A1) |" in md
    assert "- A1: Net (Swin-B, README, Table 1) `J&F`: [J&F] J&F 62.6 != (J 59.9 + F 63.3) / 2 = 61.600" in md
    with pytest.raises(SystemExit):
        main([*args, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["reported"] == 3 and doc["flagged"] == 1 and doc["flags"][0]["check"] == "J&F"


def test_different_data_in_one_table_is_refused(built: dict[str, Path], tmp_path: Path) -> None:
    r = tmp_path / "recipes"
    shutil.copytree(built["recipes"], r)
    (r / "synth-a2d-full.toml").write_text(recipe("full", "a2d", "{ videos = 8, seed = 5 }", "test", "a2d"))
    with pytest.raises(ConfigError, match="score different datasets"):
        build(BuildOptions(r, tmp_path / "out", Cache(built["cache"]), only=(), progress=False))


def test_committed_leaderboards_pass_check_and_an_edited_number_fails(tmp_path: Path) -> None:
    """The repository's own recipes, results and leaderboard for one table (synth-jhmdb), copied so they can be
    edited: the committed files regenerate byte for byte and an edited number fails. `.ci/run` runs the full
    `lvsbench leaderboard check` over every recipe; this test checks the mechanism on the real files cheaply."""
    repo = Path(__file__).resolve().parents[1]
    project = tmp_path / "repo"
    table = "synth-jhmdb"
    for sub, pattern in (("recipes", f"{table}-*.toml"), ("leaderboards", f"{table}.*"), ("results", f"{table}-*")):
        (project / sub).mkdir(parents=True)
        for f in (repo / sub).glob(pattern):
            shutil.copy(f, project / sub / f.name)
    (project / "reported").mkdir()  # the reported papers' rows belong to the real-data tables, not to this one
    recipes = sorted(p.stem for p in (project / "recipes").iterdir())
    assert recipes == [f"{table}-{e}" for e in ("empty", "full", "oracle", "random")]
    cache = Cache(tmp_path / "cache")
    rep = check(project / "recipes", project, cache, reported_dir=project / "reported", progress=False)
    assert rep.ok, rep.problems + rep.diffs
    assert sorted(o.recipe.name for o in rep.build.outcomes if o.status == "computed") == recipes
    md = project / "leaderboards" / f"{table}.md"
    text = md.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| 1 | oracle | reproduced |"))
    md.write_text(text.replace(row, row.replace("100.00", "100.01", 1)))
    rep = check(project / "recipes", project, cache, reported_dir=project / "reported", progress=False)
    assert rep.problems == [f"leaderboards/{table}.md: differs from what the recipes produce"]
    assert {o.status for o in rep.build.outcomes} == {"cached"}
