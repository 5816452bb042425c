# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: free
short_description: ansible.builtin.free, with tasks run through persistent Mitogen interpreters
description:
  - Task execution is as fast as possible per batch, as the stock C(ansible.builtin.free) strategy, with the same results.
  - Every task reaches its target through one persistent Python interpreter per target and become account,
    over a single SSH connection (or a local process). Module code is uploaded once and cached there.
  - C(ssh), C(smart) and C(local) connections are carried by the C(velocity.mitogen.ssh) and C(velocity.mitogen.local) connection plugins
    while this strategy runs; other connection types work as they do with the stock strategy.
version_added: 0.1.0
author:
  - velocity.mitogen team (@velocity-mitogen)
notes:
  - Upstream Mitogen's name C(mitogen_free) redirects here.
"""

EXAMPLES = r"""
- hosts: all
  strategy: velocity.mitogen.free
  tasks:
    - ansible.builtin.ping:
"""

from ansible.plugins.strategy.free import StrategyModule as _StockStrategy

from ansible_collections.velocity.mitogen.plugins.plugin_utils._strategy import StrategyMixin


class StrategyModule(StrategyMixin, _StockStrategy):
    pass
