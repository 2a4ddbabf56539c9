#!/bin/bash
# VNN-COMP tool script: prepare_instance.sh v1 CATEGORY ONNX VNNLIB
# Exit 0 when srmverify can load the network and the property and they fit; non-zero otherwise,
# so the harness records prepare_instance_error (scored as unknown) for instances we cannot run.
# srmverify leaves no background processes behind, so there is nothing to kill here.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
echo "Preparing srmverify for category '$2', onnx '$3', vnnlib '$4'"
exec "$SRMVERIFY" prepare-instance "$3" "$4"
