"""`hglabel train DATA --out DIR --finder [--pose CKPT]`: train the instance finder from the same labels.

Writes DIR/finder.pt (the finder alone) and, with --pose, DIR/model.pt: that pose checkpoint with the
finder beside it, one file that predicts every instance of an image.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model.cli import CommandError

FINDER_FILE, COMBINED_FILE = "finder.pt", "model.pt"


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("instance finder (--finder)")
    g.add_argument("--finder", action="store_true",
                   help="train the instance finder (centres as one heatmap) instead of the pose network")
    g.add_argument("--pose", metavar="CKPT", help="also write DIR/model.pt = CKPT + the finder")
    g.add_argument("--finder-features", type=int, default=32, help="finder width (default 32)")
    g.add_argument("--finder-input", default="256x192", metavar="WxH",
                   help="finder input size, multiples of 64 (default 256x192)")


def _input_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise CommandError(f"--finder-input {text!r}: expected WxH, e.g. 256x192") from None
    if w <= 0 or h <= 0 or w % 64 or h % 64:
        raise CommandError(f"--finder-input {text!r}: both sides must be positive multiples of 64")
    return (w, h)


def run_finder(args: argparse.Namespace, load_items) -> int:
    """Train the finder on the items `load_items(args)` returns (skeleton, TrainItems)."""
    from model.finder.train import FinderConfig, images_from_items, train_finder
    from model.infer.checkpoint import CheckpointError, combine_checkpoints, load_checkpoint
    from model.train.progress import Progress

    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    if args.pose:
        try:
            load_checkpoint(args.pose)
        except CheckpointError as exc:
            raise CommandError(str(exc)) from exc
    _, items = load_items(args)
    out = Path(args.out)
    if (out / FINDER_FILE).exists() and not args.overwrite:
        raise CommandError(f"{out}: holds an earlier finder ({FINDER_FILE}); use --overwrite or another "
                           "--out")
    out.mkdir(parents=True, exist_ok=True)
    cfg = FinderConfig(out / FINDER_FILE, input_size=_input_size(args.finder_input),
                       features=args.finder_features, epochs=args.epochs, batch_size=args.batch_size,
                       lr=args.lr, seed=args.seed)
    try:
        train_finder(images_from_items(items), cfg, Progress())
        if args.pose:
            combine_checkpoints(args.pose, out / FINDER_FILE, out / COMBINED_FILE)
    except (ValueError, OSError, CheckpointError) as exc:
        raise CommandError(str(exc)) from exc
    return 0
