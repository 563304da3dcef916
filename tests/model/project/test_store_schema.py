"""Project file format: forward migrations, refusal of unknown files, locations and relative paths."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from model.annotations.edits import Batch, SetStatus
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints, ReviewStatus
from model.project import paths, rows, schema
from model.project.paths import PathEscapeError, default_project_path, relative_image_path
from model.project.store import ProjectError, ProjectStore

SK = Skeleton("m", ("a", "b"))


def _write_v1_project(db: Path, root: Path) -> None:
    """A file as the first released format wrote it (user_version 1, no 'missing' column)."""
    conn = sqlite3.connect(db, isolation_level=None)
    schema.MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version=1")
    conn.execute("INSERT INTO meta VALUES ('skeleton', ?)", (json.dumps(SK.to_dict()),))
    conn.execute("INSERT INTO meta VALUES ('image_root', ?)", (str(root),))
    conn.execute("INSERT INTO images (path, status) VALUES ('x.png', 'done')")
    inst = Instance(Keypoints([[1.5, 2.5], [0, 0]], [2, 0]), (1, 2, 3, 4))
    v1_columns = "id, image_id, category_id, x, y, w, h, score, source, keypoints"
    conn.execute(f"INSERT INTO instances ({v1_columns}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                 rows.instance_params(1, inst)[:10])
    conn.close()


def test_v1_file_is_migrated_forward_keeping_labels(tmp_path):
    db = tmp_path / "old.db"
    _write_v1_project(db, tmp_path)
    with ProjectStore.open(db) as store:
        rec = store.images()[0]
        assert (rec.path, rec.status, rec.missing) == ("x.png", ReviewStatus.DONE, False)
        assert store.instances(rec.id)[0].keypoints.xy.tolist() == [[1.5, 2.5], [0.0, 0.0]]
        assert store.integrity_check() == "ok"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert "missing" in [r[1] for r in conn.execute("PRAGMA table_info(images)")]
    conn.close()


def test_empty_v0_file_becomes_a_project(tmp_path):
    db = tmp_path / "empty.db"
    sqlite3.connect(db).close()  # zero-byte SQLite file, user_version 0
    with ProjectStore.create(db, tmp_path, SK) as store:
        assert store.skeleton == SK


def test_newer_and_foreign_files_are_refused(tmp_path):
    newer = tmp_path / "newer.db"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version={schema.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ProjectError, match="newer.db.*newer than"):
        ProjectStore.open(newer)
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(ProjectError, match="foreign.db.*not an hglabel project"):
        ProjectStore.open(foreign)


def test_store_uses_wal_and_requested_durability(tmp_path):
    with ProjectStore.create(tmp_path / "p.db", tmp_path, SK, durability="full") as store:
        assert store.pragma("journal_mode") == "wal"
        assert store.pragma("synchronous") == 2  # FULL
        other = sqlite3.connect(tmp_path / "p.db")  # WAL is a property of the file itself
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        other.close()
    with pytest.raises(ValueError):
        ProjectStore.open(tmp_path / "p.db", durability="sometimes")


def test_default_location_and_read_only_fallback(tmp_path, monkeypatch):
    folder = tmp_path / "imgs"
    folder.mkdir()
    assert default_project_path(folder) == folder.resolve() / ".hglabel" / "project.db"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(paths, "can_create_in", lambda path: False)  # root ignores chmod: simulate
    fallback = default_project_path(folder)
    assert fallback.is_relative_to(tmp_path / "xdg" / "hglabel" / "projects")
    assert fallback == default_project_path(folder)  # stable per folder
    assert fallback != default_project_path(tmp_path)
    with ProjectStore.open_folder(folder, SK) as store:
        assert store.path == fallback and store.image_root == folder.resolve()
    monkeypatch.undo()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_project_path(folder) == fallback  # an existing project is found again


@pytest.mark.parametrize("bad", ["../x.png", "a/../../x.png", "/etc/passwd", "", ".", "C:/x.png"])
def test_paths_escaping_the_root_are_refused(tmp_path, bad):
    with pytest.raises(PathEscapeError):
        relative_image_path(tmp_path, bad)


def test_relative_paths_are_normalised(tmp_path):
    assert relative_image_path(tmp_path, "a/./b/../c.png") == "a/c.png"
    assert relative_image_path(tmp_path, tmp_path / "d" / "e.png") == "d/e.png"
    assert relative_image_path(tmp_path, "d\\e.png") == "d/e.png"
    with ProjectStore.create(tmp_path / "p.db", tmp_path, SK, scan=False) as store:
        with pytest.raises(PathEscapeError):
            store.add_images(["../outside.png"])
        ids = store.add_images(["b10.png", "b9.png", "b9.png"])
        assert [r.path for r in store.images()] == ["b9.png", "b10.png"] and len(ids) == 2


def test_marking_done_commits_with_full_sync(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    with ProjectStore.create(tmp_path / "p.db", tmp_path, SK) as store:
        statements: list[str] = []
        store.trace(statements.append)
        image_id = store.images()[0].id
        store.apply(SetStatus(image_id, ReviewStatus.UNLABELLED, ReviewStatus.IN_REVIEW))
        assert not any("synchronous" in s for s in statements)
        store.apply(Batch((SetStatus(image_id, ReviewStatus.IN_REVIEW, ReviewStatus.DONE),)))
        sync = [s for s in statements if "synchronous" in s]
        assert sync == ["PRAGMA synchronous=FULL", "PRAGMA synchronous=NORMAL"]
        between = statements[statements.index(sync[0]):statements.index(sync[1])]
        assert "BEGIN IMMEDIATE" in between and "COMMIT" in between
        store.trace(None)
        assert store.pragma("synchronous") == 1  # back to NORMAL
        store.sync()
        assert store.image(image_id).status == ReviewStatus.DONE


def test_pragma_hook_reads_and_caps_only_what_it_names(tmp_path):
    with ProjectStore.create(tmp_path / "p.db", tmp_path, SK, scan=False) as store:
        pages = store.pragma("page_count")
        assert store.pragma("max_page_count", pages + 5) == pages + 5
        with pytest.raises(ValueError, match="synchronous"):
            store.pragma("synchronous", 0)
        with pytest.raises(ValueError, match="cache_size"):
            store.pragma("cache_size")
