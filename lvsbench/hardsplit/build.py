"""Orchestration of `lvsbench build-hard-split`: SRL -> cleaning -> pairs -> review -> composition -> outputs.

```
OUT/
  build.json                     what was built from what (input checksums, seed, SRL backend, options, coverage)
  srl_requests.jsonl             {"sentence": ...} per query: input for `allennlp predict` elsewhere
  srl.jsonl                      per query: words, predicates, AllenNLP-format SRL, selected frame, role phrases
  pairs.jsonl                    per subset and query: partner or reason, shared and differing roles (manifest)
  pairs_report.json              coverage and the queries without partner
  stats.json, stats.md           Table II layout and Table VII bins
  a2d-plus-m/ a2d-plus-s/ a2d-plus-t/            the subsets in the lvsbench layout     (--stage all)
  locater/A2D_SUBSET/<TYPE>/A2D_<TYPE>_test_expressions.json (+ vid_frame_dict.json)  (--stage all)
```

Stages: `srl` stops after srl.jsonl; `pairs` runs from the text files alone (a2d_annotation.txt + videoset.csv) up to
pairs and projected stats; `all` also composes the videos. Composition is streaming, parallel (`workers`), atomic
per video and resumable: each finished video has a fragment (LayoutWriter) and a signature of its specification
under `OUT/.build/`; a resumed build skips videos whose signature matches and rewrites the others. A source video
that turns out unreadable is marked unavailable, pairs are re-drawn without it, and affected videos are rewritten.

Size: the build's one orchestration (stages, resume signatures, worker pool, exports) reads top to bottom in the
order it runs; each stage's logic lives in its own module (srl, clean, pairs, review, compose, stats).
"""

from __future__ import annotations

import gc
import hashlib
import json
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lvsbench import __version__
from lvsbench.core.errors import ConfigError, LvsbenchError
from lvsbench.core.forking import opencv_single_threaded
from lvsbench.core.io import (
    atomic_write_json,
    atomic_write_text,
    check_overwrite,
    is_lvsbench_output,
    json_dumps_canonical,
    prepare_output_dir,
    remove_interrupted_writes,
    sha256_file,
)
from lvsbench.datasets.base import Dataset
from lvsbench.hardsplit.clean import MATCH_ROLES, CleanedQuery, clean
from lvsbench.hardsplit.compose import (
    LOCATER_TYPES,
    ORDERS,
    SUBSET_NAMES,
    CompositionSpec,
    FrameCache,
    QuerySpec,
    SourceError,
    compose_one,
    composed_id,
    use_frame_cache,
)
from lvsbench.hardsplit.lemmatize import default_lemmatizer
from lvsbench.hardsplit.pairs import SUBSETS, Decision, Pair, PairSampler, QueryRoles, coverage
from lvsbench.hardsplit.srl.base import SrlSentence
from lvsbench.hardsplit.wordnet import default_wordnet

STAGES = ("srl", "pairs", "all")
STATE_DIR = ".build"


@dataclass
class BuildOptions:
    """Everything a build depends on besides the input files (see `lvsbench build-hard-split --help`)."""

    a2d_root: Path
    out: Path
    seed: int = 0
    stage: str = "all"
    srl_backend: str = "auto"
    srl_archive: Path | None = None
    bert_vocab: Path | None = None
    srl_json: Path | None = None
    predicates: str = "auto"
    review_out: Path | None = None
    review_in: Path | None = None
    stats_out: Path | None = None
    order: str = "query-first"
    workers: int = 1
    force: bool = False
    resume: bool = False
    min_actors: int = 2
    frame_ext: str = ".jpg"
    match_roles: tuple[str, ...] = MATCH_ROLES
    batch_size: int = 32
    progress: bool = False
    a2d_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TestQuery:
    video_id: str
    exp_id: str
    object_ids: tuple[int, ...]
    text: str
    frames: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.video_id, self.exp_id)


