"""What is specific to the Cloudflare provider, against the Cloudflare API v4
emulator (cf_emulator.py), which publishes what it holds into the real BIND
primary. What every provider must do (add, delete, foreign records, many
writers, bad credentials, 429/5xx/malformed answers, doctor, certbot, no
secret in any output, the real account) is in test_contract.py.

The test_cf_emulator_* checks run first and need no dns01: when they fail,
suspect the emulator, not dns01. The other tests need a dns01 built with the
cloudflare provider (`dns01 providers`) and are skipped without it.
"""

import http.client
import json
import os
import re
import ssl
import subprocess
import time
from pathlib import Path

from flows import auth_pair, expect_txt
from provider_adapters import (ZONE, cf_config, cf_emulator_reset, cf_global_key, cf_token,
                               unquote)
from providers_common import (calls, dns01_set as _set, dns01_unset as _unset,
                              doctor_credentials, need_provider, summary, wait_txt as _wait_txt,
                              with_emulator_log, write_private as _write_private)
from testbed import NS1, NS2, RES_CLIENT, SECRETS, acme_value, certbot_env, dig_txt, note, run_dns01

import cf_emulator


def _by_content(em, name, zone=ZONE):
    """The records of the emulator at name, by content without quotes."""
    return {unquote(r['content']): r for r in em.records(zone) if r['name'] == name}


# --------------------------------------------------------------------------
# A small client for the emulator's self-checks
# --------------------------------------------------------------------------

class Api:
    """One keep-alive HTTPS connection to an emulator, TLS verified."""

    def __init__(self, em, token=None, email=None, key=None, ca_file=None):
        self.em = em
        self.ctx = ssl.create_default_context(cafile=ca_file or em.ca_file)
        self.headers = {'User-Agent': 'cf-selfcheck/1'}
        if token is not None:
            self.headers['Authorization'] = f'Bearer {token}'
        if email is not None:
            self.headers['X-Auth-Email'] = email
        if key is not None:
            self.headers['X-Auth-Key'] = key
        self.conn = None

    def call(self, method, route, query=None, body=None, raw=None, headers=None):
        """-> (status, parsed JSON or text, response headers)."""
        if self.conn is None:
            self.conn = http.client.HTTPSConnection('127.0.0.1', self.em.port,
                                                    context=self.ctx, timeout=10)
        path = route if route.startswith('/client') else cf_emulator.API_PREFIX + route
        if query:
            from urllib.parse import urlencode
            path += '?' + urlencode(query)
        h = dict(self.headers if headers is None else headers)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        if data is not None:
            h['Content-Type'] = 'application/json'
        try:
            self.conn.request(method, path, body=data, headers=h)
            resp = self.conn.getresponse()
            text = resp.read().decode()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        try:
            doc = json.loads(text)
        except ValueError:
            doc = text
        return resp.status, doc, {k.lower(): v for k, v in resp.getheaders()}


def _errs(doc):
    return [(e['code'], e['message']) for e in doc['errors']]


# --------------------------------------------------------------------------
# The emulator itself (no dns01)
# --------------------------------------------------------------------------

@with_emulator_log
def test_cf_emulator_auth(tb):
    """Credentials and their errors, exactly as Cloudflare answers them."""
    em = cf_emulator_reset(tb)
    tok = cf_token(em)
    api = Api(em, token=tok)
    st, doc, _ = api.call('GET', '/user/tokens/verify')
    assert st == 200 and doc['success'] and doc['result']['status'] == 'active', doc
    assert re.fullmatch(r'[0-9a-f]{32}', doc['result']['id']), doc
    assert doc['messages'] == [{'code': 10000, 'message': 'This API Token is valid and active',
                                'type': None}], doc
    assert doc['errors'] == [], doc

    st, doc, _ = Api(em, token=cf_emulator.new_token()).call('GET', '/zones', {'name': ZONE})
    assert (st, doc) == (403, {'success': False, 'errors': [
        {'code': 9109, 'message': 'Invalid access token'}], 'messages': [], 'result': None}), \
        (st, doc)
    st, doc, _ = api.call('GET', '/zones', headers={'Authorization': 'Bearer '})
    assert st == 400 and doc['errors'] == [{'code': 6003, 'message': 'Invalid request headers',
                                            'error_chain': [{'code': 6111, 'message':
                                                             'Invalid format for Authorization '
                                                             'header'}]}], (st, doc)
    st, doc, _ = api.call('GET', '/zones', headers={})
    assert st == 400 and _errs(doc)[0][0] == 9106, (st, doc)

    email, key = cf_global_key(em)
    st, doc, _ = Api(em, email=email, key=cf_emulator.new_global_key()).call('GET', '/zones')
    assert st == 403 and _errs(doc) == [(9103, 'Unknown X-Auth-Key or X-Auth-Email')], (st, doc)
    st, doc, _ = Api(em, email=email, key=tok).call('GET', '/zones')      # a token as key
    assert st == 400 and doc['errors'][0]['code'] == 6003 \
        and doc['errors'][0]['error_chain'][0]['code'] == 6103, (st, doc)
    st, doc, _ = Api(em, email=email, key=key).call('GET', '/zones', {'name': ZONE})
    assert st == 200 and doc['result'][0]['name'] == ZONE, (st, doc)

    # A token scoped to acme.test only.
    scoped = cf_token(em, zones=['acme.test'])
    sapi = Api(em, token=scoped)
    st, doc, _ = sapi.call('GET', '/user/tokens/verify')
    scoped_id = doc['result']['id']
    st, doc, _ = sapi.call('GET', '/zones', {'name': ZONE})
    assert (st, doc['errors']) == (403, [{'code': 0, 'message':
                                          f"Actor 'com.cloudflare.api.token.{scoped_id}' "
                                          "requires permission "
                                          "'com.cloudflare.api.account.zone.list' to list "
                                          "zones"}]), (st, doc)
    st, doc, _ = sapi.call('GET', '/zones', {'name': 'acme.test'})
    assert st == 200 and [z['name'] for z in doc['result']] == ['acme.test'], doc
    st, doc, _ = sapi.call('GET', '/zones')
    assert [z['name'] for z in doc['result']] == ['acme.test'], doc
    zid = em.zone_id(ZONE)
    for method, route in (('GET', f'/zones/{zid}/dns_records'), ('GET', f'/zones/{zid}'),
                          ('POST', f'/zones/{zid}/dns_records')):
        st, doc, _ = sapi.call(method, route, body={'type': 'TXT', 'name': 'x.example.test',
                                                    'content': 'x', 'ttl': 60}
                               if method == 'POST' else None)
        assert (st, _errs(doc)) == (403, [(10000, 'Authentication error')]), (route, st, doc)

    # Read-only token; disabled token.
    ro = Api(em, token=cf_token(em, dns_edit=False))
    st, doc, _ = ro.call('POST', f'/zones/{zid}/dns_records',
                         body={'type': 'TXT', 'name': 'ro.example.test', 'content': 'x'})
    assert (st, _errs(doc)) == (403, [(10000, 'Authentication error')]), (st, doc)
    dis = Api(em, token=cf_token(em, status='disabled'))
    st, doc, _ = dis.call('GET', '/user/tokens/verify')
    assert st == 200 and doc['result']['status'] == 'disabled', doc
    st, doc, _ = dis.call('GET', '/zones')
    assert st == 403 and _errs(doc)[0][0] == 9109, doc

    # The log of requests holds no secret.
    dump = repr([tuple(r) + (r.body,) for r in em.requests]) + em.log_text()
    for s in (tok, scoped, key):
        assert s not in dump, 'the emulator recorded a secret'
    assert {r.auth for r in em.requests} == {'token', 'global', None}


