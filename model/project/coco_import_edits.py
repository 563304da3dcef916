"""COCO keypoints into an open project as ONE undoable edit (the window's File → Import COCO).

Validation and messages are the CLI's (`read_coco`: CocoImportError names the file and the field);
as with `hglabel import`, imported keypoints are human, their images become done, and images that
already have instances are left alone unless `replace`. Images of the file that are not in the
project (not in its folder) are left out and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model.annotations.edits import AddInstance, Batch, Edit, RemoveInstance, SetStatus
from model.annotations.types import Instance, ReviewStatus, Source
from model.io.coco import read_json
from model.project import rows
from model.project.coco_reader import read_coco
from model.project.store import ProjectStore


@dataclass(frozen=True)
class ImportPlan:
    """What an import into the open project does (for the status line)."""

    source: Path
    instances: int
    images: int
    left_alone: int  # images that already had instances (replace=False)
    not_in_project: int

    def describe(self) -> str:
        text = f"Imported {self.instances} instance(s) on {self.images} image(s) from {self.source.name}"
        if self.left_alone:
            text += f"; {self.left_alone} image(s) already labelled were left alone"
        if self.not_in_project:
            text += f"; {self.not_in_project} image(s) not in this project's folder were left out"
        return text


def import_edit(store: ProjectStore, coco_path: str | Path,
                replace: bool = False) -> tuple[Edit | None, ImportPlan]:
    """The Batch that imports coco_path into store (None when it adds nothing) and what it does."""
    coco_path = Path(coco_path)
    bulk = read_coco(read_json(coco_path), str(coco_path), store.image_root, store.skeleton)
    records = {r.path: r for r in store.images()}
    occupied = store.images_with_instances()
    by_image: dict[int, list[int]] = {}
    for i, image_index in enumerate(_image_rows(bulk)):
        by_image.setdefault(image_index, []).append(i)
    edits: list[Edit] = []
    images = left_alone = missing = instances = 0
    for m, name in enumerate(bulk.file_names):
        rec = records.get(name)
        if rec is None:
            missing += 1
            continue
        if rec.id in occupied and not replace:
            left_alone += 1
            continue
        if rec.id in occupied:
            edits += [RemoveInstance(rec.id, inst) for inst in store.instances(rec.id)]
        for i in by_image.get(m, []):
            edits.append(AddInstance(rec.id, _instance(bulk, i)))
            instances += 1
        if rec.status != ReviewStatus.DONE:
            edits.append(SetStatus(rec.id, rec.status, ReviewStatus.DONE))
        images += 1
    plan = ImportPlan(coco_path, instances, images, left_alone, missing)
    return (Batch(tuple(edits), "import") if edits else None), plan


def _image_rows(bulk) -> list[int]:
    """Index into bulk.file_names of each annotation's image."""
    index = {int(i): m for m, i in enumerate(bulk.image_ids.tolist())}
    return [index[int(i)] for i in bulk.ann_image.tolist()]


def _instance(bulk, i: int) -> Instance:
    x, y, w, h = (float(v) for v in bulk.ann_box[i])
    track = int(bulk.ann_track[i])
    return Instance(rows.array_to_keypoints(bulk.ann_kp[i]), (x, y, w, h), 1.0, Source.HUMAN,
                    category_id=bulk.category_id, box_set=True, track_id=None if track < 0 else track)
