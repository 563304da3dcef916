"""`hglabel predict IMAGES_DIR|VIDEO --checkpoint CKPT --out RESULTS.json`: COCO keypoint results for a
folder of images or every frame of a video (`--csv`: also DeepLabCut's CSV layout)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from model.commands import CommandError

log = logging.getLogger(__name__)

EPILOG = """\
output:
  RESULTS.json is a COCO results list [{image_id, category_id, keypoints [x, y, v] * K, score,
  keypoint_scores, flip_disagreement (with --flip)}]; keypoint_scores are the peak heatmap values,
  score is their mean, flip_disagreement the per-keypoint distance (image px) to the mirrored pass;
  v is 2, or 0 ("probably absent") where the peak is under the checkpoint's calibrated threshold.
  Without --coco, image ids are 1..N in natural order of the image files found under IMAGES_DIR
  (recursive; jpg jpeg png bmp tif tiff webp) and RESULTS.images.json lists
  [{id, file_name (relative to IMAGES_DIR), width, height}]; each image gets one instance, found by a
  whole-image pass and refined by a crop around its confident keypoints.
  With --coco GT.json, the ground truth's image ids are used and each of its annotations gets one
  prediction from a crop of its bbox; annotated images missing on disk are reported.

exit status:
  0  all readable images were predicted; corrupt or unreadable images are named on stderr and
     skipped, and do not make the run fail
  1  images were found but none could be read
  2  bad arguments: folder, checkpoint, skeleton, ground truth file

project (--project PROJECT_OR_FOLDER, a project .db or an image folder with one):
  the project's unlabelled images (--which not-done: also predicted and in-review ones) are
  predicted with its instances' boxes (whole-image pass where there are none) and written into the
  project with the window's rules: a keypoint a person set is never overwritten; an image becomes
  predicted, or in review when a model keypoint is under --threshold. Under torchrun each rank
  predicts every N-th image and rank 0 alone writes. The checkpoint's keypoints must be the project's.

video (mp4 avi mov mkv m4v webm):
  every frame is predicted; image ids are frame indices (0-based) and RESULTS.images.json lists
  [{id, file_name "<stem>_<index:06d>.png", width, height, frame_index, video}]. Each frame's crop is
  placed from the previous frame's result (one crop pass) and falls back to the whole-image search
  when that loses the animal (--no-track: search on every frame). Entries also carry `tracked` and
  `uncertainty`. --csv writes RESULTS.csv as DeepLabCut does (scorer/bodyparts/coords header rows,
  x, y, likelihood per body part; pandas: read_csv(path, header=[0, 1, 2], index_col=0)).

distributed:
  torchrun --nproc_per_node N -m model.cli predict ...   (or python -m torch.distributed.run ...)
  each rank predicts every N-th image (a video: one contiguous block of frames per rank); rank 0
  merges the ranks' partial files and writes the output.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="pre-annotate a folder of images, writing COCO keypoint results",
        description="Pre-annotate a folder of images with a checkpoint; write COCO keypoint results.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("images_dir", type=Path, metavar="IMAGES_DIR|VIDEO", nargs="?",
                        help="folder of images (searched recursively) or a video file")
    parser.add_argument("--checkpoint", required=True, type=Path, metavar="CKPT",
                        help="hglabel checkpoint or pytorch-pose .pth.tar")
    parser.add_argument("--out", type=Path, metavar="RESULTS.json",
                        help="results file to write (required unless --project)")
    parser.add_argument("--project", metavar="PROJECT_OR_FOLDER",
                        help="write the predictions into this project instead (the window's rules: a "
                             "person's keypoints are kept; images become predicted or in review)")
    parser.add_argument("--which", default="unlabelled", choices=("unlabelled", "not-done"),
                        help="--project: which images to predict (default unlabelled)")
    parser.add_argument("--threshold", type=float, default=0.3, metavar="T",
                        help="--project: review threshold; a model keypoint under it puts the image "
                             "in review (default 0.3, as in the window)")
    parser.add_argument("--coco", type=Path, metavar="GT.json",
                        help="COCO keypoints file: predict its annotations' boxes, with its image ids")
    parser.add_argument("--skeleton", metavar="coco17|mpii16|FILE.json",
                        help="skeleton preset or JSON (required for pytorch-pose checkpoints)")
    parser.add_argument("--batch-size", type=int, default=8, metavar="N",
                        help="crops per forward pass (default 8)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default auto")
    parser.add_argument("--flip", action="store_true", help="flip test: average with the mirrored crop")
    parser.add_argument("--decode", default=None, choices=("dark", "argmax"),
                        help="heatmap peak decoding (default: the checkpoint's, dark = sub-pixel)")
    parser.add_argument("--csv", action="store_true",
                        help="video: also write RESULTS.csv in DeepLabCut's layout")
    parser.add_argument("--no-track", dest="track", action="store_false",
                        help="video: whole-image search on every frame instead of tracking the crop")
    parser.set_defaults(run=run)


def images_file_path(out: Path) -> Path:
    """RESULTS.json → RESULTS.images.json (next to the results)."""
    stem = out.name[: -len(".json")] if out.name.lower().endswith(".json") else out.name
    return out.with_name(f"{stem}.images.json")


