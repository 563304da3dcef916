"""The training loop: seeded, resumable, stoppable, single-process or DDP; writes best.pt and last.pt.

Per step: augmented crops → network (channels_last; autocast on CUDA) → heatmap MSE over every
stack, masked by target weights → Adam with warm-up + cosine learning rate. After each epoch:
validation on held-out images (main process), best.pt when the validation error improves (or the
training loss, without validation), last.pt + last.state.pt for --resume. SIGINT/SIGTERM set a flag;
the loop stops after the current step, writes last.pt and reports "done" with "stopped": true.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from model.annotations.skeleton import Skeleton
from model.device import resolve_device
from model.infer.checkpoint import save_checkpoint
from model.io.atomic import copy_atomic
from model.train import distributed as D
from model.train.config import TrainConfig, lr_at
from model.train.data import TrainItem
from model.train.dataset import KeypointDataset, ResumableSampler, make_loader
from model.train.gate import Gate
from model.train.loss import heatmap_loss
from model.train.plan import MIN_PLANNED_STEPS, PROBE_WARMUP, Budget, PlanError, warmup_for
from model.train.progress import Progress
from model.train.state import (
    BEST,
    LAST,
    STATE,
    Position,
    fine_tunes,
    heatmap_spec_for,
    init_model,
    load_resume,
    save_state,
)

log = logging.getLogger(__name__)

DIGEST_ENV = "HGLABEL_TRAIN_DIGEST_DIR"  # test hook: each rank writes its final weights' sha256 there


@dataclass
class TrainResult:
    best: Path | None
    last: Path | None
    position: Position
    stopped: bool
    metrics: dict
    message: str = ""  # the done event's sentence (e.g. why the starting model was kept)


def finite_or_none(value):
    """Plain data with NaN/inf replaced by None (checkpoint meta and JSON must be finite)."""
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


class StopFlag:
    """Set by SIGINT/SIGTERM; a second SIGINT interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, object] = {}

    def _handle(self, signum, _frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("stop requested (%s): finishing the current step, then writing %s",
                    signal.Signals(signum).name, LAST)

    def __enter__(self) -> StopFlag:
        with contextlib.suppress(ValueError):  # not the main thread: no handlers, stop via .requested
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def state_digest(model: torch.nn.Module, buffers: bool = True) -> str:
    """sha256 over the parameters (and buffers) in name order: identical weights ⇔ equal digests.

    Under DDP the parameters agree across ranks after every step; BatchNorm running statistics are
    each rank's own (DDP broadcasts rank 0's at the next forward), so compare ranks with buffers=False.
    """
    net = D.unwrap(model)
    tensors = dict(net.named_parameters())
    if buffers:
        tensors.update(net.named_buffers())
    h = hashlib.sha256()
    for name, tensor in sorted(tensors.items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


class Trainer:
    """One run over `train_items` (and `val_items` for validation) with the options of `cfg`."""

    def __init__(self, cfg: TrainConfig, skeleton: Skeleton, train_items: list[TrainItem],
                 val_items: list[TrainItem], progress: Progress | None = None,
                 ctx: D.DistContext | None = None, stop: StopFlag | None = None) -> None:
        self.cfg, self.skeleton = cfg, skeleton
        self.train_items, self.val_items = train_items, val_items
        self.ctx = ctx or D.DistContext(device=resolve_device(cfg.device))
        self.progress = progress or Progress(enabled=self.ctx.is_main)
        self.stop = stop or StopFlag()
        self.dev = self.ctx.device
        net, self.config, self.norm = init_model(cfg, skeleton)
        self.spec = heatmap_spec_for(cfg, self.config)
        self.mixed = cfg.precision == "mixed" or (cfg.precision == "auto" and self.dev.type == "cuda")
        self.mem_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.net = net.to(self.dev).to(memory_format=self.mem_format)
        self.model: torch.nn.Module = self.net  # DDP-wrapped in run() when distributed
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.mixed and self.dev.type == "cuda")
        self.pos = Position()
        self.warmup = cfg.warmup_steps if cfg.epochs else PROBE_WARMUP  # the time plan refits it
        self.metrics: dict = {}
        self._losses: list[float] = []
        self.budget: Budget | None = None
        self.gate = Gate(cfg, skeleton, val_items, fine_tunes(cfg, skeleton))
        self._setup_data()
        if self.gate.fine_tune and cfg.epochs:
            self.warmup = max(self.warmup, warmup_for(self.total_steps, True))

    def _setup_data(self) -> None:
        cfg, ctx = self.cfg, self.ctx
        self.dataset = KeypointDataset(self.train_items, self.spec, self.skeleton.flip_index(), self.norm,
                                       cfg.augment, cfg.seed)
        self.sampler = ResumableSampler(len(self.dataset), ctx.rank, ctx.world_size, cfg.seed)
        self.batch_size = min(cfg.batch_size, self.sampler.per_rank)
        if self.batch_size < 2:
            raise ValueError(f"{len(self.train_items)} training instances over {ctx.world_size} process(es) "
                             "leave fewer than 2 per batch; label more or use fewer processes")
        self.steps_per_epoch = self.sampler.per_rank // self.batch_size
        self.total_steps = self.steps_per_epoch * cfg.epochs if cfg.epochs else 10 ** 9
        workers = cfg.workers if cfg.workers >= 0 else (4 if self.dev.type == "cuda" else 0)
        self.loader = make_loader(self.dataset, self.sampler, self.batch_size, workers,
                                  pin_memory=self.dev.type == "cuda")

    # ---- run -------------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        cfg, out = self.cfg, self.cfg.out_dir
        if cfg.resume:
            self.pos, scaler_state = load_resume(out, self.net, self.optimizer, self.config)
            if scaler_state and self.scaler.is_enabled():
                self.scaler.load_state_dict(scaler_state)
        self.model = D.wrap(self.net, self.ctx)
        self.budget = Budget(cfg.minutes * 60, self.pos.elapsed_s) if cfg.minutes else None
        if self.budget and self.pos.total_steps:
            self.total_steps = self.pos.total_steps
        self._emit_start()
        self._t0, self._elapsed0 = time.monotonic(), self.pos.elapsed_s
        if not cfg.resume:
            self.gate.score_baseline(self)
        if D.any_true(bool(self.gate.refusal), self.ctx):  # nothing a few frames can show: no training
            return self._finish(False)
        stopped = self._train()
        if stopped:
            self._save_last({})
        self._write_digest()
        return self._finish(stopped)

    def _finish(self, stopped: bool) -> TrainResult:
        out = self.cfg.out_dir
        best = out / BEST if (out / BEST).is_file() else None
        summary = self.gate.summary(best is not None, self.pos.baseline)
        self.progress.emit("done", epoch=self.pos.epoch, step=self.pos.step, stopped=stopped,
                           best=str(best) if best else None, last=str(out / LAST),
                           best_epoch=self.pos.best_epoch, val=self.metrics, elapsed_s=self._elapsed(),
                           **summary)
        return TrainResult(best, out / LAST if (out / LAST).is_file() else None, self.pos, stopped,
                           self.metrics, summary["message"])

    def _elapsed(self) -> float:
        return self._elapsed0 + time.monotonic() - self._t0

    def _emit_start(self) -> None:
        self.progress.set_total_steps(self.total_steps if not self.budget else 0)
        self.progress.emit(
            "start", config=self.config.to_dict(), train=self.cfg.to_meta(), skeleton=self.skeleton.name,
            train_instances=len(self.train_items), val_instances=len(self.val_items),
            val_images=self.gate.val_image_count(), val_mode=self.gate.mode,
            steps_per_epoch=self.steps_per_epoch, total_steps=None if self.budget else self.total_steps,
            step=self.pos.step, epoch=self.pos.epoch, device=str(self.dev), world_size=self.ctx.world_size,
            precision="mixed" if self.mixed else "fp32", batch_size=self.batch_size, plan=self.cfg.plan_note,
            minutes=self.cfg.minutes, fine_tune=self.gate.fine_tune, lr=self.cfg.lr,
        )

    def _train(self) -> bool:
        """Steps until the plan's total (or a stop); validates/saves on their schedule. True if stopped."""
        self._last_val = self._last_save = time.monotonic()
        while (self.pos.step < self.total_steps) if self.budget else (self.pos.epoch < self.cfg.epochs):
            self._train_mode()
            self.dataset.set_epoch(self.pos.epoch)
            self.sampler.set_epoch(self.pos.epoch, skip=self.pos.batch_in_epoch * self.batch_size)
            for batch in self.loader:
                loss = self._step(batch)
                if D.any_true(self.stop.requested, self.ctx):
                    return True
                if self.budget and D.any_true(self.pos.step >= self.total_steps, self.ctx):
                    break
                now = time.monotonic()
                if self.budget and D.any_true(now - self._last_val >= self.gate.val_every_s, self.ctx):
                    self._validate_round(loss)
                elif D.any_true(now - self._last_save >= self.cfg.save_every_s, self.ctx):
                    self._save_last({})
            else:
                self.pos.epoch += 1
                self.pos.batch_in_epoch = 0
                if not self.budget:
                    self._validate_round(self._epoch_loss())
                continue
            break
        if self.budget:
            self._validate_round(self._epoch_loss())
        return False

    def _train_mode(self) -> None:
        """Training mode; when fine-tuning, BatchNorm keeps the starting model's running statistics
        (batches of a few crops would replace them with noisy ones and undo what the model knew)."""
        self.net.train()
        if self.gate.fine_tune:
            for layer in self.net.modules():
                if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm):
                    layer.eval()

    def _epoch_loss(self) -> float:
        losses, self._losses = self._losses, []
        return float(np.mean(losses)) if losses else float("nan")

    def _step(self, batch: dict) -> float:
        t0 = time.monotonic()
        loss = self.train_step(batch)
        self._losses.append(loss)
        self.pos.step += 1
        self.pos.batch_in_epoch += 1
        self.progress.emit("step", epoch=self.pos.epoch, step=self.pos.step, loss=loss,
                           lr=self.optimizer.param_groups[0]["lr"],
                           samples_per_s=self.batch_size * self.ctx.world_size
                           / max(1e-9, time.monotonic() - t0))
        if self.budget:
            self.budget.record(self.pos.step)
            if not self.budget.fitted and self.budget.probe_done():
                self._fit_plan()
        return loss

    def _fit_plan(self) -> None:
        """Fit the step count to the time left (also after each validation); refuse a useless budget."""
        budget = self.budget
        first = not budget.fitted
        rounds_left = max(0.0, budget.left() / self.gate.val_every_s)
        self.total_steps = budget.fit(self.pos.step, rounds_left * self.gate.val_s)
        self.pos.total_steps = self.total_steps
        self.warmup = warmup_for(self.total_steps, self.gate.fine_tune)
        if first:
            if self.total_steps < MIN_PLANNED_STEPS and not self.cfg.resume:
                raise PlanError(
                    f"--minutes {self.cfg.minutes:g} allows only {self.total_steps} optimiser steps at "
                    f"{budget.step_time():.2f} s per step on {self.dev}; give at least "
                    f"{math.ceil(MIN_PLANNED_STEPS * budget.step_time() / 60 * 1.3 * 10) / 10:g} minutes")
            self.progress.set_total_steps(self.total_steps)
            self.progress.emit("plan", step=self.pos.step, total_steps=self.total_steps,
                               step_time_s=budget.step_time(), warmup_steps=self.warmup,
                               lr=self.cfg.lr, minutes=self.cfg.minutes)

    def train_step(self, batch: dict) -> float:
        """One optimiser step on a loader batch (lr from the schedule); returns the (rank-mean) loss."""
        # fine-tuning: a real warm-up (up to half of a short run) so the first steps do not undo the model
        lr = lr_at(self.pos.step, self.total_steps, self.cfg.lr, self.warmup,
                   max_warmup_share=0.5 if self.gate.fine_tune else 0.1)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x = batch["image"].to(self.dev, non_blocking=True).contiguous(memory_format=self.mem_format)
        target = batch["target"].to(self.dev, non_blocking=True)
        weight = batch["weight"].to(self.dev, non_blocking=True)
        autocast = (torch.autocast(self.dev.type, dtype=torch.float16 if self.dev.type == "cuda"
                                   else torch.bfloat16) if self.mixed else contextlib.nullcontext())
        with autocast:
            outputs = self.model(x)
        loss = heatmap_loss(outputs, target, weight)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return D.mean_across(float(loss.detach()), self.ctx)

    def _validate_round(self, train_loss: float) -> None:
        """Validate (main process), keep best.pt only when it beats the bar, write the resumable unit."""
        t0 = time.monotonic()
        improved = False
        if self.ctx.is_main:
            self.metrics, improved = self.gate.round(self, train_loss)
            self._save_last(self.metrics, train_loss)
            if improved:
                copy_atomic(self.cfg.out_dir / LAST, self.cfg.out_dir / BEST)
        D.barrier(self.ctx)
        self.gate.val_s = time.monotonic() - t0
        self._last_val = time.monotonic()
        if self.budget and self.budget.fitted:
            self.total_steps = max(self.pos.step, self._refit())
        known = self.budget is None or self.budget.fitted
        self.progress.emit("epoch", epoch=self.pos.epoch, step=self.pos.step, loss=train_loss,
                           lr=self.optimizer.param_groups[0]["lr"], val=self.metrics, best=improved,
                           elapsed_s=self._elapsed(), val_images=self.gate.last_images,
                           total_steps=self.total_steps if known else None)

    def _refit(self) -> int:
        rounds_left = max(0.0, self.budget.left() / self.gate.val_every_s)
        total = self.budget.fit(self.pos.step, rounds_left * self.gate.val_s)
        self.pos.total_steps = total
        self.progress.set_total_steps(total)
        return total

    def _save_last(self, metrics: dict, train_loss: float | None = None) -> None:
        """last.state.pt (the resumable unit: weights + optimiser + position) first, then last.pt."""
        self._last_save = time.monotonic()
        if not self.ctx.is_main:
            return
        self.pos.elapsed_s = self._elapsed()
        scaler_state = self.scaler.state_dict() if self.scaler.is_enabled() else {}
        save_state(self.cfg.out_dir / STATE, self.net, self.config, self.optimizer, scaler_state, self.pos)
        self._save(self.cfg.out_dir / LAST, metrics, train_loss)

    def _save(self, path: Path, metrics: dict, train_loss: float | None = None) -> None:
        meta = {"epoch": self.pos.epoch, "step": self.pos.step, "batch_in_epoch": self.pos.batch_in_epoch,
                "train_loss": train_loss, "val": metrics, "train": self.cfg.to_meta(),
                "train_instances": len(self.train_items), "val_instances": len(self.val_items),
                "val_images": self.gate.val_image_count(), "baseline_val": self.pos.baseline or {}}
        meta.update(self.gate.checkpoint_meta())
        save_checkpoint(path, self.net, self.config, self.skeleton, self.norm, finite_or_none(meta),
                        heatmap=self.spec)

    def _write_digest(self) -> None:
        folder = os.environ.get(DIGEST_ENV)
        if folder:
            digest = state_digest(self.net, buffers=False)
            Path(folder, f"rank{self.ctx.rank}.sha256").write_text(f"{digest} {self.pos.step}\n")
