"""Locater-style model: shapes, constant-size memory, streaming = batch forward, overfitting a tiny batch."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lvsbench.models.data import FrameCache  # noqa: E402
from lvsbench.models.layers import dice_bce_loss  # noqa: E402
from lvsbench.models.locater import GatedWriteController, Locater, LocaterConfig, global_indices  # noqa: E402
from lvsbench.models.text import Tokenizer  # noqa: E402
from lvsbench.models.toydata import SceneDataset  # noqa: E402

TINY = dict(vocab_size=40, word_dim=16, dim=32, heads=2, ffn=64, enc_widths=(8, 16), patch=8, cross_modules=2,
            global_frames=3, global_slots=4, decoder_dim=16)


def _model(**kw: object) -> Locater:
    torch.manual_seed(0)
    return Locater(LocaterConfig(**{**TINY, **kw})).eval()


@pytest.mark.parametrize("options", [{}, {"frame_difference": True, "language_gate": True, "fine_decoder": True}])
def test_forward_shapes(options: dict) -> None:
    m = _model(**options)
    b, s, n1, h, w = 2, 3, 3, 32, 48
    out = m(torch.randn(b, s, 3, h, w), torch.randn(b, n1, 3, h, w), torch.randint(1, 40, (b, 7)))
    assert out["logits"].shape == (b, s, h, w)
    assert out["aux"].shape == (2, b, s, h, w)  # one auxiliary output per cross-modal module (deep supervision)
    assert torch.isfinite(out["logits"]).all()


@pytest.mark.parametrize(("memory", "lengths"), [("locater", (30, 100, 300)), ("none", (3, 10, 30)),
                                                 ("last-frame", (3, 10, 30))])
def test_streaming_memory_is_constant_in_video_length(memory: str, lengths: tuple[int, int, int]) -> None:
    """The state after 30, 100 and 300 frames has the same size (M global + L local slots, whatever the length),
    and the local memory keeps changing: it is written every frame, not frozen. (The other kinds, shorter: their
    state is fixed by construction.)"""
    m = _model(memory=memory, local_slots=5)
    ids = torch.randint(1, 40, (3, 6))
    gen = torch.Generator().manual_seed(0)
    pool = torch.randn(17, 3, 24, 24, generator=gen)
    state = m.begin(ids, pool[:3])
    seen = {}
    local = {}
    for t in range(lengths[-1]):
        logits, state = m.step(pool[t % 17], state)
        assert logits.shape == (3, 24, 24)
        if t + 1 in lengths:
            seen[t + 1] = (state.nbytes(), tuple(state.global_mem.shape),
                           None if state.local_mem is None else tuple(state.local_mem.shape))
            local[t + 1] = None if state.local_mem is None else state.local_mem.clone()
    assert seen[lengths[0]] == seen[lengths[1]] == seen[lengths[2]]
    expected = {"locater": ((3, 4, 32), (3, 5, 32)), "none": ((3, 0, 32), None),
                "last-frame": ((3, 4, 32), (3, 9, 32))}[memory]  # M = 4 slots, L = 5 slots; N = 3 x 3 tokens
    assert seen[lengths[0]][1:] == expected
    if memory == "locater":
        assert not torch.equal(local[30], local[100])


def test_local_memory_accumulates_history() -> None:
    """Locater's local memory carries what happened frames ago (Eq. 6 writes into the same slots every frame):
    changing only frame 0 changes the prediction on frame 6. Without memory, frame 0 reaches only frames 0 and 1
    (the latter through the frame difference)."""
    gen = torch.Generator().manual_seed(1)
    frames = torch.randn(7, 3, 24, 24, generator=gen)
    changed = frames.clone()
    changed[0] = torch.randn(3, 24, 24, generator=gen)
    glob = torch.randn(2, 3, 24, 24, generator=gen)  # fixed global frames: only the local path sees frame 0
    ids = torch.randint(1, 40, (1, 5), generator=gen)
    for memory in ("locater", "none"):
        m = _model(memory=memory, frame_difference=True)
        outs = []
        for video in (frames, changed):
            state = m.begin(ids, glob, glob)
            out = []
            for t in range(7):
                logits, state = m.step(video[t], state)
                out.append(logits)
            outs.append(torch.stack(out))
        assert not torch.equal(outs[0][:2], outs[1][:2])
        if memory == "locater":
            assert (outs[0][6] - outs[1][6]).abs().max() > 1e-6
        else:
            torch.testing.assert_close(outs[0][2:], outs[1][2:], rtol=0, atol=0)


def _gates(ctl: GatedWriteController, mem: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """The gates z [B, H, N, M] of one write, recomputed from the controller's own layers."""
    b, n, d = tokens.shape
    h = ctl.heads
    c = ctl.cand(torch.cat([ctl.norm_x(tokens), mem.mean(1, keepdim=True).expand(-1, n, -1)], dim=-1))
    s = torch.einsum("bnhc,bmhc->bhnm", ctl.gate_q(c).reshape(b, n, h, d // h),
                     ctl.gate_k(mem).reshape(b, mem.shape[1], h, d // h)) / (d // h) ** 0.5
    return torch.sigmoid(s - s.mean(-1, keepdim=True) + ctl.gate_b[None, :, None, None])


def test_write_gate_uniqueness() -> None:
    """The gate of Eq. 5 depends on a patch's match with a slot relative to all slots: when every slot holds the
    same state no patch is more specific to one slot than to another and every gate equals sigmoid(bias), so the
    write leaves identical slots identical; with distinct slots the gates differ between slots."""
    torch.manual_seed(0)
    ctl = GatedWriteController(32, 6, 4)
    with torch.no_grad():
        ctl.gate_b.copy_(torch.tensor([0.5, -1.0, 0.0, 2.0]))
    tokens = torch.randn(2, 10, 32)
    same = torch.randn(2, 1, 32).expand(-1, 6, -1).contiguous()
    z = _gates(ctl, same, tokens)
    torch.testing.assert_close(z, torch.sigmoid(ctl.gate_b)[None, :, None, None].expand_as(z))
    new = ctl.write(same, tokens)
    torch.testing.assert_close(new, new[:, :1].expand_as(new))
    z2 = _gates(ctl, torch.randn(2, 6, 32), tokens)
    assert (z2.std(-1) > 1e-3).all()


@pytest.mark.parametrize("options", [{}, {"frame_difference": True, "language_gate": True, "fine_decoder": True},
                                     {"memory": "none"}, {"memory": "last-frame", "frame_difference": True}])
def test_streaming_equals_training_forward(options: dict) -> None:
    """Inference (begin/step, one frame at a time) computes exactly what the training forward computes, local
    memory included (written from the frame's own prediction in both)."""
    m = _model(**options)
    frames = torch.randn(1, 4, 3, 32, 32)
    glob = torch.randn(1, 3, 3, 32, 32)
    ids = torch.randint(1, 40, (1, 5))
    prev = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
    with torch.no_grad():
        ref = m(frames, glob, ids, prev_frames=prev, global_prev=glob)["logits"][0]
    state = m.begin(ids, glob[0], glob[0] if options.get("frame_difference") else None)
    for t in range(4):
        logits, state = m.step(frames[0, t], state)
        torch.testing.assert_close(logits[0], ref[t], rtol=1e-4, atol=1e-4)


def test_batched_expressions_equal_single() -> None:
    m = _model()
    frames = torch.randn(5, 3, 32, 32)
    ids = torch.randint(1, 40, (2, 6))
    sb = m.begin(ids, frames[:3])
    s0 = m.begin(ids[:1], frames[:3])
    for t in range(5):
        lb, sb = m.step(frames[t], sb)
        l0, s0 = m.step(frames[t], s0)
        torch.testing.assert_close(lb[:1], l0, rtol=1e-4, atol=1e-4)


def test_global_indices_cover_video() -> None:
    assert global_indices(30, 3) == [5, 15, 25]
    assert global_indices(2, 3) == [0, 1, 1]
    rng = np.random.default_rng(0)
    for _ in range(50):
        idx = global_indices(30, 3, rng)
        assert 0 <= idx[0] < 10 <= idx[1] < 20 <= idx[2] < 30


def test_tiny_batch_overfits() -> None:
    """A fixed batch of 4 synthetic clips is learnt: the loss falls and the masks match (IoU > 0.7)."""
    torch.set_num_threads(1)
    ds = SceneDataset(4, seed=3, frames=6, height=32, width=32)
    tok = Tokenizer.build((e.text for e in ds.expressions()), max_len=12)
    cache = FrameCache(ds, (32, 32), tok)
    batch = cache.locater_batch(np.random.default_rng(0), 3, 2, 2, False)
    m = Locater(LocaterConfig(**{**TINY, "vocab_size": tok.vocab_size, "global_frames": 2}))
    torch.manual_seed(0)
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    x = batch["frames"].float() / 127.5 - 1
    g = batch["global_frames"].float() / 127.5 - 1
    tgt = batch["targets"].float() / 255
    wt = batch["weights"]
    losses = []
    for _ in range(120):
        out = m(x, g, batch["ids"], video_index=batch["video_index"])
        loss = dice_bce_loss(out["logits"].flatten(0, 1), tgt.flatten(0, 1), wt.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.35 * losses[0]
    with torch.no_grad():
        pred = m(x, g, batch["ids"], video_index=batch["video_index"])["logits"][:, -1] > 0
    gt = tgt[:, -1] > 0.5
    iou = ((pred & gt).sum() / (pred | gt).sum()).item()
    assert iou > 0.7
