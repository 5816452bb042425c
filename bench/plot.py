# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Chart of seconds per task against RTT for each mode, one panel per workload.

Run by bench/run.py in the bench plot venv (matplotlib): ``plot.py RESULTS.jsonl OUT.png``.
Points are medians; bars span min..max of the repetitions. hostname-100 also
shows the goal line 1.3 x (floor + RTT + module time).
"""

import json
import math
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {
    'stock': ('tab:red', 'o', 'stock, pipelining off'),
    'stock-pipe': ('tab:orange', 's', 'stock, pipelining on'),
    'velocity': ('tab:green', 'D', 'velocity.mitogen, strategy mode'),
    'velocity-conn': ('tab:olive', 'v', 'velocity.mitogen, connection-only mode'),
    'upstream': ('tab:blue', '^', 'upstream mitogen 0.3.54'),
}


def main() -> None:
    src, out = sys.argv[1], sys.argv[2]
    summary = None
    runs = []
    with open(src) as f:
        for line in f:
            obj = json.loads(line)
            if obj.get('kind') == 'summary':
                summary = obj
            elif obj.get('kind') == 'run':
                runs.append(obj)
    meta = summary['meta']
    units = {r['workload']: r['units'] for r in runs}
    workloads = [w for w in meta['workloads'] if any(g['workload'] == w for g in summary['groups'])]
    n = len(workloads)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    # Wide enough for the title and a one-row legend even with a single panel.
    fig, axes = plt.subplots(rows, cols, figsize=(max(5.2 * cols, 11.0), 3.9 * rows + (0.8 if cols < 3 else 0)),
                             squeeze=False)
    rtt_real = {float(k): v['via_proxy_ms'] for k, v in summary['rtt'].items()}
    for ax, w in zip(axes.flat, workloads):
        for mode in meta['modes']:
            pts = sorted((g['rtt_ms'], g) for g in summary['groups']
                         if g['workload'] == w and g['mode'] == mode and g.get('n_ok'))
            if not pts:
                continue
            xs = [rtt_real.get(r, r) for r, dummy in pts]
            med = [g['wall_s']['median'] / units[w] for dummy, g in pts]
            lo = [m - g['wall_s']['min'] / units[w] for m, (dummy, g) in zip(med, pts)]
            hi = [g['wall_s']['max'] / units[w] - m for m, (dummy, g) in zip(med, pts)]
            color, marker, label = STYLE.get(mode, ('gray', 'x', mode))
            ax.errorbar(xs, med, yerr=[lo, hi], color=color, marker=marker, label=label, capsize=3)
        if w == 'hostname-100':
            floor = {g['rtt_ms']: g['wall_s']['median'] / 100 for g in summary['groups']
                     if g['workload'] == 'floor-100' and g['mode'] == 'stock' and g.get('n_ok')}
            pts = sorted((rtt_real.get(r, r), 1.3 * (f + rtt_real.get(r, r) / 1000 + meta['module_ms'] / 1000))
                         for r, f in floor.items())
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], 'k--', label='goal 1.3×(floor+RTT+module)')
        ax.set_title(w)
        ax.set_xlabel('measured RTT through proxy (ms)')
        ax.set_ylabel('seconds per task' if units[w] > 1 else 'seconds per run')
        ax.set_yscale('log')
        ax.grid(True, which='both', alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis('off')
    handles, labels = axes.flat[0].get_legend_handles_labels()
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc='lower center', ncol=min(len(labels), 3), fontsize='small')
    fig.suptitle('velocity.mitogen benchmark (%s, ansible-core %s): seconds per task vs RTT'
                 % (meta['kind'], meta['ansible']))
    fig.tight_layout(rect=(0, 0.05 + 0.05 * (math.ceil(len(labels) / 3) - 1), 1, 0.96))
    fig.savefig(out, dpi=110)


if __name__ == '__main__':
    main()
