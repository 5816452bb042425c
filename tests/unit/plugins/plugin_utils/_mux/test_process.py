# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The multiplexer process: its private directory, one per controller, started once, ended with it.

These fork real multiplexers under a TMPDIR of their own. The controller is the
test's own process (ansible-test runs each test in a fork of its own), or a
child forked for the purpose; every multiplexer is stopped in teardown.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types

import pytest

from ansible_collections.velocity.mitogen.plugins.module_utils import _mitogen_loader
from ansible_collections.velocity.mitogen.plugins.plugin_utils import _wire
from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import process as _process
from ansible_collections.velocity.mitogen.tests.unit.plugins.plugin_utils._mux.mux_helpers import TIMEOUT, peer_pid

DEAD_PID = 4194305  # above the largest pid_max Linux allows


def wait_until(predicate, timeout=TIMEOUT, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def end(pid):
    """Stop a process we started, however it is doing."""
    if not _process._pid_alive(pid):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if wait_until(lambda: not _process._pid_alive(pid), timeout=5):
            return


def reap(pid, timeout=TIMEOUT):
    """The exit status of our child ``pid``, waiting at most ``timeout`` (it is killed then)."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail('child %d did not exit within %ds' % (pid, timeout))
        time.sleep(0.02)


@pytest.fixture
def runtime(monkeypatch):
    """A TMPDIR of this test's own (short: socket paths are limited to 107 bytes); every
    multiplexer started in it is stopped afterwards."""
    if not hasattr(socket, 'SO_PEERCRED') or not os.path.isdir('/proc/self'):
        pytest.skip('needs Linux (/proc, SO_PEERCRED)')
    if not os.path.isfile(os.path.join(_mitogen_loader.PACKAGE_DIR, 'core.py')):
        pytest.skip('vendored Mitogen core missing: run tools/vendor-mitogen')
    controller = _process.Controller.of_this_process()
    if controller.pid != os.getpid():
        pytest.skip('the test process is a multiprocessing child: it would not be the controller')
    tmp = tempfile.mkdtemp(prefix='vmux', dir='/tmp')
    monkeypatch.setattr(tempfile, 'tempdir', tmp)
    monkeypatch.setattr(_process, '_started', [])
    base = os.path.join(tmp, 'velocity-mitogen-%d' % os.getuid())
    state = types.SimpleNamespace(tmp=tmp, base=base, controller=controller, pids=[],
                                  directory=os.path.join(base, controller.tag),
                                  socket=os.path.join(base, controller.tag, _process.SOCKET_NAME))
    try:
        yield state
    finally:
        started = [pid for pid, _directory in _process._started]
        _process.stop_started(timeout=5)
        for pid in started + state.pids:
            end(pid)
        shutil.rmtree(tmp, ignore_errors=True)


def ask(sock, request):
    sock.settimeout(TIMEOUT)
    _wire.send(sock, request)
    return _wire.recv(sock)


def answers(sock):
    """Whether a multiplexer serves at the other end (an unknown request gets an error reply)."""
    reply = ask(sock, 'not a request')
    return reply.kind == _wire.ErrorKind.ERROR and 'unknown request' in reply.value


# -- the controller -----------------------------------------------------------------------


def test_this_process_is_its_own_controller():
    controller = _process.Controller.of_this_process()
    if multiprocessing.parent_process() is not None:
        pytest.skip('the test process is a multiprocessing child')
    assert controller.pid == os.getpid() and controller.start and controller.alive()
    assert controller.tag == '%d-%s' % (os.getpid(), controller.start)


def _report_controller(conn):
    conn.send(tuple(_process.Controller.of_this_process()))
    conn.close()


def test_a_workers_controller_is_its_parent():
    """Workers are multiprocessing children of ansible-playbook: they share its multiplexer."""
    context = multiprocessing.get_context('fork')
    ours, theirs = context.Pipe()
    worker = context.Process(target=_report_controller, args=(theirs,))
    worker.start()
    try:
        assert ours.poll(TIMEOUT)
        assert ours.recv() == tuple(_process.Controller.of_this_process())
    finally:
        worker.join(TIMEOUT)
        if worker.is_alive():
            worker.kill()


def test_controller_start_time_tells_a_reused_pid_apart():
    me = _process.Controller.of_this_process()
    assert _process.Controller(os.getpid(), me.start).alive()
    assert not _process.Controller(os.getpid(), str(int(me.start) + 1)).alive()  # the pid, reused
    assert _process.Controller(os.getpid(), '').alive()  # no start time known: the pid decides
    assert not _process.Controller(DEAD_PID, '').alive()
    assert _process.Controller(DEAD_PID, '').tag == '%d-x' % DEAD_PID


# -- the private directory ------------------------------------------------------------------


def test_runtime_base_follows_tmpdir(runtime):
    assert _process.runtime_base() == runtime.base


def test_private_dir_is_made_0700(runtime):
    _process.private_dir(runtime.base)
    assert os.stat(runtime.base).st_mode & 0o777 == 0o700
    _process.private_dir(runtime.base)  # already there and private: accepted


@pytest.mark.parametrize('which', ['base', 'controller'])
def test_open_directory_is_refused_naming_it(runtime, which):
    path = runtime.base if which == 'base' else runtime.directory
    os.makedirs(path, 0o700)
    os.chmod(runtime.base, 0o700)
    os.chmod(path, 0o755)
    with pytest.raises(_process.MuxError) as info:
        _process.connect(start=True)
    message = str(info.value)
    assert path in message and 'mode 0700' in message and '755' in message and 'TMPDIR' in message
    assert info.value.kind == _wire.ErrorKind.ERROR
    assert not os.path.exists(runtime.socket) and _process._started == []


def test_symlink_is_refused(runtime):
    target = os.path.join(runtime.tmp, 'elsewhere')
    os.mkdir(target, 0o700)
    os.symlink(target, runtime.base)
    with pytest.raises(_process.MuxError, match=runtime.base):
        _process.connect(start=True)
    assert os.listdir(target) == []


@pytest.mark.skipif(os.getuid() != 0, reason='needs root to give the directory away')
def test_directory_of_another_user_is_refused(runtime):
    os.mkdir(runtime.base, 0o700)
    os.chown(runtime.base, 65534, 65534)
    with pytest.raises(_process.MuxError, match='%s .*found uid 65534' % runtime.base):
        _process.connect(start=True)


def test_uncreatable_directory_is_named(runtime, monkeypatch):
    missing = os.path.join(runtime.tmp, 'no', 'such')
    monkeypatch.setattr(tempfile, 'tempdir', missing)
    with pytest.raises(_process.MuxError, match='cannot create the velocity.mitogen multiplexer directory %s' % missing):
        _process.connect(start=True)


# -- connecting and starting ------------------------------------------------------------------


def test_no_multiplexer_and_no_start_is_none(runtime):
    assert _process.connect(start=False) is None
    assert not os.path.exists(runtime.base)  # looking creates nothing


def test_start_forks_one_multiplexer_that_answers(runtime):
    sock = _process.connect(start=True)
    try:
        (pid, directory), = _process._started
        assert directory == runtime.directory and peer_pid(sock) == pid != os.getpid()
        assert answers(sock)
        assert _process.peer_uid(sock) == os.getuid()
        assert os.stat(runtime.directory).st_mode & 0o777 == 0o700
        assert os.stat(runtime.socket).st_mode & 0o777 == 0o600
        again = _process.connect(start=False)  # the next worker finds it
        assert peer_pid(again) == pid and answers(again)
        again.close()
    finally:
        sock.close()


def test_concurrent_workers_start_exactly_one(runtime):
    """Workers (multiprocessing children of the controller) that all need it at once."""
    context = multiprocessing.get_context('fork')
    barrier = context.Barrier(6)
    results = context.Queue()

    def worker():
        barrier.wait(TIMEOUT)
        sock = _process.connect(start=True)
        results.put((peer_pid(sock), answers(sock)))

    workers = [context.Process(target=worker) for dummy in range(6)]
    for process in workers:
        process.start()
    try:
        found = [results.get(timeout=TIMEOUT + 30) for dummy in workers]
        pids = {pid for pid, _answered in found}
        runtime.pids.extend(pids)
        assert all(answered for _pid, answered in found)
        assert len(pids) == 1
        assert _process._started == []  # a worker started it, not this controller
    finally:
        # The multiplexer holds the workers' inherited fds, so Process.join(timeout) would
        # wait on a sentinel that never closes: poll their exit instead.
        assert wait_until(lambda: all(p.exitcode is not None for p in workers))
        results.close()
    assert [p.exitcode for p in workers] == [0] * 6


def test_concurrent_threads_start_exactly_one(runtime, monkeypatch):
    inside = []
    most = []
    spawned = []

    def spawn(controller, path):
        # Stands in for the fork: listens at the path, after a pause that lets
        # every thread that got past the lock be inside at the same time.
        inside.append(1)
        most.append(len(inside))
        time.sleep(0.3)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(16)
        spawned.append(listener)
        inside.pop()
        return DEAD_PID  # nothing for stop_started to signal

    monkeypatch.setattr(_process, '_spawn', spawn)
    monkeypatch.setattr(_process, '_started', [])
    barrier = threading.Barrier(6)
    socks = []
    errors = []

    def thread():
        barrier.wait(TIMEOUT)
        try:
            socks.append(_process.connect(start=True))
        except OSError as exc:  # a second multiplexer could not bind: also a failure
            errors.append(exc)

    threads = [threading.Thread(target=thread, daemon=True) for dummy in range(6)]
    for each in threads:
        each.start()
    for each in threads:
        each.join(TIMEOUT)
    try:
        assert errors == [] and len(socks) == 6 and all(s is not None for s in socks)
        assert max(most) == 1 and len(spawned) == 1
    finally:
        for each in socks + spawned:
            each.close()


def test_stale_socket_file_is_replaced(runtime):
    os.makedirs(runtime.directory, 0o700)
    os.chmod(runtime.base, 0o700)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(runtime.socket)
    stale.close()  # the file stays, nobody listens
    assert _process.connect(start=False) is None
    sock = _process.connect(start=True)
    try:
        assert answers(sock) and peer_pid(sock) == _process._started[0][0]
    finally:
        sock.close()


def test_killed_multiplexer_is_replaced(runtime):
    first = _process.connect(start=True)
    killed = peer_pid(first)
    first.close()
    os.kill(killed, signal.SIGKILL)
    # Its main thread is a zombie a moment before its other threads have closed its files.
    assert wait_until(lambda: not _process._pid_alive(killed) and not _answering(runtime.socket))
    assert os.path.exists(runtime.socket)  # left behind
    assert _process.connect(start=False) is None
    sock = _process.connect(start=True)
    try:
        assert peer_pid(sock) != killed and answers(sock)
    finally:
        sock.close()


def _answering(path):
    sock = _process._connect(path)
    if sock is None:
        return False
    sock.close()
    return True


def test_start_failure_is_reported_with_its_cause(runtime, monkeypatch):
    from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import server as _server

    def broken(self):
        raise RuntimeError('no broker today')

    monkeypatch.setattr(_server.Server, '__init__', broken)  # the forked multiplexer inherits it
    with pytest.raises(_process.MuxError, match='(?s)failed to start: .*RuntimeError: no broker today'):
        _process.connect(start=True)
    assert _process._started == [] and not os.path.exists(runtime.socket)


def test_a_start_in_progress_elsewhere_is_waited_for_then_reported(runtime, monkeypatch):
    os.makedirs(runtime.directory, 0o700)
    os.chmod(runtime.base, 0o700)
    lock = os.path.join(runtime.directory, _process.LOCK_NAME)
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import fcntl, os, sys\n'
                               'fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n'
                               'fcntl.lockf(fd, fcntl.LOCK_EX)\n'
                               'print("locked", flush=True)\n'
                               'sys.stdin.read()\n', lock],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert select.select([holder.stdout], [], [], TIMEOUT)[0] and holder.stdout.readline() == b'locked\n'
        monkeypatch.setattr(_process, 'LOCK_TIMEOUT', 0.3)
        started = time.monotonic()
        with pytest.raises(_process.MuxError, match='waited 0s for %s: another process is starting' % lock):
            _process.connect(start=True)
        assert 0.25 < time.monotonic() - started < 5
    finally:
        holder.stdin.close()
        holder.wait(TIMEOUT)
        holder.stdout.close()
    assert _process._started == []


# -- stopping and ending ----------------------------------------------------------------------


def test_stop_started_ends_the_multiplexer_and_its_directory(runtime):
    sock = _process.connect(start=True)
    sock.close()
    (pid, _directory), = _process._started
    _process.stop_started(timeout=5)
    assert not _process._pid_alive(pid) and _process._started == []
    assert not os.path.exists(runtime.directory)


def test_multiplexer_ends_soon_after_its_controller(runtime):
    """A controller killed without ceremony: its multiplexer notices and cleans up."""
    ready_r, ready_w = os.pipe()
    controller = os.fork()
    if controller == 0:  # pragma: no cover - the child: it is the controller
        status = 1
        try:
            os.close(ready_r)
            sock = _process.connect(start=True)
            os.write(ready_w, b'%d %s\n' % (peer_pid(sock), _process.Controller.of_this_process().tag.encode()))
            status = 0
        finally:
            os._exit(status)
    os.close(ready_w)
    try:
        assert select.select([ready_r], [], [], TIMEOUT + 30)[0], 'the controller did not report its multiplexer'
        line = os.read(ready_r, 200).decode()
    finally:
        os.close(ready_r)
    assert reap(controller) == 0, line
    mux, tag = line.split()
    runtime.pids.append(int(mux))
    assert tag.startswith('%d-' % controller)
    started = time.monotonic()
    assert wait_until(lambda: not _process._pid_alive(int(mux)), timeout=5), 'the multiplexer outlived its controller'
    assert time.monotonic() - started < 5
    assert not os.path.exists(os.path.join(runtime.base, tag))  # it removed its directory


def test_sweep_removes_what_dead_controllers_left(runtime):
    os.makedirs(runtime.base, 0o700)
    dead = os.path.join(runtime.base, '%d-123' % DEAD_PID)
    os.makedirs(dead)
    alive = os.path.join(runtime.base, '%d-' % os.getppid() + _process._start_time(os.getppid()))
    os.makedirs(alive)
    other = os.path.join(runtime.base, 'notes')
    os.makedirs(other)
    _process._sweep(runtime.base, runtime.controller.tag)
    assert sorted(os.listdir(runtime.base)) == sorted([os.path.basename(alive), 'notes'])


def test_peer_uid_is_the_connecting_user():
    ours, theirs = socket.socketpair()
    try:
        assert _process.peer_uid(ours) == os.getuid()
    finally:
        ours.close()
        theirs.close()


def test_accept_loop_refuses_other_users(monkeypatch):
    served = []
    ours, theirs = socket.socketpair()

    class Listener:
        calls = 0

        def accept(self):
            self.calls += 1
            if self.calls == 1:
                return ours, None
            raise OSError(9, 'closed')

    monkeypatch.setattr(_process, 'peer_uid', lambda conn: os.getuid() + 1)
    _process._accept_loop(Listener(), types.SimpleNamespace(serve=served.append))
    try:
        assert served == [] and ours.fileno() == -1  # closed, not served
    finally:
        theirs.close()


def test_accept_loop_survives_running_out_of_file_descriptors():
    import errno
    served = []
    ours, theirs = socket.socketpair()

    class Listener:
        events = [OSError(errno.EMFILE, 'Too many open files'), (ours, None), OSError(errno.EBADF, 'closed')]

        def accept(self):
            event = self.events.pop(0)
            if isinstance(event, OSError):
                raise event
            return event

    try:
        _process._accept_loop(Listener(), types.SimpleNamespace(serve=served.append))
        assert wait_until(lambda: served, timeout=2) and served == [ours]  # served on a thread of its own
    finally:
        ours.close()
        theirs.close()
