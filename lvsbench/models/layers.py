"""Building blocks shared by the reference models (Locater- and URVOS-style).

Everything is plain torch (no torchvision/timm: they do not import next to the CPU-only torch wheel). Sizes are
arguments so that one code path serves the tiny CPU preset and the paper preset.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Self

import torch
import torch.nn.functional as F
from torch import nn

from lvsbench.core.errors import ConfigError


def _groups(channels: int) -> int:
    for g in (8, 4, 2):
        if channels % g == 0:
            return g
    return 1


class ModelConfig:
    """`from_dict` / `to_dict` shared by the model configs (frozen dataclasses): unknown keys are errors naming the
    model, and the encoder widths tuple round-trips through JSON/TOML lists."""

    config_name: ClassVar[str] = "model"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        """Build the config from a recipe's [model] table or a checkpoint's stored config, every value checked
        against its field's type first (a ConfigError naming the key, what it got and what to write instead)."""
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"{cls.config_name} model config: unknown key(s) {unknown}; known: {sorted(known)}")
        defaults = cls()
        out = {k: _checked_value(cls.config_name, k, v, getattr(defaults, k)) for k, v in d.items()}
        cfg = cls(**out)
        dim, heads = getattr(cfg, "dim", 1), getattr(cfg, "heads", 1)
        if heads < 1 or dim % heads:
            raise ConfigError(f"{cls.config_name} model config: dim = {dim} is not divisible by heads = {heads}; "
                              "choose heads >= 1 that divide dim")
        return cfg

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)  # type: ignore[call-overload]
        d["enc_widths"] = list(d["enc_widths"])
        return d



@dataclass(frozen=True)
class BackboneConfig(ModelConfig):
    """The sizes both reference models share (text encoder, patch encoder, attention width, decoder), with the tiny
    CPU preset's defaults; `LocaterConfig` and `UrvosConfig` add their own fields."""

    vocab_size: int = 64
    word_dim: int = 64
    lstm_layers: int = 1
    dim: int = 64
    heads: int = 4
    ffn: int = 128
    enc_widths: tuple[int, int] = (24, 48)
    enc_blocks: int = 1
    patch: int = 8
    decoder_dim: int = 32
    fine_decoder: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

def _checked_value(model: str, key: str, value: Any, default: Any) -> Any:
    """`value` for config field `key` with the type of its `default` (bool, int, float, str, tuple of ints of the
    same length, dict); a ConfigError that says what to write otherwise."""
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{model} model config: {key} = {value!r} is not {expected}; write e.g. "
                           f"{key} = {_toml(default)}")

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        if value < 0:
            raise bad("a non-negative integer")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("a number")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if isinstance(default, tuple):
        if (not isinstance(value, list | tuple) or len(value) != len(default)
                or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
            raise bad(f"a list of {len(default)} positive integers")
        return tuple(value)
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise bad("a table")
        return dict(value)
    raise TypeError(f"{model} model config: field {key} has an unsupported type {type(default).__name__}")


def _toml(value: Any) -> str:
    """A value written as in a TOML recipe (true, "text", [24, 48])."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "{}" if isinstance(value, dict) else str(value)


class ConvBlock(nn.Module):
    """3x3 conv + GroupNorm + GELU (GroupNorm, not BatchNorm: training batches are small and inference runs one frame
    at a time, so batch statistics would differ between the two)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.norm = nn.GroupNorm(_groups(cout), cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.norm(self.conv(x)))


class ResBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.a = ConvBlock(ch, ch)
        self.b = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.norm = nn.GroupNorm(_groups(ch), ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x + self.norm(self.b(self.a(x))))


class PatchEncoder(nn.Module):
    """Frame -> (stride-2 and stride-4 feature maps for decoding, stride-`patch` token grid for the transformers).

    A convolutional stem down to stride 4, then a non-overlapping patch embedding (kernel = stride = patch/4) to the
    token grid, as in a hybrid ViT. `in_channels` may exceed 3 when a model feeds extra planes (e.g. a frame
    difference).
    """

    def __init__(self, in_channels: int, widths: tuple[int, int], dim: int, patch: int, blocks: int = 1) -> None:
        super().__init__()
        if patch % 4 or patch < 4:
            raise ValueError(f"patch must be a multiple of 4, got {patch}")
        c1, c2 = widths
        self.stem1 = nn.Sequential(ConvBlock(in_channels, c1, stride=2), *[ResBlock(c1) for _ in range(blocks)])
        self.stem2 = nn.Sequential(ConvBlock(c1, c2, stride=2), *[ResBlock(c2) for _ in range(blocks)])
        k = patch // 4
        self.patch = nn.Conv2d(c2, dim, kernel_size=k, stride=k) if k > 1 else nn.Conv2d(c2, dim, 1)
        self.norm = nn.LayerNorm(dim)
        self.fine_channels = c1
        self.low_channels = c2
        self.patch_size = patch

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[int, int]]:
        """(stride-2 map, stride-4 map, tokens [F, N, dim], token grid size)."""
        fine = self.stem1(x)
        low = self.stem2(fine)
        grid = self.patch(low)
        h, w = grid.shape[-2:]
        tokens = self.norm(grid.flatten(2).transpose(1, 2))
        return fine, low, tokens, (h, w)


