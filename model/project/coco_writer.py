"""The one project → COCO keypoints writer: the stored keypoint blobs are decoded in one numpy call and
written by model.io.coco_write.annotation_dicts (the one annotation writer, also behind build_coco),
without per-instance value objects. Selection rules are documented in coco_bridge.
"""

from __future__ import annotations

import logging

import numpy as np

from model.annotations.types import ReviewStatus
from model.io.coco import CocoDataset, CocoImage, annotation_dicts, build_coco
from model.io.images import ImageReadError, read_image_size
from model.project import rows
from model.project.store import ImageRecord, ProjectError, ProjectStore

log = logging.getLogger(__name__)


class ExportError(ProjectError):
    """The project cannot be exported as asked; the message names the image or file."""


def coco_images(store: ProjectStore, records: list[ImageRecord]) -> list[CocoImage]:
    """CocoImage of each record; unknown sizes are read from the file header and stored."""
    out = []
    for rec in records:
        width, height = rec.width, rec.height
        if width is None or height is None:
            path = store.image_root / rec.path
            try:
                width, height = read_image_size(path)
            except (ImageReadError, OSError) as exc:
                raise ExportError(f"{path}: image size unknown and the file cannot be read: {exc}") from exc
            try:
                store.set_image_size(rec.id, width, height)
            except ProjectError as exc:  # read-only, locked or gone: the size is only a cache
                log.debug("image size of %s not stored: %s", rec.path, exc)
        out.append(CocoImage(rec.id, rec.path, int(width), int(height)))
    return out


def select_rows(store: ProjectStore, labelled: bool, include_predictions: bool):
    """(chosen image records, instance rows kept, (N, K) KP_DTYPE of those rows after the human-only
    filter). Rows are grouped by image in the project's image order, instances by id."""
    records = [r for r in store.images() if r.status != ReviewStatus.SKIPPED]
    wanted = {r.id: r for r in records if labelled or r.status == ReviewStatus.DONE}
    found = [row for row in store.iter_instance_rows() if row.image_id in wanted]
    k = store.skeleton.num_keypoints
    kp = np.frombuffer(b"".join(row.keypoints for row in found), rows.KP_DTYPE).reshape(len(found), k).copy()
    done = np.array([wanted[row.image_id].status == ReviewStatus.DONE for row in found], bool)
    if not include_predictions:
        drop = ~done[:, None] & ~(kp["human"].astype(bool) & (kp["v"] > 0))
        kp["v"][drop], kp["x"][drop], kp["y"][drop] = 0, 0.0, 0.0
    keep = (kp["v"] > 0).any(axis=1)  # an instance without a labelled keypoint is never exported
    has_rows = {row.image_id for row, kept in zip(found, keep.tolist(), strict=True) if kept}
    chosen = [r for r in records if r.id in wanted and (r.status == ReviewStatus.DONE or r.id in has_rows)]
    return chosen, [row for row, kept in zip(found, keep.tolist(), strict=True) if kept], kp[keep]


def _annotations(found: list, kp: np.ndarray, category_id: int) -> list[dict]:
    """COCO annotation dicts of instance rows and their (N, K) KP_DTYPE keypoints (model.io.coco_write)."""
    xy = np.stack([kp["x"], kp["y"]], axis=-1).reshape(*kp.shape, 2)
    return annotation_dicts([row.id for row in found], [row.image_id for row in found], category_id,
                            [row.box for row in found], xy, kp["v"], [row.track_id for row in found])


def project_coco_dict(store: ProjectStore, labelled: bool = False, include_predictions: bool = False) -> dict:
    """COCO keypoints dict of the project's chosen images (the selection rules of coco_bridge)."""
    chosen, found, kp = select_rows(store, labelled, include_predictions)
    data = build_coco(CocoDataset(store.skeleton, 1, coco_images(store, chosen), []))
    data["annotations"] = _annotations(found, kp, 1)
    return data
