"""URVOS-style model: shapes, confidence, two-stage inference with a bounded memory."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from lvsbench.models.urvos import Urvos, UrvosConfig, confidence  # noqa: E402

TINY = dict(vocab_size=40, word_dim=16, dim=32, heads=2, ffn=64, enc_widths=(8, 16), patch=8, cross_layers=1,
            memory_layers=1, memory_size=2, decoder_dim=16)


def _model(**kw: object) -> Urvos:
    torch.manual_seed(0)
    return Urvos(UrvosConfig(**{**TINY, **kw})).eval()


@pytest.mark.parametrize("fine_decoder", [False, True])
def test_forward_shapes(fine_decoder: bool) -> None:
    m = _model(fine_decoder=fine_decoder)
    b, f, h, w = 3, 3, 32, 40
    out = m(torch.randn(b, f, 3, h, w), torch.randint(1, 40, (b, 6)), torch.rand(b, f, h, w),
            torch.tensor([[1.0, 1.0, 0.0]] * b))
    assert out["stage1"].shape == (b, f, h, w)
    assert out["stage2"].shape == (b, h, w)


def test_padding_references_are_ignored() -> None:
    """A reference frame flagged invalid does not change the stage-2 output."""
    m = _model()
    x = torch.randn(1, 3, 3, 32, 32)
    t = torch.rand(1, 3, 32, 32)
    ids = torch.randint(1, 40, (1, 5))
    valid = torch.tensor([[1.0, 1.0, 0.0]])
    with torch.no_grad():
        a = m(x, ids, t, valid)["stage2"]
        x2 = x.clone()
        x2[:, 2] = torch.randn(3, 32, 32)
        b = m(x2, ids, t, valid)["stage2"]
    torch.testing.assert_close(a, b)


def test_confidence() -> None:
    p = torch.tensor([[[0.9, 0.7], [0.2, 0.1]], [[0.1, 0.2], [0.3, 0.4]]])
    torch.testing.assert_close(confidence(p), torch.tensor([0.8, 0.0]))


def test_two_stage_inference() -> None:
    m = _model()
    frames = torch.randn(9, 3, 32, 32)
    ids = torch.randint(1, 40, (2, 6))
    probs, conf, anchors = m.segment_video(frames, ids, memory_size=2, chunk=4)
    assert probs.shape == (2, 9, 32, 32) and conf.shape == (2, 9) and anchors.shape == (2,)
    assert m.last_memory_peak <= 2
    # Stage 1 alone picks the anchor; the anchor's mask is its stage-1 mask.
    with torch.no_grad():
        words, pad = m.encode_text(ids[:1])
        maps, tok, grid = m.encode_frames(frames)
        fused = m.cross_modal(tok, words.expand(9, -1, -1), pad.expand(9, -1))
        p1 = torch.sigmoid(m.decode(m.read(fused, None, None, grid), maps, grid, (32, 32)))
    a = int(torch.argmax(confidence(p1)))
    assert int(anchors[0]) == a
    torch.testing.assert_close(probs[0, a], p1[a], rtol=1e-4, atol=1e-5)
