"""Skeleton editor on the real window: a labelled project's skeleton changed by clicks and typing,
the confirmation says what it does, the migration is one undo step; creation with typed names."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit, QMessageBox

from model.project.coco_bridge import import_coco
from tests.gui.helpers import activate, key, open_folder


@pytest.fixture
def labelled_folder(tmp_path: Path, openfield: Path) -> Path:
    images = tmp_path / "images"
    shutil.copytree(openfield / "images", images)
    import_coco(openfield / "annotations.json", images)
    return images


def _all(store) -> dict:
    return {i.instance_id: i for r in store.images() for i in store.instances(r.id)}


def _row_of(editor, name: str) -> int:
    return editor.draft.names.index(name)


def _click(qtbot, editor, name: str) -> None:
    qtbot.mouseClick(editor.findChild(type(editor.buttons.button(QDialogButtonBox.StandardButton.Ok)), name),
                     Qt.MouseButton.LeftButton)


def _select_row(qtbot, editor, row: int) -> None:
    table = editor.table
    rect = table.visualRect(table.model().index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _type_name(qtbot, editor, row: int, text: str) -> None:
    table = editor.table
    activate(qtbot, editor)
    rect = table.visualRect(table.model().index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    table.editItem(table.item(row, 0))
    fields = [w for w in table.viewport().findChildren(QLineEdit) if w.parent() is table.viewport()]
    assert len(fields) == 1
    field = fields[0]
    field.selectAll()
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: editor.draft.names[row] == text)
    assert editor.isVisible()  # Enter committed the name and did not close the dialog


def test_change_after_labelling_is_announced_migrated_and_one_undo_step(qtbot, window, labelled_folder):
    open_folder(qtbot, window, labelled_folder)
    s = window.session
    before, old = _all(s.store), s.store.skeleton
    key(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    editor = window.skeleton_flow.editor
    qtbot.waitUntil(editor.isVisible)
    qtbot.keyClicks(editor.new_name, "tail_tip")
    _select_row(qtbot, editor, _row_of(editor, "tailbase"))
    _click(qtbot, editor, "add_keypoint")  # added after the selected row
    _select_row(qtbot, editor, _row_of(editor, "rightear"))
    _click(qtbot, editor, "remove_keypoint")
    _type_name(qtbot, editor, 0, "nose")
    assert editor.draft.names == ["nose", "leftear", "tailbase", "tail_tip"]
    assert "adds 'tail_tip' as not labelled to 12 instances" in editor.effects.text()
    assert s.store.skeleton == old  # nothing happens before OK
    qtbot.mouseClick(editor.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    box = window.skeleton_flow.confirm
    qtbot.waitUntil(lambda: box is not None and box.isVisible())
    assert "adds 'tail_tip' as not labelled to 12 instances" in box.text()
    assert "removes 'rightear' from 12 instances" in box.text()
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Apply), Qt.MouseButton.LeftButton)
    assert s.store.skeleton.keypoints == ("nose", "leftear", "tailbase", "tail_tip")
    assert all(i.keypoints.num_keypoints == 4 and i.keypoints.vis[3] == 0 for i in _all(s.store).values())
    assert window.keypoint_panel.model.index(3, 0).data() == "4  tail_tip"
    assert s.undo_stack.count() == 1
    activate(qtbot, window)
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert s.store.skeleton == old and _all(s.store) == before
    assert window.keypoint_panel.model.index(2, 0).data() == "3  rightear"
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert s.store.skeleton.keypoints[3] == "tail_tip"


def test_new_project_with_typed_names(qtbot, tmp_path: Path, image_folder: Path) -> None:
    from gui.dialogs.new_project import NewProjectDialog

    dialog = NewProjectDialog(image_folder)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(dialog.edit_button, Qt.MouseButton.LeftButton)
    editor = dialog.editor
    qtbot.waitUntil(editor.isVisible)
    editor.source.setCurrentIndex(editor.source.findData("blank"))
    _click(qtbot, editor, "load_skeleton")
    for name in ("snout", "left_paw", "right_paw"):
        qtbot.keyClicks(editor.new_name, name)
        _click(qtbot, editor, "add_keypoint")
    _select_row(qtbot, editor, 0)
    _click(qtbot, editor, "remove_keypoint")  # the blank start's placeholder
    flip = editor.table.cellWidget(_row_of(editor, "left_paw"), 3)
    flip.setCurrentText("right_paw")
    flip.textActivated.emit("right_paw")
    editor.edge_a.setCurrentText("snout")
    editor.edge_b.setCurrentText("left_paw")
    _click(qtbot, editor, "add_edge")
    qtbot.mouseClick(editor.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    sk = dialog.skeleton()
    assert sk.keypoints == ("snout", "left_paw", "right_paw")
    assert sk.flip_pairs == ((1, 2),) and sk.edges == ((0, 1),)
    assert dialog.combo.currentText().startswith("Edited: custom (3 keypoints)")


def test_a_model_that_no_longer_fits_is_not_used_until_undo(qtbot, predicted) -> None:
    win = predicted
    s = win.session
    messages = []
    s.message.connect(messages.append)
    key(win, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    editor = win.skeleton_flow.editor
    qtbot.waitUntil(editor.isVisible)
    qtbot.keyClicks(editor.new_name, "tail_tip")
    _click(qtbot, editor, "add_keypoint")
    qtbot.mouseClick(editor.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    box = win.skeleton_flow.confirm
    qtbot.waitUntil(lambda: box is not None and box.isVisible())
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Apply), Qt.MouseButton.LeftButton)
    assert s.skeleton.num_keypoints == 5 and any("load or train a matching model" in m for m in messages)
    activate(qtbot, win)
    before = s.store.instances(s.current.id)
    key(win, Qt.Key.Key_P)
    assert "load or train a matching model" in messages[-1]
    s.select(0, 4)
    key(win, Qt.Key.Key_Tab)  # no heatmaps of the old model are used for the new keypoint
    qtbot.wait(300)
    assert s.store.instances(s.current.id) == before
    key(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert s.skeleton.num_keypoints == 4 and s.predictions.fits()
    key(win, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: any(m == "Prediction done" or m.startswith("Prediction") for m in messages[-3:]),
                    timeout=30000)


def test_presets_and_coco_files_still_load_keeping_labels_by_name(qtbot, openfield, monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    from gui.dialogs.skeleton_editor import SkeletonEditor
    from tests.gui.helpers import openfield_skeleton

    start = openfield_skeleton(openfield)
    editor = SkeletonEditor(start, (12, np.full(4, 12)))
    qtbot.addWidget(editor)
    editor.show()
    editor.source.setCurrentIndex(editor.source.findData("coco17"))
    _click(qtbot, editor, "load_skeleton")
    assert editor.draft.names[0] == "nose" and len(editor.draft.names) == 17
    assert "removes 'snout' from 12 instances (12 labelled values dropped)" in editor.effects.text()
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *a, **k: (str(openfield / "annotations.json"), "JSON (*.json)"))
    editor.source.setCurrentIndex(editor.source.findData("file"))
    _click(qtbot, editor, "load_skeleton")  # the COCO category: the same names map back onto the labels
    change = editor.change()
    assert change.new.keypoints == start.keypoints and not change.moves_keypoints
