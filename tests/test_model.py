"""The reference network: parameter totals, T = W / 8, LSTM B started from LSTM A's final state,
normalisation inside the model, self-describing checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inkreader.charset import Charset
from inkreader.errors import ModelError
from inkreader.model import (
    HandwritingRecognizer,
    ModelConfig,
    load_checkpoint,
    save_checkpoint,
    widen_collapse,
)
from inkreader.preprocess import CNN_CONTEXT, stack_lines


def busy_model(config: ModelConfig | None = None, seed: int = 0) -> HandwritingRecognizer:
    """A seeded untrained network made input-sensitive (larger BN scales, LSTM and classifier
    weights), so that different lines decode to different, long texts: parity tests on it
    compare real character sequences, not one constant string. Shared by the other tests."""
    torch.manual_seed(seed)
    net = HandwritingRecognizer(config or ModelConfig()).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.mul_(3)
        for name, p in [*net.lstm_a.named_parameters(), *net.lstm_b.named_parameters()]:
            if name.startswith("weight"):
                p.mul_(3)
        net.collapse.weight.mul_(3)
        net.classifier.weight.mul_(20)
    return net


def test_busy_model_reads_lines_differently():
    net = busy_model()
    x = torch.stack([torch.full((1, 96, 64), 255.0), torch.rand(1, 96, 64) * 255])
    with torch.no_grad():
        paths = net(x).argmax(-1)  # (T, B)
    assert not torch.equal(paths[:, 0], paths[:, 1])


@pytest.fixture(scope="module")
def model() -> HandwritingRecognizer:
    torch.manual_seed(0)
    return HandwritingRecognizer().eval()


def test_parameter_totals(model):
    # SPEC.md: 5.56 M in all; the card's "0.1413 MParams" counts conv + Linear(12->1) + classifier.
    assert model.card_parameters() == 141_292
    assert model.exported_parameters() == 5_564_396
    assert round(model.exported_parameters() / 1e6, 2) == 5.56
    bn_affine = 2 * sum(ModelConfig().channels)  # BN's scale and shift fold into the convs
    assert sum(p.numel() for p in model.parameters()) == 5_564_396 + bn_affine


def test_parameter_totals_by_hand():
    chans = (1, 16, 32, 48, 64, 80)
    convs = sum(9 * chans[i] * chans[i + 1] + chans[i + 1] for i in range(5))
    collapse, classifier = 12 + 1, 512 * 95 + 95

    def lstm(inp, hidden=256):  # per direction: 4 gates x (input + recurrent weights + 2 biases)
        return 2 * 4 * hidden * (inp + hidden + 2)
    lstms = lstm(80) + lstm(512) + 2 * lstm(512)
    assert convs + collapse + classifier == 141_292
    assert convs + collapse + classifier + lstms == 5_564_396


@pytest.mark.parametrize("width", [8, 96, 1000, 2000])
def test_frames_are_width_over_8(model, width):
    with torch.no_grad():
        out = model(torch.rand(2, 1, 96, width) * 255)
    assert out.shape == (width // 8, 2, 95)  # (T, B, C)
    assert model.output_lengths(torch.tensor([width]))[0] == width // 8


def _manual_forward(model, x, start_b_from_a: bool, normalise: bool = True) -> torch.Tensor:
    f = model.cnn((x - 127.5) / 127.5 if normalise else x)  # (B, 80, 12, T)
    seq = model.collapse(f.permute(0, 1, 3, 2)).squeeze(-1).permute(2, 0, 1)  # (T, B, 80)
    seq, state = model.lstm_a(seq)
    seq, _ = model.lstm_b(seq, state) if start_b_from_a else model.lstm_b(seq)
    return model.classifier(seq)


def test_lstm_b_starts_from_lstm_a_final_state(model):
    x = torch.rand(1, 1, 96, 160) * 255
    with torch.no_grad():
        out = model(x)
        chained = _manual_forward(model, x, start_b_from_a=True)
        from_zero = _manual_forward(model, x, start_b_from_a=False)
    torch.testing.assert_close(out, chained)
    assert (out - from_zero).abs().max() > 1e-3  # the initial state matters and is A's


def test_lstm_b_sees_a_perturbed_final_state(model):
    x = torch.rand(1, 1, 96, 160) * 255
    seen = {}

    def perturb(_module, _inputs, output):
        seq, (h, c) = output
        seen["a"] = True
        return seq, (h + 0.5, c)  # change only A's final state, not its output sequence

    with torch.no_grad():
        base = model(x)
        handle = model.lstm_a.register_forward_hook(perturb)
        try:
            changed = model(x)
        finally:
            handle.remove()
    assert seen and (base - changed).abs().max() > 1e-3


def test_normalisation_is_inside_the_model(model):
    white = torch.full((1, 1, 96, 64), 255.0)
    with torch.no_grad():
        raw = model(white)
        # (255 - 127.5) / 127.5 == 1: raw white pixels must reach the convs as ones
        ones = _manual_forward(model, torch.ones_like(white), True, normalise=False)
    torch.testing.assert_close(raw, ones)


def test_checkpoint_round_trip(tmp_path, model):
    charset = Charset.gnhk()
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, charset, meta={"steps": 3})
    loaded, cs, meta = load_checkpoint(path)
    assert cs == charset and meta == {"steps": 3} and not loaded.training
    x = torch.rand(1, 1, 96, 64) * 255
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_bad_checkpoints(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="junk.pt"):
        load_checkpoint(junk)
    with pytest.raises(ModelError, match="unknown model config keys"):
        ModelConfig.from_dict({"height": 96, "hieght": 96})


@pytest.mark.parametrize("rows", [3, 12])
def test_widening_the_height_collapse_keeps_what_the_model_computes(rows):
    narrow = busy_model(ModelConfig(dropout=0.0))
    wide = widen_collapse(narrow, rows)
    assert wide.config.collapse_rows == rows and not wide.training
    assert wide.lstm_a.input_size == 80 * rows
    x = torch.rand(2, 1, 96, 320) * 255
    with torch.no_grad():
        torch.testing.assert_close(wide(x), narrow(x), atol=1e-4, rtol=1e-4)
    # every row lands in exactly one profile: the bands tile the 12 pooled rows
    assert torch.equal((wide.collapse.weight != 0).sum(0), torch.ones(12, dtype=torch.long))
    with pytest.raises(ModelError, match="only a 1-row height collapse"):
        widen_collapse(wide, 2)


def test_collapse_rows_must_fit_the_pooled_height():
    for rows in (0, 13):
        with pytest.raises(ModelError, match=f"collapse_rows {rows} is outside 1-12"):
            ModelConfig(collapse_rows=rows)


def test_a_line_reads_the_same_beside_any_neighbours():
    # With the lines' widths each line's LSTMs read its own frames only; CNN_CONTEXT columns of
    # its own edge after it keep its last frames' convolutions off the neighbours' padding.
    net = busy_model()
    rng = np.random.default_rng(0)
    lines = [rng.integers(0, 256, (96, w), dtype=np.uint8) for w in (160, 400, 240)]
    widths = torch.tensor([ln.shape[1] for ln in lines])
    with torch.no_grad():
        batch = net(torch.from_numpy(stack_lines(lines, 400 + CNN_CONTEXT)), widths)
        plain = net(torch.from_numpy(stack_lines(lines, 400 + CNN_CONTEXT)))
        for i, ln in enumerate(lines):
            w = ln.shape[1]
            alone = net(torch.from_numpy(stack_lines([ln], w + CNN_CONTEXT)), widths[i:i + 1])
            assert alone.shape[0] == w // 8 and batch.shape[0] == 400 // 8
            torch.testing.assert_close(batch[: w // 8, i], alone[:, 0], atol=1e-4, rtol=1e-4)
    # read without the widths, the backward LSTMs start on the padding of the widest line
    assert (plain[: 160 // 8, 0] - batch[: 160 // 8, 0]).abs().max() > 1e-2


def test_cnn_context_covers_the_reach_of_the_convolutions():
    # A frame's features see 23 columns past its own 8 (3x3 convs: 1 + 2 + 4 columns at full,
    # half and quarter resolution, 8 + 8 after the third pool): a line's last frame sees the
    # 23 columns after the line, and none further.
    net, reach = busy_model(), 23
    assert reach <= CNN_CONTEXT
    x = torch.rand(1, 1, 96, 320 + 64) * 255
    frames = 320 // 8
    with torch.no_grad():
        base = net.cnn(x)[..., :frames]
        beyond = x.clone()
        beyond[..., 320 + reach:] = 0
        torch.testing.assert_close(net.cnn(beyond)[..., :frames], base, atol=0, rtol=0)
        inside = x.clone()
        inside[..., 320 + reach - 1] = 0
        assert (net.cnn(inside)[..., :frames] - base).abs().max() > 1


def test_a_batch_of_one_length_reads_unpacked_exactly_as_packed(monkeypatch):
    # Equal widths take the plain LSTMs (training's equal-width batches) and give what packing
    # gives: lines 0 and 1 fill the batch in both readings below.
    import inkreader.model as model_module
    packs = []
    pack = model_module.pack_padded_sequence
    monkeypatch.setattr(model_module, "pack_padded_sequence",
                        lambda *a, **k: packs.append(1) or pack(*a, **k))
    net = busy_model()
    x = torch.rand(3, 1, 96, 240 + CNN_CONTEXT) * 255
    with torch.no_grad():
        fast = net(x, torch.tensor([240, 240, 240]))
        assert packs == [] and fast.shape[0] == 240 // 8
        slow = net(x, torch.tensor([240, 240, 232]))
        assert packs == [1]
    torch.testing.assert_close(fast[:, :2], slow[:, :2], atol=1e-4, rtol=1e-4)
