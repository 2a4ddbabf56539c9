#!/bin/bash
# VNN-COMP tool script: run_instance.sh v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT
# Writes RESULTS_FILE: first line sat | unsat | unknown | timeout | error; after sat the
# counterexample ((X_0 v) ... (Y_0 v)), re-checked in exact rational arithmetic. The time limit
# counts from the start of this script (python start-up included). Exit 0 whenever the result
# file was written; the verdict is in the file.
START=$(date +%s.%N)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
echo "Running srmverify on category '$2', onnx '$3', vnnlib '$4', results '$5', timeout $6"
exec "$SRMVERIFY" run-instance "$3" "$4" "$5" --timeout "$6" --started "$START"
