# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one connection class behind every velocity.mitogen connection plugin.

This plugin util is PRIVATE to the collection. A connection object lives in one
forked worker for one task. It holds a link to the multiplexer and builds the
connect plan for its target; the persistent interpreters themselves live in the
multiplexer. What differs between transports is data (``_transports``).

Become is done by a separate interpreter per become account, not by wrapping
commands. Ansible's own code still decides *whether* a command runs with
become (``ActionBase._low_level_execute_command`` calls
``become.build_become_command``): :class:`BecomeProxy` records that decision
for the next command instead of wrapping it.

Internal ansible-core members used here: ``ConnectionBase._play_context``,
``_options``, ``_shell`` and ``_connected`` (set as ConnectionBase does).
"""

from __future__ import annotations

import os
import shlex
import sys
import typing as t

from ansible import constants as C
from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _ansible_compat, _hops, _link, _wire
from ansible_collections.velocity.mitogen.plugins.plugin_utils._transports import Transport

display = Display()
T = t.TypeVar('T')


class InterpreterMissing(AnsibleError):
    """The requested Python does not exist on the target."""

    def __init__(self, interpreter: str) -> None:
        super().__init__("The module interpreter '%s' was not found." % interpreter)
        self.interpreter = interpreter


class BecomeProxy:
    """Ansible's become plugin, minus the command wrapping.

    ``requested`` is True from the moment Ansible asked to wrap a command until
    the connection runs it (:meth:`take_request`): that is Ansible's decision
    that the next command runs as the become account.
    """

    def __init__(self, plugin: t.Any) -> None:
        self.__dict__['plugin'] = plugin
        self.__dict__['requested'] = False

    def build_become_command(self, cmd: str, shell: t.Any) -> str:
        self.__dict__['requested'] = True
        return cmd

    def take_request(self) -> bool:
        requested = self.requested
        self.__dict__['requested'] = False
        return requested

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self.plugin, name)

    def __setattr__(self, name: str, value: t.Any) -> None:
        setattr(self.plugin, name, value)


class MitogenConnection(ConnectionBase):
    """Subclassed by each plugin file with its ``transport`` name and ``record``."""

    has_pipelining = True
    has_native_async = False
    record: Transport

    def __init__(self, play_context: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(play_context, *args, **kwargs)
        from ansible_collections.velocity.mitogen.plugins.plugin_utils import _fastload, _hooks
        _hooks.install_in_worker()  # connection-only mode: this worker's actions run modules through us
        module = sys.modules[type(self).__module__]
        _fastload.remember(module.__name__, module.DOCUMENTATION)
        _ansible_compat.alias_option_definitions(self)
        self._load_kwargs = {k: kwargs.get(k) for k in ('task_uuid', 'ansible_playbook_pid')}
        self._link: _link.Link | None = None
        self.become: BecomeProxy | None = None  # type: ignore[assignment]
        self.cwd: str | None = None
        # Whether the task temp dir (and so files put there) belongs to the become account.
        self.file_become = False
        self._stock: t.Any = None  # the stock plugin, for a target without any Python

    # -- plumbing ----------------------------------------------------------

    def is_pipelining_enabled(self, wrap_async: bool = False) -> bool:
        # Modules never need a file on the target: stock code must not make a temp dir for them.
        return not getattr(C, 'DEFAULT_KEEP_REMOTE_FILES') and not wrap_async

    def set_become_plugin(self, plugin: t.Any) -> None:
        if plugin is None:
            self.become = None
            return
        name = getattr(plugin, 'name', '') or ''
        if name.rsplit('.', 1)[-1] not in _hops.SUPPORTED_BECOME:
            raise AnsibleError('become method %r is not supported by velocity.mitogen connections; supported: %s'
                               % (name, ', '.join(_hops.SUPPORTED_BECOME)))
        self.become = BecomeProxy(plugin)

    def _connect(self) -> 'MitogenConnection':
        if self._link is None:
            for line in self.record.announce(self.get_option):
                display.vvv(line, host=self._host_for_display())
            try:
                self._link = _link.Link.open()
            except _wire.Failure as exc:
                raise AnsibleError(exc.message) from None
            self._connected = True
        return self

    def _request(self, send: t.Callable[[_link.Link], T]) -> T:
        """Send one request; its failure becomes the exception stock raises for it."""
        link = self._connect()._link
        try:
            return send(link)  # type: ignore[arg-type]
        except _wire.Failure as exc:
            if exc.kind == _wire.ErrorKind.UNREACHABLE:
                raise AnsibleConnectionFailure(exc.message) from None
            if exc.kind == _wire.ErrorKind.INTERPRETER_MISSING:
                raise InterpreterMissing(exc.message) from None
            raise AnsibleError(exc.message) from None

    def _python(self, interpreter: str | None, any_python: bool) -> _hops.PythonSpec:
        """The interpreter hop: the one a module needs, else this connection's option;
        ``any_python`` for work that any Python can carry once the configured one is missing."""
        fallback = self.get_option('interpreter_python_fallback') or _ansible_compat.discovery_fallback({})
        if any_python:
            return {'discover': list(fallback)}
        return _hops.python_spec(interpreter or self.get_option('python_interpreter'), fallback)

    def plan(self, become: bool, interpreter: str | None = None, any_python: bool = False) -> list[_hops.Hop]:
        """The connect plan for this task: the target, then the become account if asked."""
        try:
            python = self._python(interpreter, any_python)
            hops = [self.record.first_hop(self.get_option, python)]
            if become and self.become is not None:
                timeout, message = self.record.become_timeout(self.get_option)
                hops.append(_hops.become_hop(self.become.plugin, python, self._shell, timeout, message))
        except _hops.HopError as exc:
            raise AnsibleError(str(exc)) from None
        return hops

    # -- requests the action layer makes (see _action) ------------------------

    def run_module(self, **kwargs: t.Any) -> dict:
        return self._request(lambda link: link.run_module(**kwargs))

    def make_tmp(self, become: bool, base: str, basefile: str, system: bool) -> str:
        plan = self.plan(become)
        return self._request(lambda link: link.make_tmp(plan=plan, base=base, basefile=basefile, system=system))

    def remove_tree(self, path: str) -> None:
        plan = self.plan(self.file_become)
        self._request(lambda link: link.remove_tree(plan=plan, path=path))

    def chmod(self, paths: list[str], mode: str) -> None:
        plan = self.plan(self.file_become)
        self._request(lambda link: link.chmod(plan=plan, paths=paths, mode=mode))

    def retire_account(self, username: str) -> None:
        plan = self.plan(False)
        self._request(lambda link: link.retire_account(plan=plan, username=username))

    # -- ConnectionBase API ------------------------------------------------

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)  # type: ignore[safe-super]  # ensure_connect
        become = bool(self.become is not None and self.become.take_request() and sudoable)
        if become and self.record.shell_become_by_stock:
            stock = self._stock_connection()
            return stock.exec_command(self._stock_become(stock, True, cmd), in_data, sudoable)
        display.vvv('EXEC %s' % (cmd,), host=self._host_for_display())
        original = cmd
        if self.cwd:
            # A become account may not be allowed into the controller's directory.
            cmd = 'cd %s 2>/dev/null; %s' % (shlex.quote(to_text(self.cwd)), cmd)
        data = to_bytes(in_data) if in_data is not None else None
        tty = self.record.wants_tty(self.get_option, in_data, sudoable)
        command = _hops.plain(cmd)

        def ours(any_python: bool) -> tuple[int, bytes, bytes]:
            plan = self.plan(become, any_python=any_python)
            return tuple(self._request(lambda link: link.exec(  # type: ignore[return-value]
                plan=plan, cmd=command, in_data=data, via_sh=self.record.via_sh or become, tty=tty)))

        return self._without_python(
            ours, lambda stock: stock.exec_command(self._stock_become(stock, become, original), in_data, sudoable))

    def _without_python(self, ours: t.Callable[[bool], T], stock: t.Callable[[t.Any], T]) -> T:
        """Run ``ours``; when the configured Python is missing, again with any Python the
        target has; when it has none, as the stock plugin would (``raw`` bootstraps Python)."""
        try:
            return ours(False)
        except InterpreterMissing:
            pass
        try:
            return ours(True)
        except InterpreterMissing:
            display.vvv('velocity.mitogen: no Python on the target, using %s' % self.record.stock_plugin,
                        host=self._host_for_display())
            return stock(self._stock_connection())

    def _stock_connection(self) -> t.Any:
        if self._stock is None:
            stock = _ansible_compat.stock_connection(self.record.stock_plugin, self._play_context, **self._load_kwargs)
            stock.set_options(direct={k: v for k, v in self._options.items() if v is not None and stock.has_option(k)})
            self._stock = stock
        return self._stock

    def _stock_become(self, stock: t.Any, become: bool, cmd: str) -> str:
        """The command as stock would run it: wrapped by the become plugin, whose prompt
        handling the stock connection then does."""
        if not become or self.become is None:
            stock.set_become_plugin(None)
            return cmd
        stock.set_become_plugin(self.become.plugin)
        return self.become.plugin.build_become_command(cmd, stock._shell)

    def module_on_tty(self) -> bool:
        """Whether stock would run a new-style module on a terminal (no pipelining: stderr
        then arrives in stdout, with CRLF line ends)."""
        pipelined = False
        if not self.become or self.become.pipelining:
            try:
                pipelined = bool(self.get_option('pipelining'))
            except KeyError:
                pipelined = bool(getattr(self._play_context, 'pipelining', False))
        return self.record.wants_tty(self.get_option, b'<module>' if pipelined else None, True)

    def put_file(self, in_path: str, out_path: str) -> None:
        super().put_file(in_path, out_path)  # type: ignore[safe-super]  # ensure_connect
        display.vvv('PUT %s TO %s' % (in_path, out_path), host=self._host_for_display())
        if not os.path.exists(to_bytes(in_path, errors='surrogate_or_strict')):
            raise AnsibleError('file or module does not exist: %s' % in_path)
        src, dest = os.path.abspath(in_path), _hops.plain(out_path)

        def ours(any_python: bool) -> None:
            plan = self.plan(self.file_become, any_python=any_python)
            self._request(lambda link: link.put(plan=plan, src=src, dest=dest))

        self._without_python(ours, lambda stock: stock.put_file(in_path, out_path))

    def fetch_file(self, in_path: str, out_path: str) -> None:
        super().fetch_file(in_path, out_path)  # type: ignore[safe-super]  # ensure_connect
        display.vvv('FETCH %s TO %s' % (in_path, out_path), host=self._host_for_display())
        src, dest = _hops.plain(in_path), os.path.abspath(out_path)

        def ours(any_python: bool) -> None:
            plan = self.plan(False, any_python=any_python)
            self._request(lambda link: link.fetch(plan=plan, src=src, dest=dest))

        self._without_python(ours, lambda stock: stock.fetch_file(in_path, out_path))

    def reset(self) -> None:
        """Stock semantics: the next task starts a new connection (and interpreters).
        With no multiplexer running there is nothing to reset."""
        if self._link is None:
            self._link = _link.Link.open(start=False)
            if self._link is None:
                return
        plan = self.plan(False)
        self._request(lambda link: link.reset(plan=plan))

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
