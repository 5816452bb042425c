#!/usr/bin/env python
# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A reusable real-sshd test target for integration tests and benchmarks.

Runs a private OpenSSH daemon (its own config, host key, pid file and log in a
state directory) next to, and never instead of, any system sshd.  It creates
three local test users:

* ``vmlogin``: key login, passwordless sudo;
* ``vmpw``: key login, sudo needs the password stored in ``state/vmpw.password``;
* ``vmplain``: key login, no sudo.

Must run as root.  Usable from the command line (``up``, ``down``, ``status``,
``mark``, ``connections``, ``reset``) or imported (``up()``, ``down()``,
``status()``, ``mark()``, ``connections()``, ``sessions()``, ``reset_state()``,
``user_state_lock()``).

The users are shared by every harness instance on the machine. What a playbook
run leaves in their homes and in the targets' scratch paths changes what the
next run does or prints (a missing ``~/.ansible/tmp`` is created by a module,
with a warning), so a parity test resets that state before each run
(``reset_state()``) and holds ``user_state_lock()`` from the reset to the end of
the run, so that no run of another instance changes it in between.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, Iterator, List, Optional

DEFAULT_PORT = 2222
DEFAULT_STATE_DIR = "/tmp/velocity-harness"
SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
SUDOERS_FILE = "/etc/sudoers.d/velocity-harness"
PRIVSEP_DIR = "/run/sshd"
VMPW_PASSWORD = "vmpw-secret-pass"
USERS = ("vmlogin", "vmpw", "vmplain")
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0

SUDOERS_TEXT = """\
# Managed by velocity.mitogen tests/harness/sshd_target.py -- test users only.
Defaults:vmlogin, vmpw, vmplain !requiretty, lecture=never
# Always ask vmpw for its password, so become-password tests are deterministic.
Defaults:vmpw timestamp_timeout=0
vmlogin ALL=(ALL:ALL) NOPASSWD: ALL
vmpw ALL=(ALL:ALL) ALL
"""

# What a playbook run may leave behind that changes the next run (see reset_state()).
USER_STATE = (".ansible", ".ansible_async")      # in each test user's home
SCRATCH_GLOBS = ("/tmp/velocity-it-*",)          # the integration targets' scratch paths
TEMP_USERS = ("vmtemp",)                         # accounts the targets create and remove
LOCK_DIRS = ("/run/lock", "/var/lock", "/tmp")
LOCK_NAME = "velocity-harness-users.lock"

_ACCEPTED_RE = re.compile(rb"Accepted (\S+) for (\S+) from ")
_SESSION_RE = re.compile(rb"Starting session: .* for (\S+) from ")


class HarnessError(RuntimeError):
    """Raised when the harness cannot be brought up or down."""


def _paths(state_dir: str) -> Dict[str, str]:
    """Return the well-known file paths inside the state directory."""
    sd = os.path.abspath(state_dir)
    return {
        "dir": sd,
        "key": os.path.join(sd, "id_ed25519"),
        "pub": os.path.join(sd, "id_ed25519.pub"),
        "hostkey": os.path.join(sd, "ssh_host_ed25519_key"),
        "config": os.path.join(sd, "sshd_config"),
        "pid": os.path.join(sd, "sshd.pid"),
        "log": os.path.join(sd, "sshd.log"),
        "inventory": os.path.join(sd, "inventory.ini"),
        "env": os.path.join(sd, "env.sh"),
        "password": os.path.join(sd, "vmpw.password"),
        "meta": os.path.join(sd, "harness.json"),
    }


def _run(cmd: List[str], **kw: object) -> subprocess.CompletedProcess:
    """Run a command, raising HarnessError with its output on failure."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=False, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise HarnessError("command failed (%d): %s\n%s"
                           % (proc.returncode, " ".join(cmd), proc.stdout))
    return proc


def _write_atomic(path: str, text: str, mode: int) -> None:
    """Write text to path via a temporary file and rename, with the given mode."""
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp.", dir=d)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _require_root() -> None:
    if os.geteuid() != 0:
        raise HarnessError("sshd_target.py must run as root")


def ensure_packages() -> None:
    """Install openssh-server, sudo and acl with apt-get if any is missing.

    acl gives setfacl, which stock Ansible needs to become an unprivileged user
    without pipelining; without it the stock side of a parity test would fail.
    """
    if (os.path.exists(SSHD) and shutil.which("sudo") and shutil.which("visudo")
            and os.path.exists(SFTP_SERVER) and shutil.which("setfacl")):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", "openssh-server", "sudo", "acl"]
    if subprocess.run(cmd, env=env, check=False).returncode != 0:
        _run(["apt-get", "update"], env=env)
        _run(cmd, env=env)
    # The package's postinst may start the system sshd; that is the system's
    # business and we leave it alone.


def _ensure_user(name: str) -> pwd.struct_passwd:
    """Create a local user with a home directory and bash if missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        _run(["useradd", "-m", "-s", "/bin/bash", name])
        return pwd.getpwnam(name)


