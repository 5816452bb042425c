#!/usr/bin/python
# WANT_JSON
import json
import sys

with open(sys.argv[1]) as fp:
    args = json.load(fp)
print(json.dumps({'changed': False, 'msg': 'want_json got %s' % args.get('word')}))
