"""Input checking: invalid names and values are refused with exit 2 before
anything is sent; the limits themselves are accepted."""

import concurrent.futures
import os

from flows import expect_txt
from testbed import NS1, NS2, acme_value, certbot_env, note, run_dns01, soa_serial

V = acme_value()                      # a valid ACME value
BAD_INPUT_WORKERS = 3
SUFFIX = '.example.test'


def long_name(last_label_len, prefix=''):
    """prefix + three 63-octet labels + one of `last_label_len` + .example.test
    (length: len(prefix) + 192 + last_label_len + 13)."""
    return prefix + '.'.join(['b' * 63, 'c' * 63, 'd' * 63, 'e' * last_label_len]) + SUFFIX


def bad_cases(pwned):
    """(description, argv after `-c CONF`, env) for every invalid input."""
    inject = f'$(touch${{IFS}}{pwned})'
    names = {
        'semicolon': 'a;b' + SUFFIX,
        'command substitution': inject + SUFFIX,
        'backticks': f'`touch {pwned}`' + SUFFIX,
        'pipe': 'a|b' + SUFFIX,
        'ampersand': 'a&b' + SUFFIX,
        'redirect': 'a>b' + SUFFIX,
        'space': 'a b' + SUFFIX,
        'tab': 'a\tb' + SUFFIX,
        'newline': 'a\nb' + SUFFIX,
        'single quote': "a'b" + SUFFIX,
        'double quote': 'a"b' + SUFFIX,
        'backslash': 'a\\b' + SUFFIX,
        'slash': 'a/b' + SUFFIX,
        'DEL': 'a\x7fb' + SUFFIX,
        'empty name': '',
        'empty label (..)': 'a.' + SUFFIX,
        'leading dot': SUFFIX,
        '64-octet label': 'a' * 64 + SUFFIX,
        '254-octet name': long_name(49),
        'UTF-8 (not an A-label)': 'bücher' + SUFFIX,
        'invalid UTF-8 byte': '\udcff' + SUFFIX,     # passes the raw byte 0xff
        '* not leftmost': 'a.*' + SUFFIX,
        '** label': '**' + SUFFIX,
    }
    cases = [(f'set name: {d}', ['set', n, V], None) for d, n in names.items()]

    ok_name = 'input' + SUFFIX
    cases += [
        ('set value: newline', ['set', ok_name, 'abc\ndef'], None),
        ('set value: control character', ['set', ok_name, 'abc\x01def'], None),
        ('set value: 256 octets', ['set', ok_name, 'x' * 256], None),
        ('usage: set without arguments', ['set'], None),
        ('usage: set without a value', ['set', ok_name], None),
        ('usage: unknown command', ['frobnicate', ok_name, V], None),
        ('usage: --timeout abc', ['set', ok_name, V, '--timeout', 'abc'], None),
        ('usage: --timeout without a number', ['set', ok_name, V, '--timeout'], None),
        # a misspelled option after the command must not become a TXT value
        ('usage: set ... --no-wiat', ['set', ok_name, V, '--no-wiat'], None),
        ('usage: set ... --timout 5', ['set', ok_name, V, '--timout', '5'], None),
        ('usage: set ... -x', ['set', ok_name, V, '-x'], None),
        ('usage: unset ... --no-wiat', ['unset', ok_name, V, '--no-wiat'], None),
        ('usage: wait ... --jsno', ['wait', ok_name, V, '--jsno'], None),
        ('usage: list NAME --jsno', ['list', ok_name, '--jsno'], None),
        ('usage: doctor DOMAIN --check-certs', ['doctor', 'input' + SUFFIX, '--check-certs'],
         None),
        ('usage: set ... -VALUE without --', ['set', ok_name, acme_value(dash=True)], None),
        # --timeout: decimal seconds only, at least 1 after rounding up
        ('usage: --timeout 0x10', ['set', ok_name, V, '--timeout', '0x10'], None),
        ('usage: --timeout 1e0', ['set', ok_name, V, '--timeout', '1e0'], None),
        ('usage: --timeout 0', ['set', ok_name, V, '--timeout', '0'], None),
        ('usage: --timeout 0.0', ['set', ok_name, V, '--timeout', '0.0'], None),
        ('usage: --timeout -1', ['set', ok_name, V, '--timeout', '-1'], None),
        ('usage: --timeout .5', ['set', ok_name, V, '--timeout', '.5'], None),
        ('usage: --timeout 86401', ['set', ok_name, V, '--timeout', '86401'], None),
        ('usage: --timeout inf', ['set', ok_name, V, '--timeout', 'inf'], None),
        ('usage: --timeout " 5"', ['set', ok_name, V, '--timeout', ' 5'], None),
        ('usage: unknown command with an escape', ['\x1b[31mred'], None),
    ]

    domains = {k: names[k] for k in (
        'semicolon', 'command substitution', 'backticks', 'pipe', 'space', 'newline',
        'empty name', 'empty label (..)', 'leading dot', '64-octet label', '254-octet name',
        'UTF-8 (not an A-label)', 'invalid UTF-8 byte', '* not leftmost')}
    domains['whitespace only'] = '   '
    domains['challenge name > 253 octets'] = long_name(33)   # 237 + 16 = 254 with prefix
    for d, dom in domains.items():
        cases.append((f'auth CERTBOT_DOMAIN: {d}', ['auth'], certbot_env(dom, V, 0)))
    cases.append(('auth CERTBOT_DOMAIN: missing', ['auth'],
                  {'CERTBOT_VALIDATION': V, 'CERTBOT_REMAINING_CHALLENGES': '0'}))

    values = {
        '42 characters': V[:42],
        '44 characters': V + 'A',
        'with +': '+' + V[1:],
        'with /': V[:20] + '/' + V[21:],
        'with =': V[:42] + '=',
        'empty': '',
        'whitespace only': ' ' * 43,
        'space inside': V[:20] + ' ' + V[21:],
        'newline inside': V[:20] + '\n' + V[21:],
        'with $(...)': '$(id)' + V[5:],
        'with ;': ';id;' + V[4:],
    }
    for d, val in values.items():
        cases.append((f'auth CERTBOT_VALIDATION: {d}', ['auth'],
                      certbot_env('input' + SUFFIX, val, 0)))
    cases.append(('auth CERTBOT_VALIDATION: missing', ['auth'],
                  {'CERTBOT_DOMAIN': 'input' + SUFFIX, 'CERTBOT_REMAINING_CHALLENGES': '0'}))
    return cases


