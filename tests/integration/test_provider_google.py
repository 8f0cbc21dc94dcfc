"""What is specific to the Google Cloud DNS provider, against the Cloud DNS
API v1 emulator with its OAuth token endpoint and a GCE metadata server
(google_emulator.py), which publishes the TXT records it holds into the real
BIND primary. What every provider must do (add, delete, foreign records,
many writers, bad credentials, 429/5xx/malformed answers, doctor, certbot,
no secret in any output, the real account) is in test_contract.py.

test_gg_emulator_self_check needs no dns01: when it fails, suspect the
emulator. The others need a dns01 built with the google provider.
"""

import base64
import functools
import http.client
import json
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from provider_adapters import ZONE, gg_config, gg_emulator_reset, gg_key, gg_unquote
from providers_common import dns01_set, dns01_unset, emulator_logs, need_provider, summary
from providers_common import write_private
from testbed import acme_value, note, run_dns01

import google_emulator

NAME = f'_acme-challenge.gg.{ZONE}'


def with_logs(fn):
    """On failure, print the request logs (the Google emulator's too)."""
    @functools.wraps(fn)
    def wrapper(tb):
        try:
            return fn(tb)
        except AssertionError:
            for text in emulator_logs(tb) + [em.log_text() for em in tb._google.values()]:
                note(text)
            raise
    return wrapper


def _setup(tb, **kw):
    """The emulator reset and the testbed's service account key -> (em, key path)."""
    need_provider('google')
    em = gg_emulator_reset(tb)
    tb.sync()
    if not hasattr(tb, '_google_key'):
        tb._google_key = gg_key(tb, em)
    return em, tb._google_key[0]


def _txt(em, name=NAME):
    return sorted(gg_unquote(r) for t, r, _ in em.records(ZONE, name) if t == 'TXT')


def _posts(em, since=0):
    return [r.status for r in em.calls('POST', '/changes$', since=since)]


# --------------------------------------------------------------------------
# The emulator itself
# --------------------------------------------------------------------------

def _b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()


def _jwt(key, aud, sign_with=None, lifetime=3600):
    """A JWT as google-auth makes it, signed with the openssl CLI."""
    now = int(time.time())
    hdr = _b64url(json.dumps({'alg': 'RS256', 'typ': 'JWT',
                              'kid': key['private_key_id']}).encode())
    claims = _b64url(json.dumps({'iss': key['client_email'], 'scope': google_emulator.SCOPE,
                                 'aud': aud, 'iat': now, 'exp': now + lifetime}).encode())
    with tempfile.TemporaryDirectory() as t:
        pem = Path(t) / 'k.pem'
        write_private(pem, sign_with or key['private_key'])
        sig = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', str(pem)],
                             input=f'{hdr}.{claims}'.encode(), capture_output=True,
                             check=True).stdout
    return f'{hdr}.{claims}.{_b64url(sig)}'


def _req(em, method, path, body=None, token=None, form=None):
    c = http.client.HTTPSConnection('127.0.0.1', em.port,
                                    context=ssl.create_default_context(cafile=em.ca_file))
    headers = {'Authorization': f'Bearer {token}'} if token else {}
    data = None
    if form is not None:
        data = '&'.join(f'{k}={v}' for k, v in form.items())
        headers['Content-Type'] = 'application/x-www-form-urlencoded'
    elif body is not None:
        data = json.dumps(body)
        headers['Content-Type'] = 'application/json'
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    out = r.status, json.loads(r.read() or b'null')
    c.close()
    return out


@with_logs
def test_gg_emulator_self_check(tb):
    """The token endpoint checks the JWT's RS256 signature and its claims;
    the API wants the token; the private zone of the same name is listed;
    a deletion that does not match is refused (412), the change is pending
    then done."""
    em = gg_emulator_reset(tb)
    if not hasattr(tb, '_google_key'):
        tb._google_key = gg_key(tb, em)
    key = json.loads(Path(tb._google_key[0]).read_text())
    grant = 'urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer'
    other = gg_key(tb, em, register=False)[1]
    st, ans = _req(em, 'POST', '/token', form={'grant_type': grant, 'assertion': _jwt(
        key, em.token_uri, sign_with=other['private_key'])})
    assert st == 400 and ans['error'] == 'invalid_grant', ans
    st, ans = _req(em, 'POST', '/token', form={'grant_type': grant, 'assertion': _jwt(
        key, em.token_uri, lifetime=7200)})
    assert st == 400 and 'short-lived' in ans['error_description'], ans
    st, ans = _req(em, 'POST', '/token', form={'grant_type': grant,
                                               'assertion': _jwt(key, em.token_uri)})
    assert st == 200 and ans['token_type'] == 'Bearer', ans
    tok = ans['access_token']
    base = f'/dns/v1/projects/{google_emulator.PROJECT}/managedZones'
    st, ans = _req(em, 'GET', base + '?dnsName=example.test.')
    assert st == 401 and ans['error']['status'] == 'UNAUTHENTICATED', ans
    st, ans = _req(em, 'GET', base + '?dnsName=example.test.', token=tok)
    assert st == 200 and [z['visibility'] for z in ans['managedZones']] == \
        ['private', 'public'], ans
    rrset = {'name': NAME + '.', 'type': 'TXT', 'ttl': 60, 'rrdatas': ['"a"']}
    st, ans = _req(em, 'POST', base + '/example-test/changes', {'additions': [rrset]}, tok)
    assert st == 200 and ans['status'] == 'pending', ans
    st, again = _req(em, 'POST', base + '/example-test/changes', {'additions': [rrset]}, tok)
    assert st == 409 and again['error']['errors'][0]['reason'] == 'alreadyExists', again
    stale = dict(rrset, ttl=300)
    st, again = _req(em, 'POST', base + '/example-test/changes', {'deletions': [stale]}, tok)
    assert st == 412 and again['error']['errors'][0]['reason'] == 'conditionNotMet', again
    time.sleep(em.change_delay)
    st, ans = _req(em, 'GET', base + f'/example-test/changes/{ans["id"]}', token=tok)
    assert st == 200 and ans['status'] == 'done', ans


