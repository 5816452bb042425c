#!/usr/bin/python
from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(word=dict(type='str')))
    module.exit_json(changed=False, msg='legacy got %s' % module.params['word'])


if __name__ == '__main__':
    main()
