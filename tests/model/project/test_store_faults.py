"""The store under faults: file removed/replaced while open (1), damaged rows (3, 8), read-only (4),
scan/import name agreement (5), relink (7), interrupted import into a new project (10)."""

from __future__ import annotations

import dataclasses
import os
import shutil

import pytest

from model.annotations import edits as E
from model.annotations.types import ReviewStatus
from model.project import rows
from model.project.coco_bridge import export_coco, import_coco
from model.project.integrity import ProjectDamagedError
from model.project.relink import relink
from model.project.scan import scan_folder
from model.project.store import ProjectError, ProjectGoneError, ProjectReadOnlyError, ProjectStore
from tests.model.project.faults import first_blob, imported_project, patch_bytes


def _move_first(store: ProjectStore) -> E.Edit:
    rec = store.images()[0]
    inst = store.instances(rec.id)[0]
    return E.move_keypoint(rec.id, inst, 0, 5.0, 6.0)


@pytest.mark.parametrize("how", ["removed", "replaced"])
def test_case1_file_removed_or_replaced_refuses_edits_keeps_export(openfield, tmp_path, how):
    db, _ = imported_project(openfield, tmp_path)
    store = ProjectStore.open(db)
    store.apply(_move_first(store))
    if how == "removed":
        db.unlink()
    else:
        shutil.copy(db, tmp_path / "copy.db")
        os.replace(tmp_path / "copy.db", db)
    with pytest.raises(ProjectGoneError, match=f"{db.name}: the project file was {how}"):
        store.apply(_move_first(store))
    assert store.gone is not None
    with pytest.raises(ProjectGoneError):
        store.set_image_size(store.images()[0].id, 1, 1)
    report = export_coco(store, tmp_path / "rescued.json")  # what is in memory is still exportable
    assert report.annotations == 12
    store.close()


def test_case3_bit_flipped_status_is_one_line_naming_the_file(openfield, tmp_path):
    db, _ = imported_project(openfield, tmp_path)
    patch_bytes(db, b"done", b"donu")
    with pytest.raises(ProjectDamagedError) as info:
        ProjectStore.open(db)
    text = str(info.value)
    assert text.startswith(f"{db}: damaged project file:") and "\n" not in text and "donu" in text


@pytest.mark.parametrize("damage", ["file_name", "width", "v3", "zeroed"])
def test_case8_silent_bit_flips_are_found_on_open(openfield, tmp_path, damage):
    db, _ = imported_project(openfield, tmp_path)
    blob = first_blob(db)
    arr = rows.decode_array(blob)
    if damage == "file_name":
        patch_bytes(db, b"img0007.png", b"img0107.png", near=b"done")
    elif damage == "width":  # the table row (not the index entry) is followed by its width and 'done'
        data = bytearray(db.read_bytes())
        at = data.index(b"img0007.png")
        while b"done" not in data[at + 11:at + 35]:
            at = data.index(b"img0007.png", at + 1)
        data[at + 11] ^= 0x01
        db.write_bytes(bytes(data))
    elif damage == "v3":
        arr["v"][0] = 3
        patch_bytes(db, blob, arr.tobytes())
    else:
        arr["x"][1] = 0.0
        arr["y"][1] = 0.0
        patch_bytes(db, blob, arr.tobytes())
    with pytest.raises(ProjectDamagedError, match="damaged project file"):
        ProjectStore.open(db)


def test_case4_read_only_request_views_and_exports(openfield, tmp_path):
    db, _ = imported_project(openfield, tmp_path)
    with ProjectStore.open(db, read_only=True) as store:
        assert store.read_only and len(store.images()) == 12
        with pytest.raises(ProjectReadOnlyError, match="read-only"):
            store.apply(_move_first(store))
        assert export_coco(store, tmp_path / "out.json").annotations == 12


def test_case5_scan_leaves_out_what_import_refuses_so_round_trip_works(openfield, tmp_path):
    db, images = imported_project(openfield, tmp_path)
    src = next(images.glob("*.png"))
    shutil.copy(src, images / "new\nline.png")
    shutil.copy(src, images / "tab\there.png")
    shutil.copy(src, images / "back\\slash.png")
    outside = tmp_path / "outside.png"
    shutil.copy(src, outside)
    (images / "link.png").symlink_to(outside)
    found = scan_folder(images)
    assert not any(n in found for n in ("new\nline.png", "tab\there.png", "back\\slash.png", "link.png"))
    with ProjectStore.open(db) as store:
        store.rescan()
        for rec in store.images():
            if rec.status != ReviewStatus.DONE:
                store.apply(E.SetStatus(rec.id, rec.status, ReviewStatus.DONE))
        export_coco(store, tmp_path / "all.json")
    report = import_coco(tmp_path / "all.json", images, project=tmp_path / "again.db")
    assert report.images_added == 12