def load_a2d(root: str | Path, **options: Any) -> Dataset:
    """The A2D-Sentences test split, through the dataset registry (`options` are A2D reader options)."""
    from lvsbench.datasets import load

    return load("a2d", root, split="test", **options)


def test_queries(ds: Dataset) -> list[TestQuery]:
    out = []
    for e in ds.expressions():
        out.append(TestQuery(e.video_id, e.id, e.object_ids, e.text, tuple(ds.expression_frames(e))))
    return out


def _exp_sort(exp_id: str) -> tuple[int, str]:
    return (int(exp_id), exp_id) if exp_id.isdigit() else (1 << 30, exp_id)


# ---------------------------------------------------------------------------------------------- SRL stage


@dataclass
class SrlRecord:
    query: TestQuery
    words: tuple[str, ...]
    predicates: tuple[int, ...]
    srl: SrlSentence
    cleaned: CleanedQuery

    def to_json(self, match_roles: Sequence[str]) -> dict[str, Any]:
        q = self.query
        return {"video_id": q.video_id, "exp_id": q.exp_id, "object_ids": list(q.object_ids), "text": q.text,
                "words": list(self.words), "predicates": list(self.predicates), "srl": self.srl.to_allennlp(),
                **self.cleaned.to_json(),
                "role_set": sorted(map(list, self.cleaned.role_set(match_roles)))}


def run_srl(queries: Sequence[TestQuery], opts: BuildOptions) -> tuple[list[SrlRecord], dict[str, Any]]:
    """Tokenise, find predicates, label and clean every query; returns records and what was used."""
    from lvsbench.hardsplit.predicates import Tokenizer, get_predicate_finder
    from lvsbench.hardsplit.srl import RULES_WARNING, get_backend

    tok = Tokenizer()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backend = get_backend(opts.srl_backend, archive=opts.srl_archive, vocab=opts.bert_vocab,
                              srl_json=opts.srl_json, batch_size=opts.batch_size)
    notes = [str(w.message) for w in caught]
    if backend.name == "rules" and RULES_WARNING not in notes:
        notes.append(RULES_WARNING)
    for n in notes:
        warnings.warn(n, UserWarning, stacklevel=2)
    words = [tuple(tok(q.text)) for q in queries]
    finder = None
    if backend.needs_predicates:
        finder = get_predicate_finder(opts.predicates)
        preds = [tuple(finder.find(w)) for w in words]
    else:
        preds = [() for _ in words]
    results = backend.label([list(w) for w in words], [list(p) for p in preds] if backend.needs_predicates else None)
    lem = default_lemmatizer()
    records = []
    for q, w, p, s in zip(queries, words, preds, results, strict=True):
        if not backend.needs_predicates:
            p = tuple(f.verb_index for f in s.frames)
        records.append(SrlRecord(q, w, p, s, clean(s, lem)))
    identity = backend.identity()
    for k in ("archive", "file"):
        identity.pop(k, None)  # paths differ between machines; checksums identify the files
    info = {"srl": identity, "predicates": finder.name if finder else "from precomputed SRL",
            "tokenizer": tok.source, "lemmatizer": lem.source, "warnings": notes}
    missing = getattr(backend, "missing", None)
    if missing:
        info["srl_missing_sentences"] = len(missing)
    return records, info


# ---------------------------------------------------------------------------------------------- helpers


def _input_checksums(ds: Dataset) -> dict[str, str]:
    out = {}
    for attr in ("annotation_path", "videoset_path", "missed_path"):
        p = getattr(ds, attr, None)
        if isinstance(p, Path) and p.is_file():
            out[p.name] = sha256_file(p)
    return out


def preflight(ds: Dataset, video_ids: Iterable[str]) -> dict[str, str]:
    """Videos that cannot be composed, with the reason (source file missing, no annotated frame)."""
    bad = {}
    vids = ds.videos()
    for vid in video_ids:
        v = vids[vid]
        src = v.source
        if src.kind == "video" and (src.path is None or not src.path.is_file()):
            bad[vid] = f"video file missing: {src.path}"
        elif src.kind == "images" and (src.path is None or not src.path.is_dir()):
            bad[vid] = f"frame folder missing: {src.path}"
        elif not ds.annotated_frames(vid):
            bad[vid] = "no annotated frame"
    return bad


