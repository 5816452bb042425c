# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _hops, _mux

SSH_OPTIONS = {
    'host': 'web1', 'port': 2222, 'remote_user': 'deploy', 'private_key_file': '/k', 'password': None,
    'ssh_executable': 'ssh', 'ssh_args': '-C -o ControlMaster=auto -o ControlPersist=60s',
    'ssh_common_args': '-o StrictHostKeyChecking=no', 'ssh_extra_args': '', 'host_key_checking': True, 'timeout': 10,
}


def options(**overrides):
    values = dict(SSH_OPTIONS, **overrides)
    return values.__getitem__


class FakeBecome:
    def __init__(self, name='sudo', **values):
        self.name = name
        self.values = {'become_user': 'root', 'become_exe': None, 'become_flags': '-H -S -n', 'become_pass': None}
        self.values.update(values)

    def get_option(self, name):
        return self.values[name]


def test_ssh_hop_maps_ansible_options():
    hop = _hops.ssh_hop(options(), {'path': ['/usr/bin/python3']})
    kwargs = hop['kwargs']
    assert hop['method'] == 'ssh'
    assert kwargs['hostname'] == 'web1' and kwargs['port'] == 2222 and kwargs['username'] == 'deploy'
    assert kwargs['identity_file'] == '/k'
    assert kwargs['ssh_args'] == ['-C', '-o', 'StrictHostKeyChecking=no']  # Control* dropped
    assert kwargs['check_host_keys'] == 'accept'
    assert kwargs['connect_timeout'] == 10


@pytest.mark.parametrize('name, value', [('port', 'eighty'), ('port', 0), ('timeout', 'soon')])
def test_malformed_option_names_option_and_expectation(name, value):
    with pytest.raises(_hops.HopError, match=r'option %s must be' % name):
        _hops.ssh_hop(options(**{name: value}), {'path': ['/usr/bin/python3']})


def test_empty_host_is_an_error():
    with pytest.raises(_hops.HopError, match='host'):
        _hops.ssh_hop(options(host=''), {'path': ['/usr/bin/python3']})


def test_filter_ssh_args_forms():
    argv = ['-o', 'ControlPath=/x', '-oControlMaster=auto', '-o', 'ControlPersist 60', '-C', '-o', 'Compression=yes']
    assert _hops.filter_ssh_args(argv) == ['-C', '-o', 'Compression=yes']


def test_become_hop_sudo():
    hop = _hops.become_hop(FakeBecome(become_user='app', become_pass='s3cret'), {'path': ['/usr/bin/python3']})
    assert hop['method'] == 'sudo'
    assert hop['kwargs'] == {'username': 'app', 'sudo_path': 'sudo', 'sudo_args': ['-H', '-S', '-n'], 'password': 's3cret'}


def test_unsupported_become_lists_supported():
    with pytest.raises(_hops.HopError, match=r"'runas' is not supported.*supported: sudo"):
        _hops.become_hop(FakeBecome(name='runas'), {'path': ['/x']})


def test_python_spec():
    assert _hops.python_spec('auto', ['python3']) == {'discover': ['python3']}
    assert _hops.python_spec('/opt/py', []) == {'path': ['/opt/py']}


def test_plain_strips_str_subclasses():
    class Tagged(str):
        pass

    value = _hops.plain({'a': [Tagged('x'), (1, 2)], Tagged('k'): Tagged('v')})
    assert value == {'a': ['x', [1, 2]], 'k': 'v'}
    assert value['a'][0].__class__ is str and all(k.__class__ is str for k in value)


def test_hop_key_ignores_secrets():
    a = {'method': 'sudo', 'kwargs': {'username': 'root', 'password': 'one'}, 'python': {'path': ['/p']}}
    b = {'method': 'sudo', 'kwargs': {'username': 'root', 'password': 'two'}, 'python': {'path': ['/p']}}
    assert _mux._hop_key(a) == _mux._hop_key(b)
    assert 'one' not in repr(_mux._hop_key(a))


def test_discovery_probe_tries_candidates_in_order():
    argv = _mux._python_argv({'discover': ['python3.13', '/usr/bin/python3']})
    assert argv[:2] == ['/bin/sh', '-c'] and argv[-1] == 'sh'
    assert argv[2].index("'python3.13'") < argv[2].index("'/usr/bin/python3'")
