# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every ansible-core internal this collection touches, one function each.

This plugin util is PRIVATE to the collection, and a leaf: it imports nothing
of ours. When a new ansible-core line changes an internal, this is the file to
adapt; each function says which internal it uses and is guarded by the version
check below. The patches themselves are installed and removed by ``_hooks``;
``_action`` names the ActionBase members it uses in its docstring.
"""

from __future__ import annotations

import json
import threading
import typing as t

from ansible.release import __version__ as _ANSIBLE_VERSION_TEXT

ANSIBLE_VERSION: tuple[int, int] = tuple(int(p) for p in _ANSIBLE_VERSION_TEXT.split('.')[:2])  # type: ignore[assignment]
SUPPORTED = ((2, 19), (2, 22))

REDIRECTS = {
    'ssh': 'velocity.mitogen.ssh',
    'smart': 'velocity.mitogen.ssh',
    'ansible.builtin.ssh': 'velocity.mitogen.ssh',
    'ansible.legacy.ssh': 'velocity.mitogen.ssh',
    'local': 'velocity.mitogen.local',
    'ansible.builtin.local': 'velocity.mitogen.local',
    'ansible.legacy.local': 'velocity.mitogen.local',
}


class UnsupportedAnsibleVersion(Exception):
    pass


def check_version() -> None:
    if ANSIBLE_VERSION < SUPPORTED[0]:
        raise UnsupportedAnsibleVersion(
            'velocity.mitogen needs ansible-core >= %d.%d, this is %s'
            % (SUPPORTED[0] + (_ANSIBLE_VERSION_TEXT,))
        )


def stock_connection(name: str, play_context: t.Any, task_uuid: t.Any = None, ansible_playbook_pid: t.Any = None) -> t.Any:
    """An instance of the stock connection plugin ``name``, past our redirection."""
    # Public: PluginLoader.get_with_context (unwrapped when our hook is installed), with
    # the arguments TaskExecutor._get_connection passes (2.19-2.22).
    from ansible.plugins.loader import connection_loader
    get = getattr(connection_loader.get_with_context, '__wrapped__', connection_loader.get_with_context)
    return get(name, play_context, task_uuid=task_uuid, ansible_playbook_pid=ansible_playbook_pid).object


def preload_for_workers() -> None:
    """Do once in the controller what every forked worker would otherwise redo per task."""
    # Public: PluginLoader.get(name, class_only=True) caches the class and its config definitions.
    from ansible.plugins.loader import connection_loader
    for name in sorted(set(REDIRECTS.values())):
        connection_loader.get(name, class_only=True)
    # The JSON profile modules are imported lazily on first use.
    from ansible.module_utils.common.json import Direction, get_module_decoder, get_module_encoder
    get_module_encoder('legacy', Direction.CONTROLLER_TO_MODULE)
    get_module_decoder('legacy', Direction.MODULE_TO_CONTROLLER)


def alias_option_definitions(plugin: t.Any) -> None:
    """Make the plugin's option definitions findable by its FQCN as well.

    The loader files a collection plugin's definitions under its Python module
    name, but TaskExecutor looks them up by the connection variable's value (the
    FQCN) to report ansible_host/port/user of a delegated task: stock ``ssh`` gets
    them, so ours must too.
    """
    # Public: ConfigManager.has_configuration_definition, get_configuration_definitions and
    # initialize_plugin_configuration_definitions; PluginLoader sets _load_name and ansible_name (2.19-2.22).
    from ansible import constants as C
    kind = 'connection'
    fqcn = getattr(plugin, 'ansible_name', None)
    if fqcn and fqcn != plugin._load_name and not C.config.has_configuration_definition(kind, fqcn):
        defs = C.config.get_configuration_definitions(kind, plugin._load_name)
        if defs:
            C.config.initialize_plugin_configuration_definitions(kind, fqcn, defs)


def in_worker() -> bool:
    """Whether this process is one of the controller's forked task workers."""
    # Public: WorkerProcess is a multiprocessing child of the controller (2.19-2.22).
    import multiprocessing
    return multiprocessing.parent_process() is not None


def become_key(become: t.Any) -> str | None:
    """The random key a become plugin puts in each command it builds (its success marker)."""
    # Internal: BecomePlugin._id, set by _build_success_command (2.19-2.22).
    return getattr(become, '_id', None) or None


# What the target imports to run any new-style module, besides the module's own imports.
# Internal: AnsiballZ's loader module ansible.module_utils._internal._ansiballz._loader (2.19-2.22).
MODULE_RUNTIME_IMPORTS = ('ansible.module_utils.basic', 'ansible.module_utils._internal._ansiballz._loader')


# -- module building blocks --------------------------------------------------


