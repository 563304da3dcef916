"""The video timeline under the canvas: a strip colouring every frame, a slider, a frame read-out and
play/pause. Pure view: it emits `frame_requested(k)` and is told what to show (`set_frames`,
`set_states`, `set_current`)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QToolButton, QVBoxLayout, QWidget

# frame state codes → colours of the strip (RGB)
UNLABELLED, PREDICTED, IN_REVIEW, DONE, SKIPPED, MISSING = range(6)
STATE_COLOURS = np.array([(70, 70, 70), (60, 120, 220), (230, 160, 40), (60, 190, 90), (120, 120, 120),
                          (150, 30, 30)], np.uint8)
UNCERTAIN_COLOUR = (235, 50, 50)
PICKED_COLOUR = (250, 230, 60)


class FrameStrip(QWidget):
    """One column per frame (resampled to the widget width): the state colour, a red mark on top for
    uncertain frames, a yellow mark below for picked frames. Clicking or dragging requests a frame."""

    frame_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(18)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.states = np.zeros(0, np.uint8)
        self.uncertain = np.zeros(0, bool)
        self.picked = np.zeros(0, bool)
        self.current = -1
        self._pixmap: QPixmap | None = None

    def set_data(self, states: np.ndarray, uncertain: np.ndarray, picked: np.ndarray) -> None:
        """(N,) uint8 state codes, (N,) bool uncertain, (N,) bool picked."""
        self.states, self.uncertain, self.picked = states, uncertain, picked
        self._pixmap = None
        self.update()

    def _render(self, width: int, height: int) -> QPixmap:
        n = len(self.states)
        cols = np.minimum((np.arange(width) * n) // max(width, 1), max(n - 1, 0))
        rgb = np.zeros((height, width, 3), np.uint8)
        if n:
            rgb[:, :] = STATE_COLOURS[self.states[cols]][None]
            mark = max(3, height // 4)
            rgb[:mark, self.uncertain[cols]] = UNCERTAIN_COLOUR
            rgb[height - mark:, self.picked[cols]] = PICKED_COLOUR
        image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
        return QPixmap.fromImage(image.copy())

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        if self._pixmap is None or self._pixmap.width() != self.width():
            self._pixmap = self._render(max(1, self.width()), max(1, self.height()))
        painter.drawPixmap(0, 0, self._pixmap)
        n = len(self.states)
        if n and self.current >= 0:
            x = int((self.current + 0.5) * self.width() / n)
            painter.fillRect(QRect(x - 1, 0, 2, self.height()), QColor(255, 255, 255))
        painter.end()

    def _frame_at(self, x: float) -> int:
        n = len(self.states)
        return int(min(max(x / max(self.width(), 1) * n, 0), n - 1))

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if len(self.states):
            self.frame_requested.emit(self._frame_at(event.position().x()))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if len(self.states) and event.buttons() & Qt.MouseButton.LeftButton:
            self.frame_requested.emit(self._frame_at(event.position().x()))


class Timeline(QWidget):
    """Strip + slider + "frame k / N · t s" + play button for one video."""

    frame_requested = Signal(int)
    play_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strip = FrameStrip(self)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the window's actions
        self.play_button = QToolButton(self)
        self.play_button.setText("▶")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play / pause at the video's frame rate (K)")
        self.label = QLabel(self)
        self.label.setMinimumWidth(190)
        row = QHBoxLayout()
        row.addWidget(self.play_button)
        row.addWidget(self.slider, 1)
        row.addWidget(self.label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(2)
        layout.addWidget(self.strip)
        layout.addLayout(row)
        self.fps = 0.0
        self.name = ""
        self.slider.valueChanged.connect(self._slid)
        self.strip.frame_requested.connect(self.frame_requested)
        self.play_button.toggled.connect(self._play_toggled)
        self._quiet = False

    def set_video(self, name: str, count: int, fps: float) -> None:
        self.name, self.fps = name, fps
        self._quiet = True
        self.slider.setRange(0, max(0, count - 1))
        self._quiet = False

    def set_states(self, states: np.ndarray, uncertain: np.ndarray, picked: np.ndarray) -> None:
        self.strip.set_data(states, uncertain, picked)

    def set_current(self, index: int) -> None:
        self._quiet = True
        self.slider.setValue(index)
        self._quiet = False
        self.strip.current = index
        self.strip.update()
        seconds = index / self.fps if self.fps else 0.0
        self.label.setText(f"{self.name}  frame {index} / {self.slider.maximum()}  ·  {seconds:.2f} s")

    def set_playing(self, playing: bool) -> None:
        self.play_button.blockSignals(True)
        self.play_button.setChecked(playing)
        self.play_button.setText("⏸" if playing else "▶")
        self.play_button.blockSignals(False)

    def _slid(self, value: int) -> None:
        if not self._quiet:
            self.frame_requested.emit(int(value))

    def _play_toggled(self, on: bool) -> None:
        self.play_button.setText("⏸" if on else "▶")
        self.play_toggled.emit(on)