def make_specs(pairs: Sequence[Pair], queries: dict[tuple[str, str], TestQuery], actors: dict[str, int],
               min_actors: int, order: str, unavailable: Iterable[str]) -> dict[str, list[CompositionSpec]]:
    """Output videos per subset: S_m from the actor counts, S_s / S_t grouping pairs by (query video, partner
    video) (queries of one video that drew the same partner video share a composed video)."""
    bad = set(unavailable)
    by_video: dict[str, list[TestQuery]] = defaultdict(list)
    for q in queries.values():
        by_video[q.video_id].append(q)
    specs: dict[str, list[CompositionSpec]] = {}
    multi = []
    for vid in sorted(by_video):
        if actors[vid] >= min_actors and vid not in bad:
            qs = sorted(by_video[vid], key=lambda q: _exp_sort(q.exp_id))
            multi.append(CompositionSpec("multi", vid, vid, tuple(QuerySpec(q.exp_id, q.text, q.object_ids, q.frames)
                                                                   for q in qs)))
    specs["multi"] = multi
    for subset in SUBSETS:
        groups: dict[tuple[str, str], list[tuple[TestQuery, str]]] = defaultdict(list)
        for p in pairs:
            if p.subset == subset and p.partner is not None:
                groups[(p.query.video_id, p.partner.video_id)].append((queries[p.query.key], p.partner.exp_id))
        out = []
        for (qv, pv), items in sorted(groups.items()):
            items.sort(key=lambda t: _exp_sort(t[0].exp_id))
            out.append(CompositionSpec(subset, composed_id(qv, pv), qv,
                                       tuple(QuerySpec(q.exp_id, q.text, q.object_ids, q.frames) for q, _ in items),
                                       pv, order, tuple(e for _, e in items)))
        specs[subset] = out
    return specs


# ---------------------------------------------------------------------------------------------- workers

_WORKER: dict[str, Any] = {}


def _init_worker(ds: Dataset, writer_args: dict[str, dict[str, Any]]) -> None:
    """Worker state: the build's dataset as already read (sent pickled: its text files and annotation index are
    not read again, which took each worker longer than the rest of its start), writers and a `FrameCache`. The
    objects that live until the end are frozen out of the garbage collector's scans (`gc.freeze`)."""
    from lvsbench.datasets.layout import LayoutWriter

    _WORKER["ds"] = ds
    _WORKER["writers"] = {s: LayoutWriter(**kw) for s, kw in writer_args.items()}
    use_frame_cache(FrameCache())  # each source decoded once per worker while cached (outputs unchanged)
    gc.freeze()


def _init_spawned_worker(ds: Dataset, writer_args: dict[str, dict[str, Any]]) -> None:
    """`_init_worker` in a spawned process, whose fresh OpenCV runs on one thread: the workers are the parallelism."""
    import cv2

    cv2.setNumThreads(1)
    _init_worker(ds, writer_args)


def _compose_task(spec: CompositionSpec) -> tuple[str, str, str | None, str | None]:
    """(subset, video id, error or None, unreadable source video or None)."""
    try:
        compose_one(_WORKER["ds"], spec, _WORKER["writers"][spec.subset])
    except SourceError as exc:
        return spec.subset, spec.video_id, str(exc), exc.video_id
    except LvsbenchError as exc:
        return spec.subset, spec.video_id, str(exc), None
    return spec.subset, spec.video_id, None, None


def _compose_group(specs: list[CompositionSpec]) -> list[tuple[str, str, str | None, str | None]]:
    return [_compose_task(s) for s in specs]


