# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: files written so that a reader never sees a truncated file.

This module util is PRIVATE to the collection. It runs inside the persistent
interpreter on the target and imports only the standard library.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import typing as t


def write_file(path: str, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` through a hidden temp file, fsync and rename."""
    token = begin_upload(path)
    try:
        upload_chunk(token, data)
    except BaseException:
        abort_upload(token)
        raise
    finish_upload(token, mode)


def pull_file(source: str, dest: str, mode: int | None = None, econtext: t.Any = None) -> None:
    """Stream ``source`` from the controller's FileService into ``dest``, atomically."""
    import mitogen.service
    controller = econtext.router.context_by_id(0)
    token = begin_upload(dest)
    fp = _uploads[token][0]
    try:
        ok, metadata = mitogen.service.FileService.get(context=controller, path=source, out_fp=fp)
    except BaseException:
        abort_upload(token)
        raise
    if not ok:
        abort_upload(token)
        raise IOError('transfer of %s was interrupted (%r)' % (source, metadata))
    finish_upload(token, mode)


pull_file.mitogen_takes_econtext = True  # type: ignore[attr-defined]  # what @takes_econtext sets

# token (the temp file's path) -> (open temp file, final path)
_uploads: dict[str, tuple[t.BinaryIO, str]] = {}


def begin_upload(path: str) -> str:
    """Start a streamed upload into a hidden temp file beside ``path``."""
    directory = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.part', dir=directory)
    token = tmp
    _uploads[token] = (os.fdopen(fd, 'wb'), path)
    return token


def upload_chunk(token: str, data: bytes) -> None:
    _uploads[token][0].write(data)


def finish_upload(token: str, mode: int | None = None) -> None:
    fp, path = _uploads.pop(token)
    try:
        fp.flush()
        os.fsync(fp.fileno())
        fp.close()
        if mode is None:
            # mkstemp creates 0600; match what a plain open() would have made.
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(token, mode)
        os.rename(token, path)
    except BaseException:
        abort_upload(token, fp)
        raise


def abort_upload(token: str, fp: t.BinaryIO | None = None) -> None:
    entry = _uploads.pop(token, None)
    fp = fp or (entry and entry[0])
    if fp is not None:
        try:
            fp.close()
        except OSError:
            pass
    try:
        os.unlink(token)
    except OSError:
        pass


def file_size(path: str) -> int:
    return os.stat(path).st_size


def read_chunk(path: str, offset: int, size: int) -> bytes:
    with open(path, 'rb') as fp:
        fp.seek(offset)
        return fp.read(size)


def make_dirs(path: str) -> None:
    """``mkdir -p`` under umask 077, as the stock shell plugin's mkdtemp does."""
    umask = os.umask(0o077)
    try:
        os.makedirs(path, exist_ok=True)
    finally:
        os.umask(umask)


def make_dir(path: str) -> None:
    os.mkdir(path, 0o700)


def remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


_CHMOD_BITS: dict[str, tuple[int, int, int]] = {
    'u': (stat.S_IRUSR, stat.S_IWUSR, stat.S_IXUSR),
    'g': (stat.S_IRGRP, stat.S_IWGRP, stat.S_IXGRP),
    'o': (stat.S_IROTH, stat.S_IWOTH, stat.S_IXOTH),
}


def chmod_add(paths: t.Iterable[str], mode: str) -> None:
    """``chmod <who>+<perms>`` for symbolic modes such as ``u+x`` or ``u+rx``."""
    who, dummy, perms = mode.partition('+')
    bits = 0
    for w in (who or 'a').replace('a', 'ugo'):
        r, wr, x = _CHMOD_BITS[w]
        bits |= (r if 'r' in perms else 0) | (wr if 'w' in perms else 0) | (x if 'x' in perms else 0)
    for path in paths:
        os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) | bits)
