#!/usr/bin/env bash
# Builds and runs the test suite, as CI does (.ci/run):
#   1. g++, optimized, -Werror: every test, the examples on small settings, the install test
#      (Meson and CMake consumers of an installed tree), the CUDA tests on the CPU emulator of
#      the CUDA runtime (no nvcc or GPU needed); the benchmarks and, when nvcc is found, the
#      CUDA code are compiled too.
#   2. clang, AddressSanitizer + UndefinedBehaviorSanitizer, -O0, -Werror: the tests again (not
#      the install test, nor the compile-fail tests, which check compile errors stage 1 checked).
#   3. the file readers' libFuzzer targets, 15 seconds each (scripts/fuzz.sh; longer runs by hand).
# Options: --quick (step 1 only), -j N (parallel jobs; default: all cores).
# Build trees: build/gcc, build/clang-asan and build/fuzz (reconfigured when they exist; ccache
# is used automatically when installed).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
jobs=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    -j) jobs=$2; shift ;;
    *) echo "usage: scripts/test.sh [--quick] [-j N]" >&2; exit 2 ;;
  esac
  shift
done

setup() {  # setup DIR [meson options...]
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    # `meson configure`, not `setup --reconfigure`: meson 1.0 keeps old cpp_args on reconfigure.
    meson configure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

start=$(date +%s)
stage_start=$start
stage_done() {  # stage_done NAME: prints the stage's wall time, so CI logs show where the time goes
  local now; now=$(date +%s)
  echo "== $1 took $(( now - stage_start )) s"
  stage_start=$now
}
echo "== [1/3] g++ release build (-Werror)"
CC=gcc CXX=g++ setup build/gcc -Dbuildtype=release -Dwerror=true -Dcli=enabled -Dtest_build=true
ninja -C build/gcc -j "$jobs"
stage_done "[1/3] build"
meson test -C build/gcc --print-errorlogs --num-processes "$jobs"
stage_done "[1/3] tests"

if [ "$quick" -eq 0 ]; then
  echo "== [2/3] clang AddressSanitizer + UndefinedBehaviorSanitizer build (-Werror)"
  # -fno-sanitize=alignment: Eigen's AVX Packet4cf pset1 loads a std::complex<float> (4-byte
  # aligned) as one double, a legal unaligned load on x86 that UBSan reports as misaligned.
  # -Dmpi=disabled: Open MPI's own allocations at MPI_Init are never freed and trip LeakSanitizer.
  # No debug info (-g0): it nearly halves this stage's compile time; sanitizer reports still name
  # the functions (rebuild with -Ddebug=true for file:line).
  CC=clang CXX=clang++ setup build/clang-asan -Dbuildtype=plain -Doptimization=0 -Ddebug=false -Dwerror=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dcpp_args="['-fno-sanitize-recover=all', '-fno-sanitize=alignment']" \
    -Dcuda=disabled -Dbenchmarks=false -Dexamples=false -Dcli=disabled -Dmpi=disabled
  ninja -C build/clang-asan -j "$jobs"
  stage_done "[2/3] build"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C build/clang-asan --print-errorlogs --num-processes "$jobs" --no-suite install --no-suite compile_fail
  stage_done "[2/3] tests"
  echo "== [3/3] fuzzing the file readers (libFuzzer, ASan + UBSan), 15 s per target"
  scripts/fuzz.sh 15 -j "$jobs"
  stage_done "[3/3] fuzzing"
fi
data_dir=$(meson introspect build/gcc --buildoptions | python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="data_dir"))')
[ -n "$data_dir" ] || data_dir=../shared/reference/neuralop-data
[ -f "$data_dir/darcy_train_16.pt" ] ||
  echo "note: NeuralOperator's sample data not found in $data_dir: the test cases that read them were skipped" \
       "(configure with -Ddata_dir=DIR to run them)"
echo "== all tests passed in $(( $(date +%s) - start )) s"
