"""A URVOS-style referring video segmentation model with memory attention and two-stage inference.

Reproduces the design of Seo, Lee and Han, "URVOS: Unified Referring Video Object Segmentation Network with a
Large-Scale Benchmark" (ECCV 2020), written from the paper's description (the public repository
skynbe/Refer-Youtube-VOS has only an image-level baseline without memory attention; docs/models.md lists every
difference from the paper):

- cross-modal attention between words and frame features (visual tokens attend to words, words attend back to
  the visual tokens, repeated `cross_layers` times), giving language-aware frame features;
- memory attention: the current frame's features attend to the features of memory frames, whose values carry an
  embedding of those frames' masks (ground truth in training, predictions at inference);
- a decoder from the token grid with a stride-4 skip connection, bilinear upsampling to the input size;
- two-stage inference (`segment_video`): stage 1 segments every frame alone and scores its confidence; the frame of
  highest confidence is the anchor; stage 2 propagates from the anchor to both ends of the video with memory
  attention over at most `memory_size` frames, replacing the least confident memory frame when full.

Confidence of a frame (our definition; the paper does not give a formula): mean foreground probability over the
pixels predicted foreground (p > 0.5), 0 for an empty prediction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from lvsbench.models.layers import BackboneConfig, CrossBlock, PatchEncoder, TextEncoder, sincos_1d, sincos_2d


@dataclass(frozen=True)
class UrvosConfig(BackboneConfig):
    """Model sizes; defaults are the tiny CPU preset (`recipes/train/urvos-paper.toml` has the larger one)."""

    config_name: ClassVar[str] = "urvos"

    cross_layers: int = 2
    memory_layers: int = 1
    memory_size: int = 3



class Maps(NamedTuple):
    """Feature maps for decoding: stride 4, and stride 2 when the decoder refines there."""

    low: torch.Tensor
    fine: torch.Tensor | None = None

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> Maps:
        return Maps(fn(self.low), None if self.fine is None else fn(self.fine))


def confidence(prob: torch.Tensor) -> torch.Tensor:
    """[..., H, W] probabilities -> [...] mean probability over predicted-foreground pixels (0 when empty)."""
    fg = (prob > 0.5).to(prob.dtype)
    n = fg.flatten(-2).sum(-1)
    return torch.where(n > 0, (prob * fg).flatten(-2).sum(-1) / n.clamp(min=1), torch.zeros_like(n))


class Urvos(nn.Module):
    name = "urvos"

    def __init__(self, cfg: UrvosConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.dim
        self.encoder = PatchEncoder(3, cfg.enc_widths, d, cfg.patch, cfg.enc_blocks)
        self.text = TextEncoder(cfg.vocab_size, cfg.word_dim, d, cfg.lstm_layers)
        self.v2w = nn.ModuleList(CrossBlock(d, cfg.heads, cfg.ffn) for _ in range(cfg.cross_layers))
        self.w2v = nn.ModuleList(CrossBlock(d, cfg.heads, cfg.ffn) for _ in range(cfg.cross_layers))
        self.v_norm = nn.LayerNorm(d)
        self.mask_embed = nn.Linear(1, d)
        self.mem_null = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.mem = nn.ModuleList(CrossBlock(d, cfg.heads, cfg.ffn) for _ in range(cfg.memory_layers))
        self.mem_norm = nn.LayerNorm(d)
        dd = cfg.decoder_dim
        self.dec_ctx = nn.Conv2d(d, dd, 1)
        self.dec_low = nn.Conv2d(self.encoder.low_channels, dd, 1)
        self.dec_norm = nn.GroupNorm(4 if dd % 4 == 0 else 1, dd)
        self.dec_head = nn.Sequential(nn.Conv2d(dd, dd, 3, padding=1), nn.GELU())
        if cfg.fine_decoder:
            self.dec_fine = nn.Conv2d(self.encoder.fine_channels, dd, 1)
            self.dec_fine_head = nn.Sequential(nn.Conv2d(dd, dd, 3, padding=1), nn.GELU())
        self.dec_out = nn.Conv2d(dd, 1, 1)
        self.last_memory_peak = 0  # largest memory (frames) used by the last `segment_video`

    # ------------------------------------------------------------------ pieces

    def encode_text(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        words, pad = self.text(ids)
        return words + sincos_1d(ids.shape[1], self.cfg.dim, ids.device).to(words.dtype), pad

    def encode_frames(self, frames: torch.Tensor) -> tuple[Maps, torch.Tensor, tuple[int, int]]:
        """[F, C, H, W] -> decoding maps (stride 4, and stride 2 when `fine_decoder`), tokens [F, N, d], grid."""
        fine, low, tokens, grid = self.encoder(frames)
        tokens = tokens + sincos_2d(grid[0], grid[1], self.cfg.dim, frames.device).to(tokens.dtype)
        return Maps(low, fine if self.cfg.fine_decoder else None), tokens, grid

    def cross_modal(self, tokens: torch.Tensor, words: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        v, w = tokens, words
        for v2w, w2v in zip(self.v2w, self.w2v, strict=True):
            v = v2w(v, w, pad)
            w = w2v(w, v)
        return self.v_norm(v)

    def memory_values(self, fused: torch.Tensor, mask_prob: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """Memory entry of a frame: its language-aware tokens plus an embedding of its mask (probability per patch)."""
        p = F.adaptive_avg_pool2d(mask_prob.float().unsqueeze(1), grid).flatten(2).transpose(1, 2)
        return fused + self.mask_embed(p.to(fused.dtype))

    def read(self, fused: torch.Tensor, memory: torch.Tensor | None, mem_pad: torch.Tensor | None,
             grid: tuple[int, int]) -> torch.Tensor:
        """Memory attention. `memory` [B, M*N, d] (None: stage 1, only the learned null entry)."""
        b = fused.shape[0]
        null = self.mem_null.expand(b, -1, -1)
        pos = sincos_2d(grid[0], grid[1], self.cfg.dim, fused.device).to(fused.dtype).unsqueeze(0)
        if memory is None:
            mem, pad = null, None
        else:
            mem = torch.cat([null, memory], dim=1)
            pad = None if mem_pad is None else torch.cat(
                [torch.zeros(b, 1, dtype=torch.bool, device=fused.device), mem_pad], dim=1)
        x = fused
        for blk in self.mem:
            x = blk(x, mem, pad, x_pos=pos)
        return self.mem_norm(x)

    def decode(self, ctx: torch.Tensor, maps: Maps, grid: tuple[int, int], size: tuple[int, int]
               ) -> torch.Tensor:
        """Token grid upsampled and added to the stride-4 skip (then, with `fine_decoder`, refined with the stride-2
        map), 1-channel logits bilinearly resized to `size`."""
        g = ctx.transpose(1, 2).reshape(ctx.shape[0], -1, *grid)
        low, fine = maps
        up = F.interpolate(self.dec_ctx(g), size=low.shape[-2:], mode="bilinear", align_corners=False)
        x = self.dec_head(F.gelu(self.dec_norm(up + self.dec_low(low))))
        if fine is not None:
            x = F.interpolate(x, size=fine.shape[-2:], mode="bilinear", align_corners=False)
            x = self.dec_fine_head(x + self.dec_fine(fine))
        return F.interpolate(self.dec_out(x), size=size, mode="bilinear", align_corners=False)[:, 0]

    # ------------------------------------------------------------------ training

    def forward(self, frames: torch.Tensor, ids: torch.Tensor, targets: torch.Tensor, valid: torch.Tensor,
                video_index: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """frames [V, 1+M, C, H, W]: per clip, the target frame then M reference frames; ids [B, L] expressions and
        `video_index` [B] their clip (default: expression i on clip i); targets [B, 1+M, H, W] soft masks in [0, 1]
        (the references' masks feed the memory); valid [B, 1+M] (0 = padding reference).

        Returns `stage1` [B, 1+M, H, W] (every frame alone) and `stage2` [B, H, W] (target frame with memory).
        """
        v, f, c, h, w = frames.shape
        b = ids.shape[0]
        vi = torch.arange(v, device=ids.device) if video_index is None else video_index
        words, pad = self.encode_text(ids)
        maps, tokens, grid = self.encode_frames(frames.reshape(v * f, c, h, w))
        tokens = tokens.reshape(v, f, *tokens.shape[1:])[vi].flatten(0, 1)
        maps = maps.map(lambda m: m.reshape(v, f, *m.shape[1:])[vi].flatten(0, 1))
        fused = self.cross_modal(tokens, words.repeat_interleave(f, 0), pad.repeat_interleave(f, 0))
        ctx1 = self.read(fused, None, None, grid)
        stage1 = self.decode(ctx1, maps, grid, (h, w)).reshape(b, f, h, w)
        fused = fused.reshape(b, f, *fused.shape[1:])
        target_maps = maps.map(lambda m: m.reshape(b, f, *m.shape[1:])[:, 0])
        if f > 1:
            m = f - 1
            vals = self.memory_values(fused[:, 1:].reshape(b * m, *fused.shape[2:]),
                                      targets[:, 1:].reshape(b * m, h, w), grid)
            n = fused.shape[2]
            memory = vals.reshape(b, m * n, -1)
            mem_pad = (valid[:, 1:] <= 0).repeat_interleave(n, 1)
            ctx2 = self.read(fused[:, 0], memory, mem_pad, grid)
        else:
            ctx2 = self.read(fused[:, 0], None, None, grid)
        stage2 = self.decode(ctx2, target_maps, grid, (h, w))
        return {"stage1": stage1, "stage2": stage2}

    # ------------------------------------------------------------------ inference

    @torch.no_grad()
    def segment_video(self, frames: torch.Tensor, ids: torch.Tensor, memory_size: int | None = None,
                      chunk: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Two-stage inference over a whole video.

        frames [T, C, H, W] (normalised), ids [B, L] -> probabilities [B, T, H, W], per-frame confidence [B, T]
        and the anchor frame index [B].
        """
        t_len, _, h, w = frames.shape
        msize = memory_size or self.cfg.memory_size
        words, pad = self.encode_text(ids)
        parts, toks = [], []
        grid = (0, 0)
        for i in range(0, t_len, chunk):
            m, tok, grid = self.encode_frames(frames[i:i + chunk])
            parts.append(m)
            toks.append(tok)
        maps = Maps(torch.cat([m.low for m in parts]),
                    None if parts[0].fine is None else torch.cat([m.fine for m in parts]))
        tokens = torch.cat(toks)
        out_p = []
        out_s = []
        anchors = []
        self.last_memory_peak = 0
        for bi in range(ids.shape[0]):
            wb, pb = words[bi:bi + 1], pad[bi:bi + 1]
            fused = torch.cat([self.cross_modal(tokens[i:i + chunk], wb.expand(len(tokens[i:i + chunk]), -1, -1),
                                                pb.expand(len(tokens[i:i + chunk]), -1))
                               for i in range(0, t_len, chunk)])
            logits1 = torch.cat([self.decode(self.read(fused[i:i + chunk], None, None, grid),
                                             maps.map(lambda m, i=i: m[i:i + chunk]), grid, (h, w))
                                 for i in range(0, t_len, chunk)])
            prob1 = torch.sigmoid(logits1.float())
            conf1 = confidence(prob1)
            a = int(torch.argmax(conf1))
            probs = prob1.clone()
            confs = conf1.clone()
            for direction in (1, -1):
                mem = [(float(conf1[a]), self.memory_values(fused[a:a + 1], prob1[a:a + 1], grid))]
                self.last_memory_peak = max(self.last_memory_peak, len(mem))
                t = a + direction
                while 0 <= t < t_len:
                    memory = torch.cat([v for _, v in mem], dim=1)
                    ctx = self.read(fused[t:t + 1], memory, None, grid)
                    p = torch.sigmoid(self.decode(ctx, maps.map(lambda m, t=t: m[t:t + 1]), grid, (h, w)).float())
                    c = float(confidence(p)[0])
                    probs[t] = p[0]
                    confs[t] = c
                    entry = (c, self.memory_values(fused[t:t + 1], p, grid))
                    if len(mem) < msize:
                        mem.append(entry)
                        self.last_memory_peak = max(self.last_memory_peak, len(mem))
                    else:  # full: the new frame replaces the least confident one
                        mem[min(range(len(mem)), key=lambda k: mem[k][0])] = entry
                    t += direction
            out_p.append(probs)
            out_s.append(confs)
            anchors.append(a)
        return torch.stack(out_p), torch.stack(out_s), torch.tensor(anchors)


__all__ = ["Maps", "Urvos", "UrvosConfig", "confidence"]
