"""`hglabel import COCO.json --images DIR [--project PATH] [--replace]`: COCO keypoints into a project."""

from __future__ import annotations

import argparse

from model.commands import CommandError


def register(subparsers) -> None:
    parser = subparsers.add_parser("import", help="import COCO keypoint annotations into a project")
    parser.add_argument("coco", metavar="COCO.json", help="COCO keypoints file")
    parser.add_argument("--images", required=True, metavar="DIR",
                        help="folder the file_names are relative to")
    parser.add_argument("--project", metavar="PATH",
                        help="project file (default DIR/.hglabel/project.db; created if missing)")
    parser.add_argument("--replace", action="store_true",
                        help="replace the instances of images that already have some (default: leave them)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from model.io.coco import CocoImportError
    from model.project.coco_bridge import import_coco
    from model.project.paths import PathEscapeError
    from model.project.store import ProjectError

    try:
        report = import_coco(args.coco, args.images, project=args.project, replace=args.replace)
    except (CocoImportError, ProjectError, PathEscapeError) as exc:
        raise CommandError(str(exc)) from exc
    total = report.images_added + report.images_matched
    print(
        f"imported {report.annotations} instance(s) on {total} image(s) "
        f"({report.images_added} new, {report.images_matched} already in the project, "
        f"{report.images_skipped} left alone) into {report.project}"
    )
    return 0
