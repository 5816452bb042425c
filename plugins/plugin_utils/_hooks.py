# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ansible-core patches, installed for the run that uses us and removed after it.

This plugin util is PRIVATE to the collection. There are two, and each falls
through to stock for anything that is not ours:

1. ``connection_loader.get_with_context`` (an instance attribute of the shared
   ``PluginLoader``, which ``TaskExecutor._get_connection`` and the
   reset_connection meta task call; same signature 2.19-2.22): maps
   ``ssh``/``smart``/``local`` and their builtin FQCNs to our plugins. Only a
   velocity.mitogen strategy installs it, for the duration of its ``run()``:
   a later play with a stock strategy runs fully stock.
2. ``ActionBase._execute_module``, ``_make_tmp_path``, ``_remove_tmp_path`` and
   ``_fixup_perms2`` (same signatures 2.19-2.22): on our connections, new-style
   modules run in the persistent interpreter and the task temp dir is made and
   removed without waiting for the target. A strategy installs them for its
   run; in connection-only mode our connection installs them in the worker it
   was loaded in, which ends with its task.
"""

from __future__ import annotations

import contextlib
import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _ansible_compat

_ACTION_METHODS = ('_execute_module', '_make_tmp_path', '_remove_tmp_path', '_fixup_perms2')
_originals: dict[str, t.Any] = {}


def installed() -> bool:
    return bool(_originals)


@contextlib.contextmanager
def for_run() -> t.Iterator[None]:
    """Both patches, for one strategy run."""
    owner = not installed()
    if owner:
        install(redirect=True)
    try:
        yield
    finally:
        if owner:
            remove()


def install_in_worker() -> None:
    """The action patches, in a worker that loaded one of our connections (connection-only mode)."""
    if not installed() and _ansible_compat.in_worker():
        install(redirect=False)


def install(redirect: bool) -> None:
    _ansible_compat.check_version()
    from ansible.plugins.action import ActionBase
    from ansible.plugins.loader import connection_loader
    from ansible_collections.velocity.mitogen.plugins.plugin_utils import _action

    for name in _ACTION_METHODS:
        _originals[name] = ActionBase.__dict__[name]
    originals = dict(_originals)

    def _execute_module(self: t.Any, module_name: t.Any = None, module_args: t.Any = None, tmp: t.Any = None,
                        task_vars: t.Any = None, persist_files: bool = False, delete_remote_tmp: t.Any = None,
                        wrap_async: bool = False, ignore_unknown_opts: bool = False) -> t.Any:
        if _action.carries(self, wrap_async):
            return _action.execute_module(self, originals['_execute_module'], module_name, module_args, tmp,
                                          task_vars, persist_files, delete_remote_tmp, wrap_async, ignore_unknown_opts)
        return originals['_execute_module'](
            self, module_name=module_name, module_args=module_args, tmp=tmp, task_vars=task_vars,
            persist_files=persist_files, delete_remote_tmp=delete_remote_tmp, wrap_async=wrap_async,
            ignore_unknown_opts=ignore_unknown_opts)

    def _make_tmp_path(self: t.Any, remote_user: t.Any = None) -> t.Any:
        if _action.ours(self):
            return _action.make_tmp_path(self, remote_user)
        return originals['_make_tmp_path'](self, remote_user)

    def _remove_tmp_path(self: t.Any, tmp_path: t.Any, force: bool = False) -> t.Any:
        if _action.ours(self):
            return _action.remove_tmp_path(self, tmp_path, force)
        return originals['_remove_tmp_path'](self, tmp_path, force)

    def _fixup_perms2(self: t.Any, remote_paths: t.Any, remote_user: t.Any = None, execute: bool = True) -> t.Any:
        if _action.ours(self):
            return _action.fixup_perms2(self, remote_paths, remote_user, execute)
        return originals['_fixup_perms2'](self, remote_paths, remote_user, execute)

    for name, function in (('_execute_module', _execute_module), ('_make_tmp_path', _make_tmp_path),
                           ('_remove_tmp_path', _remove_tmp_path), ('_fixup_perms2', _fixup_perms2)):
        setattr(ActionBase, name, function)

    if redirect:
        original = connection_loader.get_with_context
        _originals['get_with_context_instance'] = vars(connection_loader).get('get_with_context')

        def get_with_context(name: str, *args: t.Any, **kwargs: t.Any) -> t.Any:
            if kwargs.get('class_only'):
                # A class asked for its static helpers (network connections call
                # ssh's _create_control_path): the stock class answers.
                return original(name, *args, **kwargs)
            return original(_ansible_compat.REDIRECTS.get(name, name), *args, **kwargs)

        get_with_context.__wrapped__ = original  # type: ignore[attr-defined]
        _originals['get_with_context'] = original
        setattr(connection_loader, 'get_with_context', get_with_context)


def remove() -> None:
    """Put back what :func:`install` replaced."""
    from ansible.plugins.action import ActionBase
    from ansible.plugins.loader import connection_loader
    for name in _ACTION_METHODS:
        if name in _originals:
            setattr(ActionBase, name, _originals.pop(name))
    if _originals.pop('get_with_context', None) is not None:
        earlier = _originals.pop('get_with_context_instance', None)
        if earlier is not None:
            setattr(connection_loader, 'get_with_context', earlier)  # someone else's wrapper, from before ours
        else:
            # The loader's own method again (the patch was an instance attribute).
            with contextlib.suppress(AttributeError):
                del connection_loader.get_with_context
    _originals.clear()
