"""Typed, strict training configuration: TOML in, dataclasses out, unknown keys are errors.

The resolved config is written beside every run (``config.toml``) and stored in its checkpoints,
so a resumed run can check it is continuing the same experiment.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from ..degrade.augment import DEFAULT, AugmentConfig
from ..errors import InkreaderError
from ..preprocess import TAIL_MARGIN, X_SCALE_RANGE, Reading


class ConfigError(InkreaderError):
    """A training config that cannot be used."""


@dataclass(frozen=True)
class DataSource:
    """One dataset of the training mixture (any format ``load_dataset`` reads)."""

    path: str
    split: str | None = None
    weight: float = 1.0  # share of each epoch drawn from this source
    augment: bool = True
    limit: int | None = None  # use only the first N lines (quick experiments, tests)
    # hold out this fraction of the pages (a stable hash of each page's name): a [[train]]
    # source leaves them out, the [val] source reads only them. For data without a val split.
    holdout: float | None = None
    # a text file of line ids or page names to leave out (one a line, '#' starts a comment):
    # broken ground truth found by `inkreader evaluate --report` on the training split
    exclude: str | None = None
    # a folder of pen strokes (strokes.npz + lines.tsv, ``inkreader.data.pen``): the pen style its
    # lines are drawn with ("plain", the default, or "varied"), how many different renderings
    # of every line the source holds, and the seed they are drawn under
    pen: str | None = None
    renderings: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.holdout is not None and not 0 < self.holdout < 1:
            raise ConfigError(f"{self.path}: holdout must be a fraction between 0 and 1, "
                              f"got {self.holdout}")
        from ..data.pen import STYLES
        if self.pen is not None and self.pen not in STYLES:
            raise ConfigError(f"{self.path}: pen must be one of {', '.join(STYLES)}, got "
                              f"{self.pen!r}")
        if self.renderings < 1:
            raise ConfigError(f"{self.path}: renderings must be 1 or more, got "
                              f"{self.renderings}")


# Layers of an init checkpoint that ``reinit`` may start afresh.
REINIT_LAYERS = ("collapse", "lstm_a", "lstm_b", "classifier")


@dataclass(frozen=True)
class TrainConfig:
    train: tuple[DataSource, ...]
    # the validation sets ([val] for one, [[val]] for several): every epoch reads each, and the
    # best model is the one with the lowest mean of their CERs (each set counts the same)
    val: tuple[DataSource, ...]
    out: str = "runs/default"
    init: str | None = None  # fine-tune from this checkpoint ("default" = the shipped model)
    epochs: int = 40
    epoch_lines: int = 6000  # lines drawn from the mixture per epoch
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    # false: no weight decay on biases and BatchNorm parameters (train.make_optimizer)
    decay_norms: bool = True
    # the CTC loss minus this times the mean entropy of the frames' posteriors (a confidence
    # penalty, Pereyra et al. 2017): it keeps the network from putting all of a frame's mass on
    # one class, a regulariser that does not touch the weights. 0 = off.
    confidence_penalty: float = 0.0
    warmup_steps: int = 400
    min_lr_ratio: float = 0.05  # cosine decay to lr * this at the last step
    grad_clip: float = 5.0
    max_width: int = 1600  # wider lines are squeezed to this width (at height 96)
    # paper (edge values) after every line, as the Recognizer reads it (preprocess.TAIL_MARGIN);
    # 0 = none
    tail_margin: int = TAIL_MARGIN
    # the horizontal scale lines are read at (ModelConfig.x_scale): training lines are stretched
    # by it after resizing to height 96, and the models it writes carry it
    x_scale: float = 1.0
    # shear every line upright (preprocess.upright) after resizing, before augmentation (which
    # slants it again at random); the models it writes carry it and read lines the same way
    deslant: bool = False
    # cut every line to its ink band (preprocess.ink_band) before resizing to height 96; the
    # models it writes carry it and read lines the same way
    band: bool = False
    # rows the height collapse keeps (ModelConfig.collapse_rows; 1 is the reference); a run
    # from a 1-row checkpoint (init) widens it first (model.widen_collapse)
    collapse_rows: int = 1
    # the widths a training batch's LSTMs read: "own" = each line its own frames (packed, as
    # reading does); "equal" = every line edge-padded to the batch's widest (width-bucketed
    # batches, so a few columns), read unpacked: about 1.6 times the lines/s on CPU. Validation
    # always reads each line over its own width.
    batch_widths: str = "own"
    # the [augment] table: any field of augment.AugmentConfig (sources with augment = true)
    augment: AugmentConfig = DEFAULT
    val_limit: int | None = None  # validate on N val lines spread evenly over the val set
    checkpoint_minutes: float = 10.0
    # a folder that keeps every source's prepared lines (train.data.load_source), so that a
    # resumed or repeated run starts in seconds, not minutes; default: "cache" beside the run
    # folder (runs/cache for runs/NAME); "" keeps nothing
    cache: str | None = None
    keep_epochs: bool = False  # also save each epoch's model as epochs/epoch-NNN.pt (averaging)
    max_minutes: float | None = None  # stop cleanly (with a checkpoint) after this long
    max_steps: int | None = None  # stop cleanly after this many steps of this invocation
    # stop cleanly once the run's own step count reaches this (the same after any number of
    # kills and resumes; a run already there returns at once): a run cut short on purpose
    until_step: int | None = None
    seed: int = 0
    workers: int = 1
    threads: int | None = None  # torch threads; None = the cores this process may use
    dropout: float = 0.2
    # dropout on the features LSTM A reads (ModelConfig.input_dropout; 0 = the reference's)
    input_dropout: float = 0.0
    # layers of the init checkpoint to start afresh (seeded), e.g. ["lstm_a", "lstm_b",
    # "classifier"]: keep a trained CNN, learn the recurrent head again (any of REINIT_LAYERS)
    reinit: tuple[str, ...] = ()
    # shrink and perturb (Ash and Adams 2020) the init checkpoint's weights: each weight of the
    # convolutions, the collapse, the LSTMs and the classifier becomes shrink x itself + perturb
    # x the run's own seeded initial weight (BatchNorm kept); 1 and 0 keep the init as it is
    shrink: float = 1.0
    perturb: float = 0.0
    # "bf16": autocast matmuls/convs/LSTMs to bfloat16 (fp32 master weights); about 2x the
    # lines/s on CPUs with AVX512-BF16 (bench/train_throughput.py), slow on CPUs without it.
    precision: str = "fp32"
    log_every: int = 50

    def __post_init__(self) -> None:
        low, high = X_SCALE_RANGE
        if not low <= self.x_scale <= high:
            raise ConfigError(f"x_scale must be within {low:g}-{high:g}, got {self.x_scale}")
        if self.batch_widths not in ("own", "equal"):
            raise ConfigError(f"batch_widths must be \"own\" or \"equal\", got "
                              f"{self.batch_widths!r}")
        if self.tail_margin < 0:
            raise ConfigError(f"tail_margin must be 0 or more pixels, got {self.tail_margin}")
        if self.confidence_penalty < 0:
            raise ConfigError(f"confidence_penalty must be 0 or more, got "
                              f"{self.confidence_penalty}")
        for name, n in (("max_steps", self.max_steps), ("until_step", self.until_step)):
            if n is not None and n < 1:
                raise ConfigError(f"{name} must be 1 or more, got {n}")
        for name, p in (("dropout", self.dropout), ("input_dropout", self.input_dropout)):
            if not 0 <= p < 1:
                raise ConfigError(f"{name} must be at least 0 and below 1, got {p}")
        unknown = [x for x in self.reinit if x not in REINIT_LAYERS]
        if unknown:
            raise ConfigError(f"reinit names unknown layers {unknown} (known: "
                              f"{', '.join(REINIT_LAYERS)})")
        if self.reinit and not self.init:
            raise ConfigError("reinit starts layers of the init checkpoint afresh, but no init "
                              "is given (without one every layer starts afresh)")
        if not 0 < self.shrink <= 1 or self.perturb < 0:
            raise ConfigError(f"shrink must be above 0 and at most 1 and perturb 0 or more, got "
                              f"{self.shrink} and {self.perturb}")
        if (self.shrink, self.perturb) != (1.0, 0.0) and not self.init:
            raise ConfigError("shrink and perturb change the init checkpoint's weights, but no "
                              "init is given")
        if self.precision not in ("fp32", "bf16"):
            raise ConfigError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")

    @property
    def reading(self) -> Reading:
        """How its lines are prepared, as the models it writes will read them."""
        return Reading.of(self)

    @property
    def cache_dir(self) -> Path | None:
        """Where prepared lines are kept (``cache``), None for nowhere."""
        if self.cache is None:
            return Path(self.out).parent / "cache"
        return Path(self.cache) if self.cache else None

    def with_overrides(self, **kw) -> TrainConfig:
        return replace(self, **{k: v for k, v in kw.items() if v is not None})

    def to_dict(self) -> dict:
        return asdict(self)

    def experiment_key(self) -> dict:
        """What must not change when a run is resumed (budget and machine knobs may); saved in
        its ``last.pt``, whose older formats ``checkpoint.upgrade_run`` brings up to this one."""
        d = self.to_dict()
        for k in ("max_minutes", "max_steps", "until_step", "workers", "threads",
                  "checkpoint_minutes", "keep_epochs", "log_every", "out", "epochs", "cache"):
            d.pop(k)
        return d


def _strict(cls, d: dict, where: str):
    names = {f.name for f in fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(names)})")
    return d


def _source(d: dict, where: str) -> DataSource:
    if "path" not in d:
        raise ConfigError(f"{where}: a data source needs a 'path'")
    return DataSource(**_strict(DataSource, d, where))


def check_holdout(train: tuple[DataSource, ...], vals: tuple[DataSource, ...], where: str
                  ) -> None:
    """A [val] source with a holdout must be held out of the [[train]] sources reading the same
    lines with the same fraction; otherwise some validation pages would be trained on."""
    for val in vals:
        _check_holdout(train, val, where)


def _check_holdout(train: tuple[DataSource, ...], val: DataSource, where: str) -> None:
    if val.holdout is None:
        return
    for s in train:
        if (s.path, s.split) == (val.path, val.split) and s.holdout != val.holdout:
            raise ConfigError(f"{where}: [val] holds out {val.holdout} of {val.path}'s pages but "
                              f"a [[train]] source reads that file with holdout = {s.holdout}; "
                              "give both the same holdout")


def config_from_dict(d: dict, where: str = "config") -> TrainConfig:
    d = dict(_strict(TrainConfig, d, where))
    if not d.get("train"):
        raise ConfigError(f"{where}: needs at least one [[train]] source")
    if "val" not in d:
        raise ConfigError(f"{where}: needs a [val] source")
    d["train"] = tuple(_source(s, f"{where} [[train]]") for s in d["train"])
    vals = d["val"] if isinstance(d["val"], list) else [d["val"]]
    if not vals or not all(isinstance(v, dict) for v in vals):
        raise ConfigError(f"{where}: [val] must be a table, or [[val]] tables")
    d["val"] = tuple(_source(v, f"{where} [val]") for v in vals)
    if "reinit" in d:
        if not isinstance(d["reinit"], list) or not all(isinstance(x, str) for x in d["reinit"]):
            raise ConfigError(f"{where}: reinit must be a list of layer names, got "
                              f"{d['reinit']!r}")
        d["reinit"] = tuple(d["reinit"])
    if "augment" in d:
        aug = {k: tuple(v) if isinstance(v, list) else v
               for k, v in _strict(AugmentConfig, dict(d["augment"]), f"{where} [augment]").items()}
        try:
            d["augment"] = AugmentConfig(**aug)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where} [augment]: {exc}") from None
    check_holdout(d["train"], d["val"], where)
    return TrainConfig(**d)


def load_config(path: str | Path) -> TrainConfig:
    """Read a TOML config; relative dataset paths are taken relative to the current folder."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return config_from_dict(data, str(path))


def dump_config(cfg: TrainConfig) -> str:
    """TOML text of a resolved config (the subset of TOML this config needs)."""
    def value(v):
        if isinstance(v, tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return repr(v)

    def table(d: dict) -> list[str]:
        return [f"{k} = {value(v)}" for k, v in d.items() if v is not None]

    d = cfg.to_dict()
    lines = table({k: v for k, v in d.items() if k not in ("train", "val", "augment")})
    lines += ["", "[augment]", *table(d["augment"])]
    for s in d["train"]:
        lines += ["", "[[train]]", *table(s)]
    for s in d["val"]:
        lines += ["", "[[val]]", *table(s)]
    return "\n".join(lines) + "\n"


__all__ = ["ConfigError", "DataSource", "TrainConfig", "config_from_dict", "dump_config",
           "load_config"]
