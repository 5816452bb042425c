# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Worker side of the link to the multiplexer: one method per operation of ``_wire``.

This plugin util is PRIVATE to the collection. A worker opens one UNIX socket
to its controller's multiplexer (starting it if it is the first to need it) and
needs no Mitogen broker, thread or handshake of its own. Each method sends one
request record, by name, and waits for its reply.
"""

from __future__ import annotations

import socket
import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _wire
from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import process as _process

# The multiplexer bounds every call it makes; this only catches a multiplexer that hangs.
REQUEST_TIMEOUT = 24 * 3600.0 + 120.0
Plan = _wire.Plan


class Link:
    def __init__(self, sock: socket.socket) -> None:
        # Requests may legitimately take as long as a module runs; the
        # multiplexer enforces the per-call timeout and a dead mux closes the socket.
        sock.settimeout(REQUEST_TIMEOUT)
        self._sock: socket.socket | None = sock

    @classmethod
    def open(cls, start: bool = True) -> 'Link | None':
        """A link to this controller's multiplexer, started if need be (else None if none runs)."""
        sock = _process.connect(start)
        return None if sock is None else cls(sock)

    def _call(self, request: _wire.Request) -> t.Any:
        if self._sock is None:
            raise _wire.Failure(_wire.ErrorKind.UNREACHABLE, 'the link to the velocity.mitogen multiplexer is closed')
        try:
            _wire.send(self._sock, request)
            reply = _wire.recv(self._sock)
        except (OSError, _wire.LinkClosed) as exc:
            self.close()
            raise _wire.Failure(_wire.ErrorKind.UNREACHABLE,
                                'lost the link to the velocity.mitogen multiplexer: %s' % (exc,)) from None
        if reply.kind != _wire.Reply.OK:
            raise _wire.Failure(reply.kind, reply.value)
        return reply.value

    def exec(self, *, plan: Plan, cmd: str, in_data: bytes | None, via_sh: bool, tty: bool) -> tuple[int, bytes, bytes]:
        return self._call(_wire.Exec(plan=plan, cmd=cmd, in_data=in_data, via_sh=via_sh, tty=tty))

    def run_module(self, *, plan: Plan, module_path: str, fqn: str, json_params: str, profile: str,
                   env: dict[str, str], secrets: list[str] | None, chdir: str | None,
                   module_utils_paths: list[str], rlimit_nofile: int) -> dict:
        return self._call(_wire.RunModule(
            plan=plan, module_path=module_path, fqn=fqn, json_params=json_params, profile=profile, env=env,
            secrets=secrets, chdir=chdir, module_utils_paths=module_utils_paths, rlimit_nofile=rlimit_nofile))

    def make_tmp(self, *, plan: Plan, base: str, basefile: str, system: bool) -> str:
        return self._call(_wire.MakeTmp(plan=plan, base=base, basefile=basefile, system=system))

    def remove_tree(self, *, plan: Plan, path: str) -> None:
        self._call(_wire.RemoveTree(plan=plan, path=path))

    def chmod(self, *, plan: Plan, paths: list[str], mode: str) -> None:
        self._call(_wire.Chmod(plan=plan, paths=paths, mode=mode))

    def put(self, *, plan: Plan, src: str, dest: str) -> None:
        self._call(_wire.Put(plan=plan, src=src, dest=dest))

    def fetch(self, *, plan: Plan, src: str, dest: str) -> None:
        self._call(_wire.Fetch(plan=plan, src=src, dest=dest))

    def reset(self, *, plan: Plan) -> None:
        self._call(_wire.Reset(plan=plan))

    def retire_account(self, *, plan: Plan, username: str) -> None:
        self._call(_wire.RetireAccount(plan=plan, username=username))

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
