"""End to end with the ACME clients from Debian: dehydrated, lego, uacme and
certbot each get a certificate from pebble with dns01 itself as the hook
(rfc2136 provider, the testbed's BIND, ns2 lagging 3 s behind ns1), and the
certificate must name exactly what was asked for.

How each client reaches the hook and trusts pebble's test CA:

    client      hook                                  config        pebble's CA
    dehydrated  HOOK=<dns01> (CHALLENGETYPE=dns-01)   DNS01_CONFIG  CURL_CA_BUNDLE (curl CLI)
    lego        --dns exec, EXEC_PATH=<dns01>         DNS01_CONFIG  LEGO_CA_CERTIFICATES
    uacme       -h <dns01>                            DNS01_CONFIG  see _uacme_argv()
    certbot     --manual-auth-hook 'dns01 -c F auth'  -c F          REQUESTS_CA_BUNDLE
            and --manual-cleanup-hook 'dns01 -c F cleanup'

dehydrated, lego and uacme take one executable path as the hook, so the
config file reaches dns01 through $DNS01_CONFIG, which they pass on to it.
Every client only talks to 127.0.0.0/8: the runner's network namespace has
nothing else, /etc/resolv.conf there points at the client-side resolver, and
lego is told to send its own lookups to the primary (never the CA's resolver).

Each run starts with a fresh CA-side resolver (tb.restart_ca_resolver), so it
cannot see TXT answers cached during an earlier run. The wall-clock time of
each client's issuance is printed under the test's result line;
CLIENT_OUTPUT=1 in the environment also prints each client's output there.
"""

import os
import shlex
import subprocess
import tempfile
import time
from pathlib import Path

from flows import expect_txt
from testbed import NS1, NS2, clean_env, dns01_binary, note

TWO = ('example.test', '*.example.test')
FIVE = ('example.test', '*.example.test', 'www.example.test', 'a.b.example.test',
        'acme.test')
CLIENT_TIMEOUT = 300   # s; a ttl = 120 run waits two minutes by design
SYSTEM_BUNDLE = Path('/etc/ssl/certs/ca-certificates.crt')   # Debian's, libcurl's default


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def _challenge_names(domains):
    return sorted({'_acme-challenge.' + d.removeprefix('*.') for d in domains})


def _start(tb, prefix, domains=TWO, fresh_resolver=True, **conf_overrides):
    """Common start of one client run: pebble up, a fresh CA-side resolver
    (unless fresh_resolver is False: then it may hold answers of the runs
    before), a dns01 config (conf_overrides as for tb.write_config), an empty
    work dir, ns2 3 s behind. Returns (dir_url, ca_file, config, work_dir)."""
    dir_url, ca = tb.pebble()
    if fresh_resolver:
        tb.restart_ca_resolver()
    conf = tb.write_config(**conf_overrides)
    work = Path(tempfile.mkdtemp(prefix=prefix, dir=tb.tmp))
    tb.settle()     # an earlier run's cleanup did not wait for ns2
    tb.set_lag(3)
    for name in _challenge_names(domains):
        expect_txt(NS2, name, [], 'before the client ran: ')
    return dir_url, ca, conf, work


def _tail(path, lines=80):
    path = Path(path)
    if not path.exists():
        return f'({path} does not exist)'
    return '\n'.join(path.read_text(errors='replace').splitlines()[-lines:])


def _run_client(what, argv, env, logs=(), timeout=CLIENT_TIMEOUT):
    """Run one client command; returns (CompletedProcess, seconds). Raises
    AssertionError with its output and log tails when it fails."""
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           env=clean_env(env), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors='replace') if isinstance(e.stdout, bytes) else e.stdout
        err = e.stderr.decode(errors='replace') if isinstance(e.stderr, bytes) else e.stderr
        raise AssertionError(f'{what} did not finish within {timeout} s\n'
                             f'stdout:\n{out}\nstderr:\n{err}' + _log_tails(logs))
    dt = time.monotonic() - t0
    if os.environ.get('CLIENT_OUTPUT'):
        note(f'--- {what} stdout:\n{p.stdout}\n--- {what} stderr:\n{p.stderr}')
    if p.returncode != 0:
        raise AssertionError(f'{what} exited {p.returncode} after {dt:.1f} s\n'
                             f'stdout:\n{p.stdout}\nstderr:\n{p.stderr}' + _log_tails(logs))
    return p, dt


def _log_tails(logs):
    return ''.join(f'\n--- {p} (tail):\n{_tail(p)}' for p in logs)


def _fail(what, p, logs=()):
    return (f'{what}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}' + _log_tails(logs))


