"""The project half of `hglabel predict --project`: predict a project's images and write the results
into it with the window's merge rule (a person's keypoints are never overwritten); under torchrun
each rank predicts every N-th image and rank 0 alone writes."""

from __future__ import annotations

import argparse
import sys

from model.commands import CommandError

WHICH = {"unlabelled": ("unlabelled",), "not-done": ("unlabelled", "predicted", "in_review")}


def _open_store(args: argparse.Namespace, read_only: bool):
    from model.project.locate import ProjectNotFoundError, resolve_project
    from model.project.store import ProjectError, ProjectStore

    try:
        return ProjectStore.open(resolve_project(args.project), read_only=read_only)
    except (ProjectNotFoundError, ProjectError) as exc:
        raise CommandError(str(exc)) from exc


def _predictor(args: argparse.Namespace, skeleton, device: str):
    from model.infer.checkpoint import CheckpointError
    from model.infer.predictor import load_predictor

    try:
        return load_predictor(args.checkpoint, skeleton, device, flip_test=args.flip, decode=args.decode)
    except (CheckpointError, ValueError) as exc:
        raise CommandError(str(exc)) from exc


def _gather(answers: list, ranks) -> list | None:
    """Every rank's answers on rank 0 (None elsewhere), heatmaps dropped."""
    import torch.distributed as dist

    from model.infer.project_predict import without_heatmaps

    light = without_heatmaps(answers)
    if not ranks.distributed:
        return light
    parts = [None] * ranks.world if ranks.is_main else None
    dist.gather_object(light, parts, dst=0)
    return [a for part in parts for a in part] if ranks.is_main else None


def _predict_share(args: argparse.Namespace, predictor, jobs: list, ranks) -> list:
    from model.infer.distributed import shard
    from model.infer.progress import ProgressBar
    from model.infer.project_predict import predict_jobs

    mine = shard(jobs, ranks)
    bar = ProgressBar(len(mine), enabled=ranks.is_main)
    answers = []
    try:
        for start in range(0, len(mine), args.batch_size):
            chunk = mine[start:start + args.batch_size]
            answers += predict_jobs(predictor, chunk, batch_size=args.batch_size)
            bar.update(len(chunk))
    finally:
        bar.close()
    return answers


def _report(store, report, n_jobs: int) -> int:
    for text in report.failures:
        print(f"hglabel predict: skipped unreadable image: {text}", file=sys.stderr)
    if report.failures and len(report.failures) == n_jobs:
        print(f"hglabel predict: error: none of the {n_jobs} image(s) could be read", file=sys.stderr)
        return 1
    statuses = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(report.statuses.items()))
    done = n_jobs - len(report.failures)
    print(f"predicted {done} image(s) into {store.path}: {report.changed} changed, "
          f"{report.unchanged} unchanged; now {statuses}")
    return 0


def run_project(args: argparse.Namespace, ranks, device: str) -> int:
    """`hglabel predict --project P --checkpoint C`: the project's unlabelled (or not-done) images."""
    from model.annotations.review import ReviewPolicy
    from model.annotations.types import ReviewStatus
    from model.infer.distributed import barrier_and_leave, init_group
    from model.infer.project_predict import project_jobs, write_predictions

    if not 0.0 <= args.threshold <= 1.0:
        raise CommandError(f"--threshold must be within 0 … 1, got {args.threshold}")
    store = _open_store(args, read_only=not ranks.is_main)
    if ranks.is_main and store.read_only:
        store.close()
        raise CommandError(f"{store.path}: the project file is read-only here; predictions cannot be written")
    try:
        jobs = project_jobs(store, [ReviewStatus(s) for s in WHICH[args.which]])
        predictor = _predictor(args, store.skeleton, device)
        if not jobs:
            print(f"hglabel predict: nothing to predict in {store.path} ({args.which} images: none)")
            return 0
        init_group(ranks)
        answers = _gather(_predict_share(args, predictor, jobs, ranks), ranks)
        barrier_and_leave(ranks)
        if not ranks.is_main:
            return 0
        report = write_predictions(store, answers, ReviewPolicy(args.threshold))
        return _report(store, report, len(jobs))
    finally:
        store.close()
