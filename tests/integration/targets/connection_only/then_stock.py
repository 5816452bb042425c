#!/usr/bin/env python
# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A play with a stock strategy after a play with ours runs fully stock for its ssh hosts.

Our strategy's hooks (which carry unedited ssh inventories) must end with its run:
the multiplexer may handle the first play's one task and nothing of the second,
whose three tasks must reach the target over stock ssh sessions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'setup_velocity'))
import compare  # noqa: E402  pylint: disable=wrong-import-position


def main() -> int:
    port, state = compare.harness_settings()
    harness = compare.load_harness()
    with harness.user_state_lock():
        harness.up(port, state, 11)
        harness.reset_state()
        workdir = tempfile.mkdtemp(prefix='velocity-then-stock-')
        stats = os.path.join(workdir, 'stats')
        env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING='0', ANSIBLE_NOCOLOR='1', VELOCITY_MITOGEN_STATS=stats,
                   ANSIBLE_SSH_CONTROL_PATH_DIR=workdir)
        env.pop('ANSIBLE_STRATEGY', None)
        mark = harness.mark(state)
        proc = subprocess.run(['ansible-playbook', '-i', os.path.join(state, 'inventory.ini'),
                               os.path.join(HERE, 'strategy_then_stock.yml')],
                              env=env, capture_output=True, text=True, timeout=300, check=False)
        sessions = harness.sessions(state, mark)
    requests = compare.read_stats(stats)
    failures = []
    if proc.returncode != 0:
        failures.append('ansible-playbook exited %d' % proc.returncode)
    if dict(requests) != {'run_module': 1}:
        failures.append('the multiplexer handled %s; expected exactly the first play\'s one task'
                        % compare.describe_stats(requests))
    # Our one session for the first play, then at least one stock session per task of the second.
    if sessions < 4:
        failures.append('%d SSH sessions: the second play\'s tasks did not go over stock ssh' % sessions)
    if failures:
        print(proc.stdout[-4000:], proc.stderr[-2000:])
        for failure in failures:
            print('FAIL strategy_then_stock.yml: ' + failure)
        return 1
    print('PASS strategy_then_stock.yml: %s, then %d SSH sessions for the stock play'
          % (compare.describe_stats(requests), sessions - 1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
