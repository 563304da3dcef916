"""The validation gate of a run: which frames validate, the starting model's score, what counts as better.

Modes: "held-out" (a share of the images, never trained on), "rotating" (very few images: all are
trained on except the one held out for the current round, in turn) and "none". When the run starts
from a model of the same keypoints (fine-tuning), that model is scored first and best.pt is only ever
written for a candidate that beats it: in held-out mode by mean px error on the validation frames, in
rotating mode by its error on the round's held-out image relative to the starting model's there.
Each round also calibrates the per-keypoint "probably absent" peak threshold (model.infer.absent).
"""

from __future__ import annotations

import logging

import numpy as np

from model.annotations.skeleton import Skeleton
from model.infer.absent import calibrate_thresholds
from model.train.config import TrainConfig
from model.train.data import TrainItem
from model.train.validate import validate

log = logging.getLogger(__name__)


class Gate:
    """Validation rounds and the never-worse rule for one Trainer."""

    def __init__(self, cfg: TrainConfig, skeleton: Skeleton, val_items: list[TrainItem],
                 fine_tune: bool) -> None:
        self.val_items = list(val_items)
        self.mode = "none" if not val_items else ("rotating" if cfg.rotate_val else "held-out")
        self.keys = sorted({it.image_key for it in val_items})
        self.fine_tune = fine_tune
        self.skeleton = skeleton
        if cfg.val_every_s is not None:
            self.val_every_s = float(cfg.val_every_s)
        else:
            self.val_every_s = min(120.0, max(5.0, cfg.minutes * 6.0)) if cfg.minutes else float("inf")
        self.val_s = 0.0  # measured duration of one round (the plan keeps time for the rounds to come)
        self.last_images = 0
        self.thresholds: list[float] | None = None
        self.best_metrics: dict = {}
        self.best_candidate = float("inf")  # lowest candidate error (held-out mode), beaten or not

    def val_image_count(self) -> int:
        return len(self.keys)

    # ---- scoring ---------------------------------------------------------------------------------
    def _items_of_round(self, round_index: int) -> list[TrainItem]:
        if self.mode != "rotating":
            return self.val_items
        key = self.keys[round_index % len(self.keys)]
        return [it for it in self.val_items if it.image_key == key]

    def _validate(self, trainer, items: list[TrainItem], calibrate: bool = True) -> tuple[dict, dict]:
        details: dict = {}
        metrics = validate(trainer.net, items, trainer.config, trainer.skeleton, trainer.norm,
                           str(trainer.dev), trainer.dataset.cache, details=details)
        if calibrate and details:
            vis = np.stack([it.vis for it in items])
            self.thresholds = [float(t) for t in calibrate_thresholds(details["confidence"], vis)]
        return metrics, details

    def score_baseline(self, trainer) -> None:
        """Score the starting model (fine-tuning only) and set the bar a candidate must beat."""
        if self.mode == "rotating":
            trainer.dataset.held_out = {self.keys[trainer.pos.val_round % len(self.keys)]}
        if not (self.fine_tune and self.val_items and trainer.ctx.is_main):
            return
        metrics, details = self._validate(trainer, self.val_items, calibrate=False)
        per_image: dict[str, float] = {}
        if self.mode == "rotating":
            errors = details["errors"]
            for key in self.keys:
                rows = [i for i, it in enumerate(self.val_items) if it.image_key == key]
                per_image[key] = float(np.nanmean(errors[rows]))
        trainer.pos.baseline = {**metrics, "per_image": per_image}
        trainer.pos.best_value = 1.0 if self.mode == "rotating" else float(metrics["mean_px_error"])
        trainer.progress.emit("baseline", val=metrics, val_images=len(self.keys), val_mode=self.mode)

    def round(self, trainer, train_loss: float) -> tuple[dict, bool]:
        """One validation round of the current weights: (metrics, whether it becomes best.pt)."""
        pos = trainer.pos
        items = self._items_of_round(pos.val_round)
        self.last_images = len({it.image_key for it in items})
        if not items:
            value = train_loss
            metrics: dict = {}
        else:
            metrics, _ = self._validate(trainer, items)
            value = metrics["mean_px_error"]
            self.best_candidate = min(self.best_candidate, value)
        if self.mode == "rotating":
            key = self.keys[pos.val_round % len(self.keys)]
            base = ((pos.baseline or {}).get("per_image") or {}).get(key)
            # without a starting model to beat, the latest round's model is the best one there is
            value = value / base if base else -float(pos.step)
            metrics = {**metrics, "relative_to_start": value if base else None}
            pos.val_round += 1
            trainer.dataset.held_out = {self.keys[pos.val_round % len(self.keys)]}
        improved = bool(np.isfinite(value) and value < pos.best_value)
        if improved:
            pos.best_value, pos.best_epoch = float(value), pos.epoch
            self.best_metrics = metrics
        return metrics, improved

    # ---- reporting -------------------------------------------------------------------------------
    def checkpoint_meta(self) -> dict:
        return {"absent_threshold": self.thresholds} if self.thresholds is not None else {}

    def summary(self, best_written: bool, baseline: dict | None) -> dict:
        """Fields of the done event: whether the starting model was kept, and a sentence saying so."""
        n = len(self.keys)
        if not self.fine_tune or self.mode == "none":
            return {"kept": False, "val_images": n, "message": ""}
        message = self._message(best_written, n, baseline or {})
        return {"kept": not best_written, "val_images": n, "message": message}

    def _message(self, best_written: bool, n: int, baseline: dict) -> str:
        frames = f"{n} validation frame{'s' if n != 1 else ''}"
        frames += " (rotating)" if self.mode == "rotating" else ""
        if best_written:
            ratio = self.best_metrics.get("relative_to_start")
            if ratio is not None:
                return f"new model: {ratio:.0%} of the starting model's error on {frames}"
            return (f"new model: {self.best_metrics.get('mean_px_error', float('nan')):.2f} px vs "
                    f"{baseline.get('mean_px_error', float('nan')):.2f} px of the current model on {frames}")
        if self.mode == "held-out" and np.isfinite(self.best_candidate):
            return (f"kept the current model: {baseline.get('mean_px_error', float('nan')):.2f} px vs "
                    f"{self.best_candidate:.2f} px on {frames}")
        return f"kept the current model: no candidate beat it on {frames}"
