# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Record: keyword-only construction, read-only, equality by value, secrets out of repr, pickle."""

from __future__ import annotations

import copy
import pickle

import pytest

from ansible_collections.velocity.mitogen.plugins.plugin_utils._record import Record


class Point(Record):
    __slots__ = ('x', 'y', 'label')
    _defaults = {'label': None}


class Other(Record):
    __slots__ = ('x', 'y', 'label')
    _defaults = {'label': None}


class Login(Record):
    __slots__ = ('user', 'password', 'token')
    _secret = ('password', 'token')


def test_fields_by_keyword_with_defaults():
    point = Point(x=1, y=2)
    assert (point.x, point.y, point.label) == (1, 2, None)
    assert Point(y=2, x=1, label='a').label == 'a'


def test_positional_arguments_are_refused():
    with pytest.raises(TypeError):
        Point(1, 2)  # pylint: disable=too-many-function-args


def test_missing_field_is_named():
    with pytest.raises(TypeError, match=r"Point\(\) needs the field 'y'"):
        Point(x=1)


def test_unknown_fields_are_named_sorted():
    with pytest.raises(TypeError, match=r'Point\(\) has no field w, z'):
        Point(x=1, y=2, z=3, w=4)


def test_read_only():
    point = Point(x=1, y=2)
    with pytest.raises(AttributeError, match='read-only'):
        point.x = 5
    with pytest.raises(AttributeError):
        point.extra = 1
    assert point.x == 1
    assert not hasattr(point, '__dict__')


def test_fields_cannot_be_deleted():
    point = Point(x=1, y=2)
    with pytest.raises(AttributeError, match='read-only'):
        del point.x


def test_defaults_are_not_shared_state_of_an_instance():
    # The defaults mapping belongs to the class; building a record never changes it.
    before = dict(Point._defaults)
    Point(x=1, y=2, label='changed')
    assert Point._defaults == before


def test_equality_by_type_and_value():
    assert Point(x=1, y=[2]) == Point(x=1, y=[2])
    assert Point(x=1, y=2) != Point(x=1, y=3)
    assert Point(x=1, y=2) != Other(x=1, y=2)  # same fields, another record
    assert Point(x=1, y=2) != (1, 2, None)
    assert Point(x=1, y=2) != object()


def test_not_hashable():
    with pytest.raises(TypeError, match='not hashable'):
        hash(Point(x=1, y=2))


def test_repr_shows_fields_in_order():
    assert repr(Point(x=1, y='b')) == "Point(x=1, y='b', label=None)"


def test_repr_hides_secret_fields():
    text = repr(Login(user='deploy', password='hunter2-secret', token={'t': 'tok-secret'}))
    assert text == "Login(user='deploy', password=<hidden>, token=<hidden>)"
    assert 'secret' not in text and 'secret' not in str(Login(user='u', password='x-secret', token=None))


def test_repr_of_a_nested_record_hides_its_secrets():
    text = repr(Point(x=Login(user='u', password='nested-secret', token=None), y=[Login(user='v', password='s2', token=1)]))
    assert 'nested-secret' not in text and 's2' not in text and "user='u'" in text and "user='v'" in text


@pytest.mark.parametrize('protocol', range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip(protocol):
    original = Login(user='u', password='p', token={'a': [1, 2]})
    copied = pickle.loads(pickle.dumps(original, protocol=protocol))
    assert copied == original and copied is not original
    assert copied.__class__ is Login
    with pytest.raises(AttributeError):
        copied.user = 'x'  # still read-only after unpickling


def test_copy_and_deepcopy():
    original = Point(x=[1], y={'k': 'v'})
    shallow, deep = copy.copy(original), copy.deepcopy(original)
    assert shallow == original == deep
    assert shallow.x is original.x and deep.x is not original.x
