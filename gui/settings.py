"""User settings kept between runs (QSettings): overlay style, recent folders, checkpoint per project."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, fields
from pathlib import Path

from PySide6.QtCore import QSettings

from gui.views.style import OverlayStyle
from model.annotations.review import ReviewPolicy

MAX_RECENT = 10


class AppSettings:
    """Typed access to a QSettings store; `path` selects an ini file (tests), else the user's default."""

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            self._qs = QSettings("hglabel", "hglabel")
        else:
            self._qs = QSettings(str(path), QSettings.Format.IniFormat)

    def sync(self) -> None:
        self._qs.sync()

    # ---- overlay style -------------------------------------------------------------------------
    def style(self) -> OverlayStyle:
        default = OverlayStyle()
        values = {}
        for f in fields(OverlayStyle):
            raw = self._qs.value(f"style/{f.name}")
            if raw is None:
                continue
            try:
                values[f.name] = _parse(raw, getattr(default, f.name))
            except (TypeError, ValueError):
                continue
        return OverlayStyle(**values)

    def set_style(self, style: OverlayStyle) -> None:
        for name, value in asdict(style).items():
            text = ",".join(map(str, value)) if isinstance(value, tuple) else value
            self._qs.setValue(f"style/{name}", text)
        self._qs.sync()

    # ---- review policy -------------------------------------------------------------------------
    def review(self) -> ReviewPolicy:
        """The review threshold (also read from the older "style/threshold" key)."""
        raw = self._qs.value("review/threshold", self._qs.value("style/threshold"))
        try:
            value = float(raw)
        except (TypeError, ValueError):
            return ReviewPolicy()
        return ReviewPolicy(value) if 0.0 <= value <= 1.0 else ReviewPolicy()

    def set_review(self, review: ReviewPolicy) -> None:
        self._qs.setValue("review/threshold", review.threshold)
        self._qs.sync()

    # ---- view -----------------------------------------------------------------------------------
    def keep_zoom(self) -> bool:
        """Keep the zoom between images of the same size (default on)."""
        return str(self._qs.value("view/keep_zoom", "true")).lower() in ("1", "true", "yes")

    def set_keep_zoom(self, on: bool) -> None:
        self._qs.setValue("view/keep_zoom", "true" if on else "false")
        self._qs.sync()

    # ---- shortcuts (only the user's changes are stored) ----------------------------------------
    def shortcut_overrides(self) -> dict[str, tuple[str, ...]]:
        self._qs.beginGroup("shortcuts")
        try:
            raw = {k: self._qs.value(k) for k in self._qs.childKeys()}
        finally:
            self._qs.endGroup()
        return {k: tuple(p for p in str(v or "").split("|") if p) for k, v in raw.items()}

    def set_shortcut_overrides(self, overrides: dict[str, tuple[str, ...]]) -> None:
        self._qs.remove("shortcuts")
        for action_id, keys in overrides.items():
            self._qs.setValue(f"shortcuts/{action_id}", "|".join(keys))
        self._qs.sync()

    # ---- recent folders ------------------------------------------------------------------------
    def recent_folders(self) -> list[str]:
        raw = self._qs.value("recent/folders") or []
        items = [raw] if isinstance(raw, str) else list(raw)
        return [str(p) for p in items if p][:MAX_RECENT]

    def add_recent_folder(self, folder: str | Path) -> None:
        folder = str(Path(folder).resolve())
        items = [folder] + [p for p in self.recent_folders() if p != folder]
        self._qs.setValue("recent/folders", items[:MAX_RECENT])
        self._qs.sync()

    # ---- per-project checkpoint ----------------------------------------------------------------
    def checkpoint_for(self, project_path: str | Path) -> str | None:
        value = self._qs.value(f"checkpoints/{_key(project_path)}")
        return str(value) if value else None

    def set_checkpoint_for(self, project_path: str | Path, checkpoint: str | Path) -> None:
        self._qs.setValue(f"checkpoints/{_key(project_path)}", str(Path(checkpoint).resolve()))
        self._qs.sync()

    # ---- per-project paths (e.g. "exports": the last export file) ------------------------------
    def path_for(self, kind: str, project_path: str | Path) -> str | None:
        value = self._qs.value(f"{kind}/{_key(project_path)}")
        return str(value) if value else None

    def set_path_for(self, kind: str, project_path: str | Path, path: str | Path) -> None:
        self._qs.setValue(f"{kind}/{_key(project_path)}", str(Path(path).resolve()))
        self._qs.sync()


def _key(project_path: str | Path) -> str:
    return hashlib.sha1(str(Path(project_path).resolve()).encode("utf-8")).hexdigest()[:16]


def _parse(raw, default):
    """A QSettings value (ini files give strings) converted to the type of default."""
    if isinstance(default, tuple):
        parts = raw.split(",") if isinstance(raw, str) else list(raw)
        values = tuple(int(p) for p in parts)
        if len(values) != len(default) or any(not 0 <= v <= 255 for v in values):
            raise ValueError(f"bad colour {raw!r}")
        return values
    if isinstance(default, bool):
        return str(raw).lower() in ("1", "true", "yes")
    return type(default)(raw)