def _run_tasks(ds: Dataset, specs: list[CompositionSpec], opts: BuildOptions, writer_args: dict[str, dict[str, Any]],
               on_done: Callable[[tuple[str, str, str | None, str | None]], None]) -> None:
    if not specs:
        return
    from tqdm import tqdm

    bar = tqdm(total=len(specs), desc="compose", unit="video", disable=not opts.progress)
    # one task per query video (its compositions sorted by partner), so that one worker composes all of them while
    # its FrameCache holds the source; results arrive in any order, and `_compose` orders what it keeps of them
    groups: dict[str, list[CompositionSpec]] = {}
    for spec in sorted(specs, key=lambda s: (s.query_video, s.partner_video or "", s.subset, s.video_id)):
        groups.setdefault(spec.query_video, []).append(spec)
    if opts.workers <= 1:
        _init_worker(ds, writer_args)
        try:
            with opencv_single_threaded():  # as in a worker; the caller's OpenCV setting comes back afterwards
                for group in groups.values():
                    for result in _compose_group(group):
                        on_done(result)
                        bar.update()
        finally:
            _WORKER.clear()
            use_frame_cache(None)
            gc.unfreeze()
            bar.close()
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(opts.workers, initializer=_init_spawned_worker, initargs=(ds, writer_args)) as pool:
        for results in pool.imap_unordered(_compose_group, groups.values()):
            for result in results:
                on_done(result)
                bar.update()
    bar.close()


# ---------------------------------------------------------------------------------------------- build


OWN_FILES = ("build.json",)
"""A build folder of an earlier version (before `OUTPUT_MARKER`) is recognised by its manifest."""


def _prepare_out(opts: BuildOptions) -> None:
    out = opts.out
    if opts.resume and out.is_dir() and any(out.iterdir()):
        if is_lvsbench_output(out, legacy=OWN_FILES):  # a killed build may have left a temporary file anywhere
            remove_interrupted_writes(out)
        return
    prepare_output_dir(out, opts.force, legacy=OWN_FILES)


def _srl_cache_key(queries: Sequence[TestQuery], opts: BuildOptions) -> str:
    h = hashlib.sha256()
    for part in (opts.srl_backend, opts.predicates, str(opts.batch_size), ",".join(opts.match_roles)):
        h.update(part.encode() + b"\0")
    for p in (opts.srl_archive, opts.bert_vocab, opts.srl_json):
        h.update((sha256_file(p) if p is not None and Path(p).is_file() else "-").encode())
    for q in queries:
        h.update(f"{q.video_id}\t{q.exp_id}\t{q.text}\n".encode())
    return h.hexdigest()


def _load_srl_cache(out: Path, key: str, queries: Sequence[TestQuery]) -> tuple[list[SrlRecord], dict] | None:
    state = out / STATE_DIR / "srl.json"
    path = out / "srl.jsonl"
    if not (state.is_file() and path.is_file()):
        return None
    meta = json.loads(state.read_text())
    if meta.get("key") != key:
        return None
    by_key = {q.key: q for q in queries}
    records = []
    for line in path.read_text().splitlines():
        o = json.loads(line)
        q = by_key[(o["video_id"], o["exp_id"])]
        s = SrlSentence.from_allennlp(o["srl"])
        roles = tuple((r["role"], r["surface"], r["lemma"]) for r in o["roles"])
        records.append(SrlRecord(q, tuple(o["words"]), tuple(o["predicates"]), s,
                                 CleanedQuery(tuple(o["words"]), tuple(o["frame_indices"]), roles,
                                              tuple(o["dropped_words"]))))
    return records, meta["info"]


