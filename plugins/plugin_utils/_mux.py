# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection multiplexer: one process per run that owns every target connection.

This plugin util is PRIVATE to the collection. It is forked from the controller
before any worker, so it shares the controller's configuration, plugin paths and
collection finder, and so it can serve ansible-core's exact module_utils to
targets through Mitogen's importer. Workers reach it over a UNIX socket with one
request per operation (see ``_wire``); each request is handled on its own thread,
which is how connections to different hosts are set up in parallel.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import select
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _ansible_compat, _wire

LOG = logging.getLogger('velocity.mitogen.mux')
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
CALL_TIMEOUT = 24 * 3600.0  # a module may legitimately run for hours; a dead link fails sooner
CHUNK = 1 << 20
INLINE_LIMIT = 4 << 20
WINDOW = 4

_TIMING = os.environ.get('VELOCITY_MITOGEN_TIMING')
_TARGET = 'ansible_collections.velocity.mitogen.plugins.module_utils.'


class MuxError(Exception):
    """The multiplexer could not be started or reached."""


class Multiplexer:
    """Parent-side handle on the running multiplexer process."""

    def __init__(self, pid: int, directory: str, path: str) -> None:
        self.pid = pid
        self.directory = directory
        self.path = path
        self._owner = os.getpid()

    @classmethod
    def start(cls, timeout: float = START_TIMEOUT) -> 'Multiplexer':
        directory = tempfile.mkdtemp(prefix='velocity-mitogen-')  # mode 0700
        path = os.path.join(directory, 'mux.sock')
        ready_r, ready_w = os.pipe()
        parent = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            status = 1
            try:
                os.close(ready_r)
                _child_main(path, ready_w, parent)
                status = 0
            except BaseException:  # pylint: disable=broad-except
                traceback.print_exc()
            finally:
                os._exit(status)
        os.close(ready_w)
        try:
            deadline = time.monotonic() + timeout
            data = b''
            while not data:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise MuxError('the velocity.mitogen multiplexer did not start within %ds' % timeout)
                readable = select.select([ready_r], [], [], remaining)[0]
                if readable:
                    data = os.read(ready_r, 4096)
                    if not data:
                        raise MuxError('the velocity.mitogen multiplexer exited during start-up (see the error above)')
            if not data.startswith(b'OK'):
                raise MuxError('the velocity.mitogen multiplexer failed to start: %s' % data.decode('utf-8', 'replace'))
        except BaseException:
            _kill(pid)
            raise
        finally:
            os.close(ready_r)
        return cls(pid, directory, path)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the multiplexer and, with it, every target interpreter."""
        if os.getpid() != self._owner or self.pid is None:
            return
        pid, self.pid = self.pid, None
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
        if not _wait(pid, timeout):
            _kill(pid)
        try:
            os.unlink(self.path)
        except OSError:
            pass
        try:
            os.rmdir(self.directory)
        except OSError:
            pass


def _wait(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done = os.waitpid(pid, os.WNOHANG)[0]
        except ChildProcessError:
            return True
        if done:
            return True
        time.sleep(0.02)
    return False


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    _wait(pid, 5.0)


# ---------------------------------------------------------------------------
# Everything below runs in the multiplexer process.


class RemoteError(Exception):
    """An error to hand back to the worker as (kind, message)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _child_main(path: str, ready_fd: int, parent: int) -> None:
    os.setpgid(0, 0)  # Ctrl-C reaches the controller, which then stops us in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)

    try:
        server = Server()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(128)
    except BaseException as exc:
        os.write(ready_fd, ('ERR %s' % (exc,)).encode('utf-8', 'replace'))
        raise
    os.write(ready_fd, b'OK')
    os.close(ready_fd)

    threading.Thread(target=_accept_loop, args=(listener, server), name='mux-accept', daemon=True).start()
    while not stop.is_set():
        if os.getppid() != parent:
            break
        stop.wait(0.5)
    listener.close()
    server.shutdown()


def _accept_loop(listener: socket.socket, server: 'Server') -> None:
    while True:
        try:
            conn = listener.accept()[0]
        except OSError as exc:
            if exc.errno in (errno.EINTR, errno.ECONNABORTED):
                continue
            return
        threading.Thread(target=server.serve, args=(conn,), name='mux-client', daemon=True).start()


