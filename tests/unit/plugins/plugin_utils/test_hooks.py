# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ansible-core patches: installed for a run, falling through to stock, removed exactly."""

from __future__ import annotations

import pytest

from ansible.plugins.action import ActionBase
from ansible.plugins.loader import PluginLoader, connection_loader

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _action, _ansible_compat, _hooks

METHODS = ('_execute_module', '_make_tmp_path', '_remove_tmp_path', '_fixup_perms2')
MISSING = object()


def loader_attribute():
    """The loader's own (instance) get_with_context, or MISSING when the class's method serves."""
    return vars(connection_loader).get('get_with_context', MISSING)


@pytest.fixture(autouse=True)
def pristine():
    """Every test starts and ends with stock ansible-core, whatever it did."""
    actions = {name: ActionBase.__dict__[name] for name in METHODS}
    loader = loader_attribute()
    assert not _hooks.installed()
    yield actions
    try:
        if _hooks.installed():
            _hooks.remove()
    finally:
        for name, function in actions.items():
            setattr(ActionBase, name, function)
        if loader is MISSING:
            vars(connection_loader).pop('get_with_context', None)
        else:
            connection_loader.get_with_context = loader
        _hooks._originals.clear()


def test_install_and_remove_restore_stock_exactly(pristine):
    _hooks.install(redirect=True)
    assert _hooks.installed()
    for name in METHODS:
        assert ActionBase.__dict__[name] is not pristine[name]
    patched = connection_loader.get_with_context
    assert 'get_with_context' in vars(connection_loader)
    assert patched.__wrapped__ == PluginLoader.get_with_context.__get__(connection_loader)

    _hooks.remove()
    assert not _hooks.installed()
    for name in METHODS:
        assert ActionBase.__dict__[name] is pristine[name]
    assert loader_attribute() is MISSING
    assert connection_loader.get_with_context.__func__ is PluginLoader.get_with_context


def test_install_without_redirect_leaves_the_loader_alone(pristine):
    _hooks.install(redirect=False)
    assert loader_attribute() is MISSING
    assert all(ActionBase.__dict__[name] is not pristine[name] for name in METHODS)
    _hooks.remove()
    assert all(ActionBase.__dict__[name] is pristine[name] for name in METHODS)


def test_for_run_installs_both_for_the_run_only(pristine):
    with _hooks.for_run():
        assert _hooks.installed() and loader_attribute() is not MISSING
    assert not _hooks.installed() and loader_attribute() is MISSING
    assert all(ActionBase.__dict__[name] is pristine[name] for name in METHODS)


def test_for_run_removes_after_a_failing_run(pristine):
    with pytest.raises(RuntimeError, match='play failed'):
        with _hooks.for_run():
            raise RuntimeError('play failed')
    assert not _hooks.installed() and loader_attribute() is MISSING
    assert all(ActionBase.__dict__[name] is pristine[name] for name in METHODS)


def test_nested_run_leaves_removal_to_the_outer_one():
    with _hooks.for_run():
        patched = connection_loader.get_with_context
        with _hooks.for_run():
            pass
        assert _hooks.installed() and connection_loader.get_with_context is patched
    assert not _hooks.installed()


@pytest.mark.parametrize('in_worker', [True, False])
def test_install_in_worker_patches_actions_only_in_a_worker(monkeypatch, pristine, in_worker):
    monkeypatch.setattr(_ansible_compat, 'in_worker', lambda: in_worker)
    _hooks.install_in_worker()
    assert _hooks.installed() is in_worker
    assert loader_attribute() is MISSING  # a worker never redirects connections
    if in_worker:
        patched = ActionBase.__dict__['_execute_module']
        _hooks.install_in_worker()  # a second of our connections in the same worker
        assert ActionBase.__dict__['_execute_module'] is patched
        _hooks.remove()
    assert all(ActionBase.__dict__[name] is pristine[name] for name in METHODS)


# -- the connection redirect ------------------------------------------------------------


@pytest.fixture
def loader_calls():
    """A stand-in for the loader's get_with_context, set before the hook wraps it."""
    calls = []

    def get_with_context(name, *args, **kwargs):
        calls.append((name, args, kwargs))
        return 'loaded %s' % name

    connection_loader.get_with_context = get_with_context
    yield calls
    vars(connection_loader).pop('get_with_context', None)


def test_stock_ssh_and_local_are_redirected_to_ours(loader_calls):
    _hooks.install(redirect=True)
    for name, ours in sorted(_ansible_compat.REDIRECTS.items()):
        del loader_calls[:]
        assert connection_loader.get_with_context(name, 'play_context', task_uuid='u', ansible_playbook_pid=1) == 'loaded %s' % ours
        assert loader_calls == [(ours, ('play_context',), {'task_uuid': 'u', 'ansible_playbook_pid': 1})]
        assert ours in ('velocity.mitogen.ssh', 'velocity.mitogen.local')
    assert {'ssh', 'smart', 'local'} <= set(_ansible_compat.REDIRECTS)


