"""Opening an image folder as a project off the GUI thread (scan + SQLite), then handing it over."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from gui.workers.image_loader import LoadedImage, decode_for_display
from model.annotations.skeleton import Skeleton
from model.io.images import ImageReadError
from model.io.video import VideoError
from model.project.paths import default_project_path, fallback_project_path
from model.project.relink import relink_file
from model.project.store import ProjectError, ProjectStore

# How long an edit waits for another process's write (e.g. `hglabel import`) before it is refused
# with a message: the GUI thread must not freeze on SQLite's lock.
GUI_BUSY_TIMEOUT_S = 0.05

log = logging.getLogger(__name__)


def has_project(folder: str | Path) -> bool:
    """True when the folder already has a project file (then no skeleton needs choosing)."""
    return default_project_path(folder).exists()


def orphaned_project(folder: str | Path) -> Path | None:
    """The project file of a folder that is gone (moved): kept in the per-user place, so it survived."""
    path = fallback_project_path(folder)
    return path if not Path(folder).is_dir() and path.is_file() else None


def _first_image(store: ProjectStore, records) -> LoadedImage | None:
    """Decode the image the window shows first here, so it appears as soon as the project is open."""
    first = next((r for r in records if not r.missing), None)
    if first is None or first.id != records[0].id:
        return None
    try:
        return decode_for_display(first.id, store.image_root / first.path)
    except (ImageReadError, OSError):
        return None  # the window reports it when it tries again


class ProjectOpener(QObject):
    """open(folder, skeleton) on a thread; `opened(store, records)` or `failed(message)` on the GUI thread."""

    opened = Signal(object, object, object)  # store, records, LoadedImage of the first image or None
    failed = Signal(str)
    warned = Signal(str)  # the project opened, but e.g. a video changed since it was labelled

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.busy = False

    def open(self, folder: str | Path, skeleton: Skeleton | None = None,
             video: str | Path | None = None) -> None:
        """Open the folder's project; with `video` (a file in it) also register that video (an
        unreadable one fails the open with its message)."""
        self._start(Path(folder), skeleton, None, None if video is None else Path(video))

    def relink(self, project: str | Path, folder: str | Path) -> None:
        """Re-attach project to its moved image folder (checking the files match), then open it."""
        self._start(Path(folder), None, Path(project))

    def _start(self, folder: Path, skeleton: Skeleton | None, relink: Path | None,
               video: Path | None = None) -> None:
        self.busy = True
        threading.Thread(target=self._work, args=(folder, skeleton, relink, video), name="hglabel-open",
                         daemon=True).start()

    def _work(self, folder: Path, skeleton: Skeleton | None, relink: Path | None,
              video: Path | None = None) -> None:
        start = time.perf_counter()
        try:
            if not folder.is_dir():
                raise ProjectError(f"{folder}: not a folder")
            if relink is not None:
                relink_file(relink, folder)
            store = ProjectStore.open_folder(folder, skeleton, busy_timeout=GUI_BUSY_TIMEOUT_S)
            if video is not None:
                try:
                    store.add_video(video)
                except VideoError as exc:
                    store.close()
                    raise ProjectError(str(exc)) from exc
            records = store.images()
            for problem in store.check_videos():
                self.warned.emit(problem)
        except Exception as exc:  # noqa: BLE001 - whatever happens, the window must not stay "Opening …"
            if not isinstance(exc, ProjectError | OSError):
                log.exception("opening %s failed", folder)
            self.busy = False
            self.failed.emit(str(exc) if isinstance(exc, ProjectError) else f"{folder}: cannot open: {exc}")
            return
        ms = 1000 * (time.perf_counter() - start)
        log.info("opened %s: %d images in %.0f ms", folder, len(records), ms)
        self.busy = False
        self.opened.emit(store, records, _first_image(store, records))
