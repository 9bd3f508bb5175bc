#!/usr/bin/env bash
# Data-parallel scaling of `neuralop train` on this machine: seconds per epoch for
# 1 process x 1 thread, 1 process x 2 threads and 2 processes x 1 thread (mpirun), on the CLI's
# default job (configs/darcy.toml: 1000 Darcy samples at 16x16, global batch 64, FNO 8x8 modes,
# width 24), and the time in gradient synchronisation per step. Benchmark from a release build
# without -Dtest_build (docs/distributed.md quotes its output).
#   benchmarks/distributed_scaling.sh [NEURALOP_EXE] [DATA_DIR] [EPOCHS]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
exe=${1:-$src/build/release/apps/neuralop/neuralop}
data=${2:-$src/../shared/reference/neuralop-data}
epochs=${3:-4}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(train "$src/configs/darcy.toml" --data.folder="$data" --opt.n_epochs="$epochs" --opt.eval_interval=1000 --verbose=false)

# Mean of the epoch times of metrics.csv, the first (warm-up) epoch left out.
epoch_time() { awk -F, 'NR > 2 { s += $2; n++ } END { printf "%.3f", s / n }' "$1/metrics.csv"; }

run() {  # run LABEL LOGDIR COMMAND...
  local label=$1 dir=$2; shift 2
  local out
  out=$("$@" --log.dir="$dir" 2>&1) || { echo "$out" | tail -20; exit 1; }
  local t sync wait
  t=$(epoch_time "$dir")
  sync=$(grep -oE 'gradient sync: [0-9.]+ ms per step' <<<"$out" | grep -oE '[0-9.]+' || echo "-")
  wait=$(grep -oE 'of which [0-9.]+ ms waiting' <<<"$out" | grep -oE '[0-9.]+' || echo "-")
  printf '%-26s %10s %12s %12s\n' "$label" "$t" "$sync" "$wait"
  echo "$t" > "$dir/t"
}

echo "neuralop train configs/darcy.toml, $epochs epochs (epoch 0 left out), $(nproc) cores"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-26s %10s %12s %12s\n' "processes x threads" "s/epoch" "sync ms/step" "of it wait"

NEURALOP_MPI=0 run "1 x 1" "$work/a" "$exe" "${args[@]}" --threads=1
NEURALOP_MPI=0 run "1 x 2" "$work/b" "$exe" "${args[@]}" --threads=2
run "2 x 1 (mpirun -np 2)" "$work/c" mpirun -np 2 "$exe" "${args[@]}" --threads=1
a=$(cat "$work/a/t") b=$(cat "$work/b/t") c=$(cat "$work/c/t")
awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN { printf "speed-up over 1 x 1: 1 x 2 threads %.2fx, 2 processes %.2fx\n", a / b, a / c }'
