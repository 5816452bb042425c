# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The worker <-> multiplexer protocol: request records, error kinds and framing."""

from __future__ import annotations

import pickle
import socket
import struct
import threading

import pytest

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _hops, _wire
from ansible_collections.velocity.mitogen.plugins.plugin_utils._record import Record

TIMEOUT = 10.0


def plan(password=None):
    return [_hops.ssh_hop({'host': 'web1', 'remote_user': 'u', 'password': password, 'ssh_args': '', 'ssh_common_args': '',
                           'ssh_extra_args': '', 'host_key_checking': False}.get, {'path': ['/usr/bin/python3']})]


def example(cls, password=None):
    """A request of ``cls`` with a value for every field."""
    values = {
        'plan': plan(password), 'cmd': 'echo hi', 'in_data': b'stdin-S3KR1T', 'via_sh': True, 'tty': False,
        'module_path': '/m/ping.py', 'fqn': 'ansible.builtin.ping', 'json_params': '{"pw": "params-S3KR1T"}',
        'profile': 'legacy', 'env': {'TOKEN': 'env-S3KR1T'}, 'secrets': ['listed-S3KR1T'], 'chdir': None,
        'module_utils_paths': ['/mu'], 'rlimit_nofile': 0, 'base': '~/.ansible/tmp', 'basefile': 'ansible-tmp-1',
        'system': False, 'path': '/tmp/x', 'paths': ['/tmp/x'], 'mode': 'u+x', 'src': '/a', 'dest': '/b',
        'username': 'app',
    }
    return cls(**{name: values[name] for name in cls.__slots__})


# -- the declarations ----------------------------------------------------------


def test_every_request_record_is_declared_once_with_a_unique_op():
    ops = [cls.op for cls in _wire.REQUESTS]
    assert all(ops) and len(set(ops)) == len(ops)
    assert len(set(_wire.REQUESTS)) == len(_wire.REQUESTS)
    assert set(_wire.REQUESTS) == set(_wire.Request.__subclasses__())  # none left out of REQUESTS


def test_record_fields_are_a_tuple_of_names():
    # ('plan') is a string: Record would take its letters for fields.
    for cls in list(_wire.REQUESTS) + [_wire.Reply, _hops.Hop]:
        assert isinstance(cls.__slots__, tuple) and all(n.isidentifier() for n in cls.__slots__), cls


def test_every_request_runs_on_a_plan():
    for cls in _wire.REQUESTS:
        assert issubclass(cls, _wire.Request) and issubclass(cls, Record) and cls.__slots__[0] == 'plan', cls
        assert example(cls).plan == plan()


def test_requests_pickle_round_trip():
    for cls in _wire.REQUESTS:
        request = example(cls, password='hop-S3KR1T')
        copied = pickle.loads(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
        assert copied == request and copied.__class__ is cls
        assert copied.plan[0].kwargs['password'] == 'hop-S3KR1T'  # secrets travel to the multiplexer...


def test_secrets_never_in_repr():
    for cls in _wire.REQUESTS:
        text = repr(example(cls, password='hop-S3KR1T'))
        assert text.startswith(cls.__name__ + '(')
        assert 'S3KR1T' not in text, text  # ...but never show in a repr or a log line


def test_secret_fields():
    assert _wire.Exec._secret == ('in_data',)
    assert set(_wire.RunModule._secret) == {'json_params', 'env', 'secrets'}
    assert 'fqn=' in repr(example(_wire.RunModule)) and "cmd='echo hi'" in repr(example(_wire.Exec))


def test_requests_are_read_only():
    request = example(_wire.Exec)
    with pytest.raises(AttributeError):
        request.cmd = 'rm -rf /'


# -- failures and replies ------------------------------------------------------


def test_failure_carries_kind_and_message():
    failure = _wire.Failure(_wire.ErrorKind.BECOME_FAILED, 'Incorrect sudo password')
    assert failure.kind == 'become_failed' and failure.message == str(failure) == 'Incorrect sudo password'
    assert isinstance(failure, Exception)


def test_error_kinds_are_distinct_from_ok():
    kinds = [_wire.ErrorKind.UNREACHABLE, _wire.ErrorKind.INTERPRETER_MISSING, _wire.ErrorKind.BECOME_FAILED,
             _wire.ErrorKind.ERROR]
    assert len(set(kinds)) == 4 and _wire.Reply.OK not in kinds


def test_reply_round_trip():
    reply = _wire.Reply(kind=_wire.Reply.OK, value=(0, b'out', b''))
    assert pickle.loads(pickle.dumps(reply)) == reply


# -- framing ---------------------------------------------------------------------


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.settimeout(TIMEOUT)
    b.settimeout(TIMEOUT)
    yield a, b
    a.close()
    b.close()


def test_send_recv_records(pair):
    a, b = pair
    request = example(_wire.Exec)
    _wire.send(a, request)
    _wire.send(a, _wire.Reply(kind='ok', value=None))
    assert _wire.recv(b) == request
    assert _wire.recv(b) == _wire.Reply(kind='ok', value=None)


def test_large_frame_arrives_whole(pair):
    a, b = pair
    payload = bytes(range(256)) * (12 << 10)  # 3 MiB: many recv() calls
    sender = threading.Thread(target=_wire.send, args=(a, payload), daemon=True)
    sender.start()
    assert _wire.recv(b) == payload
    sender.join(TIMEOUT)
    assert not sender.is_alive()


def test_frame_is_length_prefixed_pickle(pair):
    a, b = pair
    _wire.send(a, {'k': 1})
    (size,) = struct.unpack('>I', b.recv(4))
    assert pickle.loads(b.recv(size)) == {'k': 1}


def test_byte_by_byte_delivery(pair):
    a, b = pair
    data = pickle.dumps(['x'] * 10)
    for byte in struct.pack('>I', len(data)) + data:
        a.sendall(bytes([byte]))
    assert _wire.recv(b) == ['x'] * 10


@pytest.mark.parametrize('sent', [b'', b'\x00\x00', struct.pack('>I', 100) + b'partial'], ids=['nothing', 'half-header', 'half-body'])
def test_peer_gone_is_link_closed(pair, sent):
    a, b = pair
    a.sendall(sent)
    a.close()
    with pytest.raises(_wire.LinkClosed):
        _wire.recv(b)
    assert issubclass(_wire.LinkClosed, EOFError)


def test_oversized_frame_is_refused_before_reading_it(pair):
    a, b = pair
    a.sendall(struct.pack('>I', _wire.MAX_FRAME + 1))
    with pytest.raises(_wire.LinkClosed, match='too large'):
        _wire.recv(b)
