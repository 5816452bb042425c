# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared machinery of the benchmark (bench/run.py) and the demo (tools/demo.py).

* a private sshd target (tests/harness/sshd_target.py) in its own state dir and
  port, so its log counts only our connections and nobody else's restarts hit us;
* the ansible-core venv and a freshly built + installed collection (tools/devenv.py);
* delay proxies (tools/delay_proxy.py) in front of the sshd;
* ``run_playbook``: one measured ansible-playbook run -- wall time, controller
  CPU of the whole process tree, peak memory of the tree, bytes through the
  proxies, SSH connections and sessions from the sshd log, leftover processes.

Honesty rules for stock runs: every run gets a fresh ControlPath directory, and
any ssh ControlPersist master still alive when ansible-playbook has exited is
killed and reaped (its CPU is counted: it worked for that run).

This process makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so
daemonised descendants are re-parented to us instead of init: our connection
multiplexer (double-forked into its own session, in both modes), ssh
ControlPersist masters, anything leaked. We can see them (the tree sampler finds
them as our children, so their memory is in the tree's peak), let them end
(the multiplexer ends by itself shortly after ansible-playbook: we wait for it),
kill what does not end, and collect their rusage with wait4(). Without this,
wait4() on ansible-playbook (or RUSAGE_CHILDREN, or ``time``) would miss the
multiplexer's CPU and that of its ssh client entirely.
"""

from __future__ import annotations

import ctypes
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / 'bench'
sys.path.insert(0, str(ROOT / 'tools'))
sys.path.insert(0, str(ROOT / 'tests' / 'harness'))

import delay_proxy  # noqa: E402
import devenv  # noqa: E402
import sshd_target  # noqa: E402

CLK_TCK = os.sysconf('SC_CLK_TCK')
PAGE_KIB = os.sysconf('SC_PAGE_SIZE') // 1024
STOCK = 'ansible.builtin.linear'
VELOCITY = 'velocity.mitogen.linear'


class BenchError(Exception):
    """A set-up step failed; the message says which and why."""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- process plumbing

_subreaper = False


def _set_subreaper(on: bool) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1 if on else 0, 0, 0, 0) == 0   # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Make orphaned descendants re-parent to this process (Linux >= 3.4).

    Caveat: an orphan goes to its nearest subreaper *ancestor*, so a daemon we
    start (the sshd target) must be started while this is off, or the target
    side's processes would be re-parented to us and counted as controller work.
    private_target() takes care of that.
    """
    global _subreaper
    _subreaper = _set_subreaper(True)
    return _subreaper


def _stat(pid: int) -> Optional[Tuple[int, str, int, int]]:
    """(ppid, state, utime+stime ticks, rss pages) of a pid, or None if gone."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rfind(b')') + 2:].split()
    # fields after comm: state(0) ppid(1) ... utime(11) stime(12) ... rss(21)
    return int(rest[1]), rest[0].decode(), int(rest[11]) + int(rest[12]), int(rest[21])


def _comm(pid: int) -> str:
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            data = f.read()
        return data[data.find(b'(') + 1:data.rfind(b')')].decode(errors='replace')
    except OSError:
        return '?'


def _cmdline(pid: int) -> str:
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().replace(b'\0', b' ').decode(errors='replace').strip()
    except OSError:
        return ''


def _pss_kib(pid: int) -> Optional[int]:
    try:
        with open('/proc/%d/smaps_rollup' % pid, 'rb') as f:
            for line in f:
                if line.startswith(b'Pss:'):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def process_tree(root: int, exclude: Sequence[int] = ()) -> Dict[int, Tuple[int, str, int, int]]:
    """All live descendants of root (not root itself), minus the subtrees of exclude."""
    stats = {}
    for name in os.listdir('/proc'):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None:
                stats[int(name)] = st
    children: Dict[int, List[int]] = {}
    for pid, st in stats.items():
        children.setdefault(st[0], []).append(pid)
    out = {}
    todo = [p for p in children.get(root, []) if p not in exclude]
    while todo:
        pid = todo.pop()
        out[pid] = stats[pid]
        todo.extend(p for p in children.get(pid, []) if p not in exclude)
    return out


class TreeSampler(threading.Thread):
    """Samples our process tree: peak summed RSS and PSS, and CPU seen per pid.

    Summed RSS counts pages shared after fork() once per process (an
    over-estimate); summed PSS splits shared pages fairly and is what we report
    as the tree's peak memory. Processes living shorter than the interval may be
    missed. ``cpu_seen`` (the sum over pids of the last utime+stime seen) is a
    lower bound of the tree's CPU, used to cross-check the rusage figures.
    """

    def __init__(self, exclude: Sequence[int], interval: float = 0.1) -> None:
        super().__init__(name='tree-sampler', daemon=True)
        self.exclude = set(exclude)
        self.interval = interval
        self.root = 0                   # the ansible-playbook pid, set once started
        self.peak_rss_kib = 0
        self.peak_pss_kib = 0
        self.peak_procs = 0
        self.cpu_ticks: Dict[int, int] = {}
        # Processes re-parented to us (our direct children other than root: the
        # double-forked multiplexer, daemonised ssh masters): pid -> [cmdline, peak PSS KiB].
        self.orphans: Dict[int, List] = {}
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while True:
            tree = process_tree(me, self.exclude)
            rss = pss = 0
            for pid, (ppid, state, ticks, rss_pages) in tree.items():
                self.cpu_ticks[pid] = max(ticks, self.cpu_ticks.get(pid, 0))
                if state == 'Z':
                    continue
                rss += rss_pages * PAGE_KIB
                p = _pss_kib(pid) or 0
                pss += p
                if ppid == me and pid != self.root:
                    o = self.orphans.setdefault(pid, [_cmdline(pid)[:120], 0])
                    o[1] = max(o[1], p)
            self.peak_rss_kib = max(self.peak_rss_kib, rss)
            self.peak_pss_kib = max(self.peak_pss_kib, pss)
            self.peak_procs = max(self.peak_procs, len(tree))
            self.samples += 1
            if self._halt.wait(self.interval):
                return

    def stop(self) -> None:
        self._halt.set()
        self.join(5)

    @property
    def cpu_seen(self) -> float:
        return sum(self.cpu_ticks.values()) / CLK_TCK


def _rusage_cpu(ru) -> float:
    return ru.ru_utime + ru.ru_stime


def reap_leftovers(exclude: Sequence[int], grace: float = 3.0) -> Tuple[List[str], float, int, List[str]]:
    """Kill and reap every descendant still alive (except the excluded subtrees).

    Returns (descriptions of the live ones found, CPU seconds reaped, max
    ru_maxrss KiB, exited orphans reaped as 'name cpu_s'). Orphans that already
    exited are zombies re-parented to us: their rusage (which includes that of
    every descendant they reaped) is collected here.
    """
    me = os.getpid()
    found: List[str] = []
    cpu = 0.0
    maxrss = 0
    zombies: List[str] = []
    deadline = time.monotonic() + grace
    killed = set()
    while True:
        tree = process_tree(me, exclude)
        if not tree:
            break
        for pid, (ppid, state, dummy, dummy) in tree.items():
            if state == 'Z' and ppid == me:
                name = _comm(pid)
                try:
                    dummy, dummy, ru = os.wait4(pid, os.WNOHANG)
                    cpu += _rusage_cpu(ru)
                    maxrss = max(maxrss, ru.ru_maxrss)
                    if pid not in killed:
                        zombies.append('%s %.2f' % (name, _rusage_cpu(ru)))
                except ChildProcessError:
                    pass
                continue
            if pid not in killed:
                found.append('%d %s' % (pid, _cmdline(pid)[:160]))
                killed.add(pid)
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            elif time.monotonic() > deadline:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        time.sleep(0.02)
        if time.monotonic() > deadline + 5:
            found.append('could not reap: %s' % sorted(tree))
            break
    return found, cpu, maxrss, zombies


SETTLE_TIMEOUT = 5.0


def settle_after_exit(exclude: Sequence[int], persist_marker: str, timeout: float = SETTLE_TIMEOUT) -> float:
    """Wait until every live descendant is one that never ends by itself (cmdline contains
    ``persist_marker``: the run's ControlPath dir, i.e. a ControlPersist master); seconds waited."""
    me = os.getpid()
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        live = [pid for pid, st in process_tree(me, exclude).items()
                if st[1] != 'Z' and persist_marker not in _cmdline(pid)]
        if not live:
            break
        time.sleep(0.01)
    return time.monotonic() - t0


# --------------------------------------------------------------------------- sshd target

def shared_client_key() -> Path:
    """The harness client key every harness instance must share.

    Each sshd_target instance writes its own client key into the test users'
    authorized_keys. Two instances with different keys would lock each other
    out, so private instances are seeded with the default instance's key
    (created there first if needed).
    """
    paths = sshd_target._paths(sshd_target.DEFAULT_STATE_DIR)
    if not os.path.exists(paths['key']):
        os.makedirs(paths['dir'], exist_ok=True)
        sshd_target._ensure_keys(paths)
    return Path(paths['key'])


def private_target(state_dir: str, port: int, hosts: int) -> Dict[str, object]:
    """Bring up (idempotently) a private sshd target sharing the default client key."""
    key = shared_client_key()
    os.makedirs(state_dir, exist_ok=True)
    for suffix in ('', '.pub'):
        src, dst = str(key) + suffix, os.path.join(state_dir, 'id_ed25519' + suffix)
        if not os.path.exists(dst) or open(src, 'rb').read() != open(dst, 'rb').read():
            shutil.copy2(src, dst)
    # Started (or restarted) with the subreaper off, the daemon is re-parented to
    # init and is not our descendant: target-side processes never come to us.
    if _subreaper:
        _set_subreaper(False)
    try:
        return sshd_target.up(port, state_dir, hosts)
    except sshd_target.HarnessError as exc:
        raise BenchError('sshd target on port %d: %s' % (port, exc)) from None
    finally:
        if _subreaper:
            _set_subreaper(True)


# --------------------------------------------------------------------------- ansible + collection

def prepare_ansible(workdir: Path, line_name: Optional[str] = None) -> Dict[str, object]:
    """ansible-core venv (newest line unless named) and the collection built + installed under workdir.

    Uses our own stage/build/collections dirs so parallel test runs using the
    default ones are not disturbed.
    """
    try:
        if line_name:
            line = devenv.get_line(line_name)
            venv = devenv.ensure_venv(line)
            if venv is None:
                raise BenchError('no Python found for ansible-core %s' % line_name)
        else:
            line, venv = devenv.newest_venv()
        stage = devenv.stage(workdir / 'stage' / 'ansible_collections' / 'velocity' / 'mitogen')
        tarball = devenv.build(venv, stage, workdir / 'build')
        collections = workdir / 'collections'
        devenv.install(venv, tarball, collections, None)
        info = devenv.venv_info(venv)
    except devenv.DevenvError as exc:
        raise BenchError(str(exc)) from None
    return {'line': line.name, 'venv': venv, 'collections': collections, 'tarball': tarball,
            'ansible': info['ansible'], 'python': info['python']}


def write_inventory(path: Path, hosts: Dict[str, Tuple[str, int]], groups: Dict[str, List[str]],
                    key: str) -> None:
    lines = ['# written by velocity.mitogen bench/benchlib.py']
    for group, names in groups.items():
        lines.append('[%s]' % group)
        for name in names:
            addr, port = hosts[name]
            lines.append('%s ansible_host=%s ansible_port=%d' % (name, addr, port))
        lines.append('')
    lines += [
        '[all:vars]',
        'ansible_user=vmlogin',
        'ansible_ssh_private_key_file=%s' % key,
        'ansible_python_interpreter=/usr/bin/python3',
        "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'",
    ]
    path.write_text('\n'.join(lines) + '\n')


def base_env(venv: Path, workdir: Path) -> Dict[str, str]:
    """A clean environment for ansible-playbook: no user config, no colours."""
    env = devenv.venv_env(venv)
    for k in list(env):
        if k.startswith('ANSIBLE_'):
            del env[k]
    cfg = workdir / 'ansible.cfg'
    if not cfg.exists():
        cfg.write_text('# empty on purpose: every setting is an ansible-core default unless the bench sets it\n')
    env.update({
        'ANSIBLE_CONFIG': str(cfg),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_HOST_KEY_CHECKING': '0',
        'ANSIBLE_LOCAL_TEMP': str(workdir / 'ansible-local-tmp'),
    })
    return env


# --------------------------------------------------------------------------- proxies

class Proxies:
    """One delay proxy per target address, each on its own port."""

    def __init__(self, workdir: Path, addresses: Sequence[str], target_port: int, rtt_ms: float) -> None:
        self.rtt_ms = rtt_ms
        self.procs: Dict[str, subprocess.Popen] = {}
        self.ports: Dict[str, int] = {}
        self.stats_files: Dict[str, str] = {}
        script = ROOT / 'tools' / 'delay_proxy.py'
        try:
            for addr in addresses:
                stats = str(workdir / ('proxy-%s-%g.json' % (addr, rtt_ms)))
                proc = subprocess.Popen(
                    [sys.executable, str(script), '--listen', '%s:0' % addr, '--target',
                     '%s:%d' % (addr, target_port), '--rtt-ms', str(rtt_ms), '--stats', stats],
                    stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, start_new_session=True)
                self.procs[addr] = proc
                line = _readline_timeout(proc, 10)
                m = re.match(r'PORT (\d+)', line or '')
                if not m:
                    raise BenchError('delay proxy for %s did not start (got %r)' % (addr, line))
                self.ports[addr] = int(m.group(1))
                self.stats_files[addr] = stats
        except BaseException:
            self.stop()
            raise

    @property
    def pids(self) -> List[int]:
        return [p.pid for p in self.procs.values()]

    def stats(self) -> Dict[str, Dict[str, int]]:
        return {addr: delay_proxy.request_stats(self.procs[addr].pid, self.stats_files[addr])
                for addr in self.procs}

    def measure(self, addr: str, n: int = 9) -> float:
        return delay_proxy.measure_rtt(addr, self.ports[addr], n=n)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _readline_timeout(proc: subprocess.Popen, timeout: float) -> Optional[str]:
    box: List[str] = []
    t = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return box[0].strip() if box else None


def measured_rtts(proxies: Proxies, addr: str, target_port: int) -> Dict[str, float]:
    """Base SSH round trip straight to the sshd, through the proxy, and the difference."""
    base = delay_proxy.measure_rtt(addr, target_port, n=9)
    via = proxies.measure(addr)
    return {'base_ms': round(base, 2), 'via_proxy_ms': round(via, 2), 'added_ms': round(via - base, 2)}


# --------------------------------------------------------------------------- one measured run

_RECAP_RE = re.compile(r'^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)'
                       r'\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)', re.M)


def parse_recap(text: str) -> Dict[str, Dict[str, int]]:
    keys = ('ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored')
    return {m.group(1): dict(zip(keys, map(int, m.groups()[1:]))) for m in _RECAP_RE.finditer(text)}


def task_statuses(text: str) -> List[Tuple[str, str]]:
    """[(task name, status)] per host result line of the default callback's output."""
    out: List[Tuple[str, str]] = []
    task = ''
    for line in text.splitlines():
        m = re.match(r'^TASK \[(.*)\] \*+$', line)
        if m:
            task = m.group(1)
            continue
        m = re.match(r'^(ok|changed|skipping|fatal|failed): \[', line)
        if m:
            out.append((task, m.group(1)))
    return out


def error_excerpt(text: str, limit: int = 2500) -> str:
    """The informative part of a failed run's output: fatal/ERROR lines and what follows."""
    lines = text.splitlines()
    keep: List[str] = []
    for i, line in enumerate(lines):
        if line.startswith(('fatal:', 'ERROR!', '[ERROR]', 'failed:')) or 'Traceback' in line \
                or line.startswith('An exception occurred'):
            keep.extend(lines[i:i + 12])
            if sum(len(k) for k in keep) > limit:
                break
    if not keep:
        keep = lines[-30:]
    return '\n'.join(keep)[:limit]


def run_playbook(cmd: Sequence[str], env: Dict[str, str], cwd: Path, timeout: float, log_path: Path,
                 state_dir: str, proxies: Optional[Proxies], expect_hosts: Sequence[str],
                 exclude_pids: Sequence[int] = ()) -> Dict[str, object]:
    """Run ansible-playbook once and measure it (see module docstring)."""
    env = dict(env)
    ctl_dir = tempfile.mkdtemp(prefix='cp-', dir='/tmp')        # short: ControlPath has a length limit
    env['ANSIBLE_SSH_CONTROL_PATH_DIR'] = ctl_dir
    # The target side (our sshd and its sessions) and the proxies are not the controller.
    sshd = sshd_target.running_pid(state_dir)
    exclude = list(exclude_pids) + (proxies.pids if proxies else []) + ([sshd] if sshd else [])
    # Nothing of ours may be alive before we start (a previous run's leftovers were reaped).
    stray, dummy, dummy, dummy = reap_leftovers(exclude)
    ru_children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    before = proxies.stats() if proxies else {}
    mark = sshd_target.mark(state_dir)
    sampler = TreeSampler(exclude)
    timed_out = threading.Event()
    with open(log_path, 'wb') as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=env, cwd=str(cwd), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        sampler.root = proc.pid
        sampler.start()

        def on_timeout() -> None:
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        timer = threading.Timer(timeout, on_timeout)
        timer.start()
        dummy, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    # A detached process that ends with ansible-playbook (the double-forked
    # multiplexer polls it) is given time to end on its own; only what keeps
    # running (stock's ControlPersist masters, anything leaked) is killed.
    settle = settle_after_exit(exclude, ctl_dir)
    sampler.stop()
    leftovers, left_cpu, left_maxrss, orphans = reap_leftovers(exclude)
    ru_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proxies:
        time.sleep(proxies.rtt_ms / 1000.0 + 0.15)   # let in-flight bytes land
        after = proxies.stats()
    else:
        after = {}
    conns = sshd_target.connections(state_dir, mark)
    sess = sshd_target.sessions(state_dir, mark)
    shutil.rmtree(ctl_dir, ignore_errors=True)
    text = log_path.read_text(errors='replace')
    recap = parse_recap(text)
    problems = []
    if timed_out.is_set():
        problems.append('timed out after %ss' % timeout)
    elif proc.returncode != 0:
        problems.append('ansible-playbook exit status %d' % proc.returncode)
    for host in expect_hosts:
        r = recap.get(host)
        if r is None:
            problems.append('%s missing from PLAY RECAP' % host)
        elif r['failed'] or r['unreachable']:
            problems.append('%s: failed=%d unreachable=%d' % (host, r['failed'], r['unreachable']))
    up = sum(after[a]['up'] - before[a]['up'] for a in after)
    down = sum(after[a]['down'] - before[a]['down'] for a in after)
    pconns = sum(after[a]['connections'] - before[a]['connections'] for a in after)
    active = sum(after[a]['active'] for a in after)
    cpu = _rusage_cpu(ru) + left_cpu
    result: Dict[str, object] = {
        'ok': not problems,
        'wall_s': round(wall, 3),
        'cpu_s': round(cpu, 3),
        'cpu_user_s': round(ru.ru_utime, 3),
        'cpu_sys_s': round(ru.ru_stime, 3),
        'cpu_leftovers_s': round(left_cpu, 3),
        'cpu_seen_lower_bound_s': round(sampler.cpu_seen, 3),
        # Independent cross-check: everything this process reaped during the run.
        'cpu_rusage_children_s': round(_rusage_cpu(ru_children) - _rusage_cpu(ru_children0), 3),
        'settle_s': round(settle, 3),
        'orphans_seen': [{'pid': pid, 'cmdline': c, 'peak_pss_kib': k} for pid, (c, k) in sampler.orphans.items()],
        'peak_pss_kib': sampler.peak_pss_kib,
        'peak_rss_sum_kib': sampler.peak_rss_kib,
        'ru_maxrss_kib': max(ru.ru_maxrss, left_maxrss),
        'peak_procs': sampler.peak_procs,
        'bytes_up': up,
        'bytes_down': down,
        'proxy_connections': pconns,
        'proxy_active_after': active,
        'ssh_connections': conns,
        'ssh_sessions': sess,
        'leftover_processes': leftovers,
        'orphans_reaped': orphans,
        'loadavg_1m_before': round(load, 2),
        'stray_before': stray,
        'recap': recap,
        'log': str(log_path),
    }
    if problems:
        result['error'] = '; '.join(problems)
        result['error_output'] = error_excerpt(text)
    return result
