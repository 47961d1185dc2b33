"""Composition of the A2D-S+ subsets (Locater, TPAMI 2023): multi-actor, spatial and temporal contrasting videos.

- **A2D-S_m**: the A2D-S test videos with at least `min_actors` (2) described actors, copied with all their queries.
- **A2D-S_s**: query video and partner video side by side. The partner is resized to the query's height keeping its
  aspect ratio (`partner_width`), and mapped to the query's T frames by `partner_frame_map` (a T-frame window that
  keeps the most partner annotated frames, or, when the partner is shorter, all its frames then its last frame
  repeated: the padding). Query on the left unless `order="partner-first"`. Every actor keeps its mask: query objects
  keep their ids, partner objects get `PARTNER_OFFSET` + id. Label maps are written on the query's annotated frames
  (partner objects appear where the mapped partner frame is annotated; elsewhere the partner half is background).
- **A2D-S_t**: the query's T frames, then T partner frames resized (stretched) to the query's resolution and
  sampled over the partner's whole duration (`partner_time_samples`; or partner first with
  `order="partner-first"`). The query's target is empty on every partner frame, and
  both halves' annotated frames are scored: each expression lists the query's scored frames and the partner's
  annotated frames (`Expression.frames`), so an empty prediction there scores IoU 1 under Locater's rule.

Output frames are renumbered `00001...` contiguously (Locater's loader needs it). Pure geometry helpers are separate
from I/O so they are tested directly.

Size: the geometry, the planning and the pixels of one composition, with the per-worker source cache
(`FrameCache`) that the pixels come from; the cache's keys are the plan's (source, frame, size), so they stay
together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lvsbench.core.errors import DataFormatError, LvsbenchError
from lvsbench.core.records import VOID_LABEL, Expression, FrameMasks, Video
from lvsbench.datasets.base import Dataset
from lvsbench.datasets.layout import EncodedFrame, LayoutWriter

PARTNER_OFFSET = 100
"""Object ids of the partner video's actors in composed videos: A2D instance ids are 0..15, so ids 101..116."""

ORDERS = ("query-first", "partner-first")
SOURCE_DATASET = "a2d"
"""The dataset the A2D-S+ subsets are built from (Locater, Liang et al. TPAMI'23, §4: A2D-Sentences test)."""
SUBSET_NAMES = {"multi": "a2d-plus-m", "spatial": "a2d-plus-s", "temporal": "a2d-plus-t"}
LOCATER_TYPES = {"multi": "MUL", "spatial": "SPAT", "temporal": "TEMP", "test": "NORM"}


class SourceError(LvsbenchError):
    """A source video could not be read; `video_id` says which (so the pair can be resampled)."""

    def __init__(self, video_id: str, cause: Exception) -> None:
        self.video_id = video_id
        super().__init__(f"source video {video_id} is unreadable: {cause}")


def frame_name(index0: int) -> str:
    """Output frame name of 0-based position `index0`: `00001` for 0 (1-based, 5 digits, as A2D and Locater)."""
    return f"{index0 + 1:05d}"


def partner_width(query_hw: tuple[int, int], partner_hw: tuple[int, int]) -> int:
    """Width of the partner resized to the query's height with its aspect ratio kept (rounded, >= 1)."""
    qh, _ = query_hw
    ph, pw = partner_hw
    return max(1, int(round(pw * qh / ph)))


def partner_frame_map(t_query: int, t_partner: int, partner_annotated: Sequence[int] = ()) -> list[int]:
    """0-based partner frame index for each of the query's `t_query` positions.

    Longer partner: the contiguous window of `t_query` frames containing the most partner annotated frames (the
    earliest such window), so as many partner annotated frames as possible survive the truncation. Shorter partner:
    all its frames, then its last frame repeated (padding).
    """
    if t_query <= 0 or t_partner <= 0:
        raise ValueError("videos need at least one frame")
    if t_partner <= t_query:
        return list(range(t_partner)) + [t_partner - 1] * (t_query - t_partner)
    ann = sorted(set(a for a in partner_annotated if 0 <= a < t_partner))
    best_start, best_count = 0, -1
    for start in range(t_partner - t_query + 1):
        count = sum(1 for a in ann if start <= a < start + t_query)
        if count > best_count:
            best_start, best_count = start, count
    return list(range(best_start, best_start + t_query))


