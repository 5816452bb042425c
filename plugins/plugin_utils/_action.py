# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How an action runs a module over a velocity.mitogen connection.

This plugin util is PRIVATE to the collection. New-style Python modules run in
the persistent interpreter from cached code: no AnsiballZ zip, no temp dir, one
request to the multiplexer and one roundtrip to the target. Other module styles
and async tasks take ansible-core's own path, over our connection's
exec_command/put_file.

Internal ansible-core members used here (2.19-2.22, same names): ActionBase's
``_task``, ``_connection``, ``_loader``, ``_get_remote_user``,
``_update_module_args``, ``_compute_environment_string``,
``_is_become_unprivileged``, ``_should_remove_tmp_path``, ``_used_interpreter``
and ``_cleanup_remote_tmp``; the shell plugin's ``_generate_temp_dir_name`` and
``tmpdir``. Everything else goes through ``_ansible_compat``.
"""

from __future__ import annotations

import typing as t

from ansible import constants as C
from ansible.module_utils.common.text.converters import to_text
from ansible.utils.display import Display

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _ansible_compat, _hops, _planner
from ansible_collections.velocity.mitogen.plugins.plugin_utils._connection import InterpreterMissing, MitogenConnection

display = Display()


def ours(action: t.Any) -> bool:
    return isinstance(action._connection, MitogenConnection)


def carries(action: t.Any, wrap_async: bool) -> bool:
    return ours(action) and not wrap_async and not action._task.async_val


def should_become(action: t.Any) -> bool:
    """Whether a sudoable command would be run with become: ActionBase._low_level_execute_command's test."""
    if not action._connection.become:
        return False
    ruser = action._get_remote_user()
    buser = action.get_become_option('become_user')
    return bool(getattr(C, 'BECOME_ALLOW_SAME_USER') or (buser != ruser or not any((ruser, buser))))


def _module_style(path: str) -> tuple[str, bytes]:
    with open(path, 'rb') as fp:
        source = fp.read()
    return _planner.detect_style(source, **_ansible_compat.module_style_markers()), source


def execute_module(action: t.Any, original: t.Callable, module_name: str | None, module_args: dict | None,
                   tmp: t.Any, task_vars: dict | None, persist_files: bool, delete_remote_tmp: t.Any,
                   wrap_async: bool, ignore_unknown_opts: bool) -> dict:
    def stock() -> dict:
        return original(action, module_name=module_name, module_args=module_args, tmp=tmp, task_vars=task_vars,
                        persist_files=persist_files, delete_remote_tmp=delete_remote_tmp, wrap_async=wrap_async,
                        ignore_unknown_opts=ignore_unknown_opts)

    if task_vars is None:
        task_vars = {}
    name = module_name if module_name is not None else action._task.action
    args = module_args if module_args is not None else action._task.args
    module_path = _ansible_compat.resolve_module(action, name)
    style, source = _module_style(module_path)
    if style != 'python' or getattr(C, 'DEFAULT_KEEP_REMOTE_FILES'):
        return stock()

    action._update_module_args(name, args, task_vars, ignore_unknown_opts=ignore_unknown_opts)
    interpreter = _ansible_compat.python_interpreter(action, task_vars)
    display.vvv('Using module file %s' % module_path)
    action._used_interpreter = '#!' + interpreter

    fqn = _ansible_compat.module_fqn(name, module_path)
    if fqn.rpartition('.')[2] == 'user' and args.get('state') == 'absent' and args.get('name'):
        # userdel refuses an account with running processes: ours would be its interpreter.
        action._connection.retire_account(_hops.plain(str(args['name'])))

    environment: dict[str, t.Any] = {}
    action._compute_environment_string(environment)
    profile = _ansible_compat.serialization_profile(source, module_path)
    json_params = _ansible_compat.encode_module_params(args, profile)
    connection = action._connection
    chdir = None
    if connection.record.modules_in_playbook_dir:
        chdir = to_text(action._loader.get_basedir())
    try:
        raw = connection.run_module(
            plan=connection.plan(should_become(action), interpreter),
            module_path=_hops.plain(module_path),
            fqn=fqn,
            json_params=json_params,
            profile=profile,
            env={_hops.plain(k): _hops.plain(str(v)) for k, v in environment.items()},
            secrets=_ansible_compat.secrets_in(json_params),
            chdir=_hops.plain(chdir),
            module_utils_paths=_ansible_compat.module_utils_paths(),
            rlimit_nofile=_ansible_compat.rlimit_nofile(action, task_vars),
        )
        if raw.get('fallback'):
            # The module asked for a process of its own (respawn_module), or imports a
            # module_util only AnsiballZ packaging can report on: stock does it all.
            display.vvv('velocity.mitogen: %s runs through AnsiballZ (%s)' % (name, raw['fallback']))
            return stock()
    except InterpreterMissing as exc:
        # What stock gets back when /bin/sh cannot find the interpreter (pty: stderr in stdout).
        raw = {'rc': 127, 'stdout': ('/bin/sh: 1: %s: not found\r\n' % exc.interpreter).encode(), 'stderr': b''}
    if raw['stderr'] and connection.module_on_tty():
        raw = dict(raw, stdout=(raw['stderr'] + raw['stdout']).replace(b'\n', b'\r\n'), stderr=b'')
    out = to_text(raw['stdout'], errors='surrogate_then_replace')
    err = to_text(raw['stderr'], errors='surrogate_then_replace')
    res = dict(rc=raw['rc'], stdout=out, stdout_lines=out.splitlines(), stderr=err, stderr_lines=err.splitlines())
    return _ansible_compat.finish_module_result(action, res, profile)


def make_tmp_path(action: t.Any, remote_user: str | None = None) -> str:
    """ActionBase._make_tmp_path, without a roundtrip: the same path stock would make,
    created by the interpreter that will use it (so no permission fix-up is needed)."""
    connection = action._connection
    system = bool(action._is_become_unprivileged())
    base = action.get_shell_option('remote_tmp', default='~/.ansible/tmp')
    if system:
        system_dirs = list(connection._shell.get_option('system_tmpdirs'))
        base = base.rstrip('/') if base.rstrip('/') in system_dirs else system_dirs[0]
    become = should_become(action)
    path = connection.make_tmp(become, _hops.plain(base), connection._shell._generate_temp_dir_name(), system)
    connection.file_become = become
    action._cleanup_remote_tmp = True
    connection._shell.tmpdir = path
    return path


def remove_tmp_path(action: t.Any, tmp_path: str | None, force: bool = False) -> None:
    connection = action._connection
    if tmp_path is None and connection._shell.tmpdir:
        tmp_path = connection._shell.tmpdir
    if force or action._should_remove_tmp_path(tmp_path):
        connection.remove_tree(_hops.plain(tmp_path))
        connection._shell.tmpdir = None


def fixup_perms2(action: t.Any, remote_paths: list, remote_user: str | None = None, execute: bool = True) -> list:
    """Files in our temp dirs already belong to the user who reads them: only +x is left to do."""
    if execute:
        connection = action._connection
        connection.chmod(_hops.plain(list(remote_paths)), 'u+x')
    return remote_paths