@with_emulator_log
def test_cf_emulator_token_kinds(tb):
    """Account-owned tokens, revoked and unknown tokens, tokens without
    Zone:Read, and the newer credential formats, answered per endpoint as
    Cloudflare does (api-fidelity.md §1.1, §1.2, §1.9)."""
    em = cf_emulator_reset(tb)
    zid = em.zone_id(ZONE)
    acct = Api(em, token=cf_token(em, prefix='cfat_', account=cf_emulator.ACCOUNT_ID))
    st, doc, _ = acct.call('GET', '/user/tokens/verify')
    assert (st, _errs(doc)) == (401, [(1000, 'Invalid API Token')]), (st, doc)
    st, doc, _ = acct.call('GET', f'/accounts/{cf_emulator.ACCOUNT_ID}/tokens/verify')
    assert st == 200 and doc['result']['status'] == 'active', (st, doc)
    st, doc, _ = acct.call('GET', f'/accounts/{"0" * 32}/tokens/verify')
    assert (st, _errs(doc)) == (401, [(1000, 'Invalid API Token')]), (st, doc)
    st, doc, _ = acct.call('GET', '/zones', {'name': ZONE})
    assert st == 200 and doc['result'][0]['account']['id'] == cf_emulator.ACCOUNT_ID, doc
    st, doc, _ = acct.call('GET', '/accounts')
    assert [a['id'] for a in doc['result']] == [cf_emulator.ACCOUNT_ID], doc
    user = Api(em, token=cf_token(em, prefix='cfut_'))
    st, doc, _ = user.call('GET', f'/accounts/{cf_emulator.ACCOUNT_ID}/tokens/verify')
    assert st == 401, (st, doc)
    assert user.call('GET', '/user/tokens/verify')[0] == 200
    # another account's token sees only its account's zones
    other = em.add_account('another account')
    em.add_zone('other.test', account=other)
    st, doc, _ = acct.call('GET', '/zones')
    assert 'other.test' not in [z['name'] for z in doc['result']], doc
    assert 'other.test' in [z['name'] for z in user.call('GET', '/zones')[1]['result']]

    # revoked (unknown) token: what each endpoint answers
    tok = cf_token(em)
    rev = Api(em, token=tok)
    assert rev.call('GET', '/user/tokens/verify')[0] == 200
    em.revoke_token(tok)
    for method, route, want in (
            ('GET', '/user/tokens/verify', (401, [(1000, 'Invalid API Token')])),
            ('GET', f'/accounts/{cf_emulator.ACCOUNT_ID}/tokens/verify',
             (401, [(1000, 'Invalid API Token')])),
            ('GET', f'/zones/{zid}/dns_records', (401, [(10000, 'Authentication error')])),
            ('POST', f'/zones/{zid}/dns_records', (401, [(10000, 'Authentication error')])),
            ('GET', f'/zones/{zid}', (403, [(9109, 'Invalid access token')])),
            ('GET', '/zones', (403, [(9109, 'Invalid access token')])),
            ('GET', '/accounts', (403, [(9109, 'Invalid access token')]))):
        st, doc, _ = rev.call(method, route, body={} if method == 'POST' else None)
        assert (st, _errs(doc)) == want, (method, route, st, doc)

    # a token without Zone:Read: no zone list, no zone read; DNS records work
    nozr = Api(em, token=cf_token(em, zone_read=False))
    st, doc, _ = nozr.call('GET', '/zones', {'name': ZONE})
    assert st == 403 and _errs(doc)[0][0] == 0 and 'zone.list' in _errs(doc)[0][1], (st, doc)
    st, doc, _ = nozr.call('GET', f'/zones/{zid}')
    assert (st, _errs(doc)) == (403, [(9109, 'Unauthorized to access requested resource')]), doc
    assert nozr.call('GET', f'/zones/{zid}/dns_records')[0] == 200

    # Global API keys: 37-45 lowercase hex, or cfk_...; 36 hex is malformed
    for key in (cf_emulator.new_global_key(37), cf_emulator.new_global_key(45),
                cf_emulator.new_global_key(prefix='cfk_')):
        em.add_global_key('k@example.test', key)
        assert Api(em, email='k@example.test', key=key).call('GET', '/user')[0] == 200, key
    st, doc, _ = Api(em, email='k@example.test', key='a' * 36).call('GET', '/user')
    assert st == 400 and doc['errors'][0]['error_chain'][0]['code'] == 6103, doc


@with_emulator_log
def test_cf_emulator_zones_and_paging(tb):
    """GET /zones: the name and status filters, zone objects, result_info."""
    em = cf_emulator_reset(tb)
    api = Api(em, token=cf_token(em))
    for i in range(30):
        em.add_zone(f'z{i:02d}.test')
    st, doc, _ = api.call('GET', '/zones', {'name': ZONE})
    assert st == 200 and len(doc['result']) == 1, doc
    z = doc['result'][0]
    assert re.fullmatch(r'[0-9a-f]{32}', z['id']) and z['name'] == ZONE \
        and z['status'] == 'active' \
        and z['name_servers'] == ['ns1.example.test', 'ns2.example.test'], z
    assert doc['result_info'] == {'page': 1, 'per_page': 20, 'count': 1, 'total_count': 1,
                                  'total_pages': 1}, doc['result_info']
    st, doc, _ = api.call('GET', '/zones', {'name': 'nosuch.test'})
    assert st == 200 and doc['result'] == [] and doc['result_info'] == {
        'page': 1, 'per_page': 20, 'count': 0, 'total_count': 0, 'total_pages': 1}, doc
    st, doc, _ = api.call('GET', '/zones')
    assert doc['result_info'] == {'page': 1, 'per_page': 20, 'count': 20, 'total_count': 32,
                                  'total_pages': 2}, doc['result_info']
    st, doc2, _ = api.call('GET', '/zones', {'page': 2})
    assert doc2['result_info']['count'] == 12 and doc2['result_info']['page'] == 2, doc2
    names = [z['name'] for z in doc['result'] + doc2['result']]
    assert len(set(names)) == 32, names
    st, doc, _ = api.call('GET', '/zones', {'per_page': 100})
    assert doc['result_info']['per_page'] == 50 and doc['result_info']['count'] == 32
    st, doc, _ = api.call('GET', '/zones', {'name': ZONE, 'status': 'pending'})
    assert doc['result'] == [], doc
    st, doc, _ = api.call('GET', '/zones', {'page': 'x'})
    assert st == 400 and not doc['success'], doc
    st, doc, _ = api.call('GET', f'/zones/{em.zone_id(ZONE)}')
    assert st == 200 and doc['result']['name'] == ZONE, doc
    # one name in two accounts (a user in both; a zone being moved)
    other = em.add_account('Other Team')
    twin = em.add_zone(ZONE, status='pending', account=other)
    st, doc, _ = api.call('GET', '/zones', {'name': ZONE})
    assert sorted((z['account']['name'], z['status']) for z in doc['result']) == [
        ('Other Team', 'pending'), ('dns01 test account', 'active')], doc
    for q, want in (({'account.id': other}, [twin]), ({'account.name': 'Other Team'}, [twin]),
                    ({'status': 'active'}, [em.zone_id(ZONE)])):
        st, doc, _ = api.call('GET', '/zones', dict(q, name=ZONE))
        assert [z['id'] for z in doc['result']] == want, (q, doc)


