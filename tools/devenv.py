#!/usr/bin/env python
# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Developer environment shared by the test runner, demo, benchmark and conformance tools.

Why it exists: the collection has to be tested the way users get it, on every
supported ansible-core line, on a machine with no Docker and no access to
ansible-test's own download host. This module knows

* which ansible-core lines we support and which Python each one needs (LINES);
* where the Pythons are (pyenv, /usr/bin, PATH) (find_pythons);
* how to make one cached virtualenv per line (ensure_venv);
* how to make a clean, git-backed copy of the work tree with the Mitogen core
  vendored in (stage): ansible-test and ansible-galaxy only ever see that copy;
* how to build, verify and install the collection tarball (build, install);
* how to satisfy ansible-test's get-pip download offline (write_getpip_standin).

Stdlib only, so it runs before any venv exists. Usable as a module
(``import devenv``) or as a CLI: ``devenv.py build|stage|venv LINE|pythons``.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / '.cache'
VENVS = CACHE / 'venvs'
WHEELS = CACHE / 'wheels'
STAGE_BASE = CACHE / 'stage'
STAGE = STAGE_BASE / 'ansible_collections' / 'velocity' / 'mitogen'
BUILD_DIR = ROOT / 'build'
COLLECTIONS = CACHE / 'collections'
COLLECTIONS_REQ = CACHE / 'collections-req'
GETPIP_CACHE = Path.home() / '.ansible' / 'test' / 'cache'

NAMESPACE = 'velocity'
NAME = 'mitogen'

# Packages every line's venv gets besides ansible-core: what `ansible-test units
# --local` needs (ansible-test's own units.txt), so no per-run install is needed.
TEST_PACKAGES = ('pytest', 'pytest-xdist', 'pytest-mock', 'mock')

PIP_TIMEOUT = 60          # seconds per network operation inside pip
VENV_TIMEOUT = 1200       # seconds for creating + populating one venv
GIT_TIMEOUT = 120
GALAXY_TIMEOUT = 300
VENDOR_TIMEOUT = 600


class DevenvError(Exception):
    """A step of the developer environment failed; the message says which and why."""


@dataclasses.dataclass(frozen=True)
class Line:
    """One supported ansible-core release line.

    ``python`` is the controller Python we prefer for its venv: the lines are
    spread over 3.11/3.12/3.13 on purpose, so a full run exercises more
    interpreters. ``min_python``/``max_python`` bound the fallback choice (the
    controller range from the core's Requires-Python and ansible-test).
    """

    name: str
    spec: str
    min_python: Tuple[int, int]
    max_python: Tuple[int, int]
    python: Tuple[int, int]

    @property
    def min_python_text(self) -> str:
        return '%d.%d' % self.min_python


# Ordered oldest -> newest. 2.22 is a pre-release: a specifier that names a
# pre-release (>=2.22.0rc1) lets pip pick it (and later rcs/final) without --pre,
# so pytest & co. are not pulled in as pre-releases.
LINES: List[Line] = [
    Line('2.19', 'ansible-core>=2.19,<2.20', (3, 11), (3, 13), (3, 11)),
    Line('2.20', 'ansible-core>=2.20,<2.21', (3, 12), (3, 14), (3, 12)),
    Line('2.21', 'ansible-core>=2.21,<2.22', (3, 12), (3, 14), (3, 13)),
    Line('2.22', 'ansible-core>=2.22.0rc1,<2.23', (3, 13), (3, 15), (3, 13)),
]
LINES_BY_NAME: Dict[str, Line] = {line.name: line for line in LINES}


def log(message: str) -> None:
    """Progress messages go to stderr so CLI stdout stays machine-readable (a path)."""
    print('[devenv] ' + message, file=sys.stderr, flush=True)


def get_line(name: str) -> Line:
    try:
        return LINES_BY_NAME[name]
    except KeyError:
        raise DevenvError('unknown ansible-core line %r (known: %s)' % (name, ', '.join(LINES_BY_NAME))) from None


