"""What the provider tests share (test_contract.py, test_provider_*.py,
provider_adapters.py, test_doctor.py): config files, dns01 calls, the check
that this dns01 has a provider, the emulators' request log under a failed
test, summaries of request logs, dns01 processes run at once, doctor's
lines, and the add/delete flow against a real account."""

import functools
import json
import os
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from testbed import (RES_CLIENT, RUN_TIMEOUT, SECRETS, TRANSCRIPT, Skip, acme_value, clean_env,
                     dig_txt, dns01_binary, note, run_dns01)


# --------------------------------------------------------------------------
# Config files and dns01 calls
# --------------------------------------------------------------------------

def write_private(path, text, mode=0o600):
    """Write text to path, created with `mode` (config and credentials files)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, mode)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    return str(path)


def provider_config(tb, section, keys, main=None, mode=0o600, path=None):
    """A dns01 config file in the testbed's temp dir: [dns01] with the
    client resolver, the testbed's state_dir and timeout RUN_TIMEOUT (`main` changes
    or adds keys), and one [provider `section`] with `keys`. A key whose
    value is None is left out. Returns its path."""
    m = {'resolvers': RES_CLIENT, 'state_dir': str(tb.tmp / 'state'), 'timeout': RUN_TIMEOUT}
    m.update(main or {})
    text = '[dns01]\n' + ''.join(f'{k} = {v}\n' for k, v in m.items() if v is not None) \
        + f'\n[provider {section}]\n' + ''.join(f'{k} = {v}\n' for k, v in keys.items()
                                                if v is not None)
    if path is None:
        fd, path = tempfile.mkstemp(prefix=f'dns01-{section}-', suffix='.conf', dir=tb.tmp)
        os.close(fd)
    return write_private(path, text, mode)


def dns01_set(conf, name, *values, extra=(), env=None, timeout=None):
    return run_dns01(['-c', conf, *extra, 'set', name, *values], env=env, timeout=timeout)


def dns01_unset(conf, name, *values, extra=(), timeout=None):
    return run_dns01(['-c', conf, *extra, 'unset', name, *values], timeout=timeout)


def wait_txt(server, name, expected, timeout=5):
    """Wait until server serves exactly `expected` at name."""
    deadline = time.monotonic() + timeout
    while True:
        rcode, aa, vals = dig_txt(server, name)
        if sorted(vals) == sorted(expected):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f'{server} {name}: expected {sorted(expected)}, '
                                 f'got {rcode} {sorted(vals)}')
        time.sleep(0.05)


def last_line(err):
    return err.strip().splitlines()[-1] if err.strip() else '(no stderr)'


def under_valgrind():
    """True under `make memcheck` (every dns01 call runs in valgrind)."""
    return bool(os.environ.get('MEMCHECK_TARGET'))


def run_parallel(argvs, timeout=150):
    """Start every dns01 argv at once (Popen), wait for all -> [(rc, out,
    err, elapsed)]. Each goes into the transcript; fails on a known secret
    in the output, as run_dns01 does."""
    t0 = time.monotonic()
    procs = [subprocess.Popen([dns01_binary()] + list(a), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
             for a in argvs]
    results = []
    deadline = t0 + timeout
    for a, p in zip(argvs, procs):
        try:
            out, err = p.communicate(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise AssertionError(f'parallel dns01 runs did not end within {timeout} s')
        out, err = out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')
        el = time.monotonic() - t0
        TRANSCRIPT.append({'argv': [dns01_binary()] + list(a), 'env': {}, 'rc': p.returncode,
                           'elapsed': el, 'stdout': out, 'stderr': err})
        for s in SECRETS:
            if s in out or s in err:
                raise AssertionError(f'dns01 printed a secret: {a}')
        results.append((p.returncode, out, err, el))
    return results


# --------------------------------------------------------------------------
# Providers and their emulators
# --------------------------------------------------------------------------

_HAVE = {}


def need_provider(name):
    """Skip the test unless this dns01 has the provider (`dns01 providers`)."""
    if name not in _HAVE:
        try:
            p = subprocess.run([dns01_binary(), 'providers'], capture_output=True, text=True,
                               timeout=10, env=clean_env())
            _HAVE[name] = bool(re.search(rf'^{re.escape(name)}\b', p.stdout, re.M))
        except OSError:
            _HAVE[name] = False
    if not _HAVE[name]:
        raise Skip(f'this dns01 has no {name} provider (`dns01 providers`)')


def emulator_logs(tb):
    """The request logs of every emulator the testbed started."""
    return [em.log_text() for em in list(tb._cf.values()) + list(tb._sakura.values())]


def with_emulator_log(fn):
    """On failure, print the request log of every emulator under the test."""
    @functools.wraps(fn)
    def wrapper(tb):
        try:
            return fn(tb)
        except AssertionError:
            for text in emulator_logs(tb):
                note(text)
            raise
    return wrapper


def summary(reqs, ids=None):
    """'GET /zones {"name":"example.test"} -> 200, POST /zones/…/dns_records -> 200':
    32-hex ids as …, the numeric ids of `ids` ({zone: id}) as <zone>."""
    names = {v: k for k, v in (ids or {}).items()}
    out = []
    for r in reqs:
        route = re.sub(r'[0-9a-f]{32}', '…', r.route)
        route = re.sub(r'/(\d{6,})', lambda m: '/' + (f'<{names[m.group(1)]}>' if m.group(1)
                                                      in names else m.group(1)), route)
        q = (' ' + json.dumps(r.query, ensure_ascii=False, separators=(',', ':'))) \
            if r.query else ''
        out.append(f'{r.method} {route}{q} -> {r.status}' + (f' [{r.fault}]' if r.fault else ''))
    return ', '.join(out) or '(none)'


def calls(reqs):
    """[(method, route with 32-hex ids as …, status)] of requests."""
    return [(r.method, re.sub(r'[0-9a-f]{32}', '…', r.route), r.status) for r in reqs]


# --------------------------------------------------------------------------
# dns01 doctor
# --------------------------------------------------------------------------

DOCTOR_LINE = re.compile(r'^(OK|WARN|FAIL) +([a-z-]+)(?: (\S+))?: (.*)$')


def doctor_lines(out):
    """[(status, check, domain, text)] of doctor's text output; every
    stdout line must have the form."""
    got = []
    for line in out.splitlines():
        m = DOCTOR_LINE.match(line)
        assert m, f'not a doctor line: {line!r}'
        got.append(m.groups())
    return got


def doctor_credentials(conf, domain, extra=()):
    """dns01 doctor DOMAIN -> (rc, (status, text) of its credentials line
    or None, [every line as doctor_lines], stdout, stderr)."""
    rc, out, err, _ = run_dns01(['-c', conf, *extra, 'doctor', domain], timeout=90)
    got = doctor_lines(out)
    cred = [(g[0], g[3]) for g in got if g[1] == 'credentials']
    return rc, cred[0] if cred else None, got, out, err


# --------------------------------------------------------------------------
# A real account
# --------------------------------------------------------------------------

def have_outside_route():
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(('192.0.2.1', 443))     # no packet is sent: a route lookup only
        return True
    except OSError:
        return False


def real_account_flow(tb, zone, section, prefix, timeout):
    """The contract's add/delete flow against a real provider account, at a
    fresh name in `zone` (`section` is the [provider] section text, `timeout`
    dns01's): two values added at one name (each `set` returns only when
    every authoritative server serves them), one removed exactly, then the
    other; `list` shows each state."""
    tmp = Path(tb.tmp if tb else tempfile.mkdtemp(prefix=f'dns01-{prefix}-real-'))
    m = {'state_dir': str(tmp / 'state-real'), 'timeout': str(timeout)}
    if os.environ.get('DNS01_TEST_RESOLVERS'):
        m['resolvers'] = os.environ['DNS01_TEST_RESOLVERS']
    text = '[dns01]\n' + ''.join(f'{k} = {v}\n' for k, v in m.items()) + '\n' + section
    conf = write_private(tmp / f'dns01-{prefix}-real.conf', text)
    name, v1, v2 = f'_acme-challenge.dns01-test-{os.getpid()}.{zone}', acme_value(), acme_value()

    def listed():
        rc, out, err, _ = run_dns01(['-c', conf, 'list', name])
        assert rc == 0, f'list exited {rc}: {out}{err[-500:]}'
        return {v for v in (v1, v2) if v in out}
    for what, argv, left in (('set', ['set', name, v1, v2], {v1, v2}),
                             ('unset of one', ['unset', name, v1], {v2}),
                             ('unset of the other', ['unset', name, v2], set())):
        rc, _, err, el = run_dns01(['-c', conf, *argv], timeout=timeout + 60)
        assert rc == 0, f'{what} exited {rc}: {err[-800:]}'
        note(f'real API: {what} took {el:.1f}s')
        assert listed() == left, f'after the {what}, list shows {listed()}, not {left}'
