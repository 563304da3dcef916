"""SkeletonDraft: an editable copy of a skeleton (rename, add, remove, reorder, edges, flip pairs, colours,
sigmas) that remembers where each keypoint came from, so `build()` gives the new Skeleton and the
`old_of_new` map `ProjectStore.set_skeleton` migrates instances with.

The skeleton editor dialog and `hglabel skeleton` both edit through this class.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.annotations.skeleton import DEFAULT_SIGMA, Color, Skeleton, SkeletonError, default_colors


@dataclass
class DraftKeypoint:
    """One row of the draft. origin: index in the original skeleton, None for an added keypoint."""

    name: str
    color: Color
    sigma: float
    origin: int | None
    key: int  # identity of the row while edges and flip pairs refer to it


class SkeletonDraft:
    """Mutable skeleton being edited; rows are addressed by position (0-based) or by name."""

    def __init__(self, skeleton: Skeleton) -> None:
        self.original = skeleton
        self.name = skeleton.name
        self.rows = [DraftKeypoint(n, c, s, k, k) for k, (n, c, s) in
                     enumerate(zip(skeleton.keypoints, skeleton.colors, skeleton.sigmas, strict=True))]
        self.edges: list[tuple[int, int]] = [(a, b) for a, b in skeleton.edges]  # row keys
        self.flip_pairs: list[tuple[int, int]] = [(a, b) for a, b in skeleton.flip_pairs]
        self._next_key = skeleton.num_keypoints

    # ---- addressing -----------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rows]

    def position(self, name: str) -> int:
        for i, row in enumerate(self.rows):
            if row.name == name:
                return i
        raise SkeletonError(f"no keypoint named {name!r} (keypoints: {', '.join(self.names)})")

    def _key(self, name: str) -> int:
        return self.rows[self.position(name)].key

    # ---- keypoints ------------------------------------------------------------------------------
    def add(self, name: str, position: int | None = None) -> int:
        """Add a keypoint (not labelled in every instance); returns its position."""
        name = name.strip()
        if not name:
            raise SkeletonError("a keypoint needs a name")
        if name in self.names:
            raise SkeletonError(f"there is already a keypoint named {name!r}")
        position = len(self.rows) if position is None else max(0, min(position, len(self.rows)))
        color = default_colors(len(self.rows) + 1)[len(self.rows)]
        self.rows.insert(position, DraftKeypoint(name, color, DEFAULT_SIGMA, None, self._next_key))
        self._next_key += 1
        return position

    def rename(self, old: str, new: str) -> None:
        new = new.strip()
        if not new:
            raise SkeletonError("a keypoint needs a name")
        if new != old and new in self.names:
            raise SkeletonError(f"there is already a keypoint named {new!r}")
        self.rows[self.position(old)].name = new

    def remove(self, name: str) -> None:
        """Remove a keypoint, its edges and its flip pair."""
        if len(self.rows) == 1:
            raise SkeletonError("a skeleton needs at least one keypoint")
        key = self._key(name)
        del self.rows[self.position(name)]
        self.edges = [e for e in self.edges if key not in e]
        self.flip_pairs = [p for p in self.flip_pairs if key not in p]

    def move(self, name: str, position: int) -> None:
        row = self.rows.pop(self.position(name))
        self.rows.insert(max(0, min(position, len(self.rows))), row)

    def set_color(self, name: str, color: Color) -> None:
        if len(color) != 3 or any(not 0 <= int(c) <= 255 for c in color):
            raise SkeletonError(f"colour of {name!r} must be three values 0–255, got {color!r}")
        self.rows[self.position(name)].color = tuple(int(c) for c in color)

    def set_sigma(self, name: str, sigma: float) -> None:
        if not float(sigma) > 0:
            raise SkeletonError(f"OKS sigma of {name!r} must be positive, got {sigma!r}")
        self.rows[self.position(name)].sigma = float(sigma)

    # ---- edges and flip pairs ---------------------------------------------------------------------
    def add_edge(self, a: str, b: str) -> None:
        ka, kb = self._key(a), self._key(b)
        if ka == kb:
            raise SkeletonError(f"an edge needs two different keypoints, got {a!r} twice")
        if (ka, kb) not in self.edges and (kb, ka) not in self.edges:
            self.edges.append((ka, kb))

    def remove_edge(self, a: str, b: str) -> None:
        ka, kb = self._key(a), self._key(b)
        self.edges = [e for e in self.edges if set(e) != {ka, kb}]

    def set_flip(self, a: str, b: str) -> None:
        """Make a and b left/right partners (each leaves any pair it was in)."""
        ka, kb = self._key(a), self._key(b)
        if ka == kb:
            raise SkeletonError(f"a flip pair needs two different keypoints, got {a!r} twice")
        self.flip_pairs = [p for p in self.flip_pairs if ka not in p and kb not in p] + [(ka, kb)]

    def clear_flip(self, name: str) -> None:
        key = self._key(name)
        self.flip_pairs = [p for p in self.flip_pairs if key not in p]

    def flip_partner(self, name: str) -> str | None:
        key = self._key(name)
        by_key = {r.key: r.name for r in self.rows}
        for a, b in self.flip_pairs:
            if key in (a, b):
                return by_key[b if a == key else a]
        return None

    def edge_names(self) -> list[tuple[str, str]]:
        by_key = {r.key: r.name for r in self.rows}
        return [(by_key[a], by_key[b]) for a, b in self.edges]

    # ---- result ---------------------------------------------------------------------------------
    def build(self) -> tuple[Skeleton, list[int | None]]:
        """(new skeleton, old_of_new); SkeletonError when the result is inconsistent."""
        index = {r.key: j for j, r in enumerate(self.rows)}
        skeleton = Skeleton(
            name=self.name.strip() or "custom", keypoints=tuple(self.names),
            edges=tuple((index[a], index[b]) for a, b in self.edges),
            flip_pairs=tuple((index[a], index[b]) for a, b in self.flip_pairs),
            colors=tuple(r.color for r in self.rows), sigmas=tuple(r.sigma for r in self.rows),
        )
        return skeleton, [r.origin for r in self.rows]
