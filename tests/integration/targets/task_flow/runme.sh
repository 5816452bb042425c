#!/usr/bin/env bash
set -eux
PY="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
"$PY" ../setup_velocity/compare.py flow.yml "$@"
"$PY" ../setup_velocity/compare.py local.yml "$@"
"$PY" ../setup_velocity/compare.py unreachable.yml --expect-rc 4 "$@"
"$PY" ../setup_velocity/compare.py badkey.yml --expect-rc 4 "$@"
# reset_connection: the next task needs a new connection (2 in all).
"$PY" ../setup_velocity/compare.py reset.yml --connections 2 "$@"
# The free and host_pinned strategies carry tasks the same way.
"$PY" ../setup_velocity/compare.py flow_free.yml --strategy free "$@"
"$PY" ../setup_velocity/compare.py flow_free.yml --strategy host_pinned "$@"