class _Module:
    __slots__ = ('key', 'path', 'source', 'mtime', 'imports', 'verdict')

    def __init__(self, key: str, path: str, source: bytes, mtime: float) -> None:
        self.key, self.path, self.source, self.mtime = key, path, source, mtime
        self.imports: list[str] | None = None
        self.verdict: str | None = None  # '' or why AnsiballZ must carry it (_ansible_compat.packaging_verdict)


class Server:
    """Connection pool and request handlers of the multiplexer."""

    def __init__(self) -> None:
        from ansible_collections.velocity.mitogen.plugins.module_utils import _mitogen_loader
        _mitogen_loader.load()
        import mitogen.core
        import mitogen.master
        import mitogen.utils

        self._mitogen = mitogen
        # Threads here block on I/O almost at once: let them switch when they block
        # rather than every 5 ms, so a reply reaches its waiting thread without delay.
        mitogen.utils.setup_gil()
        self.broker = mitogen.master.Broker(install_watcher=False)
        self.router = mitogen.master.Router(self.broker, max_message_size=512 << 20)
        # Targets always run the controller's own ansible-core and collections.
        self.router.responder.whitelist_prefix('ansible')
        self.router.responder.whitelist_prefix('ansible_collections')
        import mitogen.service
        # Large files are pulled by the target in raw binary chunks, windowed.
        self.file_service = mitogen.service.FileService(self.router)
        self.service_pool = mitogen.service.Pool(self.router, services=[self.file_service], size=2)
        self._lock = threading.Lock()
        self._hop_locks: dict[tuple, threading.Lock] = {}
        self._contexts: dict[tuple, t.Any] = {}
        self._info: dict[int, dict] = {}
        self._prompted: set[int] = set()  # become contexts whose login typed a password
        self._sent: dict[int, set] = {}
        self._modules: dict[str, _Module] = {}
        self._known_dirs: set[tuple] = set()
        self._mu_dirs: dict[str, tuple] = {}
        from ansible_collections.velocity.mitogen.plugins.module_utils import _target_commands, _target_files, _target_modules, _target_runtime
        self._t_commands = _target_commands
        self._t_files = _target_files
        self._t_modules = _target_modules
        self._t_runtime = _target_runtime

    # -- lifetime ----------------------------------------------------------

    def shutdown(self) -> None:
        try:
            self.service_pool.stop(join=False)
        except Exception:  # pylint: disable=broad-except
            pass
        with self._lock:
            contexts = list({id(c): c for c in self._contexts.values()}.values())
            self._contexts.clear()
        for context in reversed(contexts):
            try:
                context.shutdown()
            except Exception:  # pylint: disable=broad-except
                pass
        self.broker.shutdown()
        self.broker.join()

    def serve(self, conn: socket.socket) -> None:
        session = Session(self)
        try:
            while True:
                try:
                    request = _wire.recv(conn)
                except (_wire.LinkClosed, OSError):
                    return
                op, kwargs = request
                started = time.perf_counter()
                try:
                    handler = getattr(self, 'op_' + op)
                    reply = ('ok', handler(session, **kwargs))
                except RemoteError as exc:
                    reply = (exc.kind, exc.message)
                except Exception as exc:  # pylint: disable=broad-except
                    reply = ('error', _describe(exc))
                if _TIMING:
                    with open(_TIMING, 'a') as fp:
                        fp.write('%s %.2f\n' % (op, (time.perf_counter() - started) * 1000))
                try:
                    _wire.send(conn, reply)
                except OSError:
                    return
        finally:
            conn.close()
            session.close()

    # -- contexts ----------------------------------------------------------

    def _hop_lock(self, key: tuple) -> threading.Lock:
        with self._lock:
            lock = self._hop_locks.get(key)
            if lock is None:
                lock = self._hop_locks[key] = threading.Lock()
            return lock

    def context_for(self, spec: list[dict]) -> t.Any:
        """Return the live context at the end of ``spec``, connecting hops as needed."""
        via = None
        key: tuple = ()
        for index, hop in enumerate(spec):
            key = key + (_hop_key(hop),)
            context = self._contexts.get(key)
            if context is None:
                with self._hop_lock(key):
                    context = self._contexts.get(key)
                    if context is None:
                        if _TIMING:
                            with open(_TIMING, 'a') as fp:
                                fp.write('connect %r\n' % (key,))
                        context = self._connect(hop, via, first=index == 0)
                        self._remember(key, context, hop)
            via = context
        return via

    def _remember(self, key: tuple, context: t.Any, hop: dict) -> None:
        info = self.call(context, self._t_runtime.describe)
        with self._lock:
            self._contexts[key] = context
            self._info[context.context_id] = info
            python = hop.get('python')
            if python and python.get('discover'):
                # The discovered interpreter is what a later task names explicitly.
                alias = key[:-1] + (_hop_key(dict(hop, python={'path': [info['executable']]})),)
                self._contexts.setdefault(alias, context)

        def on_disconnect() -> None:
            with self._lock:
                for k in [k for k, c in self._contexts.items() if c is context]:
                    del self._contexts[k]
                self._sent.pop(context.context_id, None)
                self._info.pop(context.context_id, None)

        self._mitogen.core.listen(context, 'disconnect', on_disconnect)

    def _connect(self, hop: dict, via: t.Any, first: bool) -> t.Any:
        method = hop['method']
        kwargs = dict(hop.get('kwargs') or {})
        python = hop.get('python')
        if python:
            kwargs['python_path'] = _python_argv(python)
        kwargs['remote_name'] = hop.get('remote_name')
        if method == 'become':
            return self._connect_become(via, kwargs, hop.get('timeout_message'))
        connect = getattr(self.router, method, None)
        if connect is None:
            raise RemoteError('error', 'unsupported connection method %r' % method)
        try:
            return connect(via=via, unidirectional=True, **kwargs)
        except self._mitogen.core.StreamError as exc:
            missing = _missing_interpreter(python, str(exc))
            if missing:
                raise RemoteError('interpreter_missing', missing) from None
            message = _connect_message(method, exc)
            if method == 'ssh' and type(exc).__name__ == 'PasswordError':
                # Mitogen reports a refused login (no or a wrong password) in its own
                # words; stock shows ssh's, from its single attempt.
                message = _ssh_refusal(kwargs) or message
            raise RemoteError('unreachable' if first else 'become_failed', message) from None
        except self._mitogen.core.TimeoutError as exc:
            raise RemoteError('unreachable' if first else 'become_failed', _connect_message(method, exc)) from None

    def _connect_become(self, via: t.Any, kwargs: dict, timeout_message: str | None) -> t.Any:
        """A become account's interpreter, started by the previous hop's interpreter
        (or here, for a local connection) from the command the become plugin built."""
        # Internal (Mitogen core 0.3.x): Router._connect(klass), Router.context_class,
        # Router._write_lock/_context_by_id: what Router.proxy_connect does for a
        # built-in method, done for our connection class.
        from ansible_collections.velocity.mitogen.plugins.module_utils import _target_become
        core = self._mitogen.core
        router = self.router
        kwargs.update(debug=router.debug, profiling=router.profiling, unidirectional=True)
        if via is None:
            try:
                context = router._connect(_target_become.Connection, **kwargs)
                if context.context_id in _target_become.prompted:
                    self._prompted.add(context.context_id)
                return context
            except _target_become.PasswordError as exc:
                raise RemoteError('become_failed', str(exc)) from None
            except core.StreamError as exc:
                if str(exc) == router.connection_timeout_msg:  # Router._connect's text for a timeout
                    raise RemoteError('unreachable', timeout_message or str(exc)) from None
                raise RemoteError('become_failed', _connect_message(kwargs.get('method', 'become'), exc)) from None
        resp = self.call(via, _target_become.connect_via, kwargs=core.Kwargs(kwargs),
                         _timeout=(kwargs.get("connect_timeout") or 30) + 30.0)
        if resp['msg'] is not None:
            if resp['kind'] == 'password':
                raise RemoteError('become_failed', resp['msg'])
            if resp['kind'] == 'timeout':
                raise RemoteError('unreachable', timeout_message or resp['msg'])
            raise RemoteError('become_failed', _connect_message(kwargs.get('method', 'become'), resp['msg']))
        context = router.context_class(router, resp['id'], name='%s.%s' % (via.name, resp['name']))
        context.via = via
        with router._write_lock:
            router._context_by_id[context.context_id] = context
        if resp.get('prompted'):
            self._prompted.add(context.context_id)
        return context

    def call(self, context: t.Any, fn: t.Callable, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Call ``fn`` in ``context`` and wait, outside of any worker's chain."""
        timeout = kwargs.pop('_timeout', CALL_TIMEOUT)
        return self.wait(context.call_async(fn, *args, **kwargs), timeout)

    def wait(self, receiver: t.Any, timeout: float = CALL_TIMEOUT) -> t.Any:
        try:
            return receiver.get(timeout=timeout).unpickle()
        except self._mitogen.core.ChannelError as exc:
            raise RemoteError('unreachable', 'the connection to the target was lost: %s' % (exc,)) from None
        except self._mitogen.core.TimeoutError:
            raise RemoteError('error', 'no answer from the target within %ds' % timeout) from None
        except self._mitogen.core.CallError as exc:
            raise RemoteError('error', str(exc)) from None

    # -- operations: each takes the worker's session first -----------------

    def op_ping(self, session: 'Session') -> str:
        return 'pong'

    def op_describe(self, session: 'Session', spec: list[dict]) -> dict:
        return self._info.get(self.context_for(spec).context_id, {})

    def op_exec(self, session: 'Session', spec: list[dict], cmd: str, in_data: bytes | None, via_sh: bool,
                timeout: float | None, tty: bool = False) -> tuple:
        context = self.context_for(spec)
        result = session.call(context, self._t_commands.run_command, cmd, in_data, via_sh, timeout, tty)
        if tty and context.context_id in self._prompted:
            # Stock types the password before every command: the terminal echoes its line end.
            rc, stdout, stderr = result
            result = (rc, b'\r\n' + stdout, stderr)
        return result

    def op_make_tmp(self, session: 'Session', spec: list[dict], base: str, basefile: str, system: bool) -> str:
        """Name a task temp dir as stock would and create it, without waiting for the target."""
        context = self.context_for(spec)
        if not system:
            login = self.context_for(spec[:1])
            home = self._info.get(login.context_id, {}).get('home') or '~'
            if base == '~' or base.startswith('~/'):
                base = home + base[1:]
            if (login.context_id, base) not in self._known_dirs:
                # The base dir belongs to the login user, as in stock; wait once per run.
                self.call(login, self._t_files.make_dirs, base)
                self._known_dirs.add((login.context_id, base))
        path = base.rstrip('/') + '/' + basefile
        session.call_no_reply(context, self._t_files.make_dir, path)
        return path

    def op_remove_tree(self, session: 'Session', spec: list[dict], path: str) -> None:
        session.call_no_reply(self.context_for(spec), self._t_files.remove_tree, path)

    def op_chmod(self, session: 'Session', spec: list[dict], paths: list[str], mode: str) -> None:
        session.call_no_reply(self.context_for(spec), self._t_files.chmod_add, paths, mode)

    def op_put(self, session: 'Session', spec: list[dict], dest: str, data: bytes | None = None,
               src: str | None = None, mode: int | None = None) -> None:
        """Write a file on the target. Small files are written without waiting: an error
        reaches the worker with its next request (Mitogen's pipelined call chain)."""
        context = self.context_for(spec)
        if data is None and src is not None and os.path.getsize(src) <= INLINE_LIMIT:
            with open(src, 'rb') as fp:
                data = fp.read()
        if data is not None:
            session.call_no_reply(context, self._t_files.write_file, dest, data, mode)
            return None
        session.sync(context)
        self.file_service.register(src)
        self.call(context, self._t_files.pull_file, src, dest, mode)
        return None

    def op_fetch(self, session: 'Session', spec: list[dict], src: str, dest: str) -> None:
        context = self.context_for(spec)
        session.sync(context)
        size = self.call(context, self._t_files.file_size, src)
        directory = os.path.dirname(dest) or '.'
        fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(dest) + '.', suffix='.part', dir=directory)
        try:
            with os.fdopen(fd, 'wb') as out:
                offset = 0
                pending = []
                while offset < size or pending:
                    while offset < size and len(pending) < WINDOW:
                        pending.append(context.call_async(self._t_files.read_chunk, src, offset, CHUNK))
                        offset += CHUNK
                    out.write(self.wait(pending.pop(0)))
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o666 & ~_umask())
            os.rename(tmp, dest)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return None

    def op_run_module(self, session: 'Session', spec: list[dict], module_path: str, fqn: str, json_params: str,
                      profile: str, env: dict, secrets: list | None = None, chdir: str | None = None,
                      module_utils_paths: list[str] | None = None, rlimit_nofile: int = 0) -> dict:
        module = self._module(module_path)
        if module.verdict is None:
            module.verdict = self._verdict(module, fqn, module_utils_paths or [])
        if module.verdict:
            return {'fallback': module.verdict}
        context = self.context_for(spec)
        sent = self._sent.setdefault(context.context_id, set())
        source = None if module.key in sent else module.source
        if source is not None:
            # Push the module's module_utils with their whole import closure ahead of
            # the call: otherwise each first import on the target costs a roundtrip.
            self.router.responder.forward_modules(context, self._imports_of(module, fqn))
        custom = None
        if module_utils_paths:
            custom = {}
            for name, entry in self._custom_module_utils(module_utils_paths).items():
                key = ('mu', name, hashlib.sha1(entry[1]).hexdigest())
                if key not in sent:
                    custom[name] = entry
                    sent.add(key)
        args = (fqn, module.path, json_params, profile, env, secrets, chdir, custom or None, None, rlimit_nofile)
        result = session.call(context, self._t_modules.run_module, module.key, source, *args)
        if result.get('need_source'):
            result = session.call(context, self._t_modules.run_module, module.key, module.source, *args)
        sent.add(module.key)
        return result

    def op_sync(self, session: 'Session') -> None:
        """Wait for this worker's unanswered writes; raise the first error among them."""
        session.sync_all()

    def op_retire_account(self, session: 'Session', spec: list[dict], username: str) -> None:
        """Shut down the interpreters that run as ``username`` behind ``spec``'s login, so
        that the account can be removed: under stock no process of it outlives a task."""
        base: tuple = tuple(_hop_key(hop) for hop in spec)
        self._retire(lambda k: len(k) > len(base) and k[:len(base)] == base and any(
            hop[0] == 'become' and dict(hop[1]).get('username') == username for hop in k[len(base):]))

    def op_reset(self, session: 'Session', spec: list[dict]) -> None:
        """Shut down the interpreter(s) at the end of ``spec``; the next task starts fresh ones."""
        key: tuple = tuple(_hop_key(hop) for hop in spec)
        # Children routed through this context die with it.
        self._retire(lambda k: k[:len(key)] == key)

    def _retire(self, doomed_key: t.Callable[[tuple], bool]) -> None:
        """Forget the contexts whose key ``doomed_key`` accepts (and their aliases), then shut them down."""
        with self._lock:
            doomed = {id(c): c for k, c in self._contexts.items() if doomed_key(k)}
            for k in [k for k, c in self._contexts.items() if id(c) in doomed]:
                del self._contexts[k]
        for c in doomed.values():
            try:
                c.shutdown(wait=True)
            except Exception:  # pylint: disable=broad-except
                pass

    def _custom_module_utils(self, paths: list[str]) -> dict[str, tuple]:
        """``ansible.module_utils.*`` found in role, playbook and configured dirs.

        Mitogen's importer serves a package's submodules from its own directory
        only, so these are shipped to the target by name instead. Each directory
        is read once per run (again only if it changes): every task asks.
        """
        import ansible.module_utils
        builtin = {os.path.realpath(p) for p in ansible.module_utils.__path__}
        found: dict[str, tuple] = {}
        for base in paths:
            if os.path.realpath(base) in builtin:
                continue
            for fullname, entry in self._module_utils_dir(base).items():
                found.setdefault(fullname, entry)  # the first directory wins, as in AnsiballZ
        return found

    def _module_utils_dir(self, base: str) -> dict[str, tuple]:
        try:
            mtime = os.stat(base).st_mtime
        except OSError:
            return {}
        cached = self._mu_dirs.get(base)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        found: dict[str, tuple] = {}
        for root, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if os.path.isfile(os.path.join(root, d, '__init__.py')))
            rel = os.path.relpath(root, base)
            prefix = 'ansible.module_utils' + ('' if rel == '.' else '.' + rel.replace(os.sep, '.'))
            for name in sorted(files):
                if not name.endswith('.py'):
                    continue
                path = os.path.join(root, name)
                is_pkg = name == '__init__.py'
                fullname = prefix if is_pkg else prefix + '.' + name[:-3]
                if fullname == 'ansible.module_utils':
                    continue
                with open(path, 'rb') as fp:
                    found[fullname] = (path, fp.read(), is_pkg)
        self._mu_dirs[base] = (mtime, found)
        return found

    def _imports_of(self, module: _Module, fqn: str) -> list[str]:
        """Controller-served modules the Ansible module imports (module level), imported
        here too, so that Mitogen's responder can send them with their dependencies."""
        if module.imports is not None:
            return module.imports
        import importlib
        import mitogen.imports
        names = {'ansible.module_utils.basic', 'ansible.module_utils._internal._ansiballz._loader'}
        try:
            code = compile(module.source, module.path, 'exec', dont_inherit=True)
            found = list(mitogen.imports.codeobj_imports(code))
        except (SyntaxError, ValueError):
            found = []
        package = fqn.rpartition('.')[0]
        for level, modname, fromnames in found:
            if level > 0:
                base = package.rsplit('.', level - 1)[0] if level > 1 else package
                modname = base + ('.' + modname if modname else '')
            if not modname.startswith(('ansible.', 'ansible_collections.')):
                continue
            names.add(modname)
            names.update('%s.%s' % (modname, name) for name in fromnames)
        present = []
        for name in sorted(names):
            if name not in sys.modules:
                try:
                    importlib.import_module(name)
                except Exception:  # pylint: disable=broad-except
                    continue  # a name imported from a module, or not importable here: the target will ask
            if name in sys.modules:
                present.append(name)
        module.imports = present
        return present

    def _verdict(self, module: _Module, fqn: str, module_utils_paths: list[str]) -> str:
        """Whether the module must go through AnsiballZ. Only a module whose import
        closure reaches ansible.module_utils.embed pays for AnsiballZ's own scan; a
        module_util that is missing shows up as an ImportError on the target instead."""
        names = set(self._imports_of(module, fqn))
        finder = self.router.responder._finder  # Internal (Mitogen core): ModuleFinder.find_related, cached
        for name in list(names):
            try:
                names.update(finder.find_related(name))
            except Exception:  # pylint: disable=broad-except
                continue
        direct = b'module_utils.embed' in module.source or b'module_utils import embed' in module.source
        if not direct and 'ansible.module_utils.embed' not in names:
            return ''
        return _ansible_compat.packaging_verdict(os.path.basename(module.path).rpartition('.')[0] or fqn, fqn,
                                                 module.source, module_utils_paths)

    def _module(self, path: str) -> _Module:
        stat = os.stat(path)
        module = self._modules.get(path)
        if module is None or module.mtime != stat.st_mtime:
            with open(path, 'rb') as fp:
                source = fp.read()
            key = '%s:%s' % (path, hashlib.sha1(source).hexdigest())
            module = self._modules[path] = _Module(key, path, source, stat.st_mtime)
        return module