@with_emulator_log
def test_cf_emulator_records(tb):
    """Create / list / delete TXT, their errors, and what appears in BIND."""
    em = cf_emulator_reset(tb)
    api = Api(em, token=cf_token(em))
    zid = em.zone_id(ZONE)
    recs = f'/zones/{zid}/dns_records'
    name = '_acme-challenge.emu.example.test'
    v1, v2 = acme_value(), acme_value()

    st, doc, _ = api.call('POST', recs, body={'type': 'TXT', 'name': name, 'content': v1,
                                              'ttl': 120})
    assert st == 200 and doc['success'] and doc['errors'] == [] and doc['messages'] == [], doc
    r = doc['result']
    assert set(r) == {'id', 'name', 'type', 'content', 'proxiable', 'proxied', 'ttl', 'settings',
                      'meta', 'comment', 'tags', 'created_on', 'modified_on'}, r
    assert re.fullmatch(r'[0-9a-f]{32}', r['id']) and r['name'] == name and r['type'] == 'TXT' \
        and r['content'] == v1 and r['ttl'] == 120 and r['proxied'] is False \
        and r['proxiable'] is False and r['comment'] is None and r['tags'] == [] \
        and r['settings'] == {} and r['meta'] == {}, r
    id1 = r['id']
    _wait_txt(NS1, name, [v1])

    # identical record: 81058, or the older 81057
    st, doc, _ = api.call('POST', recs, body={'type': 'TXT', 'name': name, 'content': v1,
                                              'ttl': 60})
    assert (st, doc) == (400, {'success': False, 'errors': [
        {'code': 81058, 'message': 'An identical record already exists.'}], 'messages': [],
        'result': None}), (st, doc)
    em.duplicate_code = 81057
    st, doc, _ = api.call('POST', recs, body={'type': 'TXT', 'name': name.upper(),
                                              'content': v1})
    assert (st, _errs(doc)) == (400, [(81057, 'The record already exists.')]), (st, doc)
    em.duplicate_code = 81058

    # quoted content: stored as sent, unquoted in DNS
    st, doc, _ = api.call('POST', recs, body={'type': 'TXT', 'name': name,
                                              'content': f'"{v2}"', 'ttl': 1})
    assert st == 200 and doc['result']['content'] == f'"{v2}"' and doc['result']['ttl'] == 1
    id2 = doc['result']['id']
    _wait_txt(NS1, name, [v1, v2])
    st, doc, _ = api.call('POST', recs, body={'type': 'TXT', 'name': 'multi.example.test',
                                              'content': '"ab" "cd"', 'ttl': 60})
    assert st == 200, doc
    _wait_txt(NS1, 'multi.example.test', ['abcd'])
    assert '"ab" "cd"' in subprocess.run(['dig', '+short', f'@{NS1}', 'multi.example.test',
                                          'TXT'], capture_output=True, text=True).stdout

    # TTL rules, names, bodies
    for ttl in (0, 2, 10, 59, 86401, '120', 120.5, True):
        st, doc, _ = api.call('POST', recs, body={'type': 'TXT', 'name': 'ttl.example.test',
                                                  'content': 'x', 'ttl': ttl})
        assert st == 400 and _errs(doc)[0][0] == 9021, (ttl, st, doc)
    for ttl in (60, 86400):
        st, doc, _ = api.call('POST', recs, body={'type': 'TXT', 'name': 'ttl.example.test',
                                                  'content': f'ttl{ttl}', 'ttl': ttl})
        assert st == 200, (ttl, doc)
    st, doc, _ = api.call('POST', recs, body={'type': 'TXT', 'name': '_acme-challenge.acme.test',
                                              'content': 'x', 'ttl': 60})
    assert st == 400 and _errs(doc)[0][0] == 1004, doc
    st, doc, _ = api.call('POST', recs, raw=b'{"type":"TXT",')
    assert (st, _errs(doc)) == (400, [(9207, 'Request body is invalid.')]), doc
    st, doc, _ = api.call('POST', recs, body={'type': 'TXT', 'name': name, 'content': 'x',
                                              'proxied': True})
    assert st == 400 and _errs(doc)[0][0] == 9004, doc

    # list filters and paging
    st, doc, _ = api.call('GET', recs, {'type': 'TXT', 'name': name})
    assert st == 200 and sorted(r['id'] for r in doc['result']) == sorted([id1, id2]), doc
    assert doc['result_info'] == {'page': 1, 'per_page': 100, 'count': 2, 'total_count': 2,
                                  'total_pages': 1}, doc['result_info']
    for q, want in (({'content': v2}, []), ({'content': f'"{v2}"'}, [id2]),
                    ({'content.exact': v1}, [id1]), ({'name.exact': name, 'content': v1}, [id1]),
                    ({'name': 'nosuch.example.test'}, []),
                    # name and content filters are case-insensitive
                    ({'name': name.upper(), 'content': v1.swapcase()}, [id1]),
                    ({'content.contains': v1[5:15].swapcase()}, [id1])):
        st, doc, _ = api.call('GET', recs, dict(q, type='TXT'))
        assert [r['id'] for r in doc['result']] == want, (q, doc)
        if not want:
            assert doc['result_info'] == {'page': 1, 'per_page': 100, 'count': 0,
                                          'total_count': 0, 'total_pages': 1}, doc
    st, doc, _ = api.call('GET', recs, {'per_page': 2, 'page': 2})
    assert doc['result_info']['count'] == 2 and doc['result_info']['total_count'] == 5 \
        and doc['result_info']['total_pages'] == 3, doc['result_info']
    st, doc, _ = api.call('GET', f'{recs}/{id2}')
    assert st == 200 and doc['result']['content'] == f'"{v2}"'

    # delete
    st, doc, _ = api.call('DELETE', f'{recs}/{id2}')
    assert (st, doc) == (200, {'result': {'id': id2}, 'success': True, 'errors': [],
                               'messages': []}), doc
    _wait_txt(NS1, name, [v1])
    st, doc, _ = api.call('DELETE', f'{recs}/{id2}')
    assert (st, _errs(doc)) == (404, [(81044, 'Record does not exist.')]), (st, doc)

    # two records standing for one TXT RR ("v" and v): DNS keeps it until both are gone
    st, doc, _ = api.call('POST', recs, body={'type': 'TXT', 'name': name, 'content': f'"{v1}"'})
    assert st == 200, doc
    id3 = doc['result']['id']
    api.call('DELETE', f'{recs}/{id1}')
    assert em.wait_published()
    _wait_txt(NS1, name, [v1])
    api.call('DELETE', f'{recs}/{id3}')
    _wait_txt(NS1, name, [])

    # routing errors
    for route in ('/nosuch', f'/zones/{"0" * 32}/dns_records', '/zones/example.test/dns_records',
                  f'{recs}/not-an-id'):
        st, doc, _ = api.call('GET', route)
        assert st == 404 and [c for c, _ in _errs(doc)] == [7003, 7000] \
            and 'perhaps your object identifier is invalid?' in doc['errors'][0]['message'], \
            (route, st, doc)
    st, doc, _ = api.call('PUT', f'{recs}/{id1}', body={})
    assert (st, _errs(doc)) == (405, [(10000, 'PUT method not allowed for the api_token '
                                              'authentication scheme')]), (st, doc)

    # one keep-alive connection carried all of it
    assert em.connections == 1, f'{em.connections} connections for {len(em.requests)} requests'
    assert em.user_agent == 'cf-selfcheck/1'
    assert not em.publish_errors, em.publish_errors

    # publish_delay, and reset() cleans DNS
    em.publish_delay = 1.0
    t0 = time.monotonic()
    api.call('POST', recs, body={'type': 'TXT', 'name': 'late.example.test', 'content': 'late'})
    assert dig_txt(NS1, 'late.example.test')[2] == [], 'published before publish_delay'
    _wait_txt(NS1, 'late.example.test', ['late'])
    assert time.monotonic() - t0 >= 0.95
    em.reset()
    for n in ('late.example.test', 'multi.example.test', 'ttl.example.test', name):
        assert dig_txt(NS1, n)[2] == [], f'{n} still in DNS after reset()'


