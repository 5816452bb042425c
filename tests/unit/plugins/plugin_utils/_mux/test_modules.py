# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module cache: what is read, what is sent to each interpreter, and when.

A real module run through the multiplexer is in test_server.py; here the
target is a recorder, to see exactly what would be sent.
"""

from __future__ import annotations

import hashlib
import os
import types

import pytest

import ansible.module_utils

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _ansible_compat, _wire
from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import modules as _modules

PLAIN = b'''#!/usr/bin/python
from __future__ import annotations
import json
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common import text
from ..module_utils.helper import something
'''


class Finder:
    def __init__(self, related=None):
        self.related = related or {}

    def find_related(self, name):
        return self.related.get(name, [])


class Responder:
    def __init__(self, related=None):
        self._finder = Finder(related)
        self.forwarded = []

    def forward_modules(self, context, names):
        self.forwarded.append((context.context_id, list(names)))


class Target:
    """Stands in for the worker's session: records each run_module call, answers like the target."""

    def __init__(self):
        self.calls = []
        self.cached = {}  # context_id -> keys the interpreter has
        self.forget_everything = False

    def call(self, context, fn, key, source, **kwargs):
        assert fn.__name__ == 'run_module'
        self.calls.append(types.SimpleNamespace(context=context.context_id, key=key, source=source, kwargs=kwargs))
        have = self.cached.setdefault(context.context_id, set())
        if self.forget_everything:
            have.clear()
            self.forget_everything = False
        if source is None and key not in have:
            return {'need_source': True}
        have.add(key)
        return {'rc': 0, 'stdout': b'{}', 'stderr': b''}


@pytest.fixture
def cache():
    return _modules.ModuleCache(types.SimpleNamespace(responder=Responder()))


@pytest.fixture
def module(tmp_path):
    path = tmp_path / 'mymod.py'
    path.write_bytes(PLAIN)
    return path


def request(path, **overrides):
    values = dict(plan=[], module_path=str(path), fqn='ansible_collections.ns.coll.plugins.modules.mymod', json_params='{}',
                  profile='legacy', env={}, secrets=None, chdir=None, module_utils_paths=[], rlimit_nofile=0)
    values.update(overrides)
    return _wire.RunModule(**values)


def context(context_id):
    return types.SimpleNamespace(context_id=context_id)


# -- reading modules --------------------------------------------------------------------------------


def test_module_is_read_once_until_it_changes(cache, module):
    first = cache._module(str(module))
    assert cache._module(str(module)) is first
    assert first.key == '%s:%s' % (module, hashlib.sha1(PLAIN).hexdigest()) and first.source == PLAIN
    module.write_bytes(PLAIN + b'# changed\n')
    os.utime(str(module), ns=(0, os.stat(str(module)).st_mtime_ns + 10 ** 9))
    changed = cache._module(str(module))
    assert changed is not first and changed.key != first.key and changed.source.endswith(b'# changed\n')


def test_imports_of_a_module(cache, module):
    entry = cache._module(str(module))
    names = cache._imports_of(entry, 'ansible_collections.ns.coll.plugins.modules.mymod')
    assert 'ansible.module_utils.basic' in names and 'ansible.module_utils.common.text' in names
    assert set(_ansible_compat.MODULE_RUNTIME_IMPORTS) <= set(names)
    assert 'json' not in names  # served by the target's own Python
    # The relative import resolves against the module's package, and is left to the
    # target (not importable here).
    assert not any(n.startswith('ansible_collections.ns.coll') for n in names)
    assert names == sorted(names) and cache._imports_of(entry, 'x') is names  # computed once


def test_relative_imports_resolve_against_the_package(cache, tmp_path):
    path = tmp_path / 'rel.py'
    path.write_bytes(b'from ...module_utils import basic\nfrom .. import module_utils\n')
    entry = cache._module(str(path))
    names = cache._imports_of(entry, 'ansible.modules.sub.rel')
    assert 'ansible.module_utils.basic' in names and 'ansible.module_utils' in names