def test_case7_relink_checks_the_files_then_reattaches(openfield, tmp_path):
    images = tmp_path / "imgs"
    shutil.copytree(openfield / "images", images)
    db = tmp_path / "elsewhere" / "p.db"
    import_coco(openfield / "annotations.json", images, project=db)
    moved = tmp_path / "moved"
    images.rename(moved)
    with ProjectStore.open(db) as store:
        assert not store.image_root.is_dir()
        with pytest.raises(ProjectError, match="labelled image"):
            relink(store, openfield)  # a folder without these images is refused
        assert not store.image_root.is_dir()  # nothing changed
        found, report = relink(store, moved)
        assert found == 12 and report.vanished == 0 and store.image_root == moved.resolve()
    with ProjectStore.open(db) as store:
        assert store.image_root == moved.resolve()


def test_case10_interrupted_import_into_a_new_project_leaves_nothing(openfield, tmp_path, monkeypatch):
    images = tmp_path / "imgs"
    shutil.copytree(openfield / "images", images)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ProjectStore, "insert_rows", killed)
    with pytest.raises(KeyboardInterrupt):
        import_coco(openfield / "annotations.json", images)
    monkeypatch.undo()
    leftovers = list((images / ".hglabel").iterdir()) if (images / ".hglabel").exists() else []
    assert leftovers == []
    report = import_coco(openfield / "annotations.json", images)  # a second try works from scratch
    assert report.annotations == 12


def test_case7_cli_relink_moves_a_per_user_project(openfield, tmp_path, monkeypatch, capsys):
    from model.cli import main
    from model.project.paths import default_project_path, fallback_project_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    images = tmp_path / "imgs"
    shutil.copytree(openfield / "images", images)
    kept = fallback_project_path(images)  # where a read-only folder's project lives
    import_coco(openfield / "annotations.json", images, project=kept)
    moved = tmp_path / "moved"
    images.rename(moved)
    assert main(["relink", str(kept), "--images", str(tmp_path)]) == 2  # wrong folder: refused, one line
    assert "labelled image" in capsys.readouterr().err and kept.exists()
    assert main(["relink", str(kept), "--images", str(moved)]) == 0
    assert "12 image(s) found" in capsys.readouterr().out
    assert main(["info", str(moved), "--json"]) == 0  # the new folder finds its project
    assert '"done": 12' in capsys.readouterr().out
    assert default_project_path(moved).exists() and not kept.exists()


def test_case7_relink_finds_labelled_video_frames(tmp_path):
    from model.annotations.skeleton import Skeleton
    from model.annotations.types import Instance, Keypoints, Source
    from tests.videogen import write_video

    root = tmp_path / "rec"
    root.mkdir()
    write_video(root / "clip.mp4", count=10)
    db = tmp_path / "p.db"
    with ProjectStore.open(db, root, Skeleton("m", ("a", "b"))) as store:
        frame = store.images()[4]
        inst = Instance(Keypoints([(1, 2), (3, 4)], [2, 2]), (0, 0, 10, 10), 1.0, Source.HUMAN)
        store.apply(E.AddInstance(frame.id, inst))
    moved = tmp_path / "moved"
    root.rename(moved)
    with ProjectStore.open(db) as store:
        found, report = relink(store, moved)  # frame "clip.mp4#000004" is found through its video
        assert found == 10 and report.vanished == 0


def test_case2_full_disk_refuses_the_edit_whole_and_the_store_recovers(openfield, tmp_path):
    db, _ = imported_project(openfield, tmp_path)
    with ProjectStore.open(db) as store:
        rec = store.images()[0]
        pages = store.pragma("page_count")
        store.pragma("max_page_count", pages)  # SQLite's own "disk is full"
        copy = dataclasses.replace(store.instances(rec.id)[0], instance_id=None)
        with pytest.raises(ProjectError, match="disk is full.*nothing was changed; free disk space"):
            store.apply(E.Batch((E.AddInstance(rec.id, copy),) * 400, "many"))
        assert len(store.instances(rec.id)) == 1  # nothing of the batch landed
        store.pragma("max_page_count", 1073741823)
        store.apply(_move_first(store))  # no transaction was left open: the next edit lands
