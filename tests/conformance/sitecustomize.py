# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Strategy injection for tools/conformance.py (not part of the collection).

tools/conformance.py copies this file into ``lib/`` of its private, unpacked
ansible-core sdist. ansible-test runs every ``ansible*`` process of an
integration target with ``PYTHONPATH=<sdist>/lib`` (source mode), whatever else
it filters out of the environment, so Python imports this module at start-up in
each of them, including the ansible-playbook calls of ``runme.sh`` targets.

It reads ``lib/.velocity-conformance.json`` (written by tools/conformance.py
before each target). Without that file it does nothing. With it, and only in
processes whose program name starts with ``ansible`` (but not ansible-test):

* mode ``ours``: sets ``ANSIBLE_STRATEGY`` unless the target set one itself
  (so plays keep their explicit ``strategy:`` keyword, exactly as with a
  configured default), and appends the directory holding our
  ``ansible_collections`` to ``sys.path``, which ansible-core's collection
  loader scans (COLLECTIONS_SCAN_SYS_PATH) even when a target replaces
  ANSIBLE_COLLECTIONS_PATH;
* every mode: at exit, appends one JSON line to the proof log saying which
  strategy modules the process had loaded. conformance.py refuses to call a
  target's run "ours" unless the log shows our strategy in its ansible
  processes.
"""

import os
import sys


def _velocity_conformance():
    here = os.path.dirname(os.path.abspath(__file__))
    marker = os.path.join(here, '.velocity-conformance.json')
    if not os.path.isfile(marker):
        return
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ''
    if not prog.startswith('ansible') or prog.startswith('ansible-test') or prog.startswith('ansible_test'):
        return
    import json
    try:
        with open(marker) as f:
            conf = json.load(f)
    except (OSError, ValueError):
        return
    strategy_env_before = os.environ.get('ANSIBLE_STRATEGY')
    if conf.get('mode') == 'ours':
        os.environ.setdefault('ANSIBLE_STRATEGY', conf['strategy'])
        root = conf['collections_root']
        if root not in sys.path:
            sys.path.append(root)
    proof = conf.get('proof')
    if not proof:
        return
    import atexit

    def _record():
        mods = sorted(sys.modules)
        strategies = [m for m in mods if m.startswith('ansible.plugins.strategy.')
                      or (m.startswith('ansible_collections.') and '.plugins.strategy.' in m)]
        if 'ansible.executor.task_queue_manager' not in sys.modules:
            ran_plays = False
        else:
            ran_plays = True
        entry = {
            'pid': os.getpid(),
            'prog': prog,
            'argv': sys.argv[1:12],
            'mode': conf.get('mode'),
            'ansible_strategy_env_before': strategy_env_before,
            'ansible_strategy_env': os.environ.get('ANSIBLE_STRATEGY'),
            'tqm_loaded': ran_plays,
            'strategy_modules': strategies,
            'ours_loaded': any(m.startswith('ansible_collections.velocity.mitogen.plugins.strategy.') for m in mods),
        }
        line = json.dumps(entry) + '\n'
        try:
            fd = os.open(proof, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode('utf-8'))
            finally:
                os.close(fd)
        except OSError:
            pass

    atexit.register(_record)


try:
    _velocity_conformance()
except Exception:  # never break the process under test
    pass
finally:
    del _velocity_conformance
