# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""File transfer and task temp dirs, against a local child Python (it shares our filesystem)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _wire
from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import files as _files
from ansible_collections.velocity.mitogen.plugins.plugin_utils._mux import pool as _pool
from ansible_collections.velocity.mitogen.tests.unit.plugins.plugin_utils._mux.mux_helpers import TIMEOUT, bounded, local_hop

PLAN = [local_hop('web1')]


@pytest.fixture
def files(router, pool):
    files = _files.Files(router, pool)
    try:
        yield files
    finally:
        assert bounded(files.shutdown), 'the file service did not stop within %ds' % TIMEOUT


def leftovers(directory):
    return [name for name in os.listdir(str(directory)) if name.endswith('.part')]


def test_task_temp_dirs(files, pool, session, tmp_path, monkeypatch):
    waited = []
    real_call = _pool.call

    def call(context, fn, *args, **kwargs):
        waited.append(fn.__name__)
        return real_call(context, fn, *args, **kwargs)

    monkeypatch.setattr(_pool, 'call', call)
    context = pool.context_for(PLAN)

    # A base of the login user: made (and waited for) once per run, as stock's mkdir -p.
    base = str(tmp_path / 'remote' / 'tmp')
    first = files.make_tmp(session, _wire.MakeTmp(plan=PLAN, base=base, basefile='ansible-tmp-1', system=False))
    second = files.make_tmp(session, _wire.MakeTmp(plan=PLAN, base=base, basefile='ansible-tmp-2', system=False))
    assert (first, second) == (base + '/ansible-tmp-1', base + '/ansible-tmp-2')
    session.sync(context)
    assert waited.count('make_dirs') == 1  # the second knew the base
    assert os.stat(base).st_mode & 0o777 == 0o700 and os.stat(first).st_mode & 0o777 == 0o700

    # ~ is the login user's home on the target.
    monkeypatch.setattr(pool, 'info', lambda c: {'home': str(tmp_path / 'home')})
    third = files.make_tmp(session, _wire.MakeTmp(plan=PLAN, base='~/.ansible/tmp', basefile='ansible-tmp-3', system=False))
    assert third == str(tmp_path / 'home' / '.ansible' / 'tmp' / 'ansible-tmp-3')

    # A system temp dir is not made first.
    system = files.make_tmp(session, _wire.MakeTmp(plan=PLAN, base=str(tmp_path), basefile='ansible-tmp-4', system=True))
    assert system == str(tmp_path / 'ansible-tmp-4') and waited.count('make_dirs') == 2
    session.sync(context)
    assert os.path.isdir(third) and os.path.isdir(system)

    script = os.path.join(first, 'run.sh')
    open(script, 'w').close()
    os.chmod(script, 0o600)
    files.chmod(session, context, [script], 'u+x')
    files.remove_tree(session, context, second)
    session.sync(context)
    assert os.stat(script).st_mode & 0o777 == 0o700 and not os.path.exists(second)


def test_put_and_fetch_whole_files_only(files, pool, session, tmp_path, monkeypatch):
    context = pool.context_for(PLAN)
    small = tmp_path / 'small'
    small.write_bytes(b'small file\n')
    files.put(session, _wire.Put(plan=PLAN, src=str(small), dest=str(tmp_path / 'small.copy')))
    session.sync(context)
    assert (tmp_path / 'small.copy').read_bytes() == b'small file\n'

    monkeypatch.setattr(_files, 'INLINE_LIMIT', 1000)  # bigger files are pulled through the FileService
    large = tmp_path / 'large'
    data = os.urandom(300 * 1024 + 17)
    large.write_bytes(data)
    files.put(session, _wire.Put(plan=PLAN, src=str(large), dest=str(tmp_path / 'large.copy')))
    assert (tmp_path / 'large.copy').read_bytes() == data  # waited for

    monkeypatch.setattr(_files, 'CHUNK', 64 * 1024)  # several windows of chunks
    out = tmp_path / 'fetched'
    files.fetch(session, _wire.Fetch(plan=PLAN, src=str(large), dest=str(out)))
    assert out.read_bytes() == data
    assert os.stat(str(out)).st_mode & 0o777 == 0o666 & ~_files._UMASK
    files.fetch(session, _wire.Fetch(plan=PLAN, src=str(tmp_path / 'small.copy'), dest=str(out)))  # replaces
    assert out.read_bytes() == b'small file\n'
    empty = tmp_path / 'empty'
    empty.write_bytes(b'')
    files.fetch(session, _wire.Fetch(plan=PLAN, src=str(empty), dest=str(tmp_path / 'empty.copy')))
    assert (tmp_path / 'empty.copy').read_bytes() == b''
    assert leftovers(tmp_path) == []

    # Failures leave no partial file.
    out = tmp_path / 'out'
    out.write_bytes(b'before')
    with pytest.raises(_wire.Failure) as info:
        files.fetch(session, _wire.Fetch(plan=PLAN, src=str(tmp_path / 'missing'), dest=str(out)))
    assert info.value.kind == _wire.ErrorKind.ERROR and 'No such file or directory' in info.value.message
    assert out.read_bytes() == b'before' and leftovers(tmp_path) == []
    directory = tmp_path / 'a-directory'
    directory.mkdir()
    with pytest.raises(_wire.Failure, match='Is a directory'):  # fails while reading chunks
        files.fetch(session, _wire.Fetch(plan=PLAN, src=str(directory), dest=str(out)))
    assert out.read_bytes() == b'before' and leftovers(tmp_path) == []

    # A write that was not waited for fails the next request that waits.
    small = tmp_path / 'small'
    small.write_bytes(b'x')
    files.put(session, _wire.Put(plan=PLAN, src=str(small), dest=str(tmp_path / 'no' / 'dir' / 'small')))
    with pytest.raises(_wire.Failure, match='No such file or directory'):
        files.fetch(session, _wire.Fetch(plan=PLAN, src=str(small), dest=str(out)))
    assert out.read_bytes() == b'before' and leftovers(tmp_path) == []
