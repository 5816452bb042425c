# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Worker side of the link to the multiplexer: one blocking request per operation.

This plugin util is PRIVATE to the collection. A forked worker inherits
:data:`MUX_PATH` from the controller; it opens one UNIX socket and needs no
Mitogen broker, thread or handshake of its own.
"""

from __future__ import annotations

import socket
import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _wire

MUX_PATH: str | None = None
CONNECT_TIMEOUT = 30.0
# The multiplexer bounds every call it makes; this only catches a multiplexer that hangs.
REQUEST_TIMEOUT = 24 * 3600.0 + 120.0


class LinkError(Exception):
    """The multiplexer answered with an error of some kind."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class NotRunning(Exception):
    """No multiplexer: the velocity.mitogen strategy is not active."""


class Link:
    def __init__(self, path: str | None = None) -> None:
        path = path or MUX_PATH
        if not path:
            raise NotRunning(
                'velocity.mitogen connection plugins need a velocity.mitogen strategy: set '
                'strategy: velocity.mitogen.linear (or free/host_pinned) for this play'
            )
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect(path)
        except OSError as exc:
            sock.close()
            raise NotRunning('cannot reach the velocity.mitogen multiplexer at %s: %s' % (path, exc)) from None
        # Requests may legitimately take as long as a module runs; the
        # multiplexer enforces the per-call timeout and a dead mux closes the socket.
        sock.settimeout(REQUEST_TIMEOUT)
        self._sock: socket.socket | None = sock

    def request(self, op: str, **kwargs: t.Any) -> t.Any:
        if self._sock is None:
            raise NotRunning('the link to the velocity.mitogen multiplexer is closed')
        try:
            _wire.send(self._sock, (op, kwargs))
            kind, value = _wire.recv(self._sock)
        except (OSError, _wire.LinkClosed) as exc:
            self.close()
            raise LinkError('unreachable', 'lost the link to the velocity.mitogen multiplexer: %s' % (exc,)) from None
        if kind != 'ok':
            raise LinkError(kind, value)
        return value

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
