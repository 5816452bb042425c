# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The parity checker's own rules (tests/integration/targets/setup_velocity/compare.py)."""

from __future__ import annotations

import copy
import importlib.util
import os

import pytest

COMPARE = os.path.join(os.path.dirname(__file__), '..', '..', 'integration', 'targets', 'setup_velocity', 'compare.py')


@pytest.fixture(scope='module')
def compare():
    spec = importlib.util.spec_from_file_location('velocity_compare', COMPARE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gathered():
    """A gather_facts result as a Linux host reports it (abridged, but over the 20 facts that mark one)."""
    facts = {'ansible_%s' % name: 'x' for name in (
        'architecture', 'bios_vendor', 'distribution_release', 'distribution_version', 'domain', 'fqdn', 'kernel',
        'machine', 'nodename', 'os_family', 'pkg_mgr', 'processor_count', 'selinux', 'service_mgr', 'user_dir',
        'user_shell', 'virtualization_type', 'env', 'python', 'apparmor')}
    facts.update({
        'ansible_hostname': 'target', 'ansible_distribution': 'Debian', 'ansible_system': 'Linux',
        'ansible_python_version': '3.11.2', 'ansible_user_id': 'vmlogin',
        'discovered_interpreter_python': '/usr/bin/python3',
        'ansible_interfaces': ['lo', 'eth0'],
        'ansible_lo': {'device': 'lo', 'active': True, 'mtu': 65536, 'type': 'loopback'},
        'ansible_eth0': {'device': 'eth0', 'active': True, 'macaddress': '02:42:ac:11:00:02', 'type': 'ether'},
        'ansible_all_ipv4_addresses': ['172.17.0.2'],
        'ansible_default_ipv4': {'address': '172.17.0.2', 'interface': 'eth0'},
        'ansible_mounts': [{'mount': '/'}], 'ansible_memfree_mb': 900, 'ansible_uptime_seconds': 100,
    })
    return facts


def test_host_changes_between_runs_are_not_differences(compare):
    first, second = gathered(), gathered()
    second['ansible_interfaces'] = ['lo', 'eth0', 'veth1a2b-3', 'br-0f:1']
    second['ansible_veth1a2b_3'] = {'device': 'veth1a2b-3', 'active': True, 'macaddress': 'aa:bb:cc:dd:ee:ff'}
    second['ansible_br_0f_1'] = {'device': 'br-0f:1', 'active': False, 'type': 'bridge'}
    # An interface that appeared after ansible_interfaces was read.
    second['ansible_docker0'] = {'device': 'docker0', 'active': False, 'macaddress': '02:42:00:00:00:01'}
    del second['ansible_eth0']
    second['ansible_interfaces'].remove('eth0')
    second['ansible_all_ipv4_addresses'] = ['172.17.0.2', '10.9.9.9']
    second['ansible_default_ipv4'] = {}
    second['ansible_mounts'] = [{'mount': '/'}, {'mount': '/mnt'}]
    second['ansible_memfree_mb'] = 12
    second['ansible_uptime_seconds'] = 160
    assert compare.normalize({'ansible_facts': first}) == compare.normalize({'ansible_facts': second})


def test_a_missing_fact_is_a_difference(compare):
    first, second = gathered(), gathered()
    del second['ansible_distribution_release']
    assert compare.normalize({'ansible_facts': first}) != compare.normalize({'ansible_facts': second})


def test_stable_fact_values_are_compared(compare):
    first, second = gathered(), gathered()
    second['discovered_interpreter_python'] = '/usr/bin/python3.9'
    assert compare.normalize({'ansible_facts': first}) != compare.normalize({'ansible_facts': second})


def test_small_fact_dicts_are_compared_whole(compare):
    # set_fact and friends: every value counts.
    facts = {'fact_a': 'target', 'ansible_eth0': {'device': 'eth0', 'active': True}}
    changed = copy.deepcopy(facts)
    changed['ansible_eth0']['active'] = False
    assert compare.normalize({'ansible_facts': facts}) != compare.normalize({'ansible_facts': changed})


def test_stats_are_counted_per_op(compare, tmp_path):
    path = tmp_path / 'stats'
    path.write_text('make_tmp\nrun_module\nrun_module\nput\n\nremove_tree\n', encoding='utf-8')
    stats = compare.read_stats(str(path))
    assert stats == {'make_tmp': 1, 'run_module': 2, 'put': 1, 'remove_tree': 1}
    assert sum(stats[op] for op in compare.TASK_OPS) == 3
    assert compare.describe_stats(stats) == '5 requests (make_tmp 1, put 1, remove_tree 1, run_module 2)'


def test_no_stats_file_is_no_requests(compare, tmp_path):
    stats = compare.read_stats(str(tmp_path / 'absent'))
    assert not stats
    assert compare.describe_stats(stats) == 'no requests'
