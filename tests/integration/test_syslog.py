"""The syslog summary (README "When a renewal fails"): one line per hook call
that failed (priority err) or had to wait out something unusual (warning),
ident dns01, facility daemon unless `syslog_facility` says otherwise, no
line for a clean call or with `syslog = no`, and never a secret.

The testbed gives the runner's namespace a private /dev whose /dev/log is a
socket the runner reads (testbed.private_dev, testbed.SyslogCapture): what
glibc's syslog(3) sends there arrives here as sent, "<PRI>Mmm dd hh:mm:ss
dns01[PID]: MESSAGE", and the secret scanner (secretscan.py) reads it too.
The last test is the issue's case: certbot -q (as `certbot -q renew` runs
from a timer), where certbot says only that the challenge failed, and the
line says why.
"""

import os
import re
import shlex
import socket
import subprocess
import time
from pathlib import Path

import testbed
from flows import expect_txt
from test_clients import _certbot_argv, _check_clean, _start
from testbed import (NS2, SECRETS, SLOW, acme_value, certbot_env, clean_env, dns01_binary,
                     note, parse_syslog, run_dns01, secret)

# dns01's `timeout` where a test waits for a server that never serves the
# value: long enough for ns1 to have answered (also under valgrind).
NEVER_TIMEOUT = 3 * SLOW
NO_ZONE = 'nosuch.invalid'      # the resolvers know no zone for it: exit 6 at once


def _config(tb, **keys):
    """A config with `keys` in [dns01] (tb.write_config puts unknown keys in
    the provider section) and ns2 never served if never."""
    conf = tb.write_config(**{k: v for k, v in keys.items() if k in ('timeout',)})
    extra = ''.join(f'{k} = {v}\n' for k, v in keys.items() if k != 'timeout')
    text = Path(conf).read_text().replace('[dns01]\n', '[dns01]\n' + extra, 1)
    Path(conf).write_text(text)
    return conf


def _lines(mark):
    """The datagrams since mark, parsed; a datagram that is not in
    syslog(3)'s format fails the test."""
    out = []
    for raw in testbed.SYSLOG.since(mark):
        rec = parse_syslog(raw)
        assert rec is not None, f'not a syslog(3) datagram: {raw!r}'
        rec['raw'] = raw
        out.append(rec)
    return out


def _one(mark, severity, what, facility='daemon'):
    """The one line since mark: ident dns01 with a PID, facility and severity
    as given, no secret.  Returns it."""
    recs = _lines(mark)
    assert len(recs) == 1, f'{what}: expected one syslog line, got {len(recs)}: ' \
        f'{[r["raw"] for r in recs]}'
    r = recs[0]
    assert r['ident'] == 'dns01' and r['pid'], f'{what}: ident/PID: {r["raw"]!r}'
    assert (r['facility'], r['severity']) == (facility, severity), \
        f'{what}: expected {facility}.{severity}: {r["raw"]!r}'
    for s in SECRETS:
        assert s not in r['raw'], f'{what}: a secret in the syslog line'
    return r


def _auth(conf, domain, value=None, remaining=0):
    return run_dns01(['-c', conf, 'auth'], env=certbot_env(domain, value or acme_value(),
                                                              remaining))


def test_syslog_never_served(tb):
    """certbot auth where ns2 never gets the value: exit 5, one err line
    naming the client, action, domain, ns2 and its address, the timeout and
    the exit code."""
    conf = _config(tb, timeout=NEVER_TIMEOUT)
    tb.set_lag(None)
    mark = testbed.SYSLOG.mark()
    rc, _, err, _ = _auth(conf, 'syslog.example.test')
    assert rc == 5, f'expected exit 5, got {rc}: {err.strip()[-500:]}'
    r = _one(mark, 'err', 'never served')
    want = (f'certbot auth syslog.example.test: ns2.example.test ({NS2}) never served the '
            f'value within {NEVER_TIMEOUT} s (exit 5)')
    assert r['msg'] == want, f'line:\n  {r["msg"]}\nexpected:\n  {want}'
    note(f'syslog: {r["raw"]}')
    expect_txt(testbed.NS1, '_acme-challenge.syslog.example.test', [],
               'the failed call deleted its value: ')


