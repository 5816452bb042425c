# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import re

import pytest

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _hops

SSH_OPTIONS = {
    'host': 'web1', 'port': 2222, 'remote_user': 'deploy', 'private_key_file': '/k', 'password': None,
    'ssh_executable': 'ssh', 'ssh_args': '-C -o ControlMaster=auto -o ControlPersist=60s',
    'ssh_common_args': '-o StrictHostKeyChecking=no', 'ssh_extra_args': '', 'host_key_checking': True, 'timeout': 10,
}


def options(**overrides):
    values = dict(SSH_OPTIONS, **overrides)
    return values.__getitem__


def become_plugin(name, **options):
    """Ansible's own become plugin, options set directly as the task executor would."""
    from ansible.plugins.loader import become_loader
    plugin = become_loader.get(name)
    plugin.set_options(direct=options)
    return plugin


def sh_shell():
    from ansible.plugins.loader import shell_loader
    shell = shell_loader.get('sh')
    shell.set_options(direct={})
    return shell


def test_ssh_hop_maps_ansible_options():
    hop = _hops.ssh_hop(options(), {'path': ['/usr/bin/python3']})
    kwargs = hop.kwargs
    assert hop.method == 'ssh' and hop.label == 'ssh' and hop.interpreter == '/usr/bin/python3'
    assert kwargs['python_path'] == ['/usr/bin/python3']
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


def test_become_hop_runs_the_plugins_own_command():
    plugin = become_plugin('sudo', become_user='app', become_pass='s3cret', become_flags='-H -S -n')
    hop = _hops.become_hop(plugin, {'path': ['/usr/bin/python3']}, sh_shell(), 12, 'timed out')
    kwargs = hop.kwargs
    assert hop.method == 'become' and hop.label == 'sudo' and kwargs['method'] == 'sudo' and kwargs['username'] == 'app'
    assert kwargs['command'].startswith('sudo -H -S -p ')  # -n dropped: a password is set
    assert _hops.BOOT_PLACEHOLDER in kwargs['command']
    assert kwargs['password'] == 's3cret' and kwargs['connect_timeout'] == 12
    assert re.search(kwargs['prompt'], plugin.prompt)  # sudo's own -p prompt
    assert 'Sorry, try again.' in kwargs['incorrect']


def test_su_prompt_follows_prompt_l10n():
    plugin = become_plugin('su', become_user='app', prompt_l10n=['Passwort'])
    hop = _hops.become_hop(plugin, {'path': ['/usr/bin/python3']}, sh_shell(), 10, 'timed out')
    prompt = re.compile(hop.kwargs['prompt'].encode('utf-8'), re.I)
    assert prompt.search('Passwort: '.encode('utf-8'))
    assert prompt.search('passwort\uff1a'.encode('utf-8'))
    assert not prompt.search(b'Password: ')
    assert hop.kwargs['command'].startswith('su  app -c ')


def test_unsupported_become_lists_supported():
    with pytest.raises(_hops.HopError, match=r"'runas' is not supported.*supported: sudo, su"):
        _hops.become_hop(become_plugin('runas', become_user='x'), {'path': ['/x']}, sh_shell(), 10, '')


def test_python_spec():
    assert _hops.python_spec('auto', ['python3']) == {'discover': ['python3']}
    assert _hops.python_spec('/opt/py', []) == {'path': ['/opt/py']}


def test_plain_strips_str_subclasses():
    class Tagged(str):
        pass

    value = _hops.plain({'a': [Tagged('x'), (1, 2)], Tagged('k'): Tagged('v')})
    assert value == {'a': ['x', [1, 2]], 'k': 'v'}
    assert value['a'][0].__class__ is str and all(k.__class__ is str for k in value)


def test_hop_key_keeps_secrets_out_but_tells_passwords_apart():
    python = {'path': ['/p']}
    a = _hops.become_hop(become_plugin('sudo', become_user='root', become_pass='pw-secret-1'), python, sh_shell(), 10, '')
    b = _hops.become_hop(become_plugin('sudo', become_user='root', become_pass='pw-secret-1'), python, sh_shell(), 10, '')
    c = _hops.become_hop(become_plugin('sudo', become_user='root', become_pass='pw-secret-2'), python, sh_shell(), 10, '')
    assert a.kwargs['command'] != b.kwargs['command']  # a fresh random key in each command...
    assert a.key == b.key  # ...is the same account
    assert a.key != c.key  # another password logs in again
    for hop in (a, c):
        assert 'pw-secret' not in repr(hop.key) and 'pw-secret' not in repr(hop)


def test_ssh_password_never_in_key_or_repr():
    hop = _hops.ssh_hop(options(password='ssh-secret-9'), {'path': ['/p']})
    assert hop.kwargs['password'] == 'ssh-secret-9'
    assert 'ssh-secret-9' not in repr(hop) and 'ssh-secret-9' not in repr(hop.key)
    assert 'ssh-secret-9' not in ' '.join(hop.refusal_argv)


def test_discovered_interpreter_alias_key():
    hop = _hops.ssh_hop(options(), {'discover': ['python3']})
    explicit = _hops.ssh_hop(options(), {'path': ['/usr/bin/python3.11']})
    assert hop.discovered and not explicit.discovered
    assert hop.key_with_interpreter('/usr/bin/python3.11') == explicit.key


def test_local_hops_per_inventory_host():
    assert _hops.local_hop({'path': ['/p']}, 'web1').key != _hops.local_hop({'path': ['/p']}, 'web2').key


def test_discovery_probe_tries_candidates_in_order():
    argv = _hops.python_argv({'discover': ['python3.13', '/usr/bin/python3']})
    assert argv[:2] == ['/bin/sh', '-c'] and argv[-1] == 'sh'
    assert argv[2].index(' /usr/bin/python3') > argv[2].index('python3.13')
    assert _hops.NO_PYTHON in argv[2]


def test_ssh_argv_for_display_and_refusal():
    kwargs = _hops.ssh_kwargs(options())
    shown = _hops.ssh_command_line(kwargs)
    assert shown.startswith('ssh -C -o StrictHostKeyChecking=no') and shown.endswith('web1')
    batch = _hops.ssh_argv(kwargs, batch=True)
    assert batch[1:5] == ['-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'] and batch[-2:] == ['web1', 'true']
