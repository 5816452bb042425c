# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make the vendored Mitogen core importable as the top-level package ``mitogen``.

This module util is PRIVATE to the collection. The Mitogen core only works under
its own top-level name (it renames itself, keeps process-global state on the
``mitogen`` package and imports itself absolutely), so every plugin calls
:func:`load` before it imports ``mitogen.*``. The vendored copy must never be
imported by its ``ansible_collections...`` path: that creates a second, broken
copy of the core.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import types

VENDOR_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_vendor')
PACKAGE_DIR = os.path.join(VENDOR_DIR, 'mitogen')
EXPECTED_VERSION = (0, 3, 54)

_lock = threading.Lock()


class MitogenLoadError(ImportError):
    """The vendored core is missing, or a different mitogen is already imported."""


def _version_text(module: types.ModuleType) -> str:
    version = getattr(module, '__version__', None)
    if isinstance(version, tuple):
        return '.'.join(str(part) for part in version)
    return repr(version)


def _is_vendored(module: types.ModuleType) -> bool:
    path: str | None = getattr(module, '__file__', None)
    if not path:
        return False
    return os.path.realpath(os.path.dirname(path)) == os.path.realpath(PACKAGE_DIR)


def load() -> types.ModuleType:
    """Return the ``mitogen`` package, registering the vendored copy if needed.

    Inside a Mitogen child (a target interpreter), ``mitogen`` is the package that
    our own master bootstrapped, so it is accepted as it is.
    """
    with _lock:
        existing = sys.modules.get('mitogen')
        if existing is not None:
            if _is_vendored(existing) or getattr(existing, 'is_master', True) is False:
                return existing
            raise MitogenLoadError(
                'velocity.mitogen needs its vendored Mitogen core %s at %s, but a different '
                'mitogen %s from %s is already imported in this process (for example a '
                'pip-installed mitogen or upstream ansible_mitogen strategy). Remove the '
                'other mitogen from the strategy/plugin paths or use only velocity.mitogen.'
                % ('.'.join(map(str, EXPECTED_VERSION)), PACKAGE_DIR,
                   _version_text(existing), getattr(existing, '__file__', '<unknown>'))
            )
        init = os.path.join(PACKAGE_DIR, '__init__.py')
        if not os.path.isfile(init):
            raise MitogenLoadError(
                'the vendored Mitogen core is missing from %s: run tools/vendor-mitogen '
                '(or install a built velocity.mitogen collection, which contains it)' % PACKAGE_DIR
            )
        spec = importlib.util.spec_from_file_location('mitogen', init, submodule_search_locations=[PACKAGE_DIR])
        if spec is None or spec.loader is None:  # only for a path that is not a .py file
            raise MitogenLoadError('cannot load the vendored Mitogen core from %s' % init)
        module = importlib.util.module_from_spec(spec)
        sys.modules['mitogen'] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop('mitogen', None)
            raise
        if getattr(module, '__version__', None) != EXPECTED_VERSION:
            sys.modules.pop('mitogen', None)
            raise MitogenLoadError(
                'the vendored Mitogen core at %s is version %s, expected %s: run tools/vendor-mitogen --force'
                % (PACKAGE_DIR, _version_text(module), '.'.join(map(str, EXPECTED_VERSION)))
            )
        return module
