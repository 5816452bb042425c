# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Become as a Mitogen connection that runs the command Ansible's become plugin built.

This module util is PRIVATE to the collection. The controller asks the become
plugin (sudo, su, or any plugin of the same kind) for its command around a
placeholder, so executable, flags, prompt and success marker are exactly stock's.
Here the placeholder becomes the Python boot command, the result runs under
``/bin/sh -c`` on a terminal, and the prompt/failure texts the controller sent
drive the password conversation. It runs in the multiplexer (become on a local
connection) or in the interpreter of the previous hop, which starts the child.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.velocity.mitogen.plugins.module_utils import _mitogen_loader

_mitogen_loader.load()  # in the multiplexer: the vendored core; in a target: the one it runs on

import mitogen.core  # noqa: E402  pylint: disable=wrong-import-position
import mitogen.parent  # noqa: E402  pylint: disable=wrong-import-position

PLACEHOLDER = 'VELOCITY_MITOGEN_BOOT_COMMAND'  # plugin_utils._hops.BOOT_PLACEHOLDER

# Contexts whose login answered a password prompt: under stock every command run on
# a terminal with this become account shows the line end typed after the password.
prompted: set[int] = set()


class PasswordError(mitogen.core.StreamError):
    pass


def _dquote(text: str) -> str:
    """Quote for sh with no single quote in the result, so that the plugin's own
    single-quoting around the placeholder, at any depth, leaves it intact."""
    if re.match(r'^[\w@%+=:,./-]+$', text):
        return text
    quoted = re.sub(r'([\\"$`])', r'\\\1', text).replace("'", '$(printf \\\\047)')
    return '"%s"' % quoted


class Options(mitogen.parent.Options):
    method: str = u'become'
    username: str | None = None
    command: str | None = None
    password: str | None = None
    prompt: str | None = None
    incorrect: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    def __init__(self, command: str, method: str = u'become', username: str | None = None,
                 password: str | None = None, prompt: str | None = None, incorrect: t.Iterable[str] | None = (),
                 missing: t.Iterable[str] | None = (), **kwargs: t.Any) -> None:
        super(Options, self).__init__(**kwargs)
        self.command = command
        self.method = mitogen.core.to_text(method)
        self.username = mitogen.core.to_text(username or u'root')
        self.password = password
        self.prompt = prompt
        self.incorrect = tuple(incorrect or ())
        self.missing = tuple(missing or ())


def _any_of(texts: t.Sequence[str]) -> re.Pattern[bytes] | None:
    if not texts:
        return None
    return re.compile(b'|'.join(re.escape(mitogen.core.to_text(t).encode('utf-8')) for t in texts))


class BootstrapProtocol(mitogen.parent.BootstrapProtocol):
    """Mitogen's bootstrap, plus the password conversation of the become plugin."""
    password_sent = False

    def setup_patterns(self, conn: t.Any) -> None:
        options = conn.options
        patterns = list(mitogen.parent.BootstrapProtocol.PATTERNS)
        partial = list(mitogen.parent.BootstrapProtocol.PARTIAL_PATTERNS)
        incorrect = _any_of(options.incorrect)
        if incorrect is not None:
            patterns.append((incorrect, type(self)._on_incorrect))
        missing = _any_of(options.missing)
        if missing is not None:
            patterns.append((missing, type(self)._on_missing))
        if options.prompt:
            partial.append((re.compile(options.prompt.encode('utf-8'), re.I), type(self)._on_prompt))
        self.PATTERNS = patterns
        self.PARTIAL_PATTERNS = partial

    def _fail(self, what: str) -> None:
        conn = self.stream.conn
        conn._fail_connection(PasswordError('%s %s password' % (what, conn.options.method)))

    def _on_incorrect(self, line: bytes, match: re.Match[bytes]) -> None:
        self._fail('Incorrect')

    def _on_missing(self, line: bytes, match: re.Match[bytes]) -> None:
        self._fail('Missing')

    def _on_prompt(self, line: bytes, match: re.Match[bytes]) -> None:
        password = self.stream.conn.options.password
        if password is None:
            return self._fail('Missing')
        if self.password_sent:
            return self._fail('Incorrect')
        self.stream.transmit_side.write((password + '\n').encode('utf-8'))
        self.password_sent = True
        prompted.add(self.stream.conn.context.context_id)


class Connection(mitogen.parent.Connection):
    options_class = Options
    stream_protocol_class = BootstrapProtocol
    # The password is typed on a terminal, as it is under stock's ssh -tt.
    create_child = staticmethod(mitogen.parent.tty_create_child)
    child_is_immediate_subprocess = False

    def _get_name(self) -> str:
        return u'%s.%s' % (self.options.method, self.options.username)

    def stream_factory(self) -> t.Any:
        stream = super(Connection, self).stream_factory()
        stream.protocol.setup_patterns(self)
        return stream

    def get_boot_command(self) -> list[str]:
        boot = ' '.join(_dquote(arg) for arg in super(Connection, self).get_boot_command())
        return ['/bin/sh', '-c', self.options.command.replace(PLACEHOLDER, 'exec ' + boot)]


@mitogen.core.takes_econtext
def connect_via(kwargs: dict[str, t.Any], econtext: t.Any) -> dict[str, t.Any]:
    """Start the become child from this interpreter: Mitogen's own proxy connect, for our class."""
    mitogen.parent.upgrade_router(econtext)
    try:
        context = econtext.router._connect(klass=Connection, **kwargs)
    except PasswordError as exc:
        return {'id': None, 'name': None, 'msg': str(exc), 'kind': 'password'}
    except mitogen.core.StreamError as exc:
        # Router._connect turns the connect timeout into a StreamError with this text.
        kind = 'timeout' if str(exc) == econtext.router.connection_timeout_msg else 'error'
        return {'id': None, 'name': None, 'msg': str(exc), 'kind': kind}
    return {'id': context.context_id, 'name': context.name, 'msg': None, 'kind': None,
            'prompted': context.context_id in prompted}
