#!/usr/bin/env bash
# The CUDA proof in one go (< 8 minutes on one GPU): installs what the GPU machine lacks, runs the
# `cuda`-marked tests (`pytest -m cuda`), the CUDA prediction benchmark (eager fp32 vs ours, batch
# 1/8/64, bf16 matmul peak in the same run) and training samples/s. Logs go to $OUT (or bench/.gpu).
#
#   bench/gpu.sh fetch   # HERE, with network: download the wheels the GPU machine lacks into .whl/
#   bench/gpu.sh         # THERE (carry .whl): install from .whl/, test, benchmark
#
# The machine's own torch (CUDA build) is used; nothing installs a second torch.
set -uo pipefail
cd "$(dirname "$0")/.."
WHEELS=.whl
if [ "${1:-}" = fetch ]; then
    # pycocotools (validation's OKS AP, COCO I/O) is the one runtime dependency the GPU image lacks.
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$WHEELS" "pycocotools>=2.0.7"
    grep -qx "/$WHEELS/" .git/info/exclude 2>/dev/null || echo "/$WHEELS/" >> .git/info/exclude
    exit 0
fi
OUT=${OUT:-bench/.gpu}
mkdir -p "$OUT"
start=$(date +%s)
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD HGLABEL_CACHE_DIR=/tmp/hglabel-cache
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
if [ -d "$WHEELS" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site "$WHEELS"/*.whl \
        && export PYTHONPATH=$PWD:/tmp/site
fi
python3 - <<'PY' || exit 1
import torch
assert torch.cuda.is_available(), "no CUDA device visible to torch"
print("torch", torch.__version__, "on", torch.cuda.get_device_name(0), "x", torch.cuda.device_count())
PY
status=0
timeout 240 python3 -m pytest -m cuda -q -p no:cacheprovider -o addopts="" \
    tests/model/infer/test_cuda.py tests/model/train/test_cuda.py 2>&1 | tee "$OUT/pytest.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
timeout 150 python3 -m bench.gpu_predict 2>&1 | tee "$OUT/predict.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
timeout 60 python3 bench/train.py --stacks 2 --features 128 --input 256 --batch 8 --iters 10 \
    --data tests/data/openfield_mini 2>&1 | tee "$OUT/train.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "gpu.sh: finished in $(( $(date +%s) - start )) s, status $status" | tee -a "$OUT/gpu.txt"
exit $status
