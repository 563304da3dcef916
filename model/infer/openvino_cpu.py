"""OpenVINO CPU engine: the network converted once per checkpoint content, cached, run in a 2-core layout.

The graph is derived from the one network definition (model/nn/hourglass.py) by `torch.export` and
`openvino.convert_model` (OpenVINO's PyTorch front end; it folds BatchNorm and fuses ReLU/adds itself)
and saved as OpenVINO IR (`<key>.xml` + `<key>.bin`, plus `<key>.ref.npy`: torch fp32's heatmaps on the
start-up check input) in the user cache folder, keyed by a hash of the weights, the config, the OpenVINO
and torch versions and EXPORT_FORMAT. Converting takes seconds (see
bench/README.md); reading and compiling the cached IR takes ~0.2–0.5 s. A cache entry that cannot be
read is deleted and re-converted (`IrSource.discard`); the runtime's start-up check against torch fp32
catches the rest.

`OpenVinoNet` runs images as separate inference requests of one image each: one request at a time on a
latency-compiled model (all threads in one stream) for a single image, and for several images a
throughput-compiled model with one stream per thread fed by an asynchronous queue (measured 2.7× faster
per image than OpenVINO's default call with a batch of 8 on 2 cores; see bench/README.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import uuid
from pathlib import Path

import numpy as np
import torch
from torch import nn

from model.nn.hourglass import StackedHourglass

log = logging.getLogger(__name__)

CACHE_ENV = "HGLABEL_CACHE_DIR"
EXPORT_FORMAT = 2  # bump when the conversion below changes: old cache entries are then never read
PRECISION_HINTS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}


def available() -> bool:
    """True when the openvino package can be imported."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def native_precisions() -> set[str]:
    """Precisions ("bf16", "fp16") OpenVINO's CPU plugin computes natively on this machine."""
    import openvino as ov

    caps = set(ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
    return {name for name, cap in (("bf16", "BF16"), ("fp16", "FP16")) if cap in caps}


def user_cache_dir() -> Path:
    """Where converted graphs live: $HGLABEL_CACHE_DIR, else the platform's user cache folder/hglabel."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "hglabel"


def content_key(model: StackedHourglass) -> str:
    """Hex digest of the weights (names, dtypes, shapes, bytes), the config and the converter version."""
    import openvino as ov

    digest = hashlib.sha256()
    digest.update(json.dumps({"config": model.config.to_dict(), "openvino": ov.__version__,
                              "torch": torch.__version__, "format": EXPORT_FORMAT}, sort_keys=True).encode())
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()[:32]


def convert(model: StackedHourglass):
    """The network as an ov.Model with static shapes: input (1, 3, H, W), S outputs (1, K, H/4, W/4)."""
    import openvino as ov

    w, h = model.config.input_size
    with torch.no_grad():  # torch.export's graph: faster to convert than the TorchScript trace
        graph = ov.convert_model(torch.export.export(model.eval(), (torch.zeros(1, 3, h, w),)))
    graph.reshape([1, 3, h, w])
    return graph


class IrSource:
    """The network's OpenVINO graph: read from the cache, or converted and written there (atomically)."""

    def __init__(self, model: StackedHourglass, folder: Path | None = None) -> None:
        self.torch_model = model
        self.folder = (folder or user_cache_dir()) / "openvino"
        self.xml = self.folder / f"{content_key(model)}.xml"
        self.from_cache = False
        self._graph = None

    def graph(self):
        """The ov.Model with input (1, 3, H, W) float32 and S outputs (1, K, H/4, W/4)."""
        if self._graph is None:
            complete = self.xml.is_file() and self.xml.with_suffix(".bin").is_file()
            self._graph = self._read() if complete else None
            self.from_cache = self._graph is not None
            if self._graph is None:
                self._graph = self._convert()
        return self._graph

    @property
    def reference_path(self) -> Path:
        return self.xml.with_suffix(".ref.npy")

    def reference(self, compute) -> list[torch.Tensor]:
        """Torch fp32's heatmaps S × (1, K, h, w) on the start-up check input: read from the cache entry
        (saves the eager pass, most of a cached start-up), else `compute()`d and written there."""
        path = self.reference_path
        with contextlib.suppress(Exception):  # missing, torn or foreign: computed again
            data = np.load(path, allow_pickle=False)
            stacks = self.torch_model.config.stacks
            if data.dtype == np.float32 and data.ndim == 5 and data.shape[0] == stacks:
                return [torch.from_numpy(d) for d in data]
        ref = compute()
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.npy")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            np.save(tmp, np.stack([r.numpy() for r in ref]))
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("openvino: cannot write %s (%s)", path, exc)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        return ref

    def discard(self) -> None:
        """Forget the graph and delete its cache entry (corrupt or stale): the next graph() converts."""
        log.warning("openvino: discarding cache entry %s", self.xml)
        for path in (self.xml, self.xml.with_suffix(".bin"), self.reference_path):
            with contextlib.suppress(OSError):
                path.unlink()
        self._graph, self.from_cache = None, False

    def _read(self):
        import openvino as ov

        try:
            return ov.Core().read_model(str(self.xml))
        except Exception as exc:  # noqa: BLE001 - any unreadable entry is converted again
            log.warning("openvino: cached graph %s unreadable (%s); converting again", self.xml, exc)
            self.discard()
            return None

    def _convert(self):
        import openvino as ov

        graph = convert(self.torch_model)
        tmp = self.folder / f".{self.xml.stem}.{uuid.uuid4().hex}.xml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ov.save_model(graph, str(tmp), compress_to_fp16=False)
            os.replace(tmp.with_suffix(".bin"), self.xml.with_suffix(".bin"))
            os.replace(tmp, self.xml)  # the .xml appears last: its presence means the entry is complete
        except OSError as exc:  # a read-only cache costs start-up time, nothing else
            log.warning("openvino: cannot write the graph cache %s (%s)", self.folder, exc)
        finally:
            for path in (tmp, tmp.with_suffix(".bin")):
                with contextlib.suppress(OSError):
                    path.unlink()
        return graph


def _compile(graph, precision: str, threads: int, streams: int):
    import openvino as ov

    hint = "LATENCY" if streams == 1 else "THROUGHPUT"
    config = {"PERFORMANCE_HINT": hint, "NUM_STREAMS": streams, "INFERENCE_NUM_THREADS": threads,
              "INFERENCE_PRECISION_HINT": PRECISION_HINTS[precision]}
    return ov.Core().compile_model(graph, "CPU", config)


class OpenVinoNet(nn.Module):
    """x (N, 3, H, W) float → S × (N, K, H/4, W/4) float32, one inference request per image.

    `threads`: CPU threads OpenVINO may use (default torch's). With more than one thread, batches run
    on a second, lazily compiled model with `threads` streams of one thread each (`layout="streams"`);
    `layout="single"` keeps every image on the latency model (for measuring what the layout buys).
    """

    def __init__(self, graph, precision: str = "fp32", threads: int | None = None,
                 layout: str = "streams") -> None:
        super().__init__()
        self.graph, self.precision = graph, precision
        self.threads = max(1, threads or torch.get_num_threads())
        self.layout = layout
        self._latency = _compile(graph, precision, self.threads, 1)
        self._request = self._latency.create_infer_request()
        self._throughput = None
        self._queue = None

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        arr = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
        outs = [np.empty((len(arr), *out.get_shape()[1:]), np.float32) for out in self._latency.outputs]
        if len(arr) == 1 or self.threads == 1 or self.layout == "single":
            for i in range(len(arr)):
                self._request.infer({0: arr[i:i + 1]})
                self._store(outs, self._request, i)
        else:
            self._run_streams(arr, outs)
        return [torch.from_numpy(o) for o in outs]

    @staticmethod
    def _store(outs: list[np.ndarray], request, i: int) -> None:
        for j, out in enumerate(outs):
            out[i] = request.get_output_tensor(j).data[0]

    def _run_streams(self, arr: np.ndarray, outs: list[np.ndarray]) -> None:
        import openvino as ov

        if self._queue is None:
            self._throughput = _compile(self.graph, self.precision, self.threads, self.threads)
            self._queue = ov.AsyncInferQueue(self._throughput, self.threads)
        self._queue.set_callback(lambda request, i: self._store(outs, request, i))
        for i in range(len(arr)):
            self._queue.start_async({0: arr[i:i + 1]}, i)
        self._queue.wait_all()
