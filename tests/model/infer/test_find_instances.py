"""finder → one crop per peak → pose network: every mouse of a two-mouse scene, fill-only-the-missing
when a person drew some boxes, and the single-instance whole-image pass without a finder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.annotations.boxes import iou
from model.finder.centres import instance_centre
from model.finder.scenes import load_coco_frames, two_animal_scenes
from model.infer.predictor import Predictor


class KnownCentres:
    """Stands in for a trained finder: reports the given centres (the scene's true ones)."""

    def __init__(self, centres, crop_size=(220.0, 220.0)):
        self.centres, self.crop_size = np.asarray(centres, np.float64), crop_size

    def find(self, image):
        return self.centres, np.ones(len(self.centres), np.float32)


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test here runs on one torch thread (tests/conftest.py)."""


@pytest.fixture(scope="module")
def predictor(demo_eval: Path) -> Predictor:
    return Predictor(demo_eval / "checkpoint.pt", device="cpu")


@pytest.fixture(scope="module")
def scene(demo_eval: Path):
    frames = load_coco_frames(demo_eval / "annotations.json", demo_eval / "images")
    return two_animal_scenes(frames, 1, seed=0)[0]


def _error(xy, animal) -> float:
    """Mean distance (px) of keypoints xy (K, 2) to the animal's labelled ones."""
    labelled = animal.vis > 0
    return float(np.linalg.norm(np.asarray(xy)[labelled] - animal.xy[labelled], axis=1).mean())


def test_finder_peaks_become_one_predicted_instance_each(predictor, scene, monkeypatch):
    centres = [instance_centre(a.xy, a.vis, a.box) for a in scene.animals]
    monkeypatch.setattr(predictor, "finder", KnownCentres(centres + [centres[0] + 3.0]))  # a double peak
    found = predictor.predict_image(scene.image)
    assert [i for i, _ in found] == [None, None]  # two instances, the duplicate peak dropped
    for animal in scene.animals:
        best = min(_error(p.keypoints, animal) for _, p in found)
        assert best < 12.0  # px: the demo model's crop accuracy on its own frames


def test_drawn_boxes_are_filled_and_only_missing_instances_added(predictor, scene, monkeypatch):
    centres = [instance_centre(a.xy, a.vis, a.box) for a in scene.animals]
    monkeypatch.setattr(predictor, "finder", KnownCentres(centres))
    drawn = tuple(float(v) for v in scene.animals[1].box)
    found = predictor.predict_image(scene.image, [drawn])
    assert [i for i, _ in found] == [0, None]
    assert _error(found[0][1].keypoints, scene.animals[1]) < 12.0
    assert _error(found[1][1].keypoints, scene.animals[0]) < 12.0
    shifted = (drawn[0] + 15.0, drawn[1] - 10.0, drawn[2], drawn[3])  # a loosely drawn box still counts
    both = predictor.predict_image(scene.image, [tuple(scene.animals[0].box), shifted])
    assert [i for i, _ in both] == [0, 1]
    assert iou(both[0][1].box, scene.animals[0].box) > 0.3


def test_without_a_finder_an_image_gets_the_single_instance_pass(predictor, scene):
    assert predictor.finder is None
    found = predictor.predict_image(scene.image)
    assert len(found) == 1 and found[0][0] is None  # one instance, whatever the image holds
    drawn = predictor.predict_image(scene.image, [tuple(scene.animals[0].box)])
    assert [i for i, _ in drawn] == [0] and _error(drawn[0][1].keypoints, scene.animals[0]) < 12.0


def test_predicting_into_a_project_fills_the_drawn_box_and_adds_the_other_mouse(predictor, scene, tmp_path,
                                                                                 monkeypatch):
    from model.annotations.edits import AddInstance
    from model.annotations.review import ReviewPolicy
    from model.annotations.types import Instance, Keypoints
    from model.finder.scenes import write_coco
    from model.infer.project_predict import predict_jobs, project_jobs, write_predictions
    from model.project.store import ProjectStore

    write_coco([scene], tmp_path, ["snout", "leftear", "rightear", "tailbase"])
    centres = [instance_centre(a.xy, a.vis, a.box) for a in scene.animals]
    monkeypatch.setattr(predictor, "finder", KnownCentres(centres))
    with ProjectStore.create(tmp_path / "p.hglabel", tmp_path / "images", predictor.skeleton) as store:
        image_id = store.images()[0].id
        drawn = tuple(float(v) for v in scene.animals[0].box)
        store.apply(AddInstance(image_id, Instance(Keypoints.empty(4), drawn, box_set=True)))
        answers = predict_jobs(predictor, project_jobs(store, list(store.counts_by_status())))
        write_predictions(store, answers, ReviewPolicy())
        first, second = store.instances(image_id)
        assert first.box == drawn and first.box_set  # the person's box is kept and filled
        assert _error(first.keypoints.xy, scene.animals[0]) < 12.0
        assert not second.box_set and _error(second.keypoints.xy, scene.animals[1]) < 12.0
        again = predict_jobs(predictor, project_jobs(store, list(store.counts_by_status())))
        write_predictions(store, again, ReviewPolicy())
        assert len(store.instances(image_id)) == 2  # predicting again duplicates nothing


def test_folder_prediction_writes_one_result_per_found_instance(predictor, scene, tmp_path, monkeypatch):
    from dataclasses import replace

    from model.finder.scenes import write_coco
    from model.infer.jobs import folder_jobs, run_jobs

    write_coco([scene, replace(scene, name="second.png")], tmp_path, ["snout", "leftear", "rightear",
                                                                      "tailbase"])
    monkeypatch.setattr(predictor, "finder", KnownCentres([instance_centre(a.xy, a.vis, a.box)
                                                           for a in scene.animals]))
    jobs = folder_jobs(tmp_path / "images")
    out = run_jobs(lambda items: predictor.predict(items), tmp_path / "images", jobs, 1,
                   find=lambda image: [p for _, p in predictor.predict_image(image)])
    assert sorted((order, n) for order, n, _ in out.results) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert {entry["image_id"] for _, _, entry in out.results} == {1, 2}
