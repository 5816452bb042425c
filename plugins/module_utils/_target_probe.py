# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: a minimal function to prove collection code runs inside a Mitogen child.

This module util is PRIVATE to the collection. Tests call :func:`whoami` in a
child interpreter: the child has no copy of the collection and must fetch this
module from the controller through Mitogen's importer.
"""

from __future__ import annotations

import os
import sys


def whoami() -> tuple[int, str, str]:
    """Return (pid, interpreter path, this module's name) of the process running it."""
    return os.getpid(), sys.executable, __name__