@with_emulator_log
def test_cf_emulator_faults(tb):
    """inject(): each kind once per matching request; latency; rate limit."""
    em = cf_emulator_reset(tb)
    tok = cf_token(em)
    api = Api(em, token=tok)
    zid = em.zone_id(ZONE)

    em.inject('429', retry_after=2)
    st, doc, h = api.call('GET', '/zones')
    assert st == 429 and h.get('retry-after') == '2' and _errs(doc) == [
        (971, 'Please wait and consider throttling your request speed')], (st, doc, h)
    assert api.call('GET', '/zones')[0] == 200
    em.inject('503', count=2)
    for _ in range(2):
        st, doc, h = api.call('GET', '/zones')
        assert st == 503 and 'text/html' in h['content-type'] and 'cloudflare' in doc, (st, doc)
    assert api.call('GET', '/zones')[0] == 200
    for kind in ('500', '502', '504'):
        em.inject(kind)
        st, doc, _ = api.call('GET', '/zones')
        assert st == int(kind), (kind, st, doc)
    em.inject('malformed')
    st, doc, h = api.call('GET', '/zones')
    assert st == 200 and isinstance(doc, str) and h['content-type'] == 'application/json', doc
    em.inject('reset')
    try:
        api.call('GET', '/zones')
        raise AssertionError('the reset fault answered')
    except (OSError, http.client.HTTPException):
        pass
    assert api.call('GET', '/zones')[0] == 200
    em.inject('lost', method='POST')
    try:
        api.call('POST', f'/zones/{zid}/dns_records',
                 body={'type': 'TXT', 'name': 'lost.example.test', 'content': 'lost'})
        raise AssertionError('the lost fault answered')
    except (OSError, http.client.HTTPException):
        pass
    assert [r['content'] for r in em.records(ZONE)] == ['lost'], 'lost: not processed'
    em.inject('slow', delay=1)
    t0 = time.monotonic()
    assert api.call('GET', '/zones')[0] == 200 and time.monotonic() - t0 >= 1
    # path and method filters
    em.inject('500', count=1, path='/dns_records', method='POST')
    assert api.call('GET', f'/zones/{zid}/dns_records')[0] == 200
    assert api.call('GET', '/zones')[0] == 200
    st, _, _ = api.call('POST', f'/zones/{zid}/dns_records',
                        body={'type': 'TXT', 'name': 'f.example.test', 'content': 'f'})
    assert st == 500 and not em.faults
    em.latency = 0.2
    t0 = time.monotonic()
    api.call('GET', '/zones')
    assert time.monotonic() - t0 >= 0.2
    em.latency = 0
    faults = [r.fault for r in em.requests if r.fault]
    assert faults == ['429', '503', '503', '500', '502', '504', 'malformed', 'reset', 'lost',
                      'slow', '500'], faults

    # rate limit: per credential; the call over the budget starts a block
    # (a window far longer than the calls take: the count cannot run late)
    em.rate_limit, em.rate_window, em.rate_block = 5, 600.0, 1.0
    api, other = Api(em, token=cf_token(em)), Api(em, token=cf_token(em))
    codes = [api.call('GET', '/zones')[0] for _ in range(6)]
    assert codes == [200] * 5 + [429], codes
    st, doc, h = api.call('GET', '/zones')
    assert st == 429 and _errs(doc)[0][0] == 971 and h['retry-after'] == '1', (st, doc, h)
    assert other.call('GET', '/zones')[0] == 200
    time.sleep(1.1)
    assert api.call('GET', '/zones')[0] == 200
    # start_block: the next matching call starts a block whatever the count
    em.start_block(300, path='/dns_records', method='POST')
    assert api.call('GET', f'/zones/{zid}/dns_records')[0] == 200
    st, doc, h = api.call('POST', f'/zones/{zid}/dns_records', body={})
    assert (st, h.get('retry-after')) == (429, '300') and _errs(doc)[0][0] == 971, (st, doc, h)
    st, _, h = api.call('GET', '/zones')
    assert st == 429 and 299 <= int(h['retry-after']) <= 300, (st, h)
    assert other.call('GET', '/zones')[0] == 200
    assert [(b[1], b[3] - b[2]) for b in em.blocks][-1] == (f'/zones/{zid}/dns_records', 300)


@with_emulator_log
def test_cf_emulator_tls(tb):
    """Each emulator instance has its own CA: the second instance is refused
    by a client that trusts only the first one's CA."""
    em = cf_emulator_reset(tb)
    em2 = cf_emulator_reset(tb, 'cf-untrusted')
    tok = cf_token(em2)
    try:
        Api(em2, token=tok, ca_file=em.ca_file).call('GET', '/zones')
        raise AssertionError('a certificate from another CA was accepted')
    except ssl.SSLCertVerificationError:
        pass
    deadline = time.monotonic() + 2
    while not em2.tls_failures and time.monotonic() < deadline:
        time.sleep(0.02)
    assert em2.tls_failures and not em2.requests, (em2.tls_failures, em2.requests)
    st, _, _ = Api(em2, token=tok).call('GET', '/zones')
    assert st == 200
    pem = Path(em.ca_file).read_text()
    assert pem.startswith('-----BEGIN CERTIFICATE-----') and pem != Path(em2.ca_file).read_text()
    assert em.api_url.startswith('https://127.0.0.1:') and em.api_url.endswith('/client/v4')


# --------------------------------------------------------------------------
# dns01 against the emulator
# --------------------------------------------------------------------------


@with_emulator_log
def test_cf_certbot_hooks_by_id(tb):
    """certbot apex + wildcard, in API calls: the auth pair makes one zone
    lookup and two POSTs (what DNS serves then: test_contract's
    additive_add), the last auth prints the record id; each cleanup is one
    DELETE by id, without a lookup; an unrelated value at the same name
    survives; a run whose journal is lost deletes by the id in
    CERTBOT_AUTH_OUTPUT alone."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em))
    domain, all_domains = ZONE, f'{ZONE},{ZONE}'
    name = '_acme-challenge.' + domain
    unrelated = 'unrelated-' + acme_value()[:12]
    em.add_record(ZONE, name, unrelated)
    values = [acme_value(), acme_value()]

    mark = len(em.requests)
    outs, _ = auth_pair(tb, conf, domain, values, all_domains)
    reqs = em.requests[mark:]
    note(f'auth run (2 calls): {len(reqs)} API calls: {summary(reqs)}')
    lookups = [r for r in reqs if r.method == 'GET' and r.route == '/zones']
    posts = [r for r in reqs if r.method == 'POST']
    assert len(lookups) <= 1, f'{len(lookups)} zone lookups: {summary(reqs)}'
    assert all(r.query.get('name') == ZONE for r in lookups), summary(reqs)
    assert len(posts) == 2, f'{len(posts)} POSTs: {summary(reqs)}'
    assert sorted(unquote(p.body['content']) for p in posts) == sorted(values), \
        [p.body for p in posts]
    assert all(p.body['name'] == name and p.body['type'] == 'TXT' for p in posts), \
        [p.body for p in posts]
    note(f'POST body: ttl={posts[0].body.get("ttl")} content form: '
         f'{"quoted" if posts[0].body["content"].startswith(chr(34)) else "unquoted"}; '
         f'User-Agent: {em.user_agent}; {len({r.conn for r in reqs})} connection(s)')
    assert em.user_agent and em.user_agent.startswith('dns01/'), em.user_agent

    recs = _by_content(em, name)
    assert set(recs) == set(values) | {unrelated}, recs
    assert re.fullmatch(r'dns01 \S+ [0-9a-f]{16} -', outs[0]), f'first auth printed {outs[0]!r}'
    assert recs[values[1]]['id'] in outs[1], \
        f'the last auth printed {outs[1]!r}, not the record id {recs[values[1]]["id"]}'

    # Cleanup batches like auth: REMAINING 1 only marks, REMAINING 0 deletes
    # both records by id (from the journal and CERTBOT_AUTH_OUTPUT), no lookups.
    for remaining, value, out in zip((1, 0), values, outs):
        mark = len(em.requests)
        rc, _, err, el = run_dns01(['-c', conf, 'cleanup'],
                                   env=certbot_env(domain, value, remaining, all_domains, out))
        assert rc == 0, f'cleanup (REMAINING={remaining}) exited {rc}: {err.strip()[-500:]}'
        reqs = em.requests[mark:]
        note(f'cleanup REMAINING={remaining}: {len(reqs)} API calls in {el:.2f}s: '
             f'{summary(reqs)}')
        deletes = [r for r in reqs if r.method == 'DELETE']
        want = [] if remaining else values
        assert len(deletes) == len(want), f'{len(deletes)} DELETEs: {summary(reqs)}'
        assert sorted(d.route.rsplit('/', 1)[1] for d in deletes) == \
            sorted(recs[v]['id'] for v in want), f'deleted {[d.route for d in deletes]}'
        assert all(d.status == 200 for d in deletes), summary(reqs)
        assert not [r for r in reqs if r.method == 'GET' and 'dns_records' in r.route], \
            f'cleanup searched although the record id was known: {summary(reqs)}'
    assert set(_by_content(em, name)) == {unrelated}, em.records(ZONE)

    # A one-name run whose journal is lost: the id in CERTBOT_AUTH_OUTPUT
    # alone is enough for one DELETE.
    single, sv = 'solo.example.test', acme_value()
    rc, out, err, _ = run_dns01(['-c', conf, 'auth'], env=certbot_env(single, sv, 0, single))
    assert rc == 0, f'auth {single} exited {rc}: {err.strip()[-500:]}'
    (tb.tmp / 'state' / 'journal').unlink()
    mark = len(em.requests)
    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'],
                              env=certbot_env(single, sv, 0, single, out.strip()))
    assert rc == 0, f'cleanup {single} exited {rc}: {err.strip()[-500:]}'
    reqs = em.requests[mark:]
    assert [r.method for r in reqs] == ['DELETE'], f'without state: {summary(reqs)}'
    assert reqs[0].route.split('/')[-1] in out, f'deleted {reqs[0].route}, auth printed {out!r}'
    assert set(_by_content(em, name)) == {unrelated}, em.records(ZONE)


@with_emulator_log
def test_cf_duplicate_is_success(tb):
    """A record that already exists (81058, and the older 81057) makes `set`
    succeed without a second record; `unset` then deletes it."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em))
    # Which content form does dns01 send (quoted or not)? Pre-create that one.
    probe, pv = '_acme-challenge.probe.example.test', acme_value()
    rc, _, err, _ = _set(conf, probe, pv, extra=('--no-wait',))
    assert rc == 0, f'set exited {rc}: {err[-500:]}'
    form = em.calls('POST')[-1].body['content']
    quoted = form.startswith('"')
    rc, _, err, _ = _unset(conf, probe, pv, extra=('--no-wait',))
    assert rc == 0, f'unset exited {rc}: {err[-500:]}'
    for code in (81058, 81057):
        em.duplicate_code = code
        name, v = f'_acme-challenge.dup{code}.example.test', acme_value()
        em.add_record(ZONE, name, f'"{v}"' if quoted else v)
        mark = len(em.requests)
        rc, _, err, _ = _set(conf, name, v)
        reqs = em.requests[mark:]
        note(f'{code}: set: {summary(reqs)}')
        assert rc == 0, f'set with an existing record ({code}) exited {rc}: {err[-500:]}'
        assert any(r.method == 'POST' and r.status == 400 for r in reqs), \
            f'no POST met the duplicate: {summary(reqs)}'
        assert len([r for r in em.records(ZONE) if r['name'] == name]) == 1, em.records(ZONE)
        for server in (NS1, NS2):
            expect_txt(server, name, [v])
        mark = len(em.requests)
        rc, _, err, _ = _unset(conf, name, v)
        assert rc == 0, f'unset exited {rc}: {err[-500:]}'
        note(f'{code}: unset: {summary(em.requests[mark:])}')
        assert not [r for r in em.records(ZONE) if r['name'] == name], em.records(ZONE)
        expect_txt(NS1, name, [])


