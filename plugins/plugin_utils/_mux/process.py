# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The multiplexer process: where it lives, who starts it, and how it ends.

This plugin util is PRIVATE to the collection. There is at most one multiplexer
per controller process (ansible-playbook or ansible). Its socket sits in a 0700
directory named after the controller (PID and start time), so every worker of
that controller finds it and no other run does. Whoever needs it first starts
it: a velocity.mitogen strategy before it forks any worker, or, in
connection-only mode, the first worker whose connection is ours; a lock file
makes workers that need it at the same moment start exactly one. It is forked
(not executed) so that it shares the controller's configuration, plugin paths
and collection finder, and so serves targets ansible-core's exact module_utils.

It ends with the controller however that ends (normal exit, failure, Ctrl-C or
SIGKILL): it polls the controller every :data:`WATCH_INTERVAL` seconds, and its
target interpreters end with it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
import typing as t
import warnings

from ansible_collections.velocity.mitogen.plugins.plugin_utils._wire import Failure, ErrorKind

START_TIMEOUT = 30.0     # fork, import Mitogen, bind: seconds here, but a loaded machine is slow
LOCK_TIMEOUT = START_TIMEOUT + 5.0
STOP_TIMEOUT = 15.0
CONNECT_TIMEOUT = 10.0
WATCH_INTERVAL = 0.25
SOCKET_NAME = 'mux.sock'
LOCK_NAME = 'start.lock'


class MuxError(Failure):
    """The multiplexer could not be started or reached."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorKind.ERROR, message)


def _stat_fields(pid: int) -> list[bytes]:
    """/proc/PID/stat after the command name (Linux): state first; [] elsewhere or when gone."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as fp:
            stat = fp.read()
    except OSError:
        return []
    return stat[stat.rindex(b')') + 2:].split()


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), to tell a reused PID apart."""
    fields = _stat_fields(pid)
    return fields[19].decode('ascii') if len(fields) > 19 else ''


class Controller(t.NamedTuple):
    """The ansible-playbook (or ansible) process a multiplexer belongs to."""

    pid: int
    start: str

    @classmethod
    def of_this_process(cls) -> 'Controller':
        """Workers are multiprocessing children of the controller; anything else is one."""
        import multiprocessing
        parent = multiprocessing.parent_process()
        pid = parent.pid if parent is not None and parent.pid else os.getpid()
        return cls(pid, _start_time(pid))

    @property
    def tag(self) -> str:
        return '%d-%s' % (self.pid, self.start or 'x')

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        if not self.start:
            return True
        fields = _stat_fields(self.pid)
        # A zombie has ended: its parent may not reap it until our stdio closes.
        return len(fields) > 19 and fields[19].decode('ascii') == self.start and fields[0] != b'Z'


def runtime_base() -> str:
    """The per-user directory that holds one directory per running controller."""
    return os.path.join(tempfile.gettempdir(), 'velocity-mitogen-%d' % os.getuid())


def private_dir(path: str) -> None:
    """Create ``path`` 0700, or accept it only if it already is ours and private."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise MuxError('cannot create the velocity.mitogen multiplexer directory %s: %s' % (path, exc.strerror)) from None
    st = os.lstat(path)
    import stat as stat_module
    if not stat_module.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise MuxError('the velocity.mitogen multiplexer directory %s must be a directory owned by uid %d with mode '
                       '0700 (found uid %d, mode %o): remove it or set TMPDIR elsewhere'
                       % (path, os.getuid(), st.st_uid, stat_module.S_IMODE(st.st_mode)))
    if not os.access(path, os.W_OK | os.X_OK):
        raise MuxError('the velocity.mitogen multiplexer directory %s is not writable' % path)


