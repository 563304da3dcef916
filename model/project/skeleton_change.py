"""A planned skeleton change on a project: what it does to the stored instances (said before it is
done, e.g. "adds 'tail_tip' as not labelled to 240 instances"), applying it, and undoing it exactly.

Undo restores the keypoint blobs saved just before the change, so keypoints a removal dropped come
back too. The window wraps `apply_change` / `undo_change` in one QUndoCommand; `hglabel skeleton`
calls `apply_change` once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.annotations.skeleton import Skeleton
from model.project import rows
from model.project.skeleton_migration import migrate_blob
from model.project.store import ProjectStore


@dataclass(frozen=True)
class SkeletonChange:
    """old → new with old_of_new[j] = old index of new keypoint j (None: added, v = 0 everywhere)."""

    old: Skeleton
    new: Skeleton
    old_of_new: tuple[int | None, ...]

    @property
    def added(self) -> list[str]:
        return [self.new.keypoints[j] for j, o in enumerate(self.old_of_new) if o is None]

    @property
    def removed(self) -> list[int]:
        """Old indices of keypoints that go away."""
        kept = {o for o in self.old_of_new if o is not None}
        return [k for k in range(self.old.num_keypoints) if k not in kept]

    @property
    def renamed(self) -> list[tuple[str, str]]:
        return [(self.old.keypoints[o], self.new.keypoints[j]) for j, o in enumerate(self.old_of_new)
                if o is not None and self.old.keypoints[o] != self.new.keypoints[j]]

    @property
    def reordered(self) -> bool:
        kept = [o for o in self.old_of_new if o is not None]
        return kept != sorted(kept)

    @property
    def moves_keypoints(self) -> bool:
        """True when stored instances must be rewritten (count or order of keypoints changes)."""
        return list(self.old_of_new) != list(range(self.old.num_keypoints))

    @property
    def is_noop(self) -> bool:
        return self.old == self.new and not self.moves_keypoints

    def describe(self, instances: int, labelled: np.ndarray) -> list[str]:
        """One line per effect; labelled: (K_old,) int, instances with that old keypoint labelled."""
        n = f"{instances} instance{'s' if instances != 1 else ''}"
        lines = [f"adds '{name}' as not labelled to {n}" for name in self.added]
        for k in self.removed:
            lost = int(labelled[k]) if k < len(labelled) else 0
            lines.append(f"removes '{self.old.keypoints[k]}' from {n} ({lost} labelled value"
                         f"{'s' if lost != 1 else ''} dropped)")
        lines += [f"renames '{a}' to '{b}' (values kept)" for a, b in self.renamed]
        if self.reordered:
            lines.append(f"reorders the keypoints of {n}: " + ", ".join(self.new.keypoints))
        for field, label in (("edges", "edges"), ("flip_pairs", "flip pairs"), ("colors", "colours"),
                             ("sigmas", "OKS sigmas"), ("name", "name")):
            if _remapped(self, field) != getattr(self.new, field):
                lines.append(f"changes the {label} (no labels change)")
        return lines or ["changes nothing"]


def _remapped(change: SkeletonChange, field: str):
    """The old skeleton's field expressed in new indices (so a pure reorder is not 'changes the edges')."""
    old = change.old
    if field == "name":
        return old.name
    new_of_old = {o: j for j, o in enumerate(change.old_of_new) if o is not None}
    if field in ("edges", "flip_pairs"):
        return tuple((new_of_old[a], new_of_old[b]) for a, b in getattr(old, field)
                     if a in new_of_old and b in new_of_old)
    values = getattr(old, field)
    return tuple(values[o] if o is not None else getattr(change.new, field)[j]
                 for j, o in enumerate(change.old_of_new))


def labelled_counts(store: ProjectStore) -> tuple[int, np.ndarray]:
    """(number of instances, (K,) int: instances with keypoint k labelled, v > 0)."""
    blobs = store.keypoint_blobs()
    counts = np.zeros(store.skeleton.num_keypoints, np.int64)
    for blob in blobs.values():
        counts += rows.decode_array(blob)["v"] > 0
    return len(blobs), counts


def plan(store: ProjectStore, new: Skeleton,
         old_of_new: list[int | None]) -> tuple[SkeletonChange, list[str]]:
    """The change from the project's skeleton to `new` and what it will do to the stored instances."""
    change = SkeletonChange(store.skeleton, new, tuple(old_of_new))
    instances, labelled = labelled_counts(store)
    return change, change.describe(instances, labelled)


def apply_change(store: ProjectStore, change: SkeletonChange) -> dict[int, bytes]:
    """Migrate every instance and store the new skeleton (one transaction); returns the undo snapshot."""
    if store.skeleton != change.old:
        raise ValueError("the project's skeleton changed since this change was planned")
    snapshot = store.keypoint_blobs() if change.moves_keypoints else {}
    store.set_skeleton(change.new, list(change.old_of_new))
    return snapshot


def undo_change(store: ProjectStore, change: SkeletonChange, snapshot: dict[int, bytes]) -> None:
    """Put the old skeleton and every instance's keypoints back exactly as before `apply_change`."""
    if store.skeleton != change.new:
        raise ValueError("the project's skeleton changed since; cannot undo this skeleton change")
    if change.moves_keypoints:  # instances made after the change (none, when undo runs in order) go back too
        new_of_old = [None] * change.old.num_keypoints
        for j, o in enumerate(change.old_of_new):
            if o is not None:
                new_of_old[o] = j
        blobs = store.keypoint_blobs()
        later = {i: migrate_blob(b, new_of_old) for i, b in blobs.items() if i not in snapshot}
        snapshot = {**snapshot, **later}
    store.restore_skeleton(change.old, snapshot)
