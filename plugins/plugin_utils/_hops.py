# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ansible connection and become options -> a complete connect plan per hop.

This plugin util is PRIVATE to the collection. A plan is a list of :class:`Hop`
records, one per hop from the controller to the account a task runs as. Each
carries everything the multiplexer's pool needs to connect it with one
``router.<method>(via=previous, **kwargs)`` call and to word its failures as
stock would: its identity, the interpreter argv, the timeout message, and the
ssh command that learns ssh's own words for a refused login. Secrets travel in
``kwargs`` only: never in a hop's key (a password is a salted digest there),
its repr, or any log line.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _planner
from ansible_collections.velocity.mitogen.plugins.plugin_utils._record import Record

SUPPORTED_BECOME = ('sudo', 'su')
# Where the Python boot command goes in the become plugin's command (module_utils/_target_become).
BOOT_PLACEHOLDER = 'VELOCITY_MITOGEN_BOOT_COMMAND'
# Options that would leave an ssh ControlMaster behind the run, or fight with
# the single long-lived connection Mitogen keeps itself.
_DROPPED_SSH_OPTIONS = ('controlmaster', 'controlpersist', 'controlpath')
# What the discovery probe prints when it finds no Python (the pool recognises it).
NO_PYTHON = 'velocity.mitogen: no Python interpreter found'

OptionGetter = t.Callable[[str], t.Any]
PythonSpec = t.Dict[str, t.List[str]]  # {'path': argv} or {'discover': candidates}


class HopError(ValueError):
    """A connection or become option has a value we cannot use."""


class Hop(Record):
    """One hop of a connect plan."""

    __slots__ = ('method', 'label', 'key', 'kwargs', 'interpreter', 'timeout_message', 'refusal_argv')
    _defaults = {'interpreter': None, 'timeout_message': None, 'refusal_argv': None}
    _secret = ('kwargs',)
    method: str                      # the pool's connect method: 'ssh', 'local' or 'become'
    label: str                       # what messages call it: 'ssh', 'local', 'sudo', 'su'
    key: tuple                       # identity: (method, interpreter, settings, password digest)
    kwargs: dict                     # router keyword arguments, secrets included
    interpreter: str | None          # an explicit interpreter, to recognise it missing; None: discovered
    timeout_message: str | None      # stock's words when the login times out
    refusal_argv: list[str] | None   # ssh: a batch-mode login that shows ssh's refusal

    @property
    def discovered(self) -> bool:
        return self.interpreter is None

    def key_with_interpreter(self, executable: str) -> tuple:
        """The key this hop would have with ``executable`` named explicitly: a later
        task that names the discovered interpreter reuses the same context."""
        return (self.key[0], ('path', (executable,))) + self.key[2:]


def plain(value: t.Any) -> t.Any:
    """A copy made of builtin types only: Mitogen refuses to unpickle Ansible's tagged types."""
    if value is None or type(value) in (bool, int, float, str, bytes):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value


def python_spec(value: t.Any, fallback: list[str], option: str = 'ansible_python_interpreter') -> PythonSpec:
    if _planner.is_discovery(value):
        return {'discover': [str(c) for c in fallback]}
    try:
        return {'path': _planner.parse_interpreter(value, option)}
    except _planner.InterpreterError as exc:
        raise HopError(str(exc)) from None


def python_argv(python: PythonSpec) -> list[str]:
    """Interpreter argv: an explicit path, or a /bin/sh probe with Ansible's discovery order."""
    if python.get('path'):
        return list(python['path'])
    candidates = python.get('discover') or ['python3', '/usr/bin/python3']
    quoted = ' '.join(shlex.quote(c) for c in candidates)
    # Nothing found: discovery then settles on /usr/bin/python3 (with a warning), as stock does.
    script = ('for p in %s; do x=$(command -v "$p" 2>/dev/null) && exec "$x" "$@"; done; '
              '[ -x /usr/bin/python3 ] && exec /usr/bin/python3 "$@"; '
              'echo "%s (tried: %s)" >&2; exit 127'
              % (quoted, NO_PYTHON, ' '.join(candidates + ['/usr/bin/python3']).replace('"', '')))
    return ['/bin/sh', '-c', script, 'sh']


def _freeze(value: t.Any) -> t.Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _key(method: str, python: PythonSpec, settings: t.Any, secret: str | None) -> tuple:
    """A hop's identity. The password is part of it, as a salted digest: a task with
    another password must log in again (and fail as stock does when it is wrong)."""
    kind = 'path' if python.get('path') else 'discover'
    digest = hashlib.sha256(('velocity:%s' % secret).encode('utf-8', 'surrogateescape')).hexdigest() if secret else None
    return (method, (kind, tuple(python.get(kind) or ())), _freeze(settings), digest)


def _hop(method: str, label: str, python: PythonSpec, kwargs: dict, settings: t.Any, **extra: t.Any) -> Hop:
    python = plain(python)
    kwargs = plain(dict(kwargs, python_path=python_argv(python)))
    interpreter = python['path'][0] if python.get('path') else None
    return Hop(method=method, label=label, key=_key(method, python, plain(settings), kwargs.get('password')),
               kwargs=kwargs, interpreter=interpreter, **plain(extra))


