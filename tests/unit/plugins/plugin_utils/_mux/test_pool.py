# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection pool, over a real Mitogen Router, with local hops (child Pythons) as targets."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
import types

import pytest

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _hops, _wire
from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import pool as _pool
from ansible_collections.velocity.mitogen.tests.unit.plugins.plugin_utils._mux.mux_helpers import TIMEOUT, bounded, local_hop


def keys(pool):
    return sorted(pool._contexts, key=len)


# -- connecting and calling (real child interpreters) -------------------------------------------


def test_one_context_per_plan_described_and_called(pool, monkeypatch):
    import time
    connects = []
    real = pool._connect

    def counting(hop, via, first):
        connects.append(hop.key)
        return real(hop, via, first)

    monkeypatch.setattr(pool, '_connect', counting)
    barrier = threading.Barrier(6)
    found = []

    def worker():  # workers asking at the same moment
        barrier.wait(TIMEOUT)
        found.append(pool.context_for([local_hop('web1')]))

    threads = [threading.Thread(target=worker, daemon=True) for dummy in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(found) == 6 and len({c.context_id for c in found}) == 1 and len(connects) == 1
    context = found[0]
    assert pool.context_for([local_hop('web1')]) is context  # an equal plan, built again
    other = pool.context_for([local_hop('web2')])
    assert other is not context and len(connects) == 2  # one interpreter per inventory host

    info = pool.info(context)
    assert info['executable'] == sys.executable and info['uid'] == os.geteuid() and info['pid'] != os.getpid()
    assert info['version'] == list(sys.version_info[:3]) and info['home'] == os.path.expanduser('~')
    assert _pool.call(context, os.getpid) == info['pid'] != pool.info(other)['pid']
    assert pool.info(types.SimpleNamespace(context_id=-1)) == {}

    with pytest.raises(_wire.Failure) as info:
        _pool.call(context, os.stat, '/nonexistent/file')
    assert info.value.kind == _wire.ErrorKind.ERROR and 'No such file or directory' in info.value.message
    with pytest.raises(_wire.Failure, match='no answer from the target within 0s') as info:
        _pool.call(other, time.sleep, 0.5, timeout=0.1)
    assert info.value.kind == _wire.ErrorKind.ERROR


def test_discovered_interpreter_is_also_known_by_its_path(pool):
    discovered = pool.context_for([local_hop('web1', {'discover': ['/nonexistent/python9', sys.executable]})])
    executable = pool.info(discovered)['executable']
    assert executable == sys.executable  # the first candidate that exists
    assert pool.context_for([local_hop('web1', {'path': [executable]})]) is discovered
    assert len(pool._contexts) == 2 and len(set(map(id, pool._contexts.values()))) == 1


def test_missing_explicit_interpreter(pool):
    with pytest.raises(_wire.Failure) as info:
        pool.context_for([local_hop('web1', {'path': ['/nonexistent/python3']})])
    assert info.value.kind == _wire.ErrorKind.INTERPRETER_MISSING and info.value.message == '/nonexistent/python3'
    assert pool._contexts == {}


def test_chain_through_a_hop_and_retire_its_leaf(pool):
    login_plan, inner_plan = [local_hop('web1')], [local_hop('web1'), local_hop('inner')]
    login = pool.context_for(login_plan)
    inner = pool.context_for(inner_plan)
    assert inner.via is login and pool.info(inner)['pid'] != pool.info(login)['pid']
    assert [len(k) for k in keys(pool)] == [1, 2]

    with pytest.raises(_wire.Failure) as info:  # a missing interpreter behind the hop
        pool.context_for(login_plan + [local_hop('other', {'path': ['/nonexistent/python3']})])
    assert info.value.kind == _wire.ErrorKind.INTERPRETER_MISSING
    assert [len(k) for k in keys(pool)] == [1, 2]

    assert bounded(pool.retire_behind, inner_plan)
    assert [len(k) for k in keys(pool)] == [1]
    assert _pool.call(login, os.getpid) == pool.info(login)['pid']  # the login hop lives on
    with pytest.raises(_wire.Failure):
        _pool.call(inner, os.getpid, timeout=5)


@pytest.mark.skipif(not shutil.which('ssh'), reason='needs an ssh client')
def test_refused_ssh_connection_is_unreachable_in_stocks_words(pool):
    options = {'host': '127.0.0.1', 'port': 1, 'remote_user': 'nobody', 'ssh_args': '-o BatchMode=yes',
               'ssh_common_args': '', 'ssh_extra_args': '', 'host_key_checking': False, 'timeout': 5}
    with pytest.raises(_wire.Failure) as info:
        pool.context_for([_hops.ssh_hop(options.get, {'path': ['/usr/bin/python3']})])
    assert info.value.kind == _wire.ErrorKind.UNREACHABLE
    assert info.value.message.startswith('Failed to connect to the host via ssh: ')
    assert 'Connection refused' in info.value.message


def become_hop(name, user, **options):
    """A become hop from Ansible's own plugin, its shell set up as a connection sets it up."""
    from ansible.plugins.loader import become_loader, shell_loader
    plugin = become_loader.get(name)
    plugin.set_options(direct=dict(options, become_user=user))
    shell = shell_loader.get('sh')
    shell.set_options(direct={})
    shell.executable = '/bin/sh'  # ConnectionBase gives its shell the play's executable
    return _hops.become_hop(plugin, {'path': [sys.executable]}, shell, 10, 'timed out')


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('su'), reason='needs root and su (root becomes root without a password)')
def test_become_behind_a_login_and_here_then_retire_that_account(pool):
    login_plan = [local_hop('web1')]
    hop = become_hop('su', 'root')
    behind = pool.context_for(login_plan + [hop])  # started by the login's interpreter (ssh's case)
    login = pool.context_for(login_plan)
    here = pool.context_for([hop])  # started here (a local connection's case)
    assert behind.via is login and here is not behind
    assert pool.info(behind)['uid'] == pool.info(here)['uid'] == 0
    assert _pool.call(behind, os.getpid) == pool.info(behind)['pid']
    assert pool.info(behind)['pid'] not in (pool.info(login)['pid'], pool.info(here)['pid'])
    assert not pool.prompted(behind) and not pool.prompted(here)  # no password was typed

    assert bounded(pool.retire_account, login_plan, 'root')  # userdel root's processes behind web1
    assert sorted(len(k) for k in pool._contexts) == [1, 1]
    with pytest.raises(_wire.Failure):
        _pool.call(behind, os.getpid, timeout=5)
    assert _pool.call(here, os.getpid) == pool.info(here)['pid']  # not behind that login


