# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: run new-style Python modules inside the persistent interpreter.

This module util is PRIVATE to the collection. It mirrors what ansible-core's
AnsiballZ wrapper and ``_ansiballz._loader`` do in a fresh process, but keeps the
compiled module and its module_utils cached between tasks, and puts back the
process state a module may change (environment, cwd, umask, stdio, argv and the
module_utils globals that collect warnings).

Internal ansible-core members used here (2.19-2.22): ``basic._ANSIBLE_ARGS``,
``_ANSIBLE_PROFILE`` and ``_PARSED_MODULE_ARGS``; ``common.warnings._global_warnings``
and ``_global_deprecations``; ``_internal._secrets._secret_masker`` (2.22);
``_internal._ansiballz._loader._handle_exception``; ``common.respawn.respawn_module``
(replaced to signal the controller).
"""

from __future__ import annotations

import atexit
import io
import os
import signal
import sys
import types
import typing as t

if t.TYPE_CHECKING:
    import importlib.machinery

    # A custom module_util as the controller sends it: (path, source, is_package).
    _Entry = tuple[str, bytes, bool]
    _P = t.ParamSpec('_P')
    _T = t.TypeVar('_T')

_code_cache: dict[str, types.CodeType] = {}

# A Mitogen child runs its bootstrap without a __main__ module; module_utils import it.
sys.modules.setdefault('__main__', types.ModuleType('__main__'))


class _Captured(io.TextIOWrapper):
    def __init__(self) -> None:
        super(_Captured, self).__init__(io.BytesIO(), encoding='utf-8', errors='surrogateescape', write_through=True)

    def getvalue(self) -> bytes:
        self.flush()
        return t.cast(io.BytesIO, self.buffer).getvalue()


class _CustomModuleUtils(object):
    """Serves ``ansible.module_utils.*`` from role and playbook dirs, ahead of Mitogen's importer."""

    def __init__(self) -> None:
        self.modules: dict[str, _Entry] = {}

    def find_spec(self, fullname: str, path: t.Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        entry = self.modules.get(fullname)
        if entry is None:
            return None
        import importlib.util
        # A loader by protocol (create_module, exec_module), which typeshed does not model.
        return importlib.util.spec_from_loader(fullname, self, origin=entry[0], is_package=entry[2])  # type: ignore[arg-type]

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        path, source, is_pkg = self.modules[module.__name__]
        module.__file__ = path
        if is_pkg:
            module.__path__ = []
        exec(compile(source, path, 'exec', dont_inherit=True), module.__dict__)


_custom = _CustomModuleUtils()


def _install_custom(modules: t.Mapping[str, t.Sequence[t.Any]]) -> None:
    for name, entry in modules.items():
        _custom.modules[name] = t.cast('_Entry', tuple(entry))
        sys.modules.pop(name, None)  # a newer version replaces a cached one
    if _custom not in sys.meta_path:
        sys.meta_path.insert(0, _custom)


def _environ_snapshot() -> dict[t.Any, t.Any]:
    """A cheap copy of the environment: os.environ's raw mapping (bytes on POSIX) when there is one."""
    data = getattr(os.environ, '_data', None)
    return dict(data) if isinstance(data, dict) else dict(os.environ)


def _decoded(raw: t.Mapping[bytes, bytes]) -> t.Iterator[tuple[str, str]]:
    for key, value in raw.items():
        yield os.fsdecode(key), os.fsdecode(value)


def _compile(key: str, path: str, source: bytes | None) -> types.CodeType:
    code = _code_cache.get(key)
    if code is None:
        # Not None: run_module asks for the source of code it does not have.
        code = compile(t.cast(bytes, source), path, 'exec', dont_inherit=True)
        _code_cache[key] = code
    return code


def _reset_module_utils_globals() -> None:
    """Clear state that module_utils keeps per process, as a fresh process would have it."""
    basic: t.Any = sys.modules.get('ansible.module_utils.basic')
    if basic is not None:
        basic._ANSIBLE_ARGS = None
        basic._ANSIBLE_PROFILE = None
        if hasattr(basic, '_PARSED_MODULE_ARGS'):
            basic._PARSED_MODULE_ARGS = None
    warnings = sys.modules.get('ansible.module_utils.common.warnings')
    if warnings is not None:
        for name in ('_global_warnings', '_global_deprecations'):
            value: t.Any = getattr(warnings, name, None)
            if hasattr(value, 'clear'):
                value.clear()
    secrets = sys.modules.get('ansible.module_utils._internal._secrets')  # ansible-core >= 2.22
    masker = getattr(secrets, '_secret_masker', None)
    if masker is not None:
        masker.__init__()  # in place: other modules hold references to this object


_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ('SIGALRM', 'SIGCHLD', 'SIGPIPE', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2')
    if hasattr(signal, name))


class _Fallback(BaseException):
    """The module needs a process of its own (respawn) or something only packaging reports."""


def _respawn_module(interpreter_path: str) -> t.NoReturn:
    raise _Fallback('respawn')


def _import_fallback(exc: BaseException) -> bool:
    """A module_util the controller did not find: AnsiballZ would not have been built."""
    name = getattr(exc, 'name', None) or ''
    return isinstance(exc, ImportError) and name.split('.')[0] in ('ansible', 'ansible_collections')


def _set_rlimit_nofile(value: int) -> tuple[int, int] | None:
    """What AnsiballZ's wrapper does with ansible_python_module_rlimit_nofile; returns how to undo it."""
    if not value:
        return None
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, value) if hard != resource.RLIM_INFINITY else value
    if wanted == soft:
        return None
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except ValueError:
        return None
    return soft, hard