def filter_ssh_args(argv: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == '-o' and index + 1 < len(argv):
            name = argv[index + 1].split('=', 1)[0].split(None, 1)[0].lower()
            if name in _DROPPED_SSH_OPTIONS:
                skip = True
                continue
        elif arg.startswith('-o') and len(arg) > 2:
            name = arg[2:].split('=', 1)[0].split(None, 1)[0].lower()
            if name in _DROPPED_SSH_OPTIONS:
                continue
        out.append(arg)
    return out


def _int_option(name: str, value: t.Any, minimum: int = 0) -> int | None:
    if value is None or value == '':
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise HopError('option %s must be an integer, got %r' % (name, value)) from None
    if number < minimum:
        raise HopError('option %s must be >= %d, got %r' % (name, minimum, value))
    return number


def ssh_kwargs(get_option: OptionGetter) -> dict:
    """Mitogen's ssh arguments from the options of Ansible's ssh plugin."""
    port = _int_option('port', get_option('port'), 1)
    timeout = _int_option('timeout', get_option('timeout'), 1)
    ssh_args = filter_ssh_args(_planner.split_args(
        get_option('ssh_args'), get_option('ssh_common_args'), get_option('ssh_extra_args')))
    kwargs: dict[str, t.Any] = {
        'hostname': get_option('host'),
        'port': port,
        'username': get_option('remote_user'),
        'identity_file': get_option('private_key_file') or None,
        'password': get_option('password') or None,
        'ssh_path': get_option('ssh_executable') or 'ssh',
        'ssh_args': ssh_args,
        'check_host_keys': _planner.host_key_mode(get_option('host_key_checking'), ssh_args),
        'connect_timeout': timeout or 10,
        'compression': False,  # -C in ssh_args is honoured as given
    }
    if not kwargs['hostname']:
        raise HopError('option host (ansible_host) is empty: expected a host name or address')
    return kwargs


def ssh_argv(kwargs: dict, batch: bool = False) -> list[str]:
    """The ssh client command for an ssh hop: shown at -vvv, or (``batch``) run once to
    learn ssh's own words for a refused login. Never carries a secret."""
    argv = [kwargs.get('ssh_path') or 'ssh']
    if batch:
        argv += ['-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR']
    argv += list(kwargs.get('ssh_args') or [])
    if kwargs.get('port'):
        argv += ['-o', 'Port=%s' % kwargs['port']]
    if kwargs.get('identity_file'):
        # As the stock plugin passes it: unlike -i, a missing file is not warned about.
        argv += ['-o', 'IdentitiesOnly=yes', '-o', 'IdentityFile="%s"' % kwargs['identity_file']]
    if kwargs.get('username'):
        argv += ['-o', 'User="%s"' % kwargs['username']]
    argv += ['-o', 'ConnectTimeout=%s' % kwargs.get('connect_timeout'), str(kwargs.get('hostname'))]
    return argv + (['true'] if batch else [])


def ssh_command_line(kwargs: dict) -> str:
    return ' '.join(shlex.quote(str(a)) for a in ssh_argv(kwargs))


def ssh_hop(get_option: OptionGetter, python: PythonSpec, remote_name: str | None = None) -> Hop:
    kwargs = dict(ssh_kwargs(get_option), remote_name=remote_name)
    settings = {k: v for k, v in kwargs.items() if k != 'password'}
    return _hop('ssh', 'ssh', python, kwargs, settings, refusal_argv=ssh_argv(kwargs, batch=True))


def local_hop(python: PythonSpec, host: str | None = None) -> Hop:
    """The controller, with one interpreter per inventory host: hosts of a play with a
    local connection run in parallel, as stock's one process per host does."""
    return _hop('local', 'local', python, {'remote_name': None}, host)


def _prompt_pattern(become: t.Any) -> str | None:
    """The password prompt the become plugin waits for, as a regex."""
    prompt = getattr(become, 'prompt', None)
    if isinstance(prompt, str) and prompt:
        return re.escape(prompt)  # sudo: a prompt of its own, passed with -p
    if prompt:
        # su (and plugins like it): localised prompts, as su's check_password_prompt matches them.
        try:
            prompts = become.get_option('prompt_l10n')
        except KeyError:
            prompts = None
        prompts = prompts or getattr(become, 'SU_PROMPT_LOCALIZATIONS', None) or ['Password']
        # Matched on raw bytes on the target: the fullwidth colon as an alternative, not in a class.
        return '(?:%s)\\s*(?::|\uff1a)' % '|'.join(re.escape(str(p)) for p in prompts)
    return None


def become_hop(become: t.Any, python: PythonSpec, shell: t.Any, timeout: int, timeout_message: str) -> Hop:
    """A hop for Ansible's become plugin ``become`` (its options already set): the
    command is the plugin's own, around the placeholder for the Python boot command."""
    from ansible_collections.velocity.mitogen.plugins.plugin_utils import _ansible_compat
    name = getattr(become, 'name', None) or ''
    short = name.rsplit('.', 1)[-1]
    if short not in SUPPORTED_BECOME:
        raise HopError('become method %r is not supported by velocity.mitogen; supported: %s'
                       % (name, ', '.join(SUPPORTED_BECOME)))
    command = become.build_become_command(BOOT_PLACEHOLDER, shell)
    kwargs = {
        'method': short,
        'username': become.get_option('become_user') or 'root',
        'command': command,
        'password': become.get_option('become_pass') or None,
        'prompt': _prompt_pattern(become),
        'incorrect': [str(s) for s in getattr(become, 'fail', ())],
        'missing': [str(s) for s in getattr(become, 'missing', ())],
        'connect_timeout': timeout,
        'remote_name': None,
    }

    try:
        l10n = become.get_option('prompt_l10n')
    except KeyError:
        l10n = None
    # Everything the command says (exe, flags, user, sudo_chdir, ...) but its per-call random key.
    key = _ansible_compat.become_key(become)
    settings = (short, kwargs['username'], command.replace(key, '*') if key else command,
                tuple(str(v) for v in l10n) if isinstance(l10n, (list, tuple)) else l10n)
    return _hop('become', short, python, kwargs, settings, timeout_message=timeout_message)
