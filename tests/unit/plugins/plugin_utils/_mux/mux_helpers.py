# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers shared by the multiplexer's unit tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import socket
import struct
import sys
import threading

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _hops

TIMEOUT = 15.0


def local_hop(host='unit', python=None):
    """A hop to a fresh interpreter on this machine, one per ``host``."""
    return _hops.local_hop(python or {'path': [sys.executable]}, host)


def bounded(function, *args, timeout=TIMEOUT):
    """Run ``function`` on a thread and give up waiting after ``timeout`` (False then)."""
    outcome = {}

    def run():
        try:
            outcome['value'] = function(*args)
        except BaseException as exc:  # pylint: disable=broad-except
            outcome['error'] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return False
    if 'error' in outcome:
        raise outcome['error']
    return True


def peer_pid(sock):
    """The PID of the process that listens at the other end of a UNIX socket (Linux)."""
    return struct.unpack('3i', sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i')))[0]
