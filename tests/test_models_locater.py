"""Locater-style model: shapes, constant-size memory, streaming = batch forward, overfitting a tiny batch."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lvsbench.models.data import FrameCache  # noqa: E402
from lvsbench.models.layers import dice_bce_loss  # noqa: E402
from lvsbench.models.locater import Locater, LocaterConfig, global_indices  # noqa: E402
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


def test_streaming_memory_is_constant_in_video_length() -> None:
    m = _model()
    ids = torch.randint(1, 40, (3, 6))
    frames = torch.randn(40, 3, 32, 32)
    state = m.begin(ids, frames[global_indices(40, 3)])
    sizes = []
    shapes = []
    for t in range(40):
        logits, state = m.step(frames[t], state)
        assert logits.shape == (3, 32, 32)
        sizes.append(state.nbytes())
        shapes.append((tuple(state.global_mem.shape), tuple(state.local_mem.shape)))
    assert len(set(sizes)) == 1
    assert len(set(shapes)) == 1
    assert shapes[0] == ((3, 4, 32), (3, 16, 32))  # M slots; one frame's N = 4 x 4 tokens


@pytest.mark.parametrize("options", [{}, {"frame_difference": True, "language_gate": True, "fine_decoder": True}])
def test_streaming_equals_training_forward(options: dict) -> None:
    """Inference (begin/step, one frame at a time) computes exactly what the training forward computes."""
    m = _model(**options)
    frames = torch.randn(1, 4, 3, 32, 32)
    glob = torch.randn(1, 3, 3, 32, 32)
    ids = torch.randint(1, 40, (1, 5))
    prev = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
    with torch.no_grad():
        ref = m(frames, glob, ids, prev_frames=prev, global_prev=glob)["logits"][0]
    state = m.begin(ids, glob[0], glob[0] if options else None)
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
