# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest


from ansible_collections.velocity.mitogen.plugins.module_utils import _target_become

ARGV = [sys.executable, '-c', 'import sys; print(repr(sys.argv[1:]))',
        "it's", 'a "b" $HOME `x` \\ end', 'plain', '', 'for p in \'python3\'; do x=$(command -v "$p"); done']


@pytest.mark.parametrize('depth', [0, 1, 2, 3])
def test_boot_command_survives_the_plugins_nested_quoting(depth):
    """sudo wraps the command once in single quotes, su twice: the boot argv must come out intact."""
    command = 'echo BECOME-SUCCESS-x; ' + _target_become.PLACEHOLDER
    for dummy in range(depth):
        command = '/bin/sh -c %s' % shlex.quote(command)
    boot = 'exec ' + ' '.join(_target_become._dquote(arg) for arg in ARGV)
    out = subprocess.check_output(['/bin/sh', '-c', command.replace(_target_become.PLACEHOLDER, boot)], timeout=60)
    assert out.decode().splitlines() == ['BECOME-SUCCESS-x', repr(ARGV[3:])]
