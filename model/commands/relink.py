"""`hglabel relink PROJECT --images NEWDIR`: re-attach a project to its image folder after it moved."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.commands import CommandError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "relink", help="point a project at its moved image folder (checks that the images are there)"
    )
    parser.add_argument("project", metavar="PROJECT", help="project .db file (or the old image folder)")
    parser.add_argument("--images", required=True, metavar="NEWDIR", help="where the images are now")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from model.project.locate import ProjectNotFoundError, resolve_project
    from model.project.relink import relink_file
    from model.project.store import ProjectError

    try:
        path, found, report = relink_file(resolve_project(args.project), args.images)
    except (ProjectNotFoundError, ProjectError) as exc:
        raise CommandError(str(exc)) from exc
    print(f"relinked {path} to {Path(args.images).resolve()}: {found} image(s) found, {report.added} new, "
          f"{report.vanished} missing")
    return 0
