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


def login_shell():
    """The shell sshd would use for a command: the user's shell from passwd."""
    try:
        shell = pwd.getpwuid(os.geteuid()).pw_shell
    except KeyError:
        shell = None
    return shell or '/bin/sh'


def run_command(cmd, in_data=None, via_sh=False, timeout=None):
    """Run ``cmd`` like ssh (login shell) or sudo (``/bin/sh -c``) would.

    Returns ``(rc, stdout, stderr)`` as bytes. ``in_data`` is fed to stdin, which
    is then closed, so a command reading stdin never waits forever.
    """
    shell = '/bin/sh' if via_sh else login_shell()
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
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        stderr += b'\nvelocity.mitogen: command timed out after %ds\n' % timeout
    return proc.returncode, stdout, stderr
