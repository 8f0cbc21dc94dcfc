"""What is specific to the Route 53 provider, against the Route 53 API
emulator (route53_emulator.py, which checks every request's SigV4
signature and publishes its public zones' TXT records into the real BIND
primary) and the IMDSv2 emulator. What every provider must do (add,
delete, foreign records, many writers, bad credentials, 429/5xx/malformed
answers, doctor, certbot, no secret in any output, the real account) is in
test_contract.py.

test_r53_emulator_facts runs first and needs no dns01 (only the test tool
http_probe, which signs with libcurl): when it fails, suspect the emulator.
"""

import functools
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from flows import auth_pair, cleanup_pair, expect_txt
from provider_adapters import ZONE, r53_config, r53_emulator_reset, r53_key, unquote
from providers_common import (dns01_set, need_provider, summary, under_valgrind,
                              with_emulator_log, write_private)
from testbed import NS1, NS2, SECRETS, acme_value, note, run_dns01

import route53_emulator
from route53_emulator import XMLNS

PROBE = Path(__file__).resolve().parents[1] / 'tools' / 'http_probe'
DOMAIN = 'r53.' + ZONE                 # a name no other module's tests use
NAME = '_acme-challenge.' + DOMAIN


def _leave_dns_clean(fn):
    """On failure, print the emulator's request log; after the test, reset
    the emulator, so that what it published into the testbed's BIND is gone
    before another module's test looks there."""
    @functools.wraps(fn)
    def wrapper(tb):
        try:
            return fn(tb)
        except AssertionError:
            note(tb.route53().log_text())
            raise
        finally:
            tb.route53().reset()
            tb.sync()
    return wrapper


def _probe(em, key, url, *args):
    """One request signed by libcurl (tests/tools/http_probe) -> (status, answer)."""
    env = dict(os.environ, PROBE_KEY_ID=key[0], PROBE_SECRET=key[1])
    p = subprocess.run([str(PROBE), '-k', em.ca_file, '-4', 'aws:amz:us-east-1:route53',
                        '-a', 'text/xml', *args, em.api_url + url], capture_output=True,
                       text=True, env=env, timeout=30)
    head, _, answer = p.stdout.partition('answer:\n')
    status = dict(line.split(' ', 1) for line in head.splitlines() if ' ' in line)['status']
    return int(status), answer


def _batch(*changes):
    """A ChangeResourceRecordSetsRequest: changes (action, name, ttl, [values])."""
    out = ''
    for action, name, ttl, values in changes:
        vals = ''.join(f'<ResourceRecord><Value>{v}</Value></ResourceRecord>' for v in values)
        out += (f'<Change><Action>{action}</Action><ResourceRecordSet><Name>{name}.</Name>'
                f'<Type>TXT</Type><TTL>{ttl}</TTL><ResourceRecords>{vals}</ResourceRecords>'
                '</ResourceRecordSet></Change>')
    return (f'<?xml version="1.0"?><ChangeResourceRecordSetsRequest xmlns="{XMLNS}">'
            f'<ChangeBatch><Changes>{out}</Changes></ChangeBatch>'
            '</ChangeResourceRecordSetsRequest>')


def _txt(em, name=NAME):
    rs = em.rrset(name)
    return sorted(unquote(v) for v in rs[1]) if rs else []


def _unset(conf, value, env=None, extra=()):
    """`dns01 -v unset --no-wait NAME VALUE` of a value that is not there:
    the credentials, the zone lookup and one read; nothing written."""
    return run_dns01(['-c', conf, '-v', *extra, 'unset', '--no-wait', NAME, value], env=env)


# --------------------------------------------------------------------------
# The emulator's own facts (no dns01)
# --------------------------------------------------------------------------

