#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import resource
import sys

from ansible.module_utils.basic import AnsibleModule


class Die(BaseException):
    """Escapes AnsiballZ's handler: the process dies with a traceback."""


def main():
    module = AnsibleModule(argument_spec=dict(mode=dict(type='str', default='ok')))
    mode = module.params['mode']
    if mode == 'die':
        raise Die('boom')
    if mode == 'error':
        raise ValueError('handled by the loader')
    if mode == 'return':
        return
    module.exit_json(spec_name=sys.modules['__main__'].__spec__.name,
                     nofile=resource.getrlimit(resource.RLIMIT_NOFILE)[0])


if __name__ == '__main__':
    main()
