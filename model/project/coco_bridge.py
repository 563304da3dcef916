"""Project ↔ COCO keypoints: export a project (atomic write), predictions as a results list, import.

Decisions (also in CONTEXT.md):
- Export writes DONE images by default, with every keypoint as stored (marking an image done
  confirms what is on it). `labelled=True` (CLI --all) adds every other non-skipped image that
  has a keypoint a person set; on those images only human keypoints are written (the others as
  v = 0, instances without one are left out) unless `include_predictions=True`, which writes the
  model's values too (and so also adds images that only have predictions). Skipped images are
  never exported. Ids are the project's image and instance ids (stable across exports).
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints, ReviewStatus, Source
from model.io.coco import (
    CocoAnnotation,
    CocoDataset,
    CocoImage,
    build_coco,
    build_results,
    load_coco,
    write_json_atomic,
)
from model.io.images import ImageReadError, read_image_size
from model.project import rows
from model.project.paths import default_project_path
from model.project.store import ImageRecord, ProjectError, ProjectStore

log = logging.getLogger(__name__)


class ExportError(ProjectError):
    """The project cannot be exported as asked; the message names the image or file."""


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
def project_to_coco(
    store: ProjectStore, labelled: bool = False, include_predictions: bool = False
) -> CocoDataset:
    """The project (or the chosen part of it, see module docstring) as a CocoDataset."""
    records = {r.id: r for r in store.images() if r.status != ReviewStatus.SKIPPED}
    by_image: dict[int, list[Instance]] = {}
    for row in store.iter_instance_rows():
        if row[1] in records:
            by_image.setdefault(row[1], []).append(rows.row_to_instance(row))
    chosen: list[ImageRecord] = []
    annotations: list[CocoAnnotation] = []
    for image_id, rec in records.items():
        done = rec.status == ReviewStatus.DONE
        if not done and not labelled:
            continue
        instances = by_image.get(image_id, [])
        if not (done or include_predictions):
            instances = [inst for inst in map(_human_only, instances) if inst is not None]
        kept = instances
        if not done and not kept:
            continue
        chosen.append(rec)
        annotations += [CocoAnnotation(int(inst.instance_id), image_id, inst) for inst in kept]
    return CocoDataset(store.skeleton, 1, _coco_images(store, chosen), annotations)


def _human_only(inst: Instance) -> Instance | None:
    """inst with only its human-set keypoints (others v = 0), or None if a person set none."""
    kp = inst.keypoints
    keep = kp.human & (kp.vis > 0)
    if not keep.any():
        return None
    if keep.sum() == (kp.vis > 0).sum():
        return inst
    xy = np.where(keep[:, None], kp.xy, 0.0)
    return Instance(Keypoints(xy, np.where(keep, kp.vis, 0), kp.confidence, kp.human), inst.box, inst.score,
                    inst.source, inst.instance_id, inst.category_id)


def _coco_images(store: ProjectStore, records: list[ImageRecord]) -> list[CocoImage]:
    out = []
    for rec in records:
        width, height = rec.width, rec.height
        if width is None or height is None:
            path = store.image_root / rec.path
            try:
                width, height = read_image_size(path)
            except (ImageReadError, OSError) as exc:
                raise ExportError(f"{path}: image size unknown and the file cannot be read: {exc}") from exc
            store.set_image_size(rec.id, width, height)
        out.append(CocoImage(rec.id, rec.path, int(width), int(height)))
    return out


def export_coco(store: ProjectStore, out: str | Path, labelled: bool = False,
                include_predictions: bool = False) -> ExportReport:
    """Write the project as COCO keypoints JSON to out, atomically (temp file + rename)."""
    dataset = project_to_coco(store, labelled, include_predictions)
    try:
        data = build_coco(dataset)
        write_json_atomic(out, data)
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
            items.append((row[1], inst.keypoints, inst.score))
            image_ids.add(row[1])
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
    if path.exists():
        with ProjectStore.open(path) as store:
            if store.image_root != images_dir.resolve():
                raise ProjectError(
                    f"{path}: project images are in {store.image_root}, not {images_dir.resolve()}"
                )
            dataset = load_coco(coco_path, image_root=store.image_root, skeleton=store.skeleton)
            return _import_into(store, dataset, replace)
    dataset = load_coco(coco_path, image_root=images_dir, skeleton=skeleton)
    with ProjectStore.create(path, images_dir, dataset.skeleton, scan=False) as store:
        report = _import_into(store, dataset, replace)
        store.rescan()
        return report


def _import_into(store: ProjectStore, dataset: CocoDataset, replace: bool) -> ImportReport:
    known = {r.path for r in store.images()}
    path_ids = store.add_images(im.file_name for im in dataset.images)
    project_id = {im.id: path_ids[im.file_name] for im in dataset.images}
    occupied = {row[1] for row in store.iter_instance_rows(list(project_id.values()))}
    clear = sorted(occupied) if replace else []
    if replace:
        occupied = set()
    items = [
        (project_id[ann.image_id], ann.instance) for ann in dataset.annotations
        if project_id[ann.image_id] not in occupied
    ]
    written = {im.id for im in dataset.images if project_id[im.id] not in occupied}
    statuses = {project_id[i]: ReviewStatus.DONE for i in written}
    sizes = {project_id[im.id]: (im.width, im.height) for im in dataset.images}
    count = store.insert_instances(items, statuses=statuses, sizes=sizes, clear_images=clear)
    matched = sum(1 for im in dataset.images if im.file_name in known)
    skipped = len(dataset.images) - len(written)
    if skipped:
        log.info("%d image(s) already had instances and were left alone (use replace to overwrite)", skipped)
    return ImportReport(store.path, len(dataset.images) - matched, matched, skipped, count)
