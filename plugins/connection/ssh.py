# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: ssh
short_description: Run tasks over one SSH connection per target through a persistent Mitogen interpreter
description:
  - Connects with the OpenSSH client once per target and starts one persistent Python interpreter there,
    plus one per become account, reused by every task of the run. Module code is uploaded once and cached.
  - Honours the options of M(ansible.builtin.ssh) listed here, read from the same variables, C(ansible.cfg)
    settings, environment variables and command line options.
  - Set it as a host's connection (C(ansible_connection=velocity.mitogen.ssh)) under any ansible.builtin strategy
    (connection-only mode), or let a C(velocity.mitogen) strategy use it for C(ssh) and C(smart) connections.
author:
  - velocity.mitogen team (@velocity-mitogen)
version_added: 0.1.0
extends_documentation_fragment:
  - velocity.mitogen._connection
notes:
  - The first task that needs it starts the connection multiplexer, which ends with the controller.
  - C(ControlMaster), C(ControlPersist) and C(ControlPath) in the ssh arguments are dropped, because the
    one connection is kept open for the whole run and none is left behind after it.
options:
  host:
    description: Hostname or address to connect to.
    type: string
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
      - name: ansible_ssh_host
      - name: delegated_vars['ansible_host']
      - name: delegated_vars['ansible_ssh_host']
  port:
    description: Remote port to connect to.
    type: int
    ini:
      - section: defaults
        key: remote_port
    env:
      - name: ANSIBLE_REMOTE_PORT
    vars:
      - name: ansible_port
      - name: ansible_ssh_port
    keyword:
      - name: port
  remote_user:
    description: User name to log in as.
    type: string
    ini:
      - section: defaults
        key: remote_user
    env:
      - name: ANSIBLE_REMOTE_USER
    vars:
      - name: ansible_user
      - name: ansible_ssh_user
    cli:
      - name: user
    keyword:
      - name: remote_user
  private_key_file:
    description: Path to the private key to authenticate with.
    type: string
    ini:
      - section: defaults
        key: private_key_file
    env:
      - name: ANSIBLE_PRIVATE_KEY_FILE
    vars:
      - name: ansible_private_key_file
      - name: ansible_ssh_private_key_file
    cli:
      - name: private_key_file
        option: '--private-key'
  password:
    description: Password to authenticate with. It is answered at the ssh prompt and never logged.
    type: string
    vars:
      - name: ansible_password
      - name: ansible_ssh_pass
      - name: ansible_ssh_password
  ssh_executable:
    description: The OpenSSH client to run.
    type: string
    default: ssh
    ini:
      - section: ssh_connection
        key: ssh_executable
    env:
      - name: ANSIBLE_SSH_EXECUTABLE
    vars:
      - name: ansible_ssh_executable
  ssh_args:
    description: Arguments for every ssh invocation.
    type: string
    default: '-C -o ControlMaster=auto -o ControlPersist=60s'
    ini:
      - section: ssh_connection
        key: ssh_args
    env:
      - name: ANSIBLE_SSH_ARGS
    vars:
      - name: ansible_ssh_args
  ssh_common_args:
    description: Common extra arguments for ssh.
    type: string
    default: ''
    ini:
      - section: ssh_connection
        key: ssh_common_args
    env:
      - name: ANSIBLE_SSH_COMMON_ARGS
    vars:
      - name: ansible_ssh_common_args
    cli:
      - name: ssh_common_args
  ssh_extra_args:
    description: Extra arguments exclusive to ssh.
    type: string
    default: ''
    ini:
      - section: ssh_connection
        key: ssh_extra_args
    env:
      - name: ANSIBLE_SSH_EXTRA_ARGS
    vars:
      - name: ansible_ssh_extra_args
    cli:
      - name: ssh_extra_args
  host_key_checking:
    description: Whether the target's host key must be known and match.
    type: boolean
    default: true
    ini:
      - section: defaults
        key: host_key_checking
      - section: ssh_connection
        key: host_key_checking
    env:
      - name: ANSIBLE_HOST_KEY_CHECKING
      - name: ANSIBLE_SSH_HOST_KEY_CHECKING
    vars:
      - name: ansible_host_key_checking
      - name: ansible_ssh_host_key_checking
  timeout:
    description: Seconds to wait for the SSH connection and the interpreter on the target to come up.
    type: integer
    default: 10
    ini:
      - section: defaults
        key: timeout
      - section: ssh_connection
        key: timeout
    env:
      - name: ANSIBLE_TIMEOUT
      - name: ANSIBLE_SSH_TIMEOUT
    vars:
      - name: ansible_ssh_timeout
    cli:
      - name: timeout
  use_tty:
    description:
      - Run commands (C(raw), C(script), ...) on a pseudo-terminal, as the stock plugin's C(-tt) does,
        so their stderr is merged into stdout exactly as stock returns it.
    type: bool
    default: true
    env:
      - name: ANSIBLE_SSH_USETTY
    ini:
      - section: ssh_connection
        key: usetty
    vars:
      - name: ansible_ssh_use_tty
  pipelining:
    description: Accepted for compatibility; modules never need a file on the target with this plugin.
    type: boolean
    default: false
    ini:
      - section: defaults
        key: pipelining
      - section: connection
        key: pipelining
      - section: ssh_connection
        key: pipelining
    env:
      - name: ANSIBLE_PIPELINING
      - name: ANSIBLE_SSH_PIPELINING
    vars:
      - name: ansible_pipelining
      - name: ansible_ssh_pipelining
"""

EXAMPLES = r"""
# Connection-only mode: set the connection, keep ansible-core's own strategies.
# In an inventory:   web1 ansible_connection=velocity.mitogen.ssh
- hosts: webservers
  connection: velocity.mitogen.ssh
  tasks:
    - ansible.builtin.command: uptime

# Or with the strategy, which carries unedited ssh inventories.
- hosts: webservers
  strategy: velocity.mitogen.linear
  tasks:
    - ansible.builtin.command: uptime
"""

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _fastload

_fastload.prepare(__name__, DOCUMENTATION)  # before anything else of ours: see _fastload

from ansible_collections.velocity.mitogen.plugins.plugin_utils._connection import MitogenConnection  # noqa: E402
from ansible_collections.velocity.mitogen.plugins.plugin_utils._transports import SSH  # noqa: E402


class Connection(MitogenConnection):
    """SSH connection through a persistent Mitogen interpreter."""

    transport = 'ssh'
    record = SSH
