#!/usr/bin/env python
# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark velocity.mitogen against stock ansible-core (and, optionally, upstream Mitogen).

``make bench`` runs ``bench/run.py`` (a quick subset: hostname-100, gather-facts,
become-30 and floor-100 at RTT 0 and 10 ms, 1 repetition, < 10 minutes on an idle 2-CPU machine);
``make bench FULL=1`` runs ``bench/run.py --full`` (every workload at RTT 0/10/50 ms,
3 repetitions). Results: ``bench/results/latest.{md,jsonl,png}``; per-run
ansible logs under ``bench/results/raw/<stamp>/`` (git-ignored).

Target: a private sshd on loopback (tests/harness/sshd_target.py, own state dir
and port), reached through one delay proxy per target address
(tools/delay_proxy.py, RTT/2 added each way; at RTT 0 it only forwards and
counts bytes). Modes are interleaved (A B C A B C ...) per workload; medians,
minima and maxima are reported. Goals are fixed in GOALS below and reported as
PASS/MISS as measured, never tuned.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from benchlib import BENCH, ROOT, STOCK, VELOCITY, BenchError, devenv, log  # noqa: E402

CACHE = ROOT / '.cache' / 'bench'
RESULTS = BENCH / 'results'
WORK = Path('/tmp/velocity-bench')
STATE_DIR = '/tmp/velocity-bench-sshd'
PORT = 2223
HOSTS = 11                      # 127.0.0.1 (single-host workloads) + 127.0.0.2..11 (multi-host)
UPSTREAM_MITOGEN = '0.3.54'
SINGLE = ['target']
CONN_ONLY = 'velocity.mitogen.ssh'
CONN_ONLY_GOAL = 1.10           # connection-only mode: per-task time within 10 % of strategy mode
MULTI = ['target%d' % i for i in range(2, 12)]


class Workload:
    def __init__(self, name: str, units: int, unit: str, hosts: List[str], timeout: float,
                 per_unit_rtts: float, what: str) -> None:
        self.name = name
        self.playbook = BENCH / (name + '.yml')
        self.units = units              # module executions the per-task figure divides by
        self.unit = unit
        self.hosts = hosts
        self.timeout = timeout          # seconds at RTT 0 ...
        self.per_unit_rtts = per_unit_rtts   # ... plus this many RTTs per unit
        self.what = what

    def timeout_at(self, rtt_ms: float) -> float:
        return self.timeout + self.units * self.per_unit_rtts * rtt_ms / 1000.0


WORKLOADS = [
    Workload('hostname-100', 100, 'task', SINGLE, 300, 30, '100 separate `command: hostname` tasks'),
    Workload('loop-100', 100, 'item', SINGLE, 300, 30, 'one `command` task looping over 100 items'),
    Workload('files-100-20', 122, 'task/item', SINGLE, 400, 40,
             '2 file tasks, 100 small files by a `copy` loop, 20 `template` tasks'),
    Workload('gather-facts', 1, 'play', SINGLE, 120, 100, '`gather_facts: true`, no tasks'),
    Workload('multihost-20x10', 20, 'task', MULTI, 400, 30, '20 `command` tasks on 10 hosts, forks=10'),
    Workload('become-30', 30, 'task', SINGLE, 300, 30, '30 `command: id -u` tasks with `become: true` (sudo)'),
    Workload('copy-32m', 3, 'task', SINGLE, 300, 200, 'clean dir + one 32 MiB `copy`'),
    Workload('copy-320m', 3, 'task', SINGLE, 900, 500, 'clean dir + one 320 MiB `copy`'),
    Workload('floor-100', 100, 'task', SINGLE, 200, 0, '100 `debug` tasks (never touch the target)'),
]
WL = {w.name: w for w in WORKLOADS}
QUICK_WORKLOADS = ['hostname-100', 'floor-100', 'become-30', 'gather-facts']

MODES = {
    'stock': 'stock linear, ssh, pipelining off (ansible default)',
    'stock-pipe': 'stock linear, ssh, ANSIBLE_PIPELINING=1',
    'velocity': 'velocity.mitogen.linear (strategy mode)',
    'velocity-conn': 'ansible.builtin.linear with ANSIBLE_TRANSPORT=velocity.mitogen.ssh (connection-only mode)',
    'upstream': 'upstream mitogen %s mitogen_linear (separate venv, comparison only)' % UPSTREAM_MITOGEN,
}


# --------------------------------------------------------------------------- set-up

def ensure_upstream_venv(line: devenv.Line, ansible_version: str) -> Tuple[Optional[Path], str]:
    """A venv with the same ansible-core plus upstream mitogen; (venv, note)."""
    choice = devenv.pick_python(line)
    if choice is None:
        return None, 'no Python for ansible-core %s' % line.name
    dummy, python = choice
    venv = CACHE / ('upstream-%s' % ansible_version)
    wheel = ROOT / '.cache' / 'wheels' / ('mitogen-%s-py2.py3-none-any.whl' % UPSTREAM_MITOGEN)
    mitogen = str(wheel) if wheel.is_file() else 'mitogen==%s' % UPSTREAM_MITOGEN
    stamp_text = json.dumps([python, ansible_version, UPSTREAM_MITOGEN])
    stamp = venv / '.bench-stamp'
    if not (stamp.is_file() and stamp.read_text() == stamp_text):
        log('creating upstream mitogen venv %s' % venv)
        shutil.rmtree(venv, ignore_errors=True)
        try:
            devenv.run([python, '-m', 'venv', venv], timeout=300, capture=True)
            devenv.run([venv / 'bin' / 'python', '-m', 'pip', '--disable-pip-version-check', 'install', '-q',
                        'ansible-core==%s' % ansible_version, mitogen], timeout=900, capture=True,
                       what='pip install upstream mitogen')
        except devenv.DevenvError as exc:
            shutil.rmtree(venv, ignore_errors=True)
            return None, 'cannot create upstream venv: %s' % exc
        stamp.write_text(stamp_text)
    found = glob.glob(str(venv / 'lib' / 'python*' / 'site-packages' / 'ansible_mitogen' / 'plugins' / 'strategy'))
    if not found:
        return None, 'ansible_mitogen strategy dir not found in %s' % venv
    return venv, ''


