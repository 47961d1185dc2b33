"""The adapter protocol: the public plug-in API through which lvsbench runs a model.

An adapter answers typed requests and nothing else; the runner (`lvsbench.run.runner`) owns everything around it:
which videos and expressions, frame decoding (in a worker thread, pinned memory on CUDA), batching of frames into
clips and of a video's expressions into one call, autocast, resizing and thresholding of the masks, writing the
prediction formats `lvsbench score` reads, resume, sharding and timing. This is the split of EleutherAI's
lm-evaluation-harness (the harness builds and batches requests, the model answers them) applied to referring video
segmentation, with detectron2's setup / inference / teardown life cycle.

Life cycle of one run::

    adapter = AdapterClass(AdapterClass.parse_options({"key": "value"}))   # `--option key=value`
    adapter.setup(SetupContext(device="cuda", checkpoint=..., dataset=... only if needs_ground_truth))
    for each video (streamed, never the whole dataset in memory):
        states = [adapter.init_state(video, q) for q in queries]           # per (video, expression)
        for clip in clips of the video (consecutive chunks of <= --batch-frames frames, in order):
            predictions = adapter.predict(clip, queries, states)          # one Prediction per query
        adapter.end_video(video, queries, states)
    adapter.close()

How the clips are cut is chosen by the adapter's `Capabilities`:

- `per_frame=True`: an image-level model; only the frames whose predictions are written are fed, in batches of
  `--batch-frames` (A2D: the few annotated frames of each video, not the whole video).
- `temporal="clip"` (default): clips are independent; a per-frame model (URVOS baseline, CLIPSeg) or a clip model
  (MTTR window, ReferFormer chunks) sees consecutive chunks of at most `--batch-frames` frames
  (or `max_clip_frames`, whichever is smaller).
- `temporal="online"`: the same consecutive chunks, always in video order, with the per-(video, expression) state
  object carried from chunk to chunk; this is how a Locater / OnlineRefer-style model with a local memory updated
  frame by frame is expressed. A global memory built from frames sampled over the whole video is written in
  `init_state`, which gets a `VideoHandle` that can decode any frame (`video.read(video.sample_uniform(3))`).
- `needs_full_video=True`: one clip holding every frame of the video (ReferFormer's whole-video inference, URVOS's
  two-stage anchor-and-propagate inference). Memory grows with video length; prefer the online mode.
- `context_frames=W`: instead of every frame, the runner feeds, for each frame whose prediction is needed, a window
  of W consecutive frames centred on it (MTTR's and ReferFormer's A2D evaluation: a window around the annotated
  frame); only the centre frame's prediction is used.

Masks may be probabilities (float in [0, 1], thresholded by the runner at `> 0.5`), logits are not accepted, or
binary (bool / uint8 0-1). They may be at any resolution: the runner resizes them to the frame size (bilinear for
probabilities, nearest for binary), as MTTR and ReferFormer do before thresholding. Per-frame scores travel with the
masks into the COCO results JSON (A2D / J-HMDB mAP) and the run's per-frame score files (DEVA-style refiners).
Optionally an adapter returns K scored candidates per frame; COCO mAP ranks all of them, every other output takes the
top-1 (highest score; the last listed among ties, which is MTTR's P@K rule).

torch is optional: nothing here imports it at module level, so bound adapters (oracle, empty, full, random) run
without it. Arrays may be numpy arrays or torch tensors (on any device); the runner moves them to the CPU.
"""

from __future__ import annotations

import abc
import dataclasses
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from lvsbench.core.errors import ConfigError, did_you_mean
from lvsbench.core.io import to_jsonable
from lvsbench.core.records import normalize_text

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from lvsbench.datasets.base import Dataset

ArrayLike = Any
"""A numpy array or a torch tensor (any device); kept as `Any` so this module never imports torch."""

Temporal = Literal["clip", "online"]


