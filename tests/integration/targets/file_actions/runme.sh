#!/usr/bin/env bash
set -eux
PY="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
# Build an archive and a big file on the controller for the transfers.
rm -rf "${OUTPUT_DIR:-/tmp}/velocity-fa" && mkdir -p "${OUTPUT_DIR:-/tmp}/velocity-fa"
tar -C files -czf "${OUTPUT_DIR:-/tmp}/velocity-fa/tree.tgz" tree
head -c 6000000 /dev/urandom > "${OUTPUT_DIR:-/tmp}/velocity-fa/big.bin"
"$PY" ../setup_velocity/compare.py files.yml -e "fa_dir=${OUTPUT_DIR:-/tmp}/velocity-fa" "$@"
"$PY" ../setup_velocity/compare.py async.yml "$@"