# --------------------------------------------------------------------------
# dns01 against it
# --------------------------------------------------------------------------

@with_logs
def test_gg_credential_sources(tb):
    """The key given four ways (key_file; `credentials =` naming the key file
    as certbot's --dns-google-credentials did; `credentials =` naming a
    certbot INI with dns_google_credentials; GOOGLE_APPLICATION_CREDENTIALS
    with no key in the section) and the GCE metadata server: each writes,
    with one token per run."""
    em, key = _setup(tb)
    ini = write_private(tb.tmp / 'gg-certbot.ini',
                        f'# certbot-dns-google\ndns_google_credentials = {key}\n')
    md = tb.google_metadata()
    md.set_account('vm-default@dns01-test-project.iam.gserviceaccount.com')
    ways = [('key_file', gg_config(tb, em, key_file=key), {}),
            ('credentials = key.json', gg_config(tb, em, credentials=key), {}),
            ('credentials = certbot INI', gg_config(tb, em, credentials=ini), {}),
            ('GOOGLE_APPLICATION_CREDENTIALS', gg_config(tb, em),
             {'GOOGLE_APPLICATION_CREDENTIALS': key}),
            ('metadata server', gg_config(tb, em), {'GCE_METADATA_HOST': md.host})]
    values = []
    for what, conf, env in ways:
        v = acme_value()
        before = len(em.token_requests)
        rc, _, err, _ = dns01_set(conf, NAME, v, extra=('--no-wait',), env=env)
        assert rc == 0, f'{what}: exit {rc}: {err[-600:]}'
        values.append(v)
        assert _txt(em) == sorted(values), (what, em.records(ZONE, NAME))
        tokens = len(em.token_requests) - before
        assert tokens == (0 if what == 'metadata server' else 1), (what, tokens)
    assert [p for p, flavor in md.requests] == [
        '/computeMetadata/v1/instance/service-accounts/default/token',
        '/computeMetadata/v1/project/project-id'] and all(f for _, f in md.requests), \
        md.requests
    rc, _, err, _ = dns01_unset(gg_config(tb, em, key_file=key), NAME, *values,
                                extra=('--no-wait',))
    assert rc == 0 and _txt(em) == [], err[-600:]


@with_logs
def test_gg_token_once_per_run(tb):
    """One dehydrated call with names in two zones: one token request for
    the run, then zone lookups, reads and changes with it."""
    em, key = _setup(tb)
    conf = gg_config(tb, em, key_file=key)
    va, vb = acme_value(), acme_value()
    rc, _, err, _ = run_dns01(['-c', conf, 'deploy_challenge', f'gg.{ZONE}', 't', va,
                               'gg.acme.test', 't', vb])
    assert rc == 0, err[-600:]
    assert len(em.token_requests) == 1, em.token_requests
    assert all(r.auth not in (None, 'invalid') for r in em.calls(route='/projects/')), \
        summary(em.calls())
    rc, _, err, _ = run_dns01(['-c', conf, 'clean_challenge', f'gg.{ZONE}', 't', va,
                               'gg.acme.test', 't', vb])
    assert rc == 0 and len(em.token_requests) == 2, err[-600:]