def _predictor(args: argparse.Namespace, device: str):
    from model.annotations.skeleton import SkeletonError
    from model.infer.checkpoint import CheckpointError
    from model.infer.predictor import Predictor

    try:
        return Predictor(args.checkpoint, device=device, flip_test=args.flip, decode=args.decode,
                         skeleton=args.skeleton)
    except (CheckpointError, SkeletonError, ValueError) as exc:
        raise CommandError(str(exc)) from exc


def _plan(args: argparse.Namespace, predictor) -> tuple[list, int]:
    """(jobs, category id) from the folder or from --coco; missing GT images are reported."""
    from model.infer.jobs import coco_jobs, folder_jobs
    from model.io.coco import CocoImportError, load_coco

    root = args.images_dir
    if args.coco is None:
        return folder_jobs(root), 1
    try:
        dataset = load_coco(args.coco, image_root=root)
    except CocoImportError as first:  # e.g. several keypoint categories: choose by the model's skeleton
        try:
            dataset = load_coco(args.coco, image_root=root, skeleton=predictor.skeleton)
        except CocoImportError:
            raise CommandError(str(first)) from first
    k_gt, k_model = dataset.skeleton.num_keypoints, predictor.config.num_keypoints
    if k_gt != k_model:
        raise CommandError(f"{args.coco}: the ground truth has {k_gt} keypoints, the checkpoint {k_model}")
    jobs, missing = coco_jobs(dataset, root)
    if missing:
        shown = ", ".join(missing[:10]) + (", …" if len(missing) > 10 else "")
        log.warning("%d annotated image(s) of %s are missing under %s: %s",
                    len(missing), args.coco, root, shown)
    return jobs, dataset.category_id


def _check_args(args: argparse.Namespace) -> None:
    from model.io.video import is_video_path

    if args.project is not None:
        extra = [name for name, value in (("IMAGES_DIR", args.images_dir), ("--out", args.out),
                                          ("--coco", args.coco), ("--csv", args.csv or None)) if value]
        if extra:
            raise CommandError(f"--project writes into the project; drop {', '.join(extra)}")
        return
    if args.images_dir is None or args.out is None:
        raise CommandError("give IMAGES_DIR|VIDEO and --out RESULTS.json, or --project PROJECT_OR_FOLDER")

    args.video = is_video_path(args.images_dir) and not args.images_dir.is_dir()
    if args.video:
        if not args.images_dir.is_file():
            raise CommandError(f"{args.images_dir}: no such video file")
        if args.coco is not None:
            raise CommandError("--coco is for image folders, not videos")
    elif args.csv:
        raise CommandError("--csv is for videos (DeepLabCut's per-frame layout)")
    elif not args.images_dir.is_dir():
        raise CommandError(f"{args.images_dir}: not a folder")
    if args.batch_size < 1:
        raise CommandError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.coco is not None and not args.coco.is_file():
        raise CommandError(f"{args.coco}: no such ground truth file")
    if args.out.is_dir():
        raise CommandError(f"{args.out}: is a folder; --out takes a file name")


def _predict_share(args: argparse.Namespace, predictor, jobs: list, category_id: int, ranks):
    from model.infer.distributed import shard
    from model.infer.jobs import run_jobs
    from model.infer.progress import ProgressBar

    mine = shard(jobs, ranks)
    bar = ProgressBar(len(mine), enabled=ranks.is_main)
    try:
        find = None
        if predictor.finder is not None:  # every instance of each image, not one
            def find(image):
                return [pred for _, pred in predictor.predict_image(image)]
        return run_jobs(lambda items: predictor.predict(items, batch_size=args.batch_size), args.images_dir,
                        mine, category_id, chunk=args.batch_size, on_progress=bar.update, find=find)
    finally:
        bar.close()


def _write(args: argparse.Namespace, output, n_jobs: int) -> int:
    from model.io.atomic import write_json_atomic

    if output.failures:
        print(f"hglabel predict: skipped {len(output.failures)} unreadable image(s):", file=sys.stderr)
        for _, text in output.failures:
            print(f"  {text}", file=sys.stderr)
    if not output.images:
        print(f"hglabel predict: error: none of the {n_jobs} image(s) could be read", file=sys.stderr)
        return 1
    write_json_atomic(args.out, [entry for _, _, entry in output.results])
    extra = ""
    if args.coco is None:
        write_json_atomic(images_file_path(args.out), [entry for _, entry in output.images])
        extra = f" (image ids in {images_file_path(args.out)})"
    print(f"predicted {len(output.results)} instance(s) on {len(output.images)} image(s) → {args.out}{extra}")
    return 0


def run(args: argparse.Namespace) -> int:
    from model.device import ranks_from_env
    from model.infer.distributed import gather_on_main, init_group, rank_device

    _check_args(args)
    try:
        ranks = ranks_from_env()
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    if args.project is not None:
        from model.commands._predict_project import run_project

        return run_project(args, ranks, rank_device(args.device, ranks))
    predictor = _predictor(args, rank_device(args.device, ranks))
    if args.video:
        from model.commands._predict_video import run_video

        return run_video(args, predictor, ranks)
    jobs, category_id = _plan(args, predictor)
    if not jobs:
        what = f"annotated images of {args.coco}" if args.coco else "images (jpg jpeg png bmp tif tiff webp)"
        raise CommandError(f"{args.images_dir}: no {what} found")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    init_group(ranks)
    output = gather_on_main(args.out, ranks, _predict_share(args, predictor, jobs, category_id, ranks))
    return 0 if output is None else _write(args, output, len(jobs))
