"""Re-attach a project to its image folder after the folder moved (`hglabel relink`, the window's Relink)."""

from __future__ import annotations

import shutil
from pathlib import Path

from model.project import videos
from model.project.paths import default_project_path, fallback_project_path
from model.project.store import ProjectError, ProjectStore, RescanReport


def check_folder(store: ProjectStore, folder: str | Path) -> int:
    """How many of the project's images are in folder; ProjectError unless it holds every image that
    has labels (by path relative to the root), or at least one image of a project without labels."""
    root = Path(folder).resolve()
    if not root.is_dir():
        raise ProjectError(f"{folder}: image folder does not exist")
    records = store.images()
    labelled = store.images_with_instances()
    frames = videos.present_frames(root, [r.path for r in records], store.videos())
    present = {r.id for r in records if r.path in frames or (root / r.path).is_file()}
    lacking = [r.path for r in records if r.id in labelled and r.id not in present]
    if lacking:
        raise ProjectError(f"{root}: does not hold this project's images: {len(lacking)} labelled image(s) "
                           f"are not there (e.g. {lacking[0]!r}); nothing was changed")
    if records and not present:
        raise ProjectError(f"{root}: none of this project's {len(records)} images is there; nothing was "
                           "changed")
    return len(present)


def relink(store: ProjectStore, folder: str | Path) -> tuple[int, RescanReport]:
    """Point store at folder after check_folder, then rescan it. Returns (images found, rescan report)."""
    found = check_folder(store, folder)
    store.set_image_root(folder)
    return found, store.rescan()


def relink_file(project: str | Path, folder: str | Path) -> tuple[Path, int, RescanReport]:
    """Relink the project file at `project` to folder; returns (project path now, images found, rescan).

    A project kept in the per-user place for its old folder (read-only folders) moves to the new
    folder's default place, so opening the new folder finds it; other project files stay put.
    """
    project = Path(project).resolve()
    with ProjectStore.open(project) as store:
        old_root = store.image_root
        check_folder(store, folder)
    target = project
    new_default = default_project_path(folder)
    if project == fallback_project_path(old_root).resolve() and not new_default.exists():
        new_default.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(project, new_default)
        target = new_default
    with ProjectStore.open(target) as store:
        found, report = relink(store, folder)
        return store.path, found, report
