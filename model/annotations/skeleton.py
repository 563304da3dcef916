"""Skeleton: keypoint names, edges, flip pairs, colours and OKS sigmas; presets and JSON/COCO I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from model.errors import HglabelError

Pair = tuple[int, int]
Color = tuple[int, int, int]

_PALETTE: tuple[Color, ...] = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
    (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
    (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128), (128, 128, 128),
)
DEFAULT_SIGMA = 0.05


class SkeletonError(HglabelError, ValueError):
    """A skeleton definition is inconsistent; the message says which field."""


def default_colors(count: int) -> tuple[Color, ...]:
    """One distinct colour per keypoint, cycling the palette."""
    return tuple(_PALETTE[i % len(_PALETTE)] for i in range(count))


@dataclass(frozen=True)
class Skeleton:
    """Keypoint layout of one category. Edges and flip pairs are 0-based index pairs."""

    name: str
    keypoints: tuple[str, ...]
    edges: tuple[Pair, ...] = ()
    flip_pairs: tuple[Pair, ...] = ()
    colors: tuple[Color, ...] = field(default=())
    sigmas: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        k = len(self.keypoints)
        object.__setattr__(self, "keypoints", tuple(str(n) for n in self.keypoints))
        object.__setattr__(self, "edges", tuple((int(a), int(b)) for a, b in self.edges))
        object.__setattr__(self, "flip_pairs", tuple((int(a), int(b)) for a, b in self.flip_pairs))
        if not self.colors:
            object.__setattr__(self, "colors", default_colors(k))
        else:
            object.__setattr__(self, "colors", tuple(tuple(int(c) for c in col) for col in self.colors))
        if not self.sigmas:
            object.__setattr__(self, "sigmas", (DEFAULT_SIGMA,) * k)
        else:
            object.__setattr__(self, "sigmas", tuple(float(s) for s in self.sigmas))
        self._validate()

    def _validate(self) -> None:
        k = len(self.keypoints)
        if k == 0:
            raise SkeletonError(f"skeleton {self.name!r}: 'keypoints' is empty")
        if len(set(self.keypoints)) != k:
            raise SkeletonError(f"skeleton {self.name!r}: 'keypoints' has duplicate names")
        for fname, pairs in (("edges", self.edges), ("flip_pairs", self.flip_pairs)):
            for a, b in pairs:
                if not (0 <= a < k and 0 <= b < k) or a == b:
                    raise SkeletonError(f"skeleton {self.name!r}: '{fname}' has bad pair {(a, b)}")
        seen = [i for pair in self.flip_pairs for i in pair]
        if len(seen) != len(set(seen)):
            raise SkeletonError(f"skeleton {self.name!r}: a keypoint is in two 'flip_pairs'")
        if len(self.colors) != k or any(len(c) != 3 for c in self.colors):
            raise SkeletonError(f"skeleton {self.name!r}: 'colors' needs {k} RGB triples")
        if len(self.sigmas) != k or any(not s > 0 for s in self.sigmas):
            raise SkeletonError(f"skeleton {self.name!r}: 'sigmas' needs {k} positive numbers")

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)

    def flip_index(self) -> np.ndarray:
        """(K,) int64 permutation: keypoint i of a flipped image is keypoint flip_index[i]."""
        perm = np.arange(self.num_keypoints, dtype=np.int64)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    def index(self, name: str) -> int:
        return self.keypoints.index(name)

    def unpaired_sided_keypoints(self) -> list[str]:
        """Names that look left/right-sided ('left', 'l_', 'r-', …) but are in no flip pair."""
        paired = {i for pair in self.flip_pairs for i in pair}
        return [n for i, n in enumerate(self.keypoints) if i not in paired and _looks_sided(n)]

    def with_keypoints(self, names: list[str], old_of_new: list[int | None]) -> Skeleton:
        """A skeleton with new keypoint names; old_of_new[j] is the old index of new j or None.

        Edges and flip pairs between surviving keypoints are kept; colours and sigmas follow.
        """
        new_of_old = {o: j for j, o in enumerate(old_of_new) if o is not None}

        def remap(pairs: tuple[Pair, ...]) -> tuple[Pair, ...]:
            return tuple(
                (new_of_old[a], new_of_old[b]) for a, b in pairs if a in new_of_old and b in new_of_old
            )

        fresh = default_colors(len(names))
        colors = tuple(self.colors[o] if o is not None else fresh[j] for j, o in enumerate(old_of_new))
        sigmas = tuple(self.sigmas[o] if o is not None else DEFAULT_SIGMA for o in old_of_new)
        return replace(
            self, keypoints=tuple(names), edges=remap(self.edges),
            flip_pairs=remap(self.flip_pairs), colors=colors, sigmas=sigmas,
        )

    # ---- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "keypoints": list(self.keypoints),
            "edges": [list(e) for e in self.edges],
            "flip_pairs": [list(p) for p in self.flip_pairs],
            "colors": [list(c) for c in self.colors],
            "sigmas": list(self.sigmas),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Skeleton:
        if not isinstance(data, dict) or "keypoints" not in data:
            raise SkeletonError("skeleton JSON needs an object with 'keypoints'")
        try:
            return cls(
                name=str(data.get("name", "custom")),
                keypoints=tuple(data["keypoints"]),
                edges=tuple(tuple(e) for e in data.get("edges", ())),
                flip_pairs=tuple(tuple(p) for p in data.get("flip_pairs", ())),
                colors=tuple(tuple(c) for c in data.get("colors", ())),
                sigmas=tuple(data.get("sigmas", ())),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, SkeletonError):
                raise
            raise SkeletonError(f"skeleton JSON is malformed: {exc}") from exc

    def save_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")

    @classmethod
    def load_json(cls, path: str | Path) -> Skeleton:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SkeletonError(f"{path}: cannot read skeleton JSON: {exc}") from exc
        try:
            return cls.from_dict(data)
        except SkeletonError as exc:
            raise SkeletonError(f"{path}: {exc}") from exc

    def to_coco_category(self, category_id: int = 1, supercategory: str = "") -> dict:
        """COCO category dict; the COCO 'skeleton' field is 1-based."""
        return {
            "id": category_id,
            "name": self.name,
            "supercategory": supercategory or self.name,
            "keypoints": list(self.keypoints),
            "skeleton": [[a + 1, b + 1] for a, b in self.edges],
        }

    @classmethod
    def from_coco_category(cls, category: dict, flip_pairs: tuple[Pair, ...] | None = None) -> Skeleton:
        """Skeleton from a COCO category (1-based edges). Flip pairs are guessed from names if absent."""
        names = tuple(category["keypoints"])
        edges = tuple((int(a) - 1, int(b) - 1) for a, b in category.get("skeleton", []))
        pairs = flip_pairs if flip_pairs is not None else guess_flip_pairs(names)
        return cls(name=str(category.get("name", "object")), keypoints=names, edges=edges,
                   flip_pairs=pairs)


_SIDE_TOKENS = (("left", "right"), ("l_", "r_"), ("l-", "r-"), ("l.", "r."))


def _looks_sided(name: str) -> bool:
    low = name.lower()
    return any(low.startswith(t) or t in low for pair in _SIDE_TOKENS[:1] for t in pair) or any(
        low.startswith(t) for pair in _SIDE_TOKENS[1:] for t in pair
    )


def guess_flip_pairs(names: tuple[str, ...]) -> tuple[Pair, ...]:
    """Pair keypoints whose names differ only by a left/right token ('leftear' ↔ 'rightear')."""
    lookup = {n.lower(): i for i, n in enumerate(names)}
    pairs: list[Pair] = []
    for i, name in enumerate(names):
        low = name.lower()
        for left, right in _SIDE_TOKENS:
            if low.startswith(left) or (left == "left" and left in low):
                partner = low.replace(left, right, 1)
                j = lookup.get(partner)
                if j is not None and j != i:
                    pairs.append((i, j))
                break
    return tuple(pairs)


def skeleton_from_json(path: str | Path) -> Skeleton:
    """A skeleton JSON file, or the keypoint category of a COCO file; SkeletonError names the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SkeletonError(f"{path}: cannot read JSON: {exc}") from exc
    if isinstance(data, dict) and "categories" in data:
        cats = [c for c in data.get("categories") or [] if isinstance(c, dict) and c.get("keypoints")]
        if not cats:
            raise SkeletonError(f"{path}: COCO file has no category with 'keypoints'")
        try:
            return Skeleton.from_coco_category(cats[0])
        except (KeyError, TypeError, ValueError) as exc:
            raise SkeletonError(f"{path}: categories[0]: {exc}") from exc
    try:
        return Skeleton.from_dict(data)
    except SkeletonError as exc:
        raise SkeletonError(f"{path}: {exc}") from exc
