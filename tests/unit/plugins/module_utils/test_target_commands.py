# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import subprocess
import threading

import pytest

from ansible_collections.velocity.mitogen.plugins.module_utils import _target_commands as commands


def test_separate_streams_and_rc():
    rc, out, err = commands.run_command('echo out; echo err >&2; exit 3', via_sh=True)
    assert (rc, out, err) == (3, b'out\n', b'err\n')


def _within(seconds, func, *args, **kwargs):
    """func(*args, **kwargs), or a test failure (not a hang) if it has not returned after ``seconds``.

    The call runs in a thread; processes it started are killed if it overruns, so
    nothing is left waiting on a pipe that is never closed.
    """
    outcome = {}
    started = []

    class Popen(subprocess.Popen):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            started.append(self)

    def call():
        try:
            outcome['value'] = func(*args, **kwargs)
        except BaseException as exc:
            outcome['error'] = exc

    saved = commands.subprocess.Popen
    commands.subprocess.Popen = Popen
    try:
        thread = threading.Thread(target=call, daemon=True)
        thread.start()
        thread.join(seconds)
    finally:
        commands.subprocess.Popen = saved
    if thread.is_alive():
        for proc in started:
            proc.kill()
        thread.join(5)
        pytest.fail('%s did not return within %ss' % (func.__name__, seconds))
    if 'error' in outcome:
        raise outcome['error']
    return outcome['value']


def test_stdin_is_fed_then_closed():
    # A command that reads stdin to its end must not wait forever: fail instead of hanging.
    rc, out, err = _within(30, commands.run_command, 'cat; cat', in_data=b'data', via_sh=True)
    assert (rc, out) == (0, b'data')


def test_tty_merges_streams_with_crlf_like_ssh_tt():
    rc, out, err = commands.run_command('echo out; echo err >&2; test -t 1', via_sh=True, tty=True)
    assert rc == 0
    assert out == b'out\r\nerr\r\n' and err == b''


def test_timeout_kills_and_says_so():
    rc, out, err = commands.run_command('sleep 5', via_sh=True, timeout=1)
    assert rc != 0 and b'timed out' in err