def cert_info(path):
    """(set of SAN DNS names, serial, `openssl x509 -text` output) of the
    first certificate in `path`."""
    text = subprocess.run(['openssl', 'x509', '-noout', '-text', '-in', str(path)],
                          capture_output=True, text=True, check=True).stdout
    lines = text.splitlines()
    sans = set()
    for i, line in enumerate(lines):
        if 'X509v3 Subject Alternative Name' in line:
            sans = {x.strip().removeprefix('DNS:') for x in lines[i + 1].split(',')}
    serial = subprocess.run(['openssl', 'x509', '-noout', '-serial', '-in', str(path)],
                            capture_output=True, text=True, check=True).stdout.strip()
    return sans, serial, text


def _check_cert(path, domains, what, p=None, logs=()):
    assert Path(path).is_file(), \
        _fail(f'{what}: no certificate at {path}', p, logs) if p else f'{what}: no {path}'
    sans, serial, text = cert_info(path)
    assert sans == set(domains), \
        f'{what}: certificate {path} names {sorted(sans)}, expected {sorted(domains)}:\n{text}'
    return serial


def _check_clean(domains, what, p, logs=()):
    """The hook's cleanup removed every value from the primary."""
    for name in _challenge_names(domains):
        try:
            expect_txt(NS1, name, [], f'after {what}: ')
        except AssertionError as e:
            raise AssertionError(_fail(str(e), p, logs)) from None


# --------------------------------------------------------------------------
# dehydrated
# --------------------------------------------------------------------------

def _dehydrated(tb, hook_chain):
    dir_url, ca, conf, work = _start(tb, f'dehydrated-{hook_chain}-')
    dns01 = dns01_binary()
    config = work / 'config'
    # BASEDIR is where accounts/ and certs/ go. KEYSIZE is the RSA account
    # key (dehydrated 0.7 has only RSA account keys): 2048 bits, to keep key
    # generation short; certificate keys are its default secp384r1.
    config.write_text(f'CA="{dir_url}"\n'
                      f'BASEDIR="{work}"\n'
                      'CHALLENGETYPE="dns-01"\n'
                      f'HOOK="{dns01}"\n'
                      f'HOOK_CHAIN="{hook_chain}"\n'
                      'KEYSIZE=2048\n')
    # curl (the CLI, which dehydrated runs for every request) reads CURL_CA_BUNDLE.
    env = {'CURL_CA_BUNDLE': ca, 'DNS01_CONFIG': conf}
    base = ['dehydrated', '--config', str(config)]
    _run_client('dehydrated --register', base + ['--register', '--accept-terms'], env)
    argv = base + ['--cron', '--challenge', 'dns-01']
    for d in TWO:
        argv += ['--domain', d]
    p, dt = _run_client(f'dehydrated (HOOK_CHAIN={hook_chain})', argv, env)
    cert = work / 'certs' / 'example.test' / 'cert.pem'
    _check_cert(cert, TWO, f'dehydrated (HOOK_CHAIN={hook_chain})', p)
    _check_clean(TWO, 'dehydrated', p)
    note(f'dehydrated HOOK_CHAIN={hook_chain}: example.test + *.example.test issued '
         f'in {dt:.1f} s')
    return p


def test_pebble_dehydrated(tb):
    """dehydrated, one deploy_challenge/clean_challenge call per challenge."""
    _dehydrated(tb, 'no')


def test_pebble_dehydrated_hook_chain(tb):
    """dehydrated with HOOK_CHAIN=yes: one call carries both challenges."""
    _dehydrated(tb, 'yes')


# --------------------------------------------------------------------------
# lego
# --------------------------------------------------------------------------

