"""COCO export of video frames writes PNGs beside the JSON (pycocotools loads it, pixels equal the
decoded frames); training reads labelled frames straight from the video."""

from __future__ import annotations

import cv2
import numpy as np
from pycocotools.coco import COCO

from model.annotations import edits as E
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints, ReviewStatus, Source
from model.io.frames import read_source
from model.project.coco_bridge import export_coco
from model.project.frame_export import frame_export_name
from model.project.store import ProjectStore
from tests.videogen import index_of, write_video

SK = Skeleton("m", ("a", "b", "c", "d"))
XY = [(10.0, 20.0), (40.0, 22.0), (60.0, 30.0), (90.0, 50.0)]


def _project(tmp_path):
    root = tmp_path / "rec"
    (root / "day1").mkdir(parents=True)
    write_video(root / "day1" / "clip.mp4", count=20, bframes=2, gop=6)
    cv2.imwrite(str(root / "still.png"), np.full((64, 128, 3), 77, np.uint8))
    store = ProjectStore.open_folder(root, SK)
    for path in ("day1/clip.mp4#000004", "day1/clip.mp4#000017", "still.png"):
        image_id = store.image_id(path)
        inst = Instance(Keypoints(XY, [2, 2, 1, 2]), (5, 10, 90, 45), 1.0, Source.HUMAN)
        store.apply(E.AddInstance(image_id, inst))
        store.apply(E.SetStatus(image_id, ReviewStatus.UNLABELLED, ReviewStatus.DONE))
    return store


def test_export_name():
    assert frame_export_name("day1/clip.mp4#000017") == "day1/clip_000017.png"
    assert frame_export_name("clip.MP4#000002") == "clip_000002.png"
    assert frame_export_name("still.png") is None


def test_export_writes_frames_beside_the_json(tmp_path):
    store = _project(tmp_path)
    out = tmp_path / "export" / "labels.json"
    out.parent.mkdir()
    with store:
        report = export_coco(store, out)
        assert report.images == 3
        coco = COCO(str(out))
        names = sorted(img["file_name"] for img in coco.dataset["images"])
        assert names == ["day1/clip_000004.png", "day1/clip_000017.png", "still.png"]
        for name, k in (("day1/clip_000004.png", 4), ("day1/clip_000017.png", 17)):
            written = cv2.cvtColor(cv2.imread(str(out.parent / name)), cv2.COLOR_BGR2RGB)
            assert np.array_equal(written, read_source(store.image_root / f"day1/clip.mp4#{k:06d}"))
            assert index_of(written) == k
        assert len(coco.getAnnIds()) == 3
        ann = coco.loadAnns(coco.getAnnIds(imgIds=[i["id"] for i in coco.dataset["images"]
                                                   if i["file_name"] == "day1/clip_000017.png"]))[0]
        assert np.allclose(np.reshape(ann["keypoints"], (-1, 3))[:, :2], XY)


def test_training_reads_frames_from_the_video(tmp_path):
    from model.codec.spec import HeatmapSpec
    from model.infer.normalization import Normalization
    from model.train.augment import AugmentConfig
    from model.train.data import items_from_project
    from model.train.dataset import ImageCache, KeypointDataset

    store = _project(tmp_path)
    store.close()
    skeleton, items = items_from_project(tmp_path / "rec")
    keys = sorted(it.image_key for it in items)
    assert keys == ["day1/clip.mp4#000004", "day1/clip.mp4#000017", "still.png"]
    frame = next(it for it in items if it.image_key.endswith("#000017"))
    assert index_of(ImageCache().get(frame.image_path)) == 17
    dataset = KeypointDataset(items, HeatmapSpec((64, 64), 4), skeleton.flip_index(), Normalization(),
                              AugmentConfig())
    sample = dataset[0]
    assert sample["image"].shape[-2:] == (64, 64)