def ensure_plot_venv() -> Tuple[Optional[Path], str]:
    venv = CACHE / 'plot-venv'
    py = venv / 'bin' / 'python'
    if py.exists() and subprocess.run([py, '-c', 'import matplotlib'], capture_output=True,
                                      timeout=120, check=False).returncode == 0:
        return venv, ''
    log('creating plot venv %s (matplotlib)' % venv)
    shutil.rmtree(venv, ignore_errors=True)
    try:
        devenv.run([sys.executable, '-m', 'venv', venv], timeout=300, capture=True)
        devenv.run([py, '-m', 'pip', '--disable-pip-version-check', 'install', '-q', 'matplotlib'],
                   timeout=900, capture=True, what='pip install matplotlib')
    except devenv.DevenvError as exc:
        shutil.rmtree(venv, ignore_errors=True)
        return None, str(exc)
    return venv, ''


def make_data(workloads: List[Workload]) -> Path:
    data = WORK / 'data'
    small = data / 'small'
    small.mkdir(parents=True, exist_ok=True)
    for i in range(100):
        p = small / ('f%03d.txt' % i)
        if not p.exists():
            p.write_text(''.join('file %03d line %02d: the quick brown fox jumps over the lazy dog\n' % (i, j)
                                 for j in range(16)))
    for w in workloads:
        if w.name.startswith('copy-'):
            size = int(w.name[5:-1]) << 20
            p = data / ('blob-%s' % w.name[5:])
            if not p.exists() or p.stat().st_size != size:
                log('writing %s (%d MiB of random bytes)' % (p, size >> 20))
                with open(p, 'wb') as f:
                    for dummy in range(size >> 20):
                        f.write(os.urandom(1 << 20))
    return data