@with_emulator_log
def test_cf_unset_looks_up_by_content(tb):
    """`unset` without a record id finds the record by type, name and
    content, quoted or unquoted, and deletes only that one."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em))
    name = '_acme-challenge.lookup.example.test'
    vq, vu, other = acme_value(), acme_value(), acme_value()
    rq = em.add_record(ZONE, name, f'"{vq}"')
    ru = em.add_record(ZONE, name, vu)
    em.add_record(ZONE, name, other)
    em.add_record(ZONE, '_acme-challenge.elsewhere.example.test', vq)
    assert em.wait_published()
    tb.sync()
    for value, rec, left in ((vq, rq, [vu, other]), (vu, ru, [other])):
        mark = len(em.requests)
        rc, _, err, _ = _unset(conf, name, value)
        reqs = em.requests[mark:]
        note(f'unset ({"quoted" if rec is rq else "unquoted"} record): {summary(reqs)}')
        assert rc == 0, f'unset exited {rc}: {err[-500:]}'
        deletes = [r for r in reqs if r.method == 'DELETE']
        assert [d.route.rsplit('/', 1)[1] for d in deletes] == [rec['id']], \
            f'expected one DELETE of {rec["id"]}: {summary(reqs)}'
        assert sorted(_by_content(em, name)) == sorted(left), em.records(ZONE)
        for server in (NS1, NS2):
            expect_txt(server, name, left, 'after unset: ')
    assert _by_content(em, '_acme-challenge.elsewhere.example.test'), 'a record elsewhere went'


@with_emulator_log
def test_cf_token_scoped_to_other_zone(tb):
    """A token that sees only acme.test, used for example.test: exit 3,
    stderr names the zone; nothing is written. It works for acme.test."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em, zones=['acme.test']))
    name, v = '_acme-challenge.scope.example.test', acme_value()
    rc, _, err, _ = _set(conf, name, v)
    assert rc == 3, f'expected exit 3 (credentials), got {rc}: {err[-500:]}'
    assert [r.status for r in em.calls('GET', r'^/zones$')][-1:] == [403], \
        f'the zone lookup never met the 403: {summary(em.requests)}'
    assert ZONE in err, f'stderr does not name the zone {ZONE}:\n{err}'
    note('stderr mentions Zone:Read: ' + ('yes' if 'Zone:Read' in err or 'Zone:Zone:Read' in err
                                          else 'no') + f' | {err.strip().splitlines()[-1]}')
    assert not em.calls('POST') and not em.records(ZONE), summary(em.requests)
    name2 = '_acme-challenge.scope.acme.test'
    rc, _, err, _ = _set(conf, name2, v)
    assert rc == 0, f'the same token in acme.test: exit {rc}: {err[-500:]}'
    rc, _, err, _ = _unset(conf, name2, v)
    assert rc == 0, f'unset in acme.test: exit {rc}: {err[-500:]}'


@with_emulator_log
def test_cf_zone_not_in_account(tb):
    """DNS finds the zone but the Cloudflare account has no such zone
    (GET /zones?name= answers an empty list): a clear error, exit 3 or 4,
    nothing written."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em))
    em.drop_zone(ZONE)
    rc, _, err, _ = _set(conf, '_acme-challenge.nozone.example.test', acme_value())
    note(f'exit {rc}: {err.strip().splitlines()[-1] if err.strip() else ""} '
         f'[{summary(em.requests)}]')
    assert rc in (3, 4), f'expected exit 3 or 4, got {rc}: {err[-500:]}'
    assert [r.status for r in em.calls('GET', r'^/zones$')] == [200], summary(em.requests)
    assert ZONE in err, f'stderr does not name the zone:\n{err}'
    assert not em.calls('POST')


@with_emulator_log
def test_cf_token_without_dns_edit(tb):
    """A token that may read the zone but not edit DNS (403 code 10000 on
    POST): exit 3, nothing written."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em, dns_edit=False))
    rc, _, err, _ = _set(conf, '_acme-challenge.ro.example.test', acme_value())
    assert rc == 3, f'expected exit 3 (credentials), got {rc}: {err[-500:]}'
    assert [p.status for p in em.calls('POST')][-1:] == [403], \
        f'the POST never met the 403: {summary(em.requests)}'
    note(err.strip().splitlines()[-1] if err.strip() else '(no stderr)')
    assert 'lack Zone:Read or Zone:DNS:Edit' in err and 'rejected' not in err, err
    assert not em.records(ZONE)


@with_emulator_log
def test_cf_wrong_credential_forms(tb):
    """A malformed token (6003/6111), a wrong global key (9103) and a token
    given as global key (6003/6103): exit 3 each, the message names the
    keys in use. (An unknown token: test_contract's bad_credentials.)"""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    email, key = cf_global_key(em)
    wrong_key = cf_emulator.new_global_key()
    SECRETS.add(wrong_key)
    unknown = cf_emulator.new_token()
    SECRETS.add(unknown)
    cases = [('malformed token', dict(token='bad/token+value==')),
             ('wrong global key', dict(email=email, api_key=wrong_key)),
             ('token as global key', dict(email=email, api_key=unknown))]
    for what, kw in cases:
        conf = cf_config(tb, em, **kw)
        mark = len(em.requests)
        rc, _, err, _ = _set(conf, '_acme-challenge.cred.example.test', acme_value())
        reqs = em.requests[mark:]
        note(f'{what}: exit {rc}: {err.strip().splitlines()[-1] if err.strip() else ""} '
             f'[{summary(reqs)}]')
        assert rc == 3, f'{what}: expected exit 3, got {rc}: {err[-500:]}'
        assert reqs and reqs[0].status in (400, 401, 403), \
            f'{what}: the API never rejected the credentials: {summary(reqs)}'
        if 'api_key' in kw:       # the fix must point at the keys actually in use
            assert 'api_token' not in err, \
                f'{what}: the message names api_token, but the section uses email + api_key:' \
                f'\n{err.strip()}'
        assert len(reqs) <= 2, f'{what}: {len(reqs)} requests for a credentials error'
    assert not em.records(ZONE)


@with_emulator_log
def test_cf_account_token_verified(tb):
    """An account-owned token (cfat_...) gets 401 code 1000 from
    /user/tokens/verify, which knows only users' tokens: doctor then looks
    the zone up and verifies the token at /accounts/<the zone's
    account>/tokens/verify, says that it was an account-owned token, and
    its round trip passes (exit 0). (A user's token: test_doctor.py.)"""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    acct = cf_emulator.ACCOUNT_ID
    conf = cf_config(tb, em, token=cf_token(em, prefix='cfat_', account=acct))
    rc, cred, _, out, err = doctor_credentials(conf, 'acct.example.test')
    note(f'account token: exit {rc}: {cred}')
    assert rc == 0, f'doctor with an account-owned token exited {rc}:\n{out}\n{err[-500:]}'
    assert cred and cred[0] == 'OK' and 'account-owned API token' in cred[1] \
        and f'/accounts/{acct}/tokens/verify' in cred[1], cred
    checks = [c for c in calls(em.requests) if c[0] == 'GET' and 'dns_records' not in c[1]]
    assert checks[:3] == [('GET', '/user/tokens/verify', 401), ('GET', '/zones', 200),
                          ('GET', '/accounts/…/tokens/verify', 200)], summary(em.requests)
    assert [p.status for p in em.calls('POST')] == [200], 'no round trip with the token'


