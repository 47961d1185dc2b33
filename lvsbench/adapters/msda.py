"""A pure-PyTorch stand-in for the `MultiScaleDeformableAttention` CUDA extension (Deformable DETR's op).

ReferFormer, SgMg and OnlineRefer import the compiled module at import time (`import MultiScaleDeformableAttention
as MSDA` in `models/ops/functions/ms_deform_attn_func.py`), so without a successful `setup.py build install` even
CPU inference cannot import the model (`docs/adapters.md`). `install()` puts a module of that name into
`sys.modules` (only when the real one is not importable) whose `ms_deform_attn_forward` computes the operation with
`grid_sample`: slower than the CUDA kernel, portable, inference only.

The operation (Zhu et al., ICLR'21, eq. 3): for each query, head, level and sampling point, sample the head's value
map of that level bilinearly at the normalised location (x, y) in [0, 1] (pixel centres at (i + 0.5) / size, zeros
outside), weight by the attention weight and sum over levels and points.
"""

from __future__ import annotations

import sys
import types
from typing import Any

MODULE_NAME = "MultiScaleDeformableAttention"


def ms_deform_attn(value: Any, spatial_shapes: Any, level_start_index: Any, sampling_locations: Any,
                   attention_weights: Any) -> Any:
    """value (N, S, M, D), spatial_shapes (L, 2) as (H, W), sampling_locations (N, Lq, M, L, P, 2) as (x, y),
    attention_weights (N, Lq, M, L, P) -> (N, Lq, M * D)."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    n, _, m, d = value.shape
    _, lq, _, n_levels, n_points, _ = sampling_locations.shape
    sizes = [int(h) * int(w) for h, w in spatial_shapes.tolist()]
    per_level = value.split(sizes, dim=1)
    grids = 2.0 * sampling_locations - 1.0
    sampled = []
    for lvl, (h, w) in enumerate(spatial_shapes.tolist()):
        v = per_level[lvl].permute(0, 2, 3, 1).reshape(n * m, d, int(h), int(w))
        g = grids[:, :, :, lvl].permute(0, 2, 1, 3, 4).reshape(n * m, lq, n_points, 2)
        sampled.append(F.grid_sample(v, g.to(v.dtype), mode="bilinear", padding_mode="zeros", align_corners=False))
    stack = torch.stack(sampled, dim=-2).flatten(-2)  # (N*M, D, Lq, L*P)
    weights = attention_weights.permute(0, 2, 1, 3, 4).reshape(n * m, 1, lq, n_levels * n_points)
    out = (stack * weights.to(stack.dtype)).sum(-1)  # (N*M, D, Lq)
    return out.view(n, m * d, lq).transpose(1, 2).contiguous()


def _forward(value: Any, spatial_shapes: Any, level_start_index: Any, sampling_locations: Any,
             attention_weights: Any, im2col_step: int) -> Any:
    return ms_deform_attn(value, spatial_shapes, level_start_index, sampling_locations, attention_weights)


def _backward(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("lvsbench's MultiScaleDeformableAttention stand-in is for inference only (no backward); "
                       "build the CUDA op (models/ops/setup.py) to train")


def install() -> str | None:
    """Install the stand-in if the compiled op is not importable. Returns a note for run.json, or None."""
    if MODULE_NAME in sys.modules:
        return None
    try:
        __import__(MODULE_NAME)
        return None
    except ImportError:
        pass
    mod = types.ModuleType(MODULE_NAME)
    mod.__doc__ = "lvsbench pure-PyTorch stand-in (slow path)"
    mod.ms_deform_attn_forward = _forward  # type: ignore[attr-defined]
    mod.ms_deform_attn_backward = _backward  # type: ignore[attr-defined]
    mod.LVSBENCH_STANDIN = True  # type: ignore[attr-defined]
    sys.modules[MODULE_NAME] = mod
    return "MultiScaleDeformableAttention not built: using lvsbench's pure-PyTorch stand-in (slow path)"


__all__ = ["MODULE_NAME", "install", "ms_deform_attn"]
