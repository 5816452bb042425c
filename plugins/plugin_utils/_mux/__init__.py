# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The connection multiplexer: one process per controller run that owns every target connection.

This plugin util package is PRIVATE to the collection. Its rooms:

* ``process``: where the multiplexer lives, who starts it, and how it ends with the controller;
* ``server``: the serving loop, the op table and each worker's call chains;
* ``pool``: one live Mitogen context per hop chain, connect and retire;
* ``modules``: module packaging and the module cache;
* ``files``: file transfer and task temp dirs.
"""
