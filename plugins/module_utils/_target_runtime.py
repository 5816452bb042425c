# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: facts about the persistent interpreter itself.

This module util is PRIVATE to the collection.
"""

from __future__ import annotations

import os
import sys


def describe():
    """What the controller needs to know once per interpreter."""
    return {
        'executable': sys.executable,
        'version': list(sys.version_info[:3]),
        'pid': os.getpid(),
        'uid': os.geteuid(),
    }
