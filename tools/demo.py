#!/usr/bin/env python
# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo (``make demo``): the same everyday play, stock Ansible vs velocity.mitogen.

1. brings up a private loopback sshd target (tests/harness/sshd_target.py, own
   state dir and port, 1 host) so the SSH counts below are this demo's alone;
2. takes the newest ansible-core venv and builds + installs the collection
   (tools/devenv.py) into .cache/demo;
3. runs demo/site.yml (about fifty tasks) with ``ansible.builtin.linear`` (stock
   defaults: ssh, pipelining off, ControlPersist on) and then, still with
   ``ansible.builtin.linear``, with only the connection set to
   ``velocity.mitogen.ssh`` (connection-only mode, the recommended one), and
   prints both wall times, the speed-up and the SSH connections and sessions
   each run opened.

Each run gets a fresh ssh ControlPath directory and any ssh master still alive
afterwards is killed, so no run reuses another's connection. Exit status 0
only if both runs succeed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'bench'))
import benchlib  # noqa: E402
from benchlib import ROOT, STOCK, VELOCITY, BenchError, log  # noqa: E402

CACHE = ROOT / '.cache' / 'demo'
WORK = Path('/tmp/velocity-demo-controller')
STATE_DIR = '/tmp/velocity-demo-sshd'
PORT = 2224
PLAYBOOK = ROOT / 'demo' / 'site.yml'
SCRATCH = '/tmp/velocity-demo'      # the play's scratch dir on the target (this machine)
TIMEOUT = 240


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--port', type=int, default=PORT, help='port of the private sshd (default %(default)s)')
    p.add_argument('--line', help='ansible-core line (default: newest)')
    p.add_argument('--keep-target', action='store_true', help='leave the private sshd running')
    args = p.parse_args(argv)

    benchlib.become_subreaper()
    WORK.mkdir(parents=True, exist_ok=True)
    try:
        log('demo: preparing the ansible-core venv and the collection ...')
        ctx = benchlib.prepare_ansible(CACHE, args.line)
        log('demo: starting the sshd target on 127.0.0.1:%d ...' % args.port)
        target = benchlib.private_target(STATE_DIR, args.port, 1)
    except BenchError as exc:
        print('demo: FAILED to set up: %s' % exc, file=sys.stderr)
        return 1

    inventory = WORK / 'inventory.ini'
    benchlib.write_inventory(inventory, {'target': ('127.0.0.1', args.port)}, {'demo': ['target']},
                             str(target['key']))
    runs = []
    try:
        for label, strategy in (('stock ssh                      ', STOCK),
                                ('velocity.mitogen.ssh           ', VELOCITY)):
            env = benchlib.base_env(ctx['venv'], WORK)
            env['ANSIBLE_STRATEGY'] = STOCK
            if strategy == VELOCITY:
                # Connection-only mode: the stock strategy, only the connection set.
                env['ANSIBLE_TRANSPORT'] = 'velocity.mitogen.ssh'
                env['ANSIBLE_COLLECTIONS_PATH'] = str(ctx['collections'])
            else:
                (WORK / 'no-collections').mkdir(exist_ok=True)
                env['ANSIBLE_COLLECTIONS_PATH'] = str(WORK / 'no-collections')
            cmd = [str(ctx['venv'] / 'bin' / 'ansible-playbook'), '-i', str(inventory), str(PLAYBOOK)]
            log('demo: running demo/site.yml with %s ...' % strategy)
            # The play removes its scratch dir itself; removing it here as well
            # makes both runs start from the same state, so their per-task
            # results must match exactly.
            shutil.rmtree(SCRATCH, ignore_errors=True)
            r = benchlib.run_playbook(cmd, env, WORK, TIMEOUT, WORK / ('%s.log' % strategy), STATE_DIR, None,
                                      ['target'])
            runs.append((label, strategy, r))
            if not r['ok']:
                break
    finally:
        if not args.keep_target:
            try:
                benchlib.sshd_target.down(STATE_DIR)
            except benchlib.sshd_target.HarnessError as exc:
                log('demo: could not stop the private sshd: %s' % exc)

    failed = [(label, r) for label, dummy, r in runs if not r['ok']]
    if failed:
        for label, r in failed:
            print('\ndemo: FAILED: %s: %s\nlog: %s\n%s' % (label.strip(), r['error'], r['log'],
                                                           r.get('error_output', '')), file=sys.stderr)
        return 1

    statuses = [benchlib.task_statuses(Path(r['log']).read_text(errors='replace')) for dummy, dummy, r in runs]
    tasks = sum(1 for line in PLAYBOOK.read_text().splitlines() if line.startswith('    - name:'))
    print()
    print('velocity.mitogen demo: demo/site.yml, %d tasks on 1 target, ansible-core %s (Python %s)'
          % (tasks, ctx['ansible'], ctx['python']))
    print()
    for label, strategy, r in runs:
        print('  %s %6.2f s   %3d SSH connection%s, %4d SSH session%s   (ok=%d changed=%d)' % (
            label, r['wall_s'], r['ssh_connections'], '' if r['ssh_connections'] == 1 else 's',
            r['ssh_sessions'], '' if r['ssh_sessions'] == 1 else 's',
            r['recap'].get('target', {}).get('ok', 0), r['recap'].get('target', {}).get('changed', 0)))
    stock, fast = runs[0][2], runs[1][2]
    print()
    print('  speed-up: %.1f× (stock: ssh with pipelining off and ControlPersist, the ansible-core defaults)'
          % (stock['wall_s'] / fast['wall_s']))
    if statuses[0] != statuses[1]:
        print('  WARNING: the two runs reported different per-task results:')
        for i, (a, b) in enumerate(zip(statuses[0], statuses[1])):
            if a != b:
                print('    result %d: stock %s: %s / velocity %s: %s' % (i + 1, a[0], a[1], b[0], b[1]))
        if len(statuses[0]) != len(statuses[1]):
            print('    stock reported %d results, velocity %d' % (len(statuses[0]), len(statuses[1])))
    else:
        print('  per-task results identical (%d results: ok/changed per task and loop item)' % len(statuses[0]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