# ---------------------------------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Capabilities:
    """What an adapter needs from the runner and what it returns (declared once per adapter class).

    - `temporal`: "clip" (clips independent) or "online" (consecutive clips in video order, state carried over).
    - `per_frame`: each frame's output depends on that frame alone (an image-level model, the bound adapters):
      the runner then feeds only the frames whose predictions are written (A2D: the annotated frames), batched.
    - `needs_full_video`: every frame of a video in one clip.
    - `context_frames`: feed a window of this many frames around each output frame instead of every frame.
    - `max_clip_frames`: upper bound on frames per clip (the runner uses min(--batch-frames, this)).
    - `clip_frames`: exact clip length the model was evaluated with (MTTR's window); overrides --batch-frames.
    - `max_queries`: upper bound on expressions per `predict` call (None: all expressions of the video at once).
    - `needs_ground_truth`: receives the dataset in `SetupContext.dataset` (bound adapters only; a model that
      declares it is not a model).
    - `needs_torch`: import torch before setup (the runner then records torch / CUDA versions and peak memory).
    - `devices`: device kinds it runs on ("cpu", "cuda").
    - `autocast_bf16`: the runner may wrap `predict` in `torch.autocast("cuda", torch.bfloat16)`.
    - `candidates`: returns K scored candidates per frame (COCO mAP ranks all of them).
    - `deterministic`: the same inputs give the same outputs (resume and shard merging are then bit-identical).
    """

    temporal: Temporal = "clip"
    per_frame: bool = False
    needs_full_video: bool = False
    context_frames: int | None = None
    max_clip_frames: int | None = None
    clip_frames: int | None = None
    max_queries: int | None = None
    needs_ground_truth: bool = False
    needs_torch: bool = False
    devices: frozenset[str] = frozenset({"cpu", "cuda"})
    autocast_bf16: bool = False
    candidates: bool = False
    deterministic: bool = True

    def __post_init__(self) -> None:
        if self.temporal not in ("clip", "online"):
            raise ValueError(f"temporal must be 'clip' or 'online', got {self.temporal!r}")
        if self.context_frames is not None and (self.context_frames < 1 or self.temporal == "online"):
            raise ValueError("context_frames must be >= 1 and cannot be combined with temporal='online'")
        if self.context_frames is not None and self.needs_full_video:
            raise ValueError("context_frames and needs_full_video are exclusive")
        if self.per_frame and (self.temporal == "online" or self.needs_full_video or self.context_frames):
            raise ValueError("per_frame excludes temporal='online', needs_full_video and context_frames")
        for name in ("max_clip_frames", "clip_frames", "max_queries"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"{name} must be >= 1 or None")
        if not isinstance(self.devices, frozenset):
            object.__setattr__(self, "devices", frozenset(self.devices))

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["devices"] = sorted(self.devices)
        return d


@dataclass(frozen=True)
class NoOptions:
    """Options of an adapter that takes none."""


@dataclass(frozen=True)
class SetupContext:
    """What `Adapter.setup` gets from the runner.

    `device` is a torch device string ("cpu", "cuda", "cuda:1"). `dataset` is set only for adapters that declare
    `needs_ground_truth` (None otherwise, so a model cannot peek at the labels). `checkpoint` is `--checkpoint`.
    `protocol` is the scoring protocol the outputs are written for (a2d, jhmdb, ryvos, rdavis, ...), which tells a
    model whether to return K candidates (A2D / J-HMDB COCO mAP) or one trajectory.
    `seed` seeds any randomness; adapters must derive per-(video, expression, frame) randomness from it (see
    `lvsbench.adapters.bound.derived_rng`) so that resumed and sharded runs equal a single run. `autocast` says
    whether bf16 autocast is on for this run. `log` prints a line to the user (through tqdm).
    """

    device: str = "cpu"
    dataset_name: str = ""
    protocol: str = ""
    split: str = ""
    checkpoint: Path | None = None
    dataset: Dataset | None = None
    seed: int = 0
    autocast: bool = False
    work_dir: Path | None = None
    log: Callable[[str], None] = print


# ---------------------------------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Query:
    """One referring expression to segment: the adapter-facing view of an `Expression`.

    Ground-truth fields (object ids) are deliberately absent. `output_frames` are the frames on which this
    expression's masks are written (the runner ignores predictions on other frames; an adapter may skip them).
    """

    video_id: str
    exp_id: str
    text: str
    output_frames: tuple[str, ...] = ()

    @property
    def normalized_text(self) -> str:
        """`" ".join(text.lower().split())`, what MTTR and ReferFormer feed their text encoders."""
        return normalize_text(self.text)


