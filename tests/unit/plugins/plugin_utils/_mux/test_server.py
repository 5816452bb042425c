# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The multiplexer's op table and serving loop: a real Server, driven by a real Link over a
socketpair, runs commands, modules and file operations in a local child Python."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import types

import pytest

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _link, _wire
from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import server as _server
from ansible_collections.velocity.mitogen.tests.unit.plugins.plugin_utils._mux.mux_helpers import TIMEOUT, bounded, local_hop

MODULE = '''#!/usr/bin/python
from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(name=dict(type='str', required=True)))
    module.exit_json(changed=False, greeting='hello %s' % module.params['name'])


if __name__ == '__main__':
    main()
'''


@pytest.fixture
def server(router):  # router: skips without the vendored core; the Server makes its own
    server = _server.Server()
    try:
        yield server
    finally:
        assert bounded(server.shutdown), 'the server did not shut down within %ds' % TIMEOUT


@pytest.fixture
def link(server):
    """A worker's link to ``server``, served on a thread as the multiplexer serves each worker."""
    ours, theirs = socket.socketpair()
    link = _link.Link(ours)
    ours.settimeout(TIMEOUT)  # not a day
    thread = threading.Thread(target=server.serve, args=(theirs,), daemon=True)
    thread.start()
    try:
        yield link
    finally:
        link.close()
        thread.join(TIMEOUT)
        assert not thread.is_alive(), 'serve() did not return when its worker hung up'


# -- the op table ---------------------------------------------------------------------------------


def test_every_request_has_exactly_one_handler(server):
    assert set(server._ops) == set(_wire.REQUESTS) and len(server._ops) == len(_wire.REQUESTS)
    handlers = list(server._ops.values())
    assert len({(h.__self__, h.__func__) for h in handlers}) == len(handlers)
    for cls, handler in server._ops.items():
        assert handler.__name__.rstrip('_') == cls.op  # named after the op it serves


def test_handle_wraps_answers_and_failures(server, monkeypatch):
    request = _wire.RemoveTree(plan=[], path='/x')
    for answer, reply in [
        (lambda session, r: 'done', _wire.Reply(kind='ok', value='done')),
        (lambda session, r: _raise(_wire.Failure(_wire.ErrorKind.BECOME_FAILED, 'Incorrect sudo password')),
         _wire.Reply(kind='become_failed', value='Incorrect sudo password')),
        (lambda session, r: _raise(ValueError('bad value')), _wire.Reply(kind='error', value='ValueError: bad value')),
    ]:
        monkeypatch.setitem(server._ops, _wire.RemoveTree, answer)
        assert server._handle(_server.Session(), request) == reply


def test_unknown_request_is_an_error_reply(server):
    reply = server._handle(_server.Session(), 'exec')
    assert reply.kind == _wire.ErrorKind.ERROR and "unknown request 'str'" in reply.value


def test_stats_file_gets_one_line_per_request(server, monkeypatch, tmp_path):
    stats = tmp_path / 'stats'
    monkeypatch.setattr(_server, '_STATS', str(stats))
    monkeypatch.setitem(server._ops, _wire.Chmod, lambda session, request: None)
    server._handle(_server.Session(), _wire.Chmod(plan=[], paths=[], mode='u+x'))
    server._handle(_server.Session(), object())
    assert stats.read_text() == 'chmod\n?\n'
    assert stat.S_IMODE(os.stat(str(stats)).st_mode) == 0o600


def test_tty_output_after_a_typed_password_starts_with_its_echo(server, monkeypatch):
    context = types.SimpleNamespace(context_id=7)
    monkeypatch.setattr(server.pool, 'context_for', lambda plan: context)
    monkeypatch.setattr(server.pool, 'prompted', lambda c: True)
    session = types.SimpleNamespace(call=lambda *args: [0, b'out', b''])
    request = _wire.Exec(plan=[], cmd='id', in_data=None, via_sh=False, tty=True)
    assert server.exec_(session, request) == (0, b'\r\nout', b'')
    assert server.exec_(session, _wire.Exec(plan=[], cmd='id', in_data=None, via_sh=False, tty=False)) == (0, b'out', b'')


def _raise(exc):
    raise exc


# -- a worker's link, end to end ---------------------------------------------------------------------


