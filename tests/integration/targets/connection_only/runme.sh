#!/usr/bin/env bash
# Connection-only mode: only the connection is set (velocity.mitogen.ssh), never a strategy.
# Every run is compared with the same playbook over stock ssh under the same stock strategy.
set -eux
PY="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}"
compare() { "$PY" ../setup_velocity/compare.py --mode connection "$@"; }

# Module, become and file scenarios on 3 targets under each ansible.builtin strategy:
# one SSH connection per target for the whole run.
for strategy in linear free host_pinned; do
  compare scenarios.yml --strategy "$strategy" --connections 3 --min-requests 60 "$@"
done
# The module_exec target's scenarios (every module type, facts), with only the connection set.
compare ../module_exec/playbook.yml --connections 1 "$@"
# Delegation, run_once, loops, local connections, reset_connection.
compare ../task_flow/flow.yml "$@"
compare ../task_flow/reset.yml --connections 2 "$@"
# Every way a user sets the connection.
for way in env cli inventory group_vars ansible_cfg; do
  compare plain.yml --way "$way" --connections 3 --min-requests 9 "$@"
done
compare play_keyword.yml --way none --stock-arg=-e --stock-arg=conn=ssh \
  --ours-arg=-e --ours-arg=conn=velocity.mitogen.ssh --connections 3 --min-requests 9 "$@"
compare --adhoc 'target:target2:target3 command hostname' --way cli --connections 3 --min-requests 3 "$@"
# Mixed inventory: target on stock ssh, target2/target3 ours, winhost on winrm: each its own path.
compare mixed.yml --way none --arg=-i --arg=win.ini --ours-arg=-i --ours-arg=ours_hosts.ini \
  --expect-rc 2 --connections 3 --min-requests 2 "$@"
# A stock strategy after ours in one playbook runs fully stock (proved by the requests ours handled).
"$PY" ./then_stock.py
# Nothing is left behind: normal end, failure, SIGINT, SIGKILL of ansible-playbook.
"$PY" ../lifecycle/leftovers.py --mode connection