def build(opts: BuildOptions) -> dict[str, Any]:
    """Run the build; returns the manifest written to `build.json`."""
    if opts.stage not in STAGES:
        raise ConfigError(f"--stage must be one of {', '.join(STAGES)}")
    if opts.order not in ORDERS:
        raise ConfigError(f"--order must be one of {', '.join(ORDERS)}")
    if not opts.resume:  # refuse a foreign --out before the long reading
        check_overwrite(opts.out, opts.force, legacy=OWN_FILES)
    ds = load_a2d(opts.a2d_root, **opts.a2d_options)
    queries = test_queries(ds)
    if not queries:
        raise LvsbenchError(f"{opts.a2d_root}: no A2D-Sentences test queries found")
    _prepare_out(opts)
    out = opts.out
    (out / STATE_DIR).mkdir(exist_ok=True)

    # -- SRL and cleaning
    key = _srl_cache_key(queries, opts)
    cached = _load_srl_cache(out, key, queries) if opts.resume else None
    if cached is None:
        records, srl_info = run_srl(queries, opts)
        atomic_write_text(out / "srl_requests.jsonl",
                          "".join(json.dumps({"sentence": q.text}, ensure_ascii=False) + "\n" for q in queries))
        atomic_write_text(out / "srl.jsonl", "".join(json.dumps(r.to_json(opts.match_roles), ensure_ascii=False,
                                                                sort_keys=True) + "\n" for r in records))
        atomic_write_json(out / STATE_DIR / "srl.json", {"key": key, "info": srl_info})
    else:
        records, srl_info = cached
    manifest: dict[str, Any] = {
        "lvsbench": __version__, "stage": opts.stage, "seed": opts.seed, "inputs": _input_checksums(ds),
        "test_videos": len(ds.videos()), "test_queries": len(queries), **srl_info,
        "match_roles": list(opts.match_roles), "order": opts.order, "min_actors": opts.min_actors,
        "queries_without_roles": sum(1 for r in records if not r.cleaned.role_set(opts.match_roles)),
        "wordnet": default_wordnet().source,
    }
    if opts.stage == "srl":
        atomic_write_text(out / "build.json", json_dumps_canonical(manifest))
        return manifest

    # -- pairs
    roles = [QueryRoles(r.query.video_id, r.query.exp_id, r.query.object_ids, r.query.text,
                        r.cleaned.role_set(opts.match_roles)) for r in records]
    decisions: list[Decision] = []
    if opts.review_in is not None:
        from lvsbench.hardsplit.review import read_decisions

        decisions = read_decisions(opts.review_in)
        manifest["review_in_sha256"] = sha256_file(opts.review_in)
        manifest["decisions"] = len(decisions)
    actors = {vid: len(ds.object_ids(vid)) for vid in ds.videos()}
    by_key = {q.key: q for q in queries}
    unavailable: dict[str, str] = {}
    if opts.stage == "all":
        unavailable = preflight(ds, ds.videos())
        if len(unavailable) == len(ds.videos()):
            raise LvsbenchError(f"{opts.a2d_root}: no test video has frames and annotations; --stage all composes "
                                f"videos (use --stage pairs for the text files alone)")
    pairs = PairSampler(roles, opts.seed, unavailable).sample_all(SUBSETS, decisions)
    specs = make_specs(pairs, by_key, actors, opts.min_actors, opts.order, unavailable)

    failures: list[dict[str, str]] = []
    if opts.stage == "all":
        pairs, specs, failures = _compose(ds, opts, roles, decisions, by_key, actors, unavailable, pairs, specs)
    _write_pairs(out, pairs, opts.seed, srl_info["srl"].get("backend", ""))
    cov = coverage(pairs)
    from lvsbench.hardsplit.stats import compute_stats, stats_markdown

    stats = compute_stats(actors, [q.key for q in queries], specs, cov)
    stats["projected"] = opts.stage != "all"
    atomic_write_text(out / "stats.json", json_dumps_canonical(stats))
    atomic_write_text(out / "stats.md", stats_markdown(stats))
    checked = sum(1 for p in pairs if p.human_checked)
    if opts.stats_out is not None:
        from lvsbench.hardsplit.stats import summary_stats

        atomic_write_text(opts.stats_out, json_dumps_canonical(summary_stats(stats, pairs, manifest, checked)))
    if opts.review_out is not None:
        from lvsbench.hardsplit.review import write_review

        write_review(opts.review_out, pairs, ds)
    manifest.update({"pair_coverage": cov, "human_checked": checked > 0, "human_checked_pairs": checked,
                     "unavailable_videos": dict(sorted(unavailable.items())),
                     "failed_compositions": failures,
                     "subsets": {SUBSET_NAMES[s]: len(v) for s, v in specs.items()}})
    atomic_write_text(out / "build.json", json_dumps_canonical(manifest))
    return manifest