@with_emulator_log
@_leave_dns_clean
def test_r53_emulator_facts(tb):
    """SigV4 as AWS checks it (wrong secret, unknown key, expired session
    token), names and types as starting points, pagination, a private zone
    beside the public one, and a batch applied all or nothing: a stale
    DELETE or a CREATE of an existing RRset fails it and changes nothing."""
    em = r53_emulator_reset(tb)
    key = r53_key(em)
    st, doc = _probe(em, key, '/2013-04-01/hostedzonesbyname?dnsname=example.test.&maxitems=1')
    assert st == 200 and '<PrivateZone>true</PrivateZone>' in doc \
        and '<IsTruncated>true</IsTruncated>' in doc and '<NextHostedZoneId>' in doc, doc
    st, doc = _probe(em, (key[0], route53_emulator.new_secret()), '/2013-04-01/hostedzonesbyname')
    assert st == 403 and '<Code>SignatureDoesNotMatch</Code>' in doc, (st, doc)
    st, doc = _probe(em, (route53_emulator.new_key_id(), key[1]), '/2013-04-01/hostedzonesbyname')
    assert st == 403 and '<Code>InvalidClientTokenId</Code>' in doc, (st, doc)
    tok = 'FQoGZXIvYXdzE' + acme_value()
    SECRETS.add(tok)
    old = r53_key(em, token=tok, expired=True)
    st, doc = _probe(em, old, '/2013-04-01/hostedzonesbyname', '-S',
                     f'X-Amz-Security-Token: {tok}')
    assert st == 403 and '<Code>ExpiredToken</Code>' in doc, (st, doc)
    zid = em.zone_id(ZONE)
    em.set_rrset(NAME, 'TXT', 300, ['"a"'])
    em.set_rrset('www.' + ZONE, 'TXT', 300, ['"w"'])
    st, doc = _probe(em, key, f'/2013-04-01/hostedzone/{zid}/rrset?maxitems=1&name=s.{ZONE}.'
                     '&type=TXT')
    assert st == 200 and f'<Name>www.{ZONE}.</Name>' in doc, doc   # a start, not a filter
    url = f'/2013-04-01/hostedzone/{zid}/rrset/'
    for body, why in ((_batch(('DELETE', NAME, 60, ['"a"']), ('CREATE', NAME, 60, ['"b"'])),
                       'do not match'),
                      (_batch(('DELETE', NAME, 300, ['"a"']), ('CREATE', NAME, 300, ['"a"', 'b'])),
                       'quotation marks'),
                      (_batch(('CREATE', 'x.' + ZONE, 60, ['"x"']), ('CREATE', NAME, 60, ['"c"'])),
                       'already exists')):
        st, doc = _probe(em, key, url, '-X', 'POST', '-d', body, '-t', 'text/xml')
        assert st == 400 and '<Code>InvalidChangeBatch</Code>' in doc and why in doc, (st, doc)
        assert em.rrset(NAME) == (300, ['"a"']) and em.rrset('x.' + ZONE) is None
    st, doc = _probe(em, key, url, '-X', 'POST', '-d', _batch(
        ('DELETE', NAME, 300, ['"a"']), ('CREATE', NAME, 300, ['"a"', '"b"'])), '-t', 'text/xml')
    assert st == 200 and '<Status>PENDING</Status>' in doc, (st, doc)
    cid = doc.split('<Id>/change/')[1].split('<')[0]
    em.insync_delay = 0
    st, doc = _probe(em, key, f'/2013-04-01/change/{cid}')
    assert st == 200 and '<Status>INSYNC</Status>' in doc, doc
    em.reset()
    imds = tb.imds()                    # IMDSv2 only: no token, no answer
    base = imds.url + '/latest/meta-data/iam/security-credentials/'
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for req, want in ((urllib.request.Request(base), 401),
                      (urllib.request.Request(imds.url + '/latest/api/token', data=b'',
                                              method='PUT'), 400)):
        try:
            direct.open(req, timeout=5)
            got = 200
        except urllib.error.HTTPError as e:
            got = e.code
        assert got == want, (req.full_url, got)


# --------------------------------------------------------------------------
# dns01
# --------------------------------------------------------------------------

