# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared body of the velocity.mitogen connection plugins.

This plugin util is PRIVATE to the collection. A connection object lives in one
forked worker for one task. It holds a link to the multiplexer and the hop spec
for its target; the persistent interpreters themselves live in the multiplexer.

Become is done by a separate interpreter per become account, not by wrapping
commands. Ansible's own code still decides *whether* a command is run with
become (``ActionBase._low_level_execute_command`` calls
``become.build_become_command``): the proxy below records that decision
instead of wrapping the command in ``sudo``.
"""

from __future__ import annotations

import os
import typing as t

from ansible import constants as C
from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _ansible_compat, _hops, _link

display = Display()


class InterpreterMissing(AnsibleError):
    """The requested Python does not exist on the target."""

    def __init__(self, interpreter: str) -> None:
        super().__init__("The module interpreter '%s' was not found." % interpreter)
        self.interpreter = interpreter


class _BecomeProxy:
    """Ansible's become plugin, minus the command wrapping."""

    def __init__(self, plugin: t.Any, connection: 'MitogenConnectionBase') -> None:
        self.__dict__['_plugin'] = plugin
        self.__dict__['_connection'] = connection

    def build_become_command(self, cmd: str, shell: t.Any) -> str:
        self._connection._become_next = True
        return cmd

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._plugin, name)

    def __setattr__(self, name: str, value: t.Any) -> None:
        setattr(self._plugin, name, value)


