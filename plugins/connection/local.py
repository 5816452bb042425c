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
  - Set it as a host's connection (C(ansible_connection=velocity.mitogen.local)) under any ansible.builtin strategy
    (connection-only mode), or let a C(velocity.mitogen) strategy use it for C(local) connections.
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
  - The first task that needs it starts the connection multiplexer, which ends with the controller.
"""

EXAMPLES = r"""
- name: Run a play on the controller
  hosts: localhost
  connection: velocity.mitogen.local
  tasks:
    - ansible.builtin.ping:
"""

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _fastload

_fastload.prepare(__name__, DOCUMENTATION)  # before anything else of ours: see _fastload

from ansible_collections.velocity.mitogen.plugins.plugin_utils._connection import MitogenConnection  # noqa: E402
from ansible_collections.velocity.mitogen.plugins.plugin_utils._transports import LOCAL  # noqa: E402


class Connection(MitogenConnection):
    """Local connection through a persistent Mitogen interpreter."""

    transport = 'local'
    record = LOCAL
