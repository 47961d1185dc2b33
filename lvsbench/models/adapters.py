"""Adapters that let `lvsbench run` use the reference models: `locater` (online) and `urvos` (whole video).

    lvsbench run locater --checkpoint runs/locater/ckpt.pt --dataset a2d --root data/a2d --split test --out preds/

Both read a checkpoint written by `lvsbench train` (model, tokeniser and recipe travel in it; strict loading), resize
frames to the model size with the same function as training (`lvsbench.models.data.resize_uint8`) and return
foreground probabilities at the model size with a per-frame confidence; the runner resizes them to the frame size
(bilinear) and thresholds at 0.5.

- `locater` declares `temporal="online"`: `init_state` writes the global memory from frames sampled over the whole
  video (decoded through the `VideoHandle`, once per video), and each clip carries the local memory forward. The
  expressions of a video are segmented as one batch.
- `urvos` declares `needs_full_video=True`, because its two-stage inference picks an anchor frame among all frames
  and propagates from it to both ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lvsbench.adapters.base import Adapter, Capabilities, Clip, Prediction, Query, SetupContext, VideoHandle
from lvsbench.core.errors import ConfigError


@dataclass(frozen=True)
class ModelOptions:
    """`checkpoint`: the ckpt.pt to load when `--checkpoint` is not given; `threads`: CPU threads (0 = torch's
    default)."""

    checkpoint: Path | None = None
    threads: int = 0


class _ModelAdapter(Adapter):
    Options = ModelOptions
    options: ModelOptions
    model_name = ""

    def setup(self, ctx: SetupContext) -> None:
        import torch

        from lvsbench.models.train import load_checkpoint

        path = ctx.checkpoint or self.options.checkpoint
        if path is None:
            raise ConfigError(f"adapter {self.name}: needs --checkpoint (a ckpt.pt written by `lvsbench train "
                              f"{self.model_name}`)")
        if self.options.threads > 0:
            torch.set_num_threads(self.options.threads)
        self.device = torch.device(ctx.device)
        self.bundle = load_checkpoint(path, self.device, model=self.model_name)
        self.checkpoint = Path(path)

    def info(self) -> dict[str, Any]:
        b = getattr(self, "bundle", None)
        if b is None:
            return {}
        return {"model": b.name, "checkpoint": str(self.checkpoint), "recipe": b.recipe.name,
                "recipe_sha256": b.meta.get("recipe_sha256"), "step": b.meta.get("step"),
                "size": list(b.size), "blank_expression": b.blank,
                "parameters": int(sum(p.numel() for p in b.model.parameters()))}

    def _inputs(self, frames_u8: Any) -> Any:
        from lvsbench.models.data import normalise, resize_uint8

        return normalise(resize_uint8(frames_u8, self.bundle.size))

    def _ids(self, queries: Sequence[Query]) -> Any:
        import torch

        from lvsbench.models.evaluate import texts_for

        texts = texts_for(self.bundle, [q.text for q in queries])
        return torch.from_numpy(self.bundle.tokenizer.encode(texts)).to(self.device)


class LocaterAdapter(_ModelAdapter):
    """lvsbench's Locater-style memory transformer (see `lvsbench.models.locater`), trained by `lvsbench train`."""

    name = "locater"
    description = "Locater-style local-global memory transformer (lvsbench reference model; needs --checkpoint)"
    capabilities = Capabilities(temporal="online", needs_torch=True, autocast_bf16=True)
    model_name = "locater"

    def setup(self, ctx: SetupContext) -> None:
        super().setup(ctx)
        self._global: dict[str, tuple[Any, Any]] = {}

    def _global_frames(self, video: VideoHandle) -> tuple[Any, Any]:
        """The N1 global-memory frames (and the frame before each, for `frame_difference`), decoded once per
        video."""
        import torch

        from lvsbench.models.locater import global_indices

        if video.id not in self._global:
            cfg = self.bundle.model.cfg
            idx = global_indices(video.num_frames, cfg.global_frames)
            want = sorted(set(idx) | ({max(0, i - 1) for i in idx} if cfg.frame_difference else set()))
            rgb = video.read([video.frames[i] for i in want])
            x = self._inputs(torch.from_numpy(rgb).permute(0, 3, 1, 2).to(self.device))
            pos = {i: k for k, i in enumerate(want)}
            g = x[[pos[i] for i in idx]]
            gp = x[[pos[max(0, i - 1)] for i in idx]] if cfg.frame_difference else None
            self._global = {video.id: (g, gp)}  # one video at a time: the runner streams videos
        return self._global[video.id]

    def init_state(self, video: VideoHandle, query: Query) -> Any:
        g, gp = self._global_frames(video)
        return self.bundle.model.begin(self._ids([query]), g, gp)

    def predict(self, clip: Clip, queries: Sequence[Query], states: Sequence[Any]) -> list[Prediction]:
        import torch

        from lvsbench.models.locater import LocaterState
        from lvsbench.models.urvos import confidence

        model = self.bundle.model
        x = self._inputs(clip.to_device(self.device))
        # The expressions of a video have seen the same frames, so their states stack into one batch.
        fresh = [s.local_mem is None for s in states]
        if any(fresh) and not all(fresh):
            raise RuntimeError("locater adapter: states of one predict call are out of step")
        st = LocaterState(
            words=torch.cat([s.words for s in states]), word_pad=torch.cat([s.word_pad for s in states]),
            global_mem=torch.cat([s.global_mem for s in states]),
            local_mem=None if fresh[0] else torch.cat([s.local_mem for s in states]),
            prev_frame=states[0].prev_frame)
        probs = []
        with torch.no_grad():
            for t in range(x.shape[0]):
                logits, st = model.step(x[t], st)
                probs.append(torch.sigmoid(logits.float()))
        p = torch.stack(probs, dim=1)
        conf = confidence(p)
        for i, s in enumerate(states):
            s.local_mem = st.local_mem[i:i + 1]
            s.prev_frame = st.prev_frame
        return [Prediction(masks=p[i], scores=conf[i]) for i in range(len(states))]

    def end_video(self, video: VideoHandle, queries: Sequence[Query], states: Sequence[Any]) -> None:
        self._global.pop(video.id, None)


class UrvosAdapter(_ModelAdapter):
    """lvsbench's URVOS-style model with memory attention and two-stage (anchor + propagation) inference."""

    name = "urvos"
    description = "URVOS-style cross-modal + memory attention, two-stage inference (lvsbench reference model; " \
                  "needs --checkpoint)"
    capabilities = Capabilities(needs_full_video=True, needs_torch=True, autocast_bf16=True)
    model_name = "urvos"

    def predict(self, clip: Clip, queries: Sequence[Query], states: Sequence[Any]) -> list[Prediction]:
        import torch

        x = self._inputs(clip.to_device(self.device))
        with torch.no_grad():
            p, conf, _ = self.bundle.model.segment_video(x, self._ids(queries))
        return [Prediction(masks=p[i].float(), scores=conf[i].float()) for i in range(len(queries))]


ADAPTERS: dict[str, str] = {
    "locater": "lvsbench.models.adapters:LocaterAdapter",
    "urvos": "lvsbench.models.adapters:UrvosAdapter",
}
"""The lines to add to `lvsbench.adapters.registry.BUILTIN_ADAPTERS`."""


__all__ = ["ADAPTERS", "LocaterAdapter", "ModelOptions", "UrvosAdapter"]