# -- disconnects, retiring, shutdown -----------------------------------------------------------


def test_a_dead_context_is_unreachable_then_forgotten_and_reconnected(pool):
    gone = []
    done = threading.Event()
    pool.on_disconnect(lambda context_id: (gone.append(context_id), done.set()))
    plan = [local_hop('web1')]
    first = pool.context_for(plan)
    first_pid = pool.info(first)['pid']
    assert bounded(first.shutdown, True)
    with pytest.raises(_wire.Failure, match='the connection to the target was lost') as info:
        _pool.call(first, os.getpid)
    assert info.value.kind == _wire.ErrorKind.UNREACHABLE
    assert done.wait(TIMEOUT) and set(gone) == {first.context_id}
    assert pool._contexts == {} and pool.info(first) == {}
    second = pool.context_for(plan)
    assert second.context_id != first.context_id and pool.info(second)['pid'] != first_pid


def test_retire_behind_a_hop_then_shutdown_ends_the_rest(pool):
    plan = [local_hop('web1')]
    context = pool.context_for(plan)
    others = [pool.context_for([local_hop('web2')])]
    assert bounded(pool.retire_behind, plan)
    assert sorted(c.context_id for c in pool._contexts.values()) == sorted(c.context_id for c in others)
    with pytest.raises(_wire.Failure):
        _pool.call(context, os.getpid, timeout=5)

    pids = [pool.info(c)['pid'] for c in others]
    assert bounded(pool.shutdown)
    assert pool._contexts == {}
    deadline = time.monotonic() + TIMEOUT
    while not all(_ended(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_ended(pid) for pid in pids)


def test_retire_behind_a_hop_with_contexts_behind_it(pool):
    login = [local_hop('web1')]
    pool.context_for(login)
    pool.context_for(login + [local_hop('inner')])
    assert bounded(pool.retire_behind, login, timeout=3), 'retire_behind hung'
    assert pool._contexts == {}


def _ended(pid):
    try:
        with open('/proc/%d/stat' % pid, 'rb') as fp:
            return fp.read().rsplit(b')', 1)[1].split()[0] == b'Z'
    except OSError:
        return True


# -- retire_account: which contexts it picks (pure logic) ------------------------------------


class FakeContext:
    def __init__(self, name):
        self.name = name
        self.context_id = id(self)
        self.shut = False

    def shutdown(self, wait=False):
        """As mitogen's Context.shutdown(wait=False): a latch that says when it ended."""
        import mitogen.core
        self.shut = True
        latch = mitogen.core.Latch()
        latch.put(None)
        return latch


def become(user, password=None):
    hop = _hops.Hop(method='become', label='sudo', key=('become', user, password), kwargs={'username': user, 'password': password})
    return hop


def fake_pool(entries):
    """A pool holding ``entries`` (lists of hops -> a fake context each), as _remember files them."""
    pool = _pool.Pool.__new__(_pool.Pool)
    pool._lock = threading.Lock()
    pool._contexts, pool._hops = {}, {}
    made = {}
    for plan in entries:
        key = tuple(h.key for h in plan)
        made[key] = pool._contexts[key] = FakeContext('/'.join(str(h.key[1]) for h in plan))
        pool._hops[key] = plan[-1]
    return pool, made


def test_retire_account_picks_that_users_become_contexts_behind_the_login():
    login = _hops.Hop(method='ssh', label='ssh', key=('ssh', 'web1'), kwargs={})
    other_login = _hops.Hop(method='ssh', label='ssh', key=('ssh', 'web2'), kwargs={})
    pool, made = fake_pool([
        [login], [login, become('app')], [login, become('app', 'pw2')], [login, become('root')],
        [login, become('root'), become('app')], [other_login, become('app')],
    ])
    pool.retire_account([login], 'app')
    shut = sorted(c.name for c in made.values() if c.shut)
    assert shut == ['web1/app', 'web1/app', 'web1/root/app']
    assert sorted(len(k) for k in pool._contexts) == [1, 2, 2]  # the login, its root, web2's app


def test_retire_account_never_retires_the_login_itself():
    login = _hops.Hop(method='ssh', label='ssh', key=('ssh', 'web1'), kwargs={'username': 'app'})
    pool, made = fake_pool([[login]])
    pool.retire_account([login], 'app')
    assert not any(c.shut for c in made.values())


def test_retire_forgets_aliases_of_a_context():
    login = _hops.Hop(method='ssh', label='ssh', key=('ssh', 'web1'), kwargs={})
    pool, made = fake_pool([[login]])
    context = made[(login.key,)]
    pool._contexts[(('ssh', 'alias'),)] = context  # a discovered interpreter's second key
    pool.retire_behind([login])
    assert context.shut and pool._contexts == {}


# -- wording (pure logic) ----------------------------------------------------------------------


@pytest.mark.parametrize('label, error, message', [
    ('ssh', 'EOF on stream; last 100 lines received:\nssh: connect to host web1 port 22: Connection refused',
     'Failed to connect to the host via ssh: ssh: connect to host web1 port 22: Connection refused'),
    ('ssh', 'Permission denied (publickey)', 'Failed to connect to the host via ssh: Permission denied (publickey)'),
    ('sudo', 'the password is incorrect', 'Incorrect sudo password'),
    ('su', 'a password is required', 'Missing su password'),
    ('sudo', 'something else', 'sudo: something else'),
    ('local', '  boot failed \n', 'local: boot failed'),
])
def test_connect_message_is_stocks(label, error, message):
    assert _pool.connect_message(label, Exception(error)) == message


def test_missing_interpreter_recognition():
    explicit = local_hop('h', {'path': ['/opt/py3']})
    discovered = local_hop('h', {'discover': ['python3']})
    assert _pool._missing_interpreter(explicit, 'sh: 1: /opt/py3: not found') == '/opt/py3'
    assert _pool._missing_interpreter(explicit, 'exec: /opt/py3: No such file or directory') == '/opt/py3'
    assert _pool._missing_interpreter(explicit, '/opt/py3: Permission denied') is None
    assert _pool._missing_interpreter(explicit, 'python3: not found') is None  # another program
    assert _pool._missing_interpreter(discovered, 'x\n%s (tried: python3)' % _hops.NO_PYTHON) == 'python'
    assert _pool._missing_interpreter(discovered, 'anything else: not found') is None


class Receiver:
    def __init__(self, error):
        self.error = error

    def get(self, timeout):
        raise self.error


@pytest.mark.parametrize('name, kind', [('ChannelError', 'unreachable'), ('TimeoutError', 'error'), ('CallError', 'error')])
def test_wait_maps_mitogen_errors(router, name, kind):
    import mitogen.core
    error = getattr(mitogen.core, name)('boom')
    with pytest.raises(_wire.Failure) as info:
        _pool.wait(Receiver(error), timeout=3)
    assert info.value.kind == kind
