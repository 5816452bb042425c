#!/usr/bin/env bash
set -eux
PY="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
# A 50-task play (10 with become) uses exactly one SSH connection.
"$PY" ../setup_velocity/compare.py fifty.yml --connections 1 "$@"
# Nothing is left behind after a normal, a failed, an interrupted (SIGINT) and a killed (SIGKILL) run.
"$PY" ./leftovers.py --mode strategy
