"""`hglabel train DATA --out DIR`: train or fine-tune the hourglass on confirmed labels (JSON-lines progress).

DATA is a project file, an image folder with a project, or a COCO keypoints file (with --images).
With --finder it trains the instance finder instead (model.finder.command).
Runs alone or under `torchrun --nproc_per_node N` (DistributedDataParallel; only rank 0 writes).
Progress: JSON lines on stdout (events start, step, epoch, done; see model.train.progress), a bar on
stderr when it is a terminal. Exit status: 0 finished; 130 stopped by SIGINT/SIGTERM after writing
last.pt (continue with --resume); 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from model.commands import CommandError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train the network on confirmed labels",
                              description=__doc__.splitlines()[0])
    p.add_argument("data", metavar="DATA", help="project file, image folder with a project, or COCO .json")
    p.add_argument("--images", metavar="DIR", help="image root of a COCO file (default: its folder/images)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for best.pt, last.pt, last.state.pt")
    p.add_argument("--init", metavar="CKPT", help="start from this checkpoint (ours or pytorch-pose)")
    p.add_argument("--stacks", type=int, default=2)
    p.add_argument("--blocks", type=int, default=1)
    p.add_argument("--features", type=int, default=128)
    p.add_argument("--input-size", type=int, default=None,
                   help="square input side (default 256, or --init's)")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=16, help="per process")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup-steps", type=int, default=50)
    p.add_argument("--val-fraction", type=float, default=0.1, help="images held out for validation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--precision", choices=("auto", "fp32", "mixed"), default="auto",
                   help="auto: mixed (autocast) on CUDA, fp32 on the CPU")
    p.add_argument("--skeleton", metavar="PRESET_OR_JSON", help="skeleton to use instead of the data's "
                   "(same keypoints; e.g. to give flip pairs)")
    p.add_argument("--workers", type=int, default=-1, help="data loader processes (-1: auto)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads per process (0: torch's default; 1 is fastest on a busy machine)")
    p.add_argument("--no-flip", action="store_true", help="no horizontal-flip augmentation")
    p.add_argument("--rotation", type=float, default=30.0, help="max rotation augmentation in degrees")
    p.add_argument("--whole-image-prob", type=float, default=0.1,
                   help="share of samples cropped as the whole image (the predictor's first pass)")
    p.add_argument("--images-matching", metavar="REGEX", help="train only on images whose path matches")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from last.pt")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier run in --out")
    from model.finder.command import add_arguments

    add_arguments(p)
    p.set_defaults(run=run)


def _load_items(args: argparse.Namespace):
    from model.train.data import TrainDataError, filter_images, items_from_coco, items_from_project

    data = Path(args.data)
    try:
        if data.suffix.lower() == ".json":
            images = Path(args.images) if args.images else data.parent / "images"
            if not images.is_dir():
                raise CommandError(f"{images}: image folder not found (give --images DIR for {data})")
            skeleton, items = items_from_coco(data, images)
        else:
            if args.images:
                raise CommandError("--images is for COCO input; a project knows its images")
            skeleton, items = items_from_project(data)
        items = filter_images(items, args.images_matching)
    except TrainDataError as exc:
        raise CommandError(str(exc)) from exc
    if args.skeleton:
        skeleton = _override_skeleton(args.skeleton, skeleton)
    if not items:
        raise CommandError(f"{data}: no labelled instances to train on")
    return skeleton, items


def _override_skeleton(name: str, current):
    from model.annotations.presets import resolve_skeleton
    from model.annotations.skeleton import SkeletonError

    try:
        given = resolve_skeleton(name)
    except SkeletonError as exc:
        raise CommandError(str(exc)) from exc
    if given.keypoints != current.keypoints:
        raise CommandError(f"--skeleton {name}: keypoints {list(given.keypoints)} differ from the data's "
                           f"{list(current.keypoints)}")
    return given


def check_flip_pairs(skeleton, flip: bool) -> None:
    """Refuse flip augmentation when left/right-looking keypoints have no flip partner."""
    unpaired = skeleton.unpaired_sided_keypoints()
    if flip and unpaired:
        raise CommandError(
            f"skeleton {skeleton.name!r}: keypoints {unpaired} look left/right-sided but have no flip "
            "pairs, so flip augmentation would teach the network wrong sides; give a --skeleton with "
            "flip_pairs, or train with --no-flip"
        )


def _config(args: argparse.Namespace):
    from model.train.augment import AugmentConfig, rotation_is_valid
    from model.train.config import ArchOptions, TrainConfig

    if not rotation_is_valid(args.rotation):
        raise CommandError(f"--rotation must be within [0, 180] degrees, got {args.rotation}")
    if not 0.0 <= args.whole_image_prob <= 1.0:
        raise CommandError(f"--whole-image-prob must be within [0, 1], got {args.whole_image_prob}")
    try:
        return TrainConfig(
            out_dir=Path(args.out), epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
            warmup_steps=args.warmup_steps, val_fraction=args.val_fraction, seed=args.seed,
            device=args.device, workers=args.workers, precision=args.precision,
            init=Path(args.init) if args.init else None,
            arch=ArchOptions(args.stacks, args.blocks, args.features, args.input_size),
            augment=AugmentConfig(flip=not args.no_flip, rotation_deg=args.rotation,
                                  whole_image_prob=args.whole_image_prob),
            resume=args.resume,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from exc


def _check_out(cfg, overwrite: bool) -> None:
    from model.train.state import LAST

    if (cfg.out_dir / LAST).exists() and not (cfg.resume or overwrite):
        raise CommandError(f"{cfg.out_dir}: holds an earlier run ({LAST}); use --resume, --overwrite "
                           "or another --out")
    cfg.out_dir.mkdir(parents=True, exist_ok=True)


def run(args: argparse.Namespace) -> int:
    from model.infer.checkpoint import CheckpointError
    from model.train import distributed as D
    from model.train.data import split_items
    from model.train.loop import StopFlag, Trainer
    from model.train.state import ResumeError

    if args.finder:
        from model.finder.command import run_finder

        return run_finder(args, _load_items)
    cfg = _config(args)
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    skeleton, items = _load_items(args)
    check_flip_pairs(skeleton, cfg.augment.flip)
    try:
        ctx = D.setup(cfg.device)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    try:
        if ctx.is_main:
            _check_out(cfg, args.overwrite)
        D.barrier(ctx)
        train_items, val_items = split_items(items, cfg.val_fraction, cfg.seed)
        with StopFlag() as stop:
            trainer = Trainer(cfg, skeleton, train_items, val_items, ctx=ctx, stop=stop)
            result = trainer.run()
    except (ResumeError, CheckpointError, ValueError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    finally:
        D.teardown(ctx)
    return 0 if not result.stopped else 130