def _lego(tb, domains=TWO, mode=None, fresh_resolver=True, **conf_overrides):
    """One lego run; returns (CompletedProcess, seconds)."""
    what = 'lego' + (f' (EXEC_MODE={mode})' if mode else '')
    dir_url, ca, conf, work = _start(tb, 'lego-', domains, fresh_resolver, **conf_overrides)
    env = {'LEGO_CA_CERTIFICATES': ca, 'EXEC_PATH': dns01_binary(), 'DNS01_CONFIG': conf,
           # lego checks propagation itself after the hook returned: it
           # sleeps one interval, then asks every authoritative server by
           # host name, once per interval, until the limit. dns01 returned
           # only once all of them serve the value, so the check could pass
           # at once; but lego queries whichever address of ns2 Go dials
           # first, and the testbed's 127.53.0.99 never answers ("read:
           # connection refused"), so some rounds fail at random. 1 s is the
           # smallest interval (whole seconds); 30 s leaves ~30 rounds of
           # which one must pick 127.53.0.2.
           'EXEC_POLLING_INTERVAL': '1',
           'EXEC_PROPAGATION_TIMEOUT': '30',
           # The exec provider is Sequential: lego presents, validates and
           # cleans up one name before it presents the next, and sleeps this
           # long in between (default 60 s), so that the CA's resolver has
           # forgotten the first value when the second one is validated at
           # the same name. dns01 waits for that itself (the TTL of what it
           # last changed there), so 1 s: this test depends on that wait.
           'EXEC_SEQUENCE_INTERVAL': '1'}
    if mode:
        env['EXEC_MODE'] = mode
    argv = ['lego', '--server', dir_url, '--accept-tos', '--email', 'hostmaster@example.test',
            '--path', str(work), '--dns', 'exec',
            # lego's own lookups (SOA walk, and a CNAME lookup of the
            # challenge name itself) go to the primary, which answers them
            # authoritatively: never to the CA's resolver, and not to the
            # client-side one either, whose log test_resolver.py checks for
            # queries about challenge names (dns01 must never make any).
            '--dns.resolvers', f'{NS1}:53']
    for d in domains:
        argv += ['--domains', d]
    argv += ['run']
    p, dt = _run_client(what, argv, env)
    # lego names the files after the first domain ("*" becomes "_"); .crt
    # holds the chain, leaf first.
    cert = work / 'certificates' / (domains[0].replace('*', '_') + '.crt')
    _check_cert(cert, domains, what, p)
    _check_clean(domains, what, p)
    note(f'{what}: {" + ".join(domains)} issued in {dt:.1f} s')
    return p, dt


def test_pebble_lego(tb):
    """lego --dns exec: dns01 present FQDN VALUE / dns01 cleanup FQDN VALUE."""
    _lego(tb)


def test_pebble_lego_raw(tb):
    """lego --dns exec with EXEC_MODE=RAW: dns01 present -- DOMAIN TOKEN
    KEYAUTH, dns01 hashes the key authorization. One wildcard name only:
    the sequence of two names is test_pebble_lego's (and costs ~30 s)."""
    _lego(tb, ('*.example.test',), mode='RAW')


# --------------------------------------------------------------------------
# uacme
# --------------------------------------------------------------------------

def _uacme_argv(ca, work, argv):
    """uacme talks to the CA through libcurl (GnuTLS), which has no
    environment variable for a CA file, only the system bundle. So uacme runs
    in a mount namespace of its own in which a copy of the system bundle plus
    pebble's CA is bind-mounted over /etc/ssl/certs/ca-certificates.crt: only
    that one process sees it, not the runner or later tests."""
    bundle = work / 'ca-bundle.crt'
    bundle.write_bytes(SYSTEM_BUNDLE.read_bytes() + b'\n' + Path(ca).read_bytes())
    return ['unshare', '--mount', '--propagation', 'private', '--',
            'sh', '-ec', 'mount --bind "$1" "$2"; shift 2; exec "$@"',
            'sh', str(bundle), str(SYSTEM_BUNDLE)] + argv


def _uacme(tb, domains=TWO, fresh_resolver=True, **conf_overrides):
    """One uacme run (account, then issue); returns (CompletedProcess, seconds)."""
    dir_url, ca, conf, work = _start(tb, 'uacme-', domains, fresh_resolver, **conf_overrides)
    assert SYSTEM_BUNDLE.is_file(), \
        f'{SYSTEM_BUNDLE} is missing (package ca-certificates): uacme trusts only it'
    confdir = work / 'uacme'
    env = {'DNS01_CONFIG': conf}
    base = ['uacme', '-v', '-c', str(confdir), '-a', dir_url, '-t', 'EC']
    _run_client('uacme new', _uacme_argv(ca, work, base + ['-y', 'new']), env)
    argv = _uacme_argv(ca, work, base + ['-h', dns01_binary(), 'issue', *domains])
    p, dt = _run_client('uacme issue', argv, env)
    # uacme drops the "*." from the directory name; the first name is the apex.
    _check_cert(confdir / domains[0].removeprefix('*.') / 'cert.pem', domains, 'uacme', p)
    _check_clean(domains, 'uacme', p)
    note(f'uacme: {" + ".join(domains)} issued in {dt:.1f} s')
    return p, dt


def test_pebble_uacme(tb):
    """uacme -h dns01: begin/done per authorization, one at a time; the
    http-01/tls-alpn-01 offers are declined with exit 1."""
    _uacme(tb)


# --------------------------------------------------------------------------
# certbot
# --------------------------------------------------------------------------