def module_style_markers() -> dict[str, t.Any]:
    """The markers module_common._find_module_utils classifies module source by."""
    # Internal: module_common REPLACER, REPLACER_WINDOWS, REPLACER_JSONARGS, NEW_STYLE_PYTHON_MODULE_RE.
    from ansible.executor import module_common as mc
    return dict(replacer=mc.REPLACER, replacer_windows=mc.REPLACER_WINDOWS, replacer_jsonargs=mc.REPLACER_JSONARGS,
                new_style_re=mc.NEW_STYLE_PYTHON_MODULE_RE)


def module_fqn(module_name: str, module_path: str) -> str:
    # Internal: module_common._get_ansible_module_fqn (2.19-2.22).
    from ansible.executor import module_common as mc
    try:
        return mc._get_ansible_module_fqn(module_path)
    except ValueError:
        return 'ansible.legacy.%s' % module_name


def serialization_profile(b_source: bytes, module_path: str) -> str:
    """The module's JSON profile: 'legacy' unless experimental module METADATA is on."""
    # Internal: config _MODULE_METADATA, module_common._compile_module_ast/_get_module_metadata.
    from ansible import constants as C
    if not C.config.get_config_value('_MODULE_METADATA'):
        return 'legacy'
    from ansible.executor import module_common as mc
    metadata = mc._get_module_metadata(mc._compile_module_ast(module_path, b_source))
    return str(getattr(metadata, 'serialization_profile'))


def encode_module_params(module_args: dict, profile: str) -> str:
    # Public-ish: ansible.module_utils.common.json.get_module_encoder.
    from ansible.module_utils.common.json import Direction, get_module_encoder
    encoder = get_module_encoder(profile, Direction.CONTROLLER_TO_MODULE)
    return json.dumps(dict(ANSIBLE_MODULE_ARGS=module_args), cls=encoder)


def secrets_in(encoded_params: str) -> list[str] | None:
    """Secrets the AnsiballZ wrapper would register on the target (ansible-core >= 2.22)."""
    if ANSIBLE_VERSION < (2, 22):
        return None
    # Internal: ansible.module_utils.secrets._secret_masker.secrets_in_json (2.22).
    from ansible.module_utils import secrets as _secrets  # pylint: disable=import-error,no-name-in-module
    found = _secrets._secret_masker.secrets_in_json(encoded_params)
    return sorted(str(s) for s in found) or None


def python_interpreter(action: t.Any, task_vars: dict) -> str:
    """The Python a module of this task runs with, discovering it as stock does.

    Mirrors ActionBase._configure_module's discovery retry, including the
    discovered_interpreter_python fact handed back in the result.
    """
    # Internal: module_common._get_shebang, interpreter_discovery (2.19-2.22).
    from ansible.executor import module_common as mc
    from ansible.executor.interpreter_discovery import InterpreterDiscoveryRequiredError, discover_interpreter

    if action._task.delegate_to:
        use_vars = task_vars['ansible_delegated_vars'][action._task.delegate_to]
    else:
        use_vars = task_vars
    remote_is_local = bool(getattr(action._connection, '_remote_is_local', False))
    for _dummy in (1, 2):
        try:
            _shebang, interpreter = mc._get_shebang('/usr/bin/python', use_vars, action._templar, remote_is_local=remote_is_local)
            return interpreter
        except InterpreterDiscoveryRequiredError as idre:
            action._discovered_interpreter = discover_interpreter(
                action=action, interpreter_name=idre.interpreter_name, discovery_mode=idre.discovery_mode, task_vars=use_vars)
            discovered_key = 'discovered_interpreter_%s' % idre.interpreter_name
            use_vars['ansible_facts'][discovered_key] = action._discovered_interpreter
            if not action._task.delegate_to or action._task.delegate_facts:
                task_vars['ansible_facts'][discovered_key] = action._discovered_interpreter
                action._discovered_interpreter_key = discovered_key
            else:
                task_vars['ansible_delegated_vars'][action._task.delegate_to]['ansible_facts'][discovered_key] = action._discovered_interpreter
    raise AssertionError('unreachable: interpreter discovery did not settle')


def module_utils_paths() -> list[str]:
    """Directories searched for ``ansible.module_utils.*``, custom ones first, as AnsiballZ does."""
    # Internal: PluginLoader._get_paths(subdirs=False), as module_common.recursive_finder calls it.
    import os
    from ansible.plugins.loader import module_utils_loader
    return [p for p in module_utils_loader._get_paths(subdirs=False) if os.path.isdir(p)]


_packaging_lock = threading.Lock()