def _write_pairs(out: Path, pairs: Sequence[Pair], seed: int, backend: str) -> None:
    lines = []
    unpaired: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in pairs:
        rec = p.to_json(seed)
        rec["srl_backend"] = backend
        lines.append(json.dumps(rec, ensure_ascii=False, sort_keys=True))
        if p.partner is None:
            unpaired[p.subset].append({"video_id": p.query.video_id, "exp_id": p.query.exp_id,
                                       "text": p.query.text, "reason": p.status})
    atomic_write_text(out / "pairs.jsonl", "\n".join(lines) + "\n")
    atomic_write_text(out / "pairs_report.json", json_dumps_canonical({"coverage": coverage(pairs),
                                                                      "without_partner": unpaired}))


def _compose(ds: Dataset, opts: BuildOptions, roles: list[QueryRoles], decisions: list[Decision],
             by_key: dict[tuple[str, str], TestQuery], actors: dict[str, int], unavailable: dict[str, str],
             pairs: list[Pair], specs: dict[str, list[CompositionSpec]]
             ) -> tuple[list[Pair], dict[str, list[CompositionSpec]], list[dict[str, str]]]:
    from lvsbench.datasets.layout import PARTS_DIR, LayoutWriter, fragment_path, remove_video

    out = opts.out
    names = {s: SUBSET_NAMES[s] for s in ("multi", "spatial", "temporal")}
    writer_args = {}
    for s, name in names.items():
        kw = {"out": out / name, "name": name, "split": "test", "source": "A2D-Sentences test (lvsbench "
              "build-hard-split, A2D-S+ of Locater TPAMI 2023)", "default_protocol": "a2d-plus",
              "frame_ext": opts.frame_ext, "extra_card": {"hard_split": {"subset": s, "seed": opts.seed,
                                                                         "order": opts.order},
                                                          "objects_in_video": "objects"}}
        done = (out / name / "meta_expressions.json").is_file() and not (out / name / ".lvsbench-parts").is_dir()
        if done:  # finished earlier: reopen it for reconciliation (fragments are rebuilt from the meta)
            _reopen_finished(out / name)
        LayoutWriter(**kw, resume=True, force=False)  # creates the parts folder
        writer_args[s] = {**kw, "resume": True}
    failures: list[dict[str, str]] = []
    while True:
        todo: list[CompositionSpec] = []
        for s, ss in specs.items():
            parts = out / names[s] / PARTS_DIR
            sig_dir = out / STATE_DIR / names[s]
            sig_dir.mkdir(parents=True, exist_ok=True)
            wanted = {spec.video_id for spec in ss}
            for frag in parts.glob("*.json"):  # written earlier but no longer wanted
                vid = json.loads(frag.read_text())["video_id"]
                if vid not in wanted:
                    remove_video(out / names[s], vid)
                    (sig_dir / f"{_safe_name(vid)}.sig").unlink(missing_ok=True)
            for spec in ss:
                sig_path = sig_dir / f"{_safe_name(spec.video_id)}.sig"
                frag = fragment_path(out / names[s], spec.video_id)
                if frag.is_file() and sig_path.is_file() and sig_path.read_text() == spec.signature():
                    continue
                remove_video(out / names[s], spec.video_id)
                todo.append(spec)
        sigs = {(spec.subset, spec.video_id): spec.signature() for spec in todo}
        position = {(spec.subset, spec.video_id): k for k, spec in enumerate(todo)}
        errors: list[tuple[int, str, str, str, str | None]] = []

        def done(result: tuple[str, str, str | None, str | None], sigs: dict = sigs, position: dict = position,
                 errors: list = errors) -> None:
            subset, vid, err, bad_video = result
            if err is None:
                atomic_write_text(out / STATE_DIR / names[subset] / f"{_safe_name(vid)}.sig", sigs[(subset, vid)])
            else:
                errors.append((position[(subset, vid)], subset, vid, err, bad_video))

        _run_tasks(ds, todo, opts, writer_args, done)
        new_bad: dict[str, str] = {}
        for _, subset, vid, err, bad_video in sorted(errors):  # in `todo` order, whichever worker finished first
            if bad_video is not None:
                new_bad.setdefault(bad_video, err)
            else:
                failures.append({"subset": names[subset], "video_id": vid, "error": err})
        if not new_bad:
            break
        unavailable.update(new_bad)
        pairs = PairSampler(roles, opts.seed, unavailable).sample_all(SUBSETS, decisions)
        specs = make_specs(pairs, by_key, actors, opts.min_actors, opts.order, unavailable)
    failed = {(f["subset"], f["video_id"]) for f in failures}
    final: dict[str, list[CompositionSpec]] = {}
    for s, ss in specs.items():
        final[s] = [spec for spec in ss if (names[s], spec.video_id) not in failed]
        writer = LayoutWriter(**writer_args[s])
        for spec in ss:
            if (names[s], spec.video_id) in failed:
                writer.remove_video(spec.video_id)
        writer.finish(order=[spec.video_id for spec in final[s]])
    _export_locater(ds, out, names)
    return pairs, final, failures