def test_unparsable_module_imports_only_the_runtime(cache, tmp_path):
    path = tmp_path / 'broken.py'
    path.write_bytes(b'def broken(:\n')
    names = cache._imports_of(cache._module(str(path)), 'ansible.legacy.broken')
    assert set(names) == set(n for n in _ansible_compat.MODULE_RUNTIME_IMPORTS)


# -- custom module_utils ----------------------------------------------------------------------------------


def write(path, text=''):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_custom_module_utils_are_found_by_name(cache, tmp_path):
    role = tmp_path / 'role_mu'
    write(role / 'helper.py', 'A = 1\n')
    write(role / 'pkg' / '__init__.py')
    write(role / 'pkg' / 'inner.py', 'B = 2\n')
    write(role / 'notpkg' / 'ignored.py')  # no __init__.py: not a package
    write(role / '__init__.py')
    write(role / 'README.txt')
    found = cache._custom_module_utils([str(role)])
    assert sorted(found) == ['ansible.module_utils.helper', 'ansible.module_utils.pkg', 'ansible.module_utils.pkg.inner']
    assert found['ansible.module_utils.helper'] == (str(role / 'helper.py'), b'A = 1\n', False)
    assert found['ansible.module_utils.pkg'][2] is True


def test_first_directory_wins_and_builtin_is_skipped(cache, tmp_path):
    first, second = tmp_path / 'first', tmp_path / 'second'
    write(first / 'helper.py', 'FIRST = 1\n')
    write(second / 'helper.py', 'SECOND = 1\n')
    write(second / 'other.py', 'OTHER = 1\n')
    found = cache._custom_module_utils([str(first), str(second)] + list(ansible.module_utils.__path__))
    assert sorted(found) == ['ansible.module_utils.helper', 'ansible.module_utils.other']
    assert found['ansible.module_utils.helper'][1] == b'FIRST = 1\n'
    assert cache._custom_module_utils(['/nonexistent/dir']) == {}


def test_directory_is_read_again_only_when_it_changes(cache, tmp_path):
    directory = tmp_path / 'mu'
    write(directory / 'helper.py', 'V = 1\n')
    assert cache._custom_module_utils([str(directory)])['ansible.module_utils.helper'][1] == b'V = 1\n'
    stamp = os.stat(str(directory)).st_mtime_ns
    (directory / 'helper.py').write_text('V = 2\n')
    os.utime(str(directory), ns=(stamp, stamp))
    assert cache._custom_module_utils([str(directory)])['ansible.module_utils.helper'][1] == b'V = 1\n'  # cached
    write(directory / 'added.py')
    os.utime(str(directory), ns=(stamp + 10 ** 9, stamp + 10 ** 9))
    found = cache._custom_module_utils([str(directory)])
    assert found['ansible.module_utils.helper'][1] == b'V = 2\n' and 'ansible.module_utils.added' in found


# -- the AnsiballZ verdict ------------------------------------------------------------------------------------


def test_plain_module_runs_here(cache, module, monkeypatch):
    monkeypatch.setattr(_ansible_compat, 'packaging_verdict', lambda *args: pytest.fail('scanned needlessly'))
    assert cache._verdict(cache._module(str(module)), 'ansible.legacy.mymod', []) == ''


@pytest.mark.parametrize('source, related', [
    (PLAIN + b'from ansible.module_utils import embed\n', {}),
    (PLAIN, {'ansible.module_utils.basic': ['ansible.module_utils.embed']}),
])
def test_embedding_module_asks_ansiballz_scan(module, monkeypatch, source, related):
    cache = _modules.ModuleCache(types.SimpleNamespace(responder=Responder(related)))
    module.write_bytes(source)
    asked = []
    monkeypatch.setattr(_ansible_compat, 'packaging_verdict', lambda *args: asked.append(args[:2]) or 'embed')
    assert cache._verdict(cache._module(str(module)), 'ansible.legacy.mymod', ['/mu']) == 'embed'
    assert asked == [('mymod', 'ansible.legacy.mymod')]


# -- running: what is sent ---------------------------------------------------------------------------------------


