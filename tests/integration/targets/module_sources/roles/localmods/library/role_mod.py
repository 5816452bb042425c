#!/usr/bin/python
from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.role_helper import shout


def main():
    module = AnsibleModule(argument_spec=dict(text=dict(type='str', default='role')))
    module.exit_json(changed=True, out=shout(module.params['text']))


if __name__ == '__main__':
    main()