@with_emulator_log
@_leave_dns_clean
def test_r53_credential_chain(tb):
    """Where the credentials come from, in the AWS tools' order: the
    section's keys, then AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, then the
    shared credentials file (the profile AWS_PROFILE names), then the
    instance role through IMDSv2 (token PUT first; its session token sent
    as X-Amz-Security-Token, redacted at -v); -v says which; with none,
    exit 3 naming every place looked at."""
    need_provider('route53')
    em = r53_emulator_reset(tb)
    imds = tb.imds()
    imds.reset()
    keys = {k: r53_key(em, label=k) for k in ('conf', 'env', 'file', 'default')}
    tok = 'IQoJb3JpZ2luX2VjE' + acme_value()
    keys['role'] = r53_key(em, label='role', token=tok)
    imds.set_role('dns01-role', *keys['role'], tok)
    creds = write_private(tb.tmp / 'aws-credentials', (
        '[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n'
        '# the profile AWS_PROFILE names\n[dns01]\naws_access_key_id={}\n'
        'aws_secret_access_key: {}\nregion = us-east-1\n').format(*keys['default'],
                                                                   *keys['file']), 0o644)
    env = {'AWS_ACCESS_KEY_ID': keys['env'][0], 'AWS_SECRET_ACCESS_KEY': keys['env'][1],
           'AWS_SHARED_CREDENTIALS_FILE': creds, 'AWS_PROFILE': 'dns01',
           'AWS_EC2_METADATA_SERVICE_ENDPOINT': imds.url}
    bare = r53_config(tb, em)
    steps = ((r53_config(tb, em, keys['conf']), {}, 'conf', '[provider r53] access_key_id'),
             (bare, {}, 'env', 'the environment (AWS_ACCESS_KEY_ID'),
             (bare, {'AWS_ACCESS_KEY_ID': None, 'AWS_SECRET_ACCESS_KEY': None}, 'file',
              'profile [dns01]'),
             (bare, {'AWS_ACCESS_KEY_ID': None, 'AWS_SECRET_ACCESS_KEY': None,
                     'AWS_PROFILE': None, 'AWS_SHARED_CREDENTIALS_FILE': str(tb.tmp / 'none')},
              'role', 'the instance role dns01-role (IMDSv2'))
    if under_valgrind():        # the section's keys: every other test's path
        steps = steps[1:]
    for conf, change, label, says in steps:
        e = {k: v for k, v in dict(env, **change).items() if v is not None}
        mark = len(em.requests)
        rc, _, err, _ = _unset(conf, acme_value(), env=e)
        assert rc == 0, f'{label}: exit {rc}: {err[-800:]}'
        used = {r.auth for r in em.requests[mark:]}
        assert used == {label}, f'{label}: requests made with {used}: {summary(em.requests[mark:])}'
        said = [l for l in err.splitlines() if 'AWS credentials from' in l]
        assert len(said) == 1 and says in said[0], (said, err[-1500:])
        note(f'{label}: {said[0]}')
    assert [m for _, m, _, _ in imds.log[:3]] == ['PUT', 'GET', 'GET'], imds.log
    assert 'X-Amz-Security-Token: [redacted]' in err and tok not in err, err[-1500:]
    e = {k: v for k, v in env.items() if not k.startswith(('AWS_ACCESS', 'AWS_SECRET'))}
    e.update(AWS_SHARED_CREDENTIALS_FILE=str(tb.tmp / 'none'), AWS_PROFILE='',
             AWS_EC2_METADATA_DISABLED='true')
    mark = len(em.requests)
    rc, _, err, _ = _unset(bare, acme_value(), env=e)
    assert rc == 3 and len(em.requests) == mark, (rc, err[-800:])
    for place in ('access_key_id, secret_access_key (not set)', 'AWS_ACCESS_KEY_ID',
                  f'{tb.tmp}/none (not there)', 'disabled by AWS_EC2_METADATA_DISABLED'):
        assert place in err, f'{place!r} not named: {err[-800:]}'
    note(err.strip().splitlines()[-1][:300])