class VideoHandle:
    """A video as the adapter sees it: metadata plus random access to any frame (decoded on demand).

    Random access serves models that need frames outside the current clip, e.g. Locater's global memory written
    from frames sampled evenly over the whole video.
    """

    def __init__(self, video_id: str, frames: tuple[str, ...], height: int, width: int,
                 reader: Callable[[str], np.ndarray], output_frames: tuple[str, ...] = (),
                 metadata: Mapping[str, Any] | None = None) -> None:
        self.id = video_id
        self.frames = tuple(frames)
        self.height = int(height)
        self.width = int(width)
        self.output_frames = tuple(output_frames)
        self.metadata: Mapping[str, Any] = types.MappingProxyType(dict(metadata or {}))
        self._reader = reader
        self._index = {name: i for i, name in enumerate(self.frames)}

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    def index(self, frame: str) -> int:
        """Position of a frame in the video (0-based)."""
        return self._index[frame]

    def read(self, names: Sequence[str]) -> np.ndarray:
        """Decode frames by name: uint8 (T, H, W, 3)."""
        if not names:
            return np.zeros((0, self.height, self.width, 3), dtype=np.uint8)
        return np.stack([self._reader(n) for n in names])

    def sample_uniform(self, n: int) -> tuple[str, ...]:
        """`n` frames evenly spaced over the video, first and last included (Locater's global-memory sampling)."""
        if n <= 0 or not self.frames:
            return ()
        if n >= len(self.frames):
            return self.frames
        idx = np.round(np.linspace(0, len(self.frames) - 1, n)).astype(int)
        return tuple(self.frames[i] for i in idx)

    def __repr__(self) -> str:
        return f"VideoHandle({self.id!r}, {self.num_frames} frames, {self.height}x{self.width})"


@dataclass(frozen=True)
class Clip:
    """Consecutive frames of one video handed to `Adapter.predict`.

    `frames` is uint8 RGB (T, H, W, 3) in host memory (pinned when the run is on CUDA, see `to_device`).
    `indices` are the frames' positions in the video; `first` / `last` say whether the clip starts / ends the video.
    `outputs` are the frames of this clip whose predictions the runner keeps (for `context_frames` windows: the
    centre frame only).
    """

    video: VideoHandle
    names: tuple[str, ...]
    indices: tuple[int, ...]
    frames: np.ndarray
    outputs: tuple[str, ...] = ()
    first: bool = False
    last: bool = False
    pinned: Any = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.names)

    @cached_property
    def _cache(self) -> dict[str, Any]:
        return {}

    def to_device(self, device: str | torch.device, channels_first: bool = True) -> torch.Tensor:
        """The frames as a uint8 torch tensor on `device`: (T, 3, H, W) by default, (T, H, W, 3) otherwise.

        Copies from pinned host memory with `non_blocking=True` when the runner pinned the clip (CUDA runs), so the
        copy overlaps the previous clip's compute. Cached per device and layout.
        """
        import torch

        key = f"{device}|{channels_first}"
        if key in self._cache:
            return self._cache[key]
        host = self.pinned if self.pinned is not None else torch.from_numpy(np.ascontiguousarray(self.frames))
        t = host.to(device, non_blocking=self.pinned is not None)
        if channels_first:
            t = t.permute(0, 3, 1, 2)
        self._cache[key] = t
        return t


# ---------------------------------------------------------------------------------------------------- answers


@dataclass
class Prediction:
    """An adapter's answer for one query on one clip: one entry per frame of the clip, in clip order.

    - `masks`: (T, h, w) probabilities in [0, 1] (float) or binary (bool / 0-1 ints). Any resolution; the runner
      resizes to the frame size. May be None when `candidates` is given (the top-1 candidate is used).
    - `scores`: (T,) confidence of each frame's mask (default 1.0). Written to COCO results and per-frame scores.
    - `candidates`: (T, K, h, w) K candidate masks per frame (probabilities or binary); `candidate_scores`: (T, K).
      COCO results (A2D / J-HMDB mAP) list every candidate; other formats use the top-1 when `masks` is None.
    """

    masks: ArrayLike | None = None
    scores: ArrayLike | None = None
    candidates: ArrayLike | None = None
    candidate_scores: ArrayLike | None = None

    def __post_init__(self) -> None:
        if self.masks is None and self.candidates is None:
            raise ValueError("a Prediction needs masks or candidates")
        if (self.candidates is None) != (self.candidate_scores is None):
            raise ValueError("candidates and candidate_scores go together")


# ---------------------------------------------------------------------------------------------------- the adapter


