# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What differs between the connection types we carry, as one record each.

This plugin util is PRIVATE to the collection. The connection class in
``_connection`` is the same for every transport; it reads these records for the
first hop, the stock plugin's terminal rule, how long stock waits for become and
what it says then, and where stock's own plugin must run a command. A new
transport is a new record, not a subclass.
"""

from __future__ import annotations

import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _hops
from ansible_collections.velocity.mitogen.plugins.plugin_utils._record import Record

OptionGetter = t.Callable[[str], t.Any]


class Transport(Record):
    __slots__ = ('name', 'stock_plugin', 'via_sh', 'first_hop', 'wants_tty', 'become_timeout', 'announce',
                 'shell_become_by_stock', 'modules_in_playbook_dir')
    _defaults = {'shell_become_by_stock': False, 'modules_in_playbook_dir': False}
    name: str                     # the stock plugin's transport name
    stock_plugin: str             # the stock plugin this one stands in for
    via_sh: bool                  # True: commands run through /bin/sh; False: through the login shell (sshd)
    first_hop: t.Callable[[OptionGetter, _hops.PythonSpec], _hops.Hop]
    wants_tty: t.Callable[[OptionGetter, t.Optional[bytes], bool], bool]  # stock runs this command on a terminal
    become_timeout: t.Callable[[OptionGetter], t.Tuple[int, str]]       # seconds, and stock's words then
    announce: t.Callable[[OptionGetter], t.List[str]]                   # what stock says at -vvv on connecting
    shell_become_by_stock: bool    # shell commands with become go through the stock plugin
    modules_in_playbook_dir: bool  # modules start in the playbook directory, as local's do


def _ssh_become_timeout(get_option: OptionGetter) -> tuple[int, str]:
    # ssh.py's _bare_run: select() waits 2 + timeout while escalating.
    timeout = 2 + int(get_option('timeout') or 10)
    return timeout, 'Timeout (%ds) waiting for privilege escalation prompt: ' % timeout


def _ssh_announce(get_option: OptionGetter) -> list[str]:
    lines = ['ESTABLISH SSH CONNECTION FOR USER: %s' % (get_option('remote_user'),)]
    try:
        lines.append('SSH: EXEC %s' % _hops.ssh_command_line(_hops.ssh_kwargs(get_option)))
    except _hops.HopError:
        pass  # reported when the hop is used
    return lines


def _local_become_timeout(get_option: OptionGetter) -> tuple[int, str]:
    timeout = get_option('become_success_timeout')
    if timeout is None or int(timeout) < 1:
        timeout = 10
    return int(timeout), 'Timed out waiting for become success or become password prompt.'


SSH = Transport(
    name='ssh',
    stock_plugin='ansible.builtin.ssh',
    via_sh=False,
    first_hop=_hops.ssh_hop,
    # ssh.py: `if not in_data and sudoable and use_tty: args = ('-tt', ...)`
    wants_tty=lambda get_option, in_data, sudoable: not in_data and sudoable and bool(get_option('use_tty')),
    become_timeout=_ssh_become_timeout,
    announce=_ssh_announce,
)

LOCAL = Transport(
    name='local',
    stock_plugin='ansible.builtin.local',
    via_sh=True,
    first_hop=lambda get_option, python: _hops.local_hop(python, get_option('host')),
    wants_tty=lambda get_option, in_data, sudoable: False,
    become_timeout=_local_become_timeout,
    announce=lambda get_option: [],
    # What the become wrapper prints around each command (the preamble that
    # become_strip_preamble is about) is part of the result with ansible.builtin.local.
    shell_become_by_stock=True,
    modules_in_playbook_dir=True,
)
