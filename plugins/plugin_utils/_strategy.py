# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the velocity.mitogen strategies add to ansible-core's own strategies.

This plugin util is PRIVATE to the collection. The first strategy object of a
run starts the multiplexer before any worker is forked (later plays reuse it,
as stock reuses ssh ControlPersist masters) and stops it when the controller
exits. Each strategy run installs the ``_hooks`` patches, which also carry
unedited ``ssh``/``smart``/``local`` inventories, and removes them when it ends.
"""

from __future__ import annotations

import atexit
import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _ansible_compat, _hooks
from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import process as _process

_started = False


def ensure_multiplexer() -> None:
    global _started
    if not _started:
        sock = _process.connect(start=True)
        if sock is not None:
            sock.close()
        atexit.register(_process.stop_started)
        _started = True


class StrategyMixin:
    """Mixed in front of an ansible.builtin strategy class."""

    def __init__(self, tqm: t.Any) -> None:
        _ansible_compat.check_version()
        # Fork the multiplexer before the base class starts its results thread.
        ensure_multiplexer()
        super().__init__(tqm)  # type: ignore[call-arg]
        # Load our connection plugins (module and parsed option docs) once here:
        # forked workers inherit them instead of loading them for every task.
        _ansible_compat.preload_for_workers()

    def run(self, iterator: t.Any, play_context: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        with _hooks.for_run():
            return super().run(iterator, play_context, *args, **kwargs)  # type: ignore[misc]
