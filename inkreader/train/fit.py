"""Training: CTC loss, AdamW with warm-up + cosine, validation CER every epoch, the best model
kept, a checkpoint every few minutes, exact resume after a kill, optional DDP (gloo on CPU).

A run lives in one folder: ``config.toml`` (resolved config), ``last.pt`` (full training state),
``best.pt`` (self-describing model, lowest validation CER), ``metrics.jsonl`` and ``curve.png``;
with ``keep_epochs`` also ``epochs/epoch-NNN.pt``, every epoch's model (``inkreader average``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from ..charset import Charset
from ..decode.greedy import greedy_decode
from ..errors import TrainingStopped
from ..metrics import ErrorRates
from ..model import HandwritingRecognizer, save_checkpoint
from ..runtime.backends import cpu_count
from .config import TrainConfig, dump_config
from .data import BatchDataset, LoadedSource, collate, epoch_plan, load_source
from .run import Run, make_optimizer

log = logging.getLogger(__name__)


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 / AMX, as oneDNN reports it)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # the probe is gone from this torch: do not guess
        return True


def precision_warning(precision: str, native: bool) -> str | None:
    """A warning for bf16 autocast on a CPU that only emulates bf16: there it is far slower
    than fp32 (one batch of 16 lines at width 880 on an AVX2-only core: 30.9 s against 3.8 s;
    docs/training.md, "Training throughput")."""
    if precision != "bf16" or native:
        return None
    return ("precision bf16 on a CPU without native bf16 (no AVX-512 BF16 / AMX): PyTorch "
            "emulates it, several times slower than fp32; use --precision fp32 for a new run "
            "(a run keeps its precision when resumed)")


def mean_frame_entropy(log_probs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean entropy (nats) of the (T, B, C) posteriors over each line's own frames; the
    padding frames after a line's length are left out."""
    entropy = -(log_probs.exp() * log_probs).sum(-1)  # (T, B)
    frames = torch.arange(log_probs.shape[0]).unsqueeze(1) < lengths.unsqueeze(0)
    return (entropy * frames).sum() / frames.sum().clamp(min=1)


def lr_factor(step: int, total: int, warmup: int, floor: float) -> float:
    """Linear warm-up, then cosine decay from 1 to ``floor`` at ``total`` steps."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def validate(model: HandwritingRecognizer, val: LoadedSource, charset: Charset,
             batch_size: int = 16, margin: int = 0) -> ErrorRates:
    """Greedy CER on the validation lines (no augmentation), batched by width."""
    model.eval()
    rates = ErrorRates()
    order = np.argsort(val.widths)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        batch = collate([val.images[i] for i in idx], [val.labels[i] for i in idx],
                        [val.ids[i] for i in idx], margin)
        logits = model(batch["x"], batch["widths"]).numpy()  # (T, B, C)
        frames = model.output_lengths(batch["widths"]).tolist()
        for j, i in enumerate(idx):
            text, _, _ = greedy_decode(logits[: frames[j], j], charset)
            rates.update(text, charset.decode(val.labels[i]))
    return rates


def setup_distributed() -> tuple[int, int]:
    """(rank, world size); initialises gloo when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")
    return (dist.get_rank() if world > 1 else 0), world


def fit(cfg: TrainConfig) -> Path:
    """Train (or resume) the run ``cfg.out``; returns the path of its best model.

    SIGTERM / SIGINT checkpoint and stop after the current step; before the first step (while
    the lines load, minutes for a large run) they stop at once with ``TrainingStopped``, as
    there is nothing to save yet. The caller's handlers are back when it returns.
    """
    stop = _StopOnSignal()
    try:
        return _fit(cfg, stop)
    finally:
        stop.restore()


