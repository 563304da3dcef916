"""Project ↔ COCO keypoints files: export a project (atomic write), predictions as a results list, import.

One implementation per direction: model.project.coco_writer.project_coco_dict writes (the selection
below), model.project.coco_reader.read_coco reads; this module adds the files, frames and the store.

Decisions (also in CONTEXT.md):
- Export writes DONE images by default, with every keypoint as stored (marking an image done
  confirms what is on it). `labelled=True` (CLI --all) adds every other non-skipped image that
  has a keypoint a person set; on those images only human keypoints are written (the others as
  v = 0, instances without one are left out) unless `include_predictions=True`, which writes the
  model's values too (and so also adds images that only have predictions). Skipped images are
  never exported. An instance with no labelled keypoint (e.g. a box drawn and not yet filled) is
  never exported, on done images too: its box would claim an area with no keypoints in it, which
  skews OKS and trains nothing. Ids are the project's image and instance ids (stable across exports).
- Unknown image sizes are read from the file headers at export (and stored); a missing file with
  unknown size is an error naming the image.
- Import matches images by path relative to the image root; new paths are registered. Imported
  keypoints with v > 0 are human values; every image listed in the COCO file becomes DONE (an
  imported COCO file is a finished label set: images without annotations are labelled negatives,
  which a round trip must keep). An image that already has instances is left alone (counted as
  skipped) unless `replace=True`, which replaces its instances.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from model.annotations.skeleton import Skeleton
from model.annotations.types import ReviewStatus, Source
from model.io.coco import build_results, read_json, write_json_atomic
from model.io.images import ImageReadError
from model.project import rows
from model.project.coco_reader import BulkCoco, read_coco
from model.project.coco_writer import ExportError, project_coco_dict
from model.project.frame_export import write_frame_images
from model.project.paths import default_project_path
from model.project.store import ProjectError, ProjectStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportReport:
    path: Path
    images: int
    annotations: int


@dataclass(frozen=True)
class ImportReport:
    project: Path
    images_added: int  # paths new to the project
    images_matched: int  # paths the project already had
    images_skipped: int  # already had instances (replace=False)
    annotations: int  # instances written


# ---- export --------------------------------------------------------------------------------
def export_coco(store: ProjectStore, out: str | Path, labelled: bool = False,
                include_predictions: bool = False) -> ExportReport:
    """Write the project as COCO keypoints JSON to out, atomically (temp file + rename). Video frames
    are written as PNG files beside it (model.project.frame_export; file_name relative to out)."""
    try:
        data = project_coco_dict(store, labelled, include_predictions)
        write_frame_images(data, store.image_root, Path(out).resolve().parent)
        write_json_atomic(out, data)
    except ImageReadError as exc:
        raise ExportError(f"{out}: cannot export: {exc}") from exc
    except (ValueError, OSError) as exc:
        raise ExportError(f"{out}: cannot export: {exc}") from exc
    return ExportReport(Path(out), len(data["images"]), len(data["annotations"]))


def export_results(store: ProjectStore, out: str | Path) -> ExportReport:
    """Write every model instance (source model) as a COCO results list, atomically.

    Each entry's keypoints are the instance's current values (a person's corrections included).
    """
    items = []
    image_ids = set()
    for row in store.iter_instance_rows():
        inst = rows.row_to_instance(row)
        if inst.source == Source.MODEL:
            items.append((row.image_id, inst.keypoints, inst.score))
            image_ids.add(row.image_id)
    try:
        write_json_atomic(out, build_results(items, category_id=1))
    except (ValueError, OSError) as exc:
        raise ExportError(f"{out}: cannot export predictions: {exc}") from exc
    return ExportReport(Path(out), len(image_ids), len(items))


# ---- import --------------------------------------------------------------------------------
def import_coco(coco_path: str | Path, images_dir: str | Path, project: str | Path | None = None,
                replace: bool = False, skeleton: Skeleton | None = None) -> ImportReport:
    """Import a COCO keypoints file into the project of images_dir (created if needed).

    project defaults to default_project_path(images_dir). An existing project's skeleton picks the
    COCO category (keypoint names must match); a new project takes the file's skeleton (or
    `skeleton`). Raises CocoImportError (file and field) or ProjectError.
    """
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise ProjectError(f"{images_dir}: image folder does not exist")
    path = Path(project) if project is not None else default_project_path(images_dir)
    data = read_json(coco_path)
    if path.exists():
        with ProjectStore.open(path) as store:
            if store.image_root != images_dir.resolve():
                raise ProjectError(
                    f"{path}: project images are in {store.image_root}, not {images_dir.resolve()}"
                )
            return _import_into(store, read_coco(data, str(coco_path), store.image_root, store.skeleton),
                                replace)
    bulk = read_coco(data, str(coco_path), images_dir, skeleton)
    return _import_new(path, images_dir, bulk)


def _import_new(path: Path, images_dir: Path, bulk: BulkCoco) -> ImportReport:
    """All or nothing: the new project is built beside path and renamed into place when complete, so
    an interrupted import leaves no project (never one with images and no labels)."""
    tmp = path.with_name(path.name + ".importing")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    try:
        with ProjectStore.create(tmp, images_dir, bulk.skeleton, scan=False) as store:
            report = _import_into(store, bulk, False)
            store.rescan()
        if path.exists():
            raise ProjectError(f"{path}: a project appeared there while importing; nothing was changed")
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)
    return replace(report, project=path.resolve())


def _import_into(store: ProjectStore, bulk: BulkCoco, replace: bool) -> ImportReport:
    known = {r.path for r in store.images()}
    path_ids = store.add_images(bulk.file_names)
    project_ids = np.array([path_ids[n] for n in bulk.file_names], np.int64)
    to_project = dict(zip(bulk.image_ids.tolist(), project_ids.tolist(), strict=True))
    occupied = store.images_with_instances() & set(project_ids.tolist())
    clear = sorted(occupied) if replace else []
    if replace:
        occupied = set()
    ann_pids = [to_project[i] for i in bulk.ann_image.tolist()]
    k_bytes = bulk.ann_kp.shape[1] * rows.KP_DTYPE.itemsize
    blob = bulk.ann_kp.tobytes()
    tracks = bulk.ann_track.tolist()
    params = [
        (None, pid, bulk.category_id, x, y, w, h, 1.0, str(Source.HUMAN), blob[i * k_bytes:(i + 1) * k_bytes],
         1, None if tracks[i] < 0 else tracks[i])
        for i, (pid, (x, y, w, h)) in enumerate(zip(ann_pids, bulk.ann_box.tolist(), strict=True))
        if pid not in occupied
    ]
    written = [p for p in project_ids.tolist() if p not in occupied]
    sizes = dict(zip(project_ids.tolist(), map(tuple, bulk.sizes.tolist()), strict=True))
    count = store.insert_rows(params, statuses=dict.fromkeys(written, ReviewStatus.DONE), sizes=sizes,
                              clear_images=clear)
    matched = sum(1 for n in bulk.file_names if n in known)
    skipped = len(bulk.file_names) - len(written)
    if skipped:
        log.info("%d image(s) already had instances and were left alone (use replace to overwrite)", skipped)
    return ImportReport(store.path, len(bulk.file_names) - matched, matched, skipped, count)
