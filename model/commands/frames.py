"""`hglabel frames VIDEO --pick N --method uniform|kmeans|uncertain [--out DIR]`: choose frames to label."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from model.commands import CommandError

EPILOG = """\
methods:
  uniform    N frames evenly spaced in time
  kmeans     k-means (cv2.kmeans) on small grey thumbnails, one frame per cluster (as DeepLabCut's
             extract_frames): N frames that look different from each other
  uncertain  the N frames where the model is least sure (stack disagreement, low peaks, flip test
             with --flip), no two within --min-gap frames; needs --checkpoint (predicts the whole
             video first) or --results RESULTS.json from `hglabel predict VIDEO`

output:
  the picked frame indices, one per line, on stdout; with --out DIR each picked frame is also written
  as DIR/<video stem>_<frame index, 6 digits>.png (the file names DeepLabCut's frame extraction uses).

exit status: 0 done; 2 bad arguments or an unreadable video (one line naming the file)
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "frames", help="choose the frames of a video worth labelling (uniform, k-means, uncertain)",
        description="Choose frames of a video to label; optionally write them as PNG files.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("video", type=Path, metavar="VIDEO", help="video file (mp4 avi mov mkv m4v webm)")
    parser.add_argument("--pick", type=int, default=20, metavar="N", help="how many frames (default 20)")
    parser.add_argument("--method", choices=("uniform", "kmeans", "uncertain"), default="kmeans",
                        help="default kmeans")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write the picked frames as PNGs here")
    parser.add_argument("--checkpoint", type=Path, metavar="CKPT", help="uncertain: model to predict with")
    parser.add_argument("--results", type=Path, metavar="RESULTS.json",
                        help="uncertain: results of `hglabel predict VIDEO` (their uncertainty)")
    parser.add_argument("--flip", action="store_true", help="uncertain with --checkpoint: flip test too")
    parser.add_argument("--min-gap", type=int, default=5, metavar="F",
                        help="uncertain: at least F frames between picks (default 5)")
    parser.set_defaults(run=run)


def _uncertainty_from_results(path: Path) -> dict[int, float | None]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        return {int(e["image_id"]): e.get("uncertainty") for e in entries}
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise CommandError(f"{path}: not a results file of `hglabel predict VIDEO` ({exc})") from exc


def _uncertainty_from_model(args: argparse.Namespace, frames) -> dict[int, float | None]:
    from model.infer.checkpoint import CheckpointError
    from model.infer.predictor import Predictor
    from model.infer.progress import ProgressBar
    from model.infer.tracking import predict_sequence

    try:
        predictor = Predictor(args.checkpoint, flip_test=args.flip)
    except (CheckpointError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    bar = ProgressBar(len(frames), label="frames")
    try:
        return {r.index: r.uncertainty for r in predict_sequence(predictor, frames,
                                                               on_progress=lambda d, t: bar.update(1))}
    finally:
        bar.close()


def pick(args: argparse.Namespace, frames) -> list[int]:
    from model.video.pick import pick_kmeans, pick_uncertain, pick_uniform

    if args.method == "uniform":
        return pick_uniform(len(frames), args.pick)
    if args.method == "kmeans":
        return pick_kmeans(frames, args.pick)
    if args.results is not None:
        scores = _uncertainty_from_results(args.results)
    elif args.checkpoint is not None:
        scores = _uncertainty_from_model(args, frames)
    else:
        raise CommandError("--method uncertain needs --checkpoint CKPT or --results RESULTS.json")
    return pick_uncertain(scores, args.pick, args.min_gap)


def write_frames(frames, indices: list[int], out: Path) -> list[Path]:
    """Write frames[indices] as out/<stem>_<index:06d>.png (RGB kept); returns the paths."""
    import cv2

    from model.io.atomic import write_bytes_atomic
    from model.io.frames import frame_file_name

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in indices:
        path = out / frame_file_name(frames.stem, k)
        ok, data = cv2.imencode(".png", cv2.cvtColor(frames.read(k), cv2.COLOR_RGB2BGR))
        if not ok:
            raise CommandError(f"{path}: cannot encode the frame as PNG")
        write_bytes_atomic(path, data.tobytes())
        paths.append(path)
    return paths


def run(args: argparse.Namespace) -> int:
    from model.io.frames import VideoFrames
    from model.io.video import VideoError

    if args.pick < 1:
        raise CommandError(f"--pick must be at least 1, got {args.pick}")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise CommandError(f"{args.out}: exists and is not a folder")
    try:
        frames = VideoFrames(args.video)
    except VideoError as exc:
        raise CommandError(str(exc)) from exc
    with frames:
        try:
            indices = pick(args, frames)
            if args.out is not None:
                write_frames(frames, indices, args.out)
        except VideoError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"{args.out}: cannot write the frames: {exc}") from exc
    for k in indices:
        print(k)
    return 0