def _safe_name(video_id: str) -> str:
    return video_id.replace("/", "%2F")


def _reopen_finished(root: Path) -> None:
    """Turn a finished subset back into fragments so that a resumed build can change some videos."""
    meta = json.loads((root / "meta_expressions.json").read_text())
    parts = root / ".lvsbench-parts"
    parts.mkdir(exist_ok=True)
    for vid, entry in meta["videos"].items():
        atomic_write_json(parts / f"{_safe_name(vid)}.json", {"video_id": vid, "entry": entry})


def locater_expressions(meta: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """Locater's `A2D_<TYPE>_test_expressions.json` content (and `vid_frame_dict`) from our meta_expressions.

    Keys are sequence names, frames are stored without extension, and each expression (keyed by our expression
    id, which also names Locater's `<seq>_<obj>_<frame>.pth` mask files) lists its scored frames as `labels`."""
    out, counts = {}, {}
    for vid, entry in meta["videos"].items():
        exps = {}
        for eid, e in entry.get("expressions", {}).items():
            exps[eid] = {"exp": e["exp"], "labels": list(e.get("frames", []))}
        out[vid] = {"frames": list(entry["frames"]), "expressions": exps}
        counts[vid] = len(entry["frames"])
    return out, counts


def _export_locater(ds: Dataset, out: Path, names: dict[str, str]) -> None:
    base = out / "locater" / "A2D_SUBSET"
    for s, name in names.items():
        meta = json.loads((out / name / "meta_expressions.json").read_text())
        exps, counts = locater_expressions(meta)
        t = LOCATER_TYPES[s]
        atomic_write_text(base / t / f"A2D_{t}_test_expressions.json", json_dumps_canonical(exps, indent=None))
        atomic_write_text(base / t / "vid_frame_dict.json", json_dumps_canonical(counts, indent=None))
    norm: dict[str, Any] = {"videos": {}}
    vids = ds.videos()
    for e in ds.expressions():
        entry = norm["videos"].setdefault(e.video_id, {"frames": list(vids[e.video_id].frames), "expressions": {}})
        entry["expressions"][e.id] = {"exp": e.text, "frames": list(ds.expression_frames(e))}
    exps, counts = locater_expressions(norm)
    atomic_write_text(base / "NORM" / "A2D_NORM_test_expressions.json", json_dumps_canonical(exps, indent=None))
    atomic_write_text(base / "NORM" / "vid_frame_dict.json", json_dumps_canonical(counts, indent=None))


__all__ = ["BuildOptions", "OWN_FILES", "STAGES", "STATE_DIR", "SrlRecord", "TestQuery", "build", "load_a2d",
           "locater_expressions", "make_specs", "preflight", "run_srl", "test_queries"]
