# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection pool: one live Mitogen context per distinct hop chain.

This plugin util is PRIVATE to the collection and runs in the multiplexer.
A context is keyed by the keys of every hop that leads to it, so two tasks for
the same target and account share one interpreter, and hops connect once even
when many workers ask at the same moment (a lock per key). Connect failures are
worded here as stock words them, from what the hop record carries.

Internal (Mitogen core 0.3.x) members used for the become hop, which is our
own connection class: ``Router._connect``, ``Router.context_class``,
``Router._write_lock``, ``Router._context_by_id``, ``Router.connection_timeout_msg``.
"""

from __future__ import annotations

import subprocess
import threading
import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils._hops import NO_PYTHON, Hop
from ansible_collections.velocity.mitogen.plugins.plugin_utils._wire import ErrorKind, Failure

CALL_TIMEOUT = 24 * 3600.0  # a module may legitimately run for hours; a dead link fails sooner
BECOME_CALL_MARGIN = 30.0    # on top of the become timeout, for the hop's own call
RETIRE_TIMEOUT = 10.0       # for a retired context to confirm its end


def wait(receiver: t.Any, timeout: float = CALL_TIMEOUT) -> t.Any:
    """The answer of a call, with Mitogen's failures as request failures."""
    import mitogen.core
    try:
        return receiver.get(timeout=timeout).unpickle()
    except mitogen.core.ChannelError as exc:
        raise Failure(ErrorKind.UNREACHABLE, 'the connection to the target was lost: %s' % (exc,)) from None
    except mitogen.core.TimeoutError:
        raise Failure(ErrorKind.ERROR, 'no answer from the target within %ds' % timeout) from None
    except mitogen.core.CallError as exc:
        raise Failure(ErrorKind.ERROR, str(exc)) from None


def call(context: t.Any, fn: t.Callable, *args: t.Any, timeout: float = CALL_TIMEOUT, **kwargs: t.Any) -> t.Any:
    """Call ``fn`` in ``context`` and wait, outside of any worker's call chain."""
    return wait(context.call_async(fn, *args, **kwargs), timeout)


