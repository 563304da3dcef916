"""Where the window puts and looks for a project's files by default: visible folders beside the images
(`<image folder>/hglabel-exports/`, `hglabel-models/`), or what the user chose last for this project."""

from __future__ import annotations

import os
from pathlib import Path

EXPORTS_DIR = "hglabel-exports"
MODELS_DIR = "hglabel-models"
EXPORT_NAME = "annotations.coco.json"
LEGACY_MODELS = "models"  # runs the Train dialog wrote beside the project file


def default_export_path(store, settings) -> Path:
    """The last export file of this project, else <image folder>/hglabel-exports/annotations.coco.json."""
    remembered = settings.path_for("exports", store.path)
    return Path(remembered) if remembered else store.image_root / EXPORTS_DIR / EXPORT_NAME


def models_root(store) -> Path:
    """Where new models of this project belong: <image folder>/hglabel-models (visible, beside the images)."""
    return store.image_root / MODELS_DIR


def runs_root(store) -> Path:
    """Where the Train dialog and Assist write new runs: the visible <image folder>/hglabel-models, or
    the project file's models/ when the image folder cannot be written (read-only media)."""
    if os.access(store.image_root, os.W_OK):
        return models_root(store)
    return store.path.parent / LEGACY_MODELS


def models_dir(store, settings) -> Path:
    """Where Load Checkpoint starts: the folder of the last checkpoint loaded for this project, else
    <image folder>/hglabel-models, else the project file's models/ (older Train runs), else the images."""
    remembered = settings.checkpoint_for(store.path)
    if remembered and Path(remembered).parent.is_dir():
        return Path(remembered).parent
    for candidate in (models_root(store), store.path.parent / LEGACY_MODELS):
        if candidate.is_dir():
            return candidate
    return store.image_root