def run(cmd: Sequence[str], *, cwd: Optional[Path] = None, timeout: float, env: Optional[Mapping[str, str]] = None,
        capture: bool = False, what: Optional[str] = None) -> subprocess.CompletedProcess:
    """Run a command with a hard timeout; raise DevenvError (with output tail) on failure.

    Output is streamed to our stderr unless captured, so CI logs show progress.
    """
    what = what or ' '.join(str(c) for c in cmd[:4])
    try:
        proc = subprocess.run(
            [str(c) for c in cmd], cwd=str(cwd) if cwd else None, env=dict(env) if env is not None else None,
            timeout=timeout, check=False, text=True,
            stdout=subprocess.PIPE if capture else sys.stderr,
            stderr=subprocess.STDOUT if capture else sys.stderr,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise DevenvError('%s: timed out after %ss' % (what, timeout)) from None
    except OSError as exc:
        raise DevenvError('%s: cannot run %s: %s' % (what, cmd[0], exc)) from None
    if proc.returncode != 0:
        tail = (proc.stdout or '')[-3000:] if capture else '(see output above)'
        raise DevenvError('%s: exit status %d\n%s' % (what, proc.returncode, tail))
    return proc


# --------------------------------------------------------------------------- Pythons

def _python_version(path: str) -> Optional[Tuple[int, int, int]]:
    """Ask an interpreter for its version (this also proves it runs)."""
    try:
        out = subprocess.run([path, '-c', 'import sys; print("%d %d %d" % sys.version_info[:3])'],
                             capture_output=True, text=True, timeout=20, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    try:
        major, minor, micro = (int(part) for part in out.stdout.split())
    except ValueError:
        return None
    return major, minor, micro


def _pyenv_root() -> Optional[Path]:
    pyenv = shutil.which('pyenv')
    if pyenv:
        try:
            out = subprocess.run([pyenv, 'root'], capture_output=True, text=True, timeout=20, check=False,
                                 stdin=subprocess.DEVNULL)
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
        except (OSError, subprocess.TimeoutExpired):
            pass
    env_root = os.environ.get('PYENV_ROOT')
    if env_root:
        return Path(env_root)
    default = Path.home() / '.pyenv'
    return default if default.is_dir() else None


def find_pythons() -> Dict[Tuple[int, int], str]:
    """Return {(major, minor): path} of usable CPython 3 interpreters, newest patch per minor.

    Looks at pyenv's versions (absolute paths: pyenv's ``python3.X`` shims only
    work for the selected version), /usr/bin/python3 and python3.X on PATH.
    Symlinked duplicates are collapsed; shim directories are skipped.
    """
    candidates: List[str] = []
    root = _pyenv_root()
    if root:
        candidates += sorted(glob.glob(str(root / 'versions' / '*' / 'bin' / 'python')))
    candidates.append('/usr/bin/python3')
    for minor in range(6, 20):
        found = shutil.which('python3.%d' % minor)
        if found and '/shims/' not in found:
            candidates.append(found)
    found = shutil.which('python3')
    if found and '/shims/' not in found:
        candidates.append(found)

    best: Dict[Tuple[int, int], Tuple[Tuple[int, int, int], str]] = {}
    seen = set()
    for path in candidates:
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            continue
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        version = _python_version(path)
        if not version or version[0] != 3:
            continue
        key = version[:2]
        if key not in best or version > best[key][0]:
            best[key] = (version, path)
    return {key: best[key][1] for key in sorted(best)}


def python_bin_dirs(pythons: Optional[Mapping[Tuple[int, int], str]] = None) -> List[str]:
    """bin dirs of all found Pythons, newest first: put on PATH so ansible-test finds python3.X."""
    pythons = find_pythons() if pythons is None else pythons
    dirs: List[str] = []
    for key in sorted(pythons, reverse=True):
        d = os.path.dirname(pythons[key])
        if d not in dirs:
            dirs.append(d)
    return dirs


def pick_python(line: Line, pythons: Optional[Mapping[Tuple[int, int], str]] = None) -> Optional[Tuple[Tuple[int, int], str]]:
    """The preferred Python for a line if present, else the newest in its supported range."""
    pythons = find_pythons() if pythons is None else pythons
    if line.python in pythons:
        return line.python, pythons[line.python]
    fitting = [v for v in pythons if line.min_python <= v <= line.max_python]
    if not fitting:
        return None
    version = max(fitting)
    return version, pythons[version]


# --------------------------------------------------------------------------- venvs

def venv_path(line: Line) -> Path:
    return VENVS / line.name


def venv_python(venv: Path) -> Path:
    return venv / 'bin' / 'python'


def _unit_requirements(root: Path = ROOT) -> List[str]:
    """The collection's own unit test requirements (tests/unit/requirements.txt), comments stripped."""
    path = root / 'tests' / 'unit' / 'requirements.txt'
    if not path.is_file():
        return []
    reqs = []
    for raw in path.read_text(encoding='utf-8').splitlines():
        text = raw.split('#', 1)[0].strip()
        if text:
            reqs.append(text)
    return reqs


def ensure_venv(line: Line, pythons: Optional[Mapping[Tuple[int, int], str]] = None) -> Optional[Path]:
    """Return the venv of a line under .cache/venvs/<line>, creating it if needed.

    None when no installed Python can run the line (callers report it SKIPPED).
    Idempotent: a stamp file records interpreter and package specs; a venv
    whose stamp differs is rebuilt from scratch.
    """
    if isinstance(line, str):
        line = get_line(line)
    choice = pick_python(line, pythons)
    if choice is None:
        return None
    version, base_python = choice
    venv = venv_path(line)
    packages = [line.spec, *TEST_PACKAGES, *_unit_requirements()]
    stamp_text = json.dumps({'python': base_python, 'version': list(version), 'packages': packages}, sort_keys=True)
    stamp = venv / '.velocity-stamp'
    if stamp.is_file() and stamp.read_text(encoding='utf-8') == stamp_text and venv_python(venv).exists():
        return venv

    log('creating venv for ansible-core %s with Python %d.%d (%s) in %s' % (line.name, *version, base_python, venv))
    if venv.exists():
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + VENV_TIMEOUT
    try:
        run([base_python, '-m', 'venv', venv], timeout=300, what='python -m venv (%s)' % base_python)
        pip = [venv_python(venv), '-m', 'pip', '--disable-pip-version-check', '--timeout', str(PIP_TIMEOUT), '--retries', '3']
        run([*pip, 'install', '-q', '--upgrade', 'pip'], timeout=max(60, deadline - time.monotonic()), what='pip upgrade')
        run([*pip, 'install', '-q', *packages], timeout=max(60, deadline - time.monotonic()),
            what='pip install %s' % ' '.join(packages))
    except DevenvError:
        shutil.rmtree(venv, ignore_errors=True)
        raise
    stamp.write_text(stamp_text, encoding='utf-8')
    installed = run([venv / 'bin' / 'ansible', '--version'], timeout=120, capture=True).stdout.splitlines()[0]
    log('venv %s ready: %s' % (venv, installed))
    return venv


def venv_info(venv: Path) -> Dict[str, str]:
    """Python and ansible-core versions inside a venv (for reports)."""
    code = ('import sys, json, ansible.release as r; '
            'print(json.dumps({"python": "%d.%d.%d" % sys.version_info[:3], "ansible": r.__version__}))')
    out = run([venv_python(venv), '-c', code], timeout=60, capture=True, what='venv info').stdout
    return json.loads(out.strip().splitlines()[-1])


def venv_env(venv: Path, pythons: Optional[Mapping[Tuple[int, int], str]] = None,
             base: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """Environment with the venv first on PATH, then every found Python's bin dir.

    The latter lets ansible-test find python3.X for other target Pythons
    (pyenv's shims would fail for non-selected versions).
    """
    env = dict(os.environ if base is None else base)
    env.pop('PYTHONPATH', None)
    env.pop('PYTHONHOME', None)
    env['VIRTUAL_ENV'] = str(venv)
    path = [str(venv / 'bin'), *python_bin_dirs(pythons), env.get('PATH', '')]
    env['PATH'] = os.pathsep.join(p for p in path if p)
    env.setdefault('ANSIBLE_FORCE_COLOR', '0')
    env['PIP_DISABLE_PIP_VERSION_CHECK'] = '1'
    env.setdefault('PIP_DEFAULT_TIMEOUT', str(PIP_TIMEOUT))
    return env


def newest_venv(pythons: Optional[Mapping[Tuple[int, int], str]] = None) -> Tuple[Line, Path]:
    """Venv of the newest line that has a usable Python."""
    pythons = find_pythons() if pythons is None else pythons
    for line in reversed(LINES):
        venv = ensure_venv(line, pythons)
        if venv:
            return line, venv
    raise DevenvError('no Python found for any ansible-core line (need >= %s)' % LINES[0].min_python_text)


# --------------------------------------------------------------------------- get-pip stand-in

GETPIP_MARKER = '# velocity.mitogen get-pip stand-in'
GETPIP_STANDIN = '''%s
"""Offline stand-in for ansible-test's get-pip-%s.py (written by tools/devenv.py).

ansible-test bootstraps pip in its sanity/test venvs by downloading get-pip from
ci-files.testing.ansible.com, which is unreachable here. This does the same job
with the interpreter's bundled ensurepip, then installs the requested packages
(e.g. pip==%s) from the package index. The get-pip-only flags are dropped.
"""
import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args))
'''


def ansible_test_dir(venv: Path) -> Path:
    """The ansible_test package directory installed in a venv."""
    found = sorted(glob.glob(str(venv / 'lib' / 'python3*' / 'site-packages' / 'ansible_test')))
    if not found:
        raise DevenvError('ansible_test package not found in %s' % venv)
    return Path(found[0])


def pinned_pip_versions(venv: Path) -> List[str]:
    """pip versions the venv's ansible-test bootstraps (default plus per-Python overrides)."""
    source = (ansible_test_dir(venv) / '_internal' / 'python_requirements.py').read_text(encoding='utf-8')
    versions = sorted(set(re.findall(r"""\bpip\s*[=:]\s*['"](\d+(?:\.\d+)+)['"]""", source)))
    if not versions:
        raise DevenvError('cannot find the pip version pinned by ansible-test in %s' % venv)
    return versions


def write_getpip_standin(venv_python: Path) -> List[Path]:
    """Write ~/.ansible/test/cache/get_pip_<ver>.py stand-ins for the venv's ansible-test.

    Accepts the venv's python (or the venv dir). A real downloaded get-pip file
    is left alone; our own stand-in is rewritten when its text changes.
    """
    venv = Path(venv_python)
    if venv.name.startswith('python'):
        venv = venv.parent.parent
    written = []
    GETPIP_CACHE.mkdir(parents=True, exist_ok=True)
    for version in pinned_pip_versions(venv):
        path = GETPIP_CACHE / ('get_pip_%s.py' % version.replace('.', '_'))
        text = GETPIP_STANDIN % (GETPIP_MARKER, version, version)
        if path.is_file():
            current = path.read_text(encoding='utf-8', errors='replace')
            if current == text or GETPIP_MARKER not in current and len(current) > 100000:
                written.append(path)   # ours and current, or a real get-pip.py: keep
                continue
        path.write_text(text, encoding='utf-8')
        log('wrote get-pip %s stand-in %s' % (version, path))
        written.append(path)
    return written


# --------------------------------------------------------------------------- stage

def _git(args: Sequence[str], cwd: Path, capture: bool = True) -> str:
    cmd = ['git', '-c', 'init.defaultBranch=main', '-c', 'user.name=velocity devenv',
           '-c', 'user.email=devenv@localhost', '-c', 'commit.gpgsign=false', *args]
    return run(cmd, cwd=cwd, timeout=GIT_TIMEOUT, capture=capture, what='git %s' % args[0]).stdout or ''


def source_files(root: Path = ROOT) -> List[str]:
    """Files of the work tree: tracked plus untracked-not-ignored (uncommitted work included)."""
    out = _git(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root)
    return sorted({name for name in out.split('\0') if name})


def stage(dest: Optional[Path] = None, root: Path = ROOT) -> Path:
    """Build a clean staged copy of the collection and return its path.

    Only files git would commit are copied; the copy gets its own git repo so
    ansible-test (which lists files with git) sees exactly those; then the
    stage's tools/vendor-mitogen vendors the Mitogen core into it. The vendored
    tree is gitignored there as well, so sanity tests skip it while units,
    integration tests and ansible-galaxy build (which ignore .gitignore) use it.
    """
    dest = Path(dest) if dest else STAGE
    if dest.parts[-3:-2] != ('ansible_collections',):
        raise DevenvError('stage path must end in ansible_collections/<namespace>/<name>: %s' % dest)
    log('staging %s -> %s' % (root, dest))
    files = source_files(root)
    # ansible-test keeps its --venv unit test venvs (one per target Python, minutes
    # to rebuild) in tests/output/.tmp/delegation: carry them over to the new stage.
    keep = dest / 'tests' / 'output' / '.tmp' / 'delegation'
    parked = dest.parent / ('.%s-delegation' % dest.name)
    if parked.exists():
        shutil.rmtree(parked)
    if keep.is_dir():
        os.rename(keep, parked)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if parked.is_dir():
        keep.parent.mkdir(parents=True)
        os.rename(parked, keep)
    copied = 0
    for name in files:
        src = root / name
        dst = dest / name
        if not os.path.lexists(src):
            continue                         # tracked but deleted in the work tree
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        elif src.is_file():
            shutil.copy2(src, dst)
        else:
            continue
        copied += 1
    _git(['init', '-q'], dest)
    _git(['add', '-A'], dest)
    _git(['commit', '-q', '--no-verify', '--allow-empty', '-m', 'velocity devenv stage'], dest)

    wheels = root / '.cache' / 'wheels'
    if wheels.is_dir():
        shutil.copytree(wheels, dest / '.cache' / 'wheels', dirs_exist_ok=True)
    vendor = dest / 'tools' / 'vendor-mitogen'
    if not vendor.is_file():
        raise DevenvError('%s missing: cannot vendor the Mitogen core into the stage' % vendor)
    run([sys.executable, vendor], cwd=dest, timeout=VENDOR_TIMEOUT, what='tools/vendor-mitogen (stage)')
    if not (dest / 'plugins' / 'module_utils' / '_vendor' / 'mitogen' / 'core.py').is_file():
        raise DevenvError('vendoring into the stage produced no mitogen/core.py')
    ignored = _git(['check-ignore', 'plugins/module_utils/_vendor/mitogen/core.py'], dest).strip()
    if not ignored:
        raise DevenvError('vendored tree is not git-ignored in the stage: sanity would scan it')
    log('staged %d files at %s' % (copied, dest))
    return dest


# --------------------------------------------------------------------------- build / install

REQUIRED_IN_TARBALL = (
    'plugins/module_utils/_vendor/mitogen/core.py',
    'plugins/module_utils/_vendor/LICENSE.mitogen',
    'MANIFEST.json',
)
FORBIDDEN_IN_TARBALL = ('ansible_mitogen',)


def verify_tarball(tarball: Path) -> List[str]:
    """Check a built collection: vendored core + licence present, no upstream ansible_mitogen."""
    with tarfile.open(tarball) as tf:
        names = [n[2:] if n.startswith('./') else n for n in tf.getnames()]
    have = set(names)
    problems = ['missing %s' % req for req in REQUIRED_IN_TARBALL if req not in have]
    problems += ['contains %s' % n for n in names if any(part in FORBIDDEN_IN_TARBALL for part in n.split('/'))]
    problems += ['contains %s' % n for n in names if n.startswith('tests/output/') or '/.git/' in '/' + n]
    if problems:
        raise DevenvError('tarball %s is not right:\n  %s' % (tarball, '\n  '.join(problems[:20])))
    return names


def build(venv: Path, stage_dir: Optional[Path] = None, output: Path = BUILD_DIR) -> Path:
    """ansible-galaxy collection build from the stage into build/; return the verified tarball."""
    stage_dir = Path(stage_dir) if stage_dir else STAGE
    output.mkdir(parents=True, exist_ok=True)
    out = run([venv / 'bin' / 'ansible-galaxy', 'collection', 'build', '--force', '--output-path', output],
              cwd=stage_dir, timeout=GALAXY_TIMEOUT, capture=True, what='ansible-galaxy collection build').stdout
    sys.stderr.write(out)
    match = re.search(r'Created collection for \S+ at (\S+\.tar\.gz)', out)
    if not match:
        raise DevenvError('ansible-galaxy collection build printed no tarball path:\n%s' % out[-2000:])
    tarball = Path(match.group(1))
    names = verify_tarball(tarball)
    log('verified %s (%d entries)' % (tarball, len(names)))
    return tarball


def _installed_dir(collections_path: Path) -> Path:
    return collections_path / 'ansible_collections' / NAMESPACE / NAME


def _check_installed(venv: Path, collections_path: Path) -> None:
    """The installed copy must carry the core and load it under the top-level name ``mitogen``."""
    installed = _installed_dir(collections_path)
    core = installed / 'plugins' / 'module_utils' / '_vendor' / 'mitogen' / 'core.py'
    if not core.is_file():
        raise DevenvError('installed collection at %s lacks %s' % (installed, core))
    code = ('import sys; sys.path.insert(0, sys.argv[1]); '
            'from ansible_collections.velocity.mitogen.plugins.module_utils import _mitogen_loader as l; '
            'm = l.load(); import mitogen.core; print(mitogen.core.__file__)')
    out = run([venv_python(venv), '-I', '-c', code, collections_path], timeout=60, capture=True,
              what='import check of installed collection').stdout.strip()
    if os.path.realpath(out) != os.path.realpath(core):
        raise DevenvError('installed collection loaded mitogen.core from %s, expected %s' % (out, core))


def install(venv: Path, tarball: Path, collections_path: Path = COLLECTIONS,
            requirements_path: Optional[Path] = COLLECTIONS_REQ) -> Path:
    """Install the tarball directly and (if requirements_path) via a requirements.yml.

    Both installs are checked: files present and the vendored core loadable.
    Returns the directly installed collection dir.
    """
    galaxy = venv / 'bin' / 'ansible-galaxy'
    for path in (collections_path, requirements_path):
        if path and path.exists():
            shutil.rmtree(path)
    collections_path.mkdir(parents=True)
    run([galaxy, 'collection', 'install', '--force', '-p', collections_path, tarball], timeout=GALAXY_TIMEOUT,
        what='ansible-galaxy collection install (tarball)')
    _check_installed(venv, collections_path)
    if requirements_path:
        requirements_path.mkdir(parents=True)
        req = requirements_path / 'requirements.yml'
        # JSON is valid YAML: no PyYAML needed here.
        req.write_text(json.dumps({'collections': [{'name': str(Path(tarball).resolve()), 'type': 'file'}]}, indent=2),
                       encoding='utf-8')
        run([galaxy, 'collection', 'install', '--force', '-r', req, '-p', requirements_path], timeout=GALAXY_TIMEOUT,
            what='ansible-galaxy collection install -r requirements.yml')
        _check_installed(venv, requirements_path)
    log('installed %s into %s%s' % (Path(tarball).name, collections_path,
                                    ' and (requirements.yml) %s' % requirements_path if requirements_path else ''))
    return _installed_dir(collections_path)


# --------------------------------------------------------------------------- CLI

def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('build', help='stage + build with the newest line; print the tarball path')
    sub.add_parser('stage', help='build the staged tree; print its path')
    p_venv = sub.add_parser('venv', help='create/reuse the venv of a line; print its path')
    p_venv.add_argument('line', choices=list(LINES_BY_NAME))
    sub.add_parser('pythons', help='list the Pythons found')
    sub.add_parser('getpip', help='write get-pip stand-ins for every line whose venv exists')
    args = parser.parse_args(argv)
    try:
        if args.command == 'build':
            line, venv = newest_venv()
            log('building with ansible-core %s venv %s' % (line.name, venv))
            print(build(venv, stage()))
        elif args.command == 'stage':
            print(stage())
        elif args.command == 'venv':
            venv = ensure_venv(get_line(args.line))
            if venv is None:
                line = get_line(args.line)
                print('no Python >= %s (<= %d.%d) found for ansible-core %s'
                      % (line.min_python_text, *line.max_python, line.name), file=sys.stderr)
                return 2
            print(venv)
        elif args.command == 'pythons':
            for (major, minor), path in find_pythons().items():
                print('%d.%d %s' % (major, minor, path))
        elif args.command == 'getpip':
            for line in LINES:
                if venv_python(venv_path(line)).exists():
                    for path in write_getpip_standin(venv_python(venv_path(line))):
                        print(path)
    except DevenvError as exc:
        print('devenv: error: %s' % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
