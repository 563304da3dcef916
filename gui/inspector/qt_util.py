"""Small Qt adapters for the inspector: affines as QTransform, colour tables with alpha."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QTransform

from model.inspect.render import colormap_lut


def qtransform(matrix: np.ndarray) -> QTransform:
    """(3, 3) column-vector matrix (scene = M @ [x, y, 1]) → QTransform (Qt uses row vectors)."""
    m = np.asarray(matrix, np.float64)
    if m.shape != (3, 3):
        raise ValueError(f"matrix must have shape (3, 3), got {m.shape}")
    return QTransform(m[0, 0], m[1, 0], m[2, 0], m[0, 1], m[1, 1], m[2, 1], m[0, 2], m[1, 2], m[2, 2])


def rgba_ramp_lut(name: str) -> np.ndarray:
    """(256, 4) uint8 colour table whose alpha rises with the value (0 → transparent), for overlays."""
    lut = np.empty((256, 4), np.uint8)
    lut[:, :3] = colormap_lut(name)
    lut[:, 3] = np.clip(np.sqrt(np.linspace(0.0, 1.0, 256)) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return lut
