# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The worker's link: one request per method over a real socket, replies and failures mapped.

The multiplexer here is a thread on the other end of a socketpair that records
each request and answers as told.
"""

from __future__ import annotations

import inspect
import socket
import struct
import threading

import pytest

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _hops, _link, _wire
from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import process as _process

TIMEOUT = 10.0
PLAN = [_hops.local_hop({'path': ['/usr/bin/python3']}, 'web1')]


class FakeMux:
    """The other end of the link: ``answer(request)`` gives the Reply, or None to hang up."""

    def __init__(self, sock, answer):
        self.sock = sock
        self.answer = answer
        self.requests = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            while True:
                try:
                    request = _wire.recv(self.sock)
                except (_wire.LinkClosed, OSError):
                    return
                self.requests.append(request)
                reply = self.answer(request)
                if reply is None:
                    return
                _wire.send(self.sock, reply)
        finally:
            self.sock.close()

    def join(self):
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive()


@pytest.fixture
def link_to():
    """Make a Link whose multiplexer answers with ``answer``; both ends closed afterwards."""
    made = []

    def make(answer):
        ours, theirs = socket.socketpair()
        theirs.settimeout(TIMEOUT)
        link = _link.Link(ours)
        ours.settimeout(TIMEOUT)  # never wait a day in a test
        mux = FakeMux(theirs, answer)
        made.append((link, mux))
        return link, mux

    yield make
    for link, mux in made:
        link.close()
        mux.join()


def ok(value):
    return lambda request: _wire.Reply(kind=_wire.Reply.OK, value=value)


CALLS = [
    ('exec', dict(plan=PLAN, cmd='echo hi', in_data=None, via_sh=True, tty=False), _wire.Exec),
    ('run_module', dict(plan=PLAN, module_path='/m/ping.py', fqn='ansible.builtin.ping', json_params='{}', profile='legacy',
                        env={}, secrets=None, chdir=None, module_utils_paths=[], rlimit_nofile=0), _wire.RunModule),
    ('make_tmp', dict(plan=PLAN, base='~/.ansible/tmp', basefile='ansible-tmp-1', system=False), _wire.MakeTmp),
    ('remove_tree', dict(plan=PLAN, path='/tmp/x'), _wire.RemoveTree),
    ('chmod', dict(plan=PLAN, paths=['/tmp/x'], mode='u+x'), _wire.Chmod),
    ('put', dict(plan=PLAN, src='/a', dest='/b'), _wire.Put),
    ('fetch', dict(plan=PLAN, src='/a', dest='/b'), _wire.Fetch),
    ('reset', dict(plan=PLAN), _wire.Reset),
    ('retire_account', dict(plan=PLAN, username='app'), _wire.RetireAccount),
]


def test_one_method_per_request_record():
    assert sorted(c[2].__name__ for c in CALLS) == sorted(cls.__name__ for cls in _wire.REQUESTS)
    for method, _kwargs, cls in CALLS:
        assert cls.op == method  # the method is named after the op


def test_methods_take_the_records_fields_by_keyword():
    for cls in _wire.REQUESTS:
        params = inspect.signature(getattr(_link.Link, cls.op)).parameters
        keyword_only = [name for name, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
        assert keyword_only == list(cls.__slots__), cls


def test_methods_send_their_record_and_return_the_value(link_to):
    link, mux = link_to(lambda request: _wire.Reply(kind=_wire.Reply.OK, value=('answer', request.op)))
    for method, kwargs, cls in CALLS:
        del mux.requests[:]
        value = getattr(link, method)(**kwargs)
        assert mux.requests == [cls(**kwargs)] and mux.requests[0].__class__ is cls
        returns_value = method in ('exec', 'run_module', 'make_tmp')  # the others answer nothing
        assert value == (('answer', method) if returns_value else None), method


def test_requests_are_answered_in_order_on_one_socket(link_to):
    link, mux = link_to(lambda request: _wire.Reply(kind=_wire.Reply.OK, value=request.cmd))
    assert [link.exec(plan=PLAN, cmd=str(i), in_data=None, via_sh=True, tty=False) for i in range(20)] == [str(i) for i in range(20)]
    assert len(mux.requests) == 20


def test_failure_kinds_reach_the_worker(link_to):
    kinds = [_wire.ErrorKind.UNREACHABLE, _wire.ErrorKind.INTERPRETER_MISSING, _wire.ErrorKind.BECOME_FAILED,
             _wire.ErrorKind.ERROR]
    answers = iter([_wire.Reply(kind=kind, value='why: %s' % kind) for kind in kinds]
                   + [_wire.Reply(kind=_wire.Reply.OK, value='/tmp/t')])
    link, _mux = link_to(lambda request: next(answers))
    for kind in kinds:
        with pytest.raises(_wire.Failure) as info:
            link.put(plan=PLAN, src='/a', dest='/b')
        assert info.value.kind == kind and info.value.message == 'why: %s' % kind
    # A failed request leaves the link usable.
    assert link.make_tmp(plan=PLAN, base='/tmp', basefile='t', system=True) == '/tmp/t'


def test_multiplexer_gone_is_unreachable_and_closes_the_link(link_to):
    link, mux = link_to(lambda request: None)  # hangs up instead of answering
    with pytest.raises(_wire.Failure, match='lost the link to the velocity.mitogen multiplexer') as info:
        link.exec(plan=PLAN, cmd='true', in_data=None, via_sh=True, tty=False)
    assert info.value.kind == _wire.ErrorKind.UNREACHABLE
    with pytest.raises(_wire.Failure, match='link to the velocity.mitogen multiplexer is closed') as info:
        link.exec(plan=PLAN, cmd='true', in_data=None, via_sh=True, tty=False)
    assert info.value.kind == _wire.ErrorKind.UNREACHABLE
    assert len(mux.requests) == 1  # the second call never reached a socket


def test_truncated_reply_is_unreachable(link_to):
    def half_reply(request):
        mux.sock.sendall(struct.pack('>I', 1000) + b'short')
        return None

    link, mux = link_to(half_reply)
    with pytest.raises(_wire.Failure) as info:
        link.remove_tree(plan=PLAN, path='/x')
    assert info.value.kind == _wire.ErrorKind.UNREACHABLE


def test_hanging_multiplexer_times_out(monkeypatch):
    monkeypatch.setattr(_link, 'REQUEST_TIMEOUT', 0.3)
    ours, theirs = socket.socketpair()
    try:
        link = _link.Link(ours)
        assert ours.gettimeout() == 0.3
        with pytest.raises(_wire.Failure, match='lost the link') as info:
            link.chmod(plan=PLAN, paths=['/x'], mode='u+x')
        assert info.value.kind == _wire.ErrorKind.UNREACHABLE
    finally:
        ours.close()
        theirs.close()


def test_link_waits_as_long_as_a_module_may_run():
    ours, theirs = socket.socketpair()
    try:
        _link.Link(ours)
        assert ours.gettimeout() == _link.REQUEST_TIMEOUT >= 24 * 3600
    finally:
        ours.close()
        theirs.close()


def test_close_is_idempotent():
    ours, theirs = socket.socketpair()
    link = _link.Link(ours)
    link.close()
    link.close()
    assert ours.fileno() == -1
    theirs.close()


@pytest.mark.parametrize('start', [True, False])
def test_open_uses_the_controllers_multiplexer(monkeypatch, start):
    ours, theirs = socket.socketpair()
    asked = []

    def connect(flag):
        asked.append(flag)
        return ours

    monkeypatch.setattr(_process, 'connect', connect)
    link = _link.Link.open(start)
    try:
        assert isinstance(link, _link.Link) and asked == [start]
    finally:
        link.close()
        theirs.close()


def test_open_without_a_multiplexer_is_none(monkeypatch):
    monkeypatch.setattr(_process, 'connect', lambda start: None)
    assert _link.Link.open(start=False) is None
