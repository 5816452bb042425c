# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The worker's load cache: bytecode and option definitions, only in a private directory of ours."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import marshal
import os
import pickle
import sys
import tempfile
from unittest import mock

import pytest

from ansible import constants as C

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _fastload

PACKAGE = 'ansible_collections.velocity.mitogen.plugins.plugin_utils'
DOC = 'name: unit_fake\nshort_description: a connection that exists in this test only\n'
DEFS = {'host': {'type': 'string', 'default': 'localhost', 'vars': [{'name': 'inventory_hostname'}]},
        'timeout': {'type': 'int', 'default': 10}}
PLUGIN = 'ansible_collections.velocity.mitogen.plugins.connection.unit_fake_%d' % os.getpid()


@pytest.fixture
def cache_dir(monkeypatch, tmp_path):
    """The private runtime directory under a TMPDIR of this test's own."""
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
    path = os.path.join(str(tmp_path), 'velocity-mitogen-%d' % os.getuid())
    assert _fastload._cache_dir() == path
    return path


@pytest.fixture
def open_cache_dir(cache_dir):
    """The runtime directory exists but others may write to it."""
    os.mkdir(cache_dir)
    os.chmod(cache_dir, 0o777)
    return cache_dir


@pytest.fixture
def plugin_defs():
    """Option definitions ansible-core holds for a fake connection plugin, forgotten afterwards."""
    names = []

    def register(name, defs=None):
        C.config.initialize_plugin_configuration_definitions('connection', name, dict(defs or DEFS))
        names.append(name)

    yield register
    for name in names:
        C.config._plugins.get('connection', {}).pop(name, None)


def files_under(path):
    return sorted(os.path.relpath(os.path.join(root, f), path) for root, _dirs, fs in os.walk(path) for f in fs)


def mode(path):
    return os.stat(path).st_mode & 0o777


# -- option definitions -----------------------------------------------------------------


def test_definitions_round_trip(cache_dir, plugin_defs):
    plugin_defs(PLUGIN)
    assert _fastload._load_defs(PLUGIN, DOC) is None
    _fastload.remember(PLUGIN, DOC)
    assert _fastload._load_defs(PLUGIN, DOC) == (PLUGIN, DEFS)
    (name,) = files_under(cache_dir)
    assert name.startswith('plugin-defs' + os.sep) and name.endswith('.pickle')
    assert mode(cache_dir) == mode(os.path.join(cache_dir, 'plugin-defs')) == 0o700


def test_definitions_filed_under_the_fqcn(cache_dir, plugin_defs):
    module = 'ansible_collections.velocity.mitogen.plugins.connection.unit_fqcn_%d' % os.getpid()
    plugin_defs('velocity.mitogen.unit_fqcn_%d' % os.getpid())
    _fastload.remember(module, DOC)
    assert _fastload._load_defs(module, DOC) == ('velocity.mitogen.unit_fqcn_%d' % os.getpid(), DEFS)


def test_nothing_kept_without_definitions(cache_dir):
    _fastload.remember(PLUGIN + '_unknown', DOC)
    assert not os.path.exists(cache_dir) or files_under(cache_dir) == []


def test_prepare_hands_cached_definitions_to_ansible(cache_dir, plugin_defs, monkeypatch):
    monkeypatch.setattr(_fastload, '_preload', lambda names: None)
    plugin_defs(PLUGIN)
    _fastload.remember(PLUGIN, DOC)
    with mock.patch.object(C.config, 'initialize_plugin_configuration_definitions') as initialize:
        _fastload.prepare(PLUGIN, DOC)
    initialize.assert_called_once_with('connection', PLUGIN, DEFS)


def test_prepare_without_cache_leaves_ansible_alone(cache_dir, monkeypatch):
    monkeypatch.setattr(_fastload, '_preload', lambda names: None)
    with mock.patch.object(C.config, 'initialize_plugin_configuration_definitions') as initialize:
        _fastload.prepare(PLUGIN, DOC)
    initialize.assert_not_called()


def test_definitions_are_keyed_by_what_they_derive_from(cache_dir, plugin_defs):
    plugin_defs(PLUGIN)
    _fastload.remember(PLUGIN, DOC)
    assert _fastload._load_defs(PLUGIN, DOC + 'options: {}\n') is None  # the documentation changed
    assert _fastload._defs_path(PLUGIN, DOC) != _fastload._defs_path(PLUGIN + 'x', DOC)


def test_remember_keeps_the_first_copy(cache_dir, plugin_defs):
    plugin_defs(PLUGIN)
    _fastload.remember(PLUGIN, DOC)
    plugin_defs(PLUGIN, {'other': {'type': 'str'}})
    _fastload.remember(PLUGIN, DOC)
    assert _fastload._load_defs(PLUGIN, DOC) == (PLUGIN, DEFS)


