# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The in-process module runner behaves as a module's own AnsiballZ process would."""

from __future__ import annotations

import json
import resource

from ansible_collections.velocity.mitogen.plugins.module_utils import _target_modules

ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': {}})


def run(name, source):
    return _target_modules.run_module('%s:1' % name, source.encode(), 'ansible.legacy.' + name, '/nowhere/%s.py' % name,
                                      ARGS, 'legacy')


def test_base_exception_ends_the_module_like_its_process():
    result = run('die', 'class Die(BaseException):\n    pass\nraise Die("boom")\n')
    assert result['rc'] == 1
    assert b'Die: boom' in result['stderr'] and b'Traceback' in result['stderr']


def test_main_has_the_modules_spec():
    source = ('import sys, json\n'
              'print(json.dumps({"name": sys.modules["__main__"].__spec__.name}))\n'
              'sys.exit(0)\n')
    result = run('spec', source)
    assert json.loads(result['stdout']) == {'name': 'ansible.legacy.spec'}


def test_respawn_asks_for_ansiballz():
    source = ('from ansible.module_utils.common.respawn import respawn_module\n'
              'try:\n    respawn_module("/usr/bin/python3")\nexcept Exception:\n    pass\n')
    assert run('respawn', source) == {'fallback': 'respawn'}


def test_unknown_module_util_asks_for_ansiballz():
    assert run('missing', 'import ansible.module_utils.velocity_no_such_util\n') == {'fallback': 'import'}


def test_rlimit_nofile_applies_to_the_module_only():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    source = ('import json, resource, sys\n'
              'print(json.dumps({"soft": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}))\n'
              'sys.exit(0)\n')
    wanted = min(soft, 256) - 1
    result = _target_modules.run_module('rl:1', source.encode(), 'ansible.legacy.rl', '/nowhere/rl.py', ARGS, 'legacy',
                                        rlimit_nofile=wanted)
    assert json.loads(result['stdout']) == {'soft': wanted}
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (soft, hard)
