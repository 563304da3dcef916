"""The main window: wiring of canvas, image list, menus (from gui.actions), status bar and the session."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QToolBar

from gui.actions import MENUS, SELECT_KEYPOINT_KEYS, build_actions, spec
from gui.dialogs.export import ExportDialog
from gui.dialogs.new_project import NewProjectDialog
from gui.dialogs.settings import SettingsDialog
from gui.dialogs.shortcuts import ShortcutsDialog
from gui.inspector.controller import InspectorController
from gui.item_models.image_list import ImageListModel
from gui.keypoint_panel import KeypointPanel
from gui.panels import ImageListPanel, StatusPanel, ThresholdControl
from gui.project_open import ProjectOpener, has_project
from gui.session import Session
from gui.settings import AppSettings
from gui.training.dialog import TrainDialog
from gui.views.canvas import ImageCanvas
from gui.workers.inference import InferenceClient, ModelInfo
from gui.workers.thumbnails import ThumbnailLoader
from model.annotations.skeleton import Skeleton

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """One project at a time. `session` holds the state; this class connects it to the widgets."""

    def __init__(self, settings: AppSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.session = Session(parent=self)
        self.session.set_style(self.settings.style())
        self.inference = InferenceClient(lambda: self.session.store, parent=self)
        self.session.attach_inference(self.inference)
        self.thumbnails = ThumbnailLoader(parent=self)
        self.list_model = ImageListModel(self.thumbnails, self)
        self.opener = ProjectOpener(self)
        self.canvas = ImageCanvas()
        self.setCentralWidget(self.canvas)
        self.list_panel = ImageListPanel(self.list_model)
        dock = QDockWidget("Images", self, objectName="images_dock")
        dock.setWidget(self.list_panel)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.status = StatusPanel(self)
        self.setStatusBar(self.status)
        self.inspector = InspectorController(self)  # heatmap dock, overlay, uncertainty
        self.keypoint_panel = KeypointPanel(self.session, self.inspector.uncertainty_scores, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.keypoint_panel)
        self.actions_by_id = build_actions(self, self._handlers())
        self._build_menus()
        self._build_toolbar()
        self._connect()
        self._add_panel_toggles()
        self._pending_checkpoint: str | None = None
        self.export_window: ExportDialog | None = None
        self.error_box: QMessageBox | None = None
        self.train_window: TrainDialog | None = None
        self.update_title()
        self.resize(1400, 900)
        self._size_docks()

    def _size_docks(self) -> None:
        """Start with narrow side docks so the canvas gets most of the width."""
        docks = self.findChildren(QDockWidget)
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        widths = [250 if self.dockWidgetArea(d) == left else 380 for d in docks]
        self.resizeDocks(docks, widths, Qt.Orientation.Horizontal)

    # ---- construction ---------------------------------------------------------------------------
    def _handlers(self) -> dict:
        s = self.session
        return {
            "open_folder": self.choose_folder, "export_coco": self.export_dialog,
            "settings": self.settings_dialog, "quit": self.close,
            "undo": s.undo_stack.undo, "redo": s.undo_stack.redo,
            "cycle_visibility": s.cycle_visibility, "delete_keypoint": s.delete_keypoint,
            "accept_prediction": s.accept_prediction, "delete_instance": s.delete_instance,
            "mark_done": s.mark_done, "skip_image": s.skip_image,
            "next_image": lambda: s.step(1), "previous_image": lambda: s.step(-1),
            "next_review": s.next_needing_review, "next_instance": s.next_instance,
            "fit_view": self.canvas.fit,
            "load_checkpoint": self.choose_checkpoint, "predict_image": s.predict_current,
            "predict_all": s.predict_unlabelled, "cancel_prediction": s.cancel_batch,
            "train": self.train_dialog, "toggle_flip_test": s.toggle_flip_test,
            "shortcuts": self.shortcuts_dialog, **self.inspector.handlers(),
            "previous_keypoint": lambda: self.keypoint_panel.step(-1),
            "next_keypoint": lambda: self.keypoint_panel.step(1),
        }

    def _build_menus(self) -> None:
        menus = self.menus = {name: self.menuBar().addMenu("&" + name) for name in MENUS}
        for action_id, action in self.actions_by_id.items():
            menus[spec(action_id).menu].addAction(action)
            self.addAction(action)
        self.recent_menu = menus["File"].addMenu("Recent Folders")
        menus["File"].insertMenu(self.actions_by_id["export_coco"], self.recent_menu)
        self._fill_recent()
        for i, key in enumerate(SELECT_KEYPOINT_KEYS):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.activated.connect(lambda k=i: self.session.select_keypoint(k))

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main", self, objectName="main_toolbar")
        for action_id in ("open_folder", "predict_image", "predict_all", "accept_prediction", "mark_done"):
            bar.addAction(self.actions_by_id[action_id])
        bar.addSeparator()
        self.threshold = ThresholdControl(self.session.style.threshold)
        bar.addWidget(self.threshold)
        self.addToolBar(bar)

    def _add_panel_toggles(self) -> None:
        """View menu: one check item per dock and toolbar, so a closed panel comes back from the menu."""
        view = self.menus["View"]
        view.addSeparator()
        for widget in (*self.findChildren(QDockWidget), *self.findChildren(QToolBar)):
            toggle = widget.toggleViewAction()
            suffix = " Toolbar" if isinstance(widget, QToolBar) else ""
            toggle.setText(f"Show {widget.windowTitle()}{suffix}")
            view.addAction(toggle)

    def _connect(self) -> None:
        s, c = self.session, self.canvas
        c.view_box.clicked.connect(s.place_keypoint)
        c.view_box.box_drawn.connect(s.add_instance)
        c.layer.keypoint_pressed.connect(s.press_keypoint)
        c.layer.keypoint_dragged.connect(s.move_keypoint)
        c.layer.instance_clicked.connect(lambda i: s.select(i, None))
        s.image_changed.connect(self._on_image_changed)
        s.pixels_ready.connect(self._on_pixels)
        s.annotations_changed.connect(self.refresh_overlay)
        self.inference.worker.result.connect(lambda _r: self.keypoint_panel.refresh())
        s.record_changed.connect(self.list_model.update_record)
        s.progress_changed.connect(self._on_progress)
        s.message.connect(lambda text: self.status.showMessage(text, 6000))
        s.model_changed.connect(self._on_model)
        s.batch_progress.connect(self.status.show_progress)
        s.batch_finished.connect(lambda _cancelled: self.status.hide_progress())
        s.undo_stack.indexChanged.connect(lambda _i: self._update_undo_texts())
        self.status.cancel_clicked.connect(s.cancel_batch)
        self.list_panel.image_activated.connect(s.show_image)
        self.list_panel.filter_changed.connect(s.set_filter)
        self.threshold.changed.connect(self._on_threshold)
        self.opener.opened.connect(self._on_opened)
        self.opener.failed.connect(self._open_failed)

    # ---- project --------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open image folder")
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | Path, skeleton: Skeleton | None = None,
                    checkpoint: str | None = None) -> bool:
        """Open (or create, asking for the skeleton) the folder's project, off the GUI thread."""
        folder = Path(folder)
        if not folder.is_dir():
            self._open_failed(f"{folder}: not a folder")
            return False
        if skeleton is None and not has_project(folder):
            dialog = NewProjectDialog(folder, self)
            if dialog.exec() != NewProjectDialog.DialogCode.Accepted:
                return False
            skeleton = dialog.skeleton()
        self._pending_checkpoint = checkpoint
        self.status.showMessage(f"Opening {folder} …")
        self.opener.open(folder, skeleton)
        return True

    def _on_opened(self, store, records, first_image=None) -> None:
        self.thumbnails.clear()
        self.list_model.set_records(store.image_root, records)
        self.session.open_project(store, records, first_image)
        self.settings.add_recent_folder(store.image_root)
        self._fill_recent()
        checkpoint = self._pending_checkpoint or self.settings.checkpoint_for(store.path)
        if checkpoint and Path(checkpoint).is_file():
            self.session.load_checkpoint(checkpoint)
        self.status.showMessage(f"Opened {store.image_root} ({len(records)} images)", 6000)
        self.update_title()

    def _open_failed(self, text: str) -> None:
        """Status bar plus a message box that does not block (the event loop keeps running)."""
        log.warning(text)
        self.status.showMessage(text, 10000)
        if self.isVisible():
            self.error_box = QMessageBox(QMessageBox.Icon.Warning, "Cannot open", text, parent=self)
            self.error_box.open()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for folder in self.settings.recent_folders():
            action = QAction(folder, self.recent_menu)
            action.triggered.connect(lambda _c=False, f=folder: self.open_folder(f))
            self.recent_menu.addAction(action)
        self.recent_menu.setEnabled(bool(self.settings.recent_folders()))

    # ---- model ----------------------------------------------------------------------------------
    def choose_checkpoint(self) -> None:
        if self.session.store is None:
            self.status.showMessage("Open a folder first", 5000)
            return
        kinds = "Checkpoints (*.pt *.pth *.tar);;All files (*)"
        path, _ = QFileDialog.getOpenFileName(self, "Load checkpoint", "", kinds)
        if path:
            self.session.load_checkpoint(path)

    def _on_model(self, info: ModelInfo) -> None:
        self.status.set_model(info.name, info.device, info.precision)
        if self.session.store is not None:
            self.settings.set_checkpoint_for(self.session.store.path, info.path)

    # ---- views ----------------------------------------------------------------------------------
    def _on_image_changed(self, image_id: int) -> None:
        if self.session.pixels is None:
            self.canvas.set_image(None)
            self.canvas.layer.set_data(None, [], (None, None), self.session.style)
        self.list_panel.show_current(image_id)
        self._update_image_label()

    def _update_image_label(self) -> None:
        rec = self.session.current
        if rec is not None:
            where = f"{self.session.row + 1}/{len(self.session.records)}"
            self.status.image_label.setText(f"{rec.path} · {where} · {rec.status.value.replace('_', ' ')}")

    def _on_pixels(self, item) -> None:
        self.canvas.set_loaded(item)
        self.refresh_overlay()

    def refresh_overlay(self) -> None:
        s = self.session
        if s.pixels is None or s.skeleton is None:
            return
        s_index = s.selected_index
        self.canvas.layer.set_data(s.skeleton, s.instances, (s_index, s.selected_k), s.style)

    def _on_progress(self, _done: int, _total: int) -> None:
        self.list_panel.set_counts(self.session.counts())
        self.update_title()
        self._update_image_label()

    def _on_threshold(self, value: float) -> None:
        style = replace(self.session.style, threshold=value)
        self.session.set_style(style)
        self.settings.set_style(style)

    def _update_undo_texts(self) -> None:
        stack = self.session.undo_stack
        self.actions_by_id["undo"].setText(f"&Undo {stack.undoText()}".rstrip())
        self.actions_by_id["redo"].setText(f"&Redo {stack.redoText()}".rstrip())

    def update_title(self) -> None:
        store = self.session.store
        if store is None:
            self.setWindowTitle("hglabel")
            return
        done, total = self.session.progress()
        self.setWindowTitle(f"hglabel — {store.image_root.name} — {done} / {total} done")

    # ---- dialogs --------------------------------------------------------------------------------
    def export_dialog(self) -> ExportDialog | None:
        store = self.session.store
        if store is None:
            self.status.showMessage("Open a folder first", 5000)
            return None
        dialog = ExportDialog(store, store.path.parent / "annotations.coco.json", self)
        dialog.exported.connect(
            lambda r: self.status.showMessage(f"Exported {r.images} images to {r.path}", 8000))
        dialog.show()
        self.export_window = dialog
        return dialog

    def train_dialog(self) -> TrainDialog | None:
        """Model → Train (one dialog per window; closing it hides it and a run goes on)."""
        if self.session.store is None:
            self.status.showMessage("Open a folder first", 5000)
            return None
        if self.train_window is None:
            self.train_window = TrainDialog(self.session, self)
        self.train_window.show()
        self.train_window.raise_()
        self.train_window.activateWindow()
        return self.train_window

    def settings_dialog(self) -> SettingsDialog:
        dialog = SettingsDialog(self.session.style, self)
        dialog.accepted.connect(lambda: self.apply_style(dialog.style()))
        dialog.show()
        return dialog

    def apply_style(self, style) -> None:
        self.session.set_style(style)
        self.settings.set_style(style)
        self.threshold.set_value(style.threshold)

    def shortcuts_dialog(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self)
        dialog.show()
        return dialog

    # ---- shutdown -------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        if self.train_window is not None:
            self.train_window.shutdown()  # a run stops after writing last.pt
        self.session.close_project()
        self.inference.shutdown()
        self.thumbnails.shutdown()
        self.session.loader.shutdown()
        self.settings.sync()
        super().closeEvent(event)
