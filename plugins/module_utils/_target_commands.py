# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: shell commands run the way sshd or sudo would have run them.

This module util is PRIVATE to the collection. It runs inside the persistent
interpreter on the target and imports only the standard library.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import typing as t


def login_shell() -> str:
    """The shell sshd would use for a command: the user's shell from passwd."""
    try:
        shell = pwd.getpwuid(os.geteuid()).pw_shell
    except KeyError:
        shell = None
    return shell or '/bin/sh'


def run_command(cmd: str, in_data: bytes | None = None, via_sh: bool = False, timeout: float | None = None,
                tty: bool = False) -> tuple[int, bytes, bytes]:
    """Run ``cmd`` like ssh (login shell) or sudo (``/bin/sh -c``) would.

    Returns ``(rc, stdout, stderr)`` as bytes. ``in_data`` is fed to stdin, which
    is then closed, so a command reading stdin never waits forever. With ``tty``
    the command gets a pseudo-terminal, as ``ssh -tt`` gives it: stderr is merged
    into stdout and newlines come back as CRLF.
    """
    shell = '/bin/sh' if via_sh else login_shell()
    if tty:
        return _run_on_pty([shell, '-c', cmd], timeout)
    # This is the shell an ssh session would run, not a module: run_command does not apply.
    proc = subprocess.Popen(  # pylint: disable=ansible-bad-function
        [shell, '-c', cmd],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        close_fds=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(in_data or b'', timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        stdout, stderr = proc.communicate()
        stderr += b'\nvelocity.mitogen: command timed out after %ds\n' % exc.timeout
    return proc.returncode, stdout, stderr


def _run_on_pty(argv: t.Sequence[str], timeout: float | None) -> tuple[int, bytes, bytes]:
    import pty
    import select
    import time

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(  # pylint: disable=ansible-bad-function
            argv, stdin=slave, stdout=slave, stderr=slave, close_fds=True, start_new_session=True)
    finally:
        os.close(slave)
    chunks: list[bytes] = []
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if wait == 0.0:
                proc.kill()
                # Only a deadline makes the wait 0.0: there is a timeout.
                chunks.append(b'\r\nvelocity.mitogen: command timed out after %ds\r\n' % t.cast(float, timeout))
                break
            ready = select.select([master], [], [], wait)[0]
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal has gone
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    return proc.wait(), b''.join(chunks), b''
