#!/usr/bin/env python
# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a task worker's time goes: strategy mode against connection-only mode.

``python3 bench/profile_workers.py [--reps 3] [--cprofile] [--modes ...]``

Same set-up as bench/run.py (the collection staged, built and installed into
.cache/bench, the private sshd on port 2223, reached directly: RTT ~0), one
workload (default hostname-100), modes interleaved. A ``sitecustomize`` on
PYTHONPATH instruments each forked task worker (nothing in plugins/ changes):

* timing mode (default, no profiler): wall-clock phases of every worker
  (fork -> WorkerProcess.run, TaskExecutor.run and inside it _get_connection /
  connection_loader.get_with_context (plugin load + its __init__),
  connection options, action handler load, handler.run, _execute_module, the
  connection's first _connect (link to the multiplexer), the result send),
  the worker's own CPU, and the controller's gap between one worker's end and
  the next worker's start;
* ``--cprofile``: cProfile of each worker's run(), merged per mode; cumulative
  time per worker of the functions that make up the difference, and the
  functions whose cumulative time differs most between the modes (cProfile
  inflates Python-heavy code: use it for the split, the timing mode for sizes).

Extra mode ``velocity-conn-preload``: connection-only mode where the
sitecustomize does, in the controller before its first worker fork, what
strategy mode does there (load velocity.mitogen.ssh and its option definitions
with connection_loader.get(class_only=True), and
_ansible_compat.preload_for_workers()): what would be left of the difference
if the controller preloaded our connection plugin.

Results: bench/results/profile-NAME.{md,json}; per-worker files under
/tmp/velocity-bench/profile/.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shutil
import statistics
import sys
import textwrap
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
import run as bench_run  # noqa: E402
from benchlib import BENCH, BenchError, log  # noqa: E402

PROFILE_DIR = bench_run.WORK / 'profile'

SITECUSTOMIZE = r'''
# Written by bench/profile_workers.py: instruments ansible-playbook's forked task workers.
import json
import os
import sys
import time

_OUT = os.environ.get('VELOCITY_PROF_DIR')
_CPROFILE = os.environ.get('VELOCITY_PROF_CPROFILE') == '1'
_PRELOAD = os.environ.get('VELOCITY_PROF_PRELOAD') == '1'
_CONTROLLER = os.getpid()
_preloaded = []


def _timed(spans, name, fn):
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            s = spans.setdefault(name, [0.0, 0])
            s[0] += time.perf_counter() - t0
            s[1] += 1
    if hasattr(fn, '__wrapped__'):      # keep _ansible_compat.stock_connection's way past the redirect
        wrapper.__wrapped__ = fn.__wrapped__
    return wrapper


def _before_fork():
    # In the controller, before its first worker: what a velocity.mitogen strategy does there.
    if not _PRELOAD or _preloaded or os.getpid() != _CONTROLLER or 'ansible.plugins.loader' not in sys.modules:
        return
    _preloaded.append(1)
    t0 = time.perf_counter()
    from ansible.plugins.loader import connection_loader
    connection_loader.get('velocity.mitogen.ssh', class_only=True)
    from ansible_collections.velocity.mitogen.plugins.plugin_utils import _ansible_compat
    _ansible_compat.preload_for_workers()
    with open(os.path.join(_OUT, 'preload-%d.json' % os.getpid()), 'w') as fp:
        json.dump({'preload_s': time.perf_counter() - t0}, fp)


def _child():
    t_fork = time.perf_counter()
    worker = sys.modules.get('ansible.executor.process.worker')
    if worker is None or os.getppid() != _CONTROLLER:
        return
    from ansible.executor.task_executor import TaskExecutor
    spans = {}
    state = {'hooked_execute': False}
    te_cls = TaskExecutor
    for name in ('run', '_get_connection', '_set_connection_options'):
        setattr(te_cls, name, _timed(spans, 'TaskExecutor.' + name, getattr(te_cls, name)))
    orig_handler = te_cls._get_action_handler_with_module_context

    def get_handler(self, *args, **kwargs):
        t0 = time.perf_counter()
        handler, ctx = orig_handler(self, *args, **kwargs)
        s = spans.setdefault('action handler load', [0.0, 0])
        s[0] += time.perf_counter() - t0
        s[1] += 1
        handler.run = _timed(spans, 'handler.run', handler.run)
        return handler, ctx
    te_cls._get_action_handler_with_module_context = get_handler

    from ansible.plugins.loader import connection_loader
    orig_gwc = connection_loader.get_with_context

    def get_with_context(name, *args, **kwargs):
        t0 = time.perf_counter()
        result = orig_gwc(name, *args, **kwargs)
        s = spans.setdefault('connection_loader.get_with_context', [0.0, 0])
        s[0] += time.perf_counter() - t0
        s[1] += 1
        conn = result[0]
        if conn is not None and not kwargs.get('class_only'):
            conn._connect = _timed(spans, 'connection._connect', conn._connect)
            if not state['hooked_execute']:
                # Our ActionBase hooks are installed by now in both modes.
                from ansible.plugins.action import ActionBase
                ActionBase._execute_module = _timed(spans, 'ActionBase._execute_module', ActionBase._execute_module)
                state['hooked_execute'] = True
        return result
    if hasattr(orig_gwc, '__wrapped__'):
        get_with_context.__wrapped__ = orig_gwc.__wrapped__
    connection_loader.get_with_context = get_with_context

    orig_run = worker.WorkerProcess.run

    def run(self):
        t_run = time.perf_counter()
        send = self._final_q.send_task_result
        self._final_q.send_task_result = _timed(spans, 'send_task_result', send)
        prof = None
        if _CPROFILE:
            import cProfile
            prof = cProfile.Profile()
            prof.enable()
        try:
            return orig_run(self)
        finally:
            if prof is not None:
                prof.disable()
                prof.create_stats()
                # JSON, not marshal: the bench's Python may differ from the controller's.
                with open(os.path.join(_OUT, 'prof-%d.json' % os.getpid()), 'w') as fp:
                    json.dump([[k[0], k[1], k[2], v[0], v[1], v[2], v[3]] for k, v in prof.stats.items()], fp)
            times = os.times()
            rec = {'pid': os.getpid(), 't_fork': t_fork, 't_run': t_run, 't_end': time.perf_counter(),
                   'cpu_s': times.user + times.system, 'spans': spans}
            with open(os.path.join(_OUT, 'worker-%d.json' % os.getpid()), 'w') as fp:
                json.dump(rec, fp)
    worker.WorkerProcess.run = run


if _OUT:
    os.register_at_fork(before=_before_fork, after_in_child=_child)
'''

PHASES = [
    ('controller gap (previous worker end → this fork)', 'gap'),
    ('fork → WorkerProcess.run', 'boot'),
    ('TaskExecutor.run', 'TaskExecutor.run'),
    ('  _get_connection', 'TaskExecutor._get_connection'),
    ('    connection_loader.get_with_context (plugin load + __init__)', 'connection_loader.get_with_context'),
    ('  _set_connection_options', 'TaskExecutor._set_connection_options'),
    ('  action handler load', 'action handler load'),
    ('  handler.run', 'handler.run'),
    ('    ActionBase._execute_module', 'ActionBase._execute_module'),
    ('    connection._connect (all calls)', 'connection._connect'),
    ('send_task_result', 'send_task_result'),
    ('WorkerProcess.run total', 'run_total'),
    ('worker CPU (user+sys, fork → end of run)', 'cpu'),
]

# Functions that make up a worker's connection-related cost, by (file suffix, function name).
CPROFILE_FUNCS = [
    ('task_executor.py', '_get_connection'),
    ('loader.py', 'get_with_context'),
    ('loader.py', '_load_module_source'),
    ('_collection_finder.py', 'exec_module'),
    ('_collection_finder.py', 'get_code'),
    ('loader.py', '_load_config_defs'),
    ('plugin_docs.py', 'read_docstring'),
    ('_fastload.py', 'prepare'),
    ('_fastload.py', '_preload'),
    ('_fastload.py', '_load_defs'),
    ('_fastload.py', 'remember'),
    ('manager.py', 'initialize_plugin_configuration_definitions'),
    ('_connection.py', '__init__'),
    ('_hooks.py', 'install_in_worker'),
    ('_hooks.py', 'install'),
    ('_ansible_compat.py', 'alias_option_definitions'),
    ('_connection.py', '_connect'),
    ('_link.py', 'open'),
    ('process.py', 'connect'),
    ('_action.py', 'execute_module'),
    ('json.py', 'get_module_encoder'),
    ('json.py', 'get_module_decoder'),
    ('task_executor.py', '_get_action_handler_with_module_context'),
    ('task_executor.py', '_set_connection_options'),
    ('task_executor.py', 'run'),
]


def worker_phases(records: List[Dict]) -> Dict[str, List[float]]:
    """Per phase, the list of per-worker seconds (0 where a worker did not enter it)."""
    records = sorted(records, key=lambda r: r['t_fork'])
    out: Dict[str, List[float]] = {key: [] for dummy, key in PHASES}
    prev_end = None
    for r in records:
        out['gap'].append(r['t_fork'] - prev_end if prev_end is not None else float('nan'))
        prev_end = r['t_end']
        out['boot'].append(r['t_run'] - r['t_fork'])
        out['run_total'].append(r['t_end'] - r['t_run'])
        out['cpu'].append(r['cpu_s'])
        for dummy, key in PHASES:
            if key in r['spans']:
                out[key].append(r['spans'][key][0])
            elif key not in ('gap', 'boot', 'run_total', 'cpu'):
                out[key].append(0.0)
    return out


def cprofile_table(prof_files: List[str]) -> Dict:
    """Cumulative seconds per worker, by 'file:function' and for CPROFILE_FUNCS."""
    n = len(prof_files)
    by_func: Dict[str, float] = {}
    named = {'%s:%s' % sf: 0.0 for sf in CPROFILE_FUNCS}
    for f in prof_files:
        for path, dummy, func, dummy, dummy, dummy, ct in json.loads(Path(f).read_text(encoding='utf-8')):
            key = '%s:%s' % (os.path.basename(path), func) if path != '~' else func
            by_func[key] = by_func.get(key, 0.0) + ct / n
            for suffix, name in CPROFILE_FUNCS:
                if func == name and path.endswith(suffix):
                    named['%s:%s' % (suffix, name)] += ct / n
    # Keep the JSON small: functions under 0.02 ms per worker are left out.
    return {'workers': n, 'named': named, 'by_func': {k: v for k, v in by_func.items() if v >= 2e-5}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--modes', nargs='+', default=['velocity', 'velocity-conn', 'velocity-conn-preload'],
                   choices=['velocity', 'velocity-conn', 'velocity-conn-preload'])
    p.add_argument('--workload', default='hostname-100', choices=[w.name for w in bench_run.WORKLOADS])
    p.add_argument('--reps', type=int, default=3)
    p.add_argument('--cprofile', action='store_true', help='cProfile every worker (inflates times)')
    p.add_argument('--name', default='conn-only', help='results: bench/results/profile-NAME.{md,json}')
    p.add_argument('--keep-target', action='store_true')
    args = p.parse_args(argv)

    w = bench_run.WL[args.workload]
    work = bench_run.WORK
    work.mkdir(parents=True, exist_ok=True)
    (work / 'no-collections').mkdir(exist_ok=True)
    site = work / 'prof-site'
    site.mkdir(exist_ok=True)
    (site / 'sitecustomize.py').write_text(textwrap.dedent(SITECUSTOMIZE))
    shutil.rmtree(PROFILE_DIR, ignore_errors=True)
    benchlib.become_subreaper()
    try:
        ctx = benchlib.prepare_ansible(bench_run.CACHE)
        target = benchlib.private_target(bench_run.STATE_DIR, bench_run.PORT, 1)
    except BenchError as exc:
        log('set-up failed: %s' % exc)
        return 1
    bench_run.make_data([w])
    inv = work / 'inventory-profile.ini'
    benchlib.write_inventory(inv, {'target': ('127.0.0.1', bench_run.PORT)}, {'bench_single': bench_run.SINGLE},
                             str(target['key']))
    load_before = os.getloadavg()
    results: Dict[str, Dict] = {m: {'runs': [], 'records': [], 'profs': [], 'preload_s': []} for m in args.modes}
    try:
        for rep in range(0, args.reps + 1):       # rep 0: warm-up (caches), not recorded
            for mode in args.modes:
                base = 'velocity-conn' if mode.startswith('velocity-conn') else mode
                out = PROFILE_DIR / ('%s-rep%d' % (mode, rep))
                out.mkdir(parents=True)
                playbook = BENCH / 'preflight.yml' if rep == 0 else w.playbook
                cmd, env = bench_run.mode_command(base, ctx, playbook, inv)
                env['PYTHONPATH'] = str(site)
                env['VELOCITY_PROF_DIR'] = str(out)
                env['VELOCITY_PROF_CPROFILE'] = '1' if args.cprofile else '0'
                env['VELOCITY_PROF_PRELOAD'] = '1' if mode == 'velocity-conn-preload' else '0'
                r = benchlib.run_playbook(cmd, env, work, w.timeout_at(0) * 3, out / 'ansible.log',
                                          bench_run.STATE_DIR, None, w.hosts)
                recs = [json.loads(f.read_text()) for f in out.glob('worker-*.json')]
                log('%-22s rep %d: %s %.2f s, %.1f ms/%s, cpu %.2f s, %d workers instrumented, load %.2f' % (
                    mode, rep, 'ok' if r['ok'] else 'FAILED ' + r.get('error', ''), r['wall_s'],
                    r['wall_s'] / w.units * 1e3 if rep else 0, w.unit, r['cpu_s'], len(recs),
                    r['loadavg_1m_before']))
                if not r['ok']:
                    log(r.get('error_output', '')[-2000:])
                    return 1
                if rep == 0:
                    continue
                results[mode]['runs'].append({k: r[k] for k in ('wall_s', 'cpu_s', 'loadavg_1m_before')})
                results[mode]['records'].append(recs)
                results[mode]['profs'] += [str(f) for f in out.glob('prof-*.json')]
                results[mode]['preload_s'] += [json.loads(f.read_text())['preload_s']
                                               for f in out.glob('preload-*.json')]
    finally:
        if not args.keep_target:
            benchlib.sshd_target.down(bench_run.STATE_DIR)
    load_after = os.getloadavg()

    # ---- report
    summary: Dict = {'date': datetime.datetime.now().strftime('%Y-%m-%d %H:%M'), 'ansible': ctx['ansible'],
                     'python': ctx['python'], 'workload': w.name, 'reps': args.reps, 'cprofile': args.cprofile,
                     'loadavg_before': load_before, 'loadavg_after': load_after,
                     'command': 'python3 bench/profile_workers.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
                     'modes': {}}
    for mode, res in results.items():
        phases: Dict[str, List[float]] = {key: [] for dummy, key in PHASES}
        for recs in res['records']:
            for key, vals in worker_phases(recs).items():
                phases[key] += vals
        m = {'per_task_ms': statistics.median(r['wall_s'] for r in res['runs']) / w.units * 1e3,
             'cpu_s': statistics.median(r['cpu_s'] for r in res['runs']),
             'workers': sum(len(r) for r in res['records']),
             'loads': [r['loadavg_1m_before'] for r in res['runs']],
             'preload_ms': statistics.median(res['preload_s']) * 1e3 if res['preload_s'] else None,
             'phases': {}}
        for key, vals in phases.items():
            vals = [v for v in vals if not math.isnan(v)]  # drop NaN (no previous worker)
            if vals:
                m['phases'][key] = {'mean_ms': statistics.fmean(vals) * 1e3, 'median_ms': statistics.median(vals) * 1e3,
                                    'first_ms': vals[0] * 1e3}
        if res['profs']:
            m['cprofile'] = cprofile_table(res['profs'])
        summary['modes'][mode] = m
    results_dir = bench_run.RESULTS
    (results_dir / ('profile-%s.json' % args.name)).write_text(json.dumps(summary, indent=1, sort_keys=True) + '\n')
    write_md(results_dir / ('profile-%s.md' % args.name), summary, w)
    log('== %s' % (results_dir / ('profile-%s.md' % args.name)))
    print((results_dir / ('profile-%s.md' % args.name)).read_text())
    return 0


def write_md(path: Path, s: Dict, w) -> None:
    modes = list(s['modes'])
    L = ['# Worker time: strategy mode against connection-only mode (%s)' % ('cProfile' if s['cprofile'] else 'timing'),
         '',
         '%s · ansible-core %s (Python %s) · %s, %d measured repetition(s) per mode, interleaved, after one warm-up '
         '· `%s` · load average (1/5/15 min) before %s, after %s' % (
             s['date'], s['ansible'], s['python'], s['workload'], s['reps'], s['command'],
             '/'.join('%.2f' % x for x in s['loadavg_before']), '/'.join('%.2f' % x for x in s['loadavg_after'])),
         '',
         'Target: the private sshd, directly (no proxy, RTT ≈ 0). Per task = median wall ÷ %d. Phases: mean per '
         'worker over every worker of every measured run (wall clock, nested phases are included in their parent).'
         % w.units, '']
    L.append('| | ' + ' | '.join(modes) + ' |')
    L.append('|---|' + '---|' * len(modes))
    L.append('| per task (wall ÷ units) | ' + ' | '.join('%.1f ms' % s['modes'][m]['per_task_ms'] for m in modes) + ' |')
    L.append('| run CPU (incl. multiplexer) | ' + ' | '.join('%.2f s' % s['modes'][m]['cpu_s'] for m in modes) + ' |')
    L.append('| workers instrumented | ' + ' | '.join('%d' % s['modes'][m]['workers'] for m in modes) + ' |')
    for label, key in PHASES:
        cells = []
        for m in modes:
            ph = s['modes'][m]['phases'].get(key)
            cells.append('%.2f ms' % ph['mean_ms'] if ph else '—')
        L.append('| %s | %s |' % (label.replace('  ', '&nbsp;&nbsp;'), ' | '.join(cells)))
    pre = [m for m in modes if s['modes'][m].get('preload_ms') is not None]
    if pre:
        L.append('| controller preload, once per run | ' + ' | '.join(
            '%.0f ms' % s['modes'][m]['preload_ms'] if s['modes'][m].get('preload_ms') is not None else '—'
            for m in modes) + ' |')
    L.append('')
    L.append('First worker of a run (starts the multiplexer in connection-only mode), '
             'get_with_context / _connect: ' + '; '.join(
                 '%s %.0f / %.0f ms' % (m, s['modes'][m]['phases'].get('connection_loader.get_with_context', {}).get(
                     'first_ms', 0), s['modes'][m]['phases'].get('connection._connect', {}).get('first_ms', 0))
                 for m in modes) + '.')
    L.append('')
    prof = [m for m in modes if 'cprofile' in s['modes'][m]]
    if prof:
        L.append('## cProfile: cumulative time per worker (ms; inflated by the profiler)')
        L.append('')
        L.append('| function | ' + ' | '.join(prof) + ' |')
        L.append('|---|' + '---|' * len(prof))
        for suffix, func in CPROFILE_FUNCS:
            key = '%s:%s' % (suffix, func)
            L.append('| `%s` | %s |' % (key, ' | '.join('%.2f' % (s['modes'][m]['cprofile']['named'][key] * 1e3)
                                                        for m in prof)))
        L.append('')
        if 'velocity' in prof and 'velocity-conn' in prof:
            a, b = s['modes']['velocity']['cprofile']['by_func'], s['modes']['velocity-conn']['cprofile']['by_func']
            diff = sorted(((b.get(k, 0) - a.get(k, 0), k) for k in set(a) | set(b)), reverse=True)[:30]
            L.append('Largest differences in cumulative time per worker, velocity-conn − velocity (ms):')
            L.append('')
            L.append('| function | velocity | velocity-conn | difference |')
            L.append('|---|---|---|---|')
            for d, k in diff:
                L.append('| `%s` | %.2f | %.2f | %+.2f |' % (k, a.get(k, 0) * 1e3, b.get(k, 0) * 1e3, d * 1e3))
            L.append('')
    path.write_text('\n'.join(L) + '\n')


if __name__ == '__main__':
    sys.exit(main())
