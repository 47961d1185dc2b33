"""Recipes, published-number files and the table renderer (no datasets needed)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lvsbench.core.errors import ConfigError, DataFormatError
from lvsbench.leaderboard.recipes import Recipe, expand_env, load_recipes, parse_recipe
from lvsbench.leaderboard.render import Row, format_percent, render_csv, render_markdown, reported_rows, sort_rows
from lvsbench.leaderboard.reported import parse_reported
from lvsbench.pipeline.cache import Cache, CacheKey, current_version

REPO = Path(__file__).resolve().parents[1]

FULL = """
entry = "oracle"   # a comment
description = "ground truth"
[model]
adapter = "oracle"
options = { seed = 3 }
[dataset]
name = "a2d"
synthetic = { videos = 8, seed = 1 }
split = "test"
subset = "a2d-plus-t"
[score]
protocol = "a2d-plus"
"""


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / f"{name}.toml"
    p.write_text(text)
    return p


def test_parse_full_recipe(tmp_path: Path) -> None:
    r = parse_recipe(write(tmp_path, "synth-a2d-plus-t-oracle", FULL))
    assert (r.name, r.entry, r.kind, r.adapter, r.protocol) == ("synth-a2d-plus-t-oracle", "oracle", "bound", "oracle",
                                                                "a2d-plus")
    assert r.dataset.synthetic == {"videos": 8, "seed": 1} and r.dataset.subset == "a2d-plus-t"
    assert r.leaderboard == "synth-a2d-plus-t"
    assert r.adapter_options == {"seed": 3}


def test_hash_ignores_formatting_but_not_meaning(tmp_path: Path) -> None:
    a = parse_recipe(write(tmp_path, "a", FULL))
    reformatted = "\n".join(line.split("#")[0].rstrip() for line in FULL.splitlines()) + "\n# trailing\n"
    b = parse_recipe(write(tmp_path, "b", reformatted))
    assert a.hash() == b.hash()
    c = parse_recipe(write(tmp_path, "c", FULL.replace("seed = 3", "seed = 4")))
    d = parse_recipe(write(tmp_path, "d", FULL.replace('protocol = "a2d-plus"', 'protocol = "a2d"')))
    assert len({a.hash(), c.hash(), d.hash()}) == 3


@pytest.mark.parametrize(("mutation", "message"), [
    (lambda s: s + "\nbogus = 1\n", "unknown key"),
    (lambda s: s.replace('name = "a2d"', 'name = "no-such-set"'), "unknown dataset"),
    (lambda s: s.replace("synthetic = { videos = 8, seed = 1 }", 'synthetic = { videos = 8 }\nroot = "a2d"'),
     "exactly one of"),
    (lambda s: s.replace('subset = "a2d-plus-t"', 'subset = "a2d-plus-x"'), "unknown subset"),
    (lambda s: s.replace('adapter = "oracle"', ""), "'adapter' is missing"),
    (lambda s: s.replace("[score]", "[scores]"), "unknown key(s) ['scores']"),
    (lambda s: s.split("[score]")[0], "table [score] is missing"),
    (lambda s: s.replace('entry = "oracle"', 'entry = "oracle'), "invalid TOML"),
])
def test_errors_name_file_and_key(tmp_path: Path, mutation, message: str) -> None:
    p = write(tmp_path, "bad", mutation(FULL))
    with pytest.raises(DataFormatError) as exc:
        parse_recipe(p)
    assert message in str(exc.value) and str(p) in str(exc.value)


def test_load_recipes_skips_subfolders_and_refuses_duplicate_rows(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "locater-tiny.toml").write_text("[recipe]\nmodel = 'locater'\n")
    write(tmp_path, "one", FULL)
    assert [r.name for r in load_recipes(tmp_path)] == ["one"]
    write(tmp_path, "two", FULL)
    with pytest.raises(DataFormatError, match="same leaderboard row"):
        load_recipes(tmp_path)
    with pytest.raises(ConfigError):
        load_recipes(tmp_path / "absent")


def test_expand_env() -> None:
    env = {"A": "/x", "B": ""}
    assert expand_env("${A}/ckpt.pt", env) == "/x/ckpt.pt"
    assert expand_env("${B}/ckpt.pt", env) is None
    assert expand_env("${C}", env) is None
    assert expand_env("plain.pt", env) == "plain.pt"


def test_committed_recipes_parse() -> None:
    recipes = load_recipes(REPO / "recipes")
    assert recipes, "recipes/*.toml must exist"
    assert any(r.dataset.is_synthetic for r in recipes)


@pytest.mark.parametrize("dataset", ["mevis", "revos", "refsav", "long-rvos", "reasonvos"])
def test_modern_synthetic_tables_have_bounds_and_the_zero_shot_locater(dataset: str) -> None:
    """Issue #14: each protocol table of the five modern synthetic leaderboards lists the four bounds and the tiny
    Locater, run from the committed synthetic-A2D checkpoint on the same data as the oracle and described as a
    zero-shot transfer figure (the model never saw this dataset)."""
    synth = [r for r in load_recipes(REPO / "recipes") if r.dataset.name == dataset and r.dataset.is_synthetic]
    tables: dict[str, dict[str, Recipe]] = {}
    for r in synth:
        tables.setdefault(r.protocol, {})[r.entry] = r
    assert tables
    for entries in tables.values():
        # the row label itself says zero-shot: the pages show the entry, not the description
        assert set(entries) == {"oracle", "empty", "full", "random", "locater (tiny, zero-shot)"}
        oracle, loc = entries["oracle"], entries["locater (tiny, zero-shot)"]
        assert (loc.dataset, loc.leaderboard) == (oracle.dataset, oracle.leaderboard)
        assert loc.checkpoint == "leaderboards/checkpoints/locater-tiny-synth-a2d.pt"
        assert (REPO / loc.checkpoint).is_file()
        assert loc.adapter_options == {"threads": 1} and loc.train is None  # inference only, as synth-a2d-locater
        assert "zero-shot" in loc.description and "transfer" in loc.description


# ------------------------------------------------------------------------------------------------ cache keys


def test_cache_key_changes_with_every_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lvsbench

    base = CacheKey.for_recipe("r", "card", "ckpt")
    cache = Cache(tmp_path)
    cache.put(base, {"values": {"x": 1.0}}, b"a,b\n")
    variants = [CacheKey.for_recipe("r2", "card", "ckpt"), CacheKey.for_recipe("r", "card2", "ckpt"),
                CacheKey.for_recipe("r", "card", None)]
    monkeypatch.setattr(lvsbench, "__version__", current_version() + ".post1")
    variants.append(CacheKey.for_recipe("r", "card", "ckpt"))  # same recipe, data and weights, new code
    assert len({base.digest(), *[v.digest() for v in variants]}) == 5
    assert all(cache.get(v) is None for v in variants)
    monkeypatch.undo()
    hit = cache.get(CacheKey.for_recipe("r", "card", "ckpt"))
    assert hit is not None and hit.result == {"values": {"x": 1.0}} and hit.samples_csv == b"a,b\n"
    assert Cache(tmp_path, enabled=False).get(base) is None
    # an entry whose stored key does not match the lookup (corrupted or colliding) is never served
    key_file = next((tmp_path / "results").iterdir()) / "key.json"
    key_file.write_text(key_file.read_text().replace('"card"', '"other"'))
    assert cache.get(base) is None


# ------------------------------------------------------------------------------------------------ reported


HEADER = "leaderboard,protocol,split,method,backbone,metric,value,paper,table,cited_from,note\n"


def test_parse_reported_and_group(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("# notes\n# more notes\n" + HEADER
                 + "a2d,a2d,test,M,R50,mean_iou,62.10,Doe et al. CVPR'22,Table 1,,\n"
                 + "a2d,a2d,test,M,R50,prec_mAP,47.2,Doe et al. CVPR'22,Table 1,,mean precision\n"
                 + "a2d,a2d,test,N,R50,mean_iou,50.0,Doe et al. CVPR'22,Table 1,\"Roe et al., ICCV'21\",\n")
    vals = parse_reported(p)
    rows = reported_rows(vals)
    assert len(rows) == 2 and rows[0].values == {"mean_iou": "62.10", "prec_mAP": "47.2"}
    assert rows[0].reference == "Doe et al. CVPR'22, Table 1" and rows[0].source == "reported"
    assert rows[0].backbone == "R50" and rows[0].note == "prec_mAP: mean precision"
    assert rows[0].shown("mean_iou") == "62.10"  # verbatim, trailing zero kept
    assert rows[1].reference == "Doe et al. CVPR'22, Table 1, from Roe et al., ICCV'21"
    assert vals[2].where == "x.csv:6"


@pytest.mark.parametrize(("line", "message"), [
    ("a2d,a2d,test,M,,mAP,47.2,P,Table 1,,", "bare 'mAP'"),
    ("a2d,a2d,test,M,,MAP,47.2,P,Table 1,,", "bare 'MAP'"),
    ("a2d,a2d,test,M,,mean_iou,abc,P,Table 1,,", "not a number"),
    ("a2d,a2d,test,M,,mean_iou,,P,Table 1,,", "empty 'value' needs a 'note'"),
    ("a2d,a2d,test,,,mean_iou,1,P,Table 1,,", "empty 'method'"),
    ("a2d,a2d,test,M,,mean_iou,1,P,Table 1", "expected 11 fields"),
])
def test_reported_errors_name_line(tmp_path: Path, line: str, message: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(HEADER + line + "\n")
    with pytest.raises(DataFormatError) as exc:
        parse_reported(p)
    assert message in str(exc.value) and "line 2" in str(exc.value) and "bad.csv" in str(exc.value)


def test_empty_value_with_a_note_is_kept_and_not_shown(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text(HEADER + "a2d,a2d,test,M,,mean_iou,,P,Table 1,,value lost in the extracted text\n")
    (v,) = parse_reported(p)
    assert v.number is None
    (row,) = reported_rows([v])
    assert row.values == {} and row.note == "value lost in the extracted text"


# ------------------------------------------------------------------------------------------------ render


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_format_percent_is_two_decimal_percent(x: float) -> None:
    s = format_percent(x)
    assert s != "-0.00"
    assert math.isclose(float(s), 100 * x, abs_tol=0.005 + 1e-9 * abs(100 * x))


def test_markdown_sorts_by_primary_and_merges_reported() -> None:
    rows = [
        Row("a2d", "a2d", "test", "mine", "reproduced", "model", {"mean_iou": 0.5, "P@0.5": 0.6,
                                                                   "coco AP 0.5:0.95 S": -1.0}, "recipes/m.toml"),
        Row("a2d", "a2d", "test", "theirs", "reported", "paper", {"mean_iou": "62.1"}, "X et al., Table 2"),
        Row("a2d", "a2d", "test", "floor", "reproduced", "bound", {"mean_iou": 0.0}, "recipes/f.toml"),
    ]
    assert [r.entry for r in sort_rows(rows, "mean_iou")] == ["theirs", "mine", "floor"]
    md = render_markdown("a2d", rows, [], [])
    assert md.index("| 1 | theirs | reported") < md.index("| 2 | mine | reproduced") < md.index("| 3 | floor")
    assert "`coco AP 0.5:0.95 S`" not in md.split("| #")[1]  # per-area AP: CSV only; -1 means undefined
    csv_text = render_csv(rows)
    assert "coco AP 0.5:0.95 S" not in csv_text  # undefined (-1) values are left out
    assert 'a2d,1,theirs,reported,paper,test,mean_iou,62.1,percent,"X et al., Table 2",,,' in csv_text
    assert "| 2 | mine | reproduced | – | test | 50.00 | 60.00 |" in md
    assert "a2d,2,mine,reproduced,model,test,P@0.5,60.00," in csv_text