def test_syslog_refused_credential(tb):
    """A TSIG secret the server does not accept: exit 3, one err line with
    the server's reason and the code, and neither the refused secret nor
    the real one in it."""
    wrong = secret(32)
    SECRETS.add(wrong)
    conf = tb.write_config(tsig_secret=wrong)
    mark = testbed.SYSLOG.mark()
    rc, _, err, _ = _auth(conf, 'syslog.example.test')
    assert rc == 3, f'expected exit 3 (credentials), got {rc}: {err.strip()[-500:]}'
    r = _one(mark, 'err', 'refused credential')
    assert r['msg'].startswith('certbot auth syslog.example.test: ') and \
        r['msg'].endswith(' (exit 3)') and 'BADSIG' in r['msg'], f'line: {r["msg"]}'
    first = [l for l in err.splitlines() if l.startswith('dns01: error: ')][0]
    assert first.removeprefix('dns01: error: ') in r['msg'], \
        f'the line does not give the first error stderr gave ({first}): {r["msg"]}'
    note(f'syslog: {r["raw"]}')


def test_syslog_warning_lame(tb):
    """Calls that succeed but work around a lame nameserver (ns2 is listed
    for far.example.test's zone and does not serve it): one warning line
    each, naming it, exit 0 -- auth, and cleanup too (it finds the zone's
    servers again)."""
    conf = _config(tb)
    value = acme_value()
    mark = testbed.SYSLOG.mark()
    rc, out, err, _ = _auth(conf, 'far.example.test', value)
    assert rc == 0, f'auth far.example.test: exit {rc}: {err.strip()[-500:]}'
    r = _one(mark, 'warning', 'auth, lame nameserver')
    assert r['msg'].startswith('certbot auth far.example.test: ') and 'lame' in r['msg'] \
        and 'ns2.example.test' in r['msg'] and r['msg'].endswith(' (exit 0)'), \
        f'line: {r["msg"]}'
    note(f'syslog: {r["raw"]}')
    mark = testbed.SYSLOG.mark()
    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'], env=certbot_env(
        'far.example.test', value, 0, auth_output=out.strip()))
    assert rc == 0, f'cleanup far.example.test: exit {rc}: {err.strip()[-500:]}'
    r = _one(mark, 'warning', 'cleanup, lame nameserver')
    assert r['msg'].startswith('certbot cleanup far.example.test: ') and \
        'lame' in r['msg'], f'line: {r["msg"]}'


def test_syslog_clean_call_silent(tb):
    """A clean auth + cleanup pair: no line at all."""
    conf = _config(tb)
    value = acme_value()
    mark = testbed.SYSLOG.mark()
    rc, out, err, _ = _auth(conf, 'syslog.example.test', value)
    assert rc == 0, f'auth: exit {rc}: {err.strip()[-500:]}'
    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'], env=certbot_env(
        'syslog.example.test', value, 0, auth_output=out.strip()))
    assert rc == 0, f'cleanup: exit {rc}: {err.strip()[-500:]}'
    recs = _lines(mark)
    assert not recs, f'a clean call logged: {[x["raw"] for x in recs]}'


def test_syslog_config_keys(tb):
    """syslog = no: a failing call sends nothing; syslog_facility = local3:
    PRI 155 (local3.err); a bad facility is a config error (exit 3, the key
    named), summed up with the default facility, daemon."""
    mark = testbed.SYSLOG.mark()
    rc, _, err, _ = _auth(_config(tb, syslog='no'), NO_ZONE)
    assert rc == 6, f'syslog = no: expected exit 6, got {rc}: {err.strip()[-300:]}'
    assert not _lines(mark), f'syslog = no: {[x["raw"] for x in _lines(mark)]}'

    mark = testbed.SYSLOG.mark()
    rc, _, err, _ = _auth(_config(tb, syslog='yes', syslog_facility='local3'), NO_ZONE)
    assert rc == 6, f'local3: expected exit 6, got {rc}: {err.strip()[-300:]}'
    r = _one(mark, 'err', 'syslog_facility = local3', facility='local3')
    assert r['pri'] == 155 and r['msg'].startswith(f'certbot auth {NO_ZONE}: ') and \
        r['msg'].endswith(' (exit 6)'), f'line: {r["raw"]!r}'

    mark = testbed.SYSLOG.mark()
    rc, _, err, _ = _auth(_config(tb, syslog_facility='kern'), NO_ZONE)
    assert rc == 3 and 'syslog_facility' in err, \
        f'syslog_facility = kern: expected exit 3 naming the key, got {rc}: {err[-300:]}'
    r = _one(mark, 'err', 'bad syslog_facility')
    assert 'syslog_facility must be' in r['msg'] and r['msg'].endswith(' (exit 3)'), \
        f'line: {r["raw"]!r}'


