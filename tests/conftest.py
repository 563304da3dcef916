"""Shared fixtures: offscreen Qt, the in-repo test data, the `shared` marker for ../shared's full sets.

The default run needs nothing beside the clone: `openfield` is the 12-frame subset in tests/data and
`demo_eval` the demo's 8 labelled evaluation frames. Tests that need ../shared's full sets take the
`shared` / `openfield_full` fixtures (or carry `@pytest.mark.shared`); they are deselected unless
HGLABEL_SHARED names the folder (CI sets it), and then a missing folder is an error, not a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = REPO_ROOT / "tests" / "data"
DEMO_DIR = REPO_ROOT / "assets" / "demo"
SHARED_FIXTURES = {"shared", "openfield_full"}


def shared_dir() -> Path | None:
    """The folder HGLABEL_SHARED names (CI: ../shared), or None when the variable is unset."""
    value = os.environ.get("HGLABEL_SHARED")
    return Path(value).resolve() if value else None


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items) -> None:
    """Mark tests that use ../shared; deselect them when HGLABEL_SHARED is unset. Skip `cuda` tests where
    torch sees no CUDA device (they never count as passed there)."""
    cuda = not any(item.get_closest_marker("cuda") for item in items) or _cuda_available()
    for item in items:
        if SHARED_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.shared)
        if not cuda and item.get_closest_marker("cuda") is not None:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU (bench/gpu.sh runs these)"))
    if shared_dir() is not None:
        return
    kept = [item for item in items if item.get_closest_marker("shared") is None]
    dropped = [item for item in items if item.get_closest_marker("shared") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session", autouse=True)
def _engine_settings(tmp_path_factory) -> Path:
    """Converted inference graphs go to a folder of this run, never to the user's cache folder; and the
    predictor runs torch (HGLABEL_ENGINE=torch) unless a test clears that: converting a graph takes
    seconds to tens of seconds on a loaded machine, which GUI tests waiting for a model must not pay.
    tests/model/infer clears it and tests the OpenVINO engine. Both are inherited by child processes."""
    folder = tmp_path_factory.mktemp("hglabel-cache")
    saved = {name: os.environ.get(name) for name in ("HGLABEL_CACHE_DIR", "HGLABEL_ENGINE")}
    os.environ.update(HGLABEL_CACHE_DIR=str(folder), HGLABEL_ENGINE="torch")
    yield folder
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def one_torch_thread():
    """One torch thread for the test: tiny networks run fastest (and reproducibly) that way on a shared
    machine, where two spin-waiting threads are many times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared (HGLABEL_SHARED); only for tests marked `shared`."""
    path = shared_dir()
    assert path is not None and path.is_dir(), f"HGLABEL_SHARED is not a folder: {path}"
    return path


@pytest.fixture(scope="session")
def openfield_full(shared: Path) -> Path:
    """The full openfield_mouse set: images/ (116 frames) and annotations.json."""
    return shared / "data" / "openfield_mouse"


@pytest.fixture(scope="session")
def openfield() -> Path:
    """12 labelled openfield training frames in the repo: images/ and annotations.json (COCO, 4 keypoints)."""
    return TEST_DATA / "openfield_mini"


@pytest.fixture(scope="session")
def demo_eval() -> Path:
    """The demo's 8 labelled evaluation frames (img0080…img0115): images/, annotations.json, checkpoint.pt."""
    return DEMO_DIR