def _fit(cfg: TrainConfig, stop: _StopOnSignal) -> Path:
    """The body of ``fit``."""
    rank, world = setup_distributed()
    warning = precision_warning(cfg.precision, native_bf16())
    if warning and rank == 0:
        log.warning(warning)
    torch.set_num_threads(cfg.threads or max(1, cpu_count() // world))
    run = _start(cfg, rank, world)
    sources, vals = _load_lines(cfg, run)
    model = run.model
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(run.model)
    plan0 = epoch_plan(sources, cfg.epoch_lines, cfg.batch_size, cfg.seed, 0)
    steps_per_epoch = len(plan0) // world
    total_steps = steps_per_epoch * cfg.epochs
    ctc = torch.nn.CTCLoss(blank=0, reduction="mean", zero_infinity=True)
    started = time.monotonic() - run.elapsed
    session_start = last_save = time.monotonic()
    session_steps = 0
    stop.armed = True  # from here a signal checkpoints and stops after the current step
    # a run stopped by until_step on an epoch's last batch ends that epoch (validation and
    # snapshot included) before it stops, here or, after a kill, when it is run again
    if _reached(cfg, run) and run.batch != steps_per_epoch:
        log.info("the run is at step %d (until_step %d): nothing to do", run.step,
                 cfg.until_step)
        return run.dir / "best.pt"
    while run.epoch < cfg.epochs:
        plan = epoch_plan(sources, cfg.epoch_lines, cfg.batch_size, cfg.seed, run.epoch)
        bar = _epoch_bar(cfg, run, sources, plan[rank::world][:steps_per_epoch])
        run.model.train()
        loss_sum, loss_n, t0 = 0.0, 0, time.monotonic()
        for batch in bar:
            loss_sum += _train_step(run, model, batch, ctc, total_steps)
            loss_n += 1
            if run.step % cfg.log_every == 0:
                run.elapsed = time.monotonic() - started
                _log_progress(run, bar, loss_sum / loss_n, loss_n / (time.monotonic() - t0))
                loss_sum, loss_n, t0 = 0.0, 0, time.monotonic()
            session_steps += 1
            now = time.monotonic()
            done = (stop.requested
                    or (cfg.max_minutes is not None and now - session_start > cfg.max_minutes * 60)
                    or (cfg.max_steps is not None and session_steps >= cfg.max_steps)
                    or (_reached(cfg, run) and run.batch < steps_per_epoch))
            if now - last_save > cfg.checkpoint_minutes * 60 or done:
                run.elapsed = now - started
                run.save_last()
                last_save = now
            if done:
                why = (f"until_step {cfg.until_step}" if _reached(cfg, run)
                       else "the same command resumes")
                log.info("stopping at step %d after %.1f minutes; %s", run.step,
                         (now - session_start) / 60, why)
                return run.dir / "best.pt"
        bar.close()
        run.epoch, run.batch = run.epoch + 1, 0
        end_of_epoch(run, vals, started)
        last_save = time.monotonic()
        if _reached(cfg, run):
            log.info("stopping at step %d (until_step %d) after epoch %d", run.step,
                     cfg.until_step, run.epoch)
            break
    if world > 1:
        dist.barrier()
    return run.dir / "best.pt"


def _start(cfg: TrainConfig, rank: int, world: int) -> Run:
    """The run of ``cfg``: resumed from its ``last.pt``, or started afresh (seeded weights, or
    ``init``'s)."""
    run = Run(cfg, rank, world)
    if not run.resume():
        torch.manual_seed(cfg.seed)
        run.model = HandwritingRecognizer(run.model.config)  # seeded initial weights
        if cfg.init:
            run.init_from(cfg.init)
        run.opt = make_optimizer(run.model, cfg)
    # NHWC activations: oneDNN's CPU convolutions make a step about 14 % faster on one thread
    # (bench/train_throughput.py --nchw); the parameters stay the same objects, the optimiser's
    run.model.to(memory_format=torch.channels_last)
    return run


def _load_lines(cfg: TrainConfig, run: Run) -> tuple[list[LoadedSource], list[LoadedSource]]:
    """The training sources and the validation sets, prepared (or read from the line cache);
    then the run folder and its ``config.toml``."""
    height, rank = run.model.config.height, run.rank
    sources = [load_source(s, run.charset, height, cfg.max_width, rank == 0,
                           reading=cfg.reading, cache=cfg.cache_dir) for s in cfg.train]
    vals = [load_source(v, run.charset, height, cfg.max_width, rank == 0, held_out=True,
                        reading=cfg.reading, cache=cfg.cache_dir) for v in cfg.val]
    # the run folder appears once the run can start: a typo in a path leaves nothing behind
    run.dir.mkdir(parents=True, exist_ok=True)
    if rank == 0:
        (run.dir / "config.toml").write_text(dump_config(cfg), encoding="utf-8")
    for s in cfg.train:
        for v in cfg.val:
            if (s.path, s.split) == (v.path, v.split) and not v.holdout:
                log.warning("%s: validating on the training lines (same file and split); give "
                            "both sources the same holdout = F to validate on pages it never "
                            "trains on", s.path)
    return sources, [v.spread(cfg.val_limit) if cfg.val_limit else v for v in vals]


def _reached(cfg: TrainConfig, run: Run) -> bool:
    """Whether the run has reached its ``until_step``."""
    return cfg.until_step is not None and run.step >= cfg.until_step


def _epoch_bar(cfg: TrainConfig, run: Run, sources: list[LoadedSource], plan: list) -> tqdm:
    """The batches of the current epoch's ``plan`` from ``run.batch`` on, behind a progress
    bar (rank 0 only)."""
    loader = torch.utils.data.DataLoader(
        BatchDataset(sources, plan, cfg.seed, run.epoch, run.batch, cfg.tail_margin,
                     cfg.augment, equal_widths=cfg.batch_widths == "equal"),
        batch_size=None,
        shuffle=False, num_workers=cfg.workers, persistent_workers=False,
        prefetch_factor=4 if cfg.workers else None,
        # its own generator: a loader drawing its base seed from the global RNG would shift
        # the dropout stream whenever a resume creates the loader at another step
        generator=torch.Generator().manual_seed(cfg.seed), worker_init_fn=_worker_init)
    return tqdm(loader, total=len(plan), initial=run.batch, desc=f"epoch {run.epoch + 1}",
                disable=run.rank != 0, mininterval=10, dynamic_ncols=True)


def _train_step(run: Run, model: torch.nn.Module, batch: dict, ctc: torch.nn.CTCLoss,
                total_steps: int) -> float:
    """One optimiser step on ``batch`` (``model`` is ``run.model`` or its DDP wrapper); returns
    the batch's CTC loss."""
    cfg = run.cfg
    for g in run.opt.param_groups:
        g["lr"] = cfg.lr * lr_factor(run.step, total_steps, cfg.warmup_steps, cfg.min_lr_ratio)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
        logits = model(batch["x"].contiguous(memory_format=torch.channels_last),
                       batch["widths"])  # each line's LSTMs read its own frames, as reading
    log_probs = logits.float().log_softmax(-1)
    in_lengths = run.model.output_lengths(batch["widths"])
    loss = ctc(log_probs, batch["targets"], in_lengths, batch["target_lengths"])
    objective = loss
    if cfg.confidence_penalty:
        objective = loss - cfg.confidence_penalty * mean_frame_entropy(log_probs, in_lengths)
    run.opt.zero_grad(set_to_none=True)
    objective.backward()
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip)
    run.opt.step()
    run.step += 1
    run.batch += 1
    run.lines_seen += len(batch["ids"]) * run.world
    return loss.item()


def _log_progress(run: Run, bar: tqdm, loss: float, batches_per_s: float) -> None:
    """The mean loss and speed since the last record, on the bar and in ``metrics.jsonl``."""
    speed = batches_per_s * run.cfg.batch_size * run.world
    bar.set_postfix(loss=f"{loss:.3f}", lps=f"{speed:.1f}")
    run.log_metrics({"step": run.step, "epoch": run.epoch, "lines": run.lines_seen,
                     "loss": loss, "lines_per_s": speed, "lr": run.opt.param_groups[0]["lr"],
                     "minutes": run.elapsed / 60})


def _worker_init(worker_id: int) -> None:
    """Data workers leave SIGTERM/SIGINT to the main process, which checkpoints and stops them
    (a `pkill -f` reaches the workers too, and a dead worker would crash the loop)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _StopOnSignal:
    """SIGTERM/SIGINT ask the loop to checkpoint and stop after the current step; before the
    loop is ``armed`` they raise ``TrainingStopped`` at once."""

    def __init__(self) -> None:
        self.requested = False
        self.armed = False
        self._previous: dict = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            # not possible outside the main thread (e.g. a test runner's thread): skip there
            with contextlib.suppress(ValueError):
                self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        if not self.armed:
            raise TrainingStopped(f"signal {signum} before the first training step: stopped "
                                  "(nothing new to save; the same command starts or resumes "
                                  "the run)", signum)
        log.warning("signal %d: checkpointing and stopping after this step", signum)
        self.requested = True


def val_name(source) -> str:
    """A validation set's name in logs and metrics: its path, and its split if it names one."""
    return f"{source.path}:{source.split}" if source.split else source.path


def end_of_epoch(run: Run, vals: list[LoadedSource], started: float) -> None:
    """Validate on every set, keep the best model by the mean of their CERs, checkpoint, log,
    plot (rank 0 only)."""
    if run.rank == 0:
        per_set = {val_name(v.source): validate(run.model, v, run.charset,
                                                margin=run.cfg.tail_margin) for v in vals}
        cer = float(np.mean([r.cer for r in per_set.values()]))
        wer = float(np.mean([r.wer for r in per_set.values()]))
        improved = cer < run.best_cer
        sets = {name: {"cer": r.cer, "wer": r.wer} for name, r in per_set.items()}
        meta = {"trained": True, "epoch": run.epoch, "step": run.step,
                "lines_seen": run.lines_seen, "val_cer": cer, "val_wer": wer, "val_sets": sets,
                "val": [val_name(v) for v in run.cfg.val], "config": run.cfg.to_dict()}
        if improved:
            run.best_cer = cer
            save_checkpoint(run.dir / "best.pt", run.model, run.charset, meta=meta)
        if run.cfg.keep_epochs:
            (run.dir / "epochs").mkdir(exist_ok=True)
            save_checkpoint(run.dir / "epochs" / f"epoch-{run.epoch:03d}.pt", run.model,
                            run.charset, meta=meta)
        run.elapsed = time.monotonic() - started
        run.log_metrics({"epoch": run.epoch, "step": run.step, "lines": run.lines_seen,
                         "val_cer": cer, "val_wer": wer, "val_sets": sets, "best": improved,
                         "minutes": run.elapsed / 60})
        detail = "; ".join(f"{name} {100 * r.cer:.2f} %" for name, r in per_set.items())
        log.info("epoch %d: val CER %.2f %% WER %.2f %%%s%s", run.epoch, 100 * cer, 100 * wer,
                 f" (mean of {detail})" if len(per_set) > 1 else "",
                 " (best)" if improved else "")
        run.save_last()
        from .plot import plot_curve
        plot_curve(run.dir / "metrics.jsonl", run.dir / "curve.png")
    if run.world > 1:
        dist.barrier()
