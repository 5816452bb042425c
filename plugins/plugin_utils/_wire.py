# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Framing for the worker <-> multiplexer link.

This plugin util is PRIVATE to the collection. Both ends are processes of the
same controller run, of the same user, over a UNIX socket in a 0700 directory,
so frames are pickles: no Mitogen broker is needed in a worker, which is what
keeps a cached task down to one cheap request.
"""

from __future__ import annotations

import pickle
import socket
import struct

_HEADER = struct.Struct('>I')
MAX_FRAME = 1 << 31


class LinkClosed(EOFError):
    """The other end went away."""


def send(sock: socket.socket, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)) + data)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise LinkClosed('connection closed by peer')
        chunks.append(chunk)
        size -= len(chunk)
    return b''.join(chunks)


def recv(sock: socket.socket) -> object:
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    if size > MAX_FRAME:
        raise LinkClosed('frame of %d bytes is too large' % size)
    return pickle.loads(_recv_exact(sock, size))
