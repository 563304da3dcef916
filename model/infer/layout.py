"""State-dict layout of the hourglass: prefix stripping, config inference from shapes, shape checks."""

from __future__ import annotations

import re

import torch

from model.errors import HglabelError
from model.nn.hourglass import HourglassConfig, StackedHourglass

STRIP_PREFIXES = ("module.", "_orig_mod.")
# Human names of the config fields, used in mismatch messages.
FIELD_NAMES = {
    "stacks": "stack count",
    "blocks": "block count",
    "num_keypoints": "keypoint count",
    "features": "feature width",
    "depth": "hourglass depth",
    "input_size": "input size",
}


class LayoutError(HglabelError, ValueError):
    """The state dict does not have the hourglass layout; the message says what is wrong."""


def strip_prefixes(state_dict: dict) -> dict[str, torch.Tensor]:
    """Keys without DataParallel's `module.` or torch.compile's `_orig_mod.` prefixes."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise LayoutError(f"state dict key {key!r} is not a string")
        if not isinstance(value, torch.Tensor):
            raise LayoutError(f"state dict entry {key!r} is a {type(value).__name__}, not a tensor")
        name = key
        stripped = True
        while stripped:
            stripped = False
            for prefix in STRIP_PREFIXES:
                if name.startswith(prefix):
                    name, stripped = name[len(prefix):], True
        out[name] = value
    return out


def _distinct(pattern: str, keys: list[str]) -> set[int]:
    regex = re.compile(pattern)
    return {int(m.group(1)) for k in keys if (m := regex.match(k))}


def _count(pattern: str, keys: list[str], what: str) -> int:
    found = _distinct(pattern, keys)
    if not found or found != set(range(len(found))):
        raise LayoutError(f"cannot infer the {what} from the state dict (keys like {pattern!r})")
    return len(found)


def infer_config(
    state_dict: dict[str, torch.Tensor], input_size: tuple[int, int] = (256, 256)
) -> HourglassConfig:
    """Stacks, blocks, depth, features and keypoints of an hourglass state dict, read from its shapes."""
    keys = list(state_dict)
    score = state_dict.get("score.0.weight")
    if score is None or score.ndim != 4:
        raise LayoutError("no 'score.0.weight' (K, 2F, 1, 1): not a stacked-hourglass state dict")
    stacks = _count(r"^score\.(\d+)\.weight$", keys, "stack count")
    blocks = _count(r"^res\.0\.(\d+)\.", keys, "block count")
    depth = _count(r"^hg\.0\.hg\.(\d+)\.", keys, "hourglass depth")
    num_keypoints, width = int(score.shape[0]), int(score.shape[1])
    if width % 2:
        raise LayoutError(f"'score.0.weight' has {width} input channels; expected an even trunk width")
    try:
        return HourglassConfig(
            num_keypoints=num_keypoints, stacks=stacks, blocks=blocks, features=width // 2,
            depth=depth, input_size=tuple(input_size),
        )
    except ValueError as exc:
        raise LayoutError(f"inferred an impossible config: {exc}") from exc


def expected_shapes(config: HourglassConfig) -> dict[str, tuple[int, ...]]:
    """Every state-dict key of the network for `config` and its shape (built on the meta device)."""
    with torch.device("meta"):
        model = StackedHourglass(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def fill_and_check(state_dict: dict[str, torch.Tensor], config: HourglassConfig) -> dict[str, torch.Tensor]:
    """The state dict with missing BatchNorm `num_batches_tracked` filled with 0, checked key by key.

    Raises LayoutError naming missing/unexpected keys, the first shape mismatch, or non-finite values.
    """
    shapes = expected_shapes(config)
    out = dict(state_dict)
    for key in shapes:
        if key not in out and key.endswith(".num_batches_tracked"):
            out[key] = torch.tensor(0, dtype=torch.long)
    missing = [k for k in shapes if k not in out]
    unexpected = [k for k in out if k not in shapes]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})")
        raise LayoutError("state dict does not match the hourglass layout: " + "; ".join(parts))
    for key, shape in shapes.items():
        if tuple(out[key].shape) != shape:
            raise LayoutError(f"'{key}' has shape {list(out[key].shape)}, expected {list(shape)}")
        if out[key].is_floating_point() and not bool(torch.isfinite(out[key]).all()):
            raise LayoutError(f"'{key}' holds NaN or infinite values")
    return {k: out[k] for k in shapes}


def config_differences(actual: HourglassConfig, expect: HourglassConfig | dict) -> list[str]:
    """Human-readable differences between a checkpoint's config and the one a caller expects."""
    wanted = expect.to_dict() if isinstance(expect, HourglassConfig) else dict(expect)
    have = actual.to_dict()
    diffs = []
    for name, value in wanted.items():
        if name not in FIELD_NAMES:
            raise ValueError(f"unknown config field {name!r}; known: {', '.join(FIELD_NAMES)}")
        ours = have[name]
        if name == "input_size":
            value = list(value)
        if ours != value:
            diffs.append(f"{FIELD_NAMES[name]} differs: checkpoint has {ours}, expected {value}")
    return diffs
