# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The multiplexer's serving loop and op table.

This plugin util is PRIVATE to the collection and runs in the multiplexer.
Each worker's link is served on its own thread (which is how connections to
different hosts are set up in parallel); each request record of ``_wire`` maps
to one handler here, which hands the work to the pool, the module cache or the
file room.

With ``VELOCITY_MITOGEN_STATS`` naming a file, one line per request handled
(its op) is appended to it: tests use it to prove that our path carried a task.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _wire
from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import files as _files
from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import modules as _modules
from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import pool as _pool

LOG = logging.getLogger('velocity.mitogen.mux')
_TIMING = os.environ.get('VELOCITY_MITOGEN_TIMING')
_STATS = os.environ.get('VELOCITY_MITOGEN_STATS')


class Server:
    def __init__(self) -> None:
        from ansible_collections.velocity.mitogen.plugins.module_utils import _mitogen_loader
        _mitogen_loader.load()
        import mitogen.master
        import mitogen.utils
        from ansible_collections.velocity.mitogen.plugins.module_utils import _target_commands, _target_runtime

        # Threads here block on I/O almost at once: let them switch when they block
        # rather than every 5 ms, so a reply reaches its waiting thread without delay.
        mitogen.utils.setup_gil()
        self.broker = mitogen.master.Broker(install_watcher=False)
        self.router = mitogen.master.Router(self.broker, max_message_size=512 << 20)
        # Targets always run the controller's own ansible-core and collections.
        self.router.responder.whitelist_prefix('ansible')
        self.router.responder.whitelist_prefix('ansible_collections')
        self._t_commands = _target_commands
        self._t_runtime = _target_runtime
        self.pool = _pool.Pool(self.router)
        self.modules = _modules.ModuleCache(self.router)
        self.files = _files.Files(self.router, self.pool)
        self.pool.on_disconnect(self.modules.forget)
        self._ops: dict[type, t.Callable[['Session', t.Any], t.Any]] = {
            _wire.Exec: self.exec_,
            _wire.RunModule: self.run_module,
            _wire.MakeTmp: self.files.make_tmp,
            _wire.RemoveTree: self.remove_tree,
            _wire.Chmod: self.chmod,
            _wire.Put: self.files.put,
            _wire.Fetch: self.files.fetch,
            _wire.Reset: self.reset,
            _wire.RetireAccount: self.retire_account,
        }
        if set(self._ops) != set(_wire.REQUESTS):
            raise RuntimeError('every request record of _wire needs exactly one handler here')

    def shutdown(self) -> None:
        self.files.shutdown()
        self.pool.shutdown()
        self.broker.shutdown()
        self.broker.join()

    def serve(self, conn: socket.socket) -> None:
        """Answer one worker's requests, in order, until it hangs up."""
        session = Session()
        try:
            while True:
                try:
                    request = _wire.recv(conn)
                except (_wire.LinkClosed, OSError):
                    return
                reply = self._handle(session, request)
                try:
                    _wire.send(conn, reply)
                except OSError:
                    return
        finally:
            conn.close()
            session.close()

    def _handle(self, session: 'Session', request: t.Any) -> _wire.Reply:
        started = time.perf_counter()
        handler = self._ops.get(type(request))
        try:
            if handler is None:
                raise _wire.Failure(_wire.ErrorKind.ERROR, 'unknown request %r' % (type(request).__name__,))
            reply = _wire.Reply(kind=_wire.Reply.OK, value=handler(session, request))
        except _wire.Failure as exc:
            reply = _wire.Reply(kind=exc.kind, value=exc.message)
        except Exception as exc:  # pylint: disable=broad-except
            reply = _wire.Reply(kind=_wire.ErrorKind.ERROR, value='%s: %s' % (type(exc).__name__, exc))
        op = getattr(request, 'op', '?')
        if _STATS:
            _append(_STATS, '%s\n' % op)
        if _TIMING:
            _append(_TIMING, '%s %.2f\n' % (op, (time.perf_counter() - started) * 1000))
        return reply

    # -- handlers: each takes the worker's session and its request ----------------

    def exec_(self, session: 'Session', request: _wire.Exec) -> tuple:
        context = self.pool.context_for(request.plan)
        result = session.call(context, self._t_commands.run_command, request.cmd, request.in_data, request.via_sh,
                              None, request.tty)
        if request.tty and self.pool.prompted(context):
            # Stock types the password before every command: the terminal echoes its line end.
            rc, stdout, stderr = result
            result = (rc, b'\r\n' + stdout, stderr)
        return tuple(result)

    def run_module(self, session: 'Session', request: _wire.RunModule) -> dict:
        return self.modules.run(session, self.pool.context_for(request.plan), request)

    def remove_tree(self, session: 'Session', request: _wire.RemoveTree) -> None:
        self.files.remove_tree(session, self.pool.context_for(request.plan), request.path)

    def chmod(self, session: 'Session', request: _wire.Chmod) -> None:
        self.files.chmod(session, self.pool.context_for(request.plan), request.paths, request.mode)

    def reset(self, session: 'Session', request: _wire.Reset) -> None:
        self.pool.retire_behind(request.plan)

    def retire_account(self, session: 'Session', request: _wire.RetireAccount) -> None:
        """userdel refuses an account with running processes: under stock no process
        of it outlives a task, so its interpreters go first."""
        self.pool.retire_account(request.plan, request.username)


class Session:
    """One worker's link: its calls to each context form a pipelined Mitogen call chain,
    so a write that is not waited for still stops the calls after it if it fails."""

    def __init__(self) -> None:
        self._chains: dict[int, t.Any] = {}
        self._unsynced: set[int] = set()

    def _chain(self, context: t.Any) -> t.Any:
        chain = self._chains.get(context.context_id)
        if chain is None:
            import mitogen.parent
            chain = self._chains[context.context_id] = mitogen.parent.CallChain(context, pipelined=True)
        return chain

    def call(self, context: t.Any, fn: t.Callable, *args: t.Any, **kwargs: t.Any) -> t.Any:
        self._unsynced.discard(context.context_id)
        return _pool.wait(self._chain(context).call_async(fn, *args, **kwargs))

    def call_no_reply(self, context: t.Any, fn: t.Callable, *args: t.Any) -> None:
        self._unsynced.add(context.context_id)
        self._chain(context).call_no_reply(fn, *args)

    def sync(self, context: t.Any) -> None:
        """Wait for the unanswered writes to ``context``; raise the first error among them."""
        if context.context_id in self._unsynced:
            from ansible_collections.velocity.mitogen.plugins.module_utils import _target_runtime
            self.call(context, _target_runtime.noop)

    def close(self) -> None:
        for chain in list(self._chains.values()):
            try:
                self.sync(chain.context)
            except Exception as exc:  # pylint: disable=broad-except
                LOG.error('a write on the target failed after its task ended: %s', exc)
            chain.reset()


def _append(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, text.encode('utf-8'))
    finally:
        os.close(fd)
