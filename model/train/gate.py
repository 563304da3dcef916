"""The validation gate of a run: which frames validate, the starting model's score, what counts as better.

Modes: "held-out" (a share of the images with a floor, never trained on), "rotating" (very few
images: one held out, which one rotates with the seed from run to run) and "none". When the run
starts from a model of the same keypoints (fine-tuning), that model is scored on the validation
frames first and best.pt is only ever written for a candidate that beats its mean px error by at
least `required_margin` (2 %, more on a small validation set). With very few frames (rotating mode)
one held-out frame cannot tell a better model from chance: when the starting model already places
every labelled keypoint of all the frames within 5 % of the instance size (PCK@0.05 = 1), the run
keeps it and trains nothing (bench/label_efficiency.py: 1-frame gates accepted worse models there).
Each round also calibrates the per-keypoint "probably absent" peak threshold (model.infer.absent).
"""

from __future__ import annotations

import logging

import numpy as np

from model.annotations.skeleton import Skeleton
from model.infer.absent import calibrate_thresholds
from model.train.config import TrainConfig
from model.train.data import FEW_IMAGES, TrainItem
from model.train.validate import validate

log = logging.getLogger(__name__)

MARGIN = 0.02  # a fine-tuned candidate must be at least this much (relative) better than the start
NOISE = 0.2  # … and more on few validation keypoints: NOISE / sqrt(labelled keypoints) (1 frame × 4: 10 %)
ALREADY_RIGHT = "PCK@0.05"  # a start with every keypoint within this: a few frames cannot show better


def required_margin(labelled_keypoints: int) -> float:
    """Relative improvement a candidate needs over the starting model: 2 %, or more when the validation
    set is small enough for chance to give that much (one frame of 4 keypoints: 10 %)."""
    return max(MARGIN, NOISE / max(1, labelled_keypoints) ** 0.5)


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
        self.margin = MARGIN
        self.best_candidate = float("inf")  # lowest candidate error (held-out mode), beaten or not
        self.refusal = ""  # set by score_baseline: why this run keeps the starting model without training

    def val_image_count(self) -> int:
        return len(self.keys)

    # ---- scoring ---------------------------------------------------------------------------------
    def _validate(self, trainer, items: list[TrainItem], calibrate: bool = True) -> tuple[dict, dict]:
        details: dict = {}
        metrics = validate(trainer.net, items, trainer.config, trainer.skeleton, trainer.norm,
                           str(trainer.dev), trainer.dataset.cache, details=details, spec=trainer.spec)
        if calibrate and details:
            vis = np.stack([it.vis for it in items])
            self.thresholds = [float(t) for t in calibrate_thresholds(details["confidence"], vis)]
        return metrics, details

    def score_baseline(self, trainer) -> None:
        """Score the starting model (fine-tuning only) and set the bar a candidate must beat."""
        if not (self.fine_tune and self.val_items and trainer.ctx.is_main):
            return
        metrics, _ = self._validate(trainer, self.val_items, calibrate=False)
        trainer.pos.baseline = metrics
        labelled = int(sum(int((it.vis > 0).sum()) for it in self.val_items))
        self.margin = required_margin(labelled)
        trainer.pos.best_value = float(metrics["mean_px_error"]) * (1.0 - self.margin)
        trainer.progress.emit("baseline", val=metrics, val_images=len(self.keys), val_mode=self.mode,
                              margin=self.margin)
        if self.mode == "rotating":
            self.refusal = self._nothing_to_show(trainer)

    def _nothing_to_show(self, trainer) -> str:
        """The refusal sentence when the starting model already gets every labelled keypoint of these
        few frames right (PCK@0.05 = 1 on train and held-out frames alike), else ""."""
        items = [*trainer.train_items, *self.val_items]
        metrics, _ = self._validate(trainer, items, calibrate=False)
        if metrics.get(ALREADY_RIGHT) != 1.0:
            return ""
        n = len({it.image_key for it in items})
        return (f"kept the current model: it already places every labelled keypoint of these {n} frames "
                f"within 5 % of the instance size ({metrics['mean_px_error']:.2f} px mean), and {n} frames "
                f"cannot show that a fine-tune does better; label {FEW_IMAGES} or more to fine-tune")

    def round(self, trainer, train_loss: float) -> tuple[dict, bool]:
        """One validation round of the current weights: (metrics, whether it becomes best.pt)."""
        pos = trainer.pos
        self.last_images = len(self.keys)
        if not self.val_items:
            value, metrics = train_loss, {}
        else:
            metrics, _ = self._validate(trainer, self.val_items)
            value = metrics["mean_px_error"]
            self.best_candidate = min(self.best_candidate, value)
        pos.val_round += 1
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
        if self.refusal:
            return {"kept": True, "val_images": n, "message": self.refusal}
        if not self.fine_tune or self.mode == "none":
            return {"kept": False, "val_images": n, "message": ""}
        message = self._message(best_written, n, baseline or {})
        return {"kept": not best_written, "val_images": n, "message": message}

    def _message(self, best_written: bool, n: int, baseline: dict) -> str:
        frames = f"{n} validation frame{'s' if n != 1 else ''}"
        frames += " (the held-out frame rotates with the seed)" if self.mode == "rotating" else ""
        start = baseline.get("mean_px_error", float("nan"))
        if best_written:
            return (f"new model: {self.best_metrics.get('mean_px_error', float('nan')):.2f} px vs "
                    f"{start:.2f} px of the current model on {frames}")
        if np.isfinite(self.best_candidate):
            return f"kept the current model: {start:.2f} px vs {self.best_candidate:.2f} px on {frames}"
        return f"kept the current model: no candidate beat it on {frames}"
