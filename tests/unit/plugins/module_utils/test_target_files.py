# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.velocity.mitogen.plugins.module_utils import _target_files as files


def test_write_file_is_atomic_and_leaves_no_temp(tmp_path):
    dest = tmp_path / 'out.txt'
    dest.write_bytes(b'old')
    files.write_file(str(dest), b'new content', 0o640)
    assert dest.read_bytes() == b'new content'
    assert stat.S_IMODE(dest.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ['out.txt']


def test_write_file_default_mode_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        files.write_file(str(tmp_path / 'f'), b'x')
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / 'f').stat().st_mode) == 0o644


def test_write_file_failure_removes_temp(tmp_path):
    with pytest.raises(OSError):
        files.write_file(str(tmp_path / 'missing-dir' / 'f'), b'x')
    assert os.listdir(tmp_path) == []


def test_streamed_upload_and_abort(tmp_path):
    dest = str(tmp_path / 'big')
    token = files.begin_upload(dest)
    files.upload_chunk(token, b'a' * 10)
    files.upload_chunk(token, b'b' * 5)
    assert not os.path.exists(dest)  # nobody sees a partial file
    files.finish_upload(token, 0o600)
    assert open(dest, 'rb').read() == b'a' * 10 + b'b' * 5
    token = files.begin_upload(str(tmp_path / 'other'))
    files.abort_upload(token)
    assert sorted(os.listdir(tmp_path)) == ['big']


def test_chunks_and_size(tmp_path):
    path = tmp_path / 'data'
    path.write_bytes(b'0123456789')
    assert files.file_size(str(path)) == 10
    assert files.read_chunk(str(path), 3, 4) == b'3456'


def test_temp_dirs(tmp_path):
    base = str(tmp_path / 'a' / 'b')
    files.make_dirs(base)
    files.make_dirs(base)  # idempotent, like mkdir -p
    files.make_dir(base + '/ansible-tmp-1')
    assert stat.S_IMODE(os.stat(base + '/ansible-tmp-1').st_mode) == 0o700
    files.remove_tree(base)
    files.remove_tree(base)
    assert not os.path.exists(base)


def test_chmod_add(tmp_path):
    path = tmp_path / 'script'
    path.write_bytes(b'#!/bin/sh\n')
    os.chmod(str(path), 0o600)
    files.chmod_add([str(path)], 'u+x')
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    files.chmod_add([str(path)], 'go+r')
    assert stat.S_IMODE(path.stat().st_mode) == 0o744