def _ensure_users(paths: Dict[str, str]) -> None:
    """Create the test users, their passwords and authorized_keys."""
    with open(paths["pub"]) as f:
        pub = f.read().strip() + "\n"
    for name in USERS:
        pw = _ensure_user(name)
        if name == "vmpw":
            _run(["chpasswd"], input="%s:%s\n" % (name, VMPW_PASSWORD))
        else:
            # useradd leaves '!' (locked); make it '*' (no password, not
            # locked) so key login also works should UsePAM ever be 'no'.
            _run(["usermod", "-p", "*", name])
        home = pw.pw_dir
        if not os.path.isdir(home):
            os.makedirs(home, mode=0o755)
            os.chown(home, pw.pw_uid, pw.pw_gid)
        sshdir = os.path.join(home, ".ssh")
        os.makedirs(sshdir, mode=0o700, exist_ok=True)
        os.chmod(sshdir, 0o700)
        os.chown(sshdir, pw.pw_uid, pw.pw_gid)
        ak = os.path.join(sshdir, "authorized_keys")
        # Several harness instances (one per state dir) share these users: keep every key.
        try:
            with open(ak) as f:
                keys = [line for line in f.read().splitlines() if line.strip()]
        except FileNotFoundError:
            keys = []
        if pub.strip() not in keys:
            keys.append(pub.strip())
        _write_atomic(ak, "\n".join(keys) + "\n", 0o600)
        os.chown(ak, pw.pw_uid, pw.pw_gid)
    _write_atomic(paths["password"], VMPW_PASSWORD + "\n", 0o600)


def _ensure_sudoers() -> None:
    """Install the harness sudoers drop-in after validating it with visudo."""
    try:
        with open(SUDOERS_FILE) as f:
            if f.read() == SUDOERS_TEXT:
                os.chmod(SUDOERS_FILE, 0o440)
                return
    except FileNotFoundError:
        pass
    # A name containing '.' is ignored by sudo's @includedir while we validate.
    tmp = os.path.join(os.path.dirname(SUDOERS_FILE), ".velocity-harness.tmp")
    with open(tmp, "w") as f:
        f.write(SUDOERS_TEXT)
    os.chmod(tmp, 0o440)
    try:
        _run(["visudo", "-cf", tmp])
        os.replace(tmp, SUDOERS_FILE)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _ensure_keys(paths: Dict[str, str]) -> None:
    """Generate the client key and the host key once."""
    if not os.path.exists(paths["key"]):
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
              "velocity-harness-client", "-f", paths["key"]])
    os.chown(paths["key"], 0, 0)
    os.chmod(paths["key"], 0o600)
    os.chmod(paths["pub"], 0o644)
    if not os.path.exists(paths["hostkey"]):
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
              "velocity-harness-host", "-f", paths["hostkey"]])
    os.chmod(paths["hostkey"], 0o600)


def listen_addresses(hosts: int) -> List[str]:
    """Return the loopback addresses used for ``hosts`` distinct targets."""
    if not 1 <= hosts <= 254:
        raise HarnessError("--hosts must be between 1 and 254")
    return ["127.0.0.%d" % i for i in range(1, hosts + 1)]


def _sshd_config(paths: Dict[str, str], port: int, hosts: int) -> str:
    lines = [
        "# Generated by velocity.mitogen tests/harness/sshd_target.py",
        "Port %d" % port,
    ]
    lines += ["ListenAddress %s:%d" % (a, port) for a in listen_addresses(hosts)]
    lines += [
        "HostKey %s" % paths["hostkey"],
        "PidFile %s" % paths["pid"],
        "LogLevel VERBOSE",
        "PermitRootLogin no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "AuthorizedKeysFile .ssh/authorized_keys",
        "UsePAM yes",
        "StrictModes no",
        "MaxStartups 200",
        "MaxSessions 200",
        "MaxAuthTries 20",
        "UseDNS no",
        "PrintMotd no",
        "PrintLastLog no",
        "X11Forwarding no",
        "AcceptEnv LANG LC_*",
        "Subsystem sftp %s" % SFTP_SERVER,
    ]
    return "\n".join(lines) + "\n"