def test_corrupt_definitions_are_ignored(cache_dir, plugin_defs):
    plugin_defs(PLUGIN)
    _fastload.remember(PLUGIN, DOC)
    with open(_fastload._defs_path(PLUGIN, DOC), 'wb') as fp:
        fp.write(b'not a pickle')
    assert _fastload._load_defs(PLUGIN, DOC) is None


def test_non_private_directory_is_refused_for_writing(open_cache_dir, plugin_defs):
    plugin_defs(PLUGIN)
    _fastload.remember(PLUGIN, DOC)
    assert _fastload._load_defs(PLUGIN, DOC) is None
    assert files_under(open_cache_dir) == []
    assert mode(open_cache_dir) == 0o777  # left as found


def test_non_private_directory_is_refused_for_reading(open_cache_dir):
    """Definitions someone else could have planted are never unpickled."""
    path = _fastload._defs_path(PLUGIN, DOC)
    os.makedirs(os.path.dirname(path))
    with open(path, 'wb') as fp:
        fp.write(pickle.dumps((PLUGIN, {'planted': {}})))
    assert _fastload._load_defs(PLUGIN, DOC) is None


def test_open_subdirectory_is_refused(cache_dir, plugin_defs):
    plugin_defs(PLUGIN)
    os.makedirs(os.path.join(cache_dir, 'plugin-defs'), 0o700)
    os.chmod(cache_dir, 0o700)
    os.chmod(os.path.join(cache_dir, 'plugin-defs'), 0o755)
    _fastload.remember(PLUGIN, DOC)
    assert _fastload._load_defs(PLUGIN, DOC) is None and files_under(cache_dir) == []


def test_symlinked_directory_is_refused(cache_dir, plugin_defs, tmp_path):
    plugin_defs(PLUGIN)
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir(mode=0o700)
    os.symlink(str(elsewhere), cache_dir)
    _fastload.remember(PLUGIN, DOC)
    assert _fastload._load_defs(PLUGIN, DOC) is None and files_under(str(elsewhere)) == []


@pytest.mark.skipif(os.getuid() != 0, reason='needs root to give the directory away')
def test_directory_of_another_user_is_refused(cache_dir, plugin_defs):
    plugin_defs(PLUGIN)
    os.mkdir(cache_dir, 0o700)
    os.chown(cache_dir, 65534, 65534)
    _fastload.remember(PLUGIN, DOC)
    assert _fastload._load_defs(PLUGIN, DOC) is None


# -- bytecode -----------------------------------------------------------------------------


@pytest.fixture
def unimported(monkeypatch):
    """Forget modules of ours for the test (as a fresh worker has not imported them); the
    originals, and the package attributes naming them, are put back afterwards."""

    def forget(*names):
        for name in reversed(names):  # submodules before their package
            fullname = PACKAGE + '.' + name
            monkeypatch.setitem(sys.modules, fullname, sys.modules.get(fullname))  # undo: as it was
            del sys.modules[fullname]
            parent, _dummy, child = fullname.rpartition('.')
            if parent in sys.modules:
                monkeypatch.setattr(sys.modules[parent], child, getattr(sys.modules[parent], child, None), raising=False)
        return [PACKAGE + '.' + name for name in names]

    return forget


