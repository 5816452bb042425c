#!/usr/bin/env bash
set -eux
"${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" ../setup_velocity/compare.py playbook.yml "$@"
"${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" ../setup_velocity/compare.py check_diff.yml --arg=--check --arg=--diff "$@"
"${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" ../setup_velocity/compare.py failures.yml --expect-rc 2 "$@"
