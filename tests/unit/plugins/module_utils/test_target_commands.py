# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.velocity.mitogen.plugins.module_utils import _target_commands as commands


def test_separate_streams_and_rc():
    rc, out, err = commands.run_command('echo out; echo err >&2; exit 3', via_sh=True)
    assert (rc, out, err) == (3, b'out\n', b'err\n')


def test_stdin_is_fed_then_closed():
    rc, out, err = commands.run_command('cat; cat', in_data=b'data', via_sh=True)
    assert (rc, out) == (0, b'data')


def test_tty_merges_streams_with_crlf_like_ssh_tt():
    rc, out, err = commands.run_command('echo out; echo err >&2; test -t 1', via_sh=True, tty=True)
    assert rc == 0
    assert out == b'out\r\nerr\r\n' and err == b''


def test_timeout_kills_and_says_so():
    rc, out, err = commands.run_command('sleep 5', via_sh=True, timeout=1)
    assert rc != 0 and b'timed out' in err
