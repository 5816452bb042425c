#!/usr/bin/env bash
set -eux
PY="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
"$PY" ../setup_velocity/compare.py playbook.yml "$@"
