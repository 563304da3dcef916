"""Which images a person touched (model.project.touched): what Assist leaves alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.annotations import edits as E
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints, ReviewStatus, Source
from model.project.store import ProjectStore
from model.project.touched import touched_image_ids

SK = Skeleton("m", ("a", "b"))
NAMES = ("unlabelled", "model", "model_review", "person_kp", "person_box", "person_inst", "emptied",
         "done", "skipped")


def _model_kps(human=(False, False)) -> Keypoints:
    return Keypoints(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([2, 2]), np.array([0.4, 0.9], np.float32),
                     np.array(human))


def test_touched_images_are_those_a_person_changed(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    root.mkdir()
    for name in NAMES:
        (root / f"{name}.png").write_bytes(b"")
    with ProjectStore.open_folder(root, SK) as store:
        ids = {Path(r.path).stem: r.id for r in store.images()}

        def add(name: str, kps: Keypoints, source=Source.MODEL, box_set=False) -> None:
            store.apply(E.AddInstance(ids[name], Instance(kps, (0.0, 0.0, 5.0, 5.0), 0.5, source,
                                                          box_set=box_set)))

        def status(name: str, new: ReviewStatus) -> None:
            store.apply(E.SetStatus(ids[name], store.image(ids[name]).status, new))

        add("model", _model_kps())
        status("model", ReviewStatus.PREDICTED)
        add("model_review", _model_kps())
        status("model_review", ReviewStatus.IN_REVIEW)  # the model's keypoint needs review
        add("person_kp", _model_kps(human=(False, True)))
        add("person_box", _model_kps(), box_set=True)
        add("person_inst", _model_kps(), source=Source.HUMAN)
        status("emptied", ReviewStatus.IN_REVIEW)  # a person removed the model's only instance
        add("done", _model_kps())
        status("done", ReviewStatus.DONE)
        status("skipped", ReviewStatus.SKIPPED)
        touched = touched_image_ids(store, store.images())
    by_id = {v: k for k, v in ids.items()}
    assert sorted(by_id[i] for i in touched) == sorted(
        ["person_kp", "person_box", "person_inst", "emptied", "done", "skipped"])
