# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure decisions: what kind of module this is, and how an interpreter value is read.

This plugin util is PRIVATE to the collection. It imports nothing from Ansible
so that it can be unit-tested without a controller.
"""

from __future__ import annotations

import re
import shlex
import typing as t

_REPLACER = b'#<<INCLUDE_ANSIBLE_MODULE_COMMON>>'
_REPLACER_WINDOWS = b'# POWERSHELL_COMMON'
_REPLACER_JSONARGS = b'<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>'
_NEW_STYLE_RE = re.compile(
    br'(?:from +\.{2,}(?:module_utils|module_utils\.basic) +import)|'
    br'(?:from +ansible_collections\.[^.]+\.[^.]+\.plugins\.module_utils(?:\.\S+)? +import)|'
    br'(?:from +ansible\.module_utils(?:\.\S+)? +import)|'
    br'(?:import +ansible\.module_utils)'
)
_TEXT_CHARS = bytes(bytearray({7, 8, 9, 10, 12, 13, 27} | set(range(0x20, 0x100)) - {0x7f}))


class InterpreterError(ValueError):
    pass


def is_binary(b_data: bytes) -> bool:
    """Same test as module_common._is_binary: non-text bytes in the first 1 KiB."""
    start = b_data[:1024]
    return bool(start.translate(None, _TEXT_CHARS))


def detect_style(b_source: bytes, replacer: bytes = _REPLACER, replacer_windows: bytes = _REPLACER_WINDOWS,
                 replacer_jsonargs: bytes = _REPLACER_JSONARGS, new_style_re: t.Pattern = _NEW_STYLE_RE) -> str:
    """Module sub-style, in module_common._find_module_utils's order of tests."""
    if is_binary(b_source):
        return 'binary'
    if replacer in b_source or new_style_re.search(b_source):
        return 'python'
    if replacer_windows in b_source or re.search(
            b'#Requires -Module|#Requires -Version|#AnsibleRequires -(OSVersion|PowerShell|CSharpUtil|Wrapper)',
            b_source, re.IGNORECASE):
        return 'powershell'
    if replacer_jsonargs in b_source:
        return 'jsonargs'
    if b'WANT_JSON' in b_source:
        return 'want_json'
    return 'old'


def parse_interpreter(value: t.Any, option: str = 'ansible_python_interpreter') -> list[str]:
    """The interpreter as one argv element, never through a shell.

    Stock ansible-core quotes the whole value as one path, so ``/usr/bin/env
    python3`` names a file with a space in it, and ``;`` or ``$(...)`` run nothing.
    """
    if not isinstance(value, str) or not value.strip():
        raise InterpreterError('%s must be a non-empty string naming a Python interpreter, got %r' % (option, value))
    return [value.strip()]


def is_discovery(value: t.Any) -> bool:
    return value in (None, '', 'auto', 'auto_silent', 'auto_legacy', 'auto_legacy_silent')


def split_args(*values: t.Any) -> list[str]:
    """ssh_args/ssh_common_args/ssh_extra_args as one argv, quoted as the ssh plugin reads them."""
    argv: list[str] = []
    for value in values:
        if value:
            argv.extend(shlex.split(str(value)))
    return argv


def host_key_mode(checking: t.Any, ssh_args: list[str] | None = None) -> str:
    """Ansible's host_key_checking as Mitogen's check_host_keys.

    Mitogen puts its own StrictHostKeyChecking before the user's ssh arguments,
    and ssh takes the first value it sees, so an explicit StrictHostKeyChecking
    in the arguments decides the mode, as it would with the stock ssh plugin.
    """
    argv = ssh_args or []
    for index, arg in enumerate(argv):
        text = arg[2:] if arg.startswith('-o') and len(arg) > 2 else (argv[index + 1] if arg == '-o' and index + 1 < len(argv) else '')
        name, dummy, value = text.replace('=', ' ', 1).partition(' ')
        if name.strip().lower() == 'stricthostkeychecking':
            return 'enforce' if value.strip().lower() in ('yes', 'true') else 'accept'
    return 'enforce' if checking else 'accept'