def sincos_2d(h: int, w: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """Fixed 2-D sine-cosine position code [h*w, dim] (MAE-style), normalised coordinates so it does not depend on the
    input resolution: relative position expressions ("the left one") stay meaningful at any size."""
    if dim % 4:
        raise ValueError(f"dim must be a multiple of 4, got {dim}")
    q = dim // 4
    omega = 1.0 / (100.0 ** (torch.arange(q, dtype=torch.float32, device=device) / max(q - 1, 1)))
    ys = (torch.arange(h, dtype=torch.float32, device=device) + 0.5) / h * math.pi
    xs = (torch.arange(w, dtype=torch.float32, device=device) + 0.5) / w * math.pi
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    oy = yy.reshape(-1, 1) * omega
    ox = xx.reshape(-1, 1) * omega
    return torch.cat([oy.sin(), oy.cos(), ox.sin(), ox.cos()], dim=1)


def sincos_1d(n: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    pos = torch.arange(n, dtype=torch.float32, device=device).unsqueeze(1)
    i = torch.arange(dim // 2, dtype=torch.float32, device=device)
    ang = pos / (100.0 ** (2 * i / dim))
    out = torch.zeros(n, dim, device=device)
    out[:, 0::2] = ang.sin()
    out[:, 1::2] = ang.cos()[:, : dim // 2]
    return out


class TextEncoder(nn.Module):
    """Word embedding + bidirectional LSTM (Locater's text encoder; URVOS uses a learned embedding as well).

    Returns word features [B, L, dim] (zero at padding) and a boolean padding mask [B, L] (True = padding).
    """

    def __init__(self, vocab_size: int, word_dim: int, dim: int, layers: int = 1) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError("text dim must be even (two LSTM directions)")
        self.embed = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.lstm = nn.LSTM(word_dim, dim // 2, num_layers=layers, batch_first=True, bidirectional=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pad = ids == 0
        lengths = (~pad).sum(1).clamp(min=1)
        emb = self.embed(ids)
        packed = nn.utils.rnn.pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        out = self.norm(out).masked_fill(pad.unsqueeze(-1), 0.0)
        return out, pad


def masked_mean(x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
    keep = (~pad).unsqueeze(-1).to(x.dtype)
    return (x * keep).sum(1) / keep.sum(1).clamp(min=1.0)


class FFN(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


class SelfBlock(nn.Module):
    """Pre-norm transformer encoder layer (self-attention + FFN) with a key padding mask."""

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ffn = FFN(dim, hidden)

    def forward(self, x: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        h = self.norm(x)
        x = x + self.attn(h, h, h, key_padding_mask=pad, need_weights=False)[0]
        return self.ffn(x)


class CrossBlock(nn.Module):
    """Pre-norm cross-attention (queries attend to a memory) + FFN."""

    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(dim)
        self.norm_k = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ffn = FFN(dim, hidden)

    def forward(self, x: torch.Tensor, mem: torch.Tensor, pad: torch.Tensor | None = None,
                mem_pos: torch.Tensor | None = None, x_pos: torch.Tensor | None = None) -> torch.Tensor:
        q = self.norm_q(x)
        k = self.norm_k(mem)
        qk = q if x_pos is None else q + x_pos
        kk = k if mem_pos is None else k + mem_pos
        x = x + self.attn(qk, kk, k, key_padding_mask=pad, need_weights=False)[0]
        return self.ffn(x)


def dice_bce_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over samples of BCE + soft Dice, the usual RVOS mask loss (LBDT, ReferFormer use the same pair).

    `logits`, `target`: [N, H, W]; `weight`: [N] (0 drops a sample, e.g. an unannotated frame).
    """
    logits = logits.float()
    target = target.float()
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).mean(1)
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    dice = 1.0 - (2.0 * (p * t).sum(1) + 1.0) / (p.sum(1) + t.sum(1) + 1.0)
    per = bce + dice
    if weight is None:
        return per.mean()
    return (per * weight).sum() / weight.sum().clamp(min=1.0)


__all__ = ["BackboneConfig", "ConvBlock", "CrossBlock", "FFN", "ModelConfig", "PatchEncoder", "ResBlock", "SelfBlock",
           "TextEncoder", "dice_bce_loss", "masked_mean", "sincos_1d", "sincos_2d"]
