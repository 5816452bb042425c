# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Time one ``command: hostname`` module execution inside a warm interpreter.

Run with the ansible-core venv's Python: ``python module_time.py [N]``.
Prints JSON ``{"median_ms": ..., "min_ms": ..., "n": N}``. This is the
"module time" of the benchmark's per-task budget (floor + RTT + module time):
the module's own work (argument parsing, fork/exec of hostname, result JSON)
with its code already imported, as in a persistent target interpreter.
"""

import contextlib
import io
import json
import statistics
import sys
import time

from ansible.module_utils import basic
from ansible.modules import command

ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': {'_raw_params': 'hostname'}}).encode()


def once() -> float:
    basic._ANSIBLE_ARGS = ARGS
    if hasattr(basic, '_ANSIBLE_PROFILE'):
        basic._ANSIBLE_PROFILE = 'legacy'
    out = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out):
        try:
            command.main()
        except SystemExit:
            pass
    elapsed = time.perf_counter() - t0
    result = json.loads(out.getvalue())
    if result.get('rc') != 0 or not result.get('stdout'):
        raise RuntimeError('command module failed: %r' % result)
    return elapsed * 1000.0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    once()  # warm-up
    samples = [once() for dummy in range(n)]
    print(json.dumps({'median_ms': round(statistics.median(samples), 3),
                      'min_ms': round(min(samples), 3), 'n': n}))


if __name__ == '__main__':
    main()
