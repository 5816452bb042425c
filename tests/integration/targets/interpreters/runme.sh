#!/usr/bin/env bash
set -eux
PY="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
"$PY" ../setup_velocity/compare.py discovery.yml -e ansible_python_interpreter=auto "$@"
"$PY" ../setup_velocity/compare.py discovery.yml -e ansible_python_interpreter=auto_silent "$@"
"$PY" ../setup_velocity/compare.py explicit.yml "$@"
"$PY" ../setup_velocity/compare.py missing.yml --expect-rc 2 "$@"
"$PY" ../setup_velocity/compare.py no_python_needed.yml "$@"
