#!/usr/bin/env bash
# The neuralop CLI end to end on tiny settings: train (also with activation checkpointing),
# checkpoint, resume, eval, generate, train on generated data with pictures, and the errors a bad
# config, bad generate arguments or a bad folder give (exit status 1 and a message naming the key,
# argument or file).
#   run_cli_test.sh NEURALOP_EXE SOURCE_DIR DATA_DIR
set -uo pipefail
exe=$1 src=$2 data=$3
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
# Activation checkpointing: the same final table, bit for bit (the same gradients).
plain=$("$exe" train "$cfg" "${tiny[@]}" 2>&1 | grep -E "^(16|32) +[0-9.]+")
ckpt=$("$exe" train "$cfg" "${tiny[@]}" --opt.activation_checkpointing=true 2>&1 | grep -E "^(16|32) +[0-9.]+")
[ -n "$plain" ] && [ "$plain" == "$ckpt" ] && echo "ok   train with activation checkpointing: the same final table" \
  || { echo "FAIL train with activation checkpointing: the final tables differ:"; echo "$plain"; echo "---"; echo "$ckpt"; fail=1; }
expect_ok "train with checkpoints" "^16 +[0-9.]+" -- train "$cfg" "${tiny[@]}" --checkpoint.save_dir="$work/ck" --checkpoint.save_every=1 --log.dir="$work/log"
[ -f "$work/ck/manifest.pt" ] && [ -f "$work/ck/model_state_dict.pt" ] && [ -f "$work/log/metrics.csv" ] && [ -f "$work/log/metrics.jsonl" ] \
  && echo "ok   checkpoint and log files" || { echo "FAIL checkpoint and log files"; ls -R "$work"; fail=1; }
expect_ok "resume a finished run" "^16 +[0-9.]+" -- train "$cfg" "${tiny[@]}" --checkpoint.resume_from_dir="$work/ck"
expect_ok "eval a checkpoint" "^loaded .*model_state_dict.pt" -- eval "$cfg" "${tiny[@]}" --checkpoint "$work/ck"
if [ "$sample" -eq 1 ]; then
  expect_ok "train burgers" "^16 +[0-9.]+ +[0-9.]+" -- train "$src/configs/burgers.toml" --data.folder="$data" --data.n_train=32 \
    --data.n_tests="[16]" --model.hidden_channels=6 --model.n_modes="[4, 4]" --opt.n_epochs=1 --threads=1 --verbose=false
else
  echo "skip train burgers (NeuralOperator's Burgers file is not there)"
fi

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
# Built-in data generators: files at two resolutions from one set of solves, every PDE, .pt and .npz.
mkdir -p "$work/gen" "$work/int"
expect_ok "generate darcy at two resolutions" "^wrote .*darcy_test_32.pt" -- generate darcy --n 6 --res 16,32 --solve-res 64 --seed 1 --out "$work/gen/darcy_test_{res}.pt" --quiet
expect_ok "generate burgers" "^wrote .*burgers.pt" -- generate burgers --n 2 --res 16 --solve-res 64 --out "$work/gen/burgers.pt" --quiet
expect_ok "generate navier_stokes as npz" "^wrote .*ns.npz" -- generate navier_stokes --n 1 --res 16 --solve-res 32 --t-final 0.05 --n-time-out 2 --out "$work/gen/ns.npz" --quiet
gen_cfg=(--data.folder="$work/gdata" --generate.solve_resolution=64 --data.n_train=64 --data.batch_size=32 --data.n_tests="[16, 16]"
         --data.test_batch_sizes="[16, 16]" --model.hidden_channels=6 --model.n_modes="[4, 4]" --opt.n_epochs=2 --opt.eval_interval=1
         --threads=1 --plot.dir="$work/pics" --plot.n_samples=2)
expect_ok "train on generated darcy data, with pictures" "^pictures: .*loss_curves.png" -- train "$src/configs/darcy_generated.toml" "${gen_cfg[@]}" --verbose=false
for f in pics/darcy_test_16.png pics/darcy_test_32.png pics/loss_curves.png gdata/darcy_train_16.pt gdata/darcy_test_16.pt gdata/darcy_test_32.pt gdata/generated.txt; do
  [ -s "$work/$f" ] || { echo "FAIL $f was not written"; fail=1; }
done
expect_ok "generated data are reused" "^data: reusing 1 generated file" -- train "$src/configs/darcy_generated.toml" "${gen_cfg[@]}" --opt.n_epochs=1
expect_ok "generated data are remade when the settings change" "^data: generated darcy n=64 seed=5" -- train "$src/configs/darcy_generated.toml" "${gen_cfg[@]}" --opt.n_epochs=1 --generate.seed=5
expect_error "generate: negative resolution" "--res -16 must be positive" -- generate darcy --n 2 --res -16 --out "$work/gen/x.pt"
expect_error "generate: unknown PDE" "unknown PDE 'heat'" -- generate heat --n 2 --res 16 --out "$work/gen/x.pt"
expect_error "generate: unwritable output" "/nonexistent/x.pt" -- generate darcy --n 2 --res 16 --out /nonexistent/x.pt
expect_error "generate: several resolutions need {res}" "must contain {res}" -- generate darcy --n 2 --res 16,32 --out "$work/gen/x.pt"
expect_error "generate: unknown option" "unknown option --resolution" -- generate darcy --n 2 --resolution 16 --out "$work/gen/x.pt"
expect_error "generate: solver grid not a multiple of the resolution" "solve_resolution" -- generate darcy --n 2 --res 24 --solve-res 64 --out "$work/gen/x.pt"
# An interrupted generation leaves nothing under the final name.
timeout -s TERM 2 "$exe" generate darcy --n 100000 --res 16 --solve-res 64 --out "$work/int/d.pt" --quiet >/dev/null 2>&1
[ ! -e "$work/int/d.pt" ] && echo "ok   interrupted generation leaves no file" || { echo "FAIL interrupted generation left $work/int/d.pt"; fail=1; }
exit $fail
