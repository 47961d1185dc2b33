"""Contrasting-partner sampling: the sharing rule, ranking, determinism, review decisions, and real-data coverage."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lvsbench.errors import DataFormatError
from lvsbench.hardsplit.pairs import Decision, PairSampler, QueryRoles, compare, coverage, eligible
from lvsbench.hardsplit.review import read_decisions, write_csv

_pairs = st.frozensets(st.tuples(st.sampled_from(["ARG0", "V", "ARG1", "ARGM-LOC"]),
                                 st.sampled_from(["man", "dog", "run", "walk", "on grass"])), max_size=4)


@st.composite
def _queries(draw: st.DrawFn) -> list[QueryRoles]:
    n = draw(st.integers(2, 14))
    return [QueryRoles(f"v{draw(st.integers(0, 5))}", str(i), (1,), f"q{i}", draw(_pairs)) for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(_queries(), st.integers(0, 3))
def test_every_pair_satisfies_the_sharing_rule(queries: list[QueryRoles], seed: int) -> None:
    pairs = PairSampler(queries, seed).sample_all()
    for p in pairs:
        if p.partner is None:
            continue
        assert p.partner.video_id != p.query.video_id
        assert p.query.role_set & p.partner.role_set  # shares at least one (role, phrase)
        assert p.query.role_set - p.partner.role_set  # but not all of the query's
    # a query without partner really has no eligible candidate
    for p in pairs:
        if p.status == "no-partner":
            assert not any(eligible(p.query.role_set, o.role_set) for o in queries if o.video_id != p.query.video_id)


@settings(max_examples=30, deadline=None)
@given(_queries(), st.integers(0, 3))
def test_sampling_is_deterministic_and_order_independent(queries: list[QueryRoles], seed: int) -> None:
    a = PairSampler(queries, seed).sample_all()
    b = PairSampler(list(reversed(queries)), seed).sample_all()
    assert [(p.subset, p.query.key, p.partner and p.partner.key) for p in a] == \
        [(p.subset, p.query.key, p.partner and p.partner.key) for p in b]


def _q(vid: str, eid: str, **roles: str) -> QueryRoles:
    return QueryRoles(vid, eid, (1,), " ".join(roles.values()), frozenset(roles.items()))


def test_ranking_prefers_conflicting_roles_then_more_shared() -> None:
    q = _q("a", "0", ARG0="man", V="run", LOC="grass")
    conflict = _q("b", "0", ARG0="man", V="walk")          # tier 0, 1 shared
    conflict2 = _q("c", "0", ARG0="man", V="walk", LOC="grass")  # tier 0, 2 shared
    superset_missing = _q("d", "0", ARG0="man", V="run")   # tier 1 (query has LOC, partner lacks it), 2 shared
    implied = _q("e", "0", ARG0="man", V="run", LOC="grass", ARG1="ball")  # not eligible: query fully implied
    s = PairSampler([q, conflict, conflict2, superset_missing, implied], seed=0)
    ranked = [(k, p.video_id) for k, p, _ in s.ranked(q)]
    assert ranked == [((0, -2), "c"), ((0, -1), "b"), ((1, -2), "d")]
    assert s.sample(q, "spatial").partner.video_id == "c"
    assert compare(q.role_set, conflict.role_set).conflicting == {"V"}


def test_decisions_accept_reject_resample_replay() -> None:
    q = _q("a", "0", ARG0="man", V="run")
    cands = [_q(v, "0", ARG0="man", V="walk") for v in "bcdefg"]
    s = PairSampler([q, *cands], seed=3)
    first = s.sample(q, "spatial").partner.key
    again = s.sample(q, "spatial", [Decision("spatial", q.key, first, "resample")])
    assert again.partner.key != first and again.excluded == [first]
    assert s.sample(q, "temporal", [Decision("spatial", q.key, first, "resample")]).partner.key == \
        s.sample(q, "temporal").partner.key  # decisions are per subset
    rej = s.sample(q, "spatial", [Decision("spatial", q.key, first, "reject")])
    assert rej.partner is None and rej.status == "rejected" and rej.human_checked
    acc = s.sample(q, "spatial", [Decision("spatial", q.key, ("g", "0"), "accept")])
    assert acc.partner.key == ("g", "0") and acc.human_checked


def test_unavailable_videos_are_never_partners() -> None:
    q = _q("a", "0", ARG0="man", V="run")
    cands = [_q(v, "0", ARG0="man", V="walk") for v in "bcd"]
    pairs = PairSampler([q, *cands], seed=0, unavailable_videos={"b", "c"}).sample_all()
    assert {p.partner.video_id for p in pairs if p.partner and p.query.key == q.key} == {"d"}
    assert {p.status for p in pairs if p.query.video_id == "b"} == {"unavailable"}


def test_review_csv_round_trip(tmp_path: Path) -> None:
    q = _q("a", "0", ARG0="man", V="run")
    cands = [_q(v, "0", ARG0="man", V="walk") for v in "bcd"]
    pairs = PairSampler([q, *cands], seed=0).sample_all()
    path = tmp_path / "pairs.csv"
    write_csv(path, pairs)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("subset,query_video,query_exp")
    lines[1] = lines[1].replace(",paired,,", ",paired,resample,")
    path.write_text("\n".join(lines) + "\n")
    ds = read_decisions(path)
    assert len(ds) == 1 and ds[0].action == "resample" and ds[0].partner is not None
    path.write_text(lines[0] + "\n" + lines[1].replace(",resample,", ",maybe,") + "\n")
    with pytest.raises(DataFormatError, match="line 2"):
        read_decisions(path)


def test_real_a2d_pairs_stage_coverage(real_annotations: Path) -> None:
    """`--stage pairs` from the real a2d_annotation.txt + videoset.csv with the rules backend (no video needed):
    1,295 test queries; coverage recorded in docs/hard-split.md."""
    from lvsbench.hardsplit.build import BuildOptions, load_a2d, run_srl, test_queries

    ds = load_a2d(real_annotations / "a2d_sentences")
    queries = test_queries(ds)
    assert len(queries) == 1295 and len(ds.videos()) == 737
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records, info = run_srl(queries, BuildOptions(a2d_root=Path("."), out=Path("."), srl_backend="rules",
                                                      predicates="heuristic"))
    roles = [QueryRoles(r.query.video_id, r.query.exp_id, r.query.object_ids, r.query.text, r.cleaned.role_set())
             for r in records]
    cov = coverage(PairSampler(roles, 0).sample_all())
    assert cov["spatial"]["paired"] == cov["temporal"]["paired"] == 1268
    assert sum(cov["spatial"].values()) == 1295
