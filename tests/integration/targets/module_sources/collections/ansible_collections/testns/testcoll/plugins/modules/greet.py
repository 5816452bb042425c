#!/usr/bin/python
from __future__ import annotations

DOCUMENTATION = r'''
module: greet
short_description: test module
options:
  name: {type: str, required: true}
'''

from ansible.module_utils.basic import AnsibleModule
from ..module_utils.greeting import greet
from ansible_collections.testns.testcoll.plugins.module_utils import greeting


def main():
    module = AnsibleModule(argument_spec=dict(name=dict(type='str', required=True)), supports_check_mode=True)
    module.warn('a warning from greet')
    module.deprecate('a deprecation from greet', version='10.0.0', collection_name='testns.testcoll')  # pylint: disable=wrong-collection-deprecated
    module.exit_json(changed=False, msg=greet(module.params['name']), same=greeting.greet('x'))


if __name__ == '__main__':
    main()
