# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ansible connection and become options -> Mitogen hop specs.

This plugin util is PRIVATE to the collection. A spec is a list of plain dicts,
one per hop (``{'method', 'kwargs', 'python'}``), that the multiplexer turns into
``router.<method>(via=previous, **kwargs)`` calls. Secrets travel in ``kwargs``
but never in a hop's identity (see ``_mux._hop_key``) nor in any log line.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _planner

SUPPORTED_BECOME = ('sudo', 'su')
# Where the Python boot command goes in the become plugin's command (module_utils/_target_become).
BOOT_PLACEHOLDER = 'VELOCITY_MITOGEN_BOOT_COMMAND'
# Options that would leave an ssh ControlMaster behind the run, or fight with
# the single long-lived connection Mitogen keeps itself.
_DROPPED_SSH_OPTIONS = ('controlmaster', 'controlpersist', 'controlpath')


class HopError(ValueError):
    """A connection or become option has a value we cannot use."""


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


def python_spec(value: t.Any, fallback: list[str], option: str = 'ansible_python_interpreter') -> dict:
    if _planner.is_discovery(value):
        return {'discover': list(fallback)}
    try:
        return {'path': _planner.parse_interpreter(value, option)}
    except _planner.InterpreterError as exc:
        raise HopError(str(exc)) from None


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


def ssh_hop(get_option: t.Callable[[str], t.Any], python: dict, remote_name: str | None = None) -> dict:
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
    return {'method': 'ssh', 'kwargs': kwargs, 'python': python, 'remote_name': remote_name}


def ssh_command_line(kwargs: dict) -> str:
    """The ssh client command the multiplexer runs for an ssh hop, for -vvv (no secrets in it)."""
    import shlex
    argv = [kwargs.get('ssh_path') or 'ssh'] + list(kwargs.get('ssh_args') or [])
    if kwargs.get('port'):
        argv += ['-o', 'Port=%s' % kwargs['port']]
    if kwargs.get('identity_file'):
        argv += ['-o', 'IdentityFile="%s"' % kwargs['identity_file']]
    if kwargs.get('username'):
        argv += ['-o', 'User="%s"' % kwargs['username']]
    argv += ['-o', 'ConnectTimeout=%s' % kwargs.get('connect_timeout'), str(kwargs.get('hostname'))]
    return ' '.join(shlex.quote(str(a)) for a in argv)


def local_hop(python: dict, host: str | None = None) -> dict:
    """The controller, with one interpreter per inventory host (``identity``): hosts of a
    play with a local connection run in parallel, as stock's one process per host does."""
    return {'method': 'local', 'kwargs': {}, 'python': python, 'identity': host}


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


def become_hop(become: t.Any, python: dict, shell: t.Any, timeout: int, timeout_message: str) -> dict:
    """A hop for Ansible's become plugin ``become`` (its options already set): the
    command is the plugin's own, around the placeholder for the Python boot command."""
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
    }

    def option(key: str) -> t.Any:
        try:
            return become.get_option(key)
        except KeyError:
            return None

    # Everything the command says (exe, flags, user, sudo_chdir, ...) but its per-call random key.
    key = getattr(become, '_id', None)
    identity = (short, command.replace(key, '*') if key else command, _freeze_list(option('prompt_l10n')))
    return {'method': 'become', 'kwargs': kwargs, 'python': python, 'identity': identity,
            'timeout_message': timeout_message}


def _freeze_list(value: t.Any) -> t.Any:
    return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else value
