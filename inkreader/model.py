"""The network of handwritten-english-recognition-0001 and self-describing checkpoints.

Layer by layer as SPEC.md reads the official IR: five conv blocks (3x3, BN, LeakyReLU; 2x2
max-pool after the first three), a Linear(12 -> 1) that collapses the height, LSTM A (2 layers,
bidirectional, hidden 256), LSTM B started from A's final (h, c), Linear(512 -> classes).
The input is raw 0..255 gray; the model normalises it itself, as the IR does.
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .charset import Charset
from .checkpoint import MODEL_FORMAT, MODEL_VERSION, upgrade_model
from .errors import ModelError
from .preprocess import X_SCALE_RANGE, Reading

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT, CHECKPOINT_VERSION = MODEL_FORMAT, MODEL_VERSION


@dataclass(frozen=True)
class ModelConfig:
    height: int = 96
    fixed_width: int = 2000  # the reference input width, used by --fixed-width and export
    channels: tuple[int, ...] = (16, 32, 48, 64, 80)
    pooled: tuple[bool, ...] = (True, True, True, False, False)
    lstm_hidden: int = 256
    lstm_layers: int = 2
    leaky_slope: float = 0.01  # not readable from the IR; PyTorch's default
    dropout: float = 0.2  # invisible in the export; TRAINING-NOTES.md probe used 0.2
    # dropout on the collapsed features LSTM A reads (Puigcerver 2017 drops every recurrent
    # layer's input); 0 is what the reference pipeline does. Invisible in the export too.
    input_dropout: float = 0.0
    num_classes: int = 95
    # Rows the height collapse keeps (not the reference, which has 1: Linear 12 -> 1 leaves the
    # LSTMs channels[-1] = 80 features a frame, whatever rows of the line they came from). With
    # k, Linear 12 -> k keeps k learnt row profiles of every channel (80k features a frame);
    # ``widen_collapse`` turns a trained 1-row model into a k-row one that computes the same.
    collapse_rows: int = 1
    # Horizontal scale inkreader reads lines at (variable width only; --fixed-width is the
    # reference pipeline, exactly): a line is resized to height 96 and then stretched by this.
    # The network does not depend on it; ``inkreader tune-scale`` chooses it on a val split.
    x_scale: float = 1.0
    # Lines are sheared upright before reading (preprocess.upright; variable width only), as
    # the model was trained. Not architecture either; the reference reads lines as they are.
    deslant: bool = False
    # Lines are cut to their ink band before resizing (preprocess.ink_band; variable width
    # only), as the model was trained; the reference reads lines as they are.
    band: bool = False

    def __post_init__(self) -> None:
        low, high = X_SCALE_RANGE
        if not low <= self.x_scale <= high:
            raise ModelError(f"model config x_scale {self.x_scale} is outside {low:g}-{high:g}")
        if not 1 <= self.collapse_rows <= self.collapsed_height:
            raise ModelError(f"model config collapse_rows {self.collapse_rows} is outside "
                             f"1-{self.collapsed_height} (the rows left after pooling)")

    @property
    def architecture(self) -> dict:
        """The settings that shape the weights (two models with the same share a state dict)."""
        return {k: getattr(self, k) for k in ("height", "channels", "pooled", "lstm_hidden",
                                                "lstm_layers", "num_classes", "collapse_rows")}

    def architecture_differences(self, other: ModelConfig | None = None) -> dict:
        """The architecture settings in which this network differs from ``other`` (default: the
        reference's, ``ModelConfig()``, SPEC.md), as {setting: (this, other)}; empty if none."""
        mine, theirs = self.architecture, (other or ModelConfig()).architecture
        return {k: (mine[k], theirs[k]) for k in mine if mine[k] != theirs[k]}

    @property
    def reading(self) -> Reading:
        """How lines are prepared for this model (``preprocess.Reading``)."""
        return Reading.of(self)

    @property
    def stride(self) -> int:
        return 2 ** sum(self.pooled)

    @property
    def collapsed_height(self) -> int:
        return self.height // self.stride

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """The config of a checkpoint of today's format, which names every setting (older
        formats are upgraded first: ``checkpoint.upgrade_model``)."""
        known = {f.name for f in fields(cls)}
        unknown, missing = set(d) - known, known - set(d)
        if unknown:
            raise ModelError(f"unknown model config keys: {sorted(unknown)}")
        if missing:
            raise ModelError(f"model config lacks keys: {sorted(missing)}")
        d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**d)


class ConvBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int, slope: float, pool: bool):
        layers = [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.LeakyReLU(slope)]
        if pool:
            layers.append(nn.MaxPool2d(2))
        super().__init__(*layers)


class HandwritingRecognizer(nn.Module):
    """(B, 1, H, W) raw pixels -> (T, B, C) logits with T = W / 8."""

    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.config = config
        chans = (1, *config.channels)
        self.cnn = nn.Sequential(*(ConvBlock(chans[i], chans[i + 1], config.leaky_slope, p)
                                   for i, p in enumerate(config.pooled)))
        self.collapse = nn.Linear(config.collapsed_height, config.collapse_rows)
        hidden, layers, drop = config.lstm_hidden, config.lstm_layers, config.dropout
        self.lstm_a = nn.LSTM(chans[-1] * config.collapse_rows, hidden, layers,
                              bidirectional=True, dropout=drop)
        self.lstm_b = nn.LSTM(2 * hidden, hidden, layers, bidirectional=True, dropout=drop)
        self.dropout = nn.Dropout(drop)
        self.input_dropout = nn.Dropout(config.input_dropout)
        self.classifier = nn.Linear(2 * hidden, config.num_classes)

    def forward(self, x: torch.Tensor, widths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (T, B, C) of a batch; ``widths`` (B,) are the lines' own input widths
        (multiples of the stride, at most the batch's), or None when every line fills the batch.

        With ``widths`` the LSTMs read each line over its own ``width / stride`` frames
        (packed sequences; ONNX ``LSTM`` ``sequence_lens`` in the export), so a line's logits
        never depend on the lines batched with it: the backward directions start at the line's
        own end and LSTM B starts from A's state there. Frames past a line's end are zeros
        before the classifier. The CNN still sees the batch's columns past the line's end:
        callers edge-pad a line by ``preprocess.CNN_CONTEXT`` or more (``stack_lines``).
        """
        x = (x - 127.5) / 127.5  # the IR normalises inside the graph
        f = self.cnn(x)  # (B, 80, 12, T)
        f = self.collapse(f.permute(0, 1, 3, 2))  # (B, 80, T, k)
        if self.config.collapse_rows == 1:
            seq = f.squeeze(-1).permute(2, 0, 1)  # (T, B, 80): the reference graph
        else:  # (T, B, 80k), channel-major: feature c * k + j is channel c's row profile j
            seq = f.permute(2, 0, 1, 3).flatten(2)
        seq = self.input_dropout(seq)
        if widths is not None:
            lengths = self.output_lengths(widths)
            # only the frames some line has: a batch of equal lengths then reads exactly, even
            # on a runtime that ignores ``sequence_lens`` (OpenVINO's CPU plugin: backends.py)
            seq = seq[: lengths.max()]
            # one length: the plain LSTMs below read exactly what packing would, about 1.6
            # times faster on CPU (training's equal-width batches, TrainConfig.batch_widths)
            if torch.onnx.is_in_onnx_export() or not bool((lengths == lengths[0]).all()):
                return self._packed(seq, lengths)
        seq, state = self.lstm_a(seq)  # (T, B, 512)
        seq, _ = self.lstm_b(self.dropout(seq), state)  # LSTM B starts from A's final (h, c)
        return self.classifier(self.dropout(seq))  # (T, B, C)

    def _packed(self, seq: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The LSTMs and classifier over each line's own ``lengths`` frames of ``seq``."""
        packed = pack_padded_sequence(seq, lengths.cpu(), enforce_sorted=False)
        packed, state = self.lstm_a(packed)
        packed, _ = self.lstm_b(_dropped(packed, self.dropout), state)
        seq, _ = pad_packed_sequence(packed)  # (max(lengths), B, 512)
        return self.classifier(self.dropout(seq))

    def output_lengths(self, widths: torch.Tensor) -> torch.Tensor:
        """Frames produced for input widths (a pure function of width)."""
        return widths // self.config.stride

    def card_parameters(self) -> int:
        """Parameters as the model card counts: conv (BN folded), height collapse, classifier."""
        convs = sum(m.weight.numel() + m.out_channels for m in self.modules()
                    if isinstance(m, nn.Conv2d))
        return convs + sum(p.numel() for m in (self.collapse, self.classifier)
                           for p in m.parameters())

    def exported_parameters(self) -> int:
        """All parameters of the exported graph (BN folded into the convs)."""
        lstm = sum(p.numel() for m in (self.lstm_a, self.lstm_b) for p in m.parameters())
        return self.card_parameters() + lstm


def _dropped(packed: PackedSequence, dropout: nn.Module) -> PackedSequence:
    """``dropout`` applied to a packed sequence's frames."""
    return PackedSequence(dropout(packed.data), packed.batch_sizes, packed.sorted_indices,
                          packed.unsorted_indices)


def widen_collapse(model: HandwritingRecognizer, rows: int) -> HandwritingRecognizer:
    """A copy of a 1-row model (the reference's height collapse) with ``rows`` row profiles
    (``ModelConfig.collapse_rows``) that computes the same logits.

    The collapse's weights over the pooled rows are split into ``rows`` contiguous bands:
    profile j keeps band j's weights (zero elsewhere) and 1/rows of the bias, and each profile
    of a channel feeds LSTM A through that channel's old input column. The sum LSTM A sees is
    the old one; training can then weigh the bands (for 3: ascenders, core, descenders) apart.
    """
    cfg = model.config
    if cfg.collapse_rows != 1:
        raise ModelError(f"only a 1-row height collapse can be widened (this one has "
                         f"{cfg.collapse_rows})")
    wide = HandwritingRecognizer(replace(cfg, collapse_rows=rows))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    w, b = state["collapse.weight"][0], state["collapse.bias"][0]
    weight = torch.zeros(rows, cfg.collapsed_height, dtype=w.dtype)
    for j, band in enumerate(torch.tensor_split(torch.arange(cfg.collapsed_height), rows)):
        weight[j, band] = w[band]
    state["collapse.weight"], state["collapse.bias"] = weight, b.repeat(rows) / rows
    for key in ("lstm_a.weight_ih_l0", "lstm_a.weight_ih_l0_reverse"):
        state[key] = state[key].repeat_interleave(rows, dim=1)  # column c * rows + j = old c
    wide.load_state_dict(state)
    return wide.train(model.training)


def save_checkpoint(path: str | Path, model: HandwritingRecognizer, charset: Charset,
                    meta: dict | None = None, half: bool = False) -> None:
    """One file with config, charset and weights; loading needs nothing else.

    ``half`` stores float weights as float16 (the shipped model: half the size, and the BN
    running statistics stay float32); they are cast back to float32 on load.
    """
    state = {k: (v.half() if half and v.is_floating_point() and "running" not in k else v)
             for k, v in model.state_dict().items()}
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
               "config": asdict(model.config), "charset": list(charset.symbols),
               "state_dict": state, "meta": meta or {}}
    tmp = Path(path).with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)  # atomic: a kill mid-save never leaves a half-written checkpoint


_LAST_PT_HINT = ("; a run's last.pt is its training state, its models are best.pt and "
                 "epochs/*.pt")


def load_checkpoint(path: str | Path) -> tuple[HandwritingRecognizer, Charset, dict]:
    """Rebuild the model from a checkpoint; returns (model in eval mode, charset, meta)."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelError(f"{path}: model file not found") from None
    except Exception:
        # torch's own message is a page about weights_only; say what the file is instead
        kind = "a PyTorch file, but not a model" if zipfile.is_zipfile(path) else \
            "not a PyTorch file"
        raise ModelError(f"{path}: not an inkreader checkpoint ({kind}){_LAST_PT_HINT}") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ModelError(f"{path}: not an inkreader checkpoint{_LAST_PT_HINT}")
    payload = upgrade_model(payload, path)
    try:
        config = ModelConfig.from_dict(payload["config"])
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    charset = Charset(tuple(payload["charset"]))
    if charset.num_classes != config.num_classes:
        raise ModelError(f"{path}: charset has {len(charset)} symbols but the model "
                         f"{config.num_classes} classes")
    model = HandwritingRecognizer(config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    model.load_state_dict(state)
    model.eval()
    return model, charset, payload.get("meta", {})