def _inventory(paths: Dict[str, str], port: int, hosts: int) -> str:
    lines = ["# Generated by velocity.mitogen tests/harness/sshd_target.py", "[targets]"]
    for i, addr in enumerate(listen_addresses(hosts), start=1):
        name = "target" if i == 1 else "target%d" % i
        lines.append("%s ansible_host=%s" % (name, addr))
    lines += [
        "",
        "[pw]",
        "target_pw ansible_host=127.0.0.1 ansible_user=vmpw",
        "",
        "[plain]",
        "target_plain ansible_host=127.0.0.1 ansible_user=vmplain",
        "",
        "# Nothing listens on port 1: for unreachable-host tests.",
        "[dead]",
        "ghost ansible_host=127.0.0.1 ansible_port=1",
        "",
        "[all:vars]",
        "ansible_port=%d" % port,
        "ansible_user=vmlogin",
        "ansible_ssh_private_key_file=%s" % paths["key"],
        "ansible_python_interpreter=/usr/bin/python3",
        "ansible_ssh_common_args='-o StrictHostKeyChecking=no "
        "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'",
    ]
    return "\n".join(lines) + "\n"


def _env_sh(paths: Dict[str, str], port: int) -> str:
    return (
        "# Generated by velocity.mitogen tests/harness/sshd_target.py\n"
        "export VM_HARNESS_DIR=%s\n"
        "export VM_SSH_PORT=%d\n"
        "export VM_SSH_KEY=%s\n"
        "export VM_INVENTORY=%s\n"
        "export VM_PW_PASSWORD_FILE=%s\n"
        % (paths["dir"], port, paths["key"], paths["inventory"], paths["password"])
    )


