# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a connection-only worker pays to load velocity.mitogen.ssh, split finely (no profiler).

Run with the bench's ansible-core venv, after bench/run.py or profile_workers.py
installed the collection:

    .cache/venvs/<line>/bin/python bench/worker_load_split.py .cache/bench/collections [N]

A parent prepared like ansible-playbook's controller (plugin loader with the
collections path, builtin connection/shell/become plugins preloaded as
PlaybookExecutor does, task executor imported) forks one child to warm the
per-user caches (as the first worker of a run does), then N children, one at a
time, each doing what a connection-only worker does for its task: import the
collection packages and _fastload, resolve the FQCN, load + instantiate the
plugin (``_fastload.prepare``: plugin_utils from the bytecode cache, then the
cached option definitions), and import the JSON profile modules a module call
needs. Prints the median wall-clock of each step (forked children pay
copy-on-write faults, as real workers do).
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import sys
import time

PKG = 'ansible_collections.velocity.mitogen.plugins.plugin_utils'
FQCN = 'velocity.mitogen.ssh'


def child(connection_loader, play_context_cls) -> dict:
    pc = time.perf_counter
    steps: dict = {}
    t_start = pc()
    for pkg in ('ansible_collections.velocity', 'ansible_collections.velocity.mitogen',
                'ansible_collections.velocity.mitogen.plugins', PKG):
        t0 = pc()
        importlib.import_module(pkg)
        steps['import %s' % pkg.replace('ansible_collections.', '')] = pc() - t0
    t0 = pc()
    fl = importlib.import_module(PKG + '._fastload')
    steps['import _fastload (compiled from source by the collection loader)'] = pc() - t0

    per_module: dict = {}
    get_code_total = [0.0]
    orig_exec, orig_get_code = fl._Loader.exec_module, fl._Loader.get_code

    def exec_module(self, module):
        t = pc()
        orig_exec(self, module)
        per_module[module.__name__.rsplit('.', 1)[1]] = pc() - t

    def get_code(self, fullname):
        t = pc()
        code = orig_get_code(self, fullname)
        get_code_total[0] += pc() - t
        return code
    fl._Loader.exec_module, fl._Loader.get_code = exec_module, get_code
    for name in ('prepare', '_preload', '_load_defs', 'remember'):
        fn = getattr(fl, name)

        def timed(*args, _fn=fn, _name=name, **kwargs):
            t = pc()
            try:
                return _fn(*args, **kwargs)
            finally:
                steps['_fastload.' + _name] = steps.get('_fastload.' + _name, 0.0) + pc() - t
        setattr(fl, name, timed)

    t0 = pc()
    connection_loader.find_plugin_with_context(FQCN)
    steps['find_plugin_with_context (resolve the FQCN)'] = pc() - t0
    t0 = pc()
    connection_loader.get_with_context(FQCN, play_context_cls(), task_uuid='x', ansible_playbook_pid=str(os.getppid()))
    steps['get_with_context (plugin module + __init__)'] = pc() - t0
    steps['  _preload: bytecode cache read + unmarshal, all modules'] = get_code_total[0]
    for name, seconds in per_module.items():
        steps['  _preload: %s (read + unmarshal + module body)' % name] = seconds
    t0 = pc()
    from ansible.module_utils.common.json import Direction, get_module_decoder, get_module_encoder
    get_module_encoder('legacy', Direction.CONTROLLER_TO_MODULE)
    get_module_decoder('legacy', Direction.MODULE_TO_CONTROLLER)
    steps['JSON legacy profile modules (first module call)'] = pc() - t0
    steps['TOTAL'] = pc() - t_start
    return steps


def main() -> int:
    collections = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    from ansible.plugins.loader import become_loader, connection_loader, init_plugin_loader, shell_loader
    init_plugin_loader([collections])
    from ansible.playbook.play_context import PlayContext
    import ansible.executor.process.worker  # noqa: F401  pylint: disable=unused-import
    import ansible.executor.task_executor  # noqa: F401  pylint: disable=unused-import
    for loader in (connection_loader, shell_loader, become_loader):
        list(loader.all(class_only=True))
    pid = os.fork()
    if pid == 0:  # warm the per-user caches, as the first worker of a run does
        connection_loader.get_with_context(FQCN, PlayContext(), task_uuid='x', ansible_playbook_pid=str(os.getppid()))
        os._exit(0)
    os.waitpid(pid, 0)
    rows = []
    for dummy in range(n):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.write(w, json.dumps(child(connection_loader, PlayContext)).encode())
            os._exit(0)
        os.close(w)
        data = b''
        while chunk := os.read(r, 65536):
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)
        rows.append(json.loads(data))
    print('median of %d forked workers, load average %s' % (n, ' '.join('%.2f' % x for x in os.getloadavg())))
    for key in rows[0]:
        print('%8.2f ms  %s' % (statistics.median(r.get(key, 0.0) for r in rows) * 1e3, key))
    return 0


if __name__ == '__main__':
    sys.exit(main())
