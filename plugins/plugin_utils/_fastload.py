# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a worker pays to load one of our connection plugins, kept off the per-task path.

This plugin util is PRIVATE to the collection. A velocity.mitogen strategy
loads our plugins in the controller before it forks workers. In
connection-only mode nothing of ours runs in the controller, so every worker
loads the plugin again for its one task, and ansible-core's collection loader
compiles collection modules from source every time and parses the plugin's
DOCUMENTATION YAML. Here, our plugin utils are imported with CPython's own
bytecode cache (``__pycache__``), and the option definitions ansible-core
parsed from a plugin's documentation are kept in the per-user runtime directory
of the multiplexer, keyed by everything they derive from. Kept small: this
file itself is compiled from source by every worker.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import pickle
import sys
import typing as t

_PACKAGE = __name__.rpartition('.')[0] + '.'
_ROOT = os.path.dirname(os.path.abspath(__file__))


class _Loader(importlib.machinery.SourceFileLoader):
    """The standard source loader, with compiled code kept in our private runtime directory
    (ansible-core turns off CPython's own bytecode writing)."""

    def get_code(self, fullname: str) -> t.Any:
        path = self.get_filename(fullname)
        st = os.stat(path)
        name = '%s.%s.%d.%d' % (hashlib.sha1(path.encode('utf-8', 'surrogateescape')).hexdigest()[:16],
                                sys.implementation.cache_tag, st.st_mtime_ns, st.st_size)
        cache = os.path.join(_cache_dir(), 'bytecode', name)
        data = _read_private(cache)
        if data:
            try:
                return marshal.loads(data)
            except (ValueError, EOFError, TypeError):
                pass
        code = compile(self.get_data(path), path, 'exec', dont_inherit=True)
        _write_private(cache, marshal.dumps(code))
        return code


# What a worker needs to run a task over our connection, in import order (each only
# imports ones before it), so every import is served from the bytecode cache.
WORKER_MODULES = ('_record', '_planner', '_hops', '_wire', '_mux', '_mux.process', '_link', '_transports',
                  '_ansible_compat', '_connection', '_action', '_hooks')


def _preload(names: t.Iterable[str]) -> None:
    """Import these modules of this package through :class:`_Loader`, unless already imported.

    Not a finder on sys.meta_path: ansible-core's import sanity test forbids that."""
    for name in names:
        fullname = _PACKAGE + name
        if fullname in sys.modules:
            continue
        location = os.path.join(_ROOT, *name.split('.'))
        init = os.path.join(location, '__init__.py')
        if os.path.isfile(init):
            spec = importlib.util.spec_from_file_location(fullname, init, loader=_Loader(fullname, init),
                                                          submodule_search_locations=[location])
        else:
            spec = importlib.util.spec_from_file_location(fullname, location + '.py',
                                                          loader=_Loader(fullname, location + '.py'))
        if spec is None or spec.loader is None:
            return
        module = importlib.util.module_from_spec(spec)
        sys.modules[fullname] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(fullname, None)
            raise
        parent, _dummy, child = fullname.rpartition('.')
        setattr(sys.modules[parent], child, module)


def _cache_dir() -> str:
    import tempfile
    return os.path.join(tempfile.gettempdir(), 'velocity-mitogen-%d' % os.getuid())


def _write_private(path: str, data: bytes) -> None:
    """Write a cache file atomically, only inside a directory that is ours and private."""
    try:
        for directory in (os.path.dirname(os.path.dirname(path)), os.path.dirname(path)):
            try:
                os.mkdir(directory, 0o700)
            except FileExistsError:
                pass
        if not _private(path):
            return
        tmp = '%s.%d.tmp' % (path, os.getpid())
        with open(tmp, 'wb') as fp:
            fp.write(data)
        os.rename(tmp, path)
    except OSError:
        pass  # only a cache


def _private(path: str) -> bool:
    """Whether the file's directory and the one above it are ours and closed to others."""
    for directory in (os.path.dirname(os.path.dirname(path)), os.path.dirname(path)):
        st = os.lstat(directory)
        if st.st_uid != os.getuid() or st.st_mode & 0o077 or not os.path.isdir(directory) or os.path.islink(directory):
            return False
    return True


def _read_private(path: str) -> bytes | None:
    try:
        if not _private(path):
            return None  # only a private directory of ours is trusted
        with open(path, 'rb') as fp:
            return fp.read()
    except OSError:
        return None


def prepare(module_name: str, documentation: str) -> None:
    """Called by a connection plugin file before it imports anything else of ours."""
    _preload(WORKER_MODULES)
    cached = _load_defs(module_name, documentation)
    if cached is not None:
        from ansible import constants as C
        # Public: ConfigManager.initialize_plugin_configuration_definitions; ansible-core's
        # loader then finds the definitions present and does not parse the YAML again.
        C.config.initialize_plugin_configuration_definitions('connection', cached[0], cached[1])


def remember(module_name: str, documentation: str) -> None:
    """Keep the definitions ansible-core parsed for this plugin, for the next workers."""
    path = _defs_path(module_name, documentation)
    if os.path.exists(path):
        return
    from ansible import constants as C
    # The loader files them under the plugin's resolved name: its Python module name
    # here, its FQCN in some ansible-core versions.
    for name in (module_name, '.'.join(module_name.split('.')[1:3] + module_name.split('.')[-1:])):
        defs = C.config.get_configuration_definitions('connection', name)
        if defs:
            try:
                _write_private(path, pickle.dumps((name, defs), protocol=pickle.HIGHEST_PROTOCOL))
            except Exception:  # pylint: disable=broad-except
                pass  # only a cache
            return


@functools.lru_cache(maxsize=None)
def _defs_path(module_name: str, documentation: str) -> str:
    """Computed once per process (prepare and remember both ask; forked workers inherit it)."""
    from ansible.release import __version__
    key = hashlib.sha256('\0'.join((__version__, sys.modules['ansible'].__file__ or '', module_name, documentation,
                                    _fragment_source())).encode('utf-8', 'surrogateescape')).hexdigest()[:32]
    return os.path.join(_cache_dir(), 'plugin-defs', key + '.pickle')


def _fragment_source() -> str:
    path = os.path.join(os.path.dirname(_ROOT), 'doc_fragments', '_connection.py')
    try:
        with open(path, encoding='utf-8') as fp:
            return fp.read()
    except OSError:
        return ''


def _load_defs(module_name: str, documentation: str) -> tuple[str, dict] | None:
    data = _read_private(_defs_path(module_name, documentation))
    try:
        return pickle.loads(data) if data else None
    except Exception:  # pylint: disable=broad-except
        return None
