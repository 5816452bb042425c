#!/usr/bin/python
import json

ARGS = json.loads('<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>')
print(json.dumps({'changed': False, 'msg': 'json_args got %s' % ARGS.get('word')}))
