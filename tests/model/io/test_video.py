"""VideoReader: frame-exact random access (B-frames, variable frame rate, the real recording) and
clear errors for missing, truncated, corrupt and unsupported files."""

from __future__ import annotations

import numpy as np
import pytest

from model.io.video import VideoError, VideoFrameError, VideoReader
from tests.videogen import index_of, write_video


def sequential(path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.mark.parametrize("name, kwargs", [
    ("bframes.mp4", {"bframes": 3, "gop": 10}),
    ("vfr.mkv", {"durations": [4, 1, 7, 2, 4, 12], "gop": 9}),
    ("mpeg4.avi", {"codec": "mpeg4", "bframes": 2, "gop": 8}),
    ("nob.mov", {"bframes": 0, "gop": 50}),
])
def test_random_access_equals_sequential_decode(tmp_path, name, kwargs):
    path = write_video(tmp_path / name, count=45, **kwargs)
    frames = sequential(path)
    assert [index_of(f) for f in frames] == list(range(45))  # the encoder kept every frame
    order = np.random.default_rng(1).permutation(45).tolist() + [44, 0, 1, 2, 30, 29, 31, 40]
    with VideoReader(path, cache_frames=0) as reader:
        assert reader.frame_count == 45
        assert reader.info.width == 128 and reader.info.height == 64
        for k in order:
            assert np.array_equal(reader.read(k), frames[k]), f"{name}: frame {k}"
        assert [k for k, _ in reader.iter_frames(10, 20)] == list(range(10, 20))


def test_variable_frame_rate_timestamps(tmp_path):
    path = write_video(tmp_path / "vfr.mkv", count=12, durations=[4, 1, 7, 2], rate=25)
    with VideoReader(path) as reader:
        times = [reader.timestamp(k) for k in range(12)]
    gaps = np.round(np.diff(times) * 100).astype(int).tolist()  # in 1/100 s (tick = 1/100 s)
    assert gaps == [4, 1, 7, 2] * 2 + [4, 1, 7]


def test_cache_returns_same_frame_and_read_only(tmp_path):
    path = write_video(tmp_path / "a.mp4", count=20)
    with VideoReader(path, cache_frames=4) as reader:
        first = reader.read(7)
        assert reader.read(7) is first and not first.flags.writeable
        assert index_of(reader.read(8)) == 8
        with pytest.raises(IndexError, match="frame 20 out of range"):
            reader.read(20)


def test_missing_file_named(tmp_path):
    with pytest.raises(VideoError, match=r"nope\.mp4: no such video file"):
        VideoReader(tmp_path / "nope.mp4")


def test_not_a_video_named(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_bytes(b"this is text, not a video\n" * 40)
    with pytest.raises(VideoError, match=r"notes\.mp4: cannot open the video"):
        VideoReader(bad)


def test_audio_only_file_named(tmp_path):
    import av

    path = tmp_path / "sound.mkv"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with pytest.raises(VideoError, match=r"sound\.mkv: the file has no video stream"):
        VideoReader(path)


def test_truncated_video_keeps_decodable_frames(tmp_path):
    path = write_video(tmp_path / "full.mkv", count=60, gop=10)  # mkv: the index is not at the end
    frames = sequential(path)
    cut = tmp_path / "cut.mkv"
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    with VideoReader(cut) as reader:
        n = reader.frame_count
        assert 10 < n < 60
        for k in (0, n // 2, 5, n - 2):
            assert np.array_equal(reader.read(k), frames[k])


def test_truncated_mp4_without_index_named(tmp_path):
    path = write_video(tmp_path / "rec.mp4", count=30)  # mp4 from PyAV: moov atom at the end
    cut = tmp_path / "rec_cut.mp4"
    cut.write_bytes(path.read_bytes()[:-2000])
    with pytest.raises(VideoError, match=r"rec_cut\.mp4: "):
        VideoReader(cut)


def test_corrupt_packet_damages_only_its_gop(tmp_path):
    import av

    path = write_video(tmp_path / "c.mkv", count=40, gop=10)
    frames = sequential(path)
    with av.open(str(path)) as container:
        packets = [(p.pts, p.pos, p.size) for p in container.demux(video=0) if p.size]
    pts_sorted = sorted(p[0] for p in packets)
    _, pos, size = next(p for p in packets if p[0] == pts_sorted[22])  # a frame of the third GOP
    data = bytearray(path.read_bytes())
    data[pos + size // 2:pos + size] = bytes(size - size // 2)  # payload only, container intact
    bad = tmp_path / "c_bad.mkv"
    bad.write_bytes(bytes(data))
    with VideoReader(bad, cache_frames=0) as reader:
        assert reader.frame_count == 40
        for k in list(range(0, 20)) + list(range(30, 40)):  # other GOPs decode exactly
            assert np.array_equal(reader.read(k), frames[k]), k
        for k in range(20, 30):  # the damaged GOP: an image or one error naming file and frame
            try:
                assert reader.read(k).shape == (64, 128, 3)
            except VideoFrameError as exc:
                assert f"c_bad.mkv: frame {k}" in str(exc)


@pytest.fixture(scope="module")
def real_video():
    """The real recording, shipped with the demo (same file as ../shared/data/openfield_video)."""
    from tests.conftest import DEMO_DIR

    return DEMO_DIR / "video" / "m3v1mp4.mp4"


def test_real_video_random_access_is_frame_exact(real_video):
    import av

    rng = np.random.default_rng(10)
    wanted = set(rng.integers(0, 2330, 30).tolist()) | {0, 2329, 182, 183, 1794}
    reference = {}
    with av.open(str(real_video)) as container:
        for k, frame in enumerate(container.decode(video=0)):
            if k in wanted:
                reference[k] = frame.to_ndarray(format="rgb24")
    assert k == 2329
    with VideoReader(real_video, cache_frames=0) as reader:
        assert (reader.frame_count, reader.info.width, reader.info.height) == (2330, 640, 480)
        assert reader.fps == pytest.approx(30.0, abs=0.01)
        for k in rng.permutation(sorted(wanted)).tolist():
            assert np.array_equal(reader.read(k), reference[k]), k


def test_open_sequence_video_and_folder(tmp_path):
    import cv2

    from model.io.frames import ImageFolderFrames, VideoFrames, frame_file_name, open_sequence
    from model.io.video import VideoError

    path = write_video(tmp_path / "clip.mp4", count=12)
    with open_sequence(path) as seq:
        assert isinstance(seq, VideoFrames) and len(seq) == 12 and seq.fps == pytest.approx(25)
        assert seq.frame_name(7) == "clip_000007" and index_of(seq.read(7)) == 7
        frames = [index_of(image) for _, image in seq]
    assert frames == list(range(12))
    folder = tmp_path / "frames"
    folder.mkdir()
    for k in (10, 2, 1):
        cv2.imwrite(str(folder / frame_file_name("clip", k)), np.full((8, 8, 3), k, np.uint8))
    seq = open_sequence(folder)
    assert isinstance(seq, ImageFolderFrames) and len(seq) == 3 and seq.fps is None
    assert [seq.frame_name(i) for i in range(3)] == ["clip_000001", "clip_000002", "clip_000010"]
    assert seq.read(2)[0, 0, 0] == 10
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(VideoError, match=r"notes\.txt: not a video"):
        open_sequence(tmp_path / "notes.txt")


@pytest.mark.parametrize("name, kwargs", [
    ("bframes.mp4", {"bframes": 3, "gop": 40}),
    ("mpeg4.avi", {"codec": "mpeg4", "bframes": 2, "gop": 40}),
])
def test_jumps_then_steps_after_skipping_nonreference_frames(tmp_path, name, kwargs):
    """A jump decodes with non-reference frames skipped up to the target; the frames after it
    (stepping, short jumps within the GOP whose packets may already be in the threaded decoder)
    must still be exact."""
    path = write_video(tmp_path / name, count=80, **kwargs)
    frames = sequential(path)
    order = [37, 38, 39, 41, 44, 45, 5, 6, 30, 31, 79, 60, 61, 62, 66, 3, 77, 78]
    with VideoReader(path, cache_frames=0) as reader:
        for k in order:
            assert index_of(reader.read(k)) == k, f"{name}: frame {k}"
            assert np.array_equal(reader.read(k), frames[k]), f"{name}: frame {k}"


def test_jump_skips_nonreference_frames_but_not_the_target(tmp_path, monkeypatch):
    """With B-frames a far jump decodes fewer frames than lie between the keyframe and the target,
    and a B-frame target (non-reference) still comes out."""
    path = write_video(tmp_path / "b.mp4", count=60, bframes=2, gop=60)
    frames = sequential(path)
    with VideoReader(path, cache_frames=0) as reader:
        decoded = []
        real = reader._frames

        def counting():
            for frame in real():
                decoded.append(frame.pts)
                yield frame

        monkeypatch.setattr(reader, "_frames", counting)
        for k in (50, 52, 53, 51):  # 52/53 are the next frames; 51 goes back (a seek)
            decoded.clear()
            assert np.array_equal(reader.read(k), frames[k]), k
    assert len(decoded) < 52  # frames 0..50 of the second seek: B-frames before 51 were skipped