class Session:
    """One worker's link: its calls to each context form a pipelined Mitogen call chain,
    so a write that is not waited for still stops the calls after it if it fails."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._chains: dict[int, t.Any] = {}
        self._unsynced: set[int] = set()

    def _chain(self, context: t.Any) -> t.Any:
        chain = self._chains.get(context.context_id)
        if chain is None:
            import mitogen.parent
            chain = self._chains[context.context_id] = mitogen.parent.CallChain(context, pipelined=True)
        return chain

    def call(self, context: t.Any, fn: t.Callable, *args: t.Any) -> t.Any:
        self._unsynced.discard(context.context_id)
        return self.server.wait(self._chain(context).call_async(fn, *args))

    def call_no_reply(self, context: t.Any, fn: t.Callable, *args: t.Any) -> None:
        self._unsynced.add(context.context_id)
        self._chain(context).call_no_reply(fn, *args)

    def sync(self, context: t.Any) -> None:
        if context.context_id in self._unsynced:
            self.call(context, self.server._t_runtime.noop)

    def sync_all(self) -> None:
        for context_id in list(self._unsynced):
            chain = self._chains[context_id]
            self.call(chain.context, self.server._t_runtime.noop)

    def close(self) -> None:
        try:
            self.sync_all()
        except Exception as exc:  # pylint: disable=broad-except
            LOG.error('a write on the target failed after its task ended: %s', exc)
        for chain in self._chains.values():
            chain.reset()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _hop_key(hop: dict) -> tuple:
    """Identity of a hop: everything but secrets."""
    kwargs = hop.get('kwargs') or {}
    # The become command and prompt carry a fresh random key each time: identity is in 'identity'.
    items = tuple(sorted((k, _freeze(v)) for k, v in kwargs.items() if k not in ('password', 'command', 'prompt')))
    # The password is part of the identity, as a digest: a task with another password
    # must log in again (and fail as stock does when it is wrong), not reuse an interpreter.
    secret = kwargs.get('password')
    digest = hashlib.sha256(('velocity:%s' % secret).encode('utf-8', 'surrogateescape')).hexdigest() if secret else None
    return (hop['method'], items, _freeze(hop.get('python')), digest, _freeze(hop.get('identity')))


def _freeze(value: t.Any) -> t.Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _python_argv(python: dict) -> list[str]:
    """Interpreter argv: an explicit path, or a /bin/sh probe with Ansible's discovery order."""
    if python.get('path'):
        return list(python['path'])
    candidates = python.get('discover') or ['python3', '/usr/bin/python3']
    quoted = ' '.join("'%s'" % c.replace("'", "'\"'\"'") for c in candidates)
    # Nothing found: discovery then settles on /usr/bin/python3 (with a warning), as stock does.
    script = ('for p in %s; do x=$(command -v "$p" 2>/dev/null) && exec "$x" "$@"; done; '
              '[ -x /usr/bin/python3 ] && exec /usr/bin/python3 "$@"; '
              'echo "velocity.mitogen: no Python interpreter found (tried: %s)" >&2; exit 127'
              % (quoted, ' '.join(candidates + ['/usr/bin/python3']).replace('"', '')))
    return ['/bin/sh', '-c', script, 'sh']


