# Sourced by the VNN-COMP tool scripts: check the version argument, find the srmverify command.
VERSION_STRING=v1
if [ "${1:-}" != "$VERSION_STRING" ]; then
    echo "Expected first argument (version string) '$VERSION_STRING', got '${1:-}'" >&2
    exit 1
fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRMVERIFY="${SRMVERIFY:-$HERE/.venv/bin/srmverify}"
[ -x "$SRMVERIFY" ] || SRMVERIFY=srmverify