def module_time(venv: Path) -> Dict[str, float]:
    out = subprocess.run([venv / 'bin' / 'python', BENCH / 'module_time.py', '30'], capture_output=True,
                         text=True, timeout=120, cwd=str(WORK), check=False)
    if out.returncode != 0:
        raise BenchError('module time probe failed:\n%s' % out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def mode_command(mode: str, ctx: Dict, playbook: Path, inventory: Path) -> Tuple[List[str], Dict[str, str]]:
    venv = ctx['upstream_venv'] if mode == 'upstream' else ctx['venv']
    env = benchlib.base_env(venv, WORK)
    env['ANSIBLE_COLLECTIONS_PATH'] = str(WORK / 'no-collections')
    env['ANSIBLE_PIPELINING'] = '1' if mode == 'stock-pipe' else '0'
    if mode in ('stock', 'stock-pipe'):
        env['ANSIBLE_STRATEGY'] = STOCK
    elif mode == 'velocity':
        env['ANSIBLE_STRATEGY'] = VELOCITY
        env['ANSIBLE_COLLECTIONS_PATH'] = str(ctx['collections'])
    elif mode == 'velocity-conn':
        # Connection-only mode: ansible-core's own strategy, only the connection is ours
        # (the inventory sets no ansible_connection, so the transport applies to every host).
        env['ANSIBLE_STRATEGY'] = STOCK
        env['ANSIBLE_TRANSPORT'] = CONN_ONLY
        env['ANSIBLE_COLLECTIONS_PATH'] = str(ctx['collections'])
    elif mode == 'upstream':
        env['ANSIBLE_STRATEGY'] = 'mitogen_linear'
        env['ANSIBLE_STRATEGY_PLUGINS'] = glob.glob(str(
            venv / 'lib' / 'python*' / 'site-packages' / 'ansible_mitogen' / 'plugins' / 'strategy'))[0]
    cmd = [str(venv / 'bin' / 'ansible-playbook'), '-i', str(inventory), '-f', '10',
           '-e', 'bench_data=%s' % (WORK / 'data'), str(playbook)]
    return cmd, env


# --------------------------------------------------------------------------- statistics + report

def stats(values: List[float]) -> Dict[str, float]:
    return {'median': statistics.median(values), 'min': min(values), 'max': max(values)}


def aggregate(runs: List[Dict]) -> Dict[Tuple[str, float, str], Dict]:
    groups: Dict[Tuple[str, float, str], List[Dict]] = {}
    for r in runs:
        groups.setdefault((r['workload'], r['rtt_ms'], r['mode']), []).append(r)
    agg = {}
    for key, rs in groups.items():
        ok = [r for r in rs if r['ok']]
        a: Dict = {'n': len(rs), 'n_ok': len(ok), 'errors': [r.get('error', '') for r in rs if not r['ok']]}
        if ok:
            for field in ('wall_s', 'cpu_s', 'bytes_up', 'bytes_down', 'ssh_connections', 'ssh_sessions',
                          'peak_pss_kib', 'peak_rss_sum_kib', 'ru_maxrss_kib', 'cpu_seen_lower_bound_s'):
                a[field] = stats([float(r[field]) for r in ok])
            a['per_unit_s'] = a['wall_s']['median'] / WL[key[0]].units
            a['leftovers'] = sum(len(r['leftover_processes']) for r in ok)
            for field in ('settle_s', 'cpu_rusage_children_s'):
                if all(field in r for r in ok):
                    a[field] = stats([float(r[field]) for r in ok])
            if all('orphans_seen' in r for r in ok):
                a['mux_pss_kib'] = stats([float(mux_pss_kib(r)) for r in ok])
        agg[key] = a
    return agg


def mux_pss_kib(run: Dict) -> int:
    """Peak PSS of the multiplexer(s) of a run: processes re-parented to the bench whose
    command line is ansible-playbook's (the multiplexer is forked, not executed)."""
    return sum(o['peak_pss_kib'] for o in run.get('orphans_seen', []) if 'ansible-playbook' in o['cmdline'])


def fmt_s(x: float) -> str:
    return '%.2f' % x if x >= 0.995 else '%.3f' % x


def fmt_kib(b: float) -> str:
    kib = b / 1024.0
    if kib >= 10240:
        return '%.1f MiB' % (kib / 1024.0)
    return '%.0f KiB' % kib if kib >= 10 else '%.1f KiB' % kib


def ratio(agg, w, rtt, num_mode, den_mode, field='wall_s') -> Optional[float]:
    a, b = agg.get((w, rtt, num_mode)), agg.get((w, rtt, den_mode))
    if not a or not b or field not in a or field not in b or not b[field]['median']:
        return None
    return a[field]['median'] / b[field]['median']


def fmt_ratio(x: Optional[float]) -> str:
    return '—' if x is None else '%.2f×' % x


def evaluate_goals(agg, rtts: List[float], rtt_info: Dict[float, Dict], module_ms: float,
                   modes: List[str], workloads: List[str]) -> List[Tuple[str, str, str]]:
    """[(goal, verdict, evidence)] with verdict PASS / MISS / n/a (not measured) / FAIL (run failed)."""
    goals: List[Tuple[str, str, str]] = []

    def verdict(ok_list: List[bool]) -> str:
        return 'PASS' if ok_list and all(ok_list) else 'MISS'

    def failed(w: str, rtt: float, mode: str) -> bool:
        a = agg.get((w, rtt, mode))
        return a is not None and a['n_ok'] == 0

    # 1. hostname-100 per task <= 1.3 x (floor + RTT + module time), every RTT.
    name = 'hostname-100: time per task ≤ 1.3 × (floor + RTT + module time) at every RTT'
    oks, ev = [], []
    for rtt in rtts:
        v, f = agg.get(('hostname-100', rtt, 'velocity')), agg.get(('floor-100', rtt, 'stock'))
        if failed('hostname-100', rtt, 'velocity'):
            oks.append(False)
            ev.append('RTT %g: velocity run failed' % rtt)
            continue
        if not v or not f or 'wall_s' not in v or 'wall_s' not in f:
            continue
        budget = f['wall_s']['median'] / 100 + rtt_info[rtt]['via_proxy_ms'] / 1000 + module_ms / 1000
        per = v['per_unit_s']
        oks.append(per <= 1.3 * budget)
        ev.append('RTT %g: %.1f ms vs 1.3 × %.1f = %.1f ms' % (rtt, per * 1e3, budget * 1e3, 1.3 * budget * 1e3))
    goals.append((name, verdict(oks) if ev else 'n/a', '; '.join(ev) or 'needs hostname-100 and floor-100'))

    # 2. speed-ups at RTT 10.
    for other, need in (('stock-pipe', 5.0), ('stock', 10.0)):
        name = 'hostname-100 at RTT 10: ≥ %g× faster than %s' % (need, MODES[other])
        if 10.0 not in rtts or other not in modes:
            goals.append((name, 'n/a', 'RTT 10 / mode not run'))
        elif failed('hostname-100', 10.0, 'velocity'):
            goals.append((name, 'MISS', 'velocity run failed'))
        else:
            r = ratio(agg, 'hostname-100', 10.0, other, 'velocity')
            goals.append((name, 'n/a' if r is None else ('PASS' if r >= need else 'MISS'), fmt_ratio(r)))

    # 3. controller CPU <= 0.3 x stock without pipelining.
    name = 'hostname-100: controller CPU ≤ 0.3 × stock (pipelining off), every RTT'
    oks, ev = [], []
    for rtt in rtts:
        r = ratio(agg, 'hostname-100', rtt, 'velocity', 'stock', 'cpu_s')
        if r is not None:
            oks.append(r <= 0.3)
            ev.append('RTT %g: %.2f×' % (rtt, r))
        elif failed('hostname-100', rtt, 'velocity'):
            oks.append(False)
            ev.append('RTT %g: velocity run failed' % rtt)
    goals.append((name, verdict(oks) if ev else 'n/a', '; '.join(ev)))

    # 4. bytes sent to the target.
    name = 'hostname-100: ≤ 250 KiB sent to the target for the whole play'
    oks, ev = [], []
    for rtt in rtts:
        v = agg.get(('hostname-100', rtt, 'velocity'))
        if v and 'bytes_up' in v:
            oks.append(v['bytes_up']['max'] <= 250 * 1024)
            ev.append('RTT %g: %s (max)' % (rtt, fmt_kib(v['bytes_up']['max'])))
        elif failed('hostname-100', rtt, 'velocity'):
            oks.append(False)
            ev.append('RTT %g: velocity run failed' % rtt)
    goals.append((name, verdict(oks) if ev else 'n/a', '; '.join(ev)))

    # 5. one connection and one session per target, every workload touching targets.
    name = 'exactly 1 SSH connection and 1 session per target (every velocity and velocity-conn run)'
    oks, ev = [], []
    for (w, rtt, mode), a in sorted(agg.items()):
        if mode not in ('velocity', 'velocity-conn') or w == 'floor-100':
            continue
        tag = '' if mode == 'velocity' else ' (conn-only)'
        if a['n_ok'] == 0:
            oks.append(False)
            ev.append('%s@%g%s: failed' % (w, rtt, tag))
            continue
        nh = len(WL[w].hosts)
        good = (a['ssh_connections']['min'] == a['ssh_connections']['max'] == nh
                and a['ssh_sessions']['min'] == a['ssh_sessions']['max'] == nh)
        oks.append(good)
        if not good:
            ev.append('%s@%g%s: %g–%g connections, %g–%g sessions for %d host(s)' % (
                w, rtt, tag, a['ssh_connections']['min'], a['ssh_connections']['max'],
                a['ssh_sessions']['min'], a['ssh_sessions']['max'], nh))
    goals.append((name, verdict(oks) if oks else 'n/a', '; '.join(ev) or ('all %d groups exact' % len(oks))))

    # 6. gather_facts no slower than stock (the faster stock mode).
    name = 'gather-facts: no slower than stock (either stock mode), every RTT'
    oks, ev = [], []
    for rtt in rtts:
        v = agg.get(('gather-facts', rtt, 'velocity'))
        stocks = [agg.get(('gather-facts', rtt, m)) for m in ('stock', 'stock-pipe')]
        stocks = [s['wall_s']['median'] for s in stocks if s and 'wall_s' in s]
        if failed('gather-facts', rtt, 'velocity'):
            oks.append(False)
            ev.append('RTT %g: velocity run failed' % rtt)
        elif v and 'wall_s' in v and stocks:
            oks.append(v['wall_s']['median'] <= min(stocks))
            ev.append('RTT %g: %s s vs %s s' % (rtt, fmt_s(v['wall_s']['median']), fmt_s(min(stocks))))
    goals.append((name, verdict(oks) if ev else 'n/a', '; '.join(ev)))

    # 7. become >= 3.5 x stock with pipelining.
    name = 'become-30: ≥ 3.5× faster than stock with pipelining, every RTT'
    oks, ev = [], []
    for rtt in rtts:
        r = ratio(agg, 'become-30', rtt, 'stock-pipe', 'velocity')
        if r is not None:
            oks.append(r >= 3.5)
            ev.append('RTT %g: %s' % (rtt, fmt_ratio(r)))
        elif failed('become-30', rtt, 'velocity'):
            oks.append(False)
            ev.append('RTT %g: velocity run failed' % rtt)
    goals.append((name, verdict(oks) if ev else 'n/a', '; '.join(ev)))

    # 8. vs upstream.
    name = 'vs upstream mitogen %s: ≥ 1.2× faster on every workload' % UPSTREAM_MITOGEN
    if 'upstream' not in modes:
        goals.append((name, 'n/a', 'upstream not run'))
    else:
        oks, ev = [], []
        for w in workloads:
            if w == 'floor-100':
                continue
            for rtt in rtts:
                r = ratio(agg, w, rtt, 'upstream', 'velocity')
                if r is not None:
                    oks.append(r >= 1.2)
                    if r < 1.2:
                        ev.append('%s@%g: %.3f×' % (w, rtt, r))
                elif failed(w, rtt, 'velocity'):
                    oks.append(False)
                    ev.append('%s@%g: velocity failed' % (w, rtt))
        goals.append((name, verdict(oks) if oks else 'n/a',
                      '; '.join(ev) or ('all %d comparisons ≥ 1.2×' % len(oks)) if oks else 'no upstream results'))

    # 9. connection-only mode costs about what strategy mode costs.
    name = ('connection-only mode (velocity-conn): time per task ≤ %.2f × strategy mode (velocity), '
            'every workload and RTT' % CONN_ONLY_GOAL)
    if 'velocity-conn' not in modes or 'velocity' not in modes:
        goals.append((name, 'n/a', 'velocity-conn and velocity not both run'))
    else:
        oks, ev = [], []
        for w in workloads:
            if w == 'floor-100':
                continue
            for rtt in rtts:
                if failed(w, rtt, 'velocity-conn'):
                    oks.append(False)
                    ev.append('%s@%g: velocity-conn failed' % (w, rtt))
                    continue
                r = ratio(agg, w, rtt, 'velocity-conn', 'velocity')
                if r is not None:
                    oks.append(r <= CONN_ONLY_GOAL)
                    ev.append('%s@%g: %.3f×' % (w, rtt, r))
        goals.append((name, verdict(oks) if oks else 'n/a', '; '.join(ev) or 'no results'))
    return goals


def write_conn_section(L: List[str], agg, workloads: List[str], rtts: List[float]) -> None:
    """Connection-only mode (velocity-conn) against strategy mode (velocity), same run."""
    L.append('## Connection-only mode against strategy mode')
    L.append('')
    L.append('Medians. Per unit = wall ÷ units (task, item or play, see the workloads). CPU includes the '
             'multiplexer and its ssh (re-parented to the bench, which is a child subreaper, and reaped by it). '
             'Multiplexer PSS = peak PSS of the re-parented process with ansible-playbook\'s command line; tree PSS '
             '= peak of the whole controller tree (it includes the multiplexer). Settle = seconds the multiplexer '
             'took to end after ansible-playbook had exited (not in wall; strategy mode stops it at exit, '
             'inside wall).')
    L.append('')
    L.append('| workload | RTT | strategy per unit | conn-only per unit | difference | conn-only ÷ strategy | '
             'CPU s strategy / conn-only | multiplexer PSS strategy / conn-only | tree PSS strategy / conn-only | '
             'conns / sessions strategy / conn-only | settle s strategy / conn-only |')
    L.append('|---|---|---|---|---|---|---|---|---|---|---|')

    def med(a: Dict, field: str, fmt: str, scale: float = 1.0) -> str:
        return fmt % (a[field]['median'] * scale) if field in a else '—'

    for w in workloads:
        for rtt in rtts:
            v, c = agg.get((w, rtt, 'velocity')), agg.get((w, rtt, 'velocity-conn'))
            if not v or not c:
                continue
            if not v['n_ok'] or not c['n_ok']:
                L.append('| %s | %g ms | %s | %s | | | | | | | |' % (
                    w, rtt, 'failed' if not v['n_ok'] else '%.1f ms' % (v['per_unit_s'] * 1e3),
                    'failed' if not c['n_ok'] else '%.1f ms' % (c['per_unit_s'] * 1e3)))
                continue
            r = ratio(agg, w, rtt, 'velocity-conn', 'velocity')
            L.append('| %s | %g ms | %.1f ms | %.1f ms | %+.1f ms | %s%s | %s / %s | %s / %s | %s / %s | '
                     '%g / %g, %g / %g | %s / %s |' % (
                         w, rtt, v['per_unit_s'] * 1e3, c['per_unit_s'] * 1e3,
                         (c['per_unit_s'] - v['per_unit_s']) * 1e3, fmt_ratio(r),
                         '' if r is None or r <= CONN_ONLY_GOAL else ' (over %.2f×)' % CONN_ONLY_GOAL,
                         fmt_s(v['cpu_s']['median']), fmt_s(c['cpu_s']['median']),
                         med(v, 'mux_pss_kib', '%.0f MiB', 1 / 1024.0), med(c, 'mux_pss_kib', '%.0f MiB', 1 / 1024.0),
                         med(v, 'peak_pss_kib', '%.0f MiB', 1 / 1024.0), med(c, 'peak_pss_kib', '%.0f MiB', 1 / 1024.0),
                         v['ssh_connections']['median'], c['ssh_connections']['median'],
                         v['ssh_sessions']['median'], c['ssh_sessions']['median'],
                         med(v, 'settle_s', '%.2f'), med(c, 'settle_s', '%.2f')))
    L.append('')


def write_report(path: Path, meta: Dict, runs: List[Dict], agg, goals, rtt_info, modes: List[str],
                 workloads: List[str], rtts: List[float]) -> None:
    L: List[str] = []
    L.append('# velocity.mitogen benchmark (%s)' % meta['kind'])
    L.append('')
    L.append('%s · ansible-core %s (Python %s) · collection from %s · %s, %d CPUs · %d repetition(s), '
             'modes interleaved · `%s`' % (
                 meta['date'], meta['ansible'], meta['python'], meta['commit'], meta['machine'],
                 meta['cpus'], meta['reps'], meta['command']))
    L.append('')
    loads = [r['loadavg_1m_before'] for r in runs if 'loadavg_1m_before' in r]
    if loads:
        L.append('1-minute load average before each run: %.2f–%.2f on %d CPUs%s' % (
            min(loads), max(loads), meta['cpus'],
            ' — **other work was running on this machine; expect noisy timings**'
            if max(loads) > 0.75 * meta['cpus'] else '.'))
        L.append('')
    L.append('Target: private loopback sshd (port %d) behind one delay proxy per target address. '
             'Measured SSH round trip (client banner → server KEXINIT), median of 9:' % PORT)
    L.append('')
    L.append('| nominal RTT | direct to sshd | through proxy | added by proxy |')
    L.append('|---|---|---|---|')
    for rtt in rtts:
        i = rtt_info[rtt]
        L.append('| %g ms | %.2f ms | %.2f ms | %.2f ms |' % (rtt, i['base_ms'], i['via_proxy_ms'], i['added_ms']))
    L.append('')
    L.append('## Speed-up of velocity.mitogen (ratios of medians, same run)')
    L.append('')
    others = [m for m in modes if m not in ('velocity', 'velocity-conn')]
    conn = 'velocity-conn' in modes
    L.append('"velocity" is strategy mode; "conn-only ÷ strategy" is connection-only mode\'s time per task '
             '(velocity-conn) relative to strategy mode\'s (above 1: connection-only mode is slower).')
    L.append('')
    L.append('| workload | RTT | ' + ' | '.join('%s ÷ velocity' % m for m in others) +
             ' | velocity CPU ÷ stock CPU |' + (' conn-only ÷ strategy |' if conn else ''))
    L.append('|---|---|' + '---|' * len(others) + '---|' + ('---|' if conn else ''))
    for w in workloads:
        for rtt in rtts:
            v = agg.get((w, rtt, 'velocity'))
            if v is None:
                continue
            c = agg.get((w, rtt, 'velocity-conn'))
            conn_cell = (' %s |' % ('failed' if c and c['n_ok'] == 0 else
                                    fmt_ratio(ratio(agg, w, rtt, 'velocity-conn', 'velocity')))) if conn else ''
            if v['n_ok'] == 0:
                L.append('| %s | %g ms | ' % (w, rtt) + ' | '.join('**velocity FAILED**' for dummy in others) +
                         ' | — |' + (' — |' if conn else ''))
                continue
            cells = []
            for m in others:
                a = agg.get((w, rtt, m))
                cells.append('failed' if a and a['n_ok'] == 0 else fmt_ratio(ratio(agg, w, rtt, m, 'velocity')))
            L.append('| %s | %g ms | %s | %s |%s' % (w, rtt, ' | '.join(cells),
                                                     fmt_ratio(ratio(agg, w, rtt, 'velocity', 'stock', 'cpu_s')),
                                                     conn_cell))
    L.append('')
    if conn and 'velocity' in modes:
        write_conn_section(L, agg, workloads, rtts)
    tally = [v for dummy, v, dummy in goals]
    L.append('## Goals (fixed in advance; reported as measured)')
    L.append('')
    L.append('Where we stand: **%d PASS, %d MISS**, %d not measured in this run.' % (
        tally.count('PASS'), tally.count('MISS'), len(tally) - tally.count('PASS') - tally.count('MISS')))
    L.append('')
    L.append('| goal | verdict | evidence |')
    L.append('|---|---|---|')
    for name, verdict, ev in goals:
        L.append('| %s | **%s** | %s |' % (name, verdict, ev))
    L.append('')
    L.append('## Time per task against the floor (hostname-100)')
    L.append('')
    L.append('floor = stock `floor-100` wall ÷ 100 (the controller\'s own per-task cost, ansible start-up '
             'amortised); RTT = measured round trip through the proxy; module = `command: hostname` in a warm '
             'interpreter (%.1f ms, bench/module_time.py).' % meta['module_ms'])
    L.append('')
    L.append('| RTT | floor | + RTT + module = budget | 1.3 × budget | ' +
             ' | '.join(modes) + ' | velocity floor (debug) |')
    L.append('|---|---|---|---|' + '---|' * len(modes) + '---|')
    for rtt in rtts:
        f = agg.get(('floor-100', rtt, 'stock'))
        if not f or 'wall_s' not in f:
            continue
        floor = f['wall_s']['median'] / 100
        budget = floor + rtt_info[rtt]['via_proxy_ms'] / 1000 + meta['module_ms'] / 1000
        cells = []
        for m in modes:
            a = agg.get(('hostname-100', rtt, m))
            cells.append('%.1f ms' % (a['per_unit_s'] * 1e3) if a and 'per_unit_s' in a else
                         ('failed' if a else '—'))
        vf = agg.get(('floor-100', rtt, 'velocity'))
        L.append('| %g ms | %.1f ms | %.1f ms | %.1f ms | %s | %s |' % (
            rtt, floor * 1e3, budget * 1e3, 1.3 * budget * 1e3, ' | '.join(cells),
            '%.1f ms' % (vf['per_unit_s'] * 1e3) if vf and 'per_unit_s' in vf else '—'))
    if len(rtts) >= 2 and max(rtts) - min(rtts) >= 40:    # too noisy over a smaller span
        lo, hi = min(rtts), max(rtts)
        dx = (rtt_info[hi]['via_proxy_ms'] - rtt_info[lo]['via_proxy_ms']) / 1000
        cells = []
        for m in modes:
            a, b = agg.get(('hostname-100', lo, m)), agg.get(('hostname-100', hi, m))
            if a and b and 'per_unit_s' in a and 'per_unit_s' in b and dx > 0:
                cells.append('%.1f' % ((b['per_unit_s'] - a['per_unit_s']) / dx))
            else:
                cells.append('—')
        L.append('| round trips per task (slope %g→%g ms) | | | | %s | |' % (lo, hi, ' | '.join(cells)))
    L.append('')
    L.append('## All results')
    L.append('')
    L.append('Wall and CPU: median (min–max) over the successful repetitions. CPU = user+sys of '
             'ansible-playbook and every descendant (wait4 rusage of ansible-playbook, plus that of every process '
             're-parented to the bench — the multiplexer and its ssh — and of any process left alive after the run, '
             'killed and reaped). Memory = peak of the summed PSS of the controller process tree, sampled '
             'every 0.1 s. Bytes = through the proxies (up = to the target). Connections/sessions = '
             'from the sshd log.')
    L.append('')
    L.append('| workload | RTT | mode | ok | wall s | per unit | CPU s | up | down | conns | sessions | peak PSS |')
    L.append('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for w in workloads:
        for rtt in rtts:
            for m in modes:
                a = agg.get((w, rtt, m))
                if a is None:
                    continue
                if a['n_ok'] == 0:
                    L.append('| %s | %g | %s | 0/%d | **FAILED** | | | | | | | |' % (w, rtt, m, a['n']))
                    continue
                ws, cs = a['wall_s'], a['cpu_s']
                row = '| %s | %g | %s | %d/%d | %s (%s–%s) | %.1f ms | %s (%s–%s) | %s | %s | %g | %g | %.0f MiB |'
                L.append(row % (
                    w, rtt, m, a['n_ok'], a['n'], fmt_s(ws['median']), fmt_s(ws['min']), fmt_s(ws['max']),
                    a['per_unit_s'] * 1e3, fmt_s(cs['median']), fmt_s(cs['min']), fmt_s(cs['max']),
                    fmt_kib(a['bytes_up']['median']), fmt_kib(a['bytes_down']['median']),
                    a['ssh_connections']['median'], a['ssh_sessions']['median'],
                    a['peak_pss_kib']['median'] / 1024))
    L.append('')
    L.append('Workloads: ' + '; '.join('**%s**: %s' % (w, WL[w].what) for w in workloads) + '.')
    L.append('')
    L.append('Modes: ' + '; '.join('**%s**: %s' % (m, MODES[m]) for m in modes) + '.')
    L.append('')
    fails = [r for r in runs if not r['ok']]
    notes = meta.get('notes', [])
    if fails or notes:
        L.append('## Failures and notes')
        L.append('')
        for n in notes:
            L.append('- %s' % n)
        for r in fails:
            L.append('- **%s / %s / RTT %g / rep %d**: %s (log `%s`)' % (
                r['workload'], r['mode'], r['rtt_ms'], r['rep'], r.get('error'), r.get('log')))
            if r.get('error_output'):
                L.append('')
                L.append('  ```')
                L.extend('  ' + line for line in r['error_output'].splitlines()[:25])
                L.append('  ```')
        L.append('')
    leftovers = [(r['workload'], r['mode'], r['rtt_ms'], r['leftover_processes']) for r in runs
                 if r.get('leftover_processes')]
    L.append('## Process hygiene')
    L.append('')
    by_mode: Dict[str, int] = {}
    for w, m, rtt, lst in leftovers:
        by_mode[m] = by_mode.get(m, 0) + len(lst)
    L.append('Processes still alive after ansible-playbook exited (killed and reaped by the bench; '
             'stock\'s are its ssh ControlPersist masters): ' +
             (', '.join('%s: %d' % kv for kv in sorted(by_mode.items())) or 'none') + '.')
    ex = [(w, m, rtt, lst[0]) for w, m, rtt, lst in leftovers if m in ('velocity', 'velocity-conn', 'upstream')][:5]
    for w, m, rtt, first in ex:
        L.append('- %s / %s / RTT %g: `%s`' % (w, m, rtt, first))
    L.append('')
    L.append('Exited processes re-parented to the bench (it is a child subreaper) and reaped by it, per mode, '
             'and the share of the run\'s CPU collected from them and from the killed leftovers (their rusage '
             'includes every descendant they reaped; without the subreaper, `time` or RUSAGE_CHILDREN around '
             'ansible-playbook would miss it):')
    L.append('')
    for m in modes:
        names: Dict[str, int] = {}
        shares = []
        for r in runs:
            if r['mode'] != m or not r['ok']:
                continue
            orphans = r.get('orphans_reaped') or []
            if isinstance(orphans, int):
                names['(unnamed)'] = names.get('(unnamed)', 0) + orphans
            else:
                for o in orphans:
                    n = o.rsplit(' ', 1)[0]
                    names[n] = names.get(n, 0) + 1
            if r['cpu_s']:
                shares.append(r.get('cpu_leftovers_s', 0) / r['cpu_s'])
        if shares:
            L.append('- %s: %s; median %.0f%% of CPU' % (
                m, ', '.join('%s ×%d' % kv for kv in sorted(names.items())) or 'none',
                100 * statistics.median(shares)))
    cpu_short = [r for r in runs if r['ok'] and r['cpu_seen_lower_bound_s'] > r['cpu_s'] * 1.05 + 0.05]
    L.append('')
    L.append('CPU accounting check: in %d of %d successful runs the rusage total was below the CPU '
             'sampled from /proc during the run (it must not be; a shortfall means a process escaped '
             'accounting).' % (len(cpu_short), sum(1 for r in runs if r['ok'])))
    checked = [r for r in runs if r['ok'] and 'cpu_rusage_children_s' in r]
    if checked:
        off = [r for r in checked if abs(r['cpu_rusage_children_s'] - r['cpu_s']) > 0.02 + 0.01 * r['cpu_s']]
        L.append('Second check: the bench\'s own RUSAGE_CHILDREN grew by the run\'s CPU total in %d of %d runs '
                 '(differs by more than 1 %% + 20 ms in %d).' % (len(checked) - len(off), len(checked), len(off)))
    mux_modes = [m for m in modes if any(r['mode'] == m and r['ok'] and 'orphans_seen' in r for r in runs)]
    if mux_modes:
        L.append('')
        L.append('Processes re-parented to the bench while the run was sampled (the multiplexer is double-forked: '
                 'its parent is the bench, its command line that of ansible-playbook), and how long what ended by '
                 'itself took after ansible-playbook exited (settle, not part of wall):')
        L.append('')
        for m in mux_modes:
            rs = [r for r in runs if r['mode'] == m and r['ok'] and 'orphans_seen' in r]
            mux = [mux_pss_kib(r) for r in rs]
            seen = sum(1 for r in rs if any('ansible-playbook' in o['cmdline'] for o in r['orphans_seen']))
            L.append('- %s: multiplexer seen in %d of %d runs%s; other re-parented processes seen: %d; '
                     'settle median %.2f s (max %.2f s)' % (
                         m, seen, len(rs), ', peak PSS median %.0f MiB' % (statistics.median(mux) / 1024)
                         if seen else '',
                         sum(1 for r in rs for o in r['orphans_seen'] if 'ansible-playbook' not in o['cmdline']),
                         statistics.median(r.get('settle_s', 0) for r in rs),
                         max(r.get('settle_s', 0) for r in rs)))
    L.append('')
    if meta.get('chart'):
        L.append('![seconds per task against RTT](%s)' % meta['chart'])
        L.append('')
    path.write_text('\n'.join(L) + '\n')


# --------------------------------------------------------------------------- main

def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--full', action='store_true', help='every workload, RTT 0/10/50, 3 repetitions')
    p.add_argument('--rtt', type=float, nargs='+', help='RTTs in ms (default quick: 0 10; full: 0 10 50)')
    p.add_argument('--reps', type=int, help='repetitions (default quick: 1; full: 3)')
    p.add_argument('--workloads', nargs='+', choices=[w.name for w in WORKLOADS])
    p.add_argument('--modes', nargs='+', choices=list(MODES), help='default: all (upstream if it works)')
    p.add_argument('--no-upstream', action='store_true')
    p.add_argument('--line', choices=list(devenv.LINES_BY_NAME), help='ansible-core line (default newest)')
    p.add_argument('--port', type=int, default=PORT)
    p.add_argument('--out', default=str(RESULTS), help='results directory')
    p.add_argument('--name', default='latest', help='results file stem')
    p.add_argument('--keep-target', action='store_true', help='leave the private sshd running')
    p.add_argument('--report-only', metavar='JSONL', help='only rebuild the report/chart from an earlier JSONL')
    args = p.parse_args(argv)
    if args.report_only:
        return report_only(Path(args.report_only), Path(args.out), args.name)

    rtts = args.rtt or ([0.0, 10.0, 50.0] if args.full else [0.0, 10.0])
    reps = args.reps or (3 if args.full else 1)
    wl_names = args.workloads or ([w.name for w in WORKLOADS] if args.full else QUICK_WORKLOADS)
    # Always in table order.
    wl_names = [w.name for w in WORKLOADS if w.name in wl_names]
    modes = args.modes or list(MODES)
    if args.no_upstream and 'upstream' in modes:
        modes.remove('upstream')
    out_dir = Path(args.out)
    stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
    raw = out_dir / 'raw' / stamp
    raw.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / 'no-collections').mkdir(exist_ok=True)
    notes: List[str] = []
    t_start = time.monotonic()

    if not benchlib.become_subreaper():
        notes.append('could not become a child subreaper: daemonised processes escape CPU accounting')
    try:
        log('== preparing ansible-core venv and the collection')
        ctx = benchlib.prepare_ansible(CACHE, args.line)
        log('ansible-core %s, Python %s, collection %s' % (ctx['ansible'], ctx['python'], ctx['tarball']))
        if 'upstream' in modes:
            uv, note = ensure_upstream_venv(devenv.get_line(ctx['line']), ctx['ansible'])
            if uv is None:
                modes.remove('upstream')
                notes.append('upstream mode skipped: %s' % note)
            ctx['upstream_venv'] = uv
        plot_venv, note = ensure_plot_venv()
        if plot_venv is None:
            notes.append('no chart: %s' % note)
        log('== private sshd target on port %d (%s)' % (args.port, STATE_DIR))
        target = benchlib.private_target(STATE_DIR, args.port, HOSTS)
        make_data([WL[w] for w in wl_names])
        mod = module_time(ctx['venv'])
        log('module time (command: hostname, warm interpreter): %.1f ms' % mod['median_ms'])
    except BenchError as exc:
        log('bench: set-up failed: %s' % exc)
        return 1

    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=str(ROOT), capture_output=True,
                            timeout=60, text=True, check=False).stdout.strip()
    dirty = subprocess.run(['git', 'status', '--porcelain', '--', 'plugins'], cwd=str(ROOT), capture_output=True,
                           timeout=60, text=True, check=False).stdout.strip()
    meta = {
        'kind': 'full' if args.full else 'quick', 'date': datetime.datetime.now().strftime('%Y-%m-%d %H:%M'),
        'ansible': ctx['ansible'], 'python': ctx['python'], 'line': ctx['line'],
        'commit': commit + ('+uncommitted plugins/ changes' if dirty else ''),
        'machine': '%s %s' % (platform.system(), platform.release()), 'cpus': os.cpu_count(),
        'reps': reps, 'rtts': rtts, 'workloads': wl_names, 'modes': list(modes),
        'module_ms': mod['median_ms'], 'port': args.port, 'notes': notes,
        'command': 'python3 bench/run.py' + (' ' + ' '.join(argv if argv is not None else sys.argv[1:])).rstrip(),
    }
    jsonl = raw / 'runs.jsonl'
    runs: List[Dict] = []
    rtt_info: Dict[float, Dict] = {}

    def emit(obj: Dict) -> None:
        with open(jsonl, 'a') as f:
            f.write(json.dumps(obj, sort_keys=True) + '\n')

    addresses = ['127.0.0.%d' % i for i in range(1, HOSTS + 1)]
    hostnames = ['target'] + MULTI
    try:
        for rtt in rtts:
            log('== RTT %g ms' % rtt)
            proxies = benchlib.Proxies(WORK, addresses, args.port, rtt)
            try:
                info = benchlib.measured_rtts(proxies, '127.0.0.1', args.port)
                rtt_info[rtt] = info
                log('   measured SSH round trip: direct %.2f ms, through proxy %.2f ms, added %.2f ms '
                    '(nominal %g)' % (info['base_ms'], info['via_proxy_ms'], info['added_ms'], rtt))
                emit({'kind': 'rtt', 'rtt_ms': rtt, **info})
                inv = WORK / ('inventory-rtt%g.ini' % rtt)
                benchlib.write_inventory(
                    inv, {h: (a, proxies.ports[a]) for h, a in zip(hostnames, addresses)},
                    {'bench_single': SINGLE, 'bench_multi': MULTI}, str(target['key']))
                # Warm-up / preflight per mode (not recorded): fills byte-code caches, proves the mode works.
                for mode in list(modes):
                    cmd, env = mode_command(mode, ctx, BENCH / 'preflight.yml', inv)
                    r = benchlib.run_playbook(cmd, env, WORK, 180, raw / ('preflight-%s-rtt%g.log' % (mode, rtt)),
                                              STATE_DIR, proxies, SINGLE)
                    log('   preflight %-10s %s %.2f s' % (mode, 'ok' if r['ok'] else 'FAILED: ' + r['error'],
                                                          r['wall_s']))
                    if not r['ok'] and mode == 'upstream':
                        modes.remove('upstream')
                        notes.append('upstream mode skipped: its preflight failed at RTT %g: %s\n\n```\n%s\n```'
                                     % (rtt, r['error'], r.get('error_output', '')[:1500]))
                for wname in wl_names:
                    w = WL[wname]
                    # Re-assert the target (idempotent): other harness instances on this
                    # machine share the test users and may have rewritten their keys.
                    benchlib.private_target(STATE_DIR, args.port, HOSTS)
                    for rep in range(1, reps + 1):
                        for mode in modes:
                            cmd, env = mode_command(mode, ctx, w.playbook, inv)
                            logp = raw / ('%s-%s-rtt%g-rep%d.log' % (wname, mode, rtt, rep))
                            r = benchlib.run_playbook(cmd, env, WORK, w.timeout_at(rtt), logp, STATE_DIR,
                                                      proxies, w.hosts)
                            r.update({'kind': 'run', 'workload': wname, 'mode': mode, 'rtt_ms': rtt, 'rep': rep,
                                      'units': w.units, 'hosts': len(w.hosts)})
                            runs.append(r)
                            emit(r)
                            if r['ok']:
                                log('   %-15s %-10s rep %d: %7.2f s  %6.1f ms/%s  cpu %6.2f s  up %s  '
                                    'down %s  conns %d  sessions %d  pss %.0f MiB%s' % (
                                        wname, mode, rep, r['wall_s'], r['wall_s'] / w.units * 1e3, w.unit,
                                        r['cpu_s'], fmt_kib(r['bytes_up']), fmt_kib(r['bytes_down']),
                                        r['ssh_connections'], r['ssh_sessions'], r['peak_pss_kib'] / 1024,
                                        '  leftovers %d' % len(r['leftover_processes'])
                                        if r['leftover_processes'] else ''))
                            else:
                                log('   %-15s %-10s rep %d: FAILED: %s\n%s' % (
                                    wname, mode, rep, r['error'], r.get('error_output', '')[-1500:]))
            finally:
                proxies.stop()
    except KeyboardInterrupt:
        notes.append('interrupted: partial results')
        log('interrupted; writing partial results')
    except Exception as exc:       # an environment failure: keep what was measured
        import traceback
        traceback.print_exc()
        notes.append('bench aborted by %s: %s (partial results)' % (type(exc).__name__, exc))
        log('bench aborted; writing partial results')
    finally:
        if not args.keep_target:
            try:
                benchlib.sshd_target.down(STATE_DIR)
            except benchlib.sshd_target.HarnessError as exc:
                log('could not stop the private sshd: %s' % exc)
        for d in ('/tmp/velocity-bench-blob',):
            shutil.rmtree(d, ignore_errors=True)

    meta['elapsed_s'] = round(time.monotonic() - t_start, 1)
    return finish(meta, runs, rtt_info, rtts, out_dir, args.name, plot_venv, emit)