def test_bad_input(tb):
    conf = tb.write_config(timeout=5)     # should a bad input get through, fail fast
    pwned = str(tb.tmp / 'PWNED')
    serial = soa_serial(NS1, 'example.test')
    log_before = len(tb.resolver_log())
    cases = bad_cases(pwned)
    assert len(cases) >= 30
    failures = []

    def one(case):
        desc, args, env = case
        rc, out, err, _ = run_dns01(['-c', conf] + args, env=env, timeout=60)
        if rc != 2:
            return (f'{desc}: exit {rc} (expected 2); stderr: '
                    f'{err.strip().splitlines()[-1] if err.strip() else ""}')
        return None

    # Independent calls, nothing sent: a few at a time (under valgrind each
    # call is mostly start-up).
    with concurrent.futures.ThreadPoolExecutor(max_workers=BAD_INPUT_WORKERS) as pool:
        failures = [f for f in pool.map(one, cases) if f]
    note(f'{len(cases)} invalid inputs tried')
    assert not os.path.exists(pwned), 'a shell ran the injected command!'
    assert not failures, f'{len(failures)} of {len(cases)} invalid inputs not refused ' \
                         'with exit 2:\n' + '\n'.join(failures)
    assert soa_serial(NS1, 'example.test') == serial, 'example.test changed on ns1'
    new = tb.resolver_log()[log_before:]
    assert ' IN' not in new, f'invalid input, yet dns01 asked the resolver:\n{new}'


def test_bad_input_is_shown_escaped(tb):
    """A terminal escape in an unknown word is shown escaped, never raw."""
    conf = tb.write_config()
    for args in (['\x1b[31mred'], ['set', 'input' + SUFFIX, V, '-\x1b[2J']):
        rc, _, err, _ = run_dns01(['-c', conf] + args)
        assert rc == 2 and '\x1b' not in err and '\\x1b' in err, \
            f'{args!r}: expected exit 2 and the escape shown as \\x1b; exit {rc}, {err!r}'


def test_hook_words_shown_escaped(tb):
    """Words from the CA or the client (uacme's TYPE and IDENT, dehydrated's
    DOMAIN, lego's FQDN) reach stderr escaped, never as terminal escapes."""
    conf = tb.write_config()
    esc = '\x1b]0;pwned\x07\x1b[2J'
    for args, want_rc in ((['begin', 'x' + esc, 'a' + esc, 'tok', V], 1),
                          (['deploy_challenge', 'a' + esc + SUFFIX, 'tok', V], 2),
                          (['present', 'a' + esc + SUFFIX + '.', V], 2)):
        rc, _, err, _ = run_dns01(['-c', conf] + args,
                                  env={'BASEDIR': '/b', 'CERTDIR': '/c'})
        assert rc == want_rc and '\x1b' not in err and '\\x1b' in err, \
            f'{args[0]}: expected exit {want_rc} and \\x1b shown; exit {rc}, {err!r}'