@with_emulator_log
@_leave_dns_clean
def test_r53_zone_lookup(tb):
    """The hosted zone: found by its name through ListHostedZonesByName,
    paged (one zone per page here) past a private zone of the same name,
    which is never written; with hosted_zone_id, not looked up; two public
    zones of the name: a warning; without a public zone of that name, exit 6
    saying a private one is there."""
    need_provider('route53')
    em = r53_emulator_reset(tb)
    key = r53_key(em)
    em.zone_page = 1
    pub, priv = em.zone_id(ZONE), em.zone_id(ZONE, private=True)
    assert priv < pub
    v = acme_value()
    rc, _, err, _ = dns01_set(r53_config(tb, em, key), NAME, v)
    assert rc == 0, err[-800:]
    lookups = em.calls('GET', 'hostedzonesbyname')
    assert len(lookups) == 2 and lookups[1].query.get('hostedzoneid') == pub, summary(lookups)
    posts = em.calls('POST')
    assert [r.route for r in posts] == [f'/2013-04-01/hostedzone/{pub}/rrset/'], summary(posts)
    assert em.rrset(NAME, private=True) is None and _txt(em) == [v]
    em.zone_page = None
    mark = len(em.requests)
    conf = r53_config(tb, em, key, hosted_zone_id=pub)
    rc, _, err, _ = run_dns01(['-c', conf, 'unset', NAME, v])
    assert rc == 0 and not em.calls('GET', 'hostedzonesbyname', since=mark), \
        summary(em.requests[mark:])
    assert _txt(em) == []
    em.add_zone(ZONE)                   # a second public zone of that name
    rc, _, err, _ = _unset(r53_config(tb, em, key), v)
    assert rc == 0 and '2 public hosted zones are named example.test' in err, err[-800:]
    em.drop_zone(ZONE)                  # a public one
    em.drop_zone(ZONE)                  # the other
    rc, _, err, _ = dns01_set(r53_config(tb, em, key), NAME, acme_value(),
                              extra=('--timeout', '10'))
    assert rc == 6 and 'private hosted zone of that name' in err, (rc, err[-800:])
    em.reset()


@with_emulator_log
@_leave_dns_clean
def test_r53_certbot_pair_batches(tb):
    """certbot apex + wildcard beside a foreign TXT value (TTL 3600): one
    ChangeResourceRecordSets for both values, a DELETE of the RRset exactly
    as read and a CREATE of the new one with the TTL it had (never UPSERT);
    GetChange polled until INSYNC before dns01's own wait started; the
    cleanups leave the foreign value with its TTL."""
    need_provider('route53')
    em = r53_emulator_reset(tb)
    em.insync_delay = 1.5
    conf = r53_config(tb, em, r53_key(em))
    em.set_rrset(NAME, 'TXT', 3600, ['"foreign"'])
    assert em.wait_published()
    tb.sync()
    values = [acme_value(), acme_value()]
    mark = len(em.requests)
    outs, _ = auth_pair(tb, conf, DOMAIN, values, f'{DOMAIN},*.{DOMAIN}')
    reqs = em.requests[mark:]
    note(f'auth pair: {len(reqs)} API calls: {summary(reqs)}')
    posts = [r for r in reqs if r.method == 'POST']
    assert len(posts) == 1 and posts[0].batch == [
        ('DELETE', NAME, 'TXT', 3600, 1), ('CREATE', NAME, 'TXT', 3600, 3)], summary(posts)
    polls = [r for r in reqs if '/change/' in r.route]
    assert polls and all(r.time > posts[0].time for r in polls), summary(reqs)
    assert em.changes[posts[0].change]['insync_seen'] is not None, 'never asked until INSYNC'
    for server in (NS1, NS2):
        expect_txt(server, NAME, values + ['foreign'])
    cleanup_pair(tb, conf, DOMAIN, values, outs, f'{DOMAIN},*.{DOMAIN}')
    assert em.rrset(NAME) == (3600, ['"foreign"']), em.rrset(NAME)


