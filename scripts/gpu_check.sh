#!/usr/bin/env bash
# The GPU checks of the cuda backend (docs/cuda.md), on a machine with an NVIDIA GPU: builds the
# CUDA test suite and benchmark, runs the tests (against the cpu backend and the golden cases),
# the benchmark, and, where PyTorch and neuraloperator are installed, the comparison with them.
#   scripts/gpu_check.sh [--no-bench]        (BUILD=dir picks the build tree; default build/cuda)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build/cuda}
bench=1
[ "${1:-}" = "--no-bench" ] && bench=0
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dcuda=enabled -Dexamples=false -Dcli=disabled -Dmpi=disabled >/dev/null
fi
ninja -C "$build" tests/cuda/cuda_tests benchmarks/bench_fno_cuda
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "== CUDA tests"
NEURALOP_SOURCE_DIR="$PWD" "$build/tests/cuda/cuda_tests"
if [ "$bench" -eq 1 ]; then
  echo "== bench_fno_cuda"
  if python3 -c "import torch, neuralop" 2>/dev/null; then
    (cd benchmarks && python3 compare_fno_cuda.py "../$build/benchmarks/bench_fno_cuda")
    "$build/benchmarks/bench_fno_cuda" bw
  else
    echo "(PyTorch or neuraloperator not installed: our timings only)"
    "$build/benchmarks/bench_fno_cuda"
  fi
fi