def finish(meta: Dict, runs: List[Dict], rtt_info: Dict[float, Dict], rtts: List[float], out_dir: Path,
           name: str, plot_venv: Optional[Path], emit=None) -> int:
    """Aggregate, judge the goals, write NAME.jsonl / NAME.md / NAME.png; exit status."""
    modes, wl_names, notes = meta['modes'], meta['workloads'], meta['notes']
    agg = aggregate(runs)
    rtts_done = [r for r in rtts if r in rtt_info]
    goals = evaluate_goals(agg, rtts_done, rtt_info, meta['module_ms'], modes, wl_names)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {
        'kind': 'summary', 'meta': meta, 'rtt': {str(k): v for k, v in rtt_info.items()},
        'goals': [{'goal': g, 'verdict': v, 'evidence': e} for g, v, e in goals],
        'groups': [{'workload': k[0], 'rtt_ms': k[1], 'mode': k[2], **v} for k, v in sorted(agg.items())],
    }
    if emit:
        emit(summary)
    # NAME.jsonl: meta line, one line per run, summary line.
    with open(out_dir / ('%s.jsonl' % name), 'w') as f:
        f.write(json.dumps({'kind': 'meta', **meta}, sort_keys=True) + '\n')
        for r in runs:
            f.write(json.dumps(r, sort_keys=True) + '\n')
        f.write(json.dumps(summary, sort_keys=True) + '\n')
    chart = out_dir / ('%s.png' % name)
    meta.pop('chart', None)
    if plot_venv is not None:
        cp = subprocess.run([plot_venv / 'bin' / 'python', BENCH / 'plot.py', out_dir / ('%s.jsonl' % name),
                             chart], capture_output=True, text=True, timeout=300, check=False)
        if cp.returncode == 0:
            meta['chart'] = chart.name
        else:
            notes.append('chart failed: %s' % cp.stderr[-500:])
    write_report(out_dir / ('%s.md' % name), meta, runs, agg, goals, rtt_info, modes, wl_names, rtts_done)
    log('== done in %.0f s: %s' % (meta.get('elapsed_s', 0), out_dir / ('%s.md' % name)))
    for g, v, e in goals:
        log('   %-5s %s  [%s]' % (v, g, e))
    failed = [r for r in runs if not r['ok']]
    if failed:
        log('%d run(s) FAILED (see the report):' % len(failed))
        for r in failed:
            log('   %s / %s / RTT %g / rep %d: %s' % (r['workload'], r['mode'], r['rtt_ms'], r['rep'], r['error']))
    return 1 if any(r['mode'] in ('velocity', 'velocity-conn') for r in failed) else 0


def report_only(path: Path, out_dir: Path, name: str) -> int:
    """Rebuild the report and chart from an earlier NAME.jsonl (or a raw runs.jsonl with a summary line)."""
    meta, runs, rtt_info = None, [], {}
    for line in path.read_text().splitlines():
        obj = json.loads(line)
        if obj.get('kind') == 'run':
            runs.append(obj)
        elif obj.get('kind') == 'rtt':
            rtt_info[float(obj['rtt_ms'])] = {k: obj[k] for k in ('base_ms', 'via_proxy_ms', 'added_ms')}
        elif obj.get('kind') == 'summary':
            meta = obj['meta']
            rtt_info.update({float(k): v for k, v in obj['rtt'].items()})
    if meta is None:
        log('%s has no summary line (an interrupted run?)' % path)
        return 1
    plot_venv = CACHE / 'plot-venv'
    return finish(meta, runs, rtt_info, meta['rtts'], out_dir, name, plot_venv if plot_venv.exists() else None)


if __name__ == '__main__':
    sys.exit(main())
