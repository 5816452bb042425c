# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: the persistent interpreter's own set-up and end.

This module util is PRIVATE to the collection.
"""

from __future__ import annotations

import os
import signal
import sys
import typing as t

_installed = False


def _descendants(root: int) -> list[int]:
    """PIDs whose parent chain leads to ``root`` (Linux /proc; elsewhere nothing)."""
    try:
        names = os.listdir('/proc')
    except OSError:
        return []
    parents: dict[int, int] = {}
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name, 'rb') as fp:
                stat = fp.read()
            parents[int(name)] = int(stat[stat.rindex(b')') + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found: list[int] = []
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found.append(pid)
                frontier.append(pid)
    return found


def hang_up() -> None:
    """End commands still running when the controller goes away, as an ssh hangup does."""
    for pid in _descendants(os.getpid()):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


def describe(econtext: t.Any = None) -> dict[str, t.Any]:
    """What the controller needs to know once per interpreter; also arms :func:`hang_up`."""
    global _installed
    if econtext is not None and not _installed:
        import mitogen.core
        mitogen.core.listen(econtext.broker, 'shutdown', hang_up)
        _installed = True
    return {
        'executable': sys.executable,
        'version': list(sys.version_info[:3]),
        'pid': os.getpid(),
        'uid': os.geteuid(),
        'home': os.path.expanduser('~'),
    }


describe.mitogen_takes_econtext = True  # type: ignore[attr-defined]  # what @takes_econtext sets


def noop() -> None:
    """A call that only proves the calls before it in a chain succeeded."""
    return None
