#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.embed import EmbedManager  # pylint: disable=import-error,no-name-in-module  # ansible-core >= 2.21

basic_source = EmbedManager.embed("ansible.module_utils.csharp", "Ansible.Basic.cs")


def main():
    module = AnsibleModule(argument_spec={})
    with basic_source.path_context_manager as path:
        module.exit_json(embedded="namespace Ansible.Basic" in path.read_text())


if __name__ == '__main__':
    main()