@with_emulator_log
@_leave_dns_clean
def test_r53_insync_before_wait(tb):
    """`dns01 -v set`: the write, then GetChange until INSYNC, and only
    then dns01's own wait on the authoritative servers (the order of the
    -v lines)."""
    need_provider('route53')
    em = r53_emulator_reset(tb)
    em.insync_delay = 1.5
    conf = r53_config(tb, em, r53_key(em))
    rc, _, err, _ = dns01_set(conf, NAME, acme_value(), extra=('-v',))
    assert rc == 0, err[-800:]
    lines = err.splitlines()
    insync = next(i for i, l in enumerate(lines) if 'is INSYNC' in l)
    wait = next(i for i, l in enumerate(lines) if 'waiting' in l.lower())
    assert insync < wait, '\n'.join(lines[min(insync, wait):max(insync, wait) + 1])
    gets = em.calls('GET', '/change/')
    assert len(gets) >= 2 and gets[-1].status == 200, summary(gets)
    note(f'{len(gets)} GetChange before INSYNC ({em.insync_delay} s)')


@with_emulator_log
@_leave_dns_clean
def test_r53_retries(tb):
    """A batch made stale by another writer (InvalidChangeBatch, in the
    <InvalidChangeBatch><Messages> form) is read again and retried, the
    other writer's value kept; HTTP 400 Throttling and
    PriorRequestNotComplete are tried again."""
    need_provider('route53')
    em = r53_emulator_reset(tb)
    em.insync_delay = 0
    em.icb_form = 'messages'
    conf = r53_config(tb, em, r53_key(em))
    em.inject('concurrent')
    v = acme_value()
    rc, _, err, _ = dns01_set(conf, NAME, v)
    assert rc == 0, err[-800:]
    assert [r.status for r in em.calls('POST')] == [400, 200], summary(em.requests)
    assert _txt(em) == sorted([v, 'concurrent-1']), em.rrset(NAME)
    em.inject('throttling', method='POST')
    em.inject('prior', method='GET', path='/rrset')
    mark = len(em.requests)
    w, other = acme_value(), '_acme-challenge.throttled.' + DOMAIN   # (no cache wait at NAME)
    rc, _, err, _ = dns01_set(conf, other, w)
    assert rc == 0 and 'Throttling; trying again' in err \
        and 'PriorRequestNotComplete; trying again' in err, err[-800:]
    assert [r.status for r in em.calls('POST', since=mark)] == [400, 200], \
        summary(em.requests[mark:])
    assert _txt(em, other) == [w]


@with_emulator_log
@_leave_dns_clean
def test_r53_errors(tb):
    """Exit 3 naming the IAM action a key's policy lacks (nothing written),
    exit 3 for an expired session token, exit 6 for a hosted_zone_id not in
    the account."""
    need_provider('route53')
    em = r53_emulator_reset(tb)
    # (under valgrind one: the same C path names either action)
    for lacks in ('route53:ListHostedZonesByName', 'route53:ChangeResourceRecordSets')[
            under_valgrind():]:
        allowed = set(route53_emulator.ACTIONS.values()) - {lacks}
        rc, _, err, _ = dns01_set(r53_config(tb, em, r53_key(em, actions=allowed)), NAME,
                                  acme_value(), extra=('--timeout', '10'))
        assert rc == 3 and f'may not call {lacks}' in err, (rc, err[-800:])
        note(err.strip().splitlines()[-1][:200])
    assert em.rrset(NAME) is None
    tok = 'FQoGZXIvYXdzE' + acme_value()
    old = r53_key(em, token=tok, expired=True)
    rc, _, err, _ = dns01_set(r53_config(tb, em, old, token=tok), NAME, acme_value(),
                              extra=('--timeout', '10'))
    assert rc == 3 and 'expired' in err, (rc, err[-800:])
    rc, _, err, _ = dns01_set(r53_config(tb, em, r53_key(em), hosted_zone_id='Z0NOTMINE0000'),
                              NAME, acme_value(), extra=('--timeout', '10'))
    assert rc == 6 and 'NoSuchHostedZone' not in err and 'no such hosted zone' in err, \
        (rc, err[-800:])
