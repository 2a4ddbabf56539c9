#!/bin/bash
# VNN-COMP tool script: install srmverify into vnncomp/.venv (one argument: "v1").
# Installs from this repository (the folder above vnncomp/); needs python3 >= 3.10 with venv.
set -euo pipefail
VERSION_STRING=v1
if [ "${1:-}" != "$VERSION_STRING" ]; then
    echo "Expected first argument (version string) '$VERSION_STRING', got '${1:-}'" >&2
    exit 1
fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python3 -m venv "$HERE/.venv"
"$HERE/.venv/bin/pip" install --upgrade pip
"$HERE/.venv/bin/pip" install "$HERE/.."
"$HERE/.venv/bin/srmverify" --help > /dev/null
echo "srmverify installed in $HERE/.venv"
