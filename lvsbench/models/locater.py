"""A Locater-style local-global memory transformer for language-guided video segmentation.

Reproduces the architecture described in Liang et al., "Local-Global Context Aware Transformer for Language-Guided
Video Segmentation" (TPAMI 2023, §3; reference code leonnnop/Locater at 4333da1, inference only), written from the
paper's description, not from its code:

- a patch visual encoder turns each frame into a token grid (plus a stride-4 map kept for decoding);
- a text encoder (word embedding + bi-LSTM) turns the expression into word features;
- K cross-modal encoder modules run self-attention over the concatenation of visual tokens and words, each stream
  marked by a learned token-type vector; each module's output is decoded by an auxiliary head (deep supervision);
- a **global memory** G of M slots (learned initial states) is written once per video, before segmentation, from N1
  frames sampled across the whole video (Eq. 5);
- a **local memory** L of `local_slots` slots (learned initial states, or the first segmented frame when it has
  room for one, L >= N, as in the official code) is written after every segmented frame from that frame's tokens
  plus an embedding of its predicted mask (a small FCN over the mask, Eq. 6): it accumulates the segmentation
  history with a fixed capacity;
- both are written by a **gated write controller** (`GatedWriteController`): each patch makes a candidate from its
  token and the pooled memory; a sigmoid gate per (patch, slot), computed from the candidate's match with that slot
  *relative to all slots* (the "uniqueness" term), decides how much of the candidate enters the slot and how much of
  the slot is kept;
- current tokens read [G; L] by attention (Eq. 7-8), giving the contextualised visual embedding;
- a frame-specific query is formed by attention over words guided by the pooled context, local and global memory
  (Eq. 9-10);
- masks are decoded by the product (Hadamard) of the query and per-pixel features at stride 4, then bilinear
  upsampling to the input size.

G and L have a fixed number of slots whatever the video length, and each frame is processed once, so inference is
linear in time and constant in memory (the paper's claim; `tests/test_models_locater.py` checks it).

`memory` selects the memory: "locater" (the above), "none" (the ablation: the read layers attend to the frame's own
tokens, nothing is carried between frames) or "last-frame" (the design before the paper's memory was implemented:
the local memory is the previous frame's N tokens, replaced every frame, and the global gate has no uniqueness
term; kept so that the committed leaderboard checkpoint keeps loading and predicting identically, see
docs/models.md).

`frame_difference=True` feeds the patch encoder the signed difference to the previous frame as three extra planes
(LBDT's cheap motion cue). It is off in the paper preset; see docs/models.md for when the tiny preset uses it.

Size: one model; the encoder, both memories and the decoder share one config and the state-dict key names that the
committed leaderboard checkpoint loads by; split, those names would be spread over files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from lvsbench.models.layers import (
    BackboneConfig,
    CrossBlock,
    PatchEncoder,
    SelfBlock,
    TextEncoder,
    masked_mean,
    sincos_1d,
    sincos_2d,
)


@dataclass(frozen=True)
class LocaterConfig(BackboneConfig):
    """Every size of the model. The defaults are the tiny CPU preset (`recipes/train/locater-tiny.toml`);
    `recipes/train/locater-paper.toml` has the paper's (dim 256, K=3 so K+1=4 outputs, N1=3 global frames, 3-layer
    bi-LSTM over 300-d embeddings, memory capacities M = 1.5 N and L = 2 N).

    Beyond the paper (documented in docs/models.md): `frame_difference` (LBDT's motion planes), `language_gate`
    (sentence-conditioned scale and shift of the visual tokens before the cross-modal modules) and `fine_decoder`
    (the product-decoded features refined with the encoder's stride-2 map before the last upsampling).
    """

    config_name: ClassVar[str] = "locater"

    cross_modules: int = 2
    global_frames: int = 1
    global_slots: int = 8
    local_slots: int = 8
    memory: str = "locater"
    read_layers: int = 1
    frame_difference: bool = True
    language_gate: bool = True

    def __post_init__(self) -> None:
        from lvsbench.core.errors import ConfigError

        if self.memory not in MEMORY_KINDS:
            raise ConfigError(f"locater model config: memory must be one of {', '.join(MEMORY_KINDS)}, "
                              f"got {self.memory!r}")
        if self.global_slots < 1 or self.local_slots < 1:
            raise ConfigError("locater model config: global_slots and local_slots must be >= 1")


MEMORY_KINDS = ("locater", "none", "last-frame")
"""`LocaterConfig.memory` values: the paper's local-global memory, no memory (ablation), the earlier design."""

LEGACY_MEMORY = "last-frame"
"""What a stored config without a `memory` key was trained with (checkpoints written before the key existed)."""


@dataclass
class LocaterState:
    """Per-video state of streaming inference: constant size whatever the number of frames seen."""

    words: torch.Tensor
    word_pad: torch.Tensor
    global_mem: torch.Tensor
    local_mem: torch.Tensor | None = None
    prev_frame: torch.Tensor | None = None

    def nbytes(self) -> int:
        ts = [self.words, self.word_pad, self.global_mem, self.local_mem, self.prev_frame]
        return sum(t.numel() * t.element_size() for t in ts if t is not None)


class GatedWriteController(nn.Module):
    """Locater's write controller (§3.2.2, Eq. 5 for G, Eq. 6 for L): updates every slot in parallel from a frame's
    N patch features x_n.

    - candidate  c_n = MLP([x_n; avg_m g_m])              (the patch, in the context of the pooled memory);
    - gate       z_nm = sigmoid(s_nm - mean_m' s_nm' + b)  with s_nm = <W_q c_n, W_k g_m> / sqrt(d_h) per head: the
                 candidate's match with slot m *relative to all slots* (its uniqueness w.r.t. the memory), so a
                 patch writes where it is specific, and a patch that matches every slot alike (redundant) does not
                 dominate;
    - update     g_m <- LN(P(mean_n z_nm c_n) + mean_n (1 - z_nm) U(g_m))  (z decides how much of the prior slot
                 is retained).

    The paper's equations reach us without their symbols; this follows its wording ("creates a candidate ... based
    on x and the pooled memory; returns a gate vector according to the uniqueness ... w.r.t. all the memory slots;
    controls how much information to retain from prior state") and the memory initialised as learnable states.
    The subtraction of the mean over slots is our reading of "uniqueness" (the official inference code, which was
    not copied, gates with a plain sigmoid of the projected dot product).
    """

    def __init__(self, dim: int, slots: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} must be divisible by heads {heads}")
        self.heads = heads
        self.init = nn.Parameter(torch.randn(slots, dim) * 0.02)
        self.norm_x = nn.LayerNorm(dim)
        self.cand = nn.Sequential(nn.Linear(2 * dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.gate_q = nn.Linear(dim, dim)
        self.gate_k = nn.Linear(dim, dim)
        self.gate_b = nn.Parameter(torch.zeros(heads))
        self.keep = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.out = nn.LayerNorm(dim)

    def initial(self, batch: int) -> torch.Tensor:
        return self.init.unsqueeze(0).expand(batch, -1, -1)

    def first_write(self, tokens: torch.Tensor) -> torch.Tensor:
        """The memory after its first frame when it has room for the frame's N patches (M >= N): the normalised
        patches themselves, the remaining M - N slots holding their mean (as the official inference code,
        leonnnop/Locater `LocalMemoryNet`, initialises its local memory of 2 N slots)."""
        x = self.norm_x(tokens)
        m = self.init.shape[0]
        return torch.cat([x, x.mean(1, keepdim=True).expand(-1, m - x.shape[1], -1)], dim=1)

    def write(self, mem: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """mem [B, M, d], tokens [B, N, d] -> updated mem [B, M, d]."""
        b, n, d = tokens.shape
        m = mem.shape[1]
        h = self.heads
        dh = d // h
        x = self.norm_x(tokens)
        c = self.cand(torch.cat([x, mem.mean(1, keepdim=True).expand(-1, n, -1)], dim=-1))
        ch = c.reshape(b, n, h, dh)
        s = torch.einsum("bnhc,bmhc->bhnm", self.gate_q(c).reshape(b, n, h, dh),
                         self.gate_k(mem).reshape(b, m, h, dh)) / math.sqrt(dh)
        z = torch.sigmoid(s - s.mean(-1, keepdim=True) + self.gate_b[None, :, None, None])  # [B, H, N, M]
        written = torch.einsum("bhnm,bnhc->bmhc", z, ch).reshape(b, m, d) / n
        retain = (1 - z).mean(2).transpose(1, 2).unsqueeze(-1)  # [B, M, H, 1]
        kept = (retain * self.keep(mem).reshape(b, m, h, dh)).reshape(b, m, d)
        return self.out(self.proj(written) + kept)

    def forward(self, frames_tokens: torch.Tensor) -> torch.Tensor:
        """[B, N1, N, d] tokens of the sampled frames -> [B, M, d] memory (written in temporal order)."""
        mem = self.initial(frames_tokens.shape[0])
        for j in range(frames_tokens.shape[1]):
            mem = self.write(mem, frames_tokens[:, j])
        return mem


class LastFrameGlobalWriter(nn.Module):
    """The global writer of `memory = "last-frame"` checkpoints (no uniqueness term: each slot attends to the
    tokens, a gate from the slot and the read content decides per channel how much of the slot is overwritten)."""

    def __init__(self, dim: int, slots: int) -> None:
        super().__init__()
        self.init = nn.Parameter(torch.randn(slots, dim) * 0.02)
        self.norm_m = nn.LayerNorm(dim)
        self.norm_x = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.gate = nn.Linear(2 * dim, dim)
        self.cand = nn.Linear(2 * dim, dim)
        self.out = nn.LayerNorm(dim)

    def write(self, mem: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        m = self.norm_m(mem)
        x = self.norm_x(tokens)
        att = torch.softmax(self.q(m) @ self.k(x).transpose(1, 2) / math.sqrt(m.shape[-1]), dim=-1)
        content = att @ self.v(x)
        mc = torch.cat([m, content], dim=-1)
        g = torch.sigmoid(self.gate(mc))
        return (1 - g) * mem + g * torch.tanh(self.cand(mc))

    def forward(self, frames_tokens: torch.Tensor) -> torch.Tensor:
        mem = self.init.unsqueeze(0).expand(frames_tokens.shape[0], -1, -1)
        for j in range(frames_tokens.shape[1]):
            mem = self.write(mem, frames_tokens[:, j])
        return self.out(mem)


class MaskEmbedding(nn.Module):
    """Locater's "trainable segmentation mask embedding ... a small FCN over" the predicted mask (Eq. 6): mask
    probabilities [B, H, W] -> one embedding per patch [B, N, d]."""

    def __init__(self, dim: int, hidden: int = 16) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden, dim, 1)

    def forward(self, prob: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(F.gelu(self.conv1(prob.unsqueeze(1))), grid)
        return self.conv2(x).flatten(2).transpose(1, 2)


class Locater(nn.Module):
    """See the module docstring. Inputs are frames normalised to [-1, 1] (Locater's mean = std = 0.5) at a fixed
    size whose sides are multiples of `patch`; token ids from `lvsbench.models.text`."""

    name = "locater"

    def __init__(self, cfg: LocaterConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.dim
        self.encoder = PatchEncoder(6 if cfg.frame_difference else 3, cfg.enc_widths, d, cfg.patch, cfg.enc_blocks)
        self.text = TextEncoder(cfg.vocab_size, cfg.word_dim, d, cfg.lstm_layers)
        self.token_type = nn.Parameter(torch.randn(2, d) * 0.02)
        if cfg.language_gate:
            self.gate_s = nn.Linear(d, 2 * d)
            self.gate_out = nn.Linear(d, d)
        self.cross = nn.ModuleList(SelfBlock(d, cfg.heads, cfg.ffn) for _ in range(cfg.cross_modules))
        self.cross_norm = nn.LayerNorm(d)
        self.global_writer: nn.Module | None = None
        self.local_writer: GatedWriteController | None = None
        if cfg.memory == "locater":
            self.global_writer = GatedWriteController(d, cfg.global_slots, cfg.heads)
            self.local_writer = GatedWriteController(d, cfg.local_slots, cfg.heads)
            self.mask_embed: nn.Module = MaskEmbedding(d)
        elif cfg.memory == LEGACY_MEMORY:
            self.global_writer = LastFrameGlobalWriter(d, cfg.global_slots)
            self.mask_embed = nn.Linear(1, d)
            self.local_none = nn.Parameter(torch.zeros(1, 1, d))
        self.read = nn.ModuleList(CrossBlock(d, cfg.heads, cfg.ffn) for _ in range(cfg.read_layers))
        self.ctx_norm = nn.LayerNorm(d)
        # frame-specific query: the pooled visual context (and, Eq. 9-10, the pooled local and global memory)
        # guides (multi-head) attention over words
        self.q_ctx = nn.Linear(d if cfg.memory == LEGACY_MEMORY else 3 * d, d)
        self.q_word = nn.Linear(d, d)
        self.q_out = nn.Sequential(nn.Linear(3 * d, d), nn.GELU(), nn.Linear(d, d))
        # product-distance decoder
        dd = cfg.decoder_dim
        self.dec_low = nn.Conv2d(self.encoder.low_channels, dd, 1)
        self.dec_ctx = nn.Conv2d(d, dd, 1)
        self.dec_norm = nn.GroupNorm(4 if dd % 4 == 0 else 1, dd)
        self.dec_q = nn.Linear(d, dd)
        self.dec_head = nn.Sequential(nn.Conv2d(dd, dd, 3, padding=1), nn.GELU())
        if cfg.fine_decoder:
            self.dec_fine = nn.Conv2d(self.encoder.fine_channels, dd, 1)
            self.dec_fine_head = nn.Sequential(nn.Conv2d(dd, dd, 3, padding=1), nn.GELU())
        self.dec_out = nn.Conv2d(dd, 1, 1)
        # auxiliary heads (deep supervision of the K cross-modal modules)
        self.aux_v = nn.ModuleList(nn.Linear(d, dd) for _ in range(cfg.cross_modules))
        self.aux_s = nn.ModuleList(nn.Linear(d, dd) for _ in range(cfg.cross_modules))
        self.aux_b = nn.Parameter(torch.zeros(cfg.cross_modules))

    # ------------------------------------------------------------------ pieces

    def _encoder_input(self, frames: torch.Tensor, prev: torch.Tensor | None) -> torch.Tensor:
        if not self.cfg.frame_difference:
            return frames
        diff = torch.zeros_like(frames) if prev is None else frames - prev
        return torch.cat([frames, diff], dim=1)

    def encode_text(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        words, pad = self.text(ids)
        words = words + sincos_1d(ids.shape[1], self.cfg.dim, ids.device).to(words.dtype) + self.token_type[1]
        return words, pad

    def encode_frames(self, frames: torch.Tensor, prev: torch.Tensor | None = None
                      ) -> tuple[tuple[torch.Tensor, torch.Tensor | None], torch.Tensor, tuple[int, int]]:
        """[F, C, H, W] -> maps for decoding (stride 4, and stride 2 when `fine_decoder`), tokens [F, N, d] (with
        position and type codes), grid."""
        fine, low, tokens, grid = self.encoder(self._encoder_input(frames, prev))
        pos = sincos_2d(grid[0], grid[1], self.cfg.dim, frames.device).to(tokens.dtype)
        return (low, fine if self.cfg.fine_decoder else None), tokens + pos + self.token_type[0], grid

    def fuse(self, tokens: torch.Tensor, words: torch.Tensor, pad: torch.Tensor
             ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """K cross-modal modules over [tokens; words]. Returns the final visual tokens and, per module, auxiliary
        logits on the token grid (flattened, [F, N])."""
        n = tokens.shape[1]
        if self.cfg.language_gate:
            gamma, beta = self.gate_s(masked_mean(words, pad)).unsqueeze(1).chunk(2, dim=-1)
            tokens = tokens + self.gate_out(F.gelu(tokens * gamma + beta))
        x = torch.cat([tokens, words], dim=1)
        full_pad = torch.cat([torch.zeros(pad.shape[0], n, dtype=torch.bool, device=pad.device), pad], dim=1)
        aux = []
        for k, blk in enumerate(self.cross):
            x = blk(x, full_pad)
            v, w = x[:, :n], x[:, n:]
            s = masked_mean(w, pad)
            aux.append(torch.einsum("fnc,fc->fn", self.aux_v[k](v), self.aux_s[k](s))
                       / math.sqrt(self.cfg.decoder_dim) + self.aux_b[k])
        return self.cross_norm(x[:, :n]), aux

    def initial_local(self, batch: int, tokens_per_frame: int) -> torch.Tensor | None:
        """The local memory before the first frame: the learned initial slots, or None when the memory has room
        for a whole frame (L >= N: it starts from the first segmented frame, see `update_local`) and for the
        other memory kinds."""
        if self.local_writer is None or self.cfg.local_slots >= tokens_per_frame:
            return None
        return self.local_writer.initial(batch)

    def update_local(self, local_mem: torch.Tensor | None, fused: torch.Tensor, mask_logits: torch.Tensor,
                     grid: tuple[int, int]) -> torch.Tensor | None:
        """Write the frame just segmented into the local memory (Eq. 6): its fused tokens plus the embedding of its
        predicted mask (foreground probability), through the gated write controller, into the same L slots."""
        if self.cfg.memory == "none":
            return None
        p = torch.sigmoid(mask_logits.float())
        if self.cfg.memory == LEGACY_MEMORY:  # the previous frame's tokens, replaced every frame
            pp = F.adaptive_avg_pool2d(p.unsqueeze(1), grid).flatten(2).transpose(1, 2).to(fused.dtype)
            return fused + self.mask_embed(pp)
        assert self.local_writer is not None
        x = fused + self.mask_embed(p.to(fused.dtype), grid)
        if local_mem is None:  # L >= N: the first frame fills the memory (GatedWriteController.first_write)
            return self.local_writer.first_write(x)
        return self.local_writer.write(local_mem, x)

    def write_global(self, fused_frames: torch.Tensor) -> torch.Tensor:
        """[B, N1, N, d] fused tokens of the sampled frames -> global memory [B, M, d] ([B, 0, d] without memory)."""
        if self.global_writer is None:
            return fused_frames.new_zeros(fused_frames.shape[0], 0, fused_frames.shape[-1])
        return self.global_writer(fused_frames)

    def local_positions(self, slots: int, pos: torch.Tensor) -> torch.Tensor:
        """Position codes of the local memory's slots as attention keys [1, L, d]: when the memory has room for a
        frame (L >= N), slot n < N was filled by patch n of the first frame (`GatedWriteController.first_write`)
        and keeps that patch's position code, so the current frame can look up what was at (or near) its own
        position; the other slots, and learned initial slots (L < N), have none (zeros)."""
        n = pos.shape[1]
        if slots < n:
            return pos.new_zeros(1, slots, pos.shape[-1])
        return torch.cat([pos, pos.new_zeros(1, slots - n, pos.shape[-1])], dim=1)

    def read_memory(self, fused: torch.Tensor, global_mem: torch.Tensor, local_mem: torch.Tensor | None,
                    grid: tuple[int, int]) -> torch.Tensor:
        """Attention read of [G; L] by the current tokens (Eq. 7-8). Without memory the same layers attend to the
        frame's own tokens, so that the ablation keeps every parameter and only loses the temporal context."""
        pos = sincos_2d(grid[0], grid[1], self.cfg.dim, fused.device).to(fused.dtype).unsqueeze(0)
        mem_pos: torch.Tensor | None
        if self.cfg.memory == "none":
            mem, mem_pos = fused, pos.expand(1, -1, -1)
        elif self.cfg.memory == "locater":
            # before the first write of an L >= N memory, the frame's own tokens stand in for it (as in the
            # official inference code)
            local = fused if local_mem is None else local_mem
            mem = torch.cat([global_mem, local], dim=1)
            mem_pos = torch.cat([torch.zeros_like(global_mem[:1]), self.local_positions(local.shape[1], pos)], dim=1)
        else:
            if local_mem is None:
                local_mem = fused + self.local_none
            mem = torch.cat([global_mem, local_mem], dim=1)
            mem_pos = torch.cat([torch.zeros_like(global_mem[:1]), pos.expand(1, -1, -1)], dim=1)
        ctx = fused
        for blk in self.read:
            ctx = blk(ctx, mem, mem_pos=mem_pos, x_pos=pos)
        return self.ctx_norm(ctx)

    def frame_query(self, ctx: torch.Tensor, words: torch.Tensor, pad: torch.Tensor,
                    global_mem: torch.Tensor | None = None, local_mem: torch.Tensor | None = None) -> torch.Tensor:
        """Frame-specific query (Eq. 9-10): the pooled visual context, local memory and global memory attend over
        the words (one softmax per head, so that several words, e.g. a colour and a noun, can be picked at once);
        the attended words, the mean of the words and the context are mixed by an MLP. Without memory the pooled
        memories are zeros."""
        b, n_words, d = words.shape
        h = self.cfg.heads
        c = ctx.mean(1)
        if self.cfg.memory == LEGACY_MEMORY:
            guide = self.q_ctx(c)
        else:
            zero = torch.zeros_like(c)
            lm = local_mem.mean(1) if local_mem is not None else (c if self.cfg.memory == "locater" else zero)
            gm = global_mem.mean(1) if global_mem is not None and global_mem.shape[1] else zero
            guide = self.q_ctx(torch.cat([c, lm, gm], dim=-1))
        qh = guide.reshape(b, h, d // h)
        kh = self.q_word(words).reshape(b, n_words, h, d // h)
        scores = torch.einsum("bhc,blhc->bhl", qh, kh) / math.sqrt(d // h)
        att = torch.softmax(scores.masked_fill(pad.unsqueeze(1), float("-inf")), dim=-1)
        wq = torch.einsum("bhl,blhc->bhc", att, words.reshape(b, n_words, h, d // h)).reshape(b, d)
        return self.q_out(torch.cat([wq, masked_mean(words, pad), c], dim=-1))

    def decode(self, ctx: torch.Tensor, maps: tuple[torch.Tensor, torch.Tensor | None], q: torch.Tensor,
               grid: tuple[int, int], size: tuple[int, int]) -> torch.Tensor:
        """Product decoding at stride 4 (optionally refined with the stride-2 map), bilinear to `size`."""
        low, fine = maps
        g = ctx.transpose(1, 2).reshape(ctx.shape[0], -1, *grid)
        up = F.interpolate(self.dec_ctx(g), size=low.shape[-2:], mode="bilinear", align_corners=False)
        pix = F.gelu(self.dec_norm(self.dec_low(low) + up))
        x = self.dec_head(pix * self.dec_q(q)[:, :, None, None])
        if fine is not None:
            x = F.interpolate(x, size=fine.shape[-2:], mode="bilinear", align_corners=False)
            x = self.dec_fine_head(x + self.dec_fine(fine))
        return F.interpolate(self.dec_out(x), size=size, mode="bilinear", align_corners=False)[:, 0]

    def _aux_to_image(self, aux: torch.Tensor, grid: tuple[int, int], size: tuple[int, int]) -> torch.Tensor:
        a = aux.reshape(aux.shape[0], 1, *grid)
        return F.interpolate(a, size=size, mode="bilinear", align_corners=False)[:, 0]

    # ------------------------------------------------------------------ training

    def forward(self, frames: torch.Tensor, global_frames: torch.Tensor, ids: torch.Tensor,
                prev_frames: torch.Tensor | None = None, global_prev: torch.Tensor | None = None,
                video_index: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Training forward over clips.

        frames [V, S, C, H, W]: V clips of S consecutive frames (local memory is carried along them); global_frames
        [V, N1, C, H, W]; ids [B, L] expressions; `video_index` [B] says which clip each expression belongs to
        (default: expression i on clip i), so the expressions of one video share its encoded frames.
        prev_frames / global_prev: the frame before each one (for `frame_difference`).
        Local memory always carries the model's own (detached) prediction, as at inference (the synthetic and A2D
        ground truth is sparse in time, so there is no mask to teacher-force on most frames).
        Returns logits [B, S, H, W] and aux [K, B, S, H, W].
        """
        v, s, c, h, w = frames.shape
        n1 = 0 if self.cfg.memory == "none" else global_frames.shape[1]  # no memory: the global frames are unused
        global_frames = global_frames[:, :n1]
        rep = s + n1
        b = ids.shape[0]
        vi = torch.arange(v, device=ids.device) if video_index is None else video_index
        words, pad = self.encode_text(ids)
        allf = torch.cat([frames, global_frames], dim=1).reshape(v * rep, c, h, w)
        prev = None
        if self.cfg.frame_difference:
            pf = prev_frames if prev_frames is not None else frames
            gp = global_prev[:, :n1] if global_prev is not None else global_frames
            prev = torch.cat([pf, gp], dim=1).reshape(v * rep, c, h, w)
        maps, tokens, grid = self.encode_frames(allf, prev)
        tokens = tokens.reshape(v, rep, *tokens.shape[1:])[vi].flatten(0, 1)
        low, fine = (None if m is None else m.reshape(v, rep, *m.shape[1:])[vi] for m in maps)
        fused, aux = self.fuse(tokens, words.repeat_interleave(rep, 0), pad.repeat_interleave(rep, 0))
        fused = fused.reshape(b, rep, *fused.shape[1:])
        global_mem = self.write_global(fused[:, s:])
        local = self.initial_local(b, fused.shape[2])
        outs = []
        for t in range(s):
            ctx = self.read_memory(fused[:, t], global_mem, local, grid)
            q = self.frame_query(ctx, words, pad, global_mem, local)
            logits = self.decode(ctx, (low[:, t], None if fine is None else fine[:, t]), q, grid, (h, w))
            outs.append(logits)
            local = self.update_local(local, fused[:, t], logits.detach(), grid)
        aux_img = torch.stack([  # clip frames only: the global frames' auxiliary outputs are not supervised
            self._aux_to_image(a.reshape(b, rep, -1)[:, :s].flatten(0, 1), grid, (h, w)).reshape(b, s, h, w)
            for a in aux
        ])
        return {"logits": torch.stack(outs, dim=1), "aux": aux_img}

    # ------------------------------------------------------------------ streaming inference

    @torch.no_grad()
    def begin(self, ids: torch.Tensor, global_frames: torch.Tensor, global_prev: torch.Tensor | None = None
              ) -> LocaterState:
        """Start a video for B expressions at once: ids [B, L]; global_frames [N1, C, H, W] shared by all (sampled
        across the whole video by the caller, see `global_indices`)."""
        words, pad = self.encode_text(ids)
        b = ids.shape[0]
        if self.cfg.memory == "none":
            return LocaterState(words=words, word_pad=pad, global_mem=words.new_zeros(b, 0, self.cfg.dim))
        n1 = global_frames.shape[0]
        _, tokens, _ = self.encode_frames(global_frames, global_prev)
        tok = tokens.unsqueeze(0).expand(b, -1, -1, -1).reshape(b * n1, *tokens.shape[1:])
        fused, _ = self.fuse(tok, words.repeat_interleave(n1, 0), pad.repeat_interleave(n1, 0))
        mem = self.write_global(fused.reshape(b, n1, *fused.shape[1:]))
        return LocaterState(words=words, word_pad=pad, global_mem=mem, local_mem=self.initial_local(b, fused.shape[2]))

    @torch.no_grad()
    def step(self, frame: torch.Tensor, state: LocaterState, with_aux: bool = False
             ) -> tuple[torch.Tensor, LocaterState] | tuple[torch.Tensor, list[torch.Tensor], LocaterState]:
        """Segment the next frame for every stream of the state: logits [B, H, W].

        `frame` is [C, H, W] or [1, C, H, W] (one video, B expressions of it: the frame is encoded once) or
        [B, C, H, W] (B independent streams, e.g. B videos segmented together). The state is updated in place
        (local memory rewritten in place of the old one, never grown) and returned."""
        if frame.dim() == 3:
            frame = frame.unsqueeze(0)
        h, w = frame.shape[-2:]
        b = state.words.shape[0]
        if frame.shape[0] not in (1, b):
            raise ValueError(f"step: {frame.shape[0]} frames for {b} streams")
        maps, tokens, grid = self.encode_frames(frame, state.prev_frame)
        if tokens.shape[0] != b:
            tokens = tokens.expand(b, -1, -1)
            maps = tuple(None if m is None else m.expand(b, -1, -1, -1) for m in maps)
        fused, aux = self.fuse(tokens, state.words, state.word_pad)
        ctx = self.read_memory(fused, state.global_mem, state.local_mem, grid)
        q = self.frame_query(ctx, state.words, state.word_pad, state.global_mem, state.local_mem)
        logits = self.decode(ctx, maps, q, grid, (h, w))
        state.local_mem = self.update_local(state.local_mem, fused, logits, grid)
        state.prev_frame = frame if self.cfg.frame_difference else None
        if with_aux:
            return logits, [self._aux_to_image(a, grid, (h, w)) for a in aux], state
        return logits, state


def global_indices(num_frames: int, n: int, rng: Any = None) -> list[int]:
    """N1 frame indices spread over the whole video: one per equal segment, the segment centre at inference or a
    uniformly drawn frame of the segment in training (`rng`: a numpy Generator)."""
    out = []
    for j in range(n):
        lo = j * num_frames / n
        hi = (j + 1) * num_frames / n
        if rng is None:
            out.append(min(num_frames - 1, int((lo + hi) / 2)))
        else:
            a, b_ = int(math.floor(lo)), max(int(math.floor(lo)) + 1, int(math.ceil(hi)))
            out.append(min(num_frames - 1, int(rng.integers(a, b_))))
    return out


__all__ = ["GatedWriteController", "LEGACY_MEMORY", "LastFrameGlobalWriter", "Locater", "LocaterConfig",
           "LocaterState", "MEMORY_KINDS", "MaskEmbedding", "global_indices"]