def test_syslog_certbot_quiet(tb):
    """The issue's case: certbot -q, as Debian's timer runs `certbot -q
    renew`, with dns01 as the manual hooks, where ns2 never serves the
    value.  (certonly, not renew: a renewal runs the same hooks the same
    way, and would first need an issuance; README "When a renewal fails"
    shows the journal line of a real `certbot -q renew`.)  certbot's own
    output names neither the server nor the reason -- its log file does,
    as WARNING lines -- and the syslog line has them."""
    domains = ('syslog.example.test',)
    dir_url, ca, conf, work = _start(tb, 'syslog-certbot-', domains,
                                     timeout=NEVER_TIMEOUT)
    tb.set_lag(None)
    dns01 = f'{shlex.quote(dns01_binary())} -c {shlex.quote(conf)}'
    log = work / 'logs' / 'letsencrypt.log'
    argv = _certbot_argv(work, 'certonly', '-q', '--manual', '--preferred-challenges', 'dns',
                         '--manual-auth-hook', f'{dns01} auth',
                         '--manual-cleanup-hook', f'{dns01} cleanup',
                         '--server', dir_url, '--agree-tos',
                         '--register-unsafely-without-email', '--cert-name', 'syslogtest',
                         '-d', domains[0])
    mark = testbed.SYSLOG.mark()
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=300 * SLOW,
                       env=clean_env({'REQUESTS_CA_BUNDLE': ca}), stdin=subprocess.DEVNULL)
    dt = time.monotonic() - t0
    said = p.stdout + p.stderr
    assert p.returncode != 0, f'certbot succeeded although ns2 never served:\n{said}'
    r = _one(mark, 'err', 'certbot -q')
    want = (f'certbot auth syslog.example.test: ns2.example.test ({NS2}) never served the '
            f'value within {NEVER_TIMEOUT} s (exit 5)')
    assert r['msg'] == want, f'line:\n  {r["msg"]}\nexpected:\n  {want}'
    assert 'ns2.example.test' not in said and 'never served' not in said, \
        f'certbot -q showed the reason after all (then the README is wrong):\n{said}'
    assert 'ns2.example.test' in log.read_text(errors='replace'), \
        "letsencrypt.log lacks the hook's stderr (the README says it is there)"
    _check_clean(domains, 'certbot -q certonly', p, [log])
    note(f'certbot -q certonly: exit {p.returncode} after {dt:.1f} s, said {said.strip()!r}')
    note(f'syslog: {r["raw"]}')


def test_syslog_doctor_fails(tb):
    """doctor (run from a weekly timer) that fails: one err line naming its
    first FAIL check and the exit code; a by-hand command that fails
    (set): none."""
    conf = _config(tb)
    mark = testbed.SYSLOG.mark()
    rc, _, err, _ = run_dns01(['-c', conf, 'doctor', NO_ZONE])
    assert rc != 0, f'doctor {NO_ZONE}: exit 0: {err.strip()[-300:]}'
    r = _one(mark, 'err', 'doctor')
    assert r['msg'].startswith(f'doctor {NO_ZONE}: zone {NO_ZONE}: ') and \
        r['msg'].endswith(f' (exit {rc})'), f'line: {r["raw"]!r}'
    note(f'syslog: {r["raw"]}')
    mark = testbed.SYSLOG.mark()
    rc, _, err, _ = run_dns01(['-c', conf, 'set', '_acme-challenge.' + NO_ZONE, 'x'])
    assert rc == 6, f'set: expected exit 6, got {rc}: {err.strip()[-300:]}'
    assert not _lines(mark), f'set: {[x["raw"] for x in _lines(mark)]}'