@with_logs
def test_gg_bad_keys(tb):
    """A key Google does not know: exit 3 naming the key file; a key file
    others may read, or one that is not a key: exit 3 before any request."""
    em, key = _setup(tb)
    bad = gg_key(tb, em, register=False)[0]
    rc, _, err, _ = dns01_set(gg_config(tb, em, key_file=bad), NAME, acme_value())
    assert rc == 3 and bad in err and 'invalid_grant' in err, err[-600:]
    assert [r.route for r in em.calls()] == ['/token'], summary(em.calls())
    open_key = gg_key(tb, em, mode=0o644)[0]
    junk = write_private(tb.tmp / 'gg-junk.json', '{"type": "authorized_user"}\n')
    for path, word in ((open_key, 'chmod 600'), (junk, 'not a service account key')):
        n = len(em.calls())
        rc, _, err, _ = dns01_set(gg_config(tb, em, key_file=path), NAME, acme_value())
        assert rc == 3 and word in err and path in err, err[-600:]
        assert len(em.calls()) == n, summary(em.calls()[n:])


@with_logs
def test_gg_private_zone_and_pages(tb):
    """Zone lists one per page, the private example.test first: dns01 walks
    the pages and writes into the public zone only."""
    em, key = _setup(tb)
    em.page_size = 1
    v = acme_value()
    rc, _, err, _ = dns01_set(gg_config(tb, em, key_file=key), NAME, v, extra=('--no-wait',))
    assert rc == 0, err[-600:]
    lists = em.calls('GET', '/managedZones$')
    assert [r.query.get('pageToken') for r in lists] == [None, '1'], summary(lists)
    assert _txt(em) == [v] and em.records(ZONE, NAME, 'private') == []
    em.page_size = google_emulator.DEFAULT_PAGE
    rc, _, err, _ = dns01_unset(gg_config(tb, em, key_file=key), NAME, v, extra=('--no-wait',))
    assert rc == 0, err[-600:]


@with_logs
def test_gg_foreign_kept_and_race_retried(tb):
    """A foreign TXT with TTL 3600 is there; another writer changes the
    RRset right before dns01's change: the change is refused (412) and made
    again on a fresh read; the foreign value, the other writer's and ours
    are all there, the RRset's TTL still 3600; the unset removes only ours."""
    em, key = _setup(tb)
    em.add_records(ZONE, NAME, 'TXT', ['"foreign-value"'], 3600)
    conf = gg_config(tb, em, key_file=key)
    em.inject('race')
    v = acme_value()
    rc, _, err, _ = dns01_set(conf, NAME, v, extra=('--no-wait',))
    assert rc == 0, err[-600:]
    assert _posts(em) == [412, 200], summary(em.calls())
    recs = em.records(ZONE, NAME)
    assert sorted(gg_unquote(r) for _, r, _ in recs) == sorted(
        ['foreign-value', v, gg_unquote(em.race_writes[0])]), recs
    assert {ttl for _, _, ttl in recs} == {3600}, recs
    rc, _, err, _ = dns01_unset(conf, NAME, v, extra=('--no-wait',))
    assert rc == 0, err[-600:]
    assert sorted(gg_unquote(r) for _, r, _ in em.records(ZONE, NAME)) == sorted(
        ['foreign-value', gg_unquote(em.race_writes[0])])


@with_logs
def test_gg_forbidden_names_role(tb):
    """A service account without dns.changes.create: exit 3, the message
    names roles/dns.admin and the permissions."""
    em, key = _setup(tb)
    email = json.loads(Path(key).read_text())['client_email']
    em.set_permissions(email, google_emulator.ALL_PERMISSIONS - {'dns.changes.create'})
    try:
        rc, _, err, _ = dns01_set(gg_config(tb, em, key_file=key), NAME, acme_value())
    finally:
        em.set_permissions(email, google_emulator.ALL_PERMISSIONS)
    assert rc == 3, err[-600:]
    for word in ('HTTP 403', 'roles/dns.admin', 'dns.changes.create',
                 'dns.resourceRecordSets.create'):
        assert word in err, f'{word!r} not in {err[-600:]}'


@with_logs
def test_gg_change_done_before_wait(tb):
    """A change pending for 1.5 s: dns01 asks changes.get until it is done,
    and only then starts its own propagation wait (-v order of events); no
    secret in the trace: Authorization redacted, the token exchange shown
    only as a length."""
    em, key = _setup(tb)
    em.change_delay = em.publish_delay = 1.5
    v = acme_value()
    rc, _, err, _ = dns01_set(gg_config(tb, em, key_file=key), NAME, v, extra=('-v',))
    assert rc == 0, err[-600:]
    gets = em.calls('GET', '/changes/')
    assert len(gets) >= 2, summary(em.calls())
    lines = err.splitlines()
    done = next(i for i, l in enumerate(lines) if 'is done' in l)
    wait = next(i for i, l in enumerate(lines) if 'waiting for' in l)
    assert done < wait, '\n'.join(lines[done - 3:wait + 2])
    assert 'Authorization: [redacted]' in err and 'octets, not shown: credentials' in err
    for word in ('ya29.', 'PRIVATE KEY', 'assertion='):
        assert word not in err, word
    rc, _, err, _ = dns01_unset(gg_config(tb, em, key_file=key), NAME, v, extra=('--no-wait',))
    assert rc == 0, err[-600:]
