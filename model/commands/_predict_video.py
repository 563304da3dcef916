"""The video half of `hglabel predict`: open the video, predict this rank's frames, write the files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.commands import CommandError


def _open(path: Path):
    from model.io.frames import VideoFrames
    from model.io.video import VideoError

    try:
        return VideoFrames(path, cache_frames=0)
    except VideoError as exc:
        raise CommandError(str(exc)) from exc


def run_video(args: argparse.Namespace, predictor, ranks) -> int:
    from model.commands.predict import images_file_path
    from model.infer.distributed import gather_on_main, init_group
    from model.infer.progress import ProgressBar
    from model.infer.video_jobs import predict_video, rank_block

    frames = _open(args.images_dir)
    count = len(frames)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    init_group(ranks)
    mine = rank_block(count, ranks.rank, ranks.world)
    bar = ProgressBar(len(mine), label="frames", enabled=ranks.is_main)
    try:
        output = predict_video(predictor, frames, mine, track=args.track, on_progress=bar.update)
    finally:
        bar.close()
        frames.close()
    output = gather_on_main(args.out, ranks, output)
    return 0 if output is None else _write(args, output, count, predictor, images_file_path(args.out))


def _write(args: argparse.Namespace, output, count: int, predictor, images_path: Path) -> int:
    from model.io.atomic import write_json_atomic
    from model.io.dlc_csv import write_dlc_csv

    for _, text in output.failures:
        print(f"hglabel predict: skipped {text}", file=sys.stderr)
    if not output.results:
        print(f"hglabel predict: error: none of the {count} frame(s) of {args.images_dir} could be decoded",
              file=sys.stderr)
        return 1
    results = [entry for _, _, entry in output.results]
    write_json_atomic(args.out, results)
    write_json_atomic(images_path, [entry for _, entry in output.images])
    extra = ""
    if args.csv:
        csv_path = args.out.with_suffix(".csv")
        scorer = f"hglabel_{Path(args.checkpoint).stem}"
        write_dlc_csv(csv_path, scorer, predictor.skeleton.keypoints, results, count)
        extra = f", {csv_path}"
    tracked = sum(1 for e in results if e.get("tracked"))
    print(f"predicted {len(results)} of {count} frame(s) ({tracked} tracked) → {args.out} "
          f"(frames in {images_path}{extra})")
    return 0
