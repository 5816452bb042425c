# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real Mitogen parts for the multiplexer's rooms: a Broker and Router, and local hops
(a child Python, this one) as targets.

ansible-test runs every test in a fork of its own, so fixtures are per test and
always shut down what they started, with bounded waits.
"""

from __future__ import annotations

import importlib
import os

import pytest

from ansible_collections.velocity.mitogen.plugins.module_utils import _mitogen_loader
from ansible_collections.velocity.mitogen.tests.unit.plugins.plugin_utils._mux.mux_helpers import TIMEOUT, bounded

VENDORED = os.path.isfile(os.path.join(_mitogen_loader.PACKAGE_DIR, 'core.py'))

if VENDORED:
    # Imported once by the pytest worker, before ansible-test forks it for each test:
    # compiling the Mitogen core again in every test would cost more than the test.
    _mitogen_loader.load()
    import mitogen.master  # noqa: F401  pylint: disable=unused-import
    import mitogen.parent  # noqa: F401  pylint: disable=unused-import
    import mitogen.service  # noqa: F401  pylint: disable=unused-import
    import mitogen.utils  # noqa: F401  pylint: disable=unused-import
    from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import server as _server  # noqa: F401  pylint: disable=unused-import
    from ansible_collections.velocity.mitogen.plugins.plugin_utils import _ansible_compat
    for _name in _ansible_compat.MODULE_RUNTIME_IMPORTS:  # what every module's import closure starts with
        importlib.import_module(_name)


@pytest.fixture
def router():
    """A master Router over its own Broker, like the multiplexer's."""
    if not VENDORED:
        pytest.skip('vendored Mitogen core missing: run tools/vendor-mitogen')
    _mitogen_loader.load()
    import mitogen.master  # pylint: disable=import-outside-toplevel

    broker = mitogen.master.Broker(install_watcher=False)
    router = mitogen.master.Router(broker, max_message_size=512 << 20)
    try:
        yield router
    finally:
        broker.shutdown()
        assert bounded(broker.join), 'the Mitogen broker did not stop within %ds' % TIMEOUT


@pytest.fixture
def pool(router):
    from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import pool as _pool  # pylint: disable=import-outside-toplevel

    pool = _pool.Pool(router)
    try:
        yield pool
    finally:
        assert bounded(pool.shutdown), 'the pool did not shut down within %ds' % TIMEOUT


@pytest.fixture
def session(pool):  # closed before the pool shuts down
    """A worker's session in the multiplexer, closed (its writes synced) afterwards."""
    from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import server as _server  # pylint: disable=import-outside-toplevel

    session = _server.Session()
    try:
        yield session
    finally:
        assert bounded(session.close), 'the session did not close within %ds' % TIMEOUT
