# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The worker <-> multiplexer protocol: request records, error kinds and framing.

This plugin util is PRIVATE to the collection. Every operation a worker can ask
of the multiplexer is one request record below, declared once: the worker's
link builds it (``_link``), the multiplexer's op table dispatches on its type
(``_mux.server``). Both ends are processes of the same controller run and user,
over a UNIX socket in a 0700 directory whose peer is checked, so frames are
pickles: no Mitogen broker is needed in a worker, which keeps a cached task
down to one cheap request.
"""

from __future__ import annotations

import pickle
import socket
import struct
import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils._hops import Hop
from ansible_collections.velocity.mitogen.plugins.plugin_utils._record import Record

_HEADER = struct.Struct('>I')
MAX_FRAME = 1 << 31

Plan = t.List[Hop]  # the hops from the controller to the account a request runs as


class ErrorKind:
    """Why a request failed; the worker turns each kind into the exception stock raises."""

    UNREACHABLE = 'unreachable'                  # AnsibleConnectionFailure: the host is unreachable
    INTERPRETER_MISSING = 'interpreter_missing'  # the configured Python does not exist there
    BECOME_FAILED = 'become_failed'              # the become login was refused (a task failure)
    ERROR = 'error'                              # anything else (a task failure)


class Failure(Exception):
    """A request that failed, on either side of the link."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Request(Record):
    """Base of every request record."""

    __slots__ = ()
    op: t.ClassVar[str] = ''


class Exec(Request):
    """Run a shell command as the last hop's account."""

    __slots__ = ('plan', 'cmd', 'in_data', 'via_sh', 'tty')
    _secret = ('in_data',)
    op: t.ClassVar[str] = 'exec'
    plan: Plan
    cmd: str
    in_data: bytes | None
    via_sh: bool
    tty: bool


class RunModule(Request):
    """Run a new-style Python module in the persistent interpreter."""

    __slots__ = ('plan', 'module_path', 'fqn', 'json_params', 'profile', 'env', 'secrets', 'chdir',
                 'module_utils_paths', 'rlimit_nofile')
    _secret = ('json_params', 'env', 'secrets')
    op: t.ClassVar[str] = 'run_module'
    plan: Plan
    module_path: str
    fqn: str
    json_params: str
    profile: str
    env: dict[str, str]
    secrets: list[str] | None
    chdir: str | None
    module_utils_paths: list[str]
    rlimit_nofile: int


class MakeTmp(Request):
    """Create a task temp dir (named as stock names it) without waiting for the target."""

    __slots__ = ('plan', 'base', 'basefile', 'system')
    op: t.ClassVar[str] = 'make_tmp'
    plan: Plan
    base: str
    basefile: str
    system: bool


class RemoveTree(Request):
    __slots__ = ('plan', 'path')
    op: t.ClassVar[str] = 'remove_tree'
    plan: Plan
    path: str


class Chmod(Request):
    __slots__ = ('plan', 'paths', 'mode')
    op: t.ClassVar[str] = 'chmod'
    plan: Plan
    paths: list[str]
    mode: str


class Put(Request):
    """Copy a controller file to the target, atomically."""

    __slots__ = ('plan', 'src', 'dest')
    op: t.ClassVar[str] = 'put'
    plan: Plan
    src: str
    dest: str


class Fetch(Request):
    """Copy a target file to the controller, atomically."""

    __slots__ = ('plan', 'src', 'dest')
    op: t.ClassVar[str] = 'fetch'
    plan: Plan
    src: str
    dest: str


class Reset(Request):
    """Retire the interpreters at and behind the plan's end (reset_connection)."""

    __slots__ = ('plan',)
    op: t.ClassVar[str] = 'reset'
    plan: Plan


class RetireAccount(Request):
    """Retire the interpreters running as ``username`` behind the plan's login."""

    __slots__ = ('plan', 'username')
    op: t.ClassVar[str] = 'retire_account'
    plan: Plan
    username: str


REQUESTS: tuple[type[Request], ...] = (Exec, RunModule, MakeTmp, RemoveTree, Chmod, Put, Fetch, Reset, RetireAccount)


class Reply(Record):
    """The answer to one request: ``kind`` is 'ok' or an :class:`ErrorKind` value."""

    __slots__ = ('kind', 'value')
    kind: str
    value: t.Any

    OK: t.ClassVar[str] = 'ok'


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


def recv(sock: socket.socket) -> t.Any:
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    if size > MAX_FRAME:
        raise LinkClosed('frame of %d bytes is too large' % size)
    return pickle.loads(_recv_exact(sock, size))
