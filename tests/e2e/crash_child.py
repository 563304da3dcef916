"""Crash-test child: applies edits to a project forever, printing each edit's number once apply() returned.

Usage: python tests/e2e/crash_child.py PROJECT_DB START. Even numbers add an instance whose score
is the number; odd numbers move keypoint (n // 2) % K of the first instance of image n % 4 to x = n.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from model.annotations import edits as E  # noqa: E402
from model.annotations.types import Instance, Keypoints  # noqa: E402
from model.project.store import ProjectStore  # noqa: E402


def main() -> None:
    store = ProjectStore.open(sys.argv[1])
    n = int(sys.argv[2])
    ids = [r.id for r in store.images()]
    k_count = store.skeleton.num_keypoints
    print("ready", flush=True)
    while True:
        image_id = ids[n % len(ids)]
        if n % 2 == 0:
            inst = Instance(Keypoints.empty(k_count), (0.0, 0.0, 1.0, 1.0), score=float(n))
            store.apply(E.AddInstance(image_id, inst))
        else:
            first = store.instances(image_id)[0]
            store.apply(E.move_keypoint(image_id, first, (n // 2) % k_count, float(n), 1.0))
        print(n, flush=True)
        n += 1


if __name__ == "__main__":
    main()
