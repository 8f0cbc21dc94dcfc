"""Config mistakes never print a secret, and every config or secret file is
read safely: a typo names the file and line but not the line's text, a
UTF-8 BOM is skipped, `-c ''` is a usage error, a FIFO or a device is
refused at once (never waited on), and paths are shown escaped. Each case
exits before anything is sent."""

import os

from providers_common import write_private
from testbed import NS1, SECRETS, acme_value, run_dns01, secret, soa_serial

NAME = '_acme-challenge.secrets.example.test'


def _secret_with_padding():
    """A base64 secret that ends in '=', registered with run_dns01's check in
    full and also without its padding (a parser that splits at '=' would
    print that part)."""
    s = secret(32)
    assert s.endswith('=')
    SECRETS.update({s, s.rstrip('=')})
    return s


def _refused(tb, args, env=None, want_rc=3):
    """Run dns01 and check the exit code and that nothing reached DNS (a
    dns01 that hangs on a FIFO fails run_dns01's own time limit). Returns
    stderr."""
    serial = soa_serial(NS1, 'example.test')
    log_before = len(tb.resolver_log())
    rc, _, err, _ = run_dns01(args, env=env)
    assert rc == want_rc, f'{args!r}: exit {rc}, want {want_rc}: {err.strip()[-500:]}'
    assert soa_serial(NS1, 'example.test') == serial, 'the zone changed anyway'
    assert ' IN' not in tb.resolver_log()[log_before:], 'dns01 asked the resolver anyway'
    return err


def test_config_typos_never_print_secret(tb):
    """A secret on a malformed line (no '=', a ':', a stray quote), pasted as
    a section, a zone, a resolver, a type or a key: exit 3, the message
    names file:line and what is wrong, and never the secret or a piece of it."""
    s = _secret_with_padding()
    head = '[dns01]\ntimeout = 5\n'              # lines 1-2
    cases = [                                    # (description, text, expected message)
        ('no =', head + '[provider ns]\ntype = rfc2136\ntsig_secret ' + s,
         ":5: expected 'tsig_secret = value'"),
        ('colon', head + '[provider ns]\ntype = rfc2136\ntsig_secret: ' + s,
         ":5: expected 'tsig_secret = value'"),
        ('quote instead of =', head + '[provider ns]\ntype = rfc2136\ntsig_secret "' + s + '"',
         ":5: expected 'tsig_secret = value'"),
        ('unbalanced quote', head + '[provider ns]\ntype = rfc2136\ntsig_secret = "' + s,
         ':5: unbalanced quotes'),
        ('section', head + '[' + s + ']', ':3: unknown section'),
        ('zones', head + '[provider ns]\ntype = rfc2136\nzones = ' + s,
         ':5: zones: name 1 of the list'),
        ('resolvers', '[dns01]\nresolvers = ' + s, ':2: resolvers: address 1 of the list'),
        ('type', head + '[provider ns]\ntype = ' + s, ':3: [provider ns]: unknown provider type'),
        # an unknown key, or not a key at all when it has '+' or '/'
        ('bare secret', head + '[provider ns]\ntype = rfc2136\n' + s, ':5: '),
        ('cloudflare api_token', head + '[provider cf]\ntype = cloudflare\napi_token ' + s,
         ":5: expected 'api_token = value'"),
        ('sakura secret', head + '[provider sk]\ntype = sakuracloud\naccess_token = t\n'
         'access_token_secret: ' + s, ":6: expected 'access_token_secret = value'"),
    ]
    failures = []
    for desc, text, want in cases:
        conf = write_private(tb.tmp / 'typo.conf', text + '\n')
        err = _refused(tb, ['-c', conf, 'set', NAME, acme_value()])   # fails on a secret
        if conf + want not in err:
            failures.append(f'{desc}: stderr does not say "{conf}{want}": {err.strip()!r}')
    assert not failures, '\n'.join(failures)


def test_config_bom_skipped(tb):
    """A UTF-8 byte order mark (Windows editors add one) at the start of the
    config is skipped: the file works."""
    conf = tb.write_config()
    with open(conf, 'r+b') as f:
        text = f.read()
        f.seek(0)
        f.write(b'\xef\xbb\xbf' + text)
    v = acme_value()
    rc, _, err, _ = run_dns01(['-c', conf, 'set', NAME, v])
    assert rc == 0, f'set with a BOM in the config: exit {rc}: {err.strip()[-500:]}'
    rc, _, err, _ = run_dns01(['-c', conf, 'unset', NAME, v])
    assert rc == 0, f'unset: exit {rc}: {err.strip()[-500:]}'


def test_empty_config_path(tb):
    """`-c ''` is a usage error (exit 2) that says so, not an open() error."""
    err = _refused(tb, ['-c', '', 'set', NAME, acme_value()], want_rc=2)
    assert '-c: the file name is empty' in err, f'unclear message: {err.strip()!r}'


def test_config_not_regular_file(tb):
    """A FIFO, a device or a directory as the config, a credentials file or a
    NAME_FILE: exit 3 at once with what it is, and no 'chmod 600 /dev/zero'
    advice (that is for regular files)."""
    fifo = str(tb.tmp / 'dns01.fifo')
    os.mkfifo(fifo, 0o600)
    cases = [('-c FIFO', ['-c', fifo], None, 'is a FIFO'),
             ('-c /dev/zero', ['-c', '/dev/zero'], None, '/dev/zero is a device'),
             ('-c directory', ['-c', str(tb.tmp)], None, 'is a directory')]
    for what, path in (('FIFO', fifo), ('device', '/dev/zero')):
        conf = tb.write_config(tsig_secret=None, tsig_key=None, tsig_algorithm=None,
                               credentials=path)
        cases.append((f'credentials = {what}', ['-c', conf], None, f'is a {what}'))
        cases.append((f'RFC2136_TSIG_SECRET_FILE = {what}', [],
                      {'DNS01_PROVIDER': 'rfc2136', 'RFC2136_TSIG_KEY': 'dns01-key',
                       'RFC2136_TSIG_SECRET_FILE': path}, f'is a {what}'))
    failures = []
    for desc, args, env, want in cases:
        err = _refused(tb, args + ['set', NAME, acme_value()], env=env)
        if want not in err or 'chmod' in err:
            failures.append(f'{desc}: want "{want}" and no chmod advice: {err.strip()!r}')
    assert not failures, '\n'.join(failures)


def test_config_path_shown_escaped(tb):
    """A terminal escape in the config path is shown as \\x1b, never raw."""
    path = str(tb.tmp / 'no-such-\x1b[2J.conf')
    err = _refused(tb, ['-c', path, 'set', NAME, acme_value()])
    assert '\x1b' not in err and 'no-such-\\x1b[2J.conf' in err, \
        f'the path is not shown escaped: {err!r}'