def test_values_starting_with_dash(tb):
    """A value that starts with '-' (one ACME value in 64): set/unset take it
    after '--'; the hook dialects (lego present/cleanup) take it as it is,
    since their clients never pass '--'."""
    conf = tb.write_config()
    name, v = 'dash' + SUFFIX, acme_value(dash=True)
    rc, _, err, _ = run_dns01(['-c', conf, 'set', name, '--', v])
    assert rc == 0, f'set NAME -- {v}: exit {rc}: {err.strip()[-400:]}'
    expect_txt(NS1, name, [v])
    rc, _, err, _ = run_dns01(['-c', conf, 'unset', name, '--', v])
    assert rc == 0, f'unset NAME -- {v}: exit {rc}: {err.strip()[-400:]}'
    expect_txt(NS1, name, [])
    fqdn, v = '_acme-challenge.dashlego' + SUFFIX + '.', acme_value(dash=True)
    rc, _, err, _ = run_dns01(['-c', conf, 'present', fqdn, v])
    assert rc == 0, f'lego present FQDN {v}: exit {rc}: {err.strip()[-400:]}'
    expect_txt(NS1, fqdn.rstrip('.'), [v])
    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup', fqdn, v])
    assert rc == 0, f'lego cleanup FQDN {v}: exit {rc}: {err.strip()[-400:]}'
    expect_txt(NS1, fqdn.rstrip('.'), [])


def test_timeout_fraction_rounded_up(tb):
    """--timeout 0.0001 is 1 s, not 0 s: with ns2 never updated, the wait
    gives up and says 'within 1 s'."""
    conf = tb.write_config()
    tb.set_lag(None)
    name = 'frac' + SUFFIX
    v = acme_value()
    rc, _, err, el = run_dns01(['-c', conf, 'set', name, v, '--timeout', '0.0001'])
    tb.set_lag(0)
    tb.sync()
    assert rc == 5 and 'within 1 s' in err, f'exit {rc}: {err.strip()[-400:]}'
    assert el >= 1, f'--timeout 0.0001 gave up after {el:.2f}s, before 1 s'
    rc, _, err, _ = run_dns01(['-c', conf, 'unset', name, v])
    assert rc == 0, f'unset: exit {rc}: {err.strip()[-400:]}'


def test_name_limits_accepted(tb):
    """63-octet labels and 253-octet names are valid and work."""
    conf = tb.write_config()
    label63 = '_acme-challenge.' + 'a' * 63 + SUFFIX
    name253 = long_name(48)
    assert len(name253) == 253
    for name in (label63, name253):
        value = acme_value()
        rc, _, err, _ = run_dns01(['-c', conf, 'set', name, value])
        assert rc == 0, f'set {len(name)}-octet name: exit {rc}: {err.strip()[-400:]}'
        for server in (NS1, NS2):
            expect_txt(server, name, [value])
        rc, _, err, _ = run_dns01(['-c', conf, 'unset', name, value])
        assert rc == 0, f'unset {len(name)}-octet name: exit {rc}: {err.strip()[-400:]}'
        for server in (NS1, NS2):
            expect_txt(server, name, [])

    domain = long_name(32)                  # _acme-challenge.<domain> is 253 octets
    assert len('_acme-challenge.' + domain) == 253
    values = [acme_value()]
    rc, out, err, _ = run_dns01(['-c', conf, 'auth'], env=certbot_env(domain, values[0], 0))
    assert rc == 0, f'auth, 253-octet challenge name: exit {rc}: {err.strip()[-400:]}'
    for server in (NS1, NS2):
        expect_txt(server, '_acme-challenge.' + domain, values)
    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'],
                              env=certbot_env(domain, values[0], 0, auth_output=out.strip()))
    assert rc == 0, f'cleanup, 253-octet challenge name: exit {rc}: {err.strip()[-400:]}'


def test_bad_provider_section_sends_nothing(tb):
    """A provider section whose values its provider refuses - a TSIG secret
    that is not base64, a Cloudflare zone_id that is not 32 hex digits, an
    api_url with a password in it (never shown) - ends
    the call with exit 3 before a single DNS query or API call: for `set` and
    for certbot's auth hook (run_precheck, before discovery)."""
    cf = dict(type='cloudflare', tsig_key=None, tsig_algorithm=None, tsig_secret=None,
              api_token='t' * 40, zone_id='not-a-zone-id', api_url='https://127.0.0.1:9/')
    userinfo = dict(cf, zone_id=None, api_url='https://dns01:pass-in-url@127.0.0.1:9/x')
    confs = [('rfc2136 secret', tb.write_config(tsig_secret='not*base64*at*all')),
             ('cloudflare zone_id', tb.write_config(**cf)),
             ('api_url with user:password@', tb.write_config(**userinfo))]
    serial = soa_serial(NS1, 'example.test')
    for what, conf in confs:
        for args, env in ((['set', 'precheck' + SUFFIX, V], None),
                          (['auth'], certbot_env('precheck' + SUFFIX, V, 0))):
            before = len(tb.resolver_log())
            rc, _, err, _ = run_dns01(['-c', conf] + args, env=env)
            assert rc == 3, f'{what}, {args[0]}: exit {rc} (expected 3): {err[-500:]}'
            assert 'pass-in-url' not in err, f'{what}: the URL password shown: {err}'
            new = tb.resolver_log()[before:]
            assert ' IN' not in new, f'{what}, {args[0]}: the resolver was asked:\n{new}'
    assert soa_serial(NS1, 'example.test') == serial
