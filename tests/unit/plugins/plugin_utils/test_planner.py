# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.velocity.mitogen.plugins.plugin_utils import _planner


@pytest.mark.parametrize('source, style', [
    (b'#!/usr/bin/python\nfrom ansible.module_utils.basic import AnsibleModule\n', 'python'),
    (b'#!/usr/bin/python\nimport ansible.module_utils.basic\n', 'python'),
    (b'from ansible_collections.ns.coll.plugins.module_utils.x import y\n', 'python'),
    (b'from ..module_utils.basic import AnsibleModule\n', 'python'),
    (b'#<<INCLUDE_ANSIBLE_MODULE_COMMON>>\n', 'python'),
    (b'#!/bin/sh\nJSON="<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>"\n', 'jsonargs'),
    (b'#!/bin/sh\n# WANT_JSON\ncat "$1"\n', 'want_json'),
    (b'#!/bin/sh\necho "{\\"changed\\": false}"\n', 'old'),
    (b'#!powershell\n#Requires -Module Ansible.ModuleUtils.Legacy\n', 'powershell'),
    (b'\x7fELF\x02\x01\x01\x00\x00\x00' + b'\x00' * 64, 'binary'),
])
def test_detect_style(source, style):
    assert _planner.detect_style(source) == style


def test_binary_wins_over_markers():
    assert _planner.detect_style(b'\x00\x01WANT_JSON') == 'binary'


@pytest.mark.parametrize('value', ['/usr/bin/python3', ' /usr/bin/python3 ', '/usr/bin/env python3',
                                   '/usr/bin/python3; touch /tmp/x', '$(id)'])
def test_interpreter_is_one_argv_element(value):
    assert _planner.parse_interpreter(value) == [value.strip()]


@pytest.mark.parametrize('value', ['', '   ', None, 3])
def test_bad_interpreter_names_the_option(value):
    with pytest.raises(_planner.InterpreterError, match='ansible_python_interpreter'):
        _planner.parse_interpreter(value)


@pytest.mark.parametrize('value, expected', [
    ('auto', True), ('auto_silent', True), ('auto_legacy', True), (None, True), ('', True),
    ('/usr/bin/python3', False), ('python3', False),
])
def test_is_discovery(value, expected):
    assert _planner.is_discovery(value) is expected


def test_split_args_joins_all_sources():
    assert _planner.split_args('-C -o ControlMaster=auto', None, '-o "User Known=x"') == [
        '-C', '-o', 'ControlMaster=auto', '-o', 'User Known=x']


@pytest.mark.parametrize('checking, args, mode', [
    (True, [], 'enforce'),
    (False, [], 'accept'),
    (True, ['-o', 'StrictHostKeyChecking=no'], 'accept'),
    (True, ['-oStrictHostKeyChecking=no'], 'accept'),
    (False, ['-o', 'StrictHostKeyChecking yes'], 'enforce'),
    (False, ['-o', 'UserKnownHostsFile=/dev/null'], 'accept'),
])
def test_host_key_mode(checking, args, mode):
    assert _planner.host_key_mode(checking, args) == mode
