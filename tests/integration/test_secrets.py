"""Config mistakes never print a secret: a typo names the file and line but
not the line's text, and `-c ''` is a usage error. Each case exits before
anything is sent."""

from flows import write_private
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


def test_empty_config_path(tb):
    """`-c ''` is a usage error (exit 2) that says so, not an open() error."""
    err = _refused(tb, ['-c', '', 'set', NAME, acme_value()], want_rc=2)
    assert '-c: the file name is empty' in err, f'unclear message: {err.strip()!r}'
