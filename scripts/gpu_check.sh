#!/usr/bin/env bash
# The GPU checks of the cuda backend (docs/cuda.md), on a machine with an NVIDIA GPU: builds the
# CUDA test suite and benchmark, runs the tests (against the cpu backend and the golden cases),
# the benchmark, and, where PyTorch and neuraloperator are installed, the comparison with them.
# Where MPI and NCCL are found, the NCCL tests too (NcclDataParallel, docs/distributed.md), with
# one process and with one per GPU.
#   scripts/gpu_check.sh [--no-bench]        (BUILD=dir picks the build tree; default build/cuda)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build/cuda}
bench=1
[ "${1:-}" = "--no-bench" ] && bench=0
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dcuda=enabled -Dexamples=false -Dcli=disabled >/dev/null
fi
nccl=0
ninja -C "$build" -t targets all | grep -q '^tests/cuda/nccl_tests:' && nccl=1
ninja -C "$build" tests/cuda/cuda_tests benchmarks/bench_fno_cuda $([ "$nccl" -eq 1 ] && echo tests/cuda/nccl_tests)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "== CUDA tests"
NEURALOP_SOURCE_DIR="$PWD" "$build/tests/cuda/cuda_tests"
if [ "$nccl" -eq 1 ]; then
  gpus=$(nvidia-smi -L | wc -l)
  for np in 1 "$gpus"; do
    echo "== NCCL tests, mpirun -np $np"
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np "$np" "$build/tests/cuda/nccl_tests"
    [ "$gpus" -gt 1 ] || break
  done
else
  echo "(MPI or NCCL not found: no NCCL tests)"
fi
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
