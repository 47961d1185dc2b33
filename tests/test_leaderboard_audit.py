"""Audit of published numbers (`lvsbench.leaderboard.audit`) and the committed `leaderboards/reported/` files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lvsbench.leaderboard.audit import audit, half_unit
from lvsbench.leaderboard.render import reported_rows
from lvsbench.leaderboard.reported import AMBIGUOUS_METRICS, COLUMNS, load_reported, parse_reported
from lvsbench.leaderboard.stats_page import STATS_FILE, hard_split_stats_lines, load_stats

REPO = Path(__file__).resolve().parents[1]
REPORTED = REPO / "leaderboards" / "reported"
HEADER = ",".join(COLUMNS) + "\n"


def write(tmp_path: Path, *lines: str, name: str = "p.csv") -> list:
    p = tmp_path / name
    p.write_text(HEADER + "".join(line + "\n" for line in lines))
    return parse_reported(p)


def jf(method: str, jf_: str, j: str, f: str, table: str = "Table 1") -> list[str]:
    return [f"ryvos,ryvos,valid,{method},R50,{m},{v},P,{table},," for m, v in (("J&F", jf_), ("J", j), ("F", f))]


def test_planted_jf_inconsistency_is_flagged(tmp_path: Path) -> None:
    # a public README lists J&F 62.6 with J 59.9 and F 63.3: (59.9 + 63.3) / 2 = 61.6
    vals = write(tmp_path, *jf("bad", "62.6", "59.9", "63.3"), *jf("good", "61.6", "59.9", "63.3"),
                 *jf("rounded", "48.9", "47.0", "50.8"), *jf("two-dec", "47.24", "45.27", "49.19"))
    flags = audit(vals)
    assert [(f.value.method, f.value.metric, f.check) for f in flags] == [("bad", "J&F", "J&F")]
    assert "62.6 != (J 59.9 + F 63.3) / 2 = 61.600" in flags[0].reason
    assert flags[0].text().startswith("p.csv:2: ryvos/ryvos/valid bad J&F=62.6")


def test_rounding_tolerance() -> None:
    assert half_unit("45.27") == pytest.approx(0.005) and half_unit("62.6") == pytest.approx(0.05)
    assert half_unit("7") == 0.5


def pk_lines(method: str, values: list[str], extra: str = "") -> list[str]:
    names = ["P@0.5", "P@0.6", "P@0.7", "P@0.8", "P@0.9"]
    out = [f"a2d,a2d,test,{method},,{m},{v},P,Table 1,," for m, v in zip(names, values, strict=True)]
    if extra:
        out.append(f"a2d,a2d,test,{method},,{extra},P,Table 1,,")
    return out


def test_precision_must_not_increase_with_k(tmp_path: Path) -> None:
    flags = audit(write(tmp_path, *pk_lines("m", ["70.9", "64.0", "65.5", "35.1", "10.1"])))
    assert [(f.value.metric, f.check) for f in flags] == [("P@0.7", "P@K")]
    assert not audit(write(tmp_path, *pk_lines("m", ["70.9", "70.9", "52.5", "35.1", "10.1"])))


def test_map_definitions_are_checked_against_the_printed_precisions(tmp_path: Path) -> None:
    # Locater Table III (A2D-S test), ViT-B row: P@K 70.9 64.0 52.5 35.1 10.1, printed "mAP" 42.8
    p = ["70.9", "64.0", "52.5", "35.1", "10.1"]
    assert not audit(write(tmp_path, *pk_lines("m", p, "prec_mAP,42.8")))  # within [39.43, 46.52]
    flags = audit(write(tmp_path, *pk_lines("m", p, "locater_mAP,42.8")))  # mean of the five is 46.52
    assert [(f.value.metric, f.check) for f in flags] == [("locater_mAP", "locater_mAP")]
    assert not audit(write(tmp_path, *pk_lines("m", p, "locater_mAP,46.5")))
    flags = audit(write(tmp_path, *pk_lines("m", p, "prec_mAP,39.0")))
    assert [f.check for f in flags] == ["prec_mAP"] and "[39.43, 46.52]" in flags[0].reason
    assert not audit(write(tmp_path, *pk_lines("m", p, "coco mAP 0.5:0.95,39.0")))  # COCO AP: no such relation


def test_range_metric_and_protocol(tmp_path: Path) -> None:
    vals = write(tmp_path, "a2d,a2d,test,m,,mean_iou,101.0,P,Table 1,,", "a2d,a2d,test,m,,J&F,50.0,P,Table 1,,",
                 "a2d,a2d,test,m,,FPS,0,P,Table 1,,GPU", "a2d,nope,test,m,,mean_iou,50,P,Table 1,,",
                 "ryvos,ryvos,valid,m,,P@0.5,50,P,Table 1,,per frame", "a2d,a2d,test,n,,FPS,7.92,P,Table 2,,GPU")
    got = [(f.value.line, f.check) for f in audit(vals)]
    assert got == [(2, "range"), (3, "metric"), (4, "range"), (5, "metric")]


def test_duplicates_that_disagree_are_flagged_on_both_sides(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(HEADER + "ryvos,ryvos,valid,URVOS,R50,J,45.27,Seo,Table 2,,\n"
                                    + "ryvos,ryvos,valid,URVOS,R50,F,49.19,Seo,Table 2,,\n")
    (tmp_path / "b.csv").write_text(HEADER + "ryvos,ryvos,valid,URVOS,R50,J,47.0,Liang,Table V,Seo,\n"
                                    + "ryvos,ryvos,valid,URVOS,R50,F,49.2,Liang,Table V,Seo,\n")
    flags = audit(load_reported(tmp_path))
    assert [(f.value.source_file, f.value.metric, f.check) for f in flags] == [("a.csv", "J", "duplicate"),
                                                                              ("b.csv", "J", "duplicate")]
    assert "47.0 in Liang, Table V, from Seo (b.csv:2)" in flags[0].reason  # 49.19 vs 49.2: within rounding


def test_flags_reach_the_rows() -> None:
    vals = parse_reported(REPORTED / "locater-tpami.csv")
    flags = audit(vals)
    rows = reported_rows(vals, flags)
    flagged = {(r.leaderboard, r.entry, r.backbone): sorted(r.flags) for r in rows if r.flags}
    assert flagged == {("jhmdb", "Locater", "ViT-B"): ["prec_mAP"], ("jhmdb", "Locater", "Video-Swin-T"): ["prec_mAP"]}


# ------------------------------------------------------------------------------------------------ committed files


def test_every_committed_reported_csv_parses_with_the_agreed_schema() -> None:
    files = sorted(REPORTED.glob("*.csv"))
    assert {f.stem for f in files} >= {"locater-tpami", "lbdt-cvpr22", "multilevel-cvpr22", "mmvt-cvpr22",
                                       "urvos-eccv20"}
    total = 0
    for f in files:
        text = f.read_text()
        assert text.startswith("#"), f"{f.name} must start with its header notes"
        assert "shared/" not in text, f"{f.name}: cite the paper and table, not a local folder"
        body = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
        assert next(csv.reader([body[0]])) == list(COLUMNS), f.name
        vals = parse_reported(f)
        assert len(vals) == len(body) - 1
        for v in vals:
            assert v.value or v.note, f"{v.where}: an empty value must say why"
        total += len(vals)
    assert total == len(load_reported(REPORTED))


def test_no_bare_map_anywhere() -> None:
    """No reported metric and no leaderboard column is a bare "mAP" (three papers mean three different things)."""
    names = {v.metric for v in load_reported(REPORTED)}
    for p in sorted((REPO / "leaderboards").glob("*.csv")):
        with p.open() as fh:
            names |= {r["metric"] for r in csv.DictReader(fh)}
    for p in sorted((REPO / "leaderboards").glob("*.md")):
        for line in p.read_text().splitlines():
            if line.startswith("| #"):
                names |= {c.strip().strip("`") for c in line.split("|")}
    assert names and not {n for n in names if n.lower() in AMBIGUOUS_METRICS}, sorted(names)


def test_committed_papers_rows_per_table() -> None:
    """The transcribed tables keep their row and number counts (a lost or doubled line shows up here)."""
    counts: dict[tuple[str, str], int] = {}
    for v in load_reported(REPORTED):
        if v.source_file in ("locater-tpami.csv", "urvos-eccv20.csv"):
            counts[(v.source_file, v.table)] = counts.get((v.source_file, v.table), 0) + 1
    assert counts == {
        # 13 rows x 9 numbers; "-" cells (Hu, Li, Gavrilyuk, McIntosh: FPS; Yang: mAP and FPS) have no line
        ("locater-tpami.csv", "Table III"): 13 * 9 - 6,
        # 13 rows x 8 numbers; "-" cells: Ning overall and mean IoU, Yang mAP
        ("locater-tpami.csv", "Table IV"): 13 * 8 - 3,
        ("locater-tpami.csv", "Table V"): 7 * 3,
        ("locater-tpami.csv", "ablation of K (§3.2.1 encoder modules, §5.7)"): 5,
        ("urvos-eccv20.csv", "Table 2"): 5 * 7,
        ("urvos-eccv20.csv", "Table 3"): 8 * 2,
        ("urvos-eccv20.csv", "Table 4 (ablation: training-set scale)"): 5 * 2,
        ("urvos-eccv20.csv", "Table 5 (ablation: inference procedure)"): 3 * 2,
        ("urvos-eccv20.csv", "Table 6 (ablation: second-stage iterations)"): 7,
    }


def test_a2d_plus_stats_render_next_to_table_ii(tmp_path: Path) -> None:
    doc = load_stats(REPORTED)
    assert doc is not None and doc["schema"] == "lvsbench.hard-split-stats/1"
    assert doc["table_ii"]["A2D-S test"] == {"objects_per_video": 1.7571, "queries": 1295, "videos": 737}
    lines = hard_split_stats_lines(REPORTED)
    assert "| A2D-S test | 737 | 1,295 | 1.76 | 737 | 1,295 | 1.76 |" in lines
    assert any(line.startswith("| A2D-S_m | 257 | 856 | 3.33 |") for line in lines)
    # the committed file is the current pairing (docs/hard-split.md §5), not the pre-revision 1,268 paired
    assert "| A2D-S_s | 1,290 | 1,295 | 5.02 | 1,277 | 1,293 | 5.36 |" in lines
    assert "| A2D-S_t | 1,293 | 1,295 | 5.13 | 1,273 | 1,293 | 5.45 |" in lines
    assert ("Pairing of the 1,295 A2D-S test queries (lvsbench): spatial: no-partner 2, paired 1,293; "
            "temporal: no-partner 2, paired 1,293.") in lines
    assert ("Objects per composed video, query side + partner side (lvsbench): A2D-S_s 2.80 + 2.55; "
            "A2D-S_t 2.78 + 2.67.") in lines
    assert any(line.startswith("Partner tiers") and "same role structure 1,243" in line and "fallback 22" in line
               for line in lines)
    assert any("(16 / 20 queries here, 5 / 2 in the paper)" in line for line in lines)
    assert any("partner side is 2.55 / 2.67 here against 2.22 / 2.35 implied for the paper" in line for line in lines)
    assert hard_split_stats_lines(tmp_path) == []
    (tmp_path / STATS_FILE).write_text(json.dumps({"format": "lvsbench-a2d-plus-stats", "table_ii": {}}))
    with pytest.raises(Exception, match="--stats-out leaderboards/reported/a2d-plus-stats.json"):
        load_stats(tmp_path)


def test_stats_file_is_regenerated_by_the_documented_command(tmp_path: Path) -> None:
    """`build-hard-split --stage pairs --stats-out` writes the file the A2D page renders, and on the committed real
    A2D-Sentences text files it reproduces the committed leaderboards/reported/a2d-plus-stats.json byte for byte."""
    from click.testing import CliRunner

    from lvsbench.cli import cli

    out = tmp_path / "reported" / STATS_FILE
    res = CliRunner().invoke(cli, ["build-hard-split", "--a2d-root", str(REPO / "tests/data/real-annotations/"
                                                                              "a2d_sentences"),
                                    "--out", str(tmp_path / "hs"), "--stage", "pairs", "--seed", "0", "--force",
                                    "--srl-backend", "rules", "--predicates", "heuristic",
                                    "--stats-out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == (REPORTED / STATS_FILE).read_bytes()
    doc = load_stats(out.parent)
    assert doc is not None and doc["built_from"]["srl_backend"] == "rules" and doc["built_from"]["projected"]
    assert any(line.startswith("| A2D-S test | 737 | 1,295 | 1.76 | ") for line in hard_split_stats_lines(out.parent))
