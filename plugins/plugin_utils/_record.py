# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A plain record with named fields, for the protocol, hop and transport records.

This plugin util is PRIVATE to the collection. In connection-only mode every
worker defines these classes again for its one task; a dataclass costs about a
millisecond to define, a slotted class almost nothing. Records are built by
keyword only, compare by value, and pickle.
"""

from __future__ import annotations

import typing as t


class Record:
    __slots__: tuple[str, ...] = ()
    _defaults: t.ClassVar[dict[str, t.Any]] = {}
    _secret: t.ClassVar[tuple[str, ...]] = ()  # fields left out of repr()

    def __init__(self, **values: t.Any) -> None:
        for name in self.__slots__:
            if name in values:
                value = values.pop(name)
            elif name in self._defaults:
                value = self._defaults[name]
            else:
                raise TypeError('%s() needs the field %r' % (type(self).__name__, name))
            object.__setattr__(self, name, value)
        if values:
            raise TypeError('%s() has no field %s' % (type(self).__name__, ', '.join(sorted(values))))

    def __setattr__(self, name: str, value: t.Any) -> None:
        raise AttributeError('%s records are read-only' % type(self).__name__)

    def __delattr__(self, name: str) -> None:
        raise AttributeError('%s records are read-only' % type(self).__name__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __hash__(self) -> int:
        raise TypeError('%s records are not hashable' % type(self).__name__)

    def __repr__(self) -> str:
        return '%s(%s)' % (type(self).__name__, ', '.join(
            '%s=%s' % (n, '<hidden>' if n in self._secret else repr(getattr(self, n))) for n in self.__slots__))

    def __getstate__(self) -> dict[str, t.Any]:
        return {n: getattr(self, n) for n in self.__slots__}

    def __setstate__(self, state: dict[str, t.Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
