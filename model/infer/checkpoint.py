"""Safe checkpoint loading and saving: hglabel's own self-describing format and pytorch-pose files.

Own format (torch.save of plain tensors/str/numbers/lists/dicts, so `weights_only` loading works):
{"format": "hglabel-checkpoint", "version": 1, "config": HourglassConfig.to_dict(), "skeleton":
Skeleton.to_dict(), "normalization": {"mean", "std"}, "state_dict": {...}, "meta": {...}} and, in a file
that holds an instance finder beside the pose network, "finder": the finder's own such dictionary.
pytorch-pose files ({"state_dict": {"module.…": tensor}, "epoch", "arch", …}, often legacy
serialisation without `num_batches_tracked`) load too; their config is read from the weight shapes,
input 256×256 and MPII normalisation are assumed, and the caller must supply the skeleton.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from model.annotations.presets import resolve_skeleton
from model.annotations.skeleton import Skeleton, SkeletonError
from model.codec.spec import HeatmapSpec, HeatmapSpecError
from model.errors import HglabelError
from model.infer.layout import LayoutError, config_differences, fill_and_check, infer_config, strip_prefixes
from model.infer.normalization import Normalization
from model.io.atomic import replacing
from model.nn.hourglass import HourglassConfig, StackedHourglass, build_hourglass

log = logging.getLogger(__name__)

FORMAT = "hglabel-checkpoint"
VERSION = 1
PYTORCH_POSE_INPUT = (256, 256)
_META_SCALARS = (str, int, float, bool, type(None))
# Bounds on a header's config, checked before anything is allocated: far above any real network
# (the paper's is 8 stacks, 256 features, depth 4, 256²), far below what exhausts memory.
CONFIG_BOUNDS = {"num_keypoints": (1, 1024), "stacks": (1, 32), "blocks": (1, 32), "features": (1, 2048),
                 "depth": (1, 8)}
MAX_INPUT_SIDE = 4096
_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_MAGIC = b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")  # torch.save's old format


class CheckpointError(HglabelError):
    """A checkpoint cannot be used; the message names the file and the problem."""


class SkeletonNeededError(CheckpointError):
    """A checkpoint without a skeleton (pytorch-pose) was loaded without one: pass `skeleton`."""


@dataclass(frozen=True, eq=False)
class ModelBundle:
    """Everything needed to run a checkpoint: architecture, skeleton, input normalisation, weights."""

    config: HourglassConfig
    skeleton: Skeleton
    normalization: Normalization
    state_dict: dict[str, torch.Tensor]
    meta: dict = field(default_factory=dict)
    source: str = ""  # file the bundle was read from ("" when built in memory)
    finder: ModelBundle | None = None  # the instance finder the file holds beside the pose network
    heatmap: HeatmapSpec | None = None  # how targets were made and heatmaps decode; None: the defaults

    def __post_init__(self) -> None:
        spec = self.heatmap or default_heatmap_spec(self.config)
        if spec.input_size != tuple(self.config.input_size) or spec.stride != self.config.stride:
            raise CheckpointError(
                f"{self.source or 'checkpoint'}: heatmap spec {spec.input_size} / stride {spec.stride} "
                f"does not fit the network's {tuple(self.config.input_size)} / stride {self.config.stride}")
        object.__setattr__(self, "heatmap", spec)


def default_heatmap_spec(config: HourglassConfig) -> HeatmapSpec:
    """The spec of a checkpoint that stores none (older files, pytorch-pose): sigma 1, DARK, box × 1.25."""
    return HeatmapSpec(tuple(config.input_size), config.stride)


# ---- loading -------------------------------------------------------------------------------------
def _cause(exc: Exception) -> str:
    """The informative line of a torch.load error (its text is mostly boilerplate)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    boilerplate = ("Weights only load failed", "Check the documentation", "Please file an issue")
    useful = [ln for ln in lines if "GLOBAL" in ln] or [ln for ln in lines if not ln.startswith(boilerplate)]
    text = (useful or lines or [""])[0].removeprefix("WeightsUnpickler error: ")
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _check_file(path: Path) -> None:
    """A regular file that torch.save wrote (zip or its legacy format); else say what it is."""
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a regular file (a FIFO, socket or device); give a checkpoint "
                              "file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if head.startswith(_ZIP_MAGIC) or _LEGACY_MAGIC in head:
        return
    if head[:1] == b"\x80":
        raise CheckpointError(f"{path}: a plain Python pickle, not a file written by torch.save; hglabel "
                              "reads only torch checkpoints (torch.save of tensors and plain data)")
    raise CheckpointError(f"{path}: not a readable checkpoint (not a file written by torch.save)")


def _read(path: Path) -> object:
    _check_file(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError, … for bad files
        cause = _cause(exc)
        if "GLOBAL" in cause or "global" in cause:
            raise CheckpointError(
                f"{path}: refused: the file's pickle holds objects other than tensors and plain data "
                f"({cause})"
            ) from exc
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt or truncated): {cause}") from exc