def _restore_rlimit_nofile(saved: tuple[int, int] | None) -> None:
    if saved is not None:
        import resource
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, saved)
        except ValueError:
            pass


def run_module(key: str, source: bytes | None, fqn: str, path: str, json_params: str, profile: str,
               env: dict[str, str] | None = None, secrets: t.Iterable[str] | None = None, chdir: str | None = None,
               custom_module_utils: t.Mapping[str, t.Sequence[t.Any]] | None = None,
               rlimit_nofile: int = 0) -> dict[str, t.Any]:
    """Run one module as ``__main__``; return its rc, stdout and stderr like a process would.

    ``source`` is None when the caller believes the code is cached here; if it is
    not (a recycled interpreter), ``{'need_source': True}`` asks for it.
    """
    if key not in _code_cache and source is None:
        return {'need_source': True}
    code = _compile(key, path, source)
    if custom_module_utils:
        _install_custom(custom_module_utils)

    from ansible.module_utils import basic
    from ansible.module_utils._internal._ansiballz import _loader

    saved_env = _environ_snapshot()
    saved_cwd: str | None = None
    try:
        saved_cwd = os.getcwd()
    except OSError:
        for candidate in (os.path.expanduser('~'), '/'):
            try:
                os.chdir(candidate)
                saved_cwd = candidate
                break
            except OSError:
                pass
    saved_umask = os.umask(0o022)
    os.umask(saved_umask)
    saved_stdio = sys.stdin, sys.stdout, sys.stderr
    saved_argv = sys.argv
    saved_main = sys.modules.get('__main__')
    saved_path = list(sys.path)
    exit_handlers: list[tuple[t.Callable[..., t.Any], tuple[t.Any, ...], dict[str, t.Any]]] = []
    saved_register = atexit.register

    def register(func: t.Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> t.Callable[_P, _T]:
        # What a module leaves for interpreter exit (AnsibleModule removes its tmpdir
        # that way) runs when the module ends, as it would in a process of its own.
        exit_handlers.append((func, args, kwargs))
        return func

    atexit.register = register
    saved_signals = [(number, signal.getsignal(number)) for number in _SIGNALS]
    stdout, stderr = _Captured(), _Captured()
    rc = 0
    saved_rlimit: tuple[int, int] | None = None
    try:
        _reset_module_utils_globals()
        if env:
            os.environ.update(env)
        if chdir:
            try:
                os.chdir(chdir)
            except OSError:
                # The controller's directory may be closed to a become account; stock
                # hands the process an already-entered directory, which it cannot reopen.
                pass
        sys.stdin = io.TextIOWrapper(io.BytesIO(b''), encoding='utf-8')
        sys.stdout, sys.stderr = stdout, stderr
        sys.argv = [path]
        basic._ANSIBLE_ARGS = json_params.encode('utf-8')
        basic._ANSIBLE_PROFILE = profile
        if secrets:
            from ansible.module_utils import secrets as _secrets  # ansible-core >= 2.22
            for secret in secrets:
                _secrets._secret_masker.register_secret_text(secret)
        saved_rlimit = _set_rlimit_nofile(rlimit_nofile)
        import importlib.machinery
        main = types.ModuleType('__main__')
        main.__file__ = path
        main.__spec__ = importlib.machinery.ModuleSpec(fqn, None, origin=path)  # as runpy.run_module sets it
        main.__package__ = fqn.rpartition('.')[0]
        # Names ModuleType does not declare: set through the namespace, as attributes are.
        main.__dict__.update(__builtins__=__builtins__, _module_fqn=fqn, _modlib_path=os.path.dirname(path))
        sys.modules['__main__'] = main
        try:
            try:
                from ansible.module_utils.common import respawn
                # Only ever modules run in this interpreter: the patch can stay.
                respawn.respawn_module = _respawn_module
                exec(code, main.__dict__)
                raise RuntimeError('New-style module did not handle its own exit.')
            except SystemExit:
                raise
            except _Fallback as ex:
                return {'fallback': str(ex)}
            except Exception as ex:
                if _import_fallback(ex):
                    return {'fallback': 'import'}
                _loader._handle_exception(ex, profile)
            except BaseException:  # pylint: disable=broad-except
                # What escapes AnsiballZ's handler kills the process: Python prints the traceback, rc 1.
                import traceback
                stderr.write(traceback.format_exc())
                rc = 1
        except SystemExit as exc:
            if exc.code is None:
                rc = 0
            elif isinstance(exc.code, int):
                rc = exc.code
            else:
                stderr.write('%s\n' % (exc.code,))
                rc = 1
    finally:
        _restore_rlimit_nofile(saved_rlimit)
        atexit.register = saved_register
        for func, args, kwargs in reversed(exit_handlers):
            try:
                func(*args, **kwargs)
            except Exception:  # pylint: disable=broad-except
                pass
        sys.stdin, sys.stdout, sys.stderr = saved_stdio
        sys.path[:] = saved_path
        if hasattr(signal, 'setitimer'):
            signal.setitimer(signal.ITIMER_REAL, 0)
        for number, handler in saved_signals:
            if handler is not None:
                try:
                    signal.signal(number, handler)
                except (ValueError, OSError):
                    pass
        sys.argv = saved_argv
        if saved_main is not None:
            sys.modules['__main__'] = saved_main
        if _environ_snapshot() != saved_env:
            os.environ.clear()
            os.environ.update(saved_env if isinstance(next(iter(saved_env), ''), str) else dict(_decoded(saved_env)))
        os.umask(saved_umask)
        if saved_cwd is not None:
            try:
                os.chdir(saved_cwd)
            except OSError:
                pass
        _reset_module_utils_globals()
    return {'rc': rc, 'stdout': stdout.getvalue(), 'stderr': stderr.getvalue()}
