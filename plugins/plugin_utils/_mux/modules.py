# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module packaging and the module cache, in the multiplexer.

This plugin util is PRIVATE to the collection. A module's source is read once
per run (again only when it changes) and sent once per interpreter, with the
module_utils it imports pushed ahead of the first call so that no import on the
target costs a roundtrip. Custom ``ansible.module_utils`` from role and
playbook directories are shipped by name, each directory read once per run.

Internal (Mitogen core 0.3.x): ``ModuleResponder._finder`` (its cached
``find_related``), to see a module's whole import closure.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import threading
import typing as t

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _ansible_compat
from ansible_collections.velocity.mitogen.plugins.plugin_utils._wire import RunModule

if t.TYPE_CHECKING:
    from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux.server import Session


class _Module:
    __slots__ = ('key', 'path', 'source', 'mtime', 'imports', 'verdict')

    def __init__(self, key: str, path: str, source: bytes, mtime: float) -> None:
        self.key, self.path, self.source, self.mtime = key, path, source, mtime
        self.imports: list[str] | None = None
        self.verdict: str | None = None  # '' or why AnsiballZ must carry it (_ansible_compat.packaging_verdict)


class ModuleCache:
    def __init__(self, router: t.Any) -> None:
        from ansible_collections.velocity.mitogen.plugins.module_utils import _target_modules
        self.router = router
        self._t_modules = _target_modules
        self._lock = threading.Lock()
        self._modules: dict[str, _Module] = {}
        self._sent: dict[int, set] = {}           # context_id -> module keys and module_utils it has
        self._dirs: dict[str, tuple] = {}         # custom module_utils dir -> (mtime, its modules)

    def forget(self, context_id: int) -> None:
        """The context is gone: a new one with its id must be sent everything again."""
        with self._lock:
            self._sent.pop(context_id, None)

    def run(self, session: 'Session', context: t.Any, request: RunModule) -> dict:
        """Run the module in ``context``; ``{'fallback': why}`` when AnsiballZ must carry it."""
        module = self._module(request.module_path)
        if module.verdict is None:
            module.verdict = self._verdict(module, request.fqn, request.module_utils_paths)
        if module.verdict:
            return {'fallback': module.verdict}
        with self._lock:
            sent = self._sent.setdefault(context.context_id, set())
        source = None if module.key in sent else module.source
        if source is not None:
            # Push the module's module_utils with their whole import closure ahead of
            # the call: otherwise each first import on the target costs a roundtrip.
            self.router.responder.forward_modules(context, self._imports_of(module, request.fqn))
        custom = {}
        custom_keys = []
        for name, entry in self._custom_module_utils(request.module_utils_paths).items():
            key = ('mu', name, hashlib.sha1(entry[1]).hexdigest())
            if key not in sent:
                custom[name] = entry
                custom_keys.append(key)
        kwargs = dict(fqn=request.fqn, path=module.path, json_params=request.json_params, profile=request.profile,
                      env=request.env, secrets=request.secrets, chdir=request.chdir,
                      custom_module_utils=custom or None, rlimit_nofile=request.rlimit_nofile)
        result = session.call(context, self._t_modules.run_module, module.key, source, **kwargs)
        if result.get('need_source'):
            result = session.call(context, self._t_modules.run_module, module.key, module.source, **kwargs)
        sent.add(module.key)
        sent.update(custom_keys)  # only now: a call that failed did not install them
        return result

    def _module(self, path: str) -> _Module:
        stat = os.stat(path)
        module = self._modules.get(path)
        if module is None or module.mtime != stat.st_mtime:
            with open(path, 'rb') as fp:
                source = fp.read()
            key = '%s:%s' % (path, hashlib.sha1(source).hexdigest())
            module = self._modules[path] = _Module(key, path, source, stat.st_mtime)
        return module

    def _custom_module_utils(self, paths: list[str]) -> dict[str, tuple]:
        """``ansible.module_utils.*`` found in role, playbook and configured dirs.

        Mitogen's importer serves a package's submodules from its own directory
        only, so these are shipped to the target by name instead.
        """
        import ansible.module_utils
        builtin = {os.path.realpath(p) for p in ansible.module_utils.__path__}
        found: dict[str, tuple] = {}
        for base in paths:
            if os.path.realpath(base) in builtin:
                continue
            for fullname, entry in self._module_utils_dir(base).items():
                found.setdefault(fullname, entry)  # the first directory wins, as in AnsiballZ
        return found

    def _module_utils_dir(self, base: str) -> dict[str, tuple]:
        try:
            mtime = os.stat(base).st_mtime
        except OSError:
            return {}
        cached = self._dirs.get(base)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        found: dict[str, tuple] = {}
        for root, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if os.path.isfile(os.path.join(root, d, '__init__.py')))
            rel = os.path.relpath(root, base)
            prefix = 'ansible.module_utils' + ('' if rel == '.' else '.' + rel.replace(os.sep, '.'))
            for name in sorted(files):
                if not name.endswith('.py'):
                    continue
                path = os.path.join(root, name)
                is_pkg = name == '__init__.py'
                fullname = prefix if is_pkg else prefix + '.' + name[:-3]
                if fullname == 'ansible.module_utils':
                    continue
                with open(path, 'rb') as fp:
                    found[fullname] = (path, fp.read(), is_pkg)
        self._dirs[base] = (mtime, found)
        return found

    def _imports_of(self, module: _Module, fqn: str) -> list[str]:
        """Controller-served modules the Ansible module imports (module level), imported
        here too, so that Mitogen's responder can send them with their dependencies."""
        if module.imports is not None:
            return module.imports
        import mitogen.imports
        names = set(_ansible_compat.MODULE_RUNTIME_IMPORTS)
        try:
            code = compile(module.source, module.path, 'exec', dont_inherit=True)
            found = list(mitogen.imports.codeobj_imports(code))
        except (SyntaxError, ValueError):
            found = []
        package = fqn.rpartition('.')[0]
        for level, modname, fromnames in found:
            if level > 0:
                base = package.rsplit('.', level - 1)[0] if level > 1 else package
                modname = base + ('.' + modname if modname else '')
            if not modname.startswith(('ansible.', 'ansible_collections.')):
                continue
            names.add(modname)
            names.update('%s.%s' % (modname, name) for name in fromnames)
        present = []
        for name in sorted(names):
            if name not in sys.modules:
                try:
                    importlib.import_module(name)
                except Exception:  # pylint: disable=broad-except
                    continue  # a name imported from a module, or not importable here: the target will ask
            if name in sys.modules:
                present.append(name)
        module.imports = present
        return present

    def _verdict(self, module: _Module, fqn: str, module_utils_paths: list[str]) -> str:
        """Whether the module must go through AnsiballZ. Only a module whose import
        closure reaches ansible.module_utils.embed pays for AnsiballZ's own scan; a
        module_util that is missing shows up as an ImportError on the target instead."""
        names = set(self._imports_of(module, fqn))
        finder = self.router.responder._finder
        for name in list(names):
            try:
                names.update(finder.find_related(name))
            except Exception:  # pylint: disable=broad-except
                continue
        direct = b'module_utils.embed' in module.source or b'module_utils import embed' in module.source
        if not direct and 'ansible.module_utils.embed' not in names:
            return ''
        return _ansible_compat.packaging_verdict(os.path.basename(module.path).rpartition('.')[0] or fqn, fqn,
                                                 module.source, module_utils_paths)