@with_emulator_log
def test_cf_rejected_token(tb):
    """A revoked token is rejected, exit 3, and the message says so
    (invalid, revoked or expired), never that it lacks a permission: at
    doctor's verify (401/1000, then 403/9109 from the zone lookup) and at a
    POST (401/10000, reached through zone_id, whose read a dead token cannot
    tell from a missing Zone:Read). A valid token without DNS:Edit
    (403/10000) is still said to lack Zone:DNS:Edit
    (test_cf_token_without_dns_edit)."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    tok = cf_token(em)
    conf = cf_config(tb, em, token=tok)
    em.revoke_token(tok)

    def rejected(what, rc, err, since, want):
        reqs = em.requests[since:]
        note(f'{what}: exit {rc}: {err.strip().splitlines()[-1] if err.strip() else ""} '
             f'[{summary(reqs)}]')
        assert rc == 3, f'{what}: expected exit 3, got {rc}: {err[-500:]}'
        assert 'rejected' in err and 'invalid, revoked or expired' in err \
            and 'api_token' in err, f'{what}: stderr does not say the token was rejected:\n{err}'
        assert 'lack' not in err, f'{what}: a dead token is not a missing permission:\n{err}'
        assert calls(reqs) == want, f'{what}: {summary(reqs)}'

    mark = len(em.requests)
    rc, cred, _, out, err = doctor_credentials(conf, 'revoked.example.test')
    rejected('doctor', rc, err, mark, [('GET', '/user/tokens/verify', 401),
                                       ('GET', '/zones', 403)])
    assert cred and cred[0] == 'FAIL' and 'rejected' in cred[1], cred
    assert 'round-trip' not in out, out

    conf = cf_config(tb, em, token=tok, zone_id=em.zone_id(ZONE))
    mark = len(em.requests)
    rc, _, err, _ = _set(conf, '_acme-challenge.revoked2.example.test', acme_value())
    rejected('set through zone_id', rc, err, mark, [('GET', '/zones/…', 403),
                                                    ('POST', '/zones/…/dns_records', 401)])


@with_emulator_log
def test_cf_same_zone_name_in_two_accounts(tb):
    """Two zones named example.test, in two accounts (a user in both, or a
    zone being moved). Both active: exit 3, nothing written, and the message
    lists both zones with their accounts and points at zone_id; zone_id =
    then picks one (GET /zones/<id>, no lookup by name). Only one active:
    that one is used without zone_id."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    tok = cf_token(em)
    twin = em.add_zone(ZONE, account=em.add_account('Other Team'))
    ours = em.zone_id(ZONE)
    conf = cf_config(tb, em, token=tok)
    rc, _, err, _ = _set(conf, '_acme-challenge.twins.example.test', acme_value(), extra=('--no-wait',))
    note(f'both active: exit {rc}: {err.strip().splitlines()[-1] if err.strip() else ""}')
    assert rc == 3, f'expected exit 3, got {rc}: {err[-500:]}'
    for word in (ours, twin, 'Other Team', cf_emulator.ACCOUNT_NAME, 'zone_id'):
        assert word in err, f'the message does not name {word!r}:\n{err}'
    assert not em.calls('POST'), summary(em.requests)

    conf = cf_config(tb, em, token=tok, zone_id=ours)
    name, v = '_acme-challenge.twins2.example.test', acme_value()
    mark = len(em.requests)
    rc, _, err, _ = _set(conf, name, v, extra=('--no-wait',))
    assert rc == 0, f'set with zone_id exited {rc}: {err[-500:]}'
    assert calls(em.requests[mark:]) == [('GET', '/zones/…', 200),
                                          ('POST', '/zones/…/dns_records', 200)], \
        summary(em.requests[mark:])
    assert em.requests[mark].route == f'/zones/{ours}' and set(_by_content(em, name)) == {v}

    em.reset()
    conf = cf_config(tb, em, token=cf_token(em))
    em.add_zone(ZONE, status='pending', account=em.add_account('Other Team'))
    name = '_acme-challenge.twins3.example.test'
    rc, _, err, _ = _set(conf, name, v, extra=('--no-wait',))
    assert rc == 0, f'one active of two: set exited {rc}: {err[-500:]}'
    assert 'using the active one' in err and set(_by_content(em, name)) == {v}, err


@with_emulator_log
def test_cf_zone_id_without_zone_read(tb):
    """A token without Zone:Read cannot look the zone up (exit 3, and the
    message points at zone_id). With zone_id = it may not read the zone
    either (403): dns01 trusts the id, says so at -v, and set and unset
    work. doctor, with an account-owned token of that kind, has no account
    to verify the token at: a list of the zone's records shows that
    Cloudflare takes it. Such an unread zone_id stands for one zone only: a
    run with names in two zones is refused for the second (exit 3)."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    tok = cf_token(em, zone_read=False)
    conf = cf_config(tb, em, token=tok)
    rc, _, err, _ = _set(conf, '_acme-challenge.nozr.example.test', acme_value(), extra=('--no-wait',))
    assert rc == 3 and 'zone_id' in err, f'exit {rc}: {err[-500:]}'
    assert not em.calls('POST')

    conf = cf_config(tb, em, token=tok, zone_id=em.zone_id(ZONE))
    name, v = '_acme-challenge.nozr2.example.test', acme_value()
    mark = len(em.requests)
    rc, _, err, _ = _set(conf, name, v, extra=('-v', '--no-wait'))
    assert rc == 0, f'set with zone_id exited {rc}: {err[-1500:]}'
    assert calls(em.requests[mark:]) == [('GET', '/zones/…', 403),
                                          ('POST', '/zones/…/dns_records', 200)], \
        summary(em.requests[mark:])
    assert 'trusting that zone_id is zone example.test' in err, err[-1500:]
    rc, _, err, _ = _unset(conf, name, v, extra=('--no-wait',))
    assert rc == 0 and not _by_content(em, name), f'unset exited {rc}: {err[-500:]}'
    acct = cf_config(tb, em, token=cf_token(em, prefix='cfat_', zone_read=False,
                                          account=cf_emulator.ACCOUNT_ID),
                     zone_id=em.zone_id(ZONE))
    mark = len(em.requests)
    rc, cred, _, out, err = doctor_credentials(acct, 'nozr3.example.test')
    assert rc == 0 and cred and "not a user's token" in cred[1] and 'dns_records' in cred[1], \
        (rc, cred, out, err[-500:])
    checks = [c for c in calls(em.requests[mark:]) if c[0] == 'GET']
    assert checks[:3] == [('GET', '/user/tokens/verify', 401), ('GET', '/zones/…', 403),
                          ('GET', '/zones/…/dns_records', 200)], summary(em.requests[mark:])

    v1, v2 = acme_value(), acme_value()
    rc, _, err, _ = run_dns01(['-c', conf, 'deploy_challenge', 'nozr4.example.test', 't1', v1,
                               'nozr4.acme.test', 't2', v2])
    assert rc == 3 and 'acme.test' in err and 'section of its own' in err, \
        f'exit {rc}: {err[-500:]}'
    assert not [r for r in em.records('acme.test')], em.records('acme.test')


@with_emulator_log
def test_cf_zone_id_of_another_zone(tb):
    """zone_id applies to its own zone only: with the id of acme.test, a
    name in example.test is looked up by name (and said), and written
    there."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em), zone_id=em.zone_id('acme.test'))
    name, v = '_acme-challenge.elsewhere.example.test', acme_value()
    rc, _, err, _ = _set(conf, name, v, extra=('--no-wait',))
    assert rc == 0, f'set exited {rc}: {err[-500:]}'
    assert calls(em.requests) == [('GET', '/zones/…', 200), ('GET', '/zones', 200),
                                   ('POST', '/zones/…/dns_records', 200)], summary(em.requests)
    assert 'is zone acme.test' in err and set(_by_content(em, name)) == {v}, err


