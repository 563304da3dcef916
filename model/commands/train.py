"""`hglabel train DATA --out DIR`: train or fine-tune the hourglass on confirmed labels (JSON-lines progress).

DATA is a project file, an image folder with a project, or a COCO keypoints file (with --images).
With --finder it trains the instance finder instead (model.finder.command).
Runs alone or under `torchrun --nproc_per_node N` (DistributedDataParallel; only rank 0 writes).
Runs by the clock (`--minutes M`, the default: 10 minutes) or by `--epochs`. Without --init it
starts from the bundled demo model's weights where the network fits (new heads for another
skeleton); `--init none` starts from random weights. Network and input size follow the device and
the instances unless given. Progress: JSON lines on stdout (events start, baseline, plan, step,
epoch, done; see model.train.progress), the plan and a bar on stderr. Exit status: 0 finished; 130
stopped by SIGINT/SIGTERM after writing last.pt (continue with --resume); 2 bad input or a run that
cannot be useful (one line on stderr).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from model.commands import CommandError

log = logging.getLogger(__name__)

DEFAULT_MINUTES = 10.0
SCRATCH_LR, FINETUNE_LR = 1e-3, 2.5e-4
MIN_IMAGES_SCRATCH, MIN_IMAGES_INIT = 5, 2


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train the network on confirmed labels",
                              description=__doc__.splitlines()[0])
    p.add_argument("data", metavar="DATA", help="project file, image folder with a project, or COCO .json")
    p.add_argument("--images", metavar="DIR", help="image root of a COCO file (default: its folder/images)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for best.pt, last.pt, last.state.pt")
    p.add_argument("--init", metavar="CKPT|none", help="start from this checkpoint (ours or pytorch-pose); "
                   "'none': random weights (default: the bundled demo model where the network fits)")
    p.add_argument("--stacks", type=int, default=None, help="default: planned for the device")
    p.add_argument("--blocks", type=int, default=None)
    p.add_argument("--features", type=int, default=None, help="default: planned (CPU 64, GPU 128)")
    p.add_argument("--input-size", type=int, default=None,
                   help="square input side (default: planned from the device and the instance sizes)")
    p.add_argument("--minutes", type=float, default=None,
                   help="time budget: steps, warm-up, decay fitted to it (default 10 without --epochs)")
    p.add_argument("--epochs", type=int, default=None, help="run a fixed number of epochs instead")
    p.add_argument("--batch-size", type=int, default=None, help="per process (default 8 on a CPU, 16)")
    p.add_argument("--lr", type=float, default=None,
                   help=f"default {SCRATCH_LR:g}; {FINETUNE_LR:g} to fine-tune a model of the same keypoints")
    p.add_argument("--warmup-steps", type=int, default=50, help="with --epochs (--minutes fits its own)")
    p.add_argument("--val-fraction", type=float, default=0.2,
                   help="images held out for validation (at least 2; under 6 images: 1, chosen by --seed)")
    p.add_argument("--save-every", type=float, default=120.0, metavar="S",
                   help="write the resumable last.pt + last.state.pt at least every S seconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--precision", choices=("auto", "fp32", "mixed"), default="auto",
                   help="auto: mixed (autocast) on CUDA, fp32 on the CPU")
    p.add_argument("--skeleton", metavar="PRESET_OR_JSON", help="skeleton to use instead of the data's "
                   "(same keypoints; e.g. to give flip pairs)")
    p.add_argument("--workers", type=int, default=-1, help="data loader processes (-1: auto)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads per process (0: torch's default; 1 is fastest on a busy machine)")
    p.add_argument("--nice", type=int, default=0, metavar="N",
                   help="lower this process's CPU priority by N (background runs, e.g. the window's Assist)")
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


def _config(args: argparse.Namespace, skeleton, items):
    from model.train.augment import AugmentConfig, rotation_is_valid
    from model.train.config import TrainConfig

    if not rotation_is_valid(args.rotation):
        raise CommandError(f"--rotation must be within [0, 180] degrees, got {args.rotation}")
    if not 0.0 <= args.whole_image_prob <= 1.0:
        raise CommandError(f"--whole-image-prob must be within [0, 1], got {args.whole_image_prob}")
    minutes = args.minutes if args.minutes is not None or args.epochs else DEFAULT_MINUTES
    init, init_auto, arch, note = _plan_network(args, skeleton, items)
    same = init is not None and _same_keypoints(init, skeleton)
    lr = args.lr if args.lr is not None else (FINETUNE_LR if same else SCRATCH_LR)
    batch = args.batch_size or (8 if _device_type(args.device) == "cpu" else 16)
    try:
        return TrainConfig(
            out_dir=Path(args.out), epochs=args.epochs, batch_size=batch, lr=lr,
            warmup_steps=args.warmup_steps, val_fraction=args.val_fraction, seed=args.seed,
            device=args.device, workers=args.workers, precision=args.precision,
            init=init, init_auto=init_auto, arch=arch,
            augment=AugmentConfig(flip=not args.no_flip, rotation_deg=args.rotation,
                                  whole_image_prob=args.whole_image_prob),
            resume=args.resume, minutes=minutes, save_every_s=args.save_every,
            plan_note=f"{note}; lr {lr:g}" + (f"; {minutes:g} min" if minutes else f"; {args.epochs} epochs"),
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from exc


def _device_type(device: str) -> str:
    import torch

    return "cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu"


def _same_keypoints(init: Path, skeleton) -> bool:
    from model.train.state import _load_init

    try:
        return tuple(_load_init(init).skeleton.keypoints) == tuple(skeleton.keypoints)
    except Exception as exc:  # the checkpoint is checked (with its own message) when the model is built
        raise CommandError(str(exc)) from exc


def _plan_network(args: argparse.Namespace, skeleton, items):
    """(init path or None, init is the default demo, ArchOptions, sentence saying what and why)."""
    import numpy as np

    from model.train.config import ArchOptions
    from model.train.plan import choose_arch, demo_checkpoint

    boxes = np.stack([it.box for it in items])
    dev = _device_type(args.device)
    given = (args.stacks, args.blocks, args.features)
    if args.init and args.init.lower() != "none":
        init, auto, start = Path(args.init), False, f"from {args.init}"
    elif args.init is None and (demo := demo_checkpoint()) is not None and all(
            g in (None, d) for g, d in zip(given, (2, 1, 64), strict=True)):
        init, auto, start = demo, True, "from the bundled demo weights (--init none for random)"
    else:
        init, auto = None, False
        start = "from random weights" + ("" if args.init else " (the demo weights do not fit this network)")
    if args.epochs is None and not args.resume:  # a planned run refuses data too thin to be useful
        _minimum_images(items, init)
    init_features = 64 if auto else None
    if init is not None and not auto:  # an explicit --init decides stacks/blocks/features itself
        size = args.input_size
        note = f"{start}; network of the checkpoint" + (f", {size} px input" if size else ", its input size")
        return init, auto, ArchOptions(2, 1, 128, size), note
    choice = choose_arch(dev, boxes, args.stacks, args.blocks, args.features, args.input_size, init_features)
    arch = ArchOptions(choice.stacks, choice.blocks, choice.features, choice.input_size)
    note = (f"{choice.stacks} stacks x {choice.features} features, {choice.input_size} px input "
            f"({choice.reason}); {start}")
    return init, auto, arch, note


def _minimum_images(items, init) -> None:
    n = len({it.image_key for it in items})
    need = MIN_IMAGES_INIT if init is not None else MIN_IMAGES_SCRATCH
    if n < need:
        raise CommandError(f"only {n} labelled frame{'s' if n != 1 else ''}: a run "
                           f"{'from a model' if init is not None else 'from random weights'} needs at "
                           f"least {need}; label more frames")


def _set_threads(threads: int) -> str:
    """--threads N, or 1 thread when the machine is busier than its cores (threads that wait on each
    other's descheduled peers ran a step up to ~9x slower: bench/train.py); returns a note or ""."""
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
        return ""
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if cores > 1 and load >= cores and not torch.cuda.is_available():
        torch.set_num_threads(1)
        return f"1 CPU thread (load {load:.1f} on {cores} cores)"
    return ""


def _check_out(out_dir: Path, resume: bool, overwrite: bool) -> None:
    from model.train.state import LAST

    if (out_dir / LAST).exists() and not (resume or overwrite):
        raise CommandError(f"{out_dir}: holds an earlier run ({LAST}); use --resume, --overwrite "
                           "or another --out")


def run(args: argparse.Namespace) -> int:
    from model.infer.checkpoint import CheckpointError
    from model.train import distributed as D
    from model.train.data import plan_validation
    from model.train.loop import StopFlag, Trainer
    from model.train.state import ResumeError

    if args.finder:
        from model.finder.command import run_finder

        # the finder runs by epochs with the earlier defaults (the time plan is the pose network's)
        args.epochs = args.epochs or 50
        args.batch_size = args.batch_size or 16
        args.lr = args.lr if args.lr is not None else SCRATCH_LR
        return run_finder(args, _load_items)
    if args.nice > 0 and hasattr(os, "nice"):
        os.nice(args.nice)
    threads_note = _set_threads(args.threads)
    _check_out(Path(args.out), args.resume, args.overwrite)
    skeleton, items = _load_items(args)
    cfg = _config(args, skeleton, items)
    if threads_note:
        cfg = replace(cfg, plan_note=f"{cfg.plan_note}; {threads_note}")
    check_flip_pairs(skeleton, cfg.augment.flip)
    try:
        ctx = D.setup(cfg.device)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    try:
        if ctx.is_main:
            cfg.out_dir.mkdir(parents=True, exist_ok=True)
            print(f"plan: {cfg.plan_note}", file=sys.stderr, flush=True)
        D.barrier(ctx)
        train_items, val_items, rotating = plan_validation(items, cfg.val_fraction, cfg.seed)
        cfg = replace(cfg, rotate_val=rotating)
        with StopFlag() as stop:
            trainer = Trainer(cfg, skeleton, train_items, val_items, ctx=ctx, stop=stop)
            result = trainer.run()
    except (ResumeError, CheckpointError, ValueError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    finally:
        D.teardown(ctx)
    if result.message and ctx.is_main:
        print(result.message, file=sys.stderr, flush=True)
    return 0 if not result.stopped else 130
