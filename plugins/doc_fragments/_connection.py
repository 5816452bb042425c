# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This doc fragment is PRIVATE to the collection.

from __future__ import annotations


class ModuleDocFragment:
    # Options every velocity.mitogen connection has: which Python the persistent interpreter runs.
    DOCUMENTATION = r"""
options:
  python_interpreter:
    description:
      - The Python interpreter the persistent interpreter on the target runs, the same setting modules use in stock Ansible.
      - V(auto) and V(auto_silent) discover it the way ansible-core does, from O(interpreter_python_fallback).
      - The value is split into words without a shell, so shell syntax such as C(;) or C($(...)) runs nothing.
    type: string
    default: auto
    ini:
      - section: defaults
        key: interpreter_python
    env:
      - name: ANSIBLE_PYTHON_INTERPRETER
    vars:
      - name: ansible_python_interpreter
  interpreter_python_fallback:
    description:
      - Ordered list of Python interpreters tried by interpreter discovery; defaults to ansible-core's C(INTERPRETER_PYTHON_FALLBACK).
    type: list
    elements: string
    vars:
      - name: ansible_interpreter_python_fallback
"""
