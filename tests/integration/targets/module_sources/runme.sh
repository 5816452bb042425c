#!/usr/bin/env bash
set -eux
PY="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
# Under ansible-test the playbook sits inside a collection tree, where playbook-adjacent
# collections are not searched: name the test collection's path explicitly.
export ANSIBLE_COLLECTIONS_PATH="$PWD/collections${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}"
"$PY" ../setup_velocity/compare.py playbook.yml "$@"
