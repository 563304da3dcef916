"""Videos in a project: frames become images "<video>#<k:06d>" read frame-exactly, labels survive a
moved folder, a changed or missing video is detected and named; picked flags and uncertainty persist;
bytes per frame of stored predictions."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from model.annotations import edits as E
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints, Source
from model.io.frames import forget_reader, read_source
from model.io.images import ImageReadError
from model.project.store import ProjectStore
from tests.videogen import index_of, write_video

SK = Skeleton("m", ("a", "b", "c", "d"))


@pytest.fixture()
def folder(tmp_path):
    root = tmp_path / "rec"
    root.mkdir()
    write_video(root / "clip.mp4", count=30, bframes=2, gop=8)
    cv2.imwrite(str(root / "still.png"), np.zeros((8, 8, 3), np.uint8))
    return root


def test_folder_with_a_video_and_an_image(folder):
    with ProjectStore.open_folder(folder, SK) as store:
        paths = [r.path for r in store.images()]
        assert paths[:2] == ["clip.mp4#000000", "clip.mp4#000001"] and paths[-1] == "still.png"
        assert len(paths) == 31
        (video,) = store.videos()
        assert (video.path, video.frame_count, video.width, video.height) == ("clip.mp4", 30, 128, 64)
        assert video.fps == pytest.approx(25.0) and video.size == (folder / "clip.mp4").stat().st_size
        rec = store.images()[17]
        assert (rec.width, rec.height) == (128, 64)
        for r in (store.images()[17], store.images()[3], store.images()[29]):
            assert index_of(read_source(store.image_path(r.id))) == int(r.path.split("#")[1])
        assert store.rescan().added == 0 and store.check_videos() == []


def _label(store, image_id):
    inst = Instance(Keypoints([(1, 2), (3, 4), (5, 6), (7, 8)], [2, 2, 2, 2]), (0, 0, 10, 10), 1.0,
                    Source.HUMAN)
    store.apply(E.AddInstance(image_id, inst))


def test_labels_survive_moving_the_folder(folder, tmp_path):
    with ProjectStore.open_folder(folder, SK) as store:
        frame = store.image_id("clip.mp4#000012")
        _label(store, frame)
        store.set_picked([frame])
        store.set_uncertainty({frame: 2.5, store.image_id("still.png"): 0.3})
    moved = tmp_path / "elsewhere" / "rec"
    shutil.move(str(folder), str(moved))
    with ProjectStore.open_folder(moved) as store:
        frame = store.image_id("clip.mp4#000012")
        assert store.instances(frame)[0].keypoints.xy[3].tolist() == [7, 8]
        assert not store.image(frame).missing and store.check_videos() == []
        assert store.picked() == [frame]
        assert store.uncertainties()[frame] == pytest.approx(2.5)
        assert index_of(read_source(store.image_path(frame))) == 12


def test_changed_video_is_detected_and_named(folder):
    original = (folder / "clip.mp4").read_bytes()
    with ProjectStore.open_folder(folder, SK) as store:
        _label(store, store.image_id("clip.mp4#000005"))
    forget_reader(folder / "clip.mp4")
    write_video(folder / "clip.mp4", count=30, bframes=0, gop=30)  # another encode, same frame count
    with ProjectStore.open_folder(folder) as store:
        (problem,) = store.check_videos()
        assert "clip.mp4: video changed since its frames were labelled" in problem
    data = bytearray(original)
    data[-200] ^= 0xFF  # one flipped byte, same size
    (folder / "clip.mp4").write_bytes(bytes(data))
    with ProjectStore.open_folder(folder) as store:
        assert "same size, other content" in store.check_videos()[0]


def test_missing_video_keeps_labels_and_reads_fail_cleanly(folder):
    with ProjectStore.open_folder(folder, SK) as store:
        frame = store.image_id("clip.mp4#000007")
        _label(store, frame)
    forget_reader(folder / "clip.mp4")
    (folder / "clip.mp4").unlink()
    with ProjectStore.open_folder(folder) as store:
        assert "clip.mp4: video missing (its 30 frames' labels are kept)" in store.check_videos()[0]
        assert store.image(frame).missing and len(store.instances(frame)) == 1
        with pytest.raises(ImageReadError, match=r"clip\.mp4#000007: .*no such video file"):
            read_source(store.image_path(frame))


def test_predictions_cost_per_frame(tmp_path):
    """What one predicted frame adds to the project file: one model instance (K = 4) + uncertainty,
    measured on the real recording's 2 330 frames."""
    from tests.conftest import DEMO_DIR

    root = tmp_path / "real"
    root.mkdir()
    shutil.copy(DEMO_DIR / "video" / "m3v1mp4.mp4", root)
    with ProjectStore.open_folder(root, SK) as store:
        store.sync()
        before = store.path.stat().st_size
        records = store.images()
        assert len(records) == 2330
        rng = np.random.default_rng(0)
        items = [(r.id, Instance(Keypoints(rng.uniform(0, 640, (4, 2)), [2] * 4,
                                           confidence=rng.uniform(0, 1, 4)),
                                 (1.0, 2.0, 30.0, 40.0), 0.7, Source.MODEL)) for r in records]
        store.insert_instances(items)
        store.set_uncertainty({r.id: 0.5 for r in records})
        store.sync()
        per_frame = (store.path.stat().st_size - before) / len(records)
    print(f"{per_frame:.0f} bytes per predicted frame")
    assert per_frame < 300, per_frame


def test_neighbour_result_of_a_frame(folder):
    from model.project.videos import neighbour_result

    with ProjectStore.open_folder(folder, SK) as store:
        assert neighbour_result(store, "clip.mp4#000005") is None
        _label(store, store.image_id("clip.mp4#000006"))
        xy, conf = neighbour_result(store, "clip.mp4#000005")  # from frame 6 (frame 4 has nothing)
        assert xy[3] == [7, 8] and conf == [1.0] * 4  # a person's points count as certain
        assert neighbour_result(store, "still.png") is None
