"""Skeleton changes on a labelled project: the plan's wording, the migration, exact undo, the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.annotations.skeleton import SkeletonError
from model.annotations.skeleton_draft import SkeletonDraft
from model.project.coco_bridge import import_coco
from model.project.skeleton_change import apply_change, plan, undo_change
from model.project.store import ProjectStore


@pytest.fixture
def labelled(tmp_path: Path, openfield: Path) -> Path:
    """A project with the 12 labelled openfield frames (4 keypoints: snout, leftear, rightear, tailbase)."""
    images = tmp_path / "images"
    shutil.copytree(openfield / "images", images)
    import_coco(openfield / "annotations.json", images)
    return images


def _all(store: ProjectStore) -> dict[int, tuple]:
    return {i.instance_id: i for r in store.images() for i in store.instances(r.id)}


def test_draft_builds_the_map_and_keeps_pairs() -> None:
    from model.annotations.presets import load_preset
    draft = SkeletonDraft(load_preset("coco17"))
    draft.remove("nose")
    draft.rename("left_eye", "l_eye")
    draft.add("tail", 0)
    new, old_of_new = draft.build()
    assert new.keypoints[:3] == ("tail", "l_eye", "right_eye")
    assert old_of_new[:3] == [None, 1, 2]
    assert (1, 2) in new.flip_pairs  # l_eye ↔ right_eye survives the rename and the shift
    with pytest.raises(SkeletonError, match="already"):
        draft.add("tail")
    with pytest.raises(SkeletonError, match="no keypoint named 'nose'"):
        draft.rename("nose", "x")


def test_add_says_what_it_does_migrates_and_undoes_exactly(labelled: Path) -> None:
    with ProjectStore.open_folder(labelled) as store:
        before = _all(store)
        draft = SkeletonDraft(store.skeleton)
        draft.add("tail_tip")
        draft.remove("rightear")
        draft.rename("snout", "nose")
        change, lines = plan(store, *draft.build())
        n = len(before)
        assert f"adds 'tail_tip' as not labelled to {n} instances" in lines
        assert any(line.startswith(f"removes 'rightear' from {n} instances") for line in lines)
        assert "renames 'snout' to 'nose' (values kept)" in lines
        snapshot = apply_change(store, change)
        assert store.skeleton.keypoints == ("nose", "leftear", "tailbase", "tail_tip")
        after = _all(store)
        for iid, old in before.items():
            kp = after[iid].keypoints
            assert kp.num_keypoints == 4 and kp.vis[3] == 0
            np.testing.assert_array_equal(kp.xy[:3], old.keypoints.xy[[0, 1, 3]])
        undo_change(store, change, snapshot)
        assert store.skeleton == change.old
        assert _all(store) == before  # the removed ear's labels came back too
    with ProjectStore.open_folder(labelled) as again:  # and it is in the file
        assert again.skeleton == change.old and _all(again) == before


def test_reorder_only_is_not_reported_as_edge_change(labelled: Path) -> None:
    with ProjectStore.open_folder(labelled) as store:
        draft = SkeletonDraft(store.skeleton)
        draft.move("tailbase", 0)
        _change, lines = plan(store, *draft.build())
        assert len(lines) == 1 and lines[0].startswith("reorders the keypoints of 12 instances")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "model", "skeleton", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_changes_the_project_and_refuses_bad_names(labelled: Path) -> None:
    dry = _cli(str(labelled), "--add", "tail_tip", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run, would: adds 'tail_tip' as not labelled to 12 instances" in dry.stdout
    with ProjectStore.open_folder(labelled) as store:
        assert store.skeleton.num_keypoints == 4
    done = _cli(str(labelled), "--add", "tail_tip@2", "--sigma", "tail_tip=0.1", "--flip", "leftear,rightear",
                "--json")
    assert done.returncode == 0, done.stderr
    assert "adds 'tail_tip' as not labelled to 12 instances" in done.stdout
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["keypoints"] == ["snout", "tail_tip", "leftear", "rightear", "tailbase"]
    assert result["sigmas"][1] == 0.1
    with ProjectStore.open_folder(labelled) as store:
        assert store.skeleton.keypoints[1] == "tail_tip"
        assert all(i.keypoints.vis[1] == 0 for i in _all(store).values())
    bad = _cli(str(labelled), "--remove", "paw")
    assert bad.returncode == 2 and "no keypoint named 'paw'" in bad.stderr
    assert "Traceback" not in bad.stderr