def test_source_goes_once_per_interpreter(cache, module):
    target = Target()
    assert cache.run(target, context(1), request(module))['rc'] == 0
    assert cache.run(target, context(1), request(module))['rc'] == 0
    assert cache.run(target, context(2), request(module))['rc'] == 0
    assert [(c.context, c.source is not None) for c in target.calls] == [(1, True), (1, False), (2, True)]
    # module_utils go ahead of the first call into each interpreter only
    forwarded = cache.router.responder.forwarded
    assert [f[0] for f in forwarded] == [1, 2] and 'ansible.module_utils.basic' in forwarded[0][1]


def test_run_passes_the_request_through(cache, module):
    target = Target()
    cache.run(target, context(1), request(module, json_params='{"a": 1}', env={'E': '1'}, secrets=['s'], chdir='/d',
                                          rlimit_nofile=99, profile='p'))
    kwargs = target.calls[0].kwargs
    assert kwargs == dict(fqn='ansible_collections.ns.coll.plugins.modules.mymod', path=str(module), json_params='{"a": 1}',
                          profile='p', env={'E': '1'}, secrets=['s'], chdir='/d', custom_module_utils=None, rlimit_nofile=99)
    assert target.calls[0].key == cache._module(str(module)).key


def test_forgotten_interpreter_is_sent_everything_again(cache, module):
    target = Target()
    cache.run(target, context(1), request(module))
    cache.forget(1)  # the context went away; a new one may get its id
    target.cached.clear()
    cache.run(target, context(1), request(module))
    assert [c.source is not None for c in target.calls] == [True, True]


def test_interpreter_that_lost_the_code_asks_for_it(cache, module):
    target = Target()
    cache.run(target, context(1), request(module))
    target.forget_everything = True
    assert cache.run(target, context(1), request(module))['rc'] == 0
    assert [c.source is not None for c in target.calls] == [True, False, True]


def test_changed_module_is_sent_again(cache, module):
    target = Target()
    cache.run(target, context(1), request(module))
    module.write_bytes(PLAIN + b'# v2\n')
    os.utime(str(module), ns=(0, os.stat(str(module)).st_mtime_ns + 10 ** 9))
    cache.run(target, context(1), request(module))
    assert [c.source is not None for c in target.calls] == [True, True]
    assert target.calls[0].key != target.calls[1].key


def test_custom_module_utils_go_once_per_interpreter(cache, module, tmp_path):
    write(tmp_path / 'mu' / 'helper.py', 'A = 1\n')
    target = Target()
    paths = [str(tmp_path / 'mu')]
    cache.run(target, context(1), request(module, module_utils_paths=paths))
    cache.run(target, context(1), request(module, module_utils_paths=paths))
    sent = [c.kwargs['custom_module_utils'] for c in target.calls]
    assert list(sent[0]) == ['ansible.module_utils.helper'] and sent[1] is None


def test_module_that_needs_ansiballz_is_not_sent(cache, module, monkeypatch):
    monkeypatch.setattr(cache, '_verdict', lambda *args: 'embed')
    target = Target()
    assert cache.run(target, context(1), request(module)) == {'fallback': 'embed'}
    assert cache.run(target, context(1), request(module)) == {'fallback': 'embed'}
    assert target.calls == []


def test_custom_module_utils_of_a_failed_call_are_sent_again(cache, module, tmp_path):
    write(tmp_path / 'mu' / 'helper.py', 'A = 1\n')
    paths = [str(tmp_path / 'mu')]

    class Failing(Target):
        def call(self, context, fn, key, source, **kwargs):
            super().call(context, fn, key, source, **kwargs)
            raise _wire.Failure(_wire.ErrorKind.ERROR, 'an earlier write failed')

    with pytest.raises(_wire.Failure):
        cache.run(Failing(), context(1), request(module, module_utils_paths=paths))
    target = Target()
    cache.run(target, context(1), request(module, module_utils_paths=paths))
    assert list(target.calls[0].kwargs['custom_module_utils'] or ()) == ['ansible.module_utils.helper']
