#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.embed import EmbedManager  # pylint: disable=import-error,no-name-in-module  # ansible-core >= 2.21

missing = EmbedManager.embed("ansible.module_utils", "velocity_no_such_resource.txt")

if __name__ == '__main__':
    AnsibleModule(argument_spec={}).exit_json(resource=missing.resource)