def _connect(path: str) -> socket.socket | None:
    """A connected socket to the multiplexer at ``path``, or None if none answers there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(CONNECT_TIMEOUT)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return None
    return sock


@contextlib.contextmanager
def _locked(path: str, timeout: float) -> t.Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                # A POSIX lock, unlike flock(), is not inherited by the multiplexer we fork.
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() > deadline:
                raise MuxError('waited %ds for %s: another process is starting the velocity.mitogen multiplexer '
                               'and has not finished' % (timeout, path))
            time.sleep(0.02)
        yield
    finally:
        os.close(fd)


def _sweep(base: str, keep: str) -> None:
    """Remove what multiplexers of controllers that are gone left behind (SIGKILL)."""
    for name in os.listdir(base):
        pid, _dummy, start = name.partition('-')
        if name == keep or not pid.isdigit():
            continue
        if Controller(int(pid), '' if start == 'x' else start).alive():
            continue
        sock = _connect(os.path.join(base, name, SOCKET_NAME))
        if sock is not None:  # its multiplexer still ends itself
            sock.close()
            continue
        shutil.rmtree(os.path.join(base, name), ignore_errors=True)


def connect(start: bool = True) -> socket.socket | None:
    """The link socket to this controller's multiplexer, started first if ``start``
    and none runs (else None). A stale socket of a killed multiplexer is replaced."""
    controller = Controller.of_this_process()
    base = runtime_base()
    directory = os.path.join(base, controller.tag)
    path = os.path.join(directory, SOCKET_NAME)
    sock = _connect(path)
    if sock is not None or not start:
        return sock
    private_dir(base)
    private_dir(directory)
    with _thread_lock, _locked(os.path.join(directory, LOCK_NAME), LOCK_TIMEOUT):
        sock = _connect(path)
        if sock is not None:
            return sock
        _sweep(base, controller.tag)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        pid = _spawn(controller, path)
        if controller.pid == os.getpid():
            _started.append((pid, directory))
    sock = _connect(path)
    if sock is None:
        raise MuxError('the velocity.mitogen multiplexer started but does not answer at %s' % path)
    return sock


# lockf() excludes other processes only: this excludes the threads of this one.
_thread_lock = threading.Lock()
# Multiplexers this process started as the controller: stopped at its exit.
_started: list[tuple[int, str]] = []


def stop_started(timeout: float = STOP_TIMEOUT) -> None:
    """Stop the multiplexer this controller started, and so every target interpreter."""
    while _started:
        pid, directory = _started.pop()
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _pid_alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(directory, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has ended its work (a double-forked one is reaped by init).
    fields = _stat_fields(pid)
    return not fields or fields[0] != b'Z'


def _spawn(controller: Controller, path: str) -> int:
    """Start the multiplexer, detached from whoever starts it, and wait until it listens."""
    ready_r, ready_w = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads; a worker's
        # stray stderr would show up as a warning in the play's output.
        warnings.simplefilter('ignore', DeprecationWarning)
        middle = os.fork()
        if middle == 0:  # pragma: no cover - runs in the child

            def detach() -> None:
                os.close(ready_r)
                os.setsid()  # Ctrl-C reaches the controller, which stops us in order
                if os.fork() == 0:
                    _child(lambda: _serve(controller, path, ready_w), ready_w)

            _child(detach, ready_w)
    os.close(ready_w)
    try:
        _waitpid(middle)
        data = _read_ready(ready_r, START_TIMEOUT)
    finally:
        os.close(ready_r)
    if not data.startswith(b'OK '):
        raise MuxError('the velocity.mitogen multiplexer failed to start: %s'
                       % (data.decode('utf-8', 'replace').partition(' ')[2].strip() or 'it exited during start-up'))
    return int(data.split()[1])


def _waitpid(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _read_ready(fd: int, timeout: float) -> bytes:
    import select
    deadline = time.monotonic() + timeout
    data = b''
    while not data.startswith(b'OK ') or not data.endswith(b'\n'):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise MuxError('the velocity.mitogen multiplexer did not start within %ds' % timeout)
        if select.select([fd], [], [], remaining)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    return data


def _child(body: t.Callable[[], None], ready_fd: int) -> t.NoReturn:  # pragma: no cover - the child
    """Run ``body`` in a forked child and end it; a failure goes to whoever waits on ``ready_fd``."""
    status = 1
    try:
        body()
        status = 0
    except BaseException:  # pylint: disable=broad-except
        with contextlib.suppress(Exception):
            os.write(ready_fd, ('ERR %s' % traceback.format_exc()).encode('utf-8', 'replace'))
    finally:
        os._exit(status)


def _serve(controller: Controller, path: str, ready_fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.close(devnull)

    from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux.server import Server
    server = Server()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    listener.listen(128)
    os.write(ready_fd, b'OK %d\n' % os.getpid())
    os.close(ready_fd)
    # Nothing may hold the controller's output open: whoever reads it waits for its end.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)

    threading.Thread(target=_accept_loop, args=(listener, server), name='mux-accept', daemon=True).start()
    try:
        while not stop.is_set() and controller.alive():
            stop.wait(WATCH_INTERVAL)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        listener.close()
        server.shutdown()
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def peer_uid(conn: socket.socket) -> int | None:
    """The uid of the process at the other end of a UNIX socket (Linux SO_PEERCRED)."""
    import struct
    option = getattr(socket, 'SO_PEERCRED', None)
    if option is None:
        return None
    creds = conn.getsockopt(socket.SOL_SOCKET, option, struct.calcsize('3i'))
    return struct.unpack('3i', creds)[1]


def _accept_loop(listener: socket.socket, server: t.Any) -> None:
    uid = os.getuid()
    while True:
        try:
            conn = listener.accept()[0]
        except OSError as exc:
            if exc.errno in (errno.EBADF, errno.EINVAL):
                return  # the listener was closed: the multiplexer is ending
            if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                time.sleep(0.1)  # out of descriptors or memory for now: workers wait in the backlog
            continue
        peer = peer_uid(conn)
        if peer is not None and peer != uid:
            conn.close()  # only processes of the controller's user may drive our connections
            continue
        threading.Thread(target=server.serve, args=(conn,), name='mux-client', daemon=True).start()
