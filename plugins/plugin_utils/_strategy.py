# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the velocity.mitogen strategies add to ansible-core's own strategies.

This plugin util is PRIVATE to the collection. The first strategy object of a
run starts the multiplexer (later plays reuse it, as stock reuses ssh
ControlPersist masters) and installs the hooks listed in ``_ansible_compat``.
The multiplexer stops when the controller exits, however it exits.
"""

from __future__ import annotations

import atexit
import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _ansible_compat, _link, _mux

_multiplexer: _mux.Multiplexer | None = None


def ensure_multiplexer() -> _mux.Multiplexer:
    global _multiplexer
    if _multiplexer is None:
        _multiplexer = _mux.Multiplexer.start()
        _link.MUX_PATH = _multiplexer.path
        atexit.register(stop_multiplexer)
    return _multiplexer


def stop_multiplexer() -> None:
    global _multiplexer
    if _multiplexer is not None:
        multiplexer, _multiplexer = _multiplexer, None
        _link.MUX_PATH = None
        multiplexer.stop()


class StrategyMixin:
    """Mixed in front of an ansible.builtin strategy class."""

    def __init__(self, tqm: t.Any) -> None:
        # Fork the multiplexer before the base class starts its results thread.
        ensure_multiplexer()
        _ansible_compat.install_hooks()
        super().__init__(tqm)  # type: ignore[call-arg]
        # Load our connection plugins (module and parsed option docs) once here:
        # forked workers inherit them instead of loading them for every task.
        _ansible_compat.preload_for_workers()
