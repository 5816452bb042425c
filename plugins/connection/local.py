# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: local
short_description: Run tasks on the controller through a persistent Mitogen interpreter
description:
  - Runs tasks on the control node, like M(ansible.builtin.local), but through one persistent Python
    interpreter per become account that keeps module code cached between tasks.
  - Used automatically for C(local) connections while a C(velocity.mitogen) strategy runs.
author:
  - velocity.mitogen team (@velocity-mitogen)
version_added: 0.1.0
extends_documentation_fragment:
  - velocity.mitogen._connection
  - ansible.builtin.connection_pipelining
options:
  host:
    description:
      - The inventory host a task runs for. Each one gets its own persistent interpreter on the controller,
        so that hosts run in parallel as they do with M(ansible.builtin.local).
    type: string
    default: localhost
    vars:
      - name: inventory_hostname
  become_success_timeout:
    description:
      - Number of seconds to wait for become to succeed when enabled, as for M(ansible.builtin.local).
      - The default is used if the configured value is less than 1.
    type: int
    default: 10
    vars:
      - name: ansible_local_become_success_timeout
  become_strip_preamble:
    description:
      - Strip internal become output preceding command execution, as for M(ansible.builtin.local).
      - Shell commands run with become (M(ansible.builtin.raw), M(ansible.builtin.script)) go through
        M(ansible.builtin.local), so this applies to them exactly as there.
    type: bool
    default: true
    vars:
      - name: ansible_local_become_strip_preamble
notes:
  - Needs one of the C(velocity.mitogen) strategies, which run the connection multiplexer.
"""

EXAMPLES = r"""
- name: Run a play on the controller
  hosts: localhost
  connection: local
  strategy: velocity.mitogen.linear
  tasks:
    - ansible.builtin.ping:
"""

from ansible_collections.velocity.mitogen.plugins.plugin_utils._connection import MitogenConnectionBase
from ansible_collections.velocity.mitogen.plugins.plugin_utils._hops import local_hop


class Connection(MitogenConnectionBase):
    """Local connection through a persistent Mitogen interpreter."""

    transport = 'local'
    via_sh = True

    def _first_hop(self, python):
        return local_hop(python, self.get_option('host'))

    def exec_command(self, cmd, in_data=None, sudoable=True):
        # A shell command with become on the controller goes through ansible.builtin.local:
        # what the become wrapper prints around each command (the preamble that
        # become_strip_preamble is about) is part of its result there. Modules still
        # run in the become account's persistent interpreter.
        if self._become_next and sudoable and self.become is not None:
            self._become_next = False
            stock = self._stock_connection()
            return stock.exec_command(self._stock_become(stock, True, cmd), in_data, sudoable)
        return super().exec_command(cmd, in_data=in_data, sudoable=sudoable)

    def _become_timeout(self):
        timeout = self.get_option('become_success_timeout')
        if timeout is None or int(timeout) < 1:
            timeout = 10
        return int(timeout), 'Timed out waiting for become success or become password prompt.'
