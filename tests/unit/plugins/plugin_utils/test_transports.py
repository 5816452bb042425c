# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The transport records: what differs between ssh and local, as stock's plugins do it."""

from __future__ import annotations

import pickle

import pytest

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _hops, _transports

SSH_OPTIONS = {
    'host': 'web1', 'port': 22, 'remote_user': 'deploy', 'private_key_file': None, 'password': None, 'ssh_executable': 'ssh',
    'ssh_args': '', 'ssh_common_args': '', 'ssh_extra_args': '', 'host_key_checking': False, 'timeout': 10,
    'use_tty': True,
}
PYTHON = {'path': ['/usr/bin/python3']}


def options(**overrides):
    return dict(SSH_OPTIONS, **overrides).get


def test_the_stock_plugins_they_stand_in_for():
    assert (_transports.SSH.name, _transports.SSH.stock_plugin) == ('ssh', 'ansible.builtin.ssh')
    assert (_transports.LOCAL.name, _transports.LOCAL.stock_plugin) == ('local', 'ansible.builtin.local')


def test_ssh_commands_run_through_the_login_shell_local_through_sh():
    assert _transports.SSH.via_sh is False
    assert _transports.LOCAL.via_sh is True


def test_local_only_flags():
    assert _transports.LOCAL.shell_become_by_stock and _transports.LOCAL.modules_in_playbook_dir
    assert not _transports.SSH.shell_become_by_stock and not _transports.SSH.modules_in_playbook_dir


def test_transports_are_records():
    with pytest.raises(AttributeError):
        _transports.SSH.via_sh = True
    assert 'Transport(name=' in repr(_transports.SSH)


# -- the terminal rule ------------------------------------------------------------


def test_ssh_terminal_rule_is_stocks():
    for in_data, sudoable, use_tty, tty in [
        (None, True, True, True),        # ssh -tt
        (b'', True, True, True),         # empty stdin is no stdin
        (b'data', True, True, False),    # stdin to feed: no terminal
        (None, False, True, False),      # not sudoable
        (None, True, False, False),      # use_tty off
        (None, True, None, False),
    ]:
        assert _transports.SSH.wants_tty(options(use_tty=use_tty), in_data, sudoable) is tty, (in_data, sudoable, use_tty)


def test_local_never_uses_a_terminal():
    for in_data, sudoable in [(None, True), (b'x', True), (None, False)]:
        assert _transports.LOCAL.wants_tty(options(), in_data, sudoable) is False


# -- become timeouts ---------------------------------------------------------------


def test_ssh_become_timeout_is_select_wait_of_stock():
    for timeout, seconds in [(10, 12), (30, 32), ('5', 7), (None, 12), (0, 12)]:
        assert _transports.SSH.become_timeout(options(timeout=timeout)) == (
            seconds, 'Timeout (%ds) waiting for privilege escalation prompt: ' % seconds), timeout


def test_local_become_timeout_is_become_success_timeout():
    for value, seconds in [(None, 10), (0, 10), (-3, 10), (1, 1), (25, 25), ('7', 7)]:
        get = {'become_success_timeout': value}.get
        assert _transports.LOCAL.become_timeout(get) == (
            seconds, 'Timed out waiting for become success or become password prompt.'), value


# -- first hop and announcement ----------------------------------------------------


def test_ssh_first_hop():
    hop = _transports.SSH.first_hop(options(), PYTHON)
    assert hop == _hops.ssh_hop(options(), PYTHON)
    assert hop.method == 'ssh' and hop.kwargs['hostname'] == 'web1'


def test_local_first_hop_is_one_interpreter_per_inventory_host():
    web1 = _transports.LOCAL.first_hop({'host': 'web1'}.get, PYTHON)
    web2 = _transports.LOCAL.first_hop({'host': 'web2'}.get, PYTHON)
    assert web1.method == web2.method == 'local'
    assert web1.key != web2.key and web1 == _hops.local_hop(PYTHON, 'web1')


def test_ssh_announces_as_stock_at_vvv():
    lines = _transports.SSH.announce(options())
    assert lines[0] == 'ESTABLISH SSH CONNECTION FOR USER: deploy'
    assert lines[1].startswith('SSH: EXEC ssh ') and lines[1].endswith(' web1')


def test_ssh_announce_without_a_usable_host_names_the_user_only():
    assert _transports.SSH.announce(options(host='')) == ['ESTABLISH SSH CONNECTION FOR USER: deploy']


def test_ssh_announce_never_shows_the_password():
    assert 'pw-S3KR1T' not in ' '.join(_transports.SSH.announce(options(password='pw-S3KR1T')))


def test_local_announces_nothing():
    assert _transports.LOCAL.announce(options()) == []


def test_hops_from_transports_pickle():
    hop = _transports.SSH.first_hop(options(password='pw'), PYTHON)
    assert pickle.loads(pickle.dumps(hop)) == hop
