#!/usr/bin/env python
# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run one playbook under the stock strategy and under velocity.mitogen.linear, and compare.

Both runs go to the real sshd of tests/harness. The recorded task results and the
default callback's output must be equal apart from timings and per-run paths;
the stock run is what proves the expectation is stock Ansible's behaviour.

Each run starts from the same target state: the harness's reset_state() removes
what the previous run left (the test users' ~/.ansible, scratch paths), under the
harness's user-state lock, held until the run ends. Parity alone would also hold
if everything silently fell back to stock: the velocity.mitogen multiplexer
appends one line per request it handles (its op) to the file VELOCITY_MITOGEN_STATS
names, and the pair passes only if the stock run made no such request and ours
made at least --min-requests that carry tasks (run_module, exec, put, fetch).
"""

from __future__ import annotations

import argparse
import collections
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
STOCK = 'ansible.builtin.linear'
OURS = 'velocity.mitogen.linear'
RUN_TIMEOUT = 600

# Values that differ between any two runs, stock or not.
VOLATILE_KEYS = {'start', 'end', 'delta', 'mtime', 'atime', 'ctime', 'inode', 'dev', 'ansible_date_time',
                 'ansible_uptime_seconds', 'ansible_memfree_mb', 'ansible_memory_mb', 'ansible_loadavg',
                 'ansible_env', 'ansible_processor_nproc', 'ansible_lvm', 'ansible_mounts', 'ansible_devices',
                 'ansible_hostnqn', 'ansible_interfaces', 'ansible_lo', 'ansible_proc_cmdline', 'ansible_cmdline',
                 'ansible_swapfree_mb', 'ansible_real_user_id', 'ansible_effective_user_id', 'ansible_facts_gathered',
                 'elapsed', 'pid', 'version', '_original_basename', 'ansible_pid', 'ansible_ssh_host_key_ed25519_public'}
VOLATILE_PATTERNS = [
    (re.compile(r'ansible-tmp-[0-9.\-_]+'), 'ansible-tmp-X'),
    (re.compile(r'ansible-moduletmp-[0-9.\-_A-Za-z]+'), 'ansible-moduletmp-X'),
    (re.compile(r'\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?'), 'DATETIME'),
    (re.compile(r'\b\d+:\d\d:\d\d\.\d{6}\b'), 'DELTA'),
    (re.compile(r'\bj\d+\.\d+\b'), 'JID'),
    (re.compile(r'ansible_[a-z_]+_payload_[A-Za-z0-9_]+'), 'PAYLOAD'),
    (re.compile(r'/tmp/velocity-[a-z]+-[A-Za-z0-9_]+'), '/tmp/velocity-X'),
]
STABLE_FACTS = {'discovered_interpreter_python', 'ansible_hostname', 'ansible_python_version', 'ansible_user_id',
                'ansible_system', 'ansible_distribution'}
# Gathered facts that describe the host at that moment, not what the strategy did: the
# network (interfaces come and go between two runs: container veths, VPNs, addresses),
# mounts, devices, memory, load, uptime, clock. Left out of the comparison, names included;
# so are the per-interface facts (ansible_<interface>, see host_fact()).
HOST_FACTS = {'ansible_interfaces', 'ansible_all_ipv4_addresses', 'ansible_all_ipv6_addresses',
              'ansible_default_ipv4', 'ansible_default_ipv6', 'ansible_locally_reachable_ips',
              'ansible_dns',
              'ansible_mounts', 'ansible_devices', 'ansible_device_links', 'ansible_lvm', 'ansible_hostnqn',
              'ansible_fibre_channel_wwn', 'ansible_iscsi_iqn',
              'ansible_memfree_mb', 'ansible_memory_mb', 'ansible_memtotal_mb', 'ansible_swapfree_mb',
              'ansible_swaptotal_mb', 'ansible_loadavg', 'ansible_uptime_seconds', 'ansible_date_time',
              'ansible_processor_nproc', 'ansible_proc_cmdline', 'ansible_cmdline'}
# Multiplexer requests that carry a task's work (not just set-up or clean-up).
TASK_OPS = ('run_module', 'exec', 'put', 'fetch')
STATS_ENV = 'VELOCITY_MITOGEN_STATS'
NOISE_LINES = [
    re.compile(r'Use of strategy plugins not included in ansible\.builtin are deprecated'),
    re.compile(r'Deprecation warnings can be disabled by setting'),
]


def find_harness() -> str:
    candidates = []
    for base in (os.environ.get('ANSIBLE_COLLECTIONS_PATH') or '').split(os.pathsep):
        if base:
            candidates.append(os.path.join(base, 'ansible_collections', 'velocity', 'mitogen', 'tests', 'harness', 'sshd_target.py'))
    candidates.append(os.path.join(HERE, '..', '..', '..', 'harness', 'sshd_target.py'))
    candidates.append(os.environ.get('VELOCITY_HARNESS', ''))
    for path in candidates:
        if path and os.path.isfile(path):
            return os.path.abspath(path)
    raise SystemExit('compare.py: cannot find tests/harness/sshd_target.py (tried %s)' % candidates)


def harness_settings() -> tuple[int, str]:
    """The harness instance to use: tests/harness/instance.json of the collection under test
    (written by tools/run-tests, which gives each ansible-core line its own sshd), else
    VM_SSH_PORT/VM_HARNESS_DIR, else the defaults."""
    path = os.path.join(os.path.dirname(find_harness()), 'instance.json')
    if os.path.isfile(path):
        with open(path, encoding='utf-8') as fp:
            data = json.load(fp)
        return int(data['port']), data['state_dir']
    return int(os.environ.get('VM_SSH_PORT', '2222')), os.environ.get('VM_HARNESS_DIR', '/tmp/velocity-harness')


def load_harness():
    import importlib.util
    path = find_harness()
    spec = importlib.util.spec_from_file_location('sshd_target', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def host_fact(name: str, value, facts: dict) -> bool:
    """True for a gathered fact that follows the host's state rather than the strategy."""
    if name in HOST_FACTS:
        return True
    # ansible_<interface>: named after ansible_interfaces ('-' and ':' become '_'), and a
    # dict describing a device, for an interface that appeared after that list was read.
    names = facts.get('ansible_interfaces') or []
    if isinstance(names, list) and name in {'ansible_' + str(n).replace('-', '_').replace(':', '_') for n in names}:
        return True
    return isinstance(value, dict) and 'device' in value and ('active' in value or 'macaddress' in value)


def normalize_facts(facts: dict) -> dict:
    """gather_facts: which facts exist must match, and the values of STABLE_FACTS; facts about
    the host's state at that moment (HOST_FACTS, per-interface facts) are left out."""
    return {name: normalize(value, name) if name in STABLE_FACTS else '<present>'
            for name, value in facts.items() if not host_fact(name, value, facts)}


def normalize(value, key=None):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in VOLATILE_KEYS:
                out[k] = '<volatile>'
            elif k == 'ansible_facts' and isinstance(v, dict) and len(v) > 20:
                out[k] = normalize_facts(v)
            else:
                out[k] = normalize(v, k)
        return out
    if isinstance(value, list):
        return [normalize(v, key) for v in value]
    if isinstance(value, str):
        for pattern, repl in VOLATILE_PATTERNS:
            value = pattern.sub(repl, value)
        return value
    return value


def order_events(events: list[dict]) -> list[dict]:
    """Hosts of one task finish in any order, with either strategy: sort within each task."""
    out: list[dict] = []
    group: list[dict] = []
    for event in events:
        if group and event['task'] != group[-1]['task']:
            out += sorted(group, key=lambda e: e['host'])
            group = []
        group.append(event)
    return out + sorted(group, key=lambda e: e['host'])


def order_blocks(lines: list[str]) -> list[str]:
    """Sort the lines of each TASK block, for the same reason."""
    out: list[str] = []
    block: list[str] = []
    for line in lines:
        if line.startswith(('TASK [', 'PLAY [', 'PLAY RECAP', 'RUNNING HANDLER [')):
            out += sorted(block)
            block = []
            out.append(line)
        else:
            block.append(line)
    return out + sorted(block)


def normalize_output(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        if any(p.search(line) for p in NOISE_LINES):
            continue
        for pattern, repl in VOLATILE_PATTERNS:
            line = pattern.sub(repl, line)
        lines.append(line.rstrip())
    # Collapse blank-line runs left where noise was removed.
    out = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return out


def read_stats(path: str) -> collections.Counter:
    """Requests the multiplexer handled, by op (VELOCITY_MITOGEN_STATS: one op per line)."""
    try:
        with open(path, encoding='utf-8', errors='replace') as fp:
            return collections.Counter(line.strip() for line in fp if line.strip())
    except FileNotFoundError:
        return collections.Counter()


def describe_stats(stats: collections.Counter) -> str:
    if not stats:
        return 'no requests'
    return '%d requests (%s)' % (sum(stats.values()), ', '.join('%s %d' % kv for kv in sorted(stats.items())))


OUR_CONNECTION = 'velocity.mitogen.ssh'
# How a user sets the connection in connection-only mode (--way): ours gets it this way, stock keeps ssh.
WAYS = ('env', 'cli', 'inventory', 'group_vars', 'ansible_cfg', 'none')


def connection_way(way: str, inventory: str, workdir: str) -> tuple[str, list[str], dict]:
    """(inventory, extra arguments, environment) for our run in connection-only mode."""
    if way == 'env':
        return inventory, [], {'ANSIBLE_TRANSPORT': OUR_CONNECTION}
    if way == 'cli':
        return inventory, ['-c', OUR_CONNECTION], {}
    if way == 'inventory':
        extra = os.path.join(workdir, 'connection.ini')
        with open(extra, 'w', encoding='utf-8') as fp:
            fp.write('[all:vars]\nansible_connection=%s\n' % OUR_CONNECTION)
        return inventory, ['-i', extra], {}
    if way == 'group_vars':
        directory = os.path.join(workdir, 'inventory')
        os.makedirs(os.path.join(directory, 'group_vars'), exist_ok=True)
        shutil.copy(inventory, os.path.join(directory, 'hosts.ini'))
        with open(os.path.join(directory, 'group_vars', 'all.yml'), 'w', encoding='utf-8') as fp:
            fp.write('ansible_connection: %s\n' % OUR_CONNECTION)
        return os.path.join(directory, 'hosts.ini'), [], {}
    if way == 'ansible_cfg':
        config = os.path.join(workdir, 'ansible.cfg')
        with open(config, 'w', encoding='utf-8') as fp:
            fp.write('[defaults]\ntransport = %s\n' % OUR_CONNECTION)
        return inventory, [], {'ANSIBLE_CONFIG': config}
    return inventory, [], {}


def run(strategy: str, playbook: str, inventory: str, extra: list[str], env_extra: dict, workdir: str,
        interrupt_after: float | None = None, label: str | None = None, adhoc: bool = False) -> dict:
    label = (label or strategy).replace('.', '_')
    record = os.path.join(workdir, 'record-%s.jsonl' % label)
    if os.path.exists(record):
        os.unlink(record)
    stats = os.path.join(workdir, 'stats-%s.txt' % label)
    if os.path.exists(stats):
        os.unlink(stats)
    env = dict(os.environ)
    env.update({
        'ANSIBLE_STRATEGY': strategy,
        'ANSIBLE_CALLBACK_PLUGINS': os.path.join(HERE, 'callback_plugins'),
        'ANSIBLE_CALLBACKS_ENABLED': 'velocity_record',
        'VELOCITY_RECORD': record,
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_HOST_KEY_CHECKING': '0',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        # No ControlPersist master may outlive a stock run and serve the next one.
        'ANSIBLE_SSH_CONTROL_PATH_DIR': tempfile.mkdtemp(prefix='velocity-cp-', dir=workdir),
        # A fresh file per run: the requests our multiplexer handled in this run only.
        STATS_ENV: stats,
    })
    env.update(env_extra)
    if adhoc:
        # 'PATTERN MODULE ARGS', run with ad-hoc ansible (which loads callbacks only when asked).
        pattern, module, module_args = playbook.split(None, 2)
        env['ANSIBLE_LOAD_CALLBACK_PLUGINS'] = '1'
        cmd = ['ansible', pattern, '-i', inventory, '-m', module, '-a', module_args] + extra
    else:
        cmd = ['ansible-playbook', '-i', inventory, playbook] + extra
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    events = []
    if os.path.exists(record):
        with open(record, encoding='utf-8') as fp:
            events = [json.loads(line) for line in fp if line.strip()]
    return {'rc': proc.returncode, 'stdout': proc.stdout, 'stderr': proc.stderr, 'events': events,
            'stats': read_stats(stats)}


def fresh_run(harness, strategy: str, *args, **kwargs) -> dict:
    """run() from the state every run starts from: what earlier runs left is removed first."""
    removed = harness.reset_state()
    result = run(strategy, *args, **kwargs)
    result['reset'] = removed
    return result


def show(label: str, result: dict) -> None:
    print('----- %s: rc=%s -----' % (label, result['rc']))
    print(result['stdout'][-6000:])
    if result['stderr'].strip():
        print('----- %s stderr -----' % label)
        print(result['stderr'][-4000:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('playbook', nargs='?')
    parser.add_argument('--print-state-dir', action='store_true', help='print the harness state dir and exit')
    parser.add_argument('--expect-rc', type=int, default=0)
    parser.add_argument('--connections', type=int, default=None,
                        help='SSH connections velocity.mitogen must use in total')
    parser.add_argument('--min-requests', type=int, default=1,
                        help='task-carrying requests (%s) the velocity.mitogen multiplexer must handle '
                             '(default 1; 0 for a playbook whose tasks never reach a target)' % ', '.join(TASK_OPS))
    parser.add_argument('--no-output-compare', action='store_true',
                        help='compare recorded results only, not the callback output')
    parser.add_argument('--rc-only', action='store_true',
                        help='only the exit codes must match (for errors whose wording is ours by design)')
    parser.add_argument('--ours-contains', action='append', default=[],
                        help='text the velocity.mitogen output must contain')
    parser.add_argument('--hosts', type=int, default=11)
    parser.add_argument('-v', dest='verbosity', action='count', default=0,
                        help='ansible-test passes its verbosity on; more -v shows both runs in full')
    parser.add_argument('--strategy', default='linear', choices=('linear', 'free', 'host_pinned'),
                        help='which pair of strategies to compare')
    parser.add_argument('--mode', choices=('strategy', 'connection'), default='strategy',
                        help='strategy: stock strategy vs ours; connection: the same stock strategy for both, '
                             'ours with the connection set to %s (connection-only mode)' % OUR_CONNECTION)
    parser.add_argument('--way', choices=WAYS, default='env',
                        help='connection mode: how our run sets the connection (none: the playbook does)')
    parser.add_argument('--adhoc', action='store_true', help="the playbook argument is 'PATTERN MODULE ARGS' for ad-hoc ansible")
    parser.add_argument('--stock-arg', action='append', default=[], help='argument for the stock run only')
    parser.add_argument('--ours-arg', action='append', default=[], help='argument for the velocity.mitogen run only')
    parser.add_argument('-e', dest='extra_vars', action='append', default=[])
    parser.add_argument('--arg', dest='args', action='append', default=[], help='extra ansible-playbook argument')
    args = parser.parse_args(argv)

    port, state_dir = harness_settings()
    if args.print_state_dir:
        print(state_dir)
        return 0
    if not args.playbook:
        parser.error('a playbook is required')
    harness = load_harness()
    inventory = os.path.join(state_dir, 'inventory.ini')
    extra = list(args.args)
    for item in args.extra_vars:
        extra += ['-e', item]
    workdir = tempfile.mkdtemp(prefix='velocity-compare-')

    def waiting(path: str) -> None:
        print('compare.py: waiting for %s (another test run is using the test users)' % path, flush=True)

    try:
        # The test users are shared by every harness instance: no other run may change
        # their state between our reset and the end of our runs.
        with harness.user_state_lock(waiting=waiting):
            harness.up(port, state_dir, args.hosts)
            if args.mode == 'connection':
                ours_strategy = 'ansible.builtin.' + args.strategy
                ours_inventory, ours_extra, ours_env = connection_way(args.way, inventory, workdir)
            else:
                ours_strategy, ours_inventory, ours_extra, ours_env = 'velocity.mitogen.' + args.strategy, inventory, [], {}
            stock = fresh_run(harness, 'ansible.builtin.' + args.strategy, args.playbook, inventory,
                              extra + args.stock_arg, {}, workdir, label='stock', adhoc=args.adhoc)
            mark = harness.mark(state_dir)
            ours = fresh_run(harness, ours_strategy, args.playbook, ours_inventory,
                             extra + ours_extra + args.ours_arg, ours_env, workdir, label='ours', adhoc=args.adhoc)
            used = harness.connections(state_dir, mark)
            sessions = harness.sessions(state_dir, mark)
        failures = []
        carried = sum(ours['stats'][op] for op in TASK_OPS)
        if stock['stats']:
            failures.append('the stock run made velocity.mitogen multiplexer requests (%s): the stock side is not stock'
                            % describe_stats(stock['stats']))
        if carried < args.min_requests:
            failures.append('velocity.mitogen carried %d task requests (%s), expected at least %d (its multiplexer '
                            'recorded %s in %s): did the tasks fall back to the stock path?'
                            % (carried, '/'.join(TASK_OPS), args.min_requests, describe_stats(ours['stats']),
                               STATS_ENV))
        if args.mode == 'connection' and 'deprecat' in ours['stderr'].lower():
            failures.append('connection-only mode printed a deprecation warning:\n' + ours['stderr'][-2000:])
        if stock['rc'] != args.expect_rc:
            failures.append('stock run exited %s, the test expects %s: the expectation is not stock behaviour'
                            % (stock['rc'], args.expect_rc))
        if ours['rc'] != stock['rc']:
            failures.append('velocity.mitogen exited %s, stock exited %s' % (ours['rc'], stock['rc']))
        if args.mode == 'connection':
            # The one thing the user changed: a delegated result names the connection it was given.
            ours['events'] = json.loads(json.dumps(ours['events']).replace(
                '"ansible_connection": "%s"' % OUR_CONNECTION, '"ansible_connection": "ssh"'))
        if args.strategy == 'linear':
            a = [normalize(e) for e in order_events(stock['events'])]
            b = [normalize(e) for e in order_events(ours['events'])]
        else:
            # Hosts run through the play independently: compare each host's own sequence.
            a = [normalize(e) for e in sorted(stock['events'], key=lambda e: e['host'])]
            b = [normalize(e) for e in sorted(ours['events'], key=lambda e: e['host'])]
        for text in args.ours_contains:
            if text not in ours['stdout'] + ours['stderr']:
                failures.append('velocity.mitogen output lacks %r' % text)
        if args.rc_only:
            pass
        elif a != b:
            diff = difflib.unified_diff(
                json.dumps(a, indent=1, sort_keys=True).splitlines(),
                json.dumps(b, indent=1, sort_keys=True).splitlines(),
                'stock', 'velocity.mitogen', lineterm='', n=4)
            failures.append('recorded task results differ:\n' + '\n'.join(list(diff)[:300]))
        if not args.no_output_compare and not args.rc_only:
            oa, ob = order_blocks(normalize_output(stock['stdout'])), order_blocks(normalize_output(ours['stdout']))
            if args.strategy != 'linear':
                # Task banners repeat whenever another host's task prints in between.
                def keep(line: str) -> bool:
                    return bool(line.strip()) and not line.startswith('TASK [')
                oa, ob = sorted(filter(keep, oa)), sorted(filter(keep, ob))
            if oa != ob:
                diff = difflib.unified_diff(oa, ob, 'stock', 'velocity.mitogen', lineterm='', n=3)
                failures.append('callback output differs:\n' + '\n'.join(list(diff)[:200]))
            # Warnings, deprecations and errors go to stderr.
            ea, eb = sorted(normalize_output(stock['stderr'])), sorted(normalize_output(ours['stderr']))
            if ea != eb:
                diff = difflib.unified_diff(ea, eb, 'stock', 'velocity.mitogen', lineterm='', n=3)
                failures.append('stderr (warnings, errors) differs:\n' + '\n'.join(list(diff)[:200]))
        if args.connections is not None and used != args.connections:
            failures.append('velocity.mitogen used %d SSH connections, expected %d' % (used, args.connections))
        name = os.path.basename(args.playbook)
        if failures or args.verbosity > 1:
            show('stock', stock)
            show('velocity.mitogen', ours)
            print('----- velocity.mitogen: %s, SSH connections %d, SSH sessions %d; stock: %s'
                  % (describe_stats(ours['stats']), used, sessions, describe_stats(stock['stats'])))
            print('----- state removed before the stock run: %s; before the velocity.mitogen run: %s'
                  % (', '.join(stock['reset']) or 'nothing', ', '.join(ours['reset']) or 'nothing'))
        if failures:
            for failure in failures:
                print('FAIL %s: %s' % (name, failure))
            return 1
        print('PASS %s: %d results equal under both strategies (rc=%d; velocity.mitogen: %s, '
              'SSH connections %d, SSH sessions %d)'
              % (name, len(a), ours['rc'], describe_stats(ours['stats']), used, sessions))
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