def packaging_verdict(name: str, fqn: str, source: bytes, module_utils_paths: list[str]) -> str:
    """Run AnsiballZ's dependency scan for a module: '' when we can run it in-process,
    'packaging' when stock would fail to build it (stock then reports the error itself),
    'embed' when it embeds resources (EmbedManager, 2.21+), which only the zip carries."""
    # Internal: module_common.recursive_finder(name, module_fqn, module_data, zf, date_time,
    # extension_manager) (same signature 2.19-2.22), which reads its search path from
    # module_utils_loader._get_paths(subdirs=False): that is pointed, under a lock, at the
    # directories of the worker that asked.
    import datetime
    import io
    import warnings
    import zipfile
    from ansible.errors import AnsibleError
    from ansible.executor import module_common
    from ansible._internal._ansiballz import _builder
    from ansible.plugins.loader import module_utils_loader

    with _packaging_lock:
        original = module_utils_loader._get_paths
        setattr(module_utils_loader, '_get_paths', lambda subdirs=True: list(module_utils_paths))
        try:
            with warnings.catch_warnings(), zipfile.ZipFile(io.BytesIO(), mode='w') as zf:
                warnings.simplefilter('ignore')  # zipfile's duplicate-name warnings: stock shows them itself
                module_common.recursive_finder(name, fqn, source, zf, datetime.datetime.now(datetime.timezone.utc),
                                               _builder.ExtensionManager())
                names = set(zf.namelist())
        except AnsibleError:
            return 'packaging'
        finally:
            setattr(module_utils_loader, '_get_paths', original)
    return 'embed' if 'ansible/module_utils/embed.py' in names else ''


def rlimit_nofile(action: t.Any, task_vars: dict) -> int:
    """ansible_python_module_rlimit_nofile, evaluated as AnsiballZ's builder does (omit gives 0)."""
    # Internal: module_common._find_module_utils (2.19-2.22) templates it with
    # Templar._engine.template(value, options=TemplateOptions(value_for_omit=0)).
    from ansible import constants as C
    from ansible._internal._templating._engine import TemplateOptions
    value = C.config.get_config_value('PYTHON_MODULE_RLIMIT_NOFILE', variables=task_vars)
    if not isinstance(value, int):
        value = action._templar._engine.template(value, options=TemplateOptions(value_for_omit=0))
    return int(value)  # a plain int: config values are tagged, and the target cannot unpickle tags


def discovery_fallback(task_vars: dict) -> list[str]:
    from ansible import constants as C
    return list(C.config.get_config_value('INTERPRETER_PYTHON_FALLBACK', variables=task_vars))


def finish_module_result(action: t.Any, res: dict, profile: str) -> dict:
    """What ActionBase._execute_module does after the module ran, per ansible-core line.

    Internal: ActionBase._parse_returned_data, and the post-processing that
    follows it in ActionBase._execute_module (dict-based up to 2.20, the unified
    task result from 2.21).
    """
    from ansible.utils.display import Display
    display = Display()
    if ANSIBLE_VERSION >= (2, 21):
        utr = action._parse_returned_data(res, profile)
        if utr.suppress_tmpdir_delete:
            action._cleanup_remote_tmp = False
        utr.remove_internal_keys()
        if action._discovered_interpreter_key:
            utr.set_fact(action._discovered_interpreter_key, action._discovered_interpreter)
        return utr.as_result_dict(for_round_trip=True)

    from collections.abc import Sequence
    from ansible.vars import clean
    remove_internal_keys = getattr(clean, 'remove_internal_keys')  # up to 2.20
    data = action._parse_returned_data(res, profile)
    if data.pop('_ansible_suppress_tmpdir_delete', False):
        action._cleanup_remote_tmp = False
    if 'results' in data and (not isinstance(data['results'], Sequence) or isinstance(data['results'], str)):
        data['ansible_module_results'] = data['results']
        del data['results']
        display.warning("Found internal 'results' key in module return, renamed to 'ansible_module_results'.")
    remove_internal_keys(data)
    if 'stdout' in data and 'stdout_lines' not in data:
        data['stdout_lines'] = (data.get('stdout', None) or '').splitlines()
    if 'stderr' in data and 'stderr_lines' not in data:
        data['stderr_lines'] = (data.get('stderr', None) or '').splitlines()
    if action._discovered_interpreter_key:
        if data.get('ansible_facts') is None:
            data['ansible_facts'] = {}
        data['ansible_facts'][action._discovered_interpreter_key] = action._discovered_interpreter
    return data


def resolve_module(action: t.Any, module_name: str) -> str:
    """The module's path, found as ActionBase._configure_module finds it (Python modules only)."""
    from ansible.errors import AnsibleError
    result = action._shared_loader_obj.module_loader.find_plugin_with_context(
        module_name, '', collection_list=action._task.collections)
    if not result.resolved:
        if result.redirect_list and len(result.redirect_list) > 1:
            raise AnsibleError('The module {0} was redirected to {1}, which could not be loaded.'.format(
                module_name, result.redirect_list[-1]))
    if not result.plugin_resolved_path:
        raise AnsibleError('The module %s was not found in configured module paths' % (module_name,))
    return result.plugin_resolved_path
