#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.velocity_no_such_util import thing  # pylint: disable=import-error

AnsibleModule(argument_spec={}).exit_json(thing=thing)
