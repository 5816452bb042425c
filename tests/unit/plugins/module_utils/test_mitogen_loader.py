# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for _mitogen_loader: the vendored Mitogen core loads as ``mitogen`` and works.

These run in ansible-test's module_utils (target) context: isolated from
controller code, on target Pythons. They need the vendored core, which
tools/devenv.py puts into the staged tree that ansible-test runs in.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.velocity.mitogen.plugins.module_utils import _mitogen_loader
from ansible_collections.velocity.mitogen.plugins.module_utils import _target_probe

CALL_TIMEOUT = 60
SUBPROCESS_TIMEOUT = 120

needs_vendored = pytest.mark.skipif(
    not os.path.isfile(os.path.join(_mitogen_loader.PACKAGE_DIR, 'core.py')),
    reason='vendored Mitogen core missing: run tools/vendor-mitogen (tools/run-tests does it in the stage)',
)


def _other_pythons():
    """Child interpreters to try: ours, and the system one when it is a different file."""
    pythons = [sys.executable]
    system = '/usr/bin/python3'
    if os.path.isfile(system) and os.path.realpath(system) != os.path.realpath(sys.executable):
        pythons.append(system)
    return pythons


def _run_isolated(code, tmp_path):
    """Run code in a fresh interpreter that loads _mitogen_loader by file path (stdlib only)."""
    script = tmp_path / 'probe.py'
    script.write_text(
        'import importlib.util, sys\n'
        'spec = importlib.util.spec_from_file_location("velocity_loader_under_test", %r)\n'
        'loader = importlib.util.module_from_spec(spec)\n'
        'spec.loader.exec_module(loader)\n' % _mitogen_loader.__file__
        + textwrap.dedent(code)
    )
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    return subprocess.run(
        [sys.executable, '-I', str(script)], cwd=str(tmp_path), env=env, capture_output=True,
        text=True, timeout=SUBPROCESS_TIMEOUT, check=False,
    )


@pytest.fixture(scope='module')
def mitogen_router():
    """A master Router over a fresh Broker, always shut down (with a bounded join)."""
    mitogen = _mitogen_loader.load()
    import mitogen.master  # pylint: disable=import-outside-toplevel

    broker = mitogen.master.Broker()
    router = mitogen.master.Router(broker)
    try:
        yield mitogen, router
    finally:
        broker.shutdown()
        broker.join()


@needs_vendored
def test_load_registers_vendored_core():
    mitogen = _mitogen_loader.load()
    import mitogen.core  # pylint: disable=import-outside-toplevel

    assert sys.modules['mitogen'] is mitogen
    vendored = os.path.realpath(_mitogen_loader.PACKAGE_DIR)
    assert os.path.dirname(os.path.realpath(mitogen.core.__file__)) == vendored
    assert mitogen.__version__ == _mitogen_loader.EXPECTED_VERSION
    # Calling again returns the same package rather than loading a second copy.
    assert _mitogen_loader.load() is mitogen


@needs_vendored
@pytest.mark.parametrize('python', _other_pythons())
def test_local_child_runs_calls(mitogen_router, python):
    _mitogen, router = mitogen_router
    context = router.local(python_path=python, connect_timeout=CALL_TIMEOUT)
    try:
        pid = context.call_async(os.getpid).get(timeout=CALL_TIMEOUT).unpickle()
        assert isinstance(pid, int)
        assert pid != os.getpid()

        # Collection code the child does not have: served by the master's importer.
        child_pid, child_python, name = context.call_async(_target_probe.whoami).get(timeout=CALL_TIMEOUT).unpickle()
        assert child_pid == pid
        assert os.path.realpath(child_python) == os.path.realpath(python)
        assert name == _target_probe.__name__
    finally:
        context.shutdown(wait=True)


@needs_vendored
def test_conflicting_mitogen_is_refused(tmp_path):
    fake_root = tmp_path / 'fake'
    (fake_root / 'mitogen').mkdir(parents=True)
    (fake_root / 'mitogen' / '__init__.py').write_text('__version__ = (0, 3, 1)\n')
    result = _run_isolated('''
        sys.path.insert(0, %r)
        import mitogen
        try:
            loader.load()
        except loader.MitogenLoadError as exc:
            print("ERROR:", exc)
            sys.exit(3)
        print("loaded", sys.modules["mitogen"].__file__)
    ''' % str(fake_root), tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    message = result.stdout
    assert '0.3.1' in message
    assert '.'.join(map(str, _mitogen_loader.EXPECTED_VERSION)) in message
    assert str(fake_root / 'mitogen' / '__init__.py') in message
    assert _mitogen_loader.PACKAGE_DIR in message


def test_missing_vendored_tree_names_the_fix(tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    result = _run_isolated('''
        loader.PACKAGE_DIR = %r
        sys.modules.pop("mitogen", None)
        try:
            loader.load()
        except loader.MitogenLoadError as exc:
            print("ERROR:", exc)
            sys.exit(3)
        print("loaded")
    ''' % str(empty), tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert 'tools/vendor-mitogen' in result.stdout
    assert str(empty) in result.stdout
