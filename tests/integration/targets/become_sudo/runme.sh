#!/usr/bin/env bash
set -eux
PY="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
STATE="$("$PY" ../setup_velocity/compare.py --print-state-dir)"
# 1 connection per target; become accounts add interpreters, not connections.
"$PY" ../setup_velocity/compare.py become.yml --connections 1 "$@"  # also brings the harness up
PW="$(cat "$STATE/vmpw.password")"
"$PY" ../setup_velocity/compare.py become_password.yml -e "ansible_become_password=$PW" "$@"
"$PY" ../setup_velocity/compare.py become_wrong_password.yml --expect-rc 2 -e "ansible_become_password=wrong-password" "$@"
"$PY" ../setup_velocity/compare.py become_missing_password.yml --expect-rc 2 "$@"
"$PY" ../setup_velocity/compare.py become_retire.yml --hosts 1 "$@"
"$PY" ../setup_velocity/compare.py become_su.yml --hosts 1 -e "ansible_become_password=$PW" "$@"
# The method is refused before anything reaches the multiplexer: no request to prove.
"$PY" ../setup_velocity/compare.py become_unsupported.yml --expect-rc 2 --rc-only --min-requests 0 --ours-contains "become method 'runas' is not supported by velocity.mitogen connections; supported: sudo, su" "$@"
# Secrets never reach the output, even at -vvvv (from a vars file: -e values are echoed by ansible-playbook itself).
secrets="$(mktemp)"; trap 'rm -f "$secrets"' EXIT
printf 'ansible_become_password: "%s"\n' "$PW" > "$secrets"
out="$(ANSIBLE_STRATEGY=velocity.mitogen.linear ANSIBLE_HOST_KEY_CHECKING=0 ansible-playbook -vvvv \
  -i "$STATE/inventory.ini" become_password.yml -e "@$secrets" 2>&1)"
if grep -qF "$PW" <<<"$out"; then echo "FAIL: the become password appears in -vvvv output"; exit 1; fi
echo "PASS: no secret in -vvvv output"