def _missing_interpreter(python: dict | None, text: str) -> str | None:
    """The interpreter path, if the boot failed because it does not exist."""
    if python and python.get('discover') and 'no Python interpreter found' in text:
        return 'python'
    if not python or not python.get('path'):
        return None
    path = python['path'][0]
    for line in text.splitlines():
        if path in line and ('not found' in line or 'No such file' in line):
            return path
    return None


def _ssh_refusal(kwargs: dict) -> str | None:
    """What the ssh client itself says about a refused key login (one more, batch-mode attempt)."""
    import subprocess
    argv = [kwargs.get('ssh_path') or 'ssh', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR']
    if kwargs.get('username'):
        argv += ['-l', kwargs['username']]
    if kwargs.get('port'):
        argv += ['-p', str(kwargs['port'])]
    if kwargs.get('identity_file'):
        # As the stock plugin passes it: unlike -i, a missing file is not warned about.
        argv += ['-o', 'IdentitiesOnly=yes', '-o', 'IdentityFile="%s"' % kwargs['identity_file']]
    argv += list(kwargs.get('ssh_args') or []) + [kwargs['hostname'], 'true']
    timeout = (kwargs.get('connect_timeout') or 10) + 5
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = proc.stderr.decode('utf-8', 'replace').strip()
    if proc.returncode == 255 and 'Permission denied' in text:
        return 'Failed to connect to the host via ssh: %s' % text
    return None


def _connect_message(method: str, exc: BaseException) -> str:
    """The message stock Ansible gives for the same failure."""
    text = str(exc).strip()
    marker = 'last 100 lines received:'
    if marker in text:
        # Mitogen quotes what the ssh client printed: stock shows just that.
        text = text.split(marker, 1)[1].strip()
    if method == 'ssh':
        return 'Failed to connect to the host via ssh: %s' % text
    if 'password is incorrect' in text:
        return 'Incorrect %s password' % method
    if 'password is required' in text:
        return 'Missing %s password' % method
    return '%s: %s' % (method, text)


def _describe(exc: BaseException) -> str:
    return '%s: %s' % (type(exc).__name__, exc)
