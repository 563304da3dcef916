"""Re-attach a project to its image folder after the folder moved (`hglabel relink`, the window's Relink)."""

from __future__ import annotations

from pathlib import Path

from model.project.store import ProjectError, ProjectStore, RescanReport


def check_folder(store: ProjectStore, folder: str | Path) -> int:
    """How many of the project's images are in folder; ProjectError unless it holds every image that
    has labels (by path relative to the root), or at least one image of a project without labels."""
    root = Path(folder).resolve()
    if not root.is_dir():
        raise ProjectError(f"{folder}: image folder does not exist")
    records = store.images()
    labelled = store.images_with_instances()
    present = {r.id for r in records if (root / r.path).is_file()}
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