def _certbot_argv(work, *args):
    return ['certbot', *args, '--non-interactive',
            '--config-dir', str(work / 'config'), '--work-dir', str(work / 'work'),
            '--logs-dir', str(work / 'logs')]


def _certbot_certonly(tb, prefix, domains, cert_name, fresh_resolver=True):
    """One certbot certonly run with dns01 as the manual hooks; returns
    (work_dir, hook command prefix, env, log, serial, seconds)."""
    dir_url, ca, conf, work = _start(tb, prefix, domains, fresh_resolver)
    # certbot runs the hooks through a shell and stores them in the renewal conf.
    dns01 = f'{shlex.quote(dns01_binary())} -c {shlex.quote(conf)}'
    env = {'REQUESTS_CA_BUNDLE': ca}
    log = work / 'logs' / 'letsencrypt.log'
    argv = _certbot_argv(work, 'certonly', '--manual', '--preferred-challenges', 'dns',
                         '--manual-auth-hook', f'{dns01} auth',
                         '--manual-cleanup-hook', f'{dns01} cleanup',
                         '--server', dir_url, '--agree-tos',
                         '--register-unsafely-without-email', '--cert-name', cert_name)
    for d in domains:
        argv += ['-d', d]
    p, dt = _run_client('certbot certonly', argv, env, logs=[log])
    live = work / 'config' / 'live' / cert_name / 'cert.pem'
    serial = _check_cert(live, domains, 'certbot certonly', p, [log])
    _check_clean(domains, 'certbot certonly', p, [log])
    return work, dns01, env, log, serial, dt


def test_pebble_certbot_five_names(tb):
    """certbot certonly for five names in two zones: apex + wildcard (two
    values at one name), a name that exists, one that does not, and the
    other zone's apex."""
    _, _, _, _, _, dt = _certbot_certonly(tb, 'certbot5-', FIVE, 'five')
    note(f'certbot: {len(FIVE)} names in 2 zones issued in {dt:.1f} s')


def test_pebble_certbot_renew(tb):
    """certbot certonly for example.test + *.example.test, then
    `certbot renew --force-renewal` with the same --config-dir: it must run
    the hooks stored in the renewal conf and get a new certificate."""
    work, dns01, env, log, serial1, dt = _certbot_certonly(tb, 'certbot-renew-', TWO, 'two')
    note(f'certbot: example.test + *.example.test issued in {dt:.1f} s')

    renewal = (work / 'config' / 'renewal' / 'two.conf').read_text()
    for key, cmd in (('manual_auth_hook', f'{dns01} auth'),
                     ('manual_cleanup_hook', f'{dns01} cleanup')):
        assert f'{key} = {cmd}' in renewal, \
            f'renewal conf lacks "{key} = {cmd}":\n{renewal}'

    # A new client run, so like every run here it starts with a CA-side
    # resolver that has not cached the previous run's TXT answers (TTL 10 s).
    tb.restart_ca_resolver()
    ca_log = tb.tmp / 'res-ca' / 'unbound.log'
    ca_log_before = len(ca_log.read_text(errors='replace'))
    # Without a TTY certbot renew first sleeps a random time (up to 8 min)
    # unless told not to.
    p, dt = _run_client('certbot renew --force-renewal',
                        _certbot_argv(work, 'renew', '--force-renewal',
                                      '--no-random-sleep-on-renew'), env, logs=[log])
    live = work / 'config' / 'live' / 'two' / 'cert.pem'
    archive = work / 'config' / 'archive' / 'two'
    assert (archive / 'cert2.pem').is_file(), \
        _fail(f'certbot renew: no {archive}/cert2.pem (have '
              f'{sorted(x.name for x in archive.iterdir())})', p, [log])
    assert Path(os.path.realpath(live)).name == 'cert2.pem', \
        _fail(f'live/two/cert.pem points to {os.path.realpath(live)}, not cert2.pem', p, [log])
    serial2 = _check_cert(live, TWO, 'certbot renew', p, [log])
    assert serial2 != serial1, f'certbot renew: same certificate ({serial1}) after renewal'
    # pebble reuses no authorization here (PEBBLE_AUTHZREUSE=0), so it
    # validated again, which needs fresh values: the stored hooks ran.
    asked = ca_log.read_text(errors='replace')[ca_log_before:]
    assert '_acme-challenge.example.test. TXT IN' in asked, \
        f'certbot renew: pebble never asked for the challenge TXT:\n{asked[-3000:]}'
    _check_clean(TWO, 'certbot renew', p, [log])
    note(f'certbot renew --force-renewal: renewed in {dt:.1f} s ({serial1} -> {serial2})')