@with_emulator_log
def test_cf_zone_id_checked(tb):
    """zone_id must be 32 lowercase hex digits, in a section or as
    CF_Zone_ID (acme.sh's name; lego has none) in environment mode: exit 3
    with a message, and no API call."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    tok = cf_token(em)
    for bad in (em.zone_id(ZONE).upper(), em.zone_id(ZONE)[:31], '../' + 'a' * 29):
        conf = cf_config(tb, em, token=tok, zone_id=bad)
        rc, _, err, _ = _set(conf, '_acme-challenge.badid.example.test', acme_value())
        assert rc == 3 and 'zone_id must be 32 lowercase hex digits' in err, \
            f'zone_id {bad!r}: exit {rc}: {err[-500:]}'
    env = {'DNS01_PROVIDER': 'cloudflare', 'CLOUDFLARE_DNS_API_TOKEN': tok,
           'CLOUDFLARE_BASE_URL': em.api_url, 'CF_Zone_ID': 'not-a-zone-id',
           'DNS01_RESOLVERS': RES_CLIENT, 'DNS01_STATE_DIR': str(tb.tmp / 'state')}
    rc, _, err, _ = run_dns01(['set', '_acme-challenge.envid.example.test', acme_value()], env=env)
    assert rc == 3 and 'zone_id must be' in err and 'environment' in err, \
        f'CF_Zone_ID: exit {rc}: {err[-500:]}'
    assert not em.requests, summary(em.requests)


@with_emulator_log
def test_cf_txt_content_quoted(tb):
    """TXT content goes out quoted, as the dashboard wants it ("value", with
    '"' and '\\' escaped inside), and DNS (ns1, where the emulator
    publishes) serves the values themselves; unset finds the quoted records
    by content and deletes them."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em))
    name, v, text = 'quoted.example.test', acme_value(), 'say "hi" \\ there'
    rc, _, err, _ = _set(conf, name, v, text, extra=('--no-wait',))
    assert rc == 0, f'set exited {rc}: {err[-500:]}'
    assert sorted(p.body['content'] for p in em.calls('POST')) == \
        sorted([f'"{v}"', '"say \\"hi\\" \\\\ there"']), [p.body for p in em.calls('POST')]
    _wait_txt(NS1, name, [v, text])
    rc, _, err, _ = _unset(conf, name, v, text, extra=('--no-wait',))
    assert rc == 0, f'unset exited {rc}: {err[-500:]}'
    assert len(em.calls('DELETE')) == 2 and not _by_content(em, name), summary(em.requests)


@with_emulator_log
def test_cf_exists_in_either_form(tb):
    """"Already exists" with the existing record bare (v, as certbot and
    acme.sh write it) or quoted ("v"): dns01 finds that record by its content
    in either form and keeps its id, so the cleanup deletes both by id,
    without a lookup. (Whether Cloudflare calls v and "v" identical is not
    known: the emulator is told to, twins_identical.)"""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em))
    em.twins_identical = True
    args, pre = [], []
    for form in ('bare', 'quoted'):
        domain, v = f'twin-{form}.example.test', acme_value()
        pre.append(em.add_record(ZONE, '_acme-challenge.' + domain,
                                 v if form == 'bare' else f'"{v}"')['id'])
        args += [domain, 'token-' + form, v]
    assert em.wait_published()
    rc, _, err, _ = run_dns01(['-c', conf, 'deploy_challenge', *args])
    note(f'deploy: {summary(em.requests)}')
    assert rc == 0, f'deploy_challenge exited {rc}: {err[-500:]}'
    assert [p.status for p in em.calls('POST')] == [400, 400], summary(em.requests)
    mark = len(em.requests)
    rc, _, err, _ = run_dns01(['-c', conf, 'clean_challenge', *args])
    reqs = em.requests[mark:]
    note(f'clean: {summary(reqs)}')
    assert rc == 0, f'clean_challenge exited {rc}: {err[-500:]}'
    assert sorted(r.route.rsplit('/', 1)[1] for r in reqs if r.method == 'DELETE') == \
        sorted(pre) and len(reqs) == 2, f'not two DELETEs by the ids found: {summary(reqs)}'
    assert not [r for r in em.records(ZONE) if r['name'].startswith('_acme-challenge.twin-')]


@with_emulator_log
def test_cf_global_key_and_credentials_file(tb):
    """email + api_key (global key) works, and -v traces its requests
    without the key (run_dns01 fails on it); so does a certbot credentials
    file (dns_cloudflare_api_token, or email and global key), mode 600."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    email, key = cf_global_key(em)
    conf = cf_config(tb, em, email=email, api_key=key)
    name, v = '_acme-challenge.global.example.test', acme_value()
    rc, _, err, _ = _set(conf, name, v, extra=('-v',))
    assert rc == 0, f'set with the global key exited {rc}: {err[-500:]}'
    assert 'POST' in err and 'dns_records' in err, f'no request trace at -v:\n{err[-1500:]}'
    note(f'global key: "redacted" in the -v trace: {"redacted" in err.lower()}; '
         f'e-mail shown: {email in err}')
    rc, _, err, _ = _unset(conf, name, v, extra=('-v',))
    assert rc == 0, f'unset with the global key exited {rc}: {err[-500:]}'
    assert 'DELETE' in err, f'no DELETE trace at -v:\n{err[-1500:]}'
    assert {r.auth for r in em.requests} == {'global'}, {r.auth for r in em.requests}

    tok = cf_token(em)
    ini = _write_private(tb.tmp / 'cloudflare.ini', f'dns_cloudflare_api_token = {tok}\n')
    conf = cf_config(tb, em, credentials=ini)
    mark = len(em.requests)
    # a new name for each write after a removal: otherwise dns01 would
    # rightly wait out the 60 s TTL of the removed answer (test_cache.py)
    name = '_acme-challenge.global2.example.test'
    rc, _, err, _ = _set(conf, name, v)
    assert rc == 0, f'set with a credentials file exited {rc}: {err[-500:]}'
    rc, _, err, _ = _unset(conf, name, v)
    assert rc == 0, f'unset with a credentials file exited {rc}: {err[-500:]}'
    assert {r.auth for r in em.requests[mark:]} == {'token'}
    ini2 = _write_private(tb.tmp / 'cloudflare-global.ini',
                          f'dns_cloudflare_email = {email}\ndns_cloudflare_api_key = {key}\n')
    conf = cf_config(tb, em, credentials=ini2)
    name = '_acme-challenge.global3.example.test'
    rc, _, err, _ = _set(conf, name, v, extra=('--no-wait',))
    assert rc == 0, f'set with a global-key credentials file exited {rc}: {err[-500:]}'
    rc, _, err, _ = _unset(conf, name, v, extra=('--no-wait',))
    assert rc == 0, f'unset exited {rc}: {err[-500:]}'
    os.chmod(ini, 0o644)
    conf = cf_config(tb, em, credentials=ini)
    rc, _, err, _ = _set(conf, name, v)
    assert rc == 3 and 'chmod 600' in err, f'a 0644 credentials file: exit {rc}:\n{err}'


@with_emulator_log
def test_cf_propagation_waits_for_the_edge(tb):
    """The API accepts at once but DNS has it 2 s later (publish_delay), and
    ns2 1 s after that: set returns only when both serve it, unset only when
    neither does."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em))
    em.publish_delay = 2.0
    tb.set_lag(1)
    name, v = '_acme-challenge.edge.example.test', acme_value()
    rc, _, err, el = _set(conf, name, v)
    assert rc == 0, f'set exited {rc}: {err[-500:]}'
    note(f'set returned after {el:.2f}s (publish delay 2 s + ns2 lag 1 s)')
    assert el >= 2.9, f'set returned after {el:.2f}s, before the record could be served'
    for server in (NS1, NS2):
        expect_txt(server, name, [v], 'when set returned: ')
    rc, _, err, el = _unset(conf, name, v)
    assert rc == 0, f'unset exited {rc}: {err[-500:]}'
    note(f'unset returned after {el:.2f}s')
    assert el >= 2.0, f'unset returned after {el:.2f}s'
    expect_txt(NS1, name, [], 'when unset returned: ')


