#!/usr/bin/env python
# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""No process of a velocity.mitogen run outlives it: normal end, failure, SIGINT, or SIGKILL.

``--mode strategy`` runs with a velocity.mitogen strategy; ``--mode connection``
with ansible-core's own strategy and only the connection set (connection-only
mode), where no code of ours runs in ansible-playbook itself: the multiplexer
must notice on its own that the controller is gone. Neither may leave its
runtime directory (``$TMPDIR/velocity-mitogen-<uid>/<controller>``) behind.
"""

from __future__ import annotations

import argparse
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


def run(playbook: str, interrupt_after: float | None = None, mode: str = 'strategy',
        sig: int = signal.SIGINT) -> tuple[int, str, int]:
    env = dict(os.environ, ANSIBLE_STRATEGY=compare.OURS, VELOCITY_LEFTOVER_TAG=str(os.getpid()), ANSIBLE_HOST_KEY_CHECKING='0', ANSIBLE_NOCOLOR='1')
    if mode == 'connection':
        env.update(ANSIBLE_STRATEGY='ansible.builtin.linear', ANSIBLE_TRANSPORT=compare.OUR_CONNECTION)
    proc = subprocess.Popen(['ansible-playbook', '-i', os.path.join(STATE, 'inventory.ini'), os.path.join(HERE, playbook)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    if interrupt_after is not None:
        time.sleep(interrupt_after)
        if sig == signal.SIGINT:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does to the foreground process group
        else:
            os.kill(proc.pid, sig)  # ansible-playbook alone: nothing of it gets to clean up
    try:
        out = proc.communicate(timeout=120)[0]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        try:
            out = proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            # A process outside its group (a multiplexer in a session of its own) still holds
            # its output open: stop reading rather than wait for ever (and hold the lock).
            assert proc.stdout is not None
            proc.stdout.close()
            proc.wait()
            out = '(its output was still held open by another process)'
        return -1, out + '\n(timed out)', proc.pid
    return proc.returncode, out, proc.pid


def runtime_dirs(controller: int) -> list[str]:
    """The multiplexer's directory for this controller (velocity.mitogen _mux.process), if still there."""
    import tempfile
    base = os.path.join(tempfile.gettempdir(), 'velocity-mitogen-%d' % os.getuid())
    try:
        return [name for name in os.listdir(base) if name.startswith('%d-' % controller)]
    except FileNotFoundError:
        return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--mode', choices=('strategy', 'connection'), default='strategy')
    mode = parser.parse_args().mode
    harness = compare.load_harness()
    # The target's interpreters of other test runs (another group, another work tree) would
    # look like ours: while we hold the lock, no compare.py run starts any.
    with harness.user_state_lock():
        harness.up(PORT, STATE, 11)
        return check(mode)


def check(mode: str) -> int:
    failures = []
    for label, playbook, interrupt, sig, expect_rc in (
            ('normal run', 'fifty.yml', None, None, 0),
            ('failed run', 'failing.yml', None, None, 2),
            ('SIGINT during a task', 'slow.yml', 8.0, signal.SIGINT, None),
            ('SIGKILL of ansible-playbook during a task', 'slow.yml', 8.0, signal.SIGKILL, None)):
        before = processes()
        rc, out, controller = run(playbook, interrupt, mode, sig or signal.SIGINT)
        left = settle(before)
        deadline = time.monotonic() + 10
        while runtime_dirs(controller) and time.monotonic() < deadline:
            time.sleep(0.25)
        if runtime_dirs(controller):
            failures.append('%s: the multiplexer left its runtime directory behind: %s'
                            % (label, ', '.join(runtime_dirs(controller))))
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
            print('PASS %s (%s mode): rc=%s, nothing left behind' % (label, mode, rc))
    for failure in failures:
        print('FAIL ' + failure)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
