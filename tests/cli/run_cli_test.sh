#!/usr/bin/env bash
# The neuralop CLI end to end on tiny settings: train, checkpoint, resume, eval, and the errors a
# bad config or a bad folder gives (exit status 1 and a message naming the key or file).
#   run_cli_test.sh NEURALOP_EXE SOURCE_DIR DATA_DIR
set -uo pipefail
exe=$1 src=$2 data=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
tiny=(--data.folder="$data" --data.n_train=64 --data.batch_size=32 --data.n_tests="[16, 16]" --data.test_batch_sizes="[16, 16]"
      --model.hidden_channels=6 --model.n_modes="[4, 4]" --opt.n_epochs=2 --opt.eval_interval=1 --threads=1 --verbose=false)

expect_ok() {  # expect_ok NAME PATTERN -- ARGS...
  local name=$1 pattern=$2; shift 3
  local out
  out=$("$exe" "$@" 2>&1); local rc=$?
  if [ $rc -ne 0 ] || ! grep -qE "$pattern" <<<"$out"; then
    echo "FAIL $name (exit $rc; expected /$pattern/):"; echo "$out" | tail -20; fail=1
  else echo "ok   $name"; fi
}
expect_error() {  # expect_error NAME PATTERN -- ARGS...
  local name=$1 pattern=$2; shift 3
  local out
  out=$("$exe" "$@" 2>&1); local rc=$?
  if [ $rc -ne 1 ] || ! grep -qF -- "$pattern" <<<"$out"; then
    echo "FAIL $name (exit $rc; expected exit 1 and '$pattern'):"; echo "$out" | tail -20; fail=1
  else echo "ok   $name"; fi
}

cfg=$src/configs/darcy.toml
expect_ok "train darcy, final table" "^32 +[0-9.]+ +[0-9.]+" -- train "$cfg" "${tiny[@]}"
expect_ok "train with checkpoints" "^16 +[0-9.]+" -- train "$cfg" "${tiny[@]}" --checkpoint.save_dir="$work/ck" --checkpoint.save_every=1 --log.dir="$work/log"
[ -f "$work/ck/manifest.pt" ] && [ -f "$work/ck/model_state_dict.pt" ] && [ -f "$work/log/metrics.csv" ] && [ -f "$work/log/metrics.jsonl" ] \
  && echo "ok   checkpoint and log files" || { echo "FAIL checkpoint and log files"; ls -R "$work"; fail=1; }
expect_ok "resume a finished run" "^16 +[0-9.]+" -- train "$cfg" "${tiny[@]}" --checkpoint.resume_from_dir="$work/ck"
expect_ok "eval a checkpoint" "^loaded .*model_state_dict.pt" -- eval "$cfg" "${tiny[@]}" --checkpoint "$work/ck"
expect_ok "train burgers" "^16 +[0-9.]+ +[0-9.]+" -- train "$src/configs/burgers.toml" --data.folder="$data" --data.n_train=32 \
  --data.n_tests="[16]" --model.hidden_channels=6 --model.n_modes="[4, 4]" --opt.n_epochs=1 --threads=1 --verbose=false

printf '[opt]\nn_epoch = 3\n' > "$work/typo.toml"
expect_error "unknown key" "config key 'opt.n_epoch' ($work/typo.toml line 2) does not exist; did you mean 'opt.n_epochs'?" -- train "$work/typo.toml"
printf '[data]\nbatch_size = "big"\n' > "$work/type.toml"
expect_error "wrong type" "config key 'data.batch_size' ($work/type.toml line 2) must be an integer, got a string (\"big\")" -- train "$work/type.toml"
expect_error "batch size zero" "config key 'data.batch_size': must be positive, got 0" -- train "$cfg" "${tiny[@]}" --data.batch_size=0
expect_error "missing data folder" "$work/nowhere/darcy_train_16.pt" -- train "$cfg" "${tiny[@]}" --data.folder="$work/nowhere"
expect_error "missing config file" "$work/none.toml" -- train "$work/none.toml"
mkdir -p "$work/empty"
expect_error "resume from a folder without a checkpoint" "holds neither best_model_state_dict.pt nor model_state_dict.pt" -- train "$cfg" "${tiny[@]}" --checkpoint.resume_from_dir="$work/empty"
cp -r "$work/ck" "$work/bad" && head -c 100 "$work/ck/model_state_dict.pt" > "$work/bad/model_state_dict.pt"
expect_error "resume from a corrupt checkpoint" "model_state_dict.pt" -- train "$cfg" "${tiny[@]}" --checkpoint.resume_from_dir="$work/bad"
exit $fail
