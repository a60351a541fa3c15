#!/usr/bin/env bash
# The benchmark peers' environments (make peers; make bench runs it first). Idempotent: a stamp records the
# requirements it was built from. PyImageTrack's source is not installed here: the benchmark copies it from a
# checkout or mirror (benchmarks/pyimagetrack_peer.py).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-peers/pyimagetrack
STAMP="$VENV/.requirements-stamp"
if [[ -f "$STAMP" ]] && cmp -s requirements-peers.txt "$STAMP"; then
    exit 0
fi
PYTHON=${PYTHON_PEERS:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "peers: PyImageTrack needs Python >= 3.11 ($PYTHON is $("$PYTHON" --version 2>&1)); the feature-tracking benchmark will skip it." >&2
    exit 0
fi
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet -r requirements-peers.txt
cp requirements-peers.txt "$STAMP"
echo "peers: PyImageTrack's environment is in $VENV"