class Adapter(abc.ABC):
    """Base class of every adapter (built-in, external checkout, or plug-in from an installed package).

    Subclasses set `name`, `capabilities` and, when they take options, `Options` (a frozen dataclass whose fields
    have defaults; `--option key=value` strings are converted to the field types). Register a plug-in through the
    entry-point group `lvsbench.adapters` (see `lvsbench.adapters.registry`).

    The runner reads `capabilities` from the instance: the class attribute before `setup` (devices, torch), and
    again after `setup`, so an adapter may refine it there from its options or the dataset (e.g. MTTR's window
    becomes `clip_frames` on Refer-YouTube-VOS and `context_frames` on A2D).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    Options: ClassVar[type] = NoOptions

    def __init__(self, options: Any = None) -> None:
        self.options = options if options is not None else self.Options()

    # ------------------------------------------------------------------ configuration

    @classmethod
    def parse_options(cls, raw: Mapping[str, Any]) -> Any:
        """Build `Options` from `key=value` strings (or already typed values); unknown keys are a ConfigError."""
        return parse_dataclass_options(cls.Options, raw, f"adapter {cls.name or cls.__name__}")

    def config(self) -> dict[str, Any]:
        """The resolved options, recorded in run.json and compared on --resume."""
        if dataclasses.is_dataclass(self.options):
            return {k: to_jsonable(v) for k, v in dataclasses.asdict(self.options).items()}
        return {}

    def resolve_device(self, requested: str) -> str | None:
        """Override to resolve `--device` yourself (e.g. a subprocess with its own torch); None: the runner does."""
        return None

    # ------------------------------------------------------------------ life cycle

    def setup(self, ctx: SetupContext) -> None:  # noqa: B027 - optional hook
        """Load weights and move to `ctx.device`. Called once, before any video."""

    def init_state(self, video: VideoHandle, query: Query) -> Any:
        """Create the per-(video, expression) state (online memory, running statistics). Default: None."""
        return None

    @abc.abstractmethod
    def predict(self, clip: Clip, queries: Sequence[Query], states: Sequence[Any]) -> Sequence[Prediction]:
        """Segment each query on the clip's frames. Returns one `Prediction` per query, in order."""

    def end_video(self, video: VideoHandle, queries: Sequence[Query], states: Sequence[Any]) -> None:  # noqa: B027
        """Called after the last clip of a video (release per-video caches)."""

    def info(self) -> dict[str, Any]:
        """Facts to record in run.json after setup (e.g. a checkpoint's missing / unexpected keys)."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (subprocess workers, GPU memory)."""


# ---------------------------------------------------------------------------------------------------- helpers


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(value: Any, annotation: Any, where: str) -> Any:
    """Convert a CLI string to a dataclass field's annotated type (bool, int, float, str, Path, Optional, Literal)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            if type(None) in args:
                return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(value, a, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: cannot convert {value!r}")
    if origin is Literal:
        for a in args:
            if str(a) == str(value):
                return a
        raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
    if not isinstance(value, str):
        return value
    try:
        if annotation is bool:
            low = value.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError(value)
        if annotation is int:
            return int(value)
        if annotation is float:
            return float(value)
        if annotation is Path:
            return Path(value).expanduser()
    except ValueError as exc:
        raise ConfigError(f"{where}: {value!r} is not a valid {getattr(annotation, '__name__', annotation)}") from exc
    return value


def parse_dataclass_options(options_cls: type, raw: Mapping[str, Any], what: str) -> Any:
    """Instantiate a dataclass from string options, naming the unknown key and the known ones on error."""
    if not dataclasses.is_dataclass(options_cls):
        raise TypeError(f"{what}: Options must be a dataclass, got {options_cls!r}")
    hints = typing.get_type_hints(options_cls)
    fields = {f.name: f for f in dataclasses.fields(options_cls) if f.init}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in fields:
            known = ", ".join(sorted(fields)) or "(none)"
            raise ConfigError(f"{what}: unknown option {key!r}{did_you_mean(name, fields)}; known options: {known}")
        kwargs[name] = _convert(value, hints.get(name, str), f"{what} option {key}")
    try:
        return options_cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what}: {exc}") from exc


def parse_key_values(items: Sequence[str]) -> dict[str, str]:
    """`["a=1", "b=x"]` (the `--option` flags) to a dict of strings; the adapter's `Options` type hints convert
    them (`parse_dataclass_options`)."""
    from lvsbench.core.options import split_key_values

    return split_key_values(items, "--option")


__all__ = ["Adapter", "ArrayLike", "Capabilities", "Clip", "NoOptions", "Prediction", "Query", "SetupContext",
           "Temporal", "VideoHandle", "parse_dataclass_options", "parse_key_values"]