@with_emulator_log
def test_cf_cleanup_when_already_gone(tb):
    """The record was removed behind dns01's back: the cleanup's DELETE
    meets 404/81044, which counts as done (exit 0); `unset` of a value
    that is not there sends no DELETE and exits 0."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em))
    domain, v = 'gone.example.test', acme_value()
    rc, out, err, _ = run_dns01(['-c', conf, 'auth'], env=certbot_env(domain, v, 0))
    assert rc == 0, f'auth exited {rc}: {err[-500:]}'
    rec = _by_content(em, '_acme-challenge.' + domain)[v]
    em.delete_record(ZONE, rec['id'])
    mark = len(em.requests)
    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'],
                              env=certbot_env(domain, v, 0, auth_output=out.strip()))
    note(f'cleanup: exit {rc}: {summary(em.requests[mark:])}')
    assert rc == 0, f'cleanup of a record already gone exited {rc}: {err[-500:]}'
    assert [r.status for r in em.calls('DELETE', since=mark)] == [404], \
        summary(em.requests[mark:])
    assert 'gone already' in err and 'deleted' not in err, \
        f'a 404 must not be reported as a deletion: {err[-500:]}'
    mark = len(em.requests)
    rc, _, err, _ = _unset(conf, '_acme-challenge.' + domain, acme_value())
    note(f'unset of an absent value: exit {rc}: {summary(em.requests[mark:])}')
    assert rc == 0, f'unset of an absent value exited {rc}: {err[-500:]}'
    assert not em.calls('DELETE', since=mark)
    assert 'no such TXT value' in err and 'deleted' not in err, \
        f'nothing was there: {err[-500:]}'


@with_emulator_log
def test_cf_rate_limit_block_waited(tb):
    """Cloudflare's rate-limit block (every call 429 code 971, Retry-After
    the rest of the block), begun by the run's first POST: the emulator is
    told to start it there (start_block), not by a count a slow machine may
    reach late. The 2 s block ends within the timeout, so dns01 says on
    stderr that it waits, sends every POST again only after the block, and
    succeeds."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em))
    em.start_block(2, path='/dns_records', method='POST')
    name, values = '_acme-challenge.rl.example.test', [acme_value() for _ in range(3)]
    rc, _, err, el = _set(conf, name, *values, extra=('--no-wait',))
    note(f'exit {rc} after {el:.2f}s: {summary(em.requests)}')
    assert rc == 0, f'set exited {rc}: {err[-500:]}'
    assert len(em.blocks) == 1, em.blocks
    end = em.blocks[0][3]
    posts = em.calls('POST')
    refused = [p for p in posts if p.status == 429]
    assert refused and all(p.time < end for p in refused), summary(posts)
    assert len(posts) == len(refused) + 3 and all(p.time >= end for p in posts[len(refused):]), \
        f'a POST went again before the block ended: {summary(posts)}'
    wait = re.search(r'asks to wait [12] s \(Retry-After\)', err)
    assert wait, f'stderr does not say that dns01 waits for the block:\n{err}'
    assert wait.start() < err.index('added 3 TXT record(s)'), err
    assert sorted(_by_content(em, name)) == sorted(values)


@with_emulator_log
def test_cf_rate_limit_block_beyond_timeout(tb):
    """A 300 s block begun by the zone lookup, with --timeout 20: it ends
    after the timeout, so dns01 does not wait for it but fails at once
    (exit 4) naming how long the block lasts and when to try again, and the
    emulator saw one call: the refused lookup, tried once."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em))
    em.start_block(300, path='/zones', method='GET')
    rc, _, err, el = _set(conf, '_acme-challenge.rl300.example.test', acme_value(),
                          extra=('--timeout', '20'))
    note(f'exit {rc} after {el:.2f}s: {err.strip().splitlines()[-1] if err.strip() else ""}')
    assert rc == 4, f'expected exit 4, got {rc}: {err[-500:]}'
    assert calls(em.requests) == [('GET', '/zones', 429)], summary(em.requests)
    assert 'asks to wait' not in err, f'dns01 meant to wait past the timeout:\n{err}'
    m = re.search(r'for another (\d+) s, beyond the timeout \(20 s\): try again after '
                  r'(\d\d):(\d\d):(\d\d)', err)
    assert m and m.group(1) == '300', f'no time to try again in:\n{err}'
    end = time.localtime(em.blocks[0][4] + 300)
    named = int(m.group(2)) * 3600 + int(m.group(3)) * 60 + int(m.group(4))
    late = (named - (end.tm_hour * 3600 + end.tm_min * 60 + end.tm_sec)) % 86400
    assert late <= 60 or late >= 86400 - 2, \
        f'named {m.group(0)!r}, the block ends at {time.strftime("%H:%M:%S", end)}'


@with_emulator_log
def test_cf_transient_errors_then_success(tb):
    """A 502 (edge HTML) on the zone lookup, a connection reset, an answer
    lost after the record was made (the retry meets 81058), a slow answer:
    each ends in exit 0 with exactly one record. (503 on the POST:
    test_contract's retry_5xx.)"""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em))
    cases = [('502 on the zone lookup', dict(kind='502', count=1, path='/zones', method='GET')),
             ('connection reset', dict(kind='reset', count=1, method='POST')),
             ('answer lost after create', dict(kind='lost', count=1, method='POST')),
             ('slow answer (2 s)', dict(kind='slow', count=1, method='POST', delay=2))]
    for i, (what, f) in enumerate(cases):
        name, v = f'_acme-challenge.transient{i}.example.test', acme_value()
        em.inject(**f)
        mark = len(em.requests)
        rc, _, err, el = _set(conf, name, v)
        reqs = em.requests[mark:]
        note(f'{what}: exit {rc} after {el:.2f}s: {summary(reqs)}')
        assert rc == 0, f'{what}: set exited {rc}: {err[-500:]}'
        assert len([r for r in em.records(ZONE) if r['name'] == name]) == 1, \
            f'{what}: {em.records(ZONE)}'
        assert not em.faults, f'{what}: fault not consumed: {em.faults}'
        rc, _, err, _ = _unset(conf, name, v, extra=('--no-wait',))
        assert rc == 0, f'{what}: unset exited {rc}: {err[-500:]}'


@with_emulator_log
def test_cf_permanent_500_is_bounded(tb):
    """Every POST gets HTTP 500: exit 4 after a bounded number of attempts
    (at most 5; the retry delays are dns01's named constants, so the count
    bounds the time — no wall-clock assertion)."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em))
    em.inject('500', count=1000, path='/dns_records', method='POST')
    rc, _, err, el = _set(conf, '_acme-challenge.down.example.test', acme_value())
    posts = em.calls('POST')
    note(f'exit {rc} after {el:.2f}s and {len(posts)} POSTs; stderr: '
         f'{err.strip().splitlines()[-1] if err.strip() else ""}')
    assert rc == 4, f'expected exit 4, got {rc}: {err[-500:]}'
    assert 1 <= len(posts) <= 5, f'{len(posts)} POSTs: {summary(em.requests)}'
    assert not em.records(ZONE)


@with_emulator_log
def test_cf_untrusted_certificate(tb):
    """api_url serves a certificate from a CA that ca_file does not hold:
    refused (exit 3 or 4), the message says why, no request gets through."""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    em2 = cf_emulator_reset(tb, 'cf-untrusted')
    tok = cf_token(em)
    em2.add_token(tok)
    for what, ca in (('ca_file of another CA', em.ca_file), ('system bundle only', None)):
        conf = cf_config(tb, em2, token=tok, ca_file=ca)
        if ca is None:       # drop the ca_file line cf_config adds by default
            text = Path(conf).read_text()
            Path(conf).write_text(re.sub(r'(?m)^ca_file = .*\n', '', text))
        failures = len(em2.tls_failures)
        rc, _, err, _ = _set(conf, '_acme-challenge.tls.example.test', acme_value())
        note(f'{what}: exit {rc}: {err.strip().splitlines()[-1] if err.strip() else ""}')
        assert rc in (3, 4), f'{what}: expected exit 3 or 4, got {rc}: {err[-500:]}'
        deadline = time.monotonic() + 2
        while len(em2.tls_failures) == failures and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(em2.tls_failures) > failures, \
            f'{what}: dns01 never tried a TLS handshake with api_url: {err[-500:]}'
        assert re.search(r'\bTLS\b|\bSSL\b|certificate (problem|verif)|not trusted', err), \
            f'{what}: stderr does not say the certificate was refused:\n{err}'
    assert not em2.requests, summary(em2.requests)
    assert em2.tls_failures, 'no TLS handshake reached the second emulator'
    assert not em.records(ZONE) and not em2.records(ZONE)
