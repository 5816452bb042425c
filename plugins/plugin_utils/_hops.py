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

import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _planner

SUPPORTED_BECOME = ('sudo',)
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


def local_hop(python: dict) -> dict:
    return {'method': 'local', 'kwargs': {}, 'python': python}


def become_hop(become: t.Any, python: dict) -> dict:
    """A hop for Ansible's become plugin ``become`` (its options already set)."""
    name = getattr(become, 'name', None) or ''
    short = name.rsplit('.', 1)[-1]
    if short not in SUPPORTED_BECOME:
        raise HopError('become method %r is not supported by velocity.mitogen; supported: %s'
                       % (name, ', '.join(SUPPORTED_BECOME)))
    flags = become.get_option('become_flags') or ''
    kwargs = {
        'username': become.get_option('become_user') or 'root',
        'sudo_path': become.get_option('become_exe') or 'sudo',
        'sudo_args': _planner.split_args(flags),
        'password': become.get_option('become_pass') or None,
    }
    return {'method': short, 'kwargs': kwargs, 'python': python}