def execute(name):
    """Run the module ``name`` of our package through _Loader, without touching sys.modules."""
    path = os.path.join(_fastload._ROOT, *name.split('.')) + '.py'
    spec = importlib.util.spec_from_file_location(PACKAGE + '.' + name, path, loader=_fastload._Loader(PACKAGE + '.' + name, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bytecode_files(cache_dir):
    directory = os.path.join(cache_dir, 'bytecode')
    return [os.path.join(directory, name) for name in sorted(os.listdir(directory))] if os.path.isdir(directory) else []


def cache_name(path):
    st = os.stat(path)
    return '%s.%s.%d.%d' % (hashlib.sha1(path.encode()).hexdigest()[:16], sys.implementation.cache_tag, st.st_mtime_ns,
                            st.st_size)


def test_first_load_compiles_and_keeps_the_bytecode(cache_dir):
    module = execute('_record')
    assert module.Record.__name__ == 'Record'
    (cached,) = bytecode_files(cache_dir)
    assert os.path.basename(cached) == cache_name(os.path.join(_fastload._ROOT, '_record.py'))
    assert mode(os.path.dirname(cached)) == 0o700
    with open(cached, 'rb') as fp:
        assert marshal.load(fp).co_filename == os.path.join(_fastload._ROOT, '_record.py')


def test_next_load_runs_the_cached_bytecode(cache_dir):
    execute('_record')
    (cached,) = bytecode_files(cache_dir)
    with open(cached, 'wb') as fp:
        fp.write(marshal.dumps(compile("WHERE = 'from the cache'\n", 'cached', 'exec')))
    assert execute('_record').WHERE == 'from the cache'


def test_corrupt_bytecode_is_compiled_again(cache_dir):
    execute('_record')
    (cached,) = bytecode_files(cache_dir)
    with open(cached, 'wb') as fp:
        fp.write(b'\x00garbage')
    assert execute('_record').Record.__name__ == 'Record'
    with open(cached, 'rb') as fp:
        marshal.load(fp)  # rewritten whole


def test_changed_source_gets_new_bytecode(cache_dir, tmp_path):
    source = tmp_path / 'mod.py'
    source.write_text('VALUE = 1\n')
    loader = _fastload._Loader('unit_fastload_mod', str(source))
    namespace = {}
    exec(loader.get_code('unit_fastload_mod'), namespace)  # pylint: disable=exec-used
    assert namespace['VALUE'] == 1
    source.write_text('VALUE = 22\n')
    namespace = {}
    exec(loader.get_code('unit_fastload_mod'), namespace)  # pylint: disable=exec-used
    assert namespace['VALUE'] == 22
    assert len(bytecode_files(cache_dir)) == 2


def test_non_private_directory_gets_no_bytecode(open_cache_dir):
    assert execute('_record').Record.__name__ == 'Record'
    assert files_under(open_cache_dir) == []


def test_bytecode_planted_in_a_non_private_directory_is_not_run(open_cache_dir):
    planted = os.path.join(open_cache_dir, 'bytecode', cache_name(os.path.join(_fastload._ROOT, '_record.py')))
    os.makedirs(os.path.dirname(planted))
    with open(planted, 'wb') as fp:
        fp.write(marshal.dumps(compile("WHERE = 'planted'\n", 'planted', 'exec')))
    assert not hasattr(execute('_record'), 'WHERE')


def test_preload_imports_through_the_cache(cache_dir, unimported):
    (fullname,) = unimported('_transports')
    _fastload._preload(['_transports'])
    module = sys.modules[fullname]
    assert isinstance(module.__loader__, _fastload._Loader) and module.SSH.name == 'ssh'
    assert getattr(sys.modules[PACKAGE], '_transports') is module
    assert [os.path.basename(f) for f in bytecode_files(cache_dir)] == [
        cache_name(os.path.join(_fastload._ROOT, '_transports.py'))]


def test_preload_of_a_fresh_worker_runs_cached_bytecode(cache_dir, unimported):
    """The second worker imports what the first one compiled."""
    (fullname,) = unimported('_transports')
    _fastload._preload(['_transports'])
    (cached,) = bytecode_files(cache_dir)
    with open(cached, 'wb') as fp:
        fp.write(marshal.dumps(compile("WHERE = 'from the cache'\n", 'cached', 'exec')))
    del sys.modules[fullname]
    _fastload._preload(['_transports'])
    assert sys.modules[fullname].WHERE == 'from the cache'


def test_preload_of_a_package_and_its_module(cache_dir, unimported):
    package, process = unimported('_mux', '_mux.process')
    _fastload._preload(['_mux', '_mux.process'])
    assert sys.modules[package].__path__ == [os.path.join(_fastload._ROOT, '_mux')]
    assert sys.modules[process].__spec__.parent == package and sys.modules[package].process is sys.modules[process]
    assert len(bytecode_files(cache_dir)) == 2


def test_preload_leaves_imported_modules_alone(cache_dir):
    before = importlib.import_module(PACKAGE + '._record')
    _fastload._preload(['_record'])
    assert sys.modules[PACKAGE + '._record'] is before and bytecode_files(cache_dir) == []


def test_failed_preload_leaves_no_half_module(cache_dir, unimported):
    (fullname,) = unimported('_no_such_module')
    with pytest.raises(OSError):
        _fastload._preload(['_no_such_module'])
    assert fullname not in sys.modules


def test_worker_modules_are_listed_after_what_they_import():
    """Each listed module's imports of this package come earlier in the list, so a worker
    imports all of them from the cache (and, being real dependencies, in working order)."""
    import ast
    listed = list(_fastload.WORKER_MODULES)
    for index, name in enumerate(listed):
        path = os.path.join(_fastload._ROOT, *name.split('.'))
        path = os.path.join(path, '__init__.py') if os.path.isdir(path) else path + '.py'
        with open(path, encoding='utf-8') as fp:
            tree = ast.parse(fp.read())
        for node in tree.body:  # module level only: imports inside functions run later
            if not isinstance(node, ast.ImportFrom) or not (node.module or '').startswith(PACKAGE):
                continue
            if node.module == PACKAGE:  # from ...plugin_utils import _wire
                needed = [alias.name for alias in node.names]
            elif node.module == PACKAGE + '._mux':  # from ...plugin_utils._mux import process
                needed = ['_mux'] + ['_mux.' + alias.name for alias in node.names]
            else:  # from ...plugin_utils._hops import Hop
                needed = [node.module[len(PACKAGE) + 1:]]
            for dependency in needed:
                assert dependency in listed[:index], '%s imports %s, listed after it' % (name, dependency)


def test_prepare_preloads_the_worker_modules(cache_dir, monkeypatch):
    preloaded = []
    monkeypatch.setattr(_fastload, '_preload', preloaded.append)
    _fastload.prepare(PLUGIN, DOC)
    assert preloaded == [_fastload.WORKER_MODULES]
