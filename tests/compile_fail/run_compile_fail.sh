#!/usr/bin/env bash
# Usage: run_compile_fail.sh CASES.cpp COMPILER [ARGS...]
# Compiles CASES.cpp with -DCASE=N for every "#if/#elif CASE == N  // EXPECT: text" in it:
# each must be refused with a diagnostic containing its text, and CASE 0 (the control) must
# compile, so that a broken include path cannot pass for the expected failures.
set -u
src=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pids=()
cases=()
while IFS= read -r line; do
  n=$(sed -E 's/.*CASE == ([0-9]+).*/\1/' <<<"$line")
  cases+=("$n")
  "$@" -fsyntax-only -DCASE="$n" "$src" >"$tmp/$n.out" 2>&1 &
  pids+=($!)
done < <(grep -E '^#(el)?if CASE == [0-9]+' "$src")
[ ${#cases[@]} -gt 1 ] || { echo "no cases found in $src"; exit 1; }
fail=0
for i in "${!cases[@]}"; do
  n=${cases[$i]}
  wait "${pids[$i]}"
  rc=$?
  expect=$(grep -E "^#(el)?if CASE == $n\b" "$src" | sed -nE 's/.*EXPECT: (.*)$/\1/p')
  if [ "$n" = 0 ]; then
    if [ $rc -ne 0 ]; then echo "FAIL control case 0 does not compile:"; head -30 "$tmp/$n.out"; fail=1
    else echo "ok   case 0 (control) compiles"; fi
  elif [ $rc -eq 0 ]; then
    echo "FAIL case $n compiled; expected: $expect"; fail=1
  elif ! grep -qF -- "$expect" "$tmp/$n.out"; then
    echo "FAIL case $n refused, but without \"$expect\":"; head -30 "$tmp/$n.out"; fail=1
  else
    echo "ok   case $n refused: $expect"
  fi
done
exit $fail