def _read_pid(paths: Dict[str, str]) -> Optional[int]:
    try:
        with open(paths["pid"]) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _is_our_sshd(pid: int, config: str) -> bool:
    """True if pid is alive and its command line names our sshd_config."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmdline = f.read().replace(b"\0", b" ")
    except OSError:
        return False
    return b"sshd" in cmdline and config.encode() in cmdline


def running_pid(state_dir: str = DEFAULT_STATE_DIR) -> Optional[int]:
    """Return the PID of our running sshd, or None."""
    paths = _paths(state_dir)
    pid = _read_pid(paths)
    if pid is not None and _is_our_sshd(pid, paths["config"]):
        return pid
    return None


def _port_open(addr: str, port: int) -> bool:
    try:
        with socket.create_connection((addr, port), timeout=1.0):
            return True
    except OSError:
        return False


def _wait_ports(addrs: List[str], port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(addrs)
    while pending:
        pending = [a for a in pending if not _port_open(a, port)]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise HarnessError("sshd did not accept TCP on %s port %d within %.0fs"
                               % (", ".join(pending), port, timeout))
        time.sleep(0.1)


def _load_meta(paths: Dict[str, str]) -> Dict[str, int]:
    try:
        with open(paths["meta"]) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def up(port: int = DEFAULT_PORT, state_dir: str = DEFAULT_STATE_DIR,
       hosts: int = 1) -> Dict[str, object]:
    """Bring the harness up (idempotent) and return a summary dict."""
    _require_root()
    ensure_packages()
    paths = _paths(state_dir)
    os.makedirs(paths["dir"], exist_ok=True)
    os.chmod(paths["dir"], 0o755)
    _ensure_keys(paths)
    _ensure_users(paths)
    _ensure_sudoers()

    config = _sshd_config(paths, port, hosts)
    try:
        with open(paths["config"]) as f:
            old_config: Optional[str] = f.read()
    except FileNotFoundError:
        old_config = None
    pid = running_pid(state_dir)
    if pid is not None and old_config != config:
        # Port or address set changed: restart our daemon (never the system one).
        down(state_dir)
        pid = None
    _write_atomic(paths["config"], config, 0o644)
    os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)
    os.chmod(PRIVSEP_DIR, 0o755)
    _run([SSHD, "-t", "-f", paths["config"]])

    started = False
    if pid is None:
        if os.path.exists(paths["pid"]):
            os.unlink(paths["pid"])
        _run([SSHD, "-f", paths["config"], "-E", paths["log"]],
             start_new_session=True, stdin=subprocess.DEVNULL)
        started = True
    try:
        _wait_ports(listen_addresses(hosts), port, START_TIMEOUT)
    except HarnessError as exc:
        raise HarnessError("%s; see %s" % (exc, paths["log"])) from None
    deadline = time.monotonic() + START_TIMEOUT
    while (pid := running_pid(state_dir)) is None:
        if time.monotonic() > deadline:
            raise HarnessError("sshd pid file %s not written; see %s"
                               % (paths["pid"], paths["log"]))
        time.sleep(0.05)
    if os.path.exists(paths["log"]):
        os.chmod(paths["log"], 0o644)

    _write_atomic(paths["inventory"], _inventory(paths, port, hosts), 0o644)
    _write_atomic(paths["env"], _env_sh(paths, port), 0o644)
    _write_atomic(paths["meta"], json.dumps({"port": port, "hosts": hosts}) + "\n", 0o644)
    return {
        "state_dir": paths["dir"], "port": port, "hosts": hosts, "pid": pid,
        "started": started, "addresses": listen_addresses(hosts),
        "key": paths["key"], "inventory": paths["inventory"], "env": paths["env"],
        "log": paths["log"],
    }


def down(state_dir: str = DEFAULT_STATE_DIR) -> bool:
    """Stop our sshd listener (only it) and remove the pid file.

    Returns True if a daemon was stopped.  Sessions already forked keep
    running until their clients disconnect, as with any sshd restart.
    """
    paths = _paths(state_dir)
    pid = running_pid(state_dir)
    stopped = False
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _is_our_sshd(pid, paths["config"]):
            if time.monotonic() > deadline:
                raise HarnessError("sshd pid %d did not exit within %.0fs"
                                   % (pid, STOP_TIMEOUT))
            time.sleep(0.05)
        stopped = True
    if os.path.exists(paths["pid"]):
        os.unlink(paths["pid"])
    return stopped


def status(state_dir: str = DEFAULT_STATE_DIR) -> Dict[str, object]:
    """Return {'up': bool, 'pid': int|None, 'port': int|None, 'hosts': int|None}."""
    paths = _paths(state_dir)
    meta = _load_meta(paths)
    pid = running_pid(state_dir)
    return {"up": pid is not None, "pid": pid, "port": meta.get("port"),
            "hosts": meta.get("hosts"), "state_dir": paths["dir"]}


def mark(state_dir: str = DEFAULT_STATE_DIR) -> int:
    """Return the current byte size of sshd.log, for use as a ``since`` offset."""
    try:
        return os.path.getsize(_paths(state_dir)["log"])
    except FileNotFoundError:
        return 0


def _log_tail(state_dir: str, since: int) -> bytes:
    try:
        with open(_paths(state_dir)["log"], "rb") as f:
            f.seek(since)
            return f.read()
    except FileNotFoundError:
        return b""


def connections(state_dir: str = DEFAULT_STATE_DIR, since: int = 0,
                user: Optional[str] = None) -> int:
    """Count authenticated SSH connections ('Accepted <method> for') after byte ``since``."""
    n = 0
    for m in _ACCEPTED_RE.finditer(_log_tail(state_dir, since)):
        if user is None or m.group(2).decode() == user:
            n += 1
    return n


def sessions(state_dir: str = DEFAULT_STATE_DIR, since: int = 0,
             user: Optional[str] = None) -> int:
    """Count session channels that ran a shell/command/subsystem after byte ``since``.

    Counts sshd's VERBOSE 'Starting session: ...' lines; each exec, shell or
    subsystem request on a session channel logs exactly one.
    """
    n = 0
    for m in _SESSION_RE.finditer(_log_tail(state_dir, since)):
        if user is None or m.group(1).decode() == user:
            n += 1
    return n


def _lock_path() -> str:
    for d in LOCK_DIRS:
        if os.path.isdir(d) and os.access(d, os.W_OK):
            return os.path.join(d, LOCK_NAME)
    raise HarnessError("no writable directory for %s in %s" % (LOCK_NAME, ", ".join(LOCK_DIRS)))


@contextlib.contextmanager
def user_state_lock(timeout: float = 1800.0,
                    waiting: Optional[Callable[[str], None]] = None) -> Iterator[None]:
    """Hold the machine-wide lock on the test users' state (an exclusive flock).

    Every harness instance shares the users: whoever resets their state and
    then runs a playbook against it holds this lock throughout. ``waiting``, if
    given, is called once (with the lock path) when the lock is busy.
    """
    path = _lock_path()
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if not told and waiting is not None:
                waiting(path)
                told = True
            if time.monotonic() > deadline:
                raise HarnessError("%s still held by another test run after %.0fs" % (path, timeout))
            time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _remove(path: str) -> bool:
    """Remove a file, link or tree; True if something was there."""
    if not os.path.lexists(path):
        return False
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)
    return True


def reset_state() -> List[str]:
    """Put back what playbook runs change on the targets; return what was removed.

    * the test users' ``~/.ansible`` (remote_tmp: a module that finds it missing
      creates it and warns, so the first run of a pair would warn and the second
      not) and ``~/.ansible_async`` (async job files);
    * the integration targets' scratch paths (``/tmp/velocity-it-*``), which a
      failed run leaves behind for the next run to find;
    * the accounts targets create and remove (``vmtemp``), if a run died in between.

    Only the harness's own users and paths are touched, never root's ``~/.ansible``
    (the controller's). Call it holding ``user_state_lock()``. Must run as root.
    """
    _require_root()
    removed: List[str] = []
    for name in TEMP_USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        # --force: an interpreter a killed run left must not keep the account alive.
        _run(["userdel", "--force", "--remove", name])
        removed.append("user %s" % name)
    for name in USERS:
        try:
            home = pwd.getpwnam(name).pw_dir
        except KeyError:
            continue
        for entry in USER_STATE:
            path = os.path.join(home, entry)
            if _remove(path):
                removed.append(path)
    for pattern in SCRATCH_GLOBS:
        for path in sorted(glob.glob(pattern)):
            if _remove(path):
                removed.append(path)
    return removed


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def add_state(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--state-dir", default=DEFAULT_STATE_DIR,
                        help="state directory (default %(default)s)")

    sp = sub.add_parser("up", help="start (or keep) the private sshd and write inventory")
    sp.add_argument("--port", type=int, default=DEFAULT_PORT)
    sp.add_argument("--hosts", type=int, default=1,
                    help="number of distinct loopback targets 127.0.0.1..N")
    add_state(sp)
    sp = sub.add_parser("down", help="stop the private sshd")
    add_state(sp)
    sp = sub.add_parser("status", help="show whether the private sshd is up")
    add_state(sp)
    sp.add_argument("--json", action="store_true")
    sp = sub.add_parser("mark", help="print the current byte size of sshd.log")
    add_state(sp)
    sp = sub.add_parser("connections", help="count accepted SSH connections in sshd.log")
    add_state(sp)
    sp.add_argument("--since", type=int, default=0, help="byte offset from 'mark'")
    sp.add_argument("--user", default=None, help="count only this user")
    sp.add_argument("--sessions", action="store_true",
                    help="also print the number of session channels started")
    sp = sub.add_parser("reset", help="remove what playbook runs leave for the test users and in scratch paths")
    args = p.parse_args(argv)

    try:
        if args.cmd == "up":
            info = up(args.port, args.state_dir, args.hosts)
            print("sshd %s: pid %s, port %s on %s" % (
                "started" if info["started"] else "already running", info["pid"],
                info["port"], ", ".join(info["addresses"])))  # type: ignore[arg-type]
            print("state dir: %s" % info["state_dir"])
            print("client key: %s" % info["key"])
            print("inventory: %s" % info["inventory"])
            print("env: source %s" % info["env"])
            print("users: vmlogin (NOPASSWD sudo), vmpw (sudo password in vmpw.password),"
                  " vmplain (no sudo)")
        elif args.cmd == "down":
            print("stopped" if down(args.state_dir) else "not running")
        elif args.cmd == "status":
            st = status(args.state_dir)
            if args.json:
                print(json.dumps(st))
            elif st["up"]:
                print("up: pid %s, port %s, hosts %s" % (st["pid"], st["port"], st["hosts"]))
            else:
                print("down")
                return 3
        elif args.cmd == "reset":
            with user_state_lock():
                for what in reset_state():
                    print("removed %s" % what)
        elif args.cmd == "mark":
            print(mark(args.state_dir))
        elif args.cmd == "connections":
            if args.sessions:
                print("connections %d" % connections(args.state_dir, args.since, args.user))
                print("sessions %d" % sessions(args.state_dir, args.since, args.user))
            else:
                print(connections(args.state_dir, args.since, args.user))
    except HarnessError as exc:
        print("sshd_target: error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
