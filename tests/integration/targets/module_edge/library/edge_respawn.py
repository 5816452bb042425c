#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import sys

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.respawn import has_respawned, respawn_module


def main():
    module = AnsibleModule(argument_spec=dict(twice=dict(type='bool', default=False)))
    if module.params['twice'] or not has_respawned():
        respawn_module(sys.executable)
    module.exit_json(respawned=has_respawned())


if __name__ == '__main__':
    main()
