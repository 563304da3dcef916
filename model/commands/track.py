"""`hglabel track PROJECT_OR_FOLDER`: give the instances of every sequence (video or folder of numbered
frames) a track, matched frame to frame (model.tracks); one undoable edit per sequence."""

from __future__ import annotations

import argparse
import json

from model.cli import CommandError


def register(subparsers) -> None:
    parser = subparsers.add_parser("track", help="match instances through each sequence into tracks")
    parser.add_argument("project", metavar="PROJECT_OR_FOLDER", help="project file or image folder")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from model.project.locate import ProjectNotFoundError, resolve_project
    from model.project.store import ProjectError, ProjectStore
    from model.tracks.project import sequence_key, track_sequence

    report = {"sequences": 0, "changed_instances": 0, "tracks": 0}
    try:
        with ProjectStore.open(resolve_project(args.project)) as store:
            firsts: dict[str, int] = {}
            for rec in store.images():
                firsts.setdefault(sequence_key(rec.path), rec.id)
            for image_id in firsts.values():
                edit = track_sequence(store, image_id)
                report["sequences"] += 1
                if edit is not None:
                    store.apply(edit)
                    report["changed_instances"] += len(edit.edits)
            report["tracks"] = len({(sequence_key(r.path), i.track_id) for r in store.images()
                                    for i in store.instances(r.id) if i.track_id is not None})
    except (ProjectNotFoundError, ProjectError) as exc:
        raise CommandError(str(exc)) from exc
    print(json.dumps(report))
    return 0