def partner_time_samples(t_query: int, t_partner: int, partner_annotated: Sequence[int] = ()) -> list[int]:
    """0-based partner frame index for each of the T = `t_query` partner positions of an A2D-S_t video: the T
    frames "sampled from the contrasting video" (Locater §4.1) over its whole duration.

    Position k takes partner frame floor((k + 1/2) * T_p / T), the centre of the k-th of T equal time slices, so a
    longer partner is subsampled evenly from start to end and a shorter one is slowed down evenly (each frame shown
    T / T_p times) instead of freezing its last frame. Each partner annotated frame then replaces the sample of the
    slice centre nearest to it unless another annotated frame took that position first, so the partner's
    ground-truth frames are kept wherever T allows without giving up the even spread (nearness to a sample already
    moved would let a second annotated frame pull the last sample away from the partner's end).
    """
    if t_query <= 0 or t_partner <= 0:
        raise ValueError("videos need at least one frame")
    centres = [min(t_partner - 1, ((2 * k + 1) * t_partner) // (2 * t_query)) for k in range(t_query)]
    out = list(centres)
    fixed: set[int] = set()
    for a in sorted(set(a for a in partner_annotated if 0 <= a < t_partner)):
        if a in out:
            fixed.add(out.index(a))
            continue
        k = min(range(t_query), key=lambda i: (abs(centres[i] - a), i))  # nearest slice centre, not a moved sample
        if k in fixed or (k > 0 and out[k - 1] > a) or (k + 1 < t_query and out[k + 1] < a):
            continue
        out[k] = a
        fixed.add(k)
    return out


def offset_labels(lab: np.ndarray, offset: int) -> np.ndarray:
    """Label map with object ids shifted by `offset` (0 and void stay)."""
    out = lab.astype(np.int32)
    objs = (out != 0) & (out != VOID_LABEL)
    if objs.any() and int(out[objs].max()) + offset >= VOID_LABEL:
        raise LvsbenchError(f"object id {int(out[objs].max())} + offset {offset} does not fit a uint8 label map")
    out[objs] += offset
    return out.astype(np.uint8)


def offset_masks(fm: FrameMasks, offset: int) -> FrameMasks:
    """`offset_labels` of a frame's ground truth, overlapping objects' full masks included."""
    return FrameMasks(offset_labels(fm.labels, offset), {o + offset: m for o, m in fm.overlapping.items()})


def resize_masks(fm: FrameMasks, hw: tuple[int, int]) -> FrameMasks:
    """`resize_labels` (nearest) of a frame's ground truth; full masks are sampled at the same positions."""
    if fm.shape == hw:
        return fm
    return FrameMasks(resize_labels(fm.labels, hw),
                      {o: resize_labels(m.astype(np.uint8), hw).astype(bool) for o, m in fm.overlapping.items()})


def hconcat_masks(left: FrameMasks, right: FrameMasks) -> FrameMasks:
    """Side-by-side ground truth; an overlapping object's full mask is padded with background on the other side."""
    over = {o: hconcat(m, np.zeros(right.shape, dtype=bool)) for o, m in left.overlapping.items()}
    over.update({o: hconcat(np.zeros(left.shape, dtype=bool), m) for o, m in right.overlapping.items()})
    return FrameMasks(hconcat(left.labels, right.labels), over)


def resize_rgb(rgb: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    import cv2

    if rgb.shape[:2] == hw:
        return rgb
    return cv2.resize(rgb, (hw[1], hw[0]), interpolation=cv2.INTER_AREA if hw[0] < rgb.shape[0] else
                      cv2.INTER_LINEAR)


def resize_labels(lab: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    import cv2

    if lab.shape[:2] == hw:
        return lab
    return cv2.resize(lab, (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST)


def hconcat(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    if left.shape[0] != right.shape[0]:
        raise ValueError(f"heights differ: {left.shape[0]} != {right.shape[0]}")
    return np.concatenate([left, right], axis=1)


# ---------------------------------------------------------------------------------------------- specifications


@dataclass(frozen=True)
class QuerySpec:
    """A query placed in a composed video: its expression id, text, object ids and scored source frames."""

    exp_id: str
    text: str
    object_ids: tuple[int, ...]
    frames: tuple[str, ...]


@dataclass(frozen=True)
class CompositionSpec:
    """One output video of a subset: what to read and how to lay it out (JSON-able; its hash identifies it)."""

    subset: str  # multi | spatial | temporal
    video_id: str
    query_video: str
    queries: tuple[QuerySpec, ...]
    partner_video: str | None = None
    order: str = "query-first"
    partner_exps: tuple[str, ...] = field(default=())

    def signature(self) -> str:
        data = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(data).hexdigest()


def composed_id(query_video: str, partner_video: str) -> str:
    return f"{query_video}+{partner_video}"


# ---------------------------------------------------------------------------------------------- planning


@dataclass
class PlannedVideo:
    """Geometry and labels of a composed video, computed before any frame is read."""

    video: Video
    masks: dict[str, FrameMasks]
    """Ground truth per annotated output frame (label map + full masks of overlapping objects)."""
    expressions: list[Expression]
    objects: dict[int, dict[str, Any]]
    frame_plan: list[tuple[str, int | None, int | None]]
    """Per output frame: (source, query index, partner index); source is "query", "partner" or "both"."""
    partner_hw: tuple[int, int] | None = None

    @property
    def labels(self) -> dict[str, np.ndarray]:
        """Label maps of the annotated output frames (where objects overlap they hold one of them)."""
        return {f: m.labels for f, m in self.masks.items()}


def _objects(ds: Dataset, vid: str, offset: int, role: str) -> dict[int, dict[str, Any]]:
    cats = ds.object_categories(vid)
    out = {}
    for o in ds.object_ids(vid):
        out[o + offset] = {"category": cats.get(o, ""), "source": role, "source_video": vid, "source_object": o}
    return out


def _check_ids(ds: Dataset, vid: str) -> None:
    big = [o for o in ds.object_ids(vid) if o >= PARTNER_OFFSET]
    if big:
        raise LvsbenchError(f"video {vid}: object ids {big} collide with the partner offset {PARTNER_OFFSET}")


def _labels(ds: Dataset, vid: str, cache: FrameCache | None) -> dict[str, FrameMasks]:
    """Ground truth of a source video's annotated frames (overlapping A2D instances keep their own masks), read
    once per cached source; a failure names the video (`SourceError`)."""
    if cache is not None:
        return cache.source(ds, vid).masks()
    return _read_labels(ds, vid, ds.annotated_frames(vid))


def _read_labels(ds: Dataset, vid: str, frames: Sequence[str]) -> dict[str, FrameMasks]:
    out = {}
    try:
        for f in frames:
            lab = ds.read_masks(vid, f)
            if lab is not None:
                out[f] = lab
    except (LvsbenchError, OSError, ValueError, KeyError) as exc:
        raise SourceError(vid, exc) from exc
    return out


def plan_composition(ds: Dataset, spec: CompositionSpec, cache: FrameCache | None = None) -> PlannedVideo:
    """Everything about an output video except its pixels: frames, label maps, expressions, objects (the sources'
    ground truth from `cache` when given: its arrays are read-only and shared, every change here makes a copy)."""
    vids = ds.videos()
    q = vids[spec.query_video]
    _check_ids(ds, q.id)
    q_index = {f: i for i, f in enumerate(q.frames)}
    t = q.num_frames
    if spec.subset == "multi":
        labels = dict(_labels(ds, q.id, cache))
        exps = [Expression(s.exp_id, spec.video_id, s.text, s.object_ids, s.frames) for s in spec.queries]
        objects = _objects(ds, q.id, 0, "query")
        video = Video(spec.video_id, q.frames, q.height, q.width)
        return PlannedVideo(video, labels, exps, objects, [("query", i, None) for i in range(t)])
    if spec.partner_video is None:
        raise ValueError(f"{spec.video_id}: a {spec.subset} composition needs a partner video")
    p = vids[spec.partner_video]
    _check_ids(ds, p.id)
    p_ann = ds.annotated_frames(p.id)
    p_index = {f: i for i, f in enumerate(p.frames)}
    p_ann_idx = [p_index[f] for f in p_ann if f in p_index]
    fmap = (partner_time_samples if spec.subset == "temporal" else partner_frame_map)(t, p.num_frames, p_ann_idx)
    q_labels = {q_index[f]: lab for f, lab in _labels(ds, q.id, cache).items() if f in q_index}
    p_labels = {p_index[f]: offset_masks(lab, PARTNER_OFFSET) for f, lab in _labels(ds, p.id, cache).items()
                if f in p_index}
    objects = {**_objects(ds, q.id, 0, "query"), **_objects(ds, p.id, PARTNER_OFFSET, "partner")}
    query_first = spec.order == "query-first"
    labels: dict[str, FrameMasks] = {}
    if spec.subset == "spatial":
        pw = partner_width((q.height, q.width), (p.height, p.width))
        phw = (q.height, pw)
        width = q.width + pw
        for qi, qlab in q_labels.items():
            plab = p_labels.get(fmap[qi])
            right = resize_masks(plab, phw) if plab is not None else FrameMasks(np.zeros(phw, dtype=np.uint8))
            labels[frame_name(qi)] = hconcat_masks(qlab, right) if query_first else hconcat_masks(right, qlab)
        exps = [Expression(s.exp_id, spec.video_id, s.text, s.object_ids,
                           tuple(frame_name(q_index[f]) for f in s.frames if f in q_index)) for s in spec.queries]
        plan = [("both", i, fmap[i]) for i in range(t)]
        video = Video(spec.video_id, tuple(frame_name(i) for i in range(t)), q.height, width)
        return PlannedVideo(video, labels, exps, objects, plan, phw)
    if spec.subset != "temporal":
        raise ValueError(f"unknown subset {spec.subset!r}")
    phw = (q.height, q.width)
    q_off, p_off = (0, t) if query_first else (t, 0)
    for qi, qlab in q_labels.items():
        labels[frame_name(q_off + qi)] = qlab
    seen: set[int] = set()
    partner_scored = []
    for k, pi in enumerate(fmap):
        if pi in p_labels and pi not in seen:  # a partner frame shown at several positions is labelled once
            seen.add(pi)
            labels[frame_name(p_off + k)] = resize_masks(p_labels[pi], phw)
            partner_scored.append(frame_name(p_off + k))
    exps = []
    for s in spec.queries:
        own = [frame_name(q_off + q_index[f]) for f in s.frames if f in q_index]
        exps.append(Expression(s.exp_id, spec.video_id, s.text, s.object_ids,
                               tuple(sorted(own + partner_scored))))
    plan = []
    for k in range(2 * t):
        in_query = (k < t) == query_first
        plan.append(("query", k - q_off, None) if in_query else ("partner", None, fmap[k - p_off]))
    video = Video(spec.video_id, tuple(frame_name(i) for i in range(2 * t)), q.height, q.width)
    return PlannedVideo(video, labels, exps, objects, plan, phw)


# ---------------------------------------------------------------------------------------------- pixels


def _stream(ds: Dataset, vid: str, start: int = 0) -> Iterator[np.ndarray]:
    """The video's frames from position `start` on (the reader skips the first ones without converting them)."""
    try:
        for _, rgb in ds.iter_frames(vid, ds.videos()[vid].frames[start:]) if start else ds.iter_frames(vid):
            yield rgb
    except (LvsbenchError, OSError, ValueError) as exc:
        raise SourceError(vid, exc) from exc


class _Source:
    """The frames of one source video decoded so far (as decoded: deflating them costs more than decoding the mp4
    again, measured), and the live decoder for the rest:
    a video is decoded at most once while it stays in the cache, however many compositions use it, and only as far
    as they need (an unreadable tail fails only a composition that reaches it, as when every composition decoded
    the video itself). Also held, because every composition of the source would redo them: its ground truth (read
    once) and the output files of its whole frames (S_m and both halves of S_t write source frames unchanged or
    only resized: encoded once per size and format, the same bytes since the encoder is deterministic)."""

    def __init__(self, ds: Dataset, vid: str, cache: FrameCache | None = None) -> None:
        self.ds = ds
        self.vid = vid
        self.cache = cache
        self.it: Iterator[np.ndarray] | None = None
        self.ended = False
        self.frames: list[np.ndarray] = []
        self.error: SourceError | None = None
        self.nbytes = 0
        self.gt: dict[str, FrameMasks] | None = None
        self.files: dict[tuple[int, tuple[int, int] | None, str], EncodedFrame] = {}
        self.shapes: list[tuple[int, int]] = []
        """(height, width) of each frame decoded so far, kept when the frames are dropped (`drop_frames`)."""

    def masks(self) -> dict[str, FrameMasks]:
        """Ground truth of the annotated frames (read-only arrays: shared by every composition that reads them)."""
        if self.gt is None:
            gt = _read_labels(self.ds, self.vid, self.ds.annotated_frames(self.vid))
            for fm in gt.values():
                for a in (fm.labels, *fm.overlapping.values()):
                    a.setflags(write=False)
                    self._held(a.nbytes)
            self.gt = gt
        return self.gt

    def encoded(self, index: int, hw: tuple[int, int] | None, writer: LayoutWriter) -> EncodedFrame:
        """`writer.encode_frame` of frame `index` (resized to `hw` unless None or its own size), encoded once."""
        if index >= len(self.shapes):
            self.get(index)
        if hw is not None and self.shapes[index] == hw:
            hw = None  # resize_rgb would return the frame itself
        key = (index, hw, writer.frame_ext)
        enc = self.files.get(key)
        if enc is None:
            rgb = self.get(index)
            enc = self.files[key] = writer.encode_frame(rgb if hw is None else resize_rgb(rgb, hw))
            self._held(len(enc.data))
        return enc

    def _held(self, nbytes: int) -> None:
        self.nbytes += nbytes
        if self.cache is not None:
            self.cache.held += nbytes

    def get(self, index: int) -> np.ndarray:
        while len(self.frames) <= index:
            if self.error is not None:
                raise self.error
            if self.ended:
                raise SourceError(self.vid, DataFormatError(None, f"ends before frame {index + 1}"))
            if self.it is None:  # first use, or the decoder was closed to bound open files: skip what is held
                self._decoder(_stream(self.ds, self.vid, len(self.frames)))
            try:
                rgb = next(self.it)
            except StopIteration:
                self._decoder(None)
                self.ended = True
                continue
            except SourceError as exc:
                self._decoder(None)
                self.error = exc
                raise
            rgb.setflags(write=False)  # shared by every composition that reads it
            self.frames.append(rgb)
            if len(self.shapes) < len(self.frames):
                self.shapes.append((int(rgb.shape[0]), int(rgb.shape[1])))
            self._held(rgb.nbytes)
        return self.frames[index]

    def close(self) -> None:
        if self.it is not None:
            self.it.close()  # type: ignore[attr-defined]
            self._decoder(None)

    def _decoder(self, it: Iterator[np.ndarray] | None) -> None:
        """Set the live decoder (None: ended or closed), keeping the cache's count of open decoders."""
        if self.cache is not None:
            self.cache.open_decoders += (it is not None) - (self.it is not None)
        self.it = it

    def drop_frames(self) -> None:
        """Release the decoded frames, keep the ground truth and encoded files: a later `get` decodes again from
        the start (and meets the same end or error again)."""
        self.close()
        freed = sum(f.nbytes for f in self.frames)
        self.frames, self.ended, self.error = [], False, None
        self._held(-freed)


class FrameCache:
    """Per-process LRU of source videos (`_Source`), bounded by the bytes held (`budget`). The build submits its
    compositions grouped by query video, so a worker composes the compositions of a source while it is cached.
    Frames are the decoder's arrays (read-only), so the outputs are the same bytes. Over budget, the least recently
    used sources first give up their decoded frames (the bulk) and keep their encoded files and ground truth, which
    is all a source needs as a temporal partner; only then are whole sources evicted."""

    def __init__(self, budget: int = 1 << 30) -> None:
        from collections import OrderedDict

        self.budget = budget
        self.max_open = 8
        self.sources: OrderedDict[tuple[int, str], _Source] = OrderedDict()
        self.framed: OrderedDict[tuple[int, str], _Source] = OrderedDict()
        """The sources that may hold frames, least recently used first."""
        self.decoded = 0
        self.open_decoders = 0
        """Sources with a live decoder (kept by `_Source._decoder`: listing them on every lookup cost O(sources))."""
        self.held = 0
        """Bytes held by all sources (kept by `_Source._held`: summing them on every lookup cost O(sources))."""

    def source(self, ds: Dataset, vid: str) -> _Source:
        key = (id(ds), vid)
        src = self.sources.get(key)
        if src is None:
            src = self.sources[key] = _Source(ds, vid, self)
            self.decoded += 1
        self.sources.move_to_end(key)
        self.framed[key] = src
        self.framed.move_to_end(key)
        self._trim(keep=key)
        return src

    def _trim(self, keep: tuple[int, str]) -> None:
        while len(self.framed) > 1 and self.held > self.budget:
            key, src = next(iter(self.framed.items()))
            if key == keep:
                break
            del self.framed[key]
            src.drop_frames()
        while len(self.sources) > 1 and self.held > self.budget:
            key = next(iter(self.sources))
            if key == keep:
                break
            self.framed.pop(key, None)
            gone = self.sources.pop(key)
            gone.close()
            gone.cache = None  # a composition still reading it no longer counts against this cache
            self.held -= gone.nbytes
        if self.open_decoders > self.max_open:
            live = [s for s in self.sources.values() if s.it is not None]
            for s in live[:-self.max_open]:  # the least recently used keep their frames but release their decoder
                s.close()


class _Cursor:
    """Forward-only access to a source video's frames by 0-based index (each frame decoded once), or, with a
    `FrameCache`, random access to the cached video (decoded at most once while cached)."""

    def __init__(self, ds: Dataset, vid: str, cache: FrameCache | None = None) -> None:
        self.vid = vid
        self.src = cache.source(ds, vid) if cache is not None else None
        self.it = _stream(ds, vid) if cache is None else None
        self.pos = -1
        self.frame: np.ndarray | None = None

    def whole(self, index: int, hw: tuple[int, int] | None, writer: LayoutWriter | None) -> np.ndarray | EncodedFrame:
        """Frame `index` resized to `hw` (None: as decoded) for a composed frame that is that frame alone: encoded
        by `writer` once per cached source, else the array."""
        if self.src is not None and writer is not None:
            return self.src.encoded(index, hw, writer)
        rgb = self.get(index)
        return rgb if hw is None else resize_rgb(rgb, hw)

    def get(self, index: int) -> np.ndarray:
        if self.src is not None:
            return self.src.get(index)
        assert self.it is not None
        if index < self.pos:
            raise ValueError("frame map must be non-decreasing")
        while self.pos < index:
            try:
                self.frame = next(self.it)
            except StopIteration as exc:
                raise SourceError(self.vid, DataFormatError(None, f"ends before frame {index + 1}")) from exc
            self.pos += 1
        assert self.frame is not None
        return self.frame


def iter_composed_frames(ds: Dataset, spec: CompositionSpec, plan: PlannedVideo, cache: FrameCache | None = None,
                         writer: LayoutWriter | None = None) -> Iterator[tuple[str, np.ndarray | EncodedFrame]]:
    """The composed frames in order, streaming both sources (the temporal partner-first order reads the partner
    first; every other order reads query and partner forwards), or reading them from `cache`. With `cache` and
    `writer`, a composed frame that is one source frame comes as the writer's encoding of it (`_Source.encoded`)."""
    qc = _Cursor(ds, spec.query_video, cache)
    pc = _Cursor(ds, spec.partner_video, cache) if spec.partner_video else None
    query_first = spec.order == "query-first"
    for name, (src, qi, pi) in zip(plan.video.frames, plan.frame_plan, strict=True):
        if src == "query":
            assert qi is not None
            yield name, qc.whole(qi, None, writer)
        elif src == "partner":
            assert pi is not None and pc is not None and plan.partner_hw is not None
            yield name, pc.whole(pi, plan.partner_hw, writer)
        else:
            assert qi is not None and pi is not None and pc is not None and plan.partner_hw is not None
            left, right = qc.get(qi), resize_rgb(pc.get(pi), plan.partner_hw)
            yield name, hconcat(left, right) if query_first else hconcat(right, left)


_CACHE: FrameCache | None = None


def use_frame_cache(cache: FrameCache | None) -> None:
    """Set the `FrameCache` that `compose_one` uses when none is passed (one per build worker process)."""
    global _CACHE
    _CACHE = cache


def compose_one(ds: Dataset, spec: CompositionSpec, writer: LayoutWriter, cache: FrameCache | None = None) -> None:
    """Plan, then write one composed video through `writer` (a `LayoutWriter`); on any failure the partial video is
    removed before the error propagates, so an output is never half-written. Source frames come from `cache` (else
    the process's `use_frame_cache` one, else each source is decoded for this composition alone)."""
    cache = cache if cache is not None else _CACHE
    try:
        plan = plan_composition(ds, spec, cache)
        writer.add_video(plan.video, iter_composed_frames(ds, spec, plan, cache, writer), plan.masks,
                         plan.expressions, plan.objects)
    except BaseException:
        writer.remove_video(spec.video_id)
        raise


__all__ = ["CompositionSpec", "FrameCache", "LOCATER_TYPES", "ORDERS", "PARTNER_OFFSET", "PlannedVideo", "QuerySpec",
           "SOURCE_DATASET", "SUBSET_NAMES", "SourceError", "compose_one", "composed_id", "frame_name", "hconcat",
           "hconcat_masks", "iter_composed_frames", "offset_labels", "offset_masks", "partner_frame_map",
           "partner_time_samples", "partner_width", "plan_composition", "resize_labels", "resize_masks", "resize_rgb",
           "use_frame_cache"]