class MitogenConnectionBase(ConnectionBase):
    has_pipelining = True
    has_native_async = False
    via_sh = False  # ssh runs commands through the login shell, as sshd does

    def __init__(self, play_context: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(play_context, *args, **kwargs)
        self._load_kwargs = {k: kwargs.get(k) for k in ('task_uuid', 'ansible_playbook_pid')}
        self._link: _link.Link | None = None
        self._become_next = False
        self.cwd: str | None = None
        # Whether the task temp dir (and so files put there) belongs to the become account.
        self.file_become = False
        self._stock: t.Any = None  # the stock plugin, for a target without any Python

    # -- plumbing ----------------------------------------------------------

    def is_pipelining_enabled(self, wrap_async: bool = False) -> bool:
        # Modules never need a file on the target: stock code must not make a temp dir for them.
        return not C.DEFAULT_KEEP_REMOTE_FILES and not wrap_async

    def set_become_plugin(self, plugin: t.Any) -> None:
        if plugin is None:
            self.become = None
            return
        name = getattr(plugin, 'name', '') or ''
        if name.rsplit('.', 1)[-1] not in _hops.SUPPORTED_BECOME:
            raise AnsibleError('become method %r is not supported by velocity.mitogen connections; supported: %s'
                               % (name, ', '.join(_hops.SUPPORTED_BECOME)))
        self.become = _BecomeProxy(plugin, self)

    def _announce(self) -> None:
        """Say at -vvv what the stock plugin says when it connects."""

    def _connect(self) -> 'MitogenConnectionBase':
        if self._link is None:
            self._announce()
            try:
                self._link = _link.Link()
            except _link.NotRunning as exc:
                raise AnsibleError(str(exc)) from None
            self._connected = True
        return self

    def _first_hop(self, python: dict) -> dict:
        raise NotImplementedError

    def _python(self, interpreter: str | None) -> dict:
        """The interpreter hop: the one a module needs, else this connection's option."""
        value = interpreter or self.get_option('python_interpreter')
        fallback = self.get_option('interpreter_python_fallback') or _ansible_compat.discovery_fallback({})
        return _hops.python_spec(value, fallback)

    def spec(self, become: bool, interpreter: str | None = None, any_python: bool = False) -> list[dict]:
        """The hop chain for this task: the target, then the become account if asked.

        ``any_python``: for work that only needs some Python to carry it (shell
        commands, files) once the configured one turned out to be missing.
        """
        try:
            if any_python:
                fallback = self.get_option('interpreter_python_fallback') or _ansible_compat.discovery_fallback({})
                python = {'discover': list(fallback)}
            else:
                python = self._python(interpreter)
            hops = [self._first_hop(python)]
            if become and self.become is not None:
                timeout, message = self._become_timeout()
                hops.append(_hops.become_hop(self.become._plugin, python, self._shell, timeout, message))
        except _hops.HopError as exc:
            raise AnsibleError(str(exc)) from None
        return _hops.plain(hops)

    def request(self, op: str, **kwargs: t.Any) -> t.Any:
        link = self._connect()._link
        try:
            return link.request(op, **kwargs)  # type: ignore[union-attr]
        except _link.LinkError as exc:
            if exc.kind == 'unreachable':
                raise AnsibleConnectionFailure(exc.message) from None
            if exc.kind == 'interpreter_missing':
                raise InterpreterMissing(exc.message) from None
            raise AnsibleError(exc.message) from None

    def _take_become(self, sudoable: bool) -> bool:
        become, self._become_next = self._become_next, False
        return bool(become and sudoable and self.become is not None)

    # -- ConnectionBase API ------------------------------------------------

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        become = self._take_become(sudoable)
        display.vvv('EXEC %s' % (cmd,), host=self._host_for_display())
        original = cmd
        if self.cwd:
            # A become account may not be allowed into the controller's directory.
            cmd = 'cd %s 2>/dev/null; %s' % (_quote(to_text(self.cwd)), cmd)
        args = dict(cmd=_hops.plain(cmd), in_data=to_bytes(in_data) if in_data is not None else None,
                    via_sh=self.via_sh or become, timeout=None, tty=self._wants_tty(in_data, sudoable))
        try:
            return self._without_python(
                lambda any_python: tuple(self.request('exec', spec=self.spec(become, any_python=any_python), **args)),
                lambda stock: stock.exec_command(self._stock_become(stock, become, original), in_data, sudoable))
        finally:
            self._become_next = False

    def _without_python(self, ours: t.Callable[[bool], t.Any], stock: t.Callable[[t.Any], t.Any]) -> t.Any:
        """Run ``ours``; when the configured Python is missing, again with any Python the
        target has; when it has none, as the stock plugin would (``raw`` bootstraps Python)."""
        try:
            return ours(False)
        except InterpreterMissing:
            pass
        try:
            return ours(True)
        except InterpreterMissing:
            display.vvv('velocity.mitogen: no Python on the target, using %s' % self._stock_name(), host=self._host_for_display())
            return stock(self._stock_connection())

    def _stock_name(self) -> str:
        return 'ansible.builtin.' + self.transport

    def _stock_connection(self) -> t.Any:
        if self._stock is None:
            stock = _ansible_compat.stock_connection(self._stock_name(), self._play_context, **self._load_kwargs)
            stock.set_options(direct={k: v for k, v in self._options.items() if v is not None and stock.has_option(k)})
            self._stock = stock
        return self._stock

    def _stock_become(self, stock: t.Any, become: bool, cmd: str) -> str:
        """The command as stock would run it: wrapped by the become plugin, whose prompt
        handling the stock connection then does."""
        if not become or self.become is None:
            stock.set_become_plugin(None)
            return cmd
        stock.set_become_plugin(self.become._plugin)
        return self.become._plugin.build_become_command(cmd, stock._shell)

    def _become_timeout(self) -> tuple[int, str]:
        """How long stock waits for the become prompt or success, and what it says then."""
        raise NotImplementedError

    def module_on_tty(self) -> bool:
        """Whether stock would run a new-style module on a terminal (no pipelining: stderr
        then arrives in stdout, with CRLF line ends)."""
        pipelined = False
        if not self.become or self.become.pipelining:
            try:
                pipelined = bool(self.get_option('pipelining'))
            except KeyError:
                pipelined = bool(getattr(self._play_context, 'pipelining', False))
        return self._wants_tty(b'<module>' if pipelined else None, True)

    def _wants_tty(self, in_data: bytes | None, sudoable: bool) -> bool:
        """Whether the stock plugin would have run this command on a terminal."""
        return False

    def put_file(self, in_path: str, out_path: str) -> None:
        super().put_file(in_path, out_path)
        display.vvv('PUT %s TO %s' % (in_path, out_path), host=self._host_for_display())
        if not os.path.exists(to_bytes(in_path, errors='surrogate_or_strict')):
            raise AnsibleError('file or module does not exist: %s' % in_path)
        self._without_python(
            lambda any_python: self.request('put', spec=self.spec(self.file_become, any_python=any_python),
                                            dest=_hops.plain(out_path), src=os.path.abspath(in_path)),
            lambda stock: stock.put_file(in_path, out_path))

    def fetch_file(self, in_path: str, out_path: str) -> None:
        super().fetch_file(in_path, out_path)
        display.vvv('FETCH %s TO %s' % (in_path, out_path), host=self._host_for_display())
        self._without_python(
            lambda any_python: self.request('fetch', spec=self.spec(False, any_python=any_python),
                                            src=_hops.plain(in_path), dest=os.path.abspath(out_path)),
            lambda stock: stock.fetch_file(in_path, out_path))

    def reset(self) -> None:
        # Stock semantics: the next task starts a new connection (and interpreters).
        self.request('reset', spec=self.spec(False))

    def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None
        self._connected = False

    def _host_for_display(self) -> str | None:
        try:
            return self.get_option('host')
        except KeyError:
            return None


def _quote(text: str) -> str:
    import shlex
    return shlex.quote(text)