class Pool:
    def __init__(self, router: t.Any) -> None:
        from ansible_collections.velocity.mitogen.plugins.module_utils import _target_become, _target_runtime
        self.router = router
        self._t_become = _target_become
        self._t_runtime = _target_runtime
        self._lock = threading.Lock()
        self._key_locks: dict[tuple, threading.Lock] = {}
        self._contexts: dict[tuple, t.Any] = {}
        self._hops: dict[tuple, Hop] = {}       # the last hop of each key
        self._info: dict[int, dict] = {}        # context_id -> what _target_runtime.describe said
        self._prompted: set[int] = set()        # become contexts whose login typed a password
        self._on_disconnect: list[t.Callable[[int], None]] = []

    # -- lookups -------------------------------------------------------------

    def context_for(self, plan: list[Hop]) -> t.Any:
        """The live context at the end of ``plan``, connecting hops as needed."""
        via = None
        key: tuple = ()
        for index, hop in enumerate(plan):
            key = key + (hop.key,)
            context = self._contexts.get(key)
            if context is None:
                with self._key_lock(key):
                    context = self._contexts.get(key)
                    if context is None:
                        context = self._connect(hop, via, first=index == 0)
                        self._remember(key, context, hop)
            via = context
        return via

    def info(self, context: t.Any) -> dict:
        return self._info.get(context.context_id, {})

    def prompted(self, context: t.Any) -> bool:
        return context.context_id in self._prompted

    def on_disconnect(self, callback: t.Callable[[int], None]) -> None:
        self._on_disconnect.append(callback)

    # -- retiring --------------------------------------------------------------

    def retire_behind(self, plan: list[Hop]) -> None:
        """Shut down the context at the end of ``plan`` and those routed through it."""
        base = tuple(hop.key for hop in plan)
        self._retire(lambda k: k[:len(base)] == base)

    def retire_account(self, plan: list[Hop], username: str) -> None:
        """Shut down the become contexts running as ``username`` behind ``plan``."""
        base = tuple(hop.key for hop in plan)

        def doomed(k: tuple) -> bool:
            if len(k) <= len(base) or k[:len(base)] != base:
                return False
            hops = [self._hops.get(k[:i]) for i in range(len(base) + 1, len(k) + 1)]
            return any(h is not None and h.method == 'become' and h.kwargs.get('username') == username for h in hops)

        self._retire(doomed)

    def _retire(self, doomed_key: t.Callable[[tuple], bool]) -> None:
        """Forget the contexts whose key ``doomed_key`` accepts (and their aliases), then shut them down."""
        import mitogen.core
        with self._lock:
            keys = sorted((k for k in self._contexts if doomed_key(k)), key=len, reverse=True)
            doomed = list({id(self._contexts[k]): self._contexts[k] for k in keys}.values())  # deepest first
            for k in [k for k, c in self._contexts.items() if any(c is d for d in doomed)]:
                del self._contexts[k]
        for context in doomed:
            try:
                # A context routed through one retired before it may be gone already, and
                # then never says so again: the wait is bounded.
                context.shutdown(wait=False).get(timeout=RETIRE_TIMEOUT)
            except (mitogen.core.TimeoutError, mitogen.core.ChannelError, mitogen.core.StreamError):
                pass

    def shutdown(self) -> None:
        with self._lock:
            contexts = list({id(c): c for c in self._contexts.values()}.values())
            self._contexts.clear()
        for context in reversed(contexts):
            try:
                context.shutdown()
            except Exception:  # pylint: disable=broad-except
                pass

    # -- connecting ------------------------------------------------------------

    def _key_lock(self, key: tuple) -> threading.Lock:
        with self._lock:
            lock = self._key_locks.get(key)
            if lock is None:
                lock = self._key_locks[key] = threading.Lock()
            return lock

    def _remember(self, key: tuple, context: t.Any, hop: Hop) -> None:
        import mitogen.core
        info = call(context, self._t_runtime.describe)
        with self._lock:
            self._contexts[key] = context
            self._hops[key] = hop
            self._info[context.context_id] = info
            if hop.discovered:
                alias = key[:-1] + (hop.key_with_interpreter(info['executable']),)
                self._contexts.setdefault(alias, context)
                self._hops.setdefault(alias, hop)

        def disconnected() -> None:
            with self._lock:
                for k in [k for k, c in self._contexts.items() if c is context]:
                    del self._contexts[k]
                self._info.pop(context.context_id, None)
                self._prompted.discard(context.context_id)
            for callback in self._on_disconnect:
                callback(context.context_id)

        mitogen.core.listen(context, 'disconnect', disconnected)

    def _connect(self, hop: Hop, via: t.Any, first: bool) -> t.Any:
        import mitogen.core
        if hop.method == 'become':
            return self._connect_become(hop, via)
        connect = getattr(self.router, hop.method)
        try:
            return connect(via=via, unidirectional=True, **hop.kwargs)
        except mitogen.core.StreamError as exc:
            missing = _missing_interpreter(hop, str(exc))
            if missing:
                raise Failure(ErrorKind.INTERPRETER_MISSING, missing) from None
            message = connect_message(hop.label, exc)
            if hop.refusal_argv and type(exc).__name__ == 'PasswordError':
                # Mitogen reports a refused login (no or a wrong password) in its own
                # words; stock shows ssh's, from its single attempt.
                message = _ssh_refusal(hop) or message
            raise Failure(ErrorKind.UNREACHABLE if first else ErrorKind.BECOME_FAILED, message) from None
        except mitogen.core.TimeoutError as exc:
            raise Failure(ErrorKind.UNREACHABLE if first else ErrorKind.BECOME_FAILED,
                          connect_message(hop.label, exc)) from None

    def _connect_become(self, hop: Hop, via: t.Any) -> t.Any:
        """A become account's interpreter, started by the previous hop's interpreter
        (or here, for a local connection) from the command the become plugin built."""
        import mitogen.core
        router = self.router
        kwargs = dict(hop.kwargs, debug=router.debug, profiling=router.profiling, unidirectional=True)
        if via is None:
            try:
                context = router._connect(self._t_become.Connection, **kwargs)
            except self._t_become.PasswordError as exc:
                raise Failure(ErrorKind.BECOME_FAILED, str(exc)) from None
            except mitogen.core.StreamError as exc:
                if str(exc) == router.connection_timeout_msg:  # Router._connect's text for a timeout
                    raise Failure(ErrorKind.UNREACHABLE, hop.timeout_message or str(exc)) from None
                raise Failure(ErrorKind.BECOME_FAILED, connect_message(hop.label, exc)) from None
            if context.context_id in self._t_become.prompted:
                self._prompted.add(context.context_id)
            return context
        resp = call(via, self._t_become.connect_via, kwargs=mitogen.core.Kwargs(kwargs),
                    timeout=(kwargs.get('connect_timeout') or 30) + BECOME_CALL_MARGIN)
        if resp['msg'] is not None:
            if resp['kind'] == 'password':
                raise Failure(ErrorKind.BECOME_FAILED, resp['msg'])
            if resp['kind'] == 'timeout':
                raise Failure(ErrorKind.UNREACHABLE, hop.timeout_message or resp['msg'])
            raise Failure(ErrorKind.BECOME_FAILED, connect_message(hop.label, resp['msg']))
        context = router.context_class(router, resp['id'], name='%s.%s' % (via.name, resp['name']))
        context.via = via
        with router._write_lock:
            router._context_by_id[context.context_id] = context
        if resp.get('prompted'):
            self._prompted.add(context.context_id)
        return context


def _missing_interpreter(hop: Hop, text: str) -> str | None:
    """The interpreter, if the boot failed because it does not exist."""
    if hop.discovered:
        return 'python' if NO_PYTHON in text else None
    interpreter = hop.interpreter or ''
    for line in text.splitlines():
        if interpreter in line and ('not found' in line or 'No such file' in line):
            return interpreter
    return None


def _ssh_refusal(hop: Hop) -> str | None:
    """What the ssh client itself says about a refused key login (one more, batch-mode attempt)."""
    timeout = (hop.kwargs.get('connect_timeout') or 10) + 5
    try:
        proc = subprocess.run(hop.refusal_argv or [], stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = proc.stderr.decode('utf-8', 'replace').strip()
    if proc.returncode == 255 and 'Permission denied' in text:
        return 'Failed to connect to the host via ssh: %s' % text
    return None


def connect_message(label: str, exc: t.Any) -> str:
    """The message stock Ansible gives for the same failure."""
    text = str(exc).strip()
    marker = 'last 100 lines received:'
    if marker in text:
        # Mitogen quotes what the ssh client printed: stock shows just that.
        text = text.split(marker, 1)[1].strip()
    if label == 'ssh':
        return 'Failed to connect to the host via ssh: %s' % text
    if 'password is incorrect' in text:
        return 'Incorrect %s password' % label
    if 'password is required' in text:
        return 'Missing %s password' % label
    return '%s: %s' % (label, text)