def _resolve(skeleton: Skeleton | str | Path | None, path: Path) -> Skeleton | None:
    if skeleton is None or isinstance(skeleton, Skeleton):
        return skeleton
    try:
        return resolve_skeleton(skeleton)
    except SkeletonError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc


def _check_keypoints(path: Path, config: HourglassConfig, skeleton: Skeleton) -> None:
    if skeleton.num_keypoints != config.num_keypoints:
        raise CheckpointError(
            f"{path}: checkpoint has {config.num_keypoints} keypoints, "
            f"skeleton {skeleton.name!r} has {skeleton.num_keypoints}"
        )


def _check_bounds(config: object, path: Path) -> None:
    """Refuse header values outside CONFIG_BOUNDS / MAX_INPUT_SIDE (one line naming field and bounds)."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: malformed checkpoint header: 'config' is not a dictionary")
    for name, (lo, hi) in CONFIG_BOUNDS.items():
        value = config.get(name)
        if name not in config:
            continue
        if type(value) is not int or not lo <= value <= hi:
            raise CheckpointError(f"{path}: checkpoint header: {name} {value!r} is outside {lo}..{hi}")
    if "input_size" in config:
        size = config["input_size"]
        if (not isinstance(size, list | tuple) or len(size) != 2
                or any(type(v) is not int or not 1 <= v <= MAX_INPUT_SIDE for v in size)):
            raise CheckpointError(f"{path}: checkpoint header: input_size {size!r} must be two sides of "
                                  f"1..{MAX_INPUT_SIDE} pixels")


def _own_bundle(raw: dict, path: Path, skeleton: Skeleton | None) -> ModelBundle:
    version = raw.get("version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{path}: bad checkpoint 'version' {version!r}")
    if version > VERSION:
        raise CheckpointError(
            f"{path}: written by a newer hglabel (version {version}); this one reads {VERSION}"
        )
    _check_bounds(raw.get("config"), path)
    try:
        config = HourglassConfig.from_dict(raw["config"])
        file_skeleton = Skeleton.from_dict(raw["skeleton"])
        norm = Normalization.from_dict(raw["normalization"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: malformed checkpoint header: {exc}") from exc
    meta = raw.get("meta") or {}
    if not isinstance(meta, dict) or not isinstance(raw.get("state_dict"), dict):
        raise CheckpointError(f"{path}: 'meta' and 'state_dict' must be dictionaries")
    state = fill_and_check(strip_prefixes(raw["state_dict"]), config)
    chosen = skeleton or file_skeleton
    _check_keypoints(path, config, chosen)
    spec = None
    if raw.get("heatmap") is not None:
        try:
            spec = HeatmapSpec.from_dict(raw["heatmap"])
        except HeatmapSpecError as exc:
            raise CheckpointError(f"{path}: {exc}") from exc
    finder = None
    if raw.get("finder") is not None:
        if not isinstance(raw["finder"], dict):
            raise CheckpointError(f"{path}: 'finder' must be a dictionary")
        finder = _own_bundle({"version": version, **raw["finder"]}, path, None)
    return ModelBundle(config, chosen, norm, state, dict(meta), str(path), finder, spec)


def _pytorch_pose_meta(raw: dict) -> dict:
    meta: dict = {"source_format": "pytorch-pose"}
    for key in ("epoch", "arch", "best_acc"):
        value = raw.get(key)
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, _META_SCALARS):
            meta[key] = value
    return meta


def _foreign_bundle(raw: dict, path: Path, skeleton: Skeleton | None) -> ModelBundle:
    nested = raw.get("state_dict")
    state_raw = nested if isinstance(nested, dict) else raw
    state = strip_prefixes(state_raw)
    config = infer_config(state, PYTORCH_POSE_INPUT)
    state = fill_and_check(state, config)
    if skeleton is None:
        raise SkeletonNeededError(
            f"{path}: this pytorch-pose checkpoint ({config.num_keypoints} keypoints) carries no skeleton; "
            "supply one (a preset such as mpii16 or coco17, or a skeleton JSON file, e.g. --skeleton mpii16)"
        )
    _check_keypoints(path, config, skeleton)
    meta = _pytorch_pose_meta(raw) if isinstance(nested, dict) else {"source_format": "state-dict"}
    return ModelBundle(config, skeleton, Normalization.mpii(), state, meta, str(path))


def _is_state_dict(raw: dict) -> bool:
    return bool(raw) and all(isinstance(v, torch.Tensor) for v in raw.values())


def load_checkpoint(
    path: str | Path,
    skeleton: Skeleton | str | Path | None = None,
    *,
    expect: HourglassConfig | dict | None = None,
) -> ModelBundle:
    """Read a checkpoint safely (`torch.load(weights_only=True)`) into a ModelBundle.

    `skeleton` (a Skeleton, preset name or JSON path) is required for files that carry none
    (pytorch-pose) and overrides the file's own otherwise; its keypoint count must match the weights.
    `expect` (a config or a dict of config fields) makes any difference an error that says which.
    Raises CheckpointError naming the file and the problem.
    """
    path = Path(path)
    chosen = _resolve(skeleton, path)
    raw = _read(path)
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: not a checkpoint (holds a {type(raw).__name__}, not a dictionary)")
    try:
        if raw.get("format") == FORMAT:
            bundle = _own_bundle(raw, path, chosen)
        elif isinstance(raw.get("state_dict"), dict) or _is_state_dict(raw):
            bundle = _foreign_bundle(raw, path, chosen)
        else:
            raise CheckpointError(f"{path}: not a checkpoint (no 'state_dict' and no hglabel header)")
    except LayoutError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    if expect is not None:
        diffs = config_differences(bundle.config, expect)
        if diffs:
            raise CheckpointError(f"{path}: " + "; ".join(diffs))
    log.debug("loaded %s: %s", path, bundle.config)
    return bundle


# ---- saving --------------------------------------------------------------------------------------
def _check_meta(value: object, where: str = "meta") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: keys must be strings, got {key!r}")
            _check_meta(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_meta(item, f"{where}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: non-finite number {value}")
    elif not isinstance(value, _META_SCALARS):
        raise ValueError(f"{where}: {type(value).__name__} is not plain data (str, number, list, dict)")


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _payload(model_or_state_dict: nn.Module | dict, config: HourglassConfig, skeleton: Skeleton,
             normalization: Normalization, meta: dict | None, heatmap: HeatmapSpec | None) -> dict:
    if isinstance(model_or_state_dict, StackedHourglass) and model_or_state_dict.config != config:
        raise ValueError(f"model config {model_or_state_dict.config} differs from {config}")
    raw_state = model_or_state_dict
    if isinstance(raw_state, nn.Module):
        raw_state = raw_state.state_dict()
    state = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in strip_prefixes(raw_state).items()}
    state = fill_and_check(state, config)
    if skeleton.num_keypoints != config.num_keypoints:
        raise ValueError(f"config has {config.num_keypoints} keypoints, skeleton {skeleton.name!r} has "
                         f"{skeleton.num_keypoints}")
    meta = dict(meta or {})
    _check_meta(meta)
    spec = heatmap or default_heatmap_spec(config)
    if spec.input_size != tuple(config.input_size) or spec.stride != config.stride:
        raise ValueError(f"heatmap spec {spec} does not fit {config}")
    return {
        "format": FORMAT, "version": VERSION, "config": config.to_dict(), "skeleton": skeleton.to_dict(),
        "normalization": normalization.to_dict(), "state_dict": state, "meta": _plain(meta),
        "heatmap": spec.to_dict(),
    }


def save_checkpoint(
    path: str | Path,
    model_or_state_dict: nn.Module | dict,
    config: HourglassConfig,
    skeleton: Skeleton,
    normalization: Normalization,
    meta: dict | None = None,
    finder: ModelBundle | None = None,
    heatmap: HeatmapSpec | None = None,
) -> Path:
    """Write our self-describing checkpoint atomically (model.io.atomic); returns the path.

    `finder` (an instance finder's bundle) is stored beside the network: one file to predict with.
    `heatmap`: the spec the network was trained with (default: `default_heatmap_spec(config)`)."""
    path = Path(path)
    payload = _payload(model_or_state_dict, config, skeleton, normalization, meta, heatmap)
    if finder is not None:
        payload["finder"] = _payload(finder.state_dict, finder.config, finder.skeleton, finder.normalization,
                                     finder.meta, finder.heatmap)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as handle:
        torch.save(payload, handle)
    return path


def combine_checkpoints(pose: str | Path, finder: str | Path, out: str | Path) -> Path:
    """Write `out`: the pose network of `pose` with the instance finder of `finder` beside it."""
    pose_bundle = load_checkpoint(pose)
    finder_file = load_checkpoint(finder)
    finder_bundle = finder_file.finder or finder_file
    if finder_bundle.meta.get("kind") != "instance-finder":
        raise CheckpointError(f"{finder}: holds no instance finder (train one with hglabel train --finder)")
    return save_checkpoint(out, pose_bundle.state_dict, pose_bundle.config, pose_bundle.skeleton,
                           pose_bundle.normalization, pose_bundle.meta, finder=finder_bundle,
                           heatmap=pose_bundle.heatmap)


def build_model(bundle: ModelBundle) -> StackedHourglass:
    """The network of `bundle` with its weights loaded strictly, in eval mode, on the CPU."""
    model = build_hourglass(bundle.config)
    try:
        model.load_state_dict(bundle.state_dict, strict=True)
    except RuntimeError as exc:
        where = bundle.source or "checkpoint"
        raise CheckpointError(f"{where}: weights do not fit the network: {str(exc)[:300]}") from exc
    return model.eval()
