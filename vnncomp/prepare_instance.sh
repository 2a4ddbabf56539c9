#!/bin/bash
# VNN-COMP tool script: prepare_instance.sh v1 CATEGORY ONNX VNNLIB
# Exit 0 when srmverify can load the network and the property; non-zero otherwise, so the
# harness records prepare_instance_error (scored as unknown) for instances we cannot run.
# srmverify leaves no background processes behind, so there is nothing to kill here.
VERSION_STRING=v1
if [ "${1:-}" != "$VERSION_STRING" ]; then
    echo "Expected first argument (version string) '$VERSION_STRING', got '${1:-}'" >&2
    exit 1
fi
CATEGORY=$2
ONNX_FILE=$3
VNNLIB_FILE=$4
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRMVERIFY="${SRMVERIFY:-$HERE/.venv/bin/srmverify}"
[ -x "$SRMVERIFY" ] || SRMVERIFY=srmverify
echo "Preparing srmverify for category '$CATEGORY', onnx '$ONNX_FILE', vnnlib '$VNNLIB_FILE'"
exec "$SRMVERIFY" prepare-instance "$ONNX_FILE" "$VNNLIB_FILE"
