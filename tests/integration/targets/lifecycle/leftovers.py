#!/usr/bin/env python
# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""No process of a velocity.mitogen run outlives it: normal end, failure, or SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'setup_velocity'))
import compare  # noqa: E402  pylint: disable=wrong-import-position

PORT, STATE = compare.harness_settings()


def processes() -> dict[int, str]:
    out = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as fp:
                cmd = fp.read().replace(b'\0', b' ').decode('utf-8', 'replace').strip()
        except OSError:
            continue
        if cmd:
            out[int(pid)] = cmd
    return out


TAG = 'VELOCITY_LEFTOVER_TAG=%d' % os.getpid()


def tagged(pid: int) -> bool:
    try:
        with open('/proc/%d/environ' % pid, 'rb') as fp:
            return TAG.encode() in fp.read()
    except OSError:
        return False


def ours(before: dict[int, str]) -> dict[int, str]:
    """Processes of this run: on the controller they carry our tag; on the target they are
    the Mitogen interpreters and the interrupted command."""
    found = {}
    for pid, cmd in processes().items():
        if pid in before or pid == os.getpid():
            continue
        if tagged(pid) or 'mitogen:' in cmd or 'sleep 301' in cmd:
            found[pid] = cmd
    return found


def settle(before: dict[int, str], timeout: float = 20.0) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    left = ours(before)
    while left and time.monotonic() < deadline:
        time.sleep(0.25)
        left = ours(before)
    return left


def run(playbook: str, interrupt_after: float | None = None) -> tuple[int, str]:
    env = dict(os.environ, ANSIBLE_STRATEGY=compare.OURS, VELOCITY_LEFTOVER_TAG=str(os.getpid()), ANSIBLE_HOST_KEY_CHECKING='0', ANSIBLE_NOCOLOR='1')
    proc = subprocess.Popen(['ansible-playbook', '-i', os.path.join(STATE, 'inventory.ini'), os.path.join(HERE, playbook)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    if interrupt_after is not None:
        time.sleep(interrupt_after)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does to the foreground process group
    try:
        out = proc.communicate(timeout=120)[0]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out = proc.communicate()[0]
        return -1, out + '\n(timed out)'
    return proc.returncode, out


def main() -> int:
    harness = compare.load_harness()
    # The target's interpreters of other test runs (another group, another work tree) would
    # look like ours: while we hold the lock, no compare.py run starts any.
    with harness.user_state_lock():
        harness.up(PORT, STATE, 11)
        return check()


def check() -> int:
    failures = []
    for label, playbook, interrupt, expect_rc in (
            ('normal run', 'fifty.yml', None, 0),
            ('failed run', 'failing.yml', None, 2),
            ('SIGINT during a task', 'slow.yml', 8.0, None)):
        before = processes()
        rc, out = run(playbook, interrupt)
        left = settle(before)
        if expect_rc is not None and rc != expect_rc:
            failures.append('%s: ansible-playbook exited %s, expected %s\n%s' % (label, rc, expect_rc, out[-3000:]))
        if left:
            failures.append('%s: processes left behind:\n  %s' % (label, '\n  '.join('%d %s' % kv for kv in left.items())))
            for pid, cmd in left.items():
                # Clean up only what is certainly ours: never another run's processes.
                if tagged(pid) or 'sleep 301' in cmd:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
        else:
            print('PASS %s: rc=%s, nothing left behind' % (label, rc))
    for failure in failures:
        print('FAIL ' + failure)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