def test_other_connections_keep_their_plugin(loader_calls):
    _hooks.install(redirect=True)
    names = ['community.docker.docker', 'ansible.netcommon.network_cli', 'winrm', 'paramiko_ssh', 'velocity.mitogen.ssh']
    for name in names:
        connection_loader.get_with_context(name, 'play_context')
    assert loader_calls == [(name, ('play_context',), {}) for name in names]


def test_a_class_asked_for_its_helpers_is_the_stock_one(loader_calls):
    _hooks.install(redirect=True)
    connection_loader.get_with_context('ssh', class_only=True)
    assert loader_calls == [('ssh', (), {'class_only': True})]


def test_stock_connection_unwraps_the_redirect(loader_calls):
    class Loaded:
        object = 'the stock plugin'

    def get_with_context(name, *args, **kwargs):
        loader_calls.append(name)
        return Loaded()

    connection_loader.get_with_context = get_with_context
    _hooks.install(redirect=True)
    assert _ansible_compat.stock_connection('ssh', 'play_context') == 'the stock plugin'
    assert loader_calls == ['ssh']  # past our redirection


def test_remove_puts_back_a_wrapper_installed_before_ours(loader_calls):
    earlier = connection_loader.get_with_context
    _hooks.install(redirect=True)
    _hooks.remove()
    assert loader_attribute() is earlier


class Action(ActionBase):
    def run(self, tmp=None, task_vars=None):
        raise AssertionError('not run here')


# -- falling through to stock -----------------------------------------------------------


@pytest.fixture
def stock(monkeypatch):
    """ActionBase's four methods replaced by recorders before the hooks wrap them."""
    calls = []

    def recorder(name):
        def method(self, *args, **kwargs):
            calls.append((name, self, args, kwargs))
            return 'stock %s' % name
        return method

    for name in METHODS:
        monkeypatch.setattr(ActionBase, name, recorder(name))
    return calls


def test_foreign_connections_take_the_stock_path(monkeypatch, stock):
    monkeypatch.setattr(_action, 'ours', lambda action: False)
    monkeypatch.setattr(_action, 'carries', lambda action, wrap_async: False)
    _hooks.install(redirect=False)
    action = object.__new__(Action)
    assert ActionBase._make_tmp_path(action, 'deploy') == 'stock _make_tmp_path'
    assert ActionBase._remove_tmp_path(action, '/t', force=True) == 'stock _remove_tmp_path'
    assert ActionBase._fixup_perms2(action, ['/p'], 'deploy', False) == 'stock _fixup_perms2'
    assert ActionBase._execute_module(action, module_name='ping', module_args={}, task_vars={}) == 'stock _execute_module'
    assert stock == [
        ('_make_tmp_path', action, ('deploy',), {}),
        ('_remove_tmp_path', action, ('/t', True), {}),
        ('_fixup_perms2', action, (['/p'], 'deploy', False), {}),
        ('_execute_module', action, (), dict(module_name='ping', module_args={}, tmp=None, task_vars={}, persist_files=False,
                                             delete_remote_tmp=None, wrap_async=False, ignore_unknown_opts=False)),
    ]


def test_our_connections_take_our_path(monkeypatch, stock):
    ours = []
    monkeypatch.setattr(_action, 'ours', lambda action: True)
    monkeypatch.setattr(_action, 'carries', lambda action, wrap_async: not wrap_async)
    monkeypatch.setattr(_action, 'make_tmp_path', lambda action, user: ours.append(('make', user)) or '/ours')
    monkeypatch.setattr(_action, 'remove_tmp_path', lambda action, path, force: ours.append(('remove', path, force)))
    monkeypatch.setattr(_action, 'fixup_perms2', lambda action, paths, user, execute: ours.append(('fixup', paths)))

    def execute_module(action, original, *args):
        ours.append(('execute', args[0]))
        return {'ours': True, 'stock_is': original}

    monkeypatch.setattr(_action, 'execute_module', execute_module)
    _hooks.install(redirect=False)
    action = object.__new__(Action)
    assert ActionBase._make_tmp_path(action, 'deploy') == '/ours'
    ActionBase._remove_tmp_path(action, '/t')
    ActionBase._fixup_perms2(action, ['/p'])
    result = ActionBase._execute_module(action, module_name='ping')
    assert result['ours'] and result['stock_is'](action) == 'stock _execute_module'  # stock stays reachable
    assert ours == [('make', 'deploy'), ('remove', '/t', False), ('fixup', ['/p']), ('execute', 'ping')]
    # async tasks are carried by stock even on our connection
    assert ActionBase._execute_module(action, module_name='ping', wrap_async=True) == 'stock _execute_module'
