"""dns01 must never ask a recursive resolver about the challenge name (a
cached NXDOMAIN there is what makes validation fail for minutes)."""

import re

from testbed import acme_value, certbot_env, run_dns01

FORBIDDEN = ('_acme-challenge', 'delegated.acme.test')


def queries(log_text):
    """(line, qname) of every query unbound logged (log-queries: yes)."""
    out = []
    for line in log_text.splitlines():
        m = re.search(r' info: \S+ (\S+) \S+ IN$', line)
        if m:
            out.append((line, m.group(1).lower()))
    return out


def test_resolver_never_asked_challenge_name(tb):
    conf = tb.write_config()
    before = len(tb.resolver_log())
    v1, v2, v3 = acme_value(), acme_value(), acme_value()
    flows = [
        (['set', '_acme-challenge.res.example.test', v1], None),
        (['unset', '_acme-challenge.res.example.test', v1], None),
        (['auth'], certbot_env('res2.example.test', v2, 0)),
        (['cleanup'], None),                      # env filled in below
        (['auth'], certbot_env('delegated.example.test', v3, 0)),
        (['cleanup'], None),
    ]
    last_out = ''
    for i, (args, env) in enumerate(flows):
        if args == ['cleanup']:
            domain, value = (('res2.example.test', v2) if i == 3
                             else ('delegated.example.test', v3))
            env = certbot_env(domain, value, 0, auth_output=last_out)
        rc, out, err, _ = run_dns01(['-c', conf] + args, env=env)
        assert rc == 0, f'{args[0]} exited {rc}: {err.strip()[-400:]}'
        last_out = out.strip()

    new = queries(tb.resolver_log()[before:])
    assert new, 'the client resolver logged no query at all during these runs: ' \
                'is log-queries working, is dns01 using resolvers = 127.53.0.3?'
    # The whole log: every dns01 run of the suite so far counts.
    bad = [line for line, qname in queries(tb.resolver_log())
           if any(f in qname for f in FORBIDDEN)]
    assert not bad, 'dns01 asked the client resolver about challenge names:\n' + '\n'.join(bad)
