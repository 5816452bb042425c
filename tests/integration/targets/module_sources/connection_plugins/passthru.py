# A connection type velocity.mitogen does not carry: it must keep working on the stock path.
from __future__ import annotations

DOCUMENTATION = r'''
name: passthru
short_description: stock local connection under another name
description: [test plugin]
author: test
'''

from ansible.plugins.connection.local import Connection as LocalConnection


class Connection(LocalConnection):
    transport = 'passthru'
