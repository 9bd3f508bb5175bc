#!/usr/bin/env bash
# Builds the libFuzzer targets of the file readers (clang, ASan + UBSan) and runs each one.
#   scripts/fuzz.sh [SECONDS per target, default 60] [-j N parallel targets, default: cores]
# Seeds: the small golden files in tests/io/golden and NeuralOperator's darcy_test_16.pt. New
# inputs found go to build/fuzz/corpus/<target>; crashes to build/fuzz/artifacts/ (the script then
# fails and names them). CI runs this for 15 seconds per target (scripts/test.sh step 3).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
jobs=$(nproc)
[ "${2:-}" = "-j" ] && jobs=$3

dir=build/fuzz
opts=(-Dfuzz=true -Dtests=false -Dexamples=false -Dbenchmarks=false -Dcuda=disabled -Dcli=disabled -Dmpi=disabled -Dnative=false
      -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized -Dwerror=true
      -Dcpp_args=-fno-sanitize-recover=all)
if [ -f "$dir/build.ninja" ]; then
  meson configure "$dir" "${opts[@]}" >/dev/null  # setup --reconfigure would keep old cpp_args
else
  CC=clang CXX=clang++ meson setup "$dir" "${opts[@]}" >/dev/null
fi
ninja -C "$dir" -j "$jobs"

data_dir=$(meson introspect "$dir" --buildoptions | python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="data_dir"))')
[ -n "$data_dir" ] || data_dir=../shared/reference/neuralop-data
golden=tests/io/golden
declare -A seeds=(
  [pt]="$golden/torch_types.pt $golden/torch_state_dict.pt $golden/torch_neuralop_state_dict.pt $golden/torch_legacy.pt $golden/cpp_written.pt $data_dir/darcy_test_16.pt"
  [npy]="$(ls $golden/*.npy | tr '\n' ' ')"
  [npz]="$golden/numpy_arrays.npz $golden/numpy_arrays_compressed.npz"
  [safetensors]="$(ls $golden/*.safetensors | tr '\n' ' ')"
)
mkdir -p "$dir/artifacts"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_one() {
  local t=$1 corpus=$dir/corpus/$1
  mkdir -p "$corpus"
  for s in ${seeds[$t]}; do [ -f "$s" ] && cp -n "$s" "$corpus/" || true; done
  local rc=0
  "$dir/tests/fuzz/fuzz_$t" "$corpus" -max_total_time="$seconds" -max_len=262144 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$dir/artifacts/$t-" -print_final_stats=1 >"$dir/fuzz_$t.log" 2>&1 || rc=$?
  echo "fuzz_$t: $(grep -E '^stat::number_of_executed_units' "$dir/fuzz_$t.log" | awk '{print $2}') runs in ${seconds} s, exit $rc"
  return $rc
}
fail=0
pids=()
names=()
for t in pt npy npz safetensors; do
  [ -x "$dir/tests/fuzz/fuzz_$t" ] || { echo "fuzz_$t was not built"; fail=1; continue; }
  run_one "$t" &
  pids+=($!)
  names+=("$t")
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
done
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    fail=1
    echo "== fuzz_${names[$i]} failed; its log ends:"
    tail -40 "$dir/fuzz_${names[$i]}.log"
  fi
done
ls "$dir"/artifacts/* >/dev/null 2>&1 && { echo "== crash inputs:"; ls "$dir"/artifacts/; fail=1; }
exit $fail
