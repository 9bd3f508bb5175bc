#!/usr/bin/env bash
# `mpirun -np 2 neuralop train` on tiny settings: data-parallel (detected from the launcher), the
# output and checkpoint of rank 0 only, and a global batch that does not divide over the ranks
# refused with a clear error.
#   run_cli_distributed.sh MPIRUN NEURALOP_EXE SOURCE_DIR DATA_DIR
set -uo pipefail
mpirun=$1 exe=$2 src=$3 data=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
# NeuralOperator's sample data, or where they are not (a clone without ../shared beside it), Darcy
# files of the same layout made by the CLI's own generator.
sample=1
if [ ! -f "$data/darcy_train_16.pt" ]; then
  sample=0
  echo "note: NeuralOperator's sample data not found in '$data': training on generated Darcy data instead"
  data=$work/sample_substitute
  mkdir -p "$data"
  "$exe" generate darcy --n 64 --res 16 --solve-res 64 --seed 11 --out "$data/darcy_train_16.pt" --quiet >/dev/null &&
    "$exe" generate darcy --n 16 --res 16,32 --solve-res 64 --seed 12 --out "$data/darcy_test_{res}.pt" --quiet >/dev/null ||
    { echo "FAIL generating substitute Darcy data"; exit 1; }
fi
tiny=(--data.folder="$data" --data.n_train=64 --data.batch_size=32 --data.n_tests="[16, 16]" --data.test_batch_sizes="[16, 16]"
      --model.hidden_channels=6 --model.n_modes="[4, 4]" --opt.n_epochs=2 --opt.eval_interval=1 --threads=1 --verbose=true)
cfg=$src/configs/darcy.toml

out=$(timeout 300 "$mpirun" -np 2 "$exe" train "$cfg" "${tiny[@]}" --checkpoint.save_dir="$work/ck" --checkpoint.save_every=1 \
      --log.dir="$work/log" 2>&1); rc=$?
echo "$out" | tail -30
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
check "exit status 0" "[ $rc -eq 0 ]"
check "data-parallel over 2 processes, 16 samples per rank and batch" "grep -qE 'data-parallel: 2 processes, global batch 32 \(16 per process\)' <<<\"\$out\""
check "one final table (rank 0 prints)" "[ \$(grep -cE '^32 +[0-9.]+ +[0-9.]+' <<<\"\$out\") -eq 1 ]"
check "one line per epoch" "[ \$(grep -c '^\[1\] time=' <<<\"\$out\") -eq 1 ]"
check "gradient sync time reported" "grep -qE 'gradient sync: [0-9.]+ ms per step' <<<\"\$out\""
check "checkpoint and log written" "[ -f '$work/ck/model_state_dict.pt' ] && [ -f '$work/log/metrics.csv' ] && [ \$(wc -l < '$work/log/metrics.csv') -eq 3 ]"

out=$(timeout 300 "$mpirun" -np 2 "$exe" train "$cfg" "${tiny[@]}" --checkpoint.resume_from_dir="$work/ck" --opt.n_epochs=3 2>&1); rc=$?
check "resume on 2 processes" "[ $rc -eq 0 ] && grep -q 'resuming from epoch 2' <<<\"\$out\"" || echo "$out" | tail -10

out=$(timeout 120 "$mpirun" -np 2 "$exe" train "$cfg" "${tiny[@]}" --data.batch_size=31 2>&1); rc=$?
check "a global batch that does not divide: exit 1 and the reason" \
  "[ $rc -ne 0 ] && grep -qF 'data.batch_size = 31 (the global batch) does not divide evenly over 2 processes' <<<\"\$out\"" || echo "$out" | tail -10

out=$(NEURALOP_MPI=0 timeout 120 "$exe" train "$cfg" "${tiny[@]}" --opt.n_epochs=1 2>&1); rc=$?
check "NEURALOP_MPI=0: one process, no MPI" "[ $rc -eq 0 ] && ! grep -q 'data-parallel' <<<\"\$out\"" || echo "$out" | tail -10
exit $fail