def test_commands_run_in_the_targets_interpreter_until_reset(link):
    plan = [local_hop('web1')]
    assert link.exec(plan=plan, cmd='echo "$0" hi; echo err >&2', in_data=None, via_sh=True, tty=False) == (
        0, b'/bin/sh hi\n', b'err\n')
    assert link.exec(plan=plan, cmd='cat; exit 3', in_data=b'fed', via_sh=True, tty=False) == (3, b'fed', b'')
    rc, out, _err = link.exec(plan=plan, cmd='echo $PPID', in_data=None, via_sh=True, tty=False)
    interpreter = int(out)
    assert rc == 0 and interpreter != os.getpid()  # the command's parent is the target interpreter
    assert link.exec(plan=plan, cmd='echo $PPID', in_data=None, via_sh=True, tty=False)[1] == out  # the same one

    link.reset(plan=plan)  # reset_connection: the next task gets a fresh interpreter
    assert int(link.exec(plan=plan, cmd='echo $PPID', in_data=None, via_sh=True, tty=False)[1]) != interpreter
    assert link.reset(plan=[local_hop('never-connected')]) is None


def test_files_travel_through_the_link(link, tmp_path):
    plan = [local_hop('web1')]
    tmp = link.make_tmp(plan=plan, base=str(tmp_path / 'remote'), basefile='ansible-tmp-1', system=False)
    assert tmp == str(tmp_path / 'remote' / 'ansible-tmp-1')
    src = tmp_path / 'src.sh'
    src.write_bytes(b'#!/bin/sh\necho put\n')
    link.put(plan=plan, src=str(src), dest=tmp + '/run.sh')
    link.chmod(plan=plan, paths=[tmp + '/run.sh'], mode='u+x')
    # The writes above were not waited for: the next request that needs them waits.
    link.fetch(plan=plan, src=tmp + '/run.sh', dest=str(tmp_path / 'back.sh'))
    assert (tmp_path / 'back.sh').read_bytes() == src.read_bytes()
    assert link.exec(plan=plan, cmd=tmp + '/run.sh', in_data=None, via_sh=True, tty=False) == (0, b'put\n', b'')
    assert os.stat(tmp).st_mode & 0o777 == 0o700
    link.remove_tree(plan=plan, path=tmp)
    assert link.exec(plan=plan, cmd='test -e ' + tmp, in_data=None, via_sh=True, tty=False)[0] == 1

    # A write that was not waited for, and failed, fails the next request that waits.
    link.put(plan=plan, src=str(src), dest=str(tmp_path / 'no' / 'such' / 'dir' / 'dest'))
    with pytest.raises(_wire.Failure) as info:
        link.fetch(plan=plan, src=str(src), dest=str(tmp_path / 'copy'))
    assert info.value.kind == _wire.ErrorKind.ERROR and 'No such file or directory' in info.value.message
    link.fetch(plan=plan, src=str(src), dest=str(tmp_path / 'copy'))  # a request that does not need it
    assert (tmp_path / 'copy').read_bytes() == src.read_bytes()


def test_modules_run_in_the_targets_interpreter(link, tmp_path):
    path = tmp_path / 'greet.py'
    path.write_text(MODULE)
    plan = [local_hop('web1')]
    result = link.run_module(plan=plan, module_path=str(path), fqn='ansible.legacy.greet',
                             json_params=json.dumps({'ANSIBLE_MODULE_ARGS': {'name': 'velocity'}}), profile='legacy',
                             env={'VELOCITY_UNIT': '1'}, secrets=None, chdir=str(tmp_path), module_utils_paths=[],
                             rlimit_nofile=0)
    assert result['rc'] == 0, result
    assert json.loads(result['stdout'])['greeting'] == 'hello velocity'
    again = link.run_module(plan=plan, module_path=str(path), fqn='ansible.legacy.greet',
                            json_params=json.dumps({'ANSIBLE_MODULE_ARGS': {}}), profile='legacy', env={}, secrets=None,
                            chdir=None, module_utils_paths=[], rlimit_nofile=0)
    assert again['rc'] == 1 and 'missing required arguments: name' in json.loads(again['stdout'])['msg']


def test_missing_interpreter_reaches_the_worker(link):
    with pytest.raises(_wire.Failure) as info:
        link.exec(plan=[local_hop('web1', {'path': ['/nonexistent/python3']})], cmd='true', in_data=None, via_sh=True,
                  tty=False)
    assert info.value.kind == _wire.ErrorKind.INTERPRETER_MISSING and info.value.message == '/nonexistent/python3'


def test_retire_account_without_such_contexts_is_a_no_op(link):
    assert link.retire_account(plan=[local_hop('never-connected')], username='app') is None


def test_serve_ends_when_the_worker_hangs_up(server):
    ours, theirs = socket.socketpair()
    thread = threading.Thread(target=server.serve, args=(theirs,), daemon=True)
    thread.start()
    ours.sendall(b'\x00\x00')  # half a header, then gone
    ours.close()
    thread.join(TIMEOUT)
    assert not thread.is_alive() and theirs.fileno() == -1
