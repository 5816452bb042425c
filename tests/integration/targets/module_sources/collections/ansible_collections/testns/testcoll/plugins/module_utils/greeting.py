from __future__ import annotations


def greet(name):
    return 'hello %s' % name