def test_syslog_secret_scan_reads_syslog(tb):
    """/dev/log in the namespace is the capture's socket, and the suite's
    secret scan (secretscan.py) reads what arrives there: a datagram with a
    registered secret planted on /dev/log is a hit naming the syslog."""
    scanner = testbed.SCANNER
    if scanner is None:
        raise testbed.Skip('run.py installed no secret scan')
    assert os.path.realpath('/dev/log') == str(testbed.SYSLOG.path), \
        f'/dev/log -> {os.path.realpath("/dev/log")}, not {testbed.SYSLOG.path}'
    s = secret(33)
    SECRETS.add(s)
    try:
        scanner.check()                        # everything before this is scanned
        mark = testbed.SYSLOG.mark()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(f'<27>Nov 28 00:00:00 planted[1]: {s}'.encode(), '/dev/log')
        assert [r['ident'] for r in _lines(mark)] == ['planted'], _lines(mark)
        hits = scanner.check()
        assert any('syslog' in h for h in hits), f'the scan missed the planted secret: {hits}'
        scanner.totals['hits'] -= len(hits)    # planted, not leaked
    finally:
        SECRETS.discard(s)

# What the docs must say (issue 18): the syslog section, no stale claims,
# every hook example with dns01's absolute path.
REPO = Path(__file__).resolve().parent.parent.parent
# A hook given as a bare "dns01": certbot's hook strings (command line or
# cli.ini, roff's \(aq quotes too), dehydrated's HOOK=, lego's EXEC_PATH=,
# uacme's -h.
BARE_HOOK = re.compile(r"(?:hook[ =]+(?:'|\\\(aq|\"|)(?:env (?:\S+=\S* )*)?|HOOK=|EXEC_PATH=|"
                       r"uacme (?:\\-|-)h )dns01\b")


def test_syslog_docs(tb):
    """README has "When a renewal fails" with journalctl -t dns01 and both
    keys; the man page has SYSLOG and both keys; neither says a hook is
    "planned" or "not available", nor that certbot always shows the hook's
    stderr; no hook example in README, the man page or examples/ names a
    bare dns01."""
    readme = (REPO / 'README.md').read_text()
    man = (REPO / 'doc' / 'dns01.1').read_text()
    assert '\n## When a renewal fails\n' in readme, 'README: no "When a renewal fails"'
    section = readme.split('\n## When a renewal fails\n', 1)[1].split('\n## ', 1)[0]
    for want in ('journalctl -t dns01', '/var/log/syslog', 'letsencrypt.log',
                 '`syslog = no`', 'syslog_facility', '(exit 5)'):
        assert want in section, f'README "When a renewal fails" lacks {want!r}'
    assert '\n.SH SYSLOG\n' in man and 'journalctl \\-t dns01' in man, \
        'man page: no SYSLOG section with journalctl -t dns01'
    for key in ('syslog', 'syslog_facility'):
        assert f'| `{key}` |' in readme, f'README [dns01] table lacks {key}'
        assert re.search(rf'^\.BI? {key} ', man, re.M), f'man page [dns01] lacks {key}'
    for name, text in (('README.md', readme), ('doc/dns01.1', man)):
        for stale in ('planned', 'not available yet', "it prints the hook's exit status and "
                      'stderr'):
            assert stale not in text, f'{name} still says {stale!r}'
    docs = [REPO / 'README.md', REPO / 'doc' / 'dns01.1'] + \
        sorted(p for p in (REPO / 'examples').rglob('*') if p.is_file())
    bare = [f'{p.relative_to(REPO)}:{n}: {line.strip()}' for p in docs
            for n, line in enumerate(p.read_text(errors='replace').splitlines(), 1)
            if BARE_HOOK.search(line)]
    assert not bare, 'hooks named as a bare dns01:\n' + '\n'.join(bare)
    assert BARE_HOOK.search("--manual-auth-hook 'dns01 auth'") and \
        BARE_HOOK.search('HOOK=dns01') and BARE_HOOK.search('uacme -h dns01 issue') and \
        BARE_HOOK.search("-hook 'env A=b dns01 auth'") and \
        not BARE_HOOK.search("-hook 'env A=b /usr/local/bin/dns01 auth'") and \
        not BARE_HOOK.search("--manual-auth-hook '/usr/local/bin/dns01 auth'"), \
        'BARE_HOOK does not tell a bare hook from an absolute one'
