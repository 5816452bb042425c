# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""File transfer and task temp dirs, in the multiplexer.

This plugin util is PRIVATE to the collection. Writes that nobody waits for
(temp dirs, small files, chmod, removal) go down the worker's pipelined call
chain: they cost no roundtrip, and a failure still stops the calls after it.
Large files are pulled by the target in raw binary chunks through Mitogen's
FileService; fetches are windowed. Both ends write a hidden temporary file,
fsync it and rename it, so no reader sees a torn file.
"""

from __future__ import annotations

import os
import tempfile
import threading
import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import pool as _pool
from ansible_collections.velocity.mitogen.plugins.plugin_utils._wire import Fetch, MakeTmp, Put

if t.TYPE_CHECKING:
    from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux.server import Session

CHUNK = 1 << 20
INLINE_LIMIT = 4 << 20  # files up to this size ride along in one message
WINDOW = 4               # fetch chunks in flight


class Files:
    def __init__(self, router: t.Any, pool: _pool.Pool) -> None:
        import mitogen.service
        from ansible_collections.velocity.mitogen.plugins.module_utils import _target_files
        self._t_files = _target_files
        self.pool = pool
        # Large files are pulled by the target in raw binary chunks, windowed.
        self.file_service = mitogen.service.FileService(router)
        self.service_pool = mitogen.service.Pool(router, services=[self.file_service], size=2)
        self._lock = threading.Lock()
        self._known_dirs: set[tuple] = set()

    def shutdown(self) -> None:
        try:
            self.service_pool.stop(join=False)
        except Exception:  # pylint: disable=broad-except
            pass

    def make_tmp(self, session: 'Session', request: MakeTmp) -> str:
        """Name a task temp dir as stock would and create it, without waiting for the target."""
        context = self.pool.context_for(request.plan)
        base = request.base
        if not request.system:
            login = self.pool.context_for(request.plan[:1])
            home = self.pool.info(login).get('home') or '~'
            if base == '~' or base.startswith('~/'):
                base = home + base[1:]
            with self._lock:
                known = (login.context_id, base) in self._known_dirs
            if not known:
                # The base dir belongs to the login user, as in stock; wait once per run.
                _pool.call(login, self._t_files.make_dirs, base)
                with self._lock:
                    self._known_dirs.add((login.context_id, base))
        path = base.rstrip('/') + '/' + request.basefile
        session.call_no_reply(context, self._t_files.make_dir, path)
        return path

    def remove_tree(self, session: 'Session', context: t.Any, path: str) -> None:
        session.call_no_reply(context, self._t_files.remove_tree, path)

    def chmod(self, session: 'Session', context: t.Any, paths: list[str], mode: str) -> None:
        session.call_no_reply(context, self._t_files.chmod_add, paths, mode)

    def put(self, session: 'Session', request: Put) -> None:
        """Write a file on the target. Small files are written without waiting: an error
        reaches the worker with its next request (Mitogen's pipelined call chain)."""
        context = self.pool.context_for(request.plan)
        if os.path.getsize(request.src) <= INLINE_LIMIT:
            with open(request.src, 'rb') as fp:
                data = fp.read()
            session.call_no_reply(context, self._t_files.write_file, request.dest, data, None)
            return
        session.sync(context)
        self.file_service.register(request.src)
        _pool.call(context, self._t_files.pull_file, request.src, request.dest, None)

    def fetch(self, session: 'Session', request: Fetch) -> None:
        context = self.pool.context_for(request.plan)
        session.sync(context)
        size = _pool.call(context, self._t_files.file_size, request.src)
        directory = os.path.dirname(request.dest) or '.'
        fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(request.dest) + '.', suffix='.part', dir=directory)
        try:
            with os.fdopen(fd, 'wb') as out:
                offset = 0
                pending: list[t.Any] = []
                while offset < size or pending:
                    while offset < size and len(pending) < WINDOW:
                        pending.append(context.call_async(self._t_files.read_chunk, request.src, offset, CHUNK))
                        offset += CHUNK
                    out.write(_pool.wait(pending.pop(0)))
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o666 & ~_UMASK)
            os.rename(tmp, request.dest)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, before the multiplexer has threads: os.umask() is process-wide
