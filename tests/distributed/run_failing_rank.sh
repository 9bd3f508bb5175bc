#!/usr/bin/env bash
# One rank of two throws inside run_or_abort while the other waits in a barrier: the job must end
# within seconds with a non-zero status and the error printed with the rank.
#   run_failing_rank.sh MPIRUN DISTRIBUTED_TESTS
set -uo pipefail
mpirun=$1 exe=$2
start=$(date +%s)
out=$(timeout 60 "$mpirun" -np 2 "$exe" --fail-on-rank 1 2>&1); rc=$?
secs=$(( $(date +%s) - start ))
echo "$out" | tail -20
echo "exit status $rc after $secs s"
if [ $rc -eq 0 ]; then echo "FAIL: the job succeeded"; exit 1; fi
if [ $rc -eq 124 ]; then echo "FAIL: the job hung (killed by timeout after 60 s)"; exit 1; fi
if ! grep -qF "[rank 1] error: rank 1 failed on purpose" <<<"$out"; then echo "FAIL: the error was not printed with its rank"; exit 1; fi
if [ $secs -gt 30 ]; then echo "FAIL: the job took $secs s to end"; exit 1; fi
echo "ok"
