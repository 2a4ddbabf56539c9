#!/bin/bash
# VNN-COMP tool script: run_instance.sh v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT
# Writes RESULTS_FILE: first line sat | unsat | unknown | timeout | error; after sat the
# counterexample ((X_0 v) ... (Y_0 v)), re-checked in exact rational arithmetic. The time limit
# counts from the start of this script (python start-up included). Exit 0 whenever the result
# file was written; the verdict is in the file.
VERSION_STRING=v1
if [ "${1:-}" != "$VERSION_STRING" ]; then
    echo "Expected first argument (version string) '$VERSION_STRING', got '${1:-}'" >&2
    exit 1
fi
START=$(date +%s.%N)
CATEGORY=$2
ONNX_FILE=$3
VNNLIB_FILE=$4
RESULTS_FILE=$5
TIMEOUT=$6
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRMVERIFY="${SRMVERIFY:-$HERE/.venv/bin/srmverify}"
[ -x "$SRMVERIFY" ] || SRMVERIFY=srmverify
echo "Running srmverify on category '$CATEGORY', onnx '$ONNX_FILE', vnnlib '$VNNLIB_FILE', results '$RESULTS_FILE', timeout $TIMEOUT"
exec "$SRMVERIFY" run-instance "$ONNX_FILE" "$VNNLIB_FILE" "$RESULTS_FILE" --timeout "$TIMEOUT" --started "$START"
