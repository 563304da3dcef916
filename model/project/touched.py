"""Which images a person has touched: the ones Assist must not re-predict.

Touched: done or skipped; any instance a person added, any keypoint a person set, any box a person
set; or in review with no instance left (a person removed the model's). An image that is in review
only because the model's own keypoints need review is not touched (the status alone cannot say who
set it; the instances can).
"""

from __future__ import annotations

from collections.abc import Iterable

from model.annotations.types import ReviewStatus, Source
from model.project.rows import InstanceRow, decode_array

PERSON_STATUSES = (ReviewStatus.DONE, ReviewStatus.SKIPPED)


def row_touched(row: InstanceRow) -> bool:
    """A person made or changed this instance (its source, its box or any of its keypoints)."""
    if row.source == str(Source.HUMAN) or row.box_set:
        return True
    return bool(decode_array(row.keypoints)["human"].any())


def touched_image_ids(store, records: Iterable) -> set[int]:
    """Ids of the `records` (ImageRecord) a person touched; one store query for all of them."""
    records = list(records)
    touched = {r.id for r in records if r.status in PERSON_STATUSES}
    ask = [r.id for r in records if r.id not in touched]
    with_instances: set[int] = set()
    for row in store.iter_instance_rows(ask) if ask else ():
        with_instances.add(row.image_id)
        if row.image_id not in touched and row_touched(row):
            touched.add(row.image_id)
    touched.update(r.id for r in records
                   if r.status == ReviewStatus.IN_REVIEW and r.id not in with_instances)
    return touched
