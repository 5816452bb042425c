# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test helper: record every task result of a run as JSON lines for comparison."""

from __future__ import annotations

DOCUMENTATION = r"""
name: velocity_record
type: aggregate
short_description: Record task results for the velocity.mitogen parity tests
description:
  - Writes one JSON line per task result to the file named by E(VELOCITY_RECORD).
options: {}
"""

import json
import os

from ansible.plugins.callback import CallbackBase


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value if type(value) in (int, float, bool, type(None)) else str.__str__(value) if isinstance(value, str) else value
    return repr(value)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'velocity_record'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._path = os.environ.get('VELOCITY_RECORD')

    def _write(self, status, result):
        if not self._path:
            return
        record = {
            'status': status,
            'host': result.host.get_name(),
            'task': result.task.get_name(),
            'action': result.task.action,
            'result': _plain(dict(result.result)),
        }
        with open(self._path, 'a', encoding='utf-8') as fp:
            fp.write(json.dumps(record, sort_keys=True, default=repr) + '\n')

    def v2_runner_on_ok(self, result):
        self._write('changed' if result.result.get('changed') else 'ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write('failed', result)

    def v2_runner_on_skipped(self, result):
        self._write('skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._write('unreachable', result)

    def v2_runner_item_on_ok(self, result):
        self._write('item_ok', result)

    def v2_runner_item_on_failed(self, result):
        self._write('item_failed', result)

    def v2_runner_item_on_skipped(self, result):
        self._write('item_skipped', result)
