"""The inspector in the real window: predict, dock clicks, overlay, peak path, Tab through maxima, swap,
heatmaps recomputed on a cache miss without writing, uncertainty order of images."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from model.annotations.types import Prediction
from model.inspect.heatmap_cache import CacheKey
from model.inspect.uncertainty import uncertainty_order
from tests.gui.helpers import key

H2I = np.array([[5.0, 0.0, 202.0], [0.0, 5.0, 152.0]])  # 16×16 heatmap over image (200…280, 150…230)
MAXIMA = {0: [(3, 3)], 1: [(4, 10), (12, 5), (8, 13)], 2: [(10, 4)], 3: [(8, 8)]}  # keypoint → cells (u, v)
VALUES = (0.9, 0.6, 0.3)


def constructed_prediction(stacks: int = 2) -> Prediction:
    """Final stack: keypoint k has hot cells MAXIMA[k] with VALUES; earlier stacks drift by 2 cells."""
    hm = np.zeros((stacks, 4, 16, 16), np.float32)
    uv = np.zeros((stacks, 4, 2))
    for k, cells in MAXIMA.items():
        for s in range(stacks):
            shift = 2 * (stacks - 1 - s)
            for (u, v), value in zip(cells, VALUES, strict=False):
                hm[s, k, v, min(u + shift, 15)] = value
            uv[s, k] = (min(cells[0][0] + shift, 15), cells[0][1])
    xy = uv @ H2I[:, :2].T + H2I[:, 2]
    return Prediction(keypoints=xy[-1], confidence=hm[-1].reshape(4, -1).max(1), stack_heatmaps=hm,
                      stack_keypoints=xy, heatmap_to_image=H2I, box=(200.0, 150.0, 80.0, 80.0))


def cell_xy(u: float, v: float) -> np.ndarray:
    return H2I[:, :2] @ (u, v) + H2I[:, 2]


def use_constructed(window) -> Prediction:
    """Put a constructed prediction in the cache for the current instance and show it."""
    s, insp = window.session, window.inspector
    pred = constructed_prediction()
    s.select(0, 0)
    insp.queue.cache.put(CacheKey(s.current.id, s.instances[0].instance_id, insp.model_id()), pred)
    insp.refresh()
    assert insp.shown is pred
    return pred


def stored_xy(window, k: int) -> np.ndarray:
    s = window.session
    return s.store.instances(s.current.id)[0].keypoints.xy[k]


def test_network_result_reaches_dock_scores_and_list(predicted):
    insp, s = predicted.inspector, predicted.session
    shown = insp.shown
    assert shown.stack_heatmaps.shape[:2] == (2, 4)  # the tiny model: 2 stacks, 4 keypoints
    assert insp.dock.grid.cells == [(0, insp.dock.keypoint), (1, insp.dock.keypoint)]
    assert s.current.id in insp.scores
    QTest.qWait(300)  # scores reach the list after a short debounce
    proxy = insp.list_proxy
    score = insp.scores[s.current.id].worst_score
    assert proxy.score(s.current.id) == pytest.approx(score)
    assert f"{score:.2f}" in proxy.index(0, 0).data()


def test_dock_clicks_overlay_and_peak_path(qtbot, predicted):
    win = predicted
    insp, dock, s = win.inspector, win.inspector.dock, win.session
    pred = use_constructed(win)
    dock.set_mode("keypoints")
    x0, y0 = dock.grid._origin(1)  # cell 2 of the keypoints grid: stack 2, leftear
    where = dock.grid.mapFromScene(dock.grid.view.mapViewToScene(QPointF(x0 + 8, y0 + 8)))
    QTest.mouseClick(dock.grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)
    assert s.selected_k == 1 and dock.keypoint == 1
    qtbot.mouseClick(dock.overlay_check, Qt.MouseButton.LeftButton)
    assert dock.overlay_enabled and insp.overlay.isVisible()
    np.testing.assert_array_equal(insp.overlay.image, pred.stack_heatmaps[1, 1])
    dock.stack_spin.setValue(1)  # stack 1
    np.testing.assert_array_equal(insp.overlay.image, pred.stack_heatmaps[0, 1])
    dock.source_combo.setCurrentIndex(dock.source_combo.findData("max"))
    np.testing.assert_array_equal(insp.overlay.image, pred.stack_heatmaps[0].max(axis=0))
    dock.opacity_slider.setValue(25)
    assert insp.overlay.opacity() == pytest.approx(0.25)
    assert insp.path.points.tolist() == pred.stack_keypoints[:, 1].tolist()
    key(win, Qt.Key.Key_H)  # overlay off again
    assert not insp.overlay.isVisible()


def test_tab_walks_the_maxima_and_swap_fixes_left_right(qtbot, predicted):
    win = predicted
    s = win.session
    use_constructed(win)
    s.select(0, 1)
    start = stored_xy(win, 1).copy()
    key(win, Qt.Key.Key_Tab)  # not on a maximum yet → the best one (the decoded point)
    assert stored_xy(win, 1) == pytest.approx(cell_xy(4, 10))
    key(win, Qt.Key.Key_Tab)
    assert stored_xy(win, 1) == pytest.approx(cell_xy(12, 5))
    key(win, Qt.Key.Key_Tab)
    assert stored_xy(win, 1) == pytest.approx(cell_xy(8, 13))
    key(win, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert stored_xy(win, 1) == pytest.approx(cell_xy(12, 5))
    inst = s.store.instances(s.current.id)[0]
    assert not inst.keypoints.human[1] and s.selected_k == 1  # Tab never confirms by itself
    for _ in range(4):
        s.undo_stack.undo()
    assert stored_xy(win, 1) == pytest.approx(start)

    before = s.store.instances(s.current.id)[0].keypoints
    key(win, Qt.Key.Key_S)  # swap leftear ↔ rightear
    after = s.store.instances(s.current.id)[0].keypoints
    assert after.xy[1] == pytest.approx(before.xy[2]) and after.xy[2] == pytest.approx(before.xy[1])
    s.undo_stack.undo()
    assert s.store.instances(s.current.id)[0].keypoints == before
    s.select(0, 0)
    assert not win.session.editor.swap_flip()  # the snout has no partner


def test_uncertain_keypoints_are_marked_on_the_canvas(predicted):
    win = predicted
    pred = use_constructed(win)
    marks = win.inspector.marks.positions
    # every keypoint of the constructed prediction drifts 2 cells (10 px) between stacks: RMS 5 px > 4 px
    inst = win.session.instances[0]
    assert marks.tolist() == inst.keypoints.xy.tolist()
    assert pred.stack_disagreement == pytest.approx([5.0] * 4)


def test_heatmaps_recomputed_on_a_miss_without_writing(qtbot, predicted):
    win = predicted
    s, insp = win.session, win.inspector
    s.step(1)
    qtbot.waitUntil(lambda: s.pixels is not None and s.current.id != 1, timeout=15000)
    assert s.editor.add_instance(100, 100, 200, 150)
    steps = s.undo_stack.count()
    qtbot.waitUntil(lambda: insp.shown is not None, timeout=30000)
    assert insp.pending is None
    inst = s.store.instances(s.current.id)[0]
    assert inst.keypoints.num_labelled == 0 and s.undo_stack.count() == steps  # nothing written
    key_ = CacheKey(s.current.id, inst.instance_id, insp.model_id())
    assert key_ in insp.queue.cache
    insp.queue.cache.clear()  # evicted → asked again
    insp.shown = None
    insp.refresh()
    assert insp.pending is not None
    qtbot.waitUntil(lambda: key_ in insp.queue.cache and insp.shown is not None, timeout=30000)


def test_next_uncertain_follows_the_uncertainty_order(qtbot, predicted):
    win = predicted
    s, insp = win.session, win.inspector
    key(win, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)  # predict all unlabelled
    qtbot.waitUntil(lambda: len(insp.scores) == 5 and s.predictions.batch_request is None, timeout=60000)
    order = uncertainty_order({i: u.worst_score for i, u in insp.scores.items()})
    s.show_image(order[0])
    visited = [s.current.id]
    while win.inspector.next_uncertain():
        visited.append(s.current.id)
    assert visited == order
    qtbot.mouseClick(insp.dock.sort_check, Qt.MouseButton.LeftButton)
    QTest.qWait(300)
    proxy = insp.list_proxy
    listed = [proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 1) for r in range(proxy.rowCount())]
    assert listed == order


def listed_ids(proxy) -> list[int]:
    return [proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 1) for r in range(proxy.rowCount())]


def test_uncertainty_order_survives_reopening_the_project(qtbot, window, image_folder, of_skeleton,
                                                          tmp_path, demo_eval, tiny_checkpoint):
    from gui.main_window import MainWindow
    from gui.settings import AppSettings
    from tests.gui.helpers import open_folder

    win = window
    s, insp = win.session, win.inspector
    open_folder(qtbot, win, image_folder, of_skeleton)
    s.predictions.load_checkpoint(str(demo_eval / "checkpoint.pt"))  # trained: scores differ
    qtbot.waitUntil(lambda: s.predictions.model_info is not None, timeout=30000)
    key(win, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: len(insp.scores) == 5 and s.predictions.batch_request is None, timeout=60000)
    worst = {i: u.worst_score for i, u in insp.scores.items()}
    order = uncertainty_order(worst)
    assert len(set(worst.values())) > 1  # an order that a lost score would change
    win.close()

    again = MainWindow(AppSettings(tmp_path / "settings2.ini"))
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    open_folder(qtbot, again, image_folder)
    s2, insp2 = again.session, again.inspector
    assert insp2.scores == {} and insp2.worst == pytest.approx(worst)  # nothing predicted yet
    s2.predictions.load_checkpoint(str(tiny_checkpoint))  # a model loading keeps the stored scores
    qtbot.waitUntil(lambda: s2.predictions.model_info is not None, timeout=30000)
    assert insp2.worst == pytest.approx(worst)
    qtbot.mouseClick(insp2.dock.sort_check, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: listed_ids(insp2.list_proxy) == order, timeout=3000)
    s2.show_image(order[0])
    visited = [s2.current.id]
    for _ in order[1:]:
        key(again, Qt.Key.Key_U)
        visited.append(s2.current.id)
    assert visited == order
    again.close()


def test_arriving_scores_are_written_together_not_one_commit_per_result(qtbot, window, image_folder,
                                                                        of_skeleton, demo_eval):
    from gui.inspector.controller import SAVE_SCORES_MS
    from tests.gui.helpers import open_folder

    s, insp = window.session, window.inspector
    open_folder(qtbot, window, image_folder, of_skeleton)
    results = []
    s.predictions.result_arrived.connect(results.append)
    s.predictions.load_checkpoint(str(demo_eval / "checkpoint.pt"))
    qtbot.waitUntil(lambda: s.predictions.model_info is not None, timeout=30000)
    key(window, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: len(insp.scores) == 5 and s.predictions.batch_request is None, timeout=60000)
    qtbot.waitUntil(lambda: s.store.uncertainties() == pytest.approx(insp.worst), timeout=SAVE_SCORES_MS * 3)
    writes: list[dict] = []
    store_write = s.store.set_uncertainty
    s.store.set_uncertainty = lambda scores: (writes.append(dict(scores)), store_write(scores))[1]
    for result in results[-5:]:  # five results arriving back to back
        s.predictions.result_arrived.emit(result)
    assert writes == []  # nothing committed on the GUI thread per result …
    qtbot.waitUntil(lambda: bool(writes), timeout=SAVE_SCORES_MS * 3)
    assert len(writes) == 1 and len(writes[0]) == len({r.image_id for r in results[-5:]})  # … one transaction


def test_the_start_up_heap_is_out_of_garbage_collection_once_a_window_exists(window):
    import gc

    assert gc.get_freeze_count() > 10_000  # modules, classes, Qt wrappers: not scanned by a full collection
    assert len(gc.get_objects()) < gc.get_freeze_count()
