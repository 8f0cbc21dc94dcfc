"""What is specific to the Sakura Cloud provider, against the Sakura Cloud
API 1.1 emulator (sakura_emulator.py), which publishes the TXT records it
holds into the real BIND primary. What every provider must do (add, delete,
foreign records, many writers, bad credentials, 429/5xx/malformed answers,
doctor, certbot, no secret in any output, the real account) is in
test_contract.py.

The test_sk_emulator_* checks run first and need no dns01: when they fail,
suspect the emulator, not dns01. The other tests need a dns01 built with the
sakuracloud provider (`dns01 providers`) and are skipped without it.
(Sakura refuses owner names with a label "example"; the emulator does not.)
"""

import base64
import http.client
import json
import os
import re
import ssl
import threading
import time
import urllib.parse

from flows import auth_pair, expect_txt, expect_txt_soon
from provider_adapters import (ZONE, sk_config, sk_emulator_reset, sk_key, sk_rel,
                               sk_secrets_of)
from providers_common import (dns01_set as _set, dns01_unset as _unset, last_line,
                              need_provider, run_parallel, summary, under_valgrind,
                              wait_txt as _wait_txt, with_emulator_log,
                              write_private as _write_private)
from testbed import NS1, NS2, SECRETS, acme_value, certbot_env, dig_txt, note, run_dns01

import sakura_emulator
from sakura_emulator import NAME_SERVERS

DECOY = 'myexample.test'


def _ids(em):
    return {z: em.zone_id(z) for z in (ZONE, 'acme.test', DECOY) if em.zone_id(z)}


def _txt(em, rel, zone=ZONE):
    """RData of the TXT records at relative name `rel` (in set order)."""
    return [r['RData'] for r in em.records(zone) if r['Type'] == 'TXT' and r['Name'] == rel]


def _preexisting(tb, em, zone=ZONE):
    """Put an A, an MX and a TXT at _acme-challenge into the zone (the TXT
    published into BIND, ns2 in sync) -> (records, the TXT's value)."""
    other = 'pre-existing-' + acme_value()[:16]
    em.set_records(zone, em.records(zone) + [
        {'Name': 'www', 'Type': 'A', 'RData': '192.0.2.10', 'TTL': 3600},
        {'Name': '@', 'Type': 'MX', 'RData': f'10 mail.{zone}.', 'TTL': 3600},
        {'Name': '_acme-challenge', 'Type': 'TXT', 'RData': other, 'TTL': 120}])
    assert em.wait_published()
    tb.sync()
    for server in (NS1, NS2):
        expect_txt(server, f'_acme-challenge.{zone}', [other], 'pre-existing TXT: ')
    return em.records(zone), other



# --------------------------------------------------------------------------
# A small client for the emulator's self-checks
# --------------------------------------------------------------------------

class Api:
    """One keep-alive HTTPS connection to an emulator, TLS verified, HTTP
    Basic with (token, secret) when given."""

    def __init__(self, em, key=None, ca_file=None, authorization=None):
        self.em = em
        self.ctx = ssl.create_default_context(cafile=ca_file or em.ca_file)
        self.headers = {'User-Agent': 'sk-selfcheck/1', 'Accept': 'application/json'}
        if key is not None:
            cred = base64.b64encode(f'{key[0]}:{key[1]}'.encode()).decode()
            self.headers['Authorization'] = f'Basic {cred}'
        if authorization is not None:
            self.headers['Authorization'] = authorization
        self.conn = None
        self.raw = None

    def call(self, method, route, query=None, body=None, raw_body=None, prefix=None):
        """-> (status, parsed JSON or text, response headers); self.raw is the
        body as sent. query: a dict (sent as url-encoded JSON) or a string
        (sent as is)."""
        if self.conn is None:
            self.conn = http.client.HTTPSConnection('127.0.0.1', self.em.port,
                                                    context=self.ctx, timeout=10)
        path = (prefix or sakura_emulator.API_PREFIX) + route
        if isinstance(query, dict):
            path += '?' + urllib.parse.quote(json.dumps(query, separators=(',', ':')), safe='')
        elif query is not None:
            path += '?' + query
        h = dict(self.headers)
        data = raw_body if raw_body is not None else (json.dumps(body).encode()
                                                      if body is not None else None)
        if data is not None:
            h['Content-Type'] = 'application/json'
        try:
            self.conn.request(method, path, body=data, headers=h)
            resp = self.conn.getresponse()
            self.raw = resp.read().decode()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        try:
            doc = json.loads(self.raw)
        except ValueError:
            doc = self.raw
        return resp.status, doc, {k.lower(): v for k, v in resp.getheaders()}

    def find(self, flt, **kw):
        q = {'Filter': flt}
        q.update(kw)
        return self.call('GET', '/commonserviceitem', q)

    def item(self, zid):
        st, doc, _ = self.call('GET', f'/commonserviceitem/{zid}')
        assert st == 200, (st, doc)
        return doc['CommonServiceItem']

    def put(self, zid, records, original=None, inner=None, extra=None):
        csi = {'Settings': {'DNS': {'ResourceRecordSets': records}}}
        if inner is not None:
            csi['SettingsHash'] = inner
        body = {'CommonServiceItem': csi}
        if original is not None:
            body['OriginalSettingsHash'] = original
        body.update(extra or {})
        return self.call('PUT', f'/commonserviceitem/{zid}', body=body)


def _names(doc):
    return [it['Name'] for it in doc['CommonServiceItems']]


def _is_error(st, doc, status, code):
    assert isinstance(doc, dict) and list(doc) == ['is_fatal', 'serial', 'status', 'error_code',
                                                   'error_msg'], (st, doc)
    assert st == status and doc['is_fatal'] is True \
        and re.fullmatch(r'[0-9a-f]{32}', doc['serial']) \
        and doc['status'].startswith(f'{status} ') and doc['error_code'] == code \
        and doc['error_msg'], (st, doc)


def _txt_rec(name, value, ttl=60):
    return {'Name': name, 'Type': 'TXT', 'RData': value, 'TTL': ttl}


def _rrs(item):
    """The record list of an item as read ([] for an empty zone, which the
    emulator shows as null by default, or without the key)."""
    return item['Settings']['DNS'].get('ResourceRecordSets') or []


# --------------------------------------------------------------------------
# The emulator itself (no dns01)
# --------------------------------------------------------------------------

@with_emulator_log
def test_sk_emulator_auth(tb):
    """HTTP Basic; the 401 envelope; a key without modify rights gets 403 on
    PUT; the request log holds no secret."""
    em = sk_emulator_reset(tb)
    key = sk_key(em)
    api = Api(em, key)
    zid = em.zone_id(ZONE)
    st, doc, h = Api(em).call('GET', '/commonserviceitem')
    _is_error(st, doc, 401, 'unauthorized')
    assert doc['status'] == '401 Unauthorized' and doc['error_msg'] == '認証に失敗しました。', doc
    assert h['content-type'].startswith('application/json'), h
    st, doc, _ = api.call('GET', '/commonserviceitem')
    assert st == 200 and doc['is_ok'] is True, (st, doc)
    wrong = sakura_emulator.new_secret()
    SECRETS.add(wrong)
    for what, client in (('wrong secret', Api(em, (key[0], wrong))),
                         ('unknown token', Api(em, (sakura_emulator.new_token(), key[1]))),
                         ('Bearer', Api(em, authorization=f'Bearer {key[0]}')),
                         ('bad base64', Api(em, authorization='Basic !!!')),
                         ('no colon', Api(em, authorization='Basic ' + base64.b64encode(
                             key[0].encode()).decode()))):
        st, doc, _ = client.call('GET', f'/commonserviceitem/{zid}')
        _is_error(st, doc, 401, 'unauthorized')
    # a read-only key: reads work, a PUT is 403 (with an HTML entity in error_msg)
    ro = Api(em, sk_key(em, can_modify=False))
    item = ro.item(zid)
    st, doc, _ = ro.put(zid, _rrs(item) + [_txt_rec('ro', 'x')], original=item['SettingsHash'])
    _is_error(st, doc, 403, 'forbidden')
    assert '&quot;' in doc['error_msg'], doc
    assert em.records(ZONE) == sakura_emulator.initial_records()
    # raw JSON is PHP-style: \/ and \uXXXX
    st, _, _ = api.call('GET', f'/commonserviceitem/{zid}')
    assert '\\/' in api.raw and '"cloud\\/dns"' in api.raw, api.raw[:300]
    c = Api(em)
    c.call('GET', '/commonserviceitem')
    assert '\\u8a8d\\u8a3c' in c.raw, c.raw
    # the log holds no secret
    dump = repr([tuple(r) + (r.body,) for r in em.requests]) + em.log_text()
    for s in (key[0], key[1], wrong, api.headers['Authorization'].split()[1]):
        assert s not in dump, 'the emulator recorded a secret'
    assert {r.auth for r in em.requests} == {'key1', 'key2-ro', 'invalid', None}, \
        {r.auth for r in em.requests}


@with_emulator_log
def test_sk_emulator_find_and_paging(tb):
    """GET /commonserviceitem?<JSON>: partial (string) and exact (array)
    filters, the decoy zone, paging, errors; the item's shape."""
    em = sk_emulator_reset(tb)
    api = Api(em, sk_key(em))
    st, doc, _ = api.find({'Provider.Class': 'dns', 'Name': ZONE})
    assert st == 200 and _names(doc) == [DECOY, ZONE] and doc['Total'] == 2 \
        and doc['From'] == 0 and doc['Count'] == 2 and doc['is_ok'] is True, doc
    assert list(doc) == ['From', 'Count', 'Total', 'CommonServiceItems', 'is_ok'], list(doc)
    for flt, want in (({'Provider.Class': 'dns', 'Name': [ZONE]}, [ZONE]),
                      ({'Name': [ZONE, 'acme.test']}, [ZONE, 'acme.test']),
                      ({'Status.Zone': [ZONE]}, [ZONE]),
                      ({'Status.Zone': 'example'}, [DECOY, ZONE]),
                      ({'Name': 'my test'}, [DECOY]),            # words ANDed
                      ({'Name': 'test example'}, [DECOY, ZONE]),
                      ({'Name': 'acme nosuch'}, []),
                      ({'Name': 'EXAMPLE'}, [DECOY, ZONE]),
                      ({'Name': ['EXAMPLE.TEST']}, []),
                      ({'Provider.Class': ['dnsx']}, []),
                      ({'ID': [int(em.zone_id('acme.test'))]}, ['acme.test']),
                      ({}, [DECOY, ZONE, 'acme.test'])):
        st, doc, _ = api.find(flt)
        assert st == 200 and _names(doc) == want, (flt, _names(doc))
    st, doc, _ = api.find({'Provider.Class': 'dns', 'Name': 'nosuch.test'})
    assert (st, doc) == (200, {'From': 0, 'Count': 0, 'Total': 0, 'CommonServiceItems': [],
                               'is_ok': True}), doc
    # the query exactly as lexicon sends it (recorded), and the relaxed form
    st, doc, _ = api.call('GET', '/commonserviceitem',
                          '%7B%22Filter%22:%20%7B%22Provider.Class%22:%20%22dns%22,%20%22Name'
                          '%22:%20%22acme.test%22%7D%7D')
    assert st == 200 and _names(doc) == ['acme.test'], doc
    st, doc, _ = api.call('GET', '/commonserviceitem', urllib.parse.quote('{From: 1, Count: 1}'))
    assert st == 200 and _names(doc) == [ZONE] and doc['From'] == 1, doc
    # "+" is not a space
    st, doc, _ = api.call('GET', '/commonserviceitem',
                          urllib.parse.quote('{"Filter":{"Name":"my') + '+' +
                          urllib.parse.quote('test"}}'))
    assert st == 200 and _names(doc) == [], doc
    # the item
    item = doc_item = api.find({'Name': [ZONE]})[1]['CommonServiceItems'][0]
    assert list(item) == ['ID', 'Name', 'Description', 'Settings', 'SettingsHash', 'Status',
                          'ServiceClass', 'Availability', 'CreatedAt', 'ModifiedAt', 'Provider',
                          'Icon', 'Tags'], list(item)
    assert re.fullmatch(r'\d{12}', item['ID']) and item['Name'] == ZONE \
        and item['Status'] == {'Zone': ZONE, 'NS': NAME_SERVERS} \
        and item['ServiceClass'] == 'cloud/dns' and item['Availability'] == 'available' \
        and item['Provider'] == {'ID': 2000002, 'Class': 'dns', 'Name': 'gslb4.sakura.ne.jp',
                                 'ServiceClass': 'cloud/dns'} \
        and item['Icon'] is None and item['Tags'] == [] \
        and re.fullmatch(r'[0-9a-f]{32}', item['SettingsHash']) \
        and re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00', item['CreatedAt']), item
    # no apex NS in the record set (only in Status.NS); an empty set is null
    assert item['Settings'] == {'DNS': {'ResourceRecordSets': None,
                                        'MonitoringSuiteLog': {'Enabled': 'False'}}}, item
    st, doc, _ = api.call('GET', f'/commonserviceitem/{item["ID"]}')
    assert st == 200 and doc['CommonServiceItem'] == doc_item and doc['is_ok'] is True, doc
    # every production zone endpoint is the same API (DNS is global)
    for z in ('is1b', 'is1c', 'tk1a', 'tk1b'):
        st, doc, _ = api.call('GET', f'/commonserviceitem/{item["ID"]}',
                              prefix=f'/cloud/zone/{z}/api/cloud/1.1')
        assert st == 200 and doc['CommonServiceItem']['Name'] == ZONE, (z, doc)
    # paging
    for i in range(30):
        em.add_zone(f'z{i:02d}.test')
    st, doc, _ = api.find({'Provider.Class': 'dns'})
    assert (doc['From'], doc['Count'], doc['Total']) == (0, 20, 33), doc
    seen = _names(doc)
    st, doc, _ = api.find({'Provider.Class': 'dns'}, From=20)
    assert (doc['From'], doc['Count'], doc['Total']) == (20, 13, 33)
    seen += _names(doc)
    assert len(set(seen)) == 33 and seen[:3] == [DECOY, ZONE, 'acme.test'], seen
    st, doc, _ = api.find({}, From=31, Count=5)
    assert _names(doc) == ['z28.test', 'z29.test'] and doc['Count'] == 2, doc
    st, doc, _ = api.find({}, Count=0)
    assert doc['Count'] == 33, doc['Count']
    st, doc, _ = api.find({'Name': 'z0'}, Sort=['-Name'], Count=3)
    assert _names(doc) == ['z09.test', 'z08.test', 'z07.test'] and doc['Total'] == 10, doc
    # errors
    for q in ('%7Bnot%20json', urllib.parse.quote('[1,2]'), urllib.parse.quote('{"From":-1}'),
              urllib.parse.quote('{"Count":"5"}'), urllib.parse.quote('{"Filter":[1]}'),
              'key=value'):
        st, doc, _ = api.call('GET', '/commonserviceitem', q)
        _is_error(st, doc, 400, 'bad_request')
    for route in ('/commonserviceitem/999999999999', '/commonserviceitem/abc', '/nosuch',
                  '/commonserviceitem/1/2'):
        st, doc, _ = api.call('GET', route)
        _is_error(st, doc, 404, 'not_found')
    st, doc, _ = api.call('DELETE', f'/commonserviceitem/{item["ID"]}')
    _is_error(st, doc, 405, 'method_not_allowed')
    st, doc, _ = api.call('GET', '/commonserviceitem', prefix='/client/v4')
    _is_error(st, doc, 404, 'not_found')
    em.drop_zone(ZONE)
    st, doc, _ = api.find({'Name': [ZONE]})
    assert doc['Total'] == 0, doc
    _is_error(*api.call('GET', f'/commonserviceitem/{item["ID"]}')[:2], 404, 'not_found')


@with_emulator_log
def test_sk_emulator_put(tb):
    """PUT replaces the whole set; SettingsHash is a pure function of it;
    with optimistic on, a stale hash (either place) is 409; without a hash,
    or with optimistic off (the default), the last writer wins;
    validation; TXT changes reach BIND."""
    em = sk_emulator_reset(tb)
    em.optimistic = True
    api = Api(em, sk_key(em))
    zid = em.zone_id(ZONE)
    item = api.item(zid)
    h0, recs0 = item['SettingsHash'], _rrs(item)
    assert h0 == sakura_emulator.settings_hash(recs0) == em.settings_hash(ZONE)
    name, v1, v2 = '_acme-challenge.emu', acme_value(), acme_value()
    st, doc, _ = api.put(zid, recs0 + [_txt_rec(name, v1)], original=h0)
    assert st == 200 and doc['Success'] is True and doc['is_ok'] is True, (st, doc)
    h1 = doc['CommonServiceItem']['SettingsHash']
    assert h1 != h0 and doc['CommonServiceItem']['Settings']['DNS']['ResourceRecordSets'] == \
        recs0 + [_txt_rec(name, v1)], doc
    assert list(doc) == ['CommonServiceItem', 'Success', 'is_ok', '_log_url'], list(doc)
    _wait_txt(NS1, f'{name}.{ZONE}', [v1])
    # stale hash: 409, in either place; nothing changes
    for kw in ({'original': h0}, {'inner': h0}, {'original': h1, 'inner': h0}):
        st, doc, _ = api.put(zid, recs0 + [_txt_rec(name, v2)], **kw)
        _is_error(st, doc, 409, 'conflict')
        assert doc['error_msg'] == ('要求された操作を行えません。現在の対象の状態では、'
                                    'この操作を受け付けできません。'), doc
    assert em.settings_hash(ZONE) == h1
    # the right hash in both places (as dns01 sends it)
    st, doc, _ = api.put(zid, recs0 + [_txt_rec(name, v1), _txt_rec(name, v2)], original=h1,
                         inner=h1)
    assert st == 200, doc
    h2 = doc['CommonServiceItem']['SettingsHash']
    _wait_txt(NS1, f'{name}.{ZONE}', [v1, v2])
    # removing what was added brings the earlier hash back
    st, doc, _ = api.put(zid, recs0 + [_txt_rec(name, v1)], original=h2)
    assert st == 200 and doc['CommonServiceItem']['SettingsHash'] == h1, doc
    st, doc, _ = api.put(zid, recs0, original=h1)
    assert st == 200 and doc['CommonServiceItem']['SettingsHash'] == h0, doc
    _wait_txt(NS1, f'{name}.{ZONE}', [])
    # no hash: accepted as it comes (last writer wins), so two writers lose an update
    a, b = api.item(zid), api.item(zid)
    st1, _, _ = api.put(zid, _rrs(a) + [_txt_rec('a', 'A')])
    st2, _, _ = api.put(zid, _rrs(b) + [_txt_rec('b', 'B')])
    assert (st1, st2) == (200, 200) and _txt(em, 'a') == [] and _txt(em, 'b') == ['B'], \
        em.records(ZONE)
    # ... with hashes the second one is refused
    a, b = api.item(zid), api.item(zid)
    st1, _, _ = api.put(zid, _rrs(a) + [_txt_rec('a', 'A')], original=a['SettingsHash'])
    st2, _, _ = api.put(zid, _rrs(b) + [_txt_rec('c', 'C')], original=b['SettingsHash'])
    assert (st1, st2) == (200, 409) and _txt(em, 'a') == ['A'] and _txt(em, 'c') == []
    # optimistic off: the hash is ignored
    em.optimistic = False
    st, doc, _ = api.put(zid, recs0 + [_txt_rec('d', 'D')], original=h0)
    assert st == 200 and _txt(em, 'a') == [] and _txt(em, 'd') == ['D'], (st, doc)
    em.optimistic = True
    # no TTL stays without; TXT verbatim; Description; a Settings-less PUT keeps the set
    st, doc, _ = api.put(zid, recs0 + [{'Name': 'q', 'Type': 'TXT', 'RData': '"quoted" x'}])
    assert st == 200 and em.records(ZONE)[-1] == {'Name': 'q', 'Type': 'TXT',
                                                  'RData': '"quoted" x'}, doc
    h = em.settings_hash(ZONE)
    st, doc, _ = api.call('PUT', f'/commonserviceitem/{zid}',
                          body={'CommonServiceItem': {'Description': 'note'}})
    assert st == 200 and doc['CommonServiceItem']['Description'] == 'note' \
        and doc['CommonServiceItem']['SettingsHash'] == h, doc
    # validation: 400 bad_request, nothing changes
    bad = [{'Name': 'x', 'Type': 'SPF', 'RData': 'v=spf1'},
           {'Name': 'x.', 'Type': 'TXT', 'RData': 'x'},
           {'Name': '', 'Type': 'TXT', 'RData': 'x'},
           {'Name': 'a..b', 'Type': 'TXT', 'RData': 'x'},
           {'Name': 'x', 'Type': 'TXT', 'RData': ''},
           {'Name': 'x', 'Type': 'TXT', 'RData': 'x' * 501},
           {'Name': 'x', 'Type': 'TXT', 'RData': 'x', 'TTL': '60'},
           {'Name': 'x', 'Type': 'TXT', 'RData': 'x', 'TTL': 0},
           {'Name': 'x', 'Type': 'TXT', 'RData': 'x', 'TTL': 9},
           {'Name': 'x', 'Type': 'TXT', 'RData': 'x', 'TTL': 3600001},
           {'Name': 'x' * 64, 'Type': 'TXT', 'RData': 'x'},
           {'Name': 'a.' + 'x' * 62, 'Type': 'TXT', 'RData': 'x'},
           {'Name': 'x', 'Type': 'CNAME', 'RData': 'www.example.test'},
           {'Name': 'x', 'Type': 'TXT'}, 'not an object']
    for rec in bad:
        st, doc, _ = api.put(zid, recs0 + [rec])
        _is_error(st, doc, 400, 'bad_request')
    for body in ({}, {'CommonServiceItem': []},
                 {'CommonServiceItem': {'Settings': {'DNS': {}}}},
                 {'CommonServiceItem': {'Settings': {'DNS': {'ResourceRecordSets': {}}}}},
                 {'CommonServiceItem': {'Settings': {}}, 'OriginalSettingsHash': 5}):
        st, doc, _ = api.call('PUT', f'/commonserviceitem/{zid}', body=body)
        _is_error(st, doc, 400, 'bad_request')
    st, doc, _ = api.call('PUT', f'/commonserviceitem/{zid}', raw_body=b'{"CommonServiceItem":')
    _is_error(st, doc, 400, 'bad_request')
    assert em.settings_hash(ZONE) == h
    # the decoy has no DNS zone: nothing is published for it, and no error
    did = em.zone_id(DECOY)
    st, _, _ = api.put(did, _rrs(api.item(did)) + [_txt_rec('_acme-challenge', 'decoy')])
    assert st == 200 and _txt(em, '_acme-challenge', DECOY) == ['decoy']
    # publish_delay
    em.publish_delay = 1.0
    t0 = time.monotonic()
    st, _, _ = api.put(zid, em.records(ZONE) + [_txt_rec('late', 'late')])
    assert dig_txt(NS1, f'late.{ZONE}')[2] == [], 'published before publish_delay'
    _wait_txt(NS1, f'late.{ZONE}', ['late'])
    assert time.monotonic() - t0 >= 0.95
    assert not em.publish_errors, em.publish_errors
    assert em.connections == 1, f'{em.connections} connections for {len(em.requests)} requests'
    # reset() cleans DNS and restores the zones
    em.reset()
    for n in ('late', 'q', 'b', 'd'):
        assert dig_txt(NS1, f'{n}.{ZONE}')[2] == [], f'{n} still in DNS after reset()'
    assert em.records(ZONE) == sakura_emulator.initial_records() and em.zone_id(ZONE) == zid


@with_emulator_log
def test_sk_emulator_faults(tb):
    """inject(): each kind once per matching request; latency; lost_update."""
    em = sk_emulator_reset(tb)
    api = Api(em, sk_key(em))
    zid = em.zone_id(ZONE)
    for kind, code in (('401', 'unauthorized'), ('409', 'conflict'), ('423', 'locked'),
                       ('500', 'internal_server_error'), ('503', 'service_unavailable')):
        em.inject(kind, retry_after=1 if kind == '503' else None)
        st, doc, h = api.call('GET', '/commonserviceitem')
        _is_error(st, doc, int(kind), code)
        if kind == '503':
            assert h.get('retry-after') == '1', h
        if kind == '500':
            assert '&quot;' in doc['error_msg'], doc
        assert api.call('GET', '/commonserviceitem')[0] == 200
    em.inject('503', count=2)
    assert [api.call('GET', '/commonserviceitem')[0] for _ in range(3)] == [503, 503, 200]
    em.inject('malformed')
    st, doc, h = api.call('GET', '/commonserviceitem')
    assert st == 200 and isinstance(doc, str) and h['content-type'].startswith(
        'application/json'), doc
    em.inject('reset')
    try:
        api.call('GET', '/commonserviceitem')
        raise AssertionError('the reset fault answered')
    except (OSError, http.client.HTTPException):
        pass
    em.inject('lost', method='PUT')
    try:
        api.put(zid, em.records(ZONE) + [_txt_rec('lost', 'lost')])
        raise AssertionError('the lost fault answered')
    except (OSError, http.client.HTTPException):
        pass
    assert _txt(em, 'lost') == ['lost'], 'lost: not carried out'
    em.inject('slow', delay=1)
    t0 = time.monotonic()
    assert api.call('GET', '/commonserviceitem')[0] == 200 and time.monotonic() - t0 >= 1
    # method and path filters
    em.inject('500', method='PUT', path='/commonserviceitem/')
    assert api.call('GET', f'/commonserviceitem/{zid}')[0] == 200
    st, _, _ = api.put(zid, em.records(ZONE))
    assert st == 500 and not em.faults
    em.latency = 0.2
    t0 = time.monotonic()
    api.call('GET', '/commonserviceitem')
    assert time.monotonic() - t0 >= 0.2
    em.latency = 0
    # lost_update: the PUT is answered 200, then a stale write overwrites it
    item = api.item(zid)
    em.inject('lost_update')
    st, doc, _ = api.put(zid, _rrs(item) + [_txt_rec('mine', 'M')],
                         original=item['SettingsHash'])
    assert st == 200 and _txt_rec('mine', 'M') in _rrs(doc['CommonServiceItem']), doc
    assert _txt(em, 'mine') == [] and len(_txt(em, '_foreign')) == 1, em.records(ZONE)
    # ... a foreign writer that sends its hash is refused by an optimistic server
    em.optimistic = True
    item = api.item(zid)
    em.inject('lost_update', foreign_hash=True)
    st, _, _ = api.put(zid, _rrs(item) + [_txt_rec('mine', 'M2')],
                       original=item['SettingsHash'])
    assert st == 200 and _txt(em, 'mine') == ['M2'] and len(_txt(em, '_foreign')) == 2, \
        em.records(ZONE)
    # lost_update_late: the stale write lands right before the second read after the PUT
    em.optimistic = False
    item = api.item(zid)
    em.inject('lost_update_late')
    st, _, _ = api.put(zid, _rrs(item) + [_txt_rec('late', 'L')], original=item['SettingsHash'])
    assert st == 200 and _txt_rec('late', 'L') in _rrs(api.item(zid)), em.records(ZONE)
    assert _txt_rec('late', 'L') not in _rrs(api.item(zid)) and _txt(em, 'late') == [] \
        and len(_txt(em, '_foreign')) == 3, em.records(ZONE)
    # a 409 with a sub-code (iaas-api-go error.go: still_creating)
    em.inject('409', code='still_creating')
    _is_error(*api.call('GET', f'/commonserviceitem/{zid}')[:2], 409, 'still_creating')
    faults = [r.fault for r in em.requests if r.fault]
    assert faults == ['401', '409', '423', '500', '503', '503', '503', 'malformed', 'reset',
                      'lost', 'slow', '500', 'lost_update', 'lost_update', 'lost_update_late',
                      '409'], faults
    assert len(em.foreign_writes) == 3, em.foreign_writes


@with_emulator_log
def test_sk_emulator_concurrent_puts(tb):
    """20 clients read at once, then PUT at once: with hashes, exactly one
    wins each time and the rest retry until all 20 records are in; without
    hashes, 19 updates are lost (the server is atomic, the clients are not)."""
    em = sk_emulator_reset(tb)
    key = sk_key(em)
    zid = em.zone_id(ZONE)
    n = 20
    conflicts = []

    def writer(i, barrier, use_hash):
        api = Api(em, key)
        first = True
        while True:
            item = api.item(zid)
            if first:
                barrier.wait(10)
                first = False
            recs = _rrs(item) + [_txt_rec(f'w{i:02d}', f'v{i}')]
            st, doc, _ = api.put(zid, recs, original=item['SettingsHash'] if use_hash else None)
            if st == 409:
                conflicts.append(i)
                continue
            assert st == 200, (st, doc)
            return

    for use_hash in (True, False):
        em.reset()
        em.publish_delay = 0
        em.optimistic = True          # refuses a stale hash (the real server likely does not)
        em.add_key(*key)
        conflicts.clear()
        barrier = threading.Barrier(n)
        threads = [threading.Thread(target=writer, args=(i, barrier, use_hash))
                   for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        got = [r['Name'] for r in em.records(ZONE) if r['Type'] == 'TXT']
        if use_hash:
            assert sorted(got) == [f'w{i:02d}' for i in range(n)], got
            assert len(conflicts) >= n - 1, conflicts
            note(f'with hashes: all {n} records in after {len(conflicts)} conflicts (409)')
        else:
            assert len(got) == 1, got
            note(f'without hashes: {n - len(got)} of {n} updates lost')
    assert em.wait_published()
    _wait_txt(NS1, f'{got[0]}.{ZONE}', [f'v{int(got[0][1:])}'])


@with_emulator_log
def test_sk_emulator_real_api_facts(tb):
    """What the emulator follows of the real API (api-fidelity.md §2-3):
    reset() leaves the hash ignored, a publish delay as slow as the real
    service's, and an empty set as null (or [] or left out); no apex NS in
    the set; TTL 10..3600000, a record without TTL kept without; Names up
    to 63 characters; MonitoringSuiteLog kept when sent, switched off when
    left out; is1c is production; tk1v answers from a data set of its own
    that is published nowhere."""
    em = tb.sakura()
    em.reset()
    assert (em.optimistic, em.publish_delay, em.empty_records) == \
        (False, sakura_emulator.PUBLISH_DELAY, 'null') and em.publish_delay >= 30
    em.publish_delay = 0
    api = Api(em, sk_key(em))
    zid = em.zone_id(ZONE)
    for form, dns in (('null', {'ResourceRecordSets': None}), ('missing', {}),
                      ('[]', {'ResourceRecordSets': []})):
        em.empty_records = form
        dns['MonitoringSuiteLog'] = {'Enabled': 'False'}
        assert api.item(zid)['Settings']['DNS'] == dns, (form, api.item(zid)['Settings'])
    em.empty_records = 'null'
    recs = [_txt_rec('t10', 'a', 10), _txt_rec('tmax', 'b', 3600000),
            {'Name': 'nottl', 'Type': 'TXT', 'RData': 'c'},
            {'Name': 'n' * 63, 'Type': 'A', 'RData': '192.0.2.1'}]
    st, doc, _ = api.put(zid, recs)
    assert st == 200 and _rrs(api.item(zid)) == recs, doc
    _wait_txt(NS1, f'nottl.{ZONE}', ['c'])
    # MonitoringSuiteLog: kept when sent, off when a PUT leaves it out
    em.set_monitoring(ZONE, True)
    on = {'ResourceRecordSets': recs, 'MonitoringSuiteLog': {'Enabled': 'True'}}
    st, doc, _ = api.call('PUT', f'/commonserviceitem/{zid}',
                          body={'CommonServiceItem': {'Settings': {'DNS': on}}})
    assert st == 200 and em.monitoring(ZONE) is True \
        and doc['CommonServiceItem']['Settings']['DNS'] == on, doc
    st, doc, _ = api.put(zid, recs)
    assert st == 200 and em.monitoring(ZONE) is False, doc
    # endpoints: is1c is production; tk1v is the Sandbox, its own data set
    st, doc, _ = api.call('GET', f'/commonserviceitem/{zid}',
                          prefix='/cloud/zone/is1c/api/cloud/1.1')
    assert st == 200 and _rrs(doc['CommonServiceItem']) == recs, doc
    sandbox = sakura_emulator.SANDBOX_PREFIX
    st, doc, _ = api.call('GET', '/commonserviceitem', {'Filter': {}}, prefix=sandbox)
    assert st == 200 and doc['Total'] == 0, doc
    _is_error(*api.call('GET', f'/commonserviceitem/{zid}', prefix=sandbox)[:2], 404,
              'not_found')
    sid = em.add_zone(ZONE, sandbox=True)
    st, doc, _ = api.call('PUT', f'/commonserviceitem/{sid}', prefix=sandbox,
                          body={'CommonServiceItem': {'Settings': {'DNS': {
                              'ResourceRecordSets': [_txt_rec('sandbox', 's')]}}}})
    assert st == 200 and em.records(ZONE, sandbox=True) == [_txt_rec('sandbox', 's')], doc
    assert em.records(ZONE) == recs
    assert em.wait_published() and dig_txt(NS1, f'sandbox.{ZONE}')[2] == []


# --------------------------------------------------------------------------
# dns01 against the emulator
# --------------------------------------------------------------------------

@with_emulator_log
def test_sk_certbot_hooks_one_put(tb):
    """certbot apex + wildcard, in API calls: the auth pair writes both
    values in exactly one PUT, which sends back every record it read and
    the hash it read (what DNS serves then: test_contract's additive_add);
    the cleanups take one or two PUTs and restore the set exactly, hash
    included (A, MX and an unrelated TXT at the same name untouched)."""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    conf = sk_config(tb, em, sk_key(em))
    original, other = _preexisting(tb, em)
    h0 = em.settings_hash(ZONE)
    domain, all_domains = ZONE, f'{ZONE},{ZONE}'
    name = '_acme-challenge.' + domain
    values = [acme_value(), acme_value()]

    mark = len(em.requests)
    outs, _ = auth_pair(tb, conf, domain, values, all_domains)
    reqs = em.requests[mark:]
    note(f'auth run (2 calls): {len(reqs)} API calls: {summary(reqs, _ids(em))}')
    puts = [r for r in reqs if r.method == 'PUT']
    assert len(puts) == 1, f'{len(puts)} PUTs for two values: {summary(reqs, _ids(em))}'
    assert puts[0].route == f'/commonserviceitem/{em.zone_id(ZONE)}', puts[0].route
    sent = puts[0].body['CommonServiceItem']['Settings']['DNS']['ResourceRecordSets']
    added = [r for r in sent if r not in original]
    assert sorted(r['RData'] for r in added) == sorted(values) \
        and all(r['Name'] == '_acme-challenge' and r['Type'] == 'TXT' for r in added), added
    assert all(r in sent for r in original), 'the PUT dropped records it had read'
    where = [k for k in ('OriginalSettingsHash',) if k in puts[0].body] + \
        [f'CommonServiceItem.{k}' for k in ('SettingsHash',)
         if k in puts[0].body['CommonServiceItem']]
    note(f'PUT: TTL {added[0].get("TTL")}, hash sent as {", ".join(where) or "(none)"}')
    assert puts[0].hash_sent == h0, 'the PUT did not carry the hash it had read'
    lookups = [r for r in reqs if r.route == '/commonserviceitem']
    note(f'zone lookup: {json.dumps(lookups[0].query) if lookups else "(none)"}')
    assert sorted(_txt(em, '_acme-challenge')) == sorted(values + [other])

    mark_all = len(em.requests)
    for remaining, value, out in zip((1, 0), values, outs):
        mark = len(em.requests)
        rc, _, err, el = run_dns01(['-c', conf, 'cleanup'],
                                   env=certbot_env(domain, value, remaining, all_domains, out))
        assert rc == 0, f'cleanup (REMAINING={remaining}) exited {rc}: {err.strip()[-500:]}'
        note(f'cleanup REMAINING={remaining}: {em.puts(since=mark)} PUT(s) in {el:.2f}s: '
             f'{summary(em.requests[mark:], _ids(em))}')
    cleanup_puts = em.puts(since=mark_all)
    note(f'PUTs for the two cleanups: {cleanup_puts}')
    assert 1 <= cleanup_puts <= 2, f'{cleanup_puts} PUTs for the cleanups'
    assert em.records(ZONE) == original, \
        f'the set after cleanup differs:\n  before {original}\n  after  {em.records(ZONE)}'
    assert em.settings_hash(ZONE) == h0
    assert em.wait_published()      # the cleanup returns once the PUT is answered
    expect_txt(NS1, name, [other], 'after cleanup: ')


@with_emulator_log
def test_sk_partial_match_trap(tb):
    """myexample.test is in the account and listed first for a partial
    "example.test" match: a write in example.test changes only example.test."""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    key = sk_key(em)
    conf = sk_config(tb, em, key)
    st, doc, _ = Api(em, key).find({'Provider.Class': 'dns', 'Name': ZONE})
    assert _names(doc)[0] == DECOY, _names(doc)
    decoy_before, decoy_hash = em.records(DECOY), em.settings_hash(DECOY)
    name, v = '_acme-challenge.trap.example.test', acme_value()
    mark = len(em.requests)
    rc, _, err, _ = _set(conf, name, v)
    reqs = em.requests[mark:]
    note(summary(reqs, _ids(em)))
    assert rc == 0, f'set exited {rc}: {err[-500:]}'
    assert _txt(em, '_acme-challenge.trap') == [v], em.records(ZONE)
    assert em.records(DECOY) == decoy_before and em.settings_hash(DECOY) == decoy_hash, \
        f'{DECOY} was changed: {em.records(DECOY)}'
    assert all(r.route.endswith(em.zone_id(ZONE)) for r in reqs
               if r.route.startswith('/commonserviceitem/')), summary(reqs, _ids(em))
    rc, _, err, _ = _unset(conf, name, v)
    assert rc == 0, f'unset exited {rc}: {err[-500:]}'
    assert em.records(ZONE) == sakura_emulator.initial_records()
    assert em.records(DECOY) == decoy_before


@with_emulator_log
def test_sk_other_zone_and_cname(tb):
    """A write in acme.test changes only acme.test; a challenge whose name
    is a CNAME (_acme-challenge.delegated.example.test -> delegated.acme.test)
    is written in acme.test as "delegated"; unset of a value that is not
    there sends no PUT."""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    conf = sk_config(tb, em, sk_key(em))
    v1, v2 = acme_value(), acme_value()
    rc, _, err, _ = _set(conf, '_acme-challenge.x.acme.test', v1)
    assert rc == 0, f'set in acme.test exited {rc}: {err[-500:]}'
    assert _txt(em, '_acme-challenge.x', 'acme.test') == [v1], em.records('acme.test')
    assert em.records(ZONE) == sakura_emulator.initial_records(), em.records(ZONE)
    mark = len(em.requests)
    rc, out, err, _ = run_dns01(['-c', conf, 'auth'],
                                env=certbot_env('delegated.example.test', v2, 0))
    note(f'CNAME: {summary(em.requests[mark:], _ids(em))}')
    assert rc == 0, f'auth through the CNAME exited {rc}: {err[-500:]}'
    assert _txt(em, 'delegated', 'acme.test') == [v2], em.records('acme.test')
    assert em.records(ZONE) == sakura_emulator.initial_records(), em.records(ZONE)
    for server in (NS1, NS2):
        expect_txt(server, 'delegated.acme.test', [v2], 'after auth: ')
    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'],
                              env=certbot_env('delegated.example.test', v2, 0,
                                              auth_output=out.strip()))
    assert rc == 0, f'cleanup through the CNAME exited {rc}: {err[-500:]}'
    rc, _, err, _ = _unset(conf, '_acme-challenge.x.acme.test', v1)
    assert rc == 0, f'unset exited {rc}: {err[-500:]}'
    assert em.records('acme.test') == sakura_emulator.initial_records(), em.records('acme.test')
    mark = len(em.requests)
    rc, _, err, _ = _unset(conf, '_acme-challenge.x.acme.test', acme_value())
    assert rc == 0, f'unset of an absent value exited {rc}: {err[-500:]}'
    assert em.puts(since=mark) == 0, summary(em.requests[mark:], _ids(em))


@with_emulator_log
def test_sk_unknown_token(tb):
    """An access token the API does not know (HTTP 401): exit 3, "access
    token or secret rejected", at most 2 requests, nothing written. (A wrong
    secret: test_contract's bad_credentials.)"""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    sk_key(em)
    key = (sakura_emulator.new_token(), sakura_emulator.new_secret())
    sk_secrets_of(*key)
    conf = sk_config(tb, em, key)
    rc, _, err, _ = _set(conf, '_acme-challenge.cred.example.test', acme_value())
    reqs = em.requests
    note(f'exit {rc}: {last_line(err)} [{summary(reqs, _ids(em))}]')
    assert rc == 3, f'expected exit 3, got {rc}: {err[-500:]}'
    assert 'access token or secret rejected' in err, f'stderr:\n{err}'
    assert reqs and reqs[0].status == 401, summary(reqs)
    assert len(reqs) <= 2, f'{len(reqs)} requests for a credentials error'
    assert not em.puts() and em.records(ZONE) == sakura_emulator.initial_records()


@with_emulator_log
def test_sk_key_without_modify_right(tb):
    """A key that may read but not change settings (HTTP 403 on the PUT):
    exit 3, stderr names the permission, the API's error_msg with its HTML
    entities decoded; nothing written."""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    conf = sk_config(tb, em, sk_key(em, can_modify=False))
    rc, _, err, _ = _set(conf, '_acme-challenge.ro.example.test', acme_value())
    note(f'exit {rc}: {last_line(err)}')
    assert rc == 3, f'expected exit 3, got {rc}: {err[-500:]}'
    assert [r.status for r in em.calls('PUT')] == [403], summary(em.requests, _ids(em))
    assert re.search(r'can modify settings|設定変更|permission|access level', err), \
        f'stderr does not name the permission:\n{err}'
    assert '&quot;' not in err and '&' not in err.replace('&&', ''), \
        f'HTML entities not decoded:\n{err}'
    assert em.records(ZONE) == sakura_emulator.initial_records()


@with_emulator_log
def test_sk_zone_not_in_account(tb):
    """DNS finds example.test but the account has no such zone (only the
    decoy myexample.test matches partially): exit 6, the zone is named."""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    conf = sk_config(tb, em, sk_key(em))
    em.drop_zone(ZONE)
    rc, _, err, _ = _set(conf, '_acme-challenge.nozone.example.test', acme_value())
    note(f'exit {rc}: {last_line(err)} [{summary(em.requests, _ids(em))}]')
    assert rc == 6, f'expected exit 6, got {rc}: {err[-500:]}'
    assert re.search(r'(?<![a-z])example\.test', err), f'stderr does not name the zone:\n{err}'
    assert not em.puts()
    assert em.records(DECOY) == sakura_emulator.initial_records()


@with_emulator_log
def test_sk_transient_errors_then_success(tb):
    """503 once on the zone lookup, 423 once, an injected 409 on the first
    PUT (read again, write again), a connection reset, a PUT whose answer
    was lost, a slow answer: each ends in exit 0 with the value in the set
    exactly once. (503 on the PUT: test_contract's retry_5xx.)"""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    conf = sk_config(tb, em, sk_key(em))
    cases = [('503 once on the zone lookup', dict(kind='503', method='GET',
                                                  path='commonserviceitem')),
             ('423 once on the PUT', dict(kind='423', method='PUT')),
             ('423 once on the item read', dict(kind='423', method='GET',
                                                path='commonserviceitem/')),
             ('409 on the first PUT', dict(kind='409', method='PUT')),
             ('connection reset on the PUT', dict(kind='reset', method='PUT')),
             ('PUT carried out, answer lost', dict(kind='lost', method='PUT')),
             ('slow answer (2 s) to the PUT', dict(kind='slow', method='PUT', delay=2))]
    for i, (what, f) in enumerate(cases):
        rel = f'_acme-challenge.transient{i}'
        name, v = f'{rel}.{ZONE}', acme_value()
        em.inject(**f)
        mark = len(em.requests)
        rc, _, err, el = _set(conf, name, v)
        reqs = em.requests[mark:]
        note(f'{what}: exit {rc} after {el:.2f}s: {summary(reqs, _ids(em))}')
        assert rc == 0, f'{what}: set exited {rc}: {err[-500:]}'
        assert _txt(em, rel) == [v], f'{what}: {_txt(em, rel)}'
        assert not em.faults, f'{what}: fault not consumed: {em.faults}'
        if f['kind'] == '409':
            st = [(r.method, r.status) for r in reqs if r.route.startswith('/commonserviceitem/')]
            first = st.index(('PUT', 409))
            assert ('GET', 200) in st[first + 1:] and st[first + 1:].index(('GET', 200)) < \
                st[first + 1:].index(('PUT', 200)), f'no re-read after the 409: {st}'
        rc, _, err, _ = _unset(conf, name, v, extra=('--no-wait',))
        assert rc == 0, f'{what}: unset exited {rc}: {err[-500:]}'
    assert em.records(ZONE) == sakura_emulator.initial_records(), em.records(ZONE)


@with_emulator_log
def test_sk_provider_error_is_exit_4(tb):
    """Every PUT gets HTTP 500 (error_msg with &quot;): exit 4 after a
    bounded number of attempts, the message decoded. (A 200 with cut-off
    JSON: test_contract's malformed.)"""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    conf = sk_config(tb, em, sk_key(em))
    em.inject('500', count=1000, method='PUT')
    rc, _, err, el = _set(conf, '_acme-challenge.down.example.test', acme_value())
    note(f'500 on every PUT: exit {rc} after {el:.2f}s and {em.puts()} PUTs: {last_line(err)}')
    assert rc == 4, f'expected exit 4, got {rc}: {err[-500:]}'
    assert 1 <= em.puts() <= 5, summary(em.requests, _ids(em))
    assert '"serial"' in err and '&quot;' not in err, \
        f'the API error_msg is missing or not decoded:\n{err}'


def _concurrency(tb, em, conf, optimistic, n=20, lag=0.5, check=True,
                 which=('names', 'same')):
    """n concurrent `dns01 set` at n names, then n at one name (`which`
    rounds), then the unsets of each round (n at once); every value must
    land (in the set and on ns1 + ns2), nothing else may change, and the
    unsets must restore the set exactly. Returns a dict (timings, PUT
    counts, flags landed / survived / exact, problems); with check=True
    raises AssertionError naming every problem (measure_sakuracloud.py uses
    check=False)."""
    if under_valgrind() and n > 4:
        n = 4        # under valgrind (make memcheck) 20 processes take minutes on few CPUs
        note(f'under valgrind: {n} processes per round instead of 20')
    em.optimistic = optimistic
    pre, other = _preexisting(tb, em)
    h0 = em.settings_hash(ZONE)
    tb.set_lag(lag)
    res = {'optimistic': optimistic, 'landed': True, 'survived': True, 'exact': True,
           'exits_ok': True, 'problems': []}

    def problem(flag, msg):
        res[flag] = False
        res['problems'].append(msg)

    def key(r):
        return (r['Name'], r['Type'], r['RData'])
    rounds = [r for r in (
        ('names', [(f'_acme-challenge.c{i:02d}.{ZONE}', acme_value()) for i in range(n)]),
        ('same', [(f'_acme-challenge.conc.{ZONE}', acme_value()) for i in range(n)]))
        if r[0] in which]
    for k, (what, pairs) in enumerate(rounds):
        mark = len(em.requests)
        t0 = time.monotonic()
        results = run_parallel([['-c', conf, '--timeout', '60', 'set', nm, v]
                                for nm, v in pairs])
        res[f'set_{what}_s'] = time.monotonic() - t0
        res[f'set_{what}_max_s'] = max(r[3] for r in results)
        res[f'set_{what}_puts'] = em.puts(since=mark)
        res[f'set_{what}_409'] = len([r for r in em.calls('PUT', since=mark) if r.status == 409])
        bad = [(pairs[i][0], rc, last_line(err)) for i, (rc, _, err, _) in enumerate(results)
               if rc != 0]
        if bad:
            problem('exits_ok', f'set {what}: {len(bad)} of {n} exited non-zero: {bad[:3]}')
        recs = em.records(ZONE)
        have = [key(r) for r in recs]
        missing = [(nm, v) for nm, v in pairs if (sk_rel(nm), 'TXT', v) not in have]
        if missing:
            problem('landed', f'set {what}: {len(missing)} of {n} values missing from the '
                              f'set: {missing[:3]}')
        lost = [r for r in pre if r not in recs]
        if lost:
            problem('survived', f'set {what}: pre-existing records lost: {lost}')
        extra = len(recs) - len(pre) - n * (k + 1)
        if extra > 0:
            problem('exact', f'set {what}: {extra} extra records')
        for server in (NS1, NS2):
            for nm in sorted({nm for nm, _ in pairs}):
                want = {v for m, v in pairs if m == nm}
                rcode, aa, vals = dig_txt(server, nm)
                if not want <= set(vals):
                    problem('landed', f'set {what}: {server} {nm}: {rcode}, '
                                      f'{len(want - set(vals))} value(s) missing')
            rcode, aa, vals = dig_txt(server, f'_acme-challenge.{ZONE}')
            if other not in vals:
                problem('survived', f'set {what}: {server} lost the pre-existing TXT')
    for what, pairs in rounds:
        mark = len(em.requests)
        t0 = time.monotonic()
        results = run_parallel([['-c', conf, '--timeout', '60', 'unset', nm, v]
                                for nm, v in pairs])
        res[f'unset_{what}_s'] = time.monotonic() - t0
        res[f'unset_{what}_puts'] = em.puts(since=mark)
        bad = [(pairs[i][0], rc, last_line(err)) for i, (rc, _, err, _) in enumerate(results)
               if rc != 0]
        if bad:
            problem('exits_ok', f'unset {what}: {len(bad)} of {n} exited non-zero: {bad[:3]}')
        for nm in sorted({nm for nm, _ in pairs}):
            vals = dig_txt(NS1, nm)[2]
            if set(vals) & {v for _, v in pairs}:
                problem('exact', f'unset {what}: ns1 {nm} still serves '
                                 f'{len(set(vals) & {v for _, v in pairs})} value(s)')
    after = em.records(ZONE)
    if [r for r in pre if r not in after]:
        problem('survived', f'after the unsets, pre-existing records lost: '
                            f'{[r for r in pre if r not in after]}')
    if after != pre or em.settings_hash(ZONE) != h0:
        problem('exact', f'after the unsets the set is not the original:\n  expected {pre}'
                         f'\n  got      {after}')
    tb.set_lag(0)
    tb.sync()
    if other not in dig_txt(NS2, f'_acme-challenge.{ZONE}')[2]:
        problem('survived', 'ns2 lost the pre-existing TXT')
    if check and res['problems']:
        raise AssertionError(f'{len(res["problems"])} problem(s): '
                             + '\n'.join(res['problems']))
    return res


def _concurrency_note(res):
    return f'optimistic={res["optimistic"]}: ' + '; '.join(
        f'{what}: set {res[f"set_{what}_s"]:.1f}s ({res[f"set_{what}_puts"]} PUTs, '
        f'{res[f"set_{what}_409"]} x 409), unset {res[f"unset_{what}_s"]:.1f}s '
        f'({res[f"unset_{what}_puts"]} PUTs)' for what in ('names', 'same')
        if f'set_{what}_s' in res)


@with_emulator_log
def test_sk_concurrent_processes(tb):
    """20 `dns01 set` at once at 20 names, then 20 at one name, then 20 +
    20 unsets, with an optimistic server (one that refuses a stale hash):
    all values land (set and BIND), every other record survives, the unsets
    restore the set exactly, hash included. (The server that ignores the
    hash, the emulator's default: test_contract's concurrent_writers.)"""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    conf = sk_config(tb, em, sk_key(em))
    note(_concurrency_note(_concurrency(tb, em, conf, optimistic=True)))


@with_emulator_log
def test_sk_concurrent_processes_server_ignores_hash(tb):
    """The 20 names at once with a server that ignores the hash (the
    emulator's default, as the real one very likely does): dns01's own
    per-zone lock (and its verification) must prevent lost updates, and the
    unsets restore the set exactly. (20 at one name with such a server:
    test_contract's concurrent_writers.)"""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    conf = sk_config(tb, em, sk_key(em))
    note(_concurrency_note(_concurrency(tb, em, conf, optimistic=False, which=('names',))))


@with_emulator_log
def test_sk_two_hosts(tb):
    """Two "hosts" (two state_dirs, so dns01's lock does not serialise them),
    5 processes each at once (2 under valgrind), a server that refuses a
    stale hash (optimistic, on purpose: the real one very likely does not,
    and then only best effort is left, see test_sk_erased_after_wait): the
    409s make them read again, and every value lands."""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    em.optimistic = True
    key = sk_key(em)
    confs = [sk_config(tb, em, key, main={'state_dir': str(tb.tmp / f'state-host{h}')})
             for h in (1, 2)]
    pairs = [(f'_acme-challenge.h{i:02d}.{ZONE}', acme_value())
             for i in range(4 if under_valgrind() else 10)]
    results = run_parallel([['-c', confs[i % 2], '--timeout', '60', 'set', nm, v]
                            for i, (nm, v) in enumerate(pairs)])
    puts = em.calls('PUT')
    note(f'{len(puts)} PUTs ({len([p for p in puts if p.status == 409])} x 409) for '
         f'{len(pairs)} values; exits {[r[0] for r in results]}')
    bad = [(pairs[i][0], rc, last_line(err)) for i, (rc, _, err, _) in enumerate(results)
           if rc != 0]
    assert not bad, f'{len(bad)} failed: {bad[:5]}'
    for nm, v in pairs:
        assert _txt(em, sk_rel(nm)) == [v], f'{nm}: {_txt(em, sk_rel(nm))}'
    results = run_parallel([['-c', confs[i % 2], '--no-wait', 'unset', nm, v]
                            for i, (nm, v) in enumerate(pairs)])
    assert all(r[0] == 0 for r in results), [(r[0], last_line(r[2])) for r in results]
    assert em.records(ZONE) == sakura_emulator.initial_records(), em.records(ZONE)


@with_emulator_log
def test_sk_lost_update_detected(tb):
    """Another client without a lock overwrites dns01's PUT with a stale set
    right after it (the server ignores hashes): dns01's verification read
    sees its record missing and writes again; the other client's record
    stays."""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    conf = sk_config(tb, em, sk_key(em))
    em.optimistic = False
    em.inject('lost_update')
    name, v = '_acme-challenge.lost.example.test', acme_value()
    rc, _, err, el = _set(conf, name, v)
    note(f'exit {rc} after {el:.2f}s: {summary(em.requests, _ids(em))}; '
         f'{em.foreign_writes}')
    assert rc == 0, f'set exited {rc}: {err[-500:]}'
    assert em.foreign_writes, 'the fault never fired'
    assert _txt(em, '_acme-challenge.lost') == [v], em.records(ZONE)
    assert len(_txt(em, '_foreign')) == 1, 'the other writer\'s record went'
    assert em.puts() == 2, f'expected a second PUT: {summary(em.requests, _ids(em))}'
    for server in (NS1, NS2):
        expect_txt(server, name, [v], 'when set returned: ')


def _routes(em, since):
    """(method, status) of the requests for zone items since index since."""
    return [(r.method, r.status) for r in em.requests[since:]
            if r.route.startswith('/commonserviceitem/')]


@with_emulator_log
def test_sk_erased_after_wait(tb):
    """The server ignores hashes (its default), and a writer elsewhere writes
    back the set it read before dns01's PUT: after dns01's check read, once
    its wait is over (lost_update_late). dns01's confirmation read finds its
    value gone, writes it again and waits again; the other writer's record
    stays. Order: read, PUT, check read, [wait], read (gone), PUT, check
    read, [wait], read (there)."""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    conf = sk_config(tb, em, sk_key(em))
    em.inject('lost_update_late')
    name, v = f'_acme-challenge.erased.{ZONE}', acme_value()
    mark = len(em.requests)
    rc, _, err, el = _set(conf, name, v)
    note(f'exit {rc} after {el:.2f}s: {summary(em.requests[mark:], _ids(em))}; '
         f'{em.foreign_writes}')
    assert rc == 0, f'set exited {rc}: {err[-800:]}'
    assert em.foreign_writes, 'the fault never fired'
    assert _routes(em, mark) == [('GET', 200), ('PUT', 200), ('GET', 200), ('GET', 200),
                                 ('PUT', 200), ('GET', 200), ('GET', 200)], \
        summary(em.requests[mark:], _ids(em))
    assert re.search(r'1 value\(s\) dns01 wrote are gone after the wait', err), err[-800:]
    assert 'waiting again for the 1 value(s) written back' in err, err[-800:]
    assert _txt(em, '_acme-challenge.erased') == [v], em.records(ZONE)
    assert len(_txt(em, '_foreign')) == 1, 'the other writer\'s record went'
    expect_txt(NS1, name, [v], 'when set returned: ')
    # ns2 may have answered from the version before the erasure, which held the value
    expect_txt_soon(NS2, name, [v], 'after set: ')


@with_emulator_log
def test_sk_settings_sent_back_as_read(tb):
    """The PUT sends Settings back as read, changing only ResourceRecordSets:
    MonitoringSuiteLog stays on (the emulator switches it off when a PUT
    leaves it out, as the real server may), and a record stored without TTL
    goes back without one."""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    key = sk_key(em)
    conf = sk_config(tb, em, key)
    others = [{'Name': 'www', 'Type': 'A', 'RData': '192.0.2.10'},
              {'Name': '@', 'Type': 'MX', 'RData': f'10 mail.{ZONE}.', 'TTL': 300}]
    em.set_records(ZONE, others)
    em.set_monitoring(ZONE, True)
    name, v = f'_acme-challenge.settings.{ZONE}', acme_value()
    for what, run in (('set', _set), ('unset', _unset)):
        mark = len(em.requests)
        rc, _, err, _ = run(conf, name, v)
        assert rc == 0, f'{what} exited {rc}: {err[-500:]}'
        puts = em.calls('PUT', since=mark)
        assert len(puts) == 1, summary(em.requests[mark:], _ids(em))
        settings = puts[0].body['CommonServiceItem']['Settings']
        assert list(settings) == ['DNS'] and \
            settings['DNS']['MonitoringSuiteLog'] == {'Enabled': 'True'}, settings
        assert settings['DNS']['ResourceRecordSets'][:2] == others, settings
        assert em.monitoring(ZONE) is True, f'{what} switched MonitoringSuiteLog off'
    assert em.records(ZONE) == others, em.records(ZONE)
    # what dns01 avoids: a PUT without it switches it off
    api = Api(em, key)
    st, _, _ = api.put(em.zone_id(ZONE), others)
    assert st == 200 and em.monitoring(ZONE) is False


@with_emulator_log
def test_sk_endpoints(tb):
    """is1c is a production endpoint like is1a (DNS is global). tk1v is the
    Sandbox, a data set of its own: dns01 uses it when api_url names it,
    warns at each run that records written there do not reach public DNS,
    finds none of the production zones there, and writes only to a zone
    made in the Sandbox."""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    key = sk_key(em)
    name, v = f'_acme-challenge.zones.{ZONE}', acme_value()
    conf = sk_config(tb, em, key, api_url=em.api_url.replace('/is1a/', '/is1c/'))
    mark = len(em.requests)
    rc, _, err, _ = _set(conf, name, v)
    assert rc == 0, f'set at is1c exited {rc}: {err[-500:]}'
    assert all('/cloud/zone/is1c/' in r.path for r in em.requests[mark:]), \
        [r.path for r in em.requests[mark:]]
    assert _txt(em, '_acme-challenge.zones') == [v] and 'Sandbox' not in err
    rc, _, err, _ = _unset(conf, name, v, extra=('--no-wait',))
    assert rc == 0, f'unset at is1c exited {rc}: {err[-500:]}'
    conf = sk_config(tb, em, key, api_url=em.sandbox_url)
    warning = re.compile(r"api_url is Sakura Cloud's Sandbox \(tk1v\).*do not reach public DNS")
    rc, _, err, _ = _set(conf, name, v)
    note(f'tk1v without a Sandbox zone: exit {rc}: {last_line(err)}')
    assert rc == 6 and warning.search(err), f'exit {rc}: {err[-800:]}'
    em.add_zone(ZONE, sandbox=True)
    rc, _, err, _ = _set(conf, name, v, extra=('--no-wait',))
    assert rc == 0 and warning.search(err), f'exit {rc}: {err[-800:]}'
    assert [r['RData'] for r in em.records(ZONE, sandbox=True)] == [v]
    assert em.records(ZONE) == []
    assert em.wait_published() and dig_txt(NS1, name)[2] == [], 'a Sandbox record reached DNS'


@with_emulator_log
def test_sk_busy_within_timeout(tb):
    """A zone locked (423) for 5 attempts, more than the default HTTP policy
    makes (HTTP_MAX_ATTEMPTS): dns01 keeps trying as Sakura's own client does
    (up to 11 attempts) and succeeds within --timeout (the emulator sends
    Retry-After: 1 to keep the test short; without it the pauses are 1, 2,
    4, 8, 16 s; the timeout leaves room for valgrind, the test takes about
    5 s). A 409 still_creating twice on the PUT: read again after a growing
    random pause each time, then written."""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    conf = sk_config(tb, em, sk_key(em))
    name, v = f'_acme-challenge.locked.{ZONE}', acme_value()
    em.inject('423', count=5, method='PUT', retry_after=1)
    rc, _, err, el = _set(conf, name, v, extra=('--timeout', '20'))
    note(f'423 x 5: exit {rc} after {el:.2f}s')
    assert rc == 0, f'set exited {rc}: {err[-800:]}'
    assert [r.status for r in em.calls('PUT')] == [423] * 5 + [200], em.log_text()
    assert 'attempt 6 of 11' in err, err[-800:]
    name, v = f'_acme-challenge.creating.{ZONE}', acme_value()
    em.inject('409', count=2, method='PUT', code='still_creating')
    mark = len(em.requests)
    rc, _, err, el = _set(conf, name, v, extra=('--timeout', '20'))
    note(f'409 still_creating x 2: exit {rc} after {el:.2f}s')
    assert rc == 0, f'set exited {rc}: {err[-800:]}'
    assert _routes(em, mark) == [('GET', 200), ('PUT', 409), ('GET', 200), ('PUT', 409),
                                 ('GET', 200), ('PUT', 200), ('GET', 200), ('GET', 200)], \
        summary(em.requests[mark:], _ids(em))
    for k in (2, 3):
        assert re.search(rf'busy \(HTTP 409 still_creating: .*\); reading it again in '
                         rf'[0-9.]+ s \(round {k} of 10\)', err), err[-800:]
    assert _txt(em, '_acme-challenge.creating') == [v]


@with_emulator_log
def test_sk_busy_beyond_timeout(tb):
    """A 423 and a 409 that last beyond --timeout 5: exit 4 as soon as the
    next pause would end after the timeout, saying so; nothing written.
    (The pauses from 1 s and from 0.5-1 s fit 3 and at most 4 PUTs into 5 s;
    fewer under valgrind.)"""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    conf = sk_config(tb, em, sk_key(em))
    for kind, most in (('423', 3), ('409', 4)):
        em.clear_faults()
        em.inject(kind, count=1000, method='PUT')
        mark = len(em.requests)
        rc, _, err, el = _set(conf, f'_acme-challenge.busy{kind}.{ZONE}', acme_value(),
                              extra=('--timeout', '5'))
        puts = em.calls('PUT', since=mark)
        note(f'{kind} on every PUT: exit {rc} after {el:.2f}s and {len(puts)} PUTs: '
             f'{last_line(err)}')
        assert rc == 4, f'{kind}: exit {rc}: {err[-800:]}'
        assert 1 <= len(puts) <= most and {r.status for r in puts} == {int(kind)}, \
            summary(em.requests[mark:], _ids(em))
        assert re.search(r'the next would start after the timeout \(5 s\)', last_line(err)), \
            err[-800:]
        assert f'HTTP {kind}' in last_line(err), err[-800:]
    em.clear_faults()
    assert em.records(ZONE) == []


@with_emulator_log
def test_sk_empty_zone(tb):
    """A zone without records whose ResourceRecordSets the API shows as null,
    leaves out, or gives as []: set and unset work, and every PUT sends a
    list, [] when the last record goes, never null."""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    conf = sk_config(tb, em, sk_key(em))
    for i, form in enumerate(sakura_emulator.EMPTY_FORMS):
        em.empty_records = form
        # a name of its own each time: a set right after an unset at the same
        # name would wait for resolver caches (the cache ledger)
        name, v = f'_acme-challenge.empty{i}.{ZONE}', acme_value()
        mark = len(em.requests)
        rc, _, err, _ = _set(conf, name, v, extra=('--no-wait',))
        assert rc == 0, f'{form}: set exited {rc}: {err[-500:]}'
        rc, _, err, _ = _unset(conf, name, v, extra=('--no-wait',))
        assert rc == 0, f'{form}: unset exited {rc}: {err[-500:]}'
        sent = [r.body['CommonServiceItem']['Settings']['DNS']['ResourceRecordSets']
                for r in em.calls('PUT', since=mark)]
        assert sent == [[_txt_rec(f'_acme-challenge.empty{i}', v, 10)], []], (form, sent)
    assert em.records(ZONE) == []


@with_emulator_log
def test_sk_long_record_name(tb):
    """A record Name (relative to the zone) of 63 characters is written; one
    of 64 is refused before anything is sent to the API, exit 4, saying why
    (Sakura's own CLI takes 1..63 characters; the server is believed to
    refuse more)."""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    conf = sk_config(tb, em, sk_key(em))
    rel = '_acme-challenge.' + 'x' * 47
    rc, _, err, _ = _set(conf, f'{rel}.{ZONE}', acme_value(), extra=('--no-wait',))
    assert len(rel) == 63 and rc == 0, f'63 characters: exit {rc}: {err[-500:]}'
    rel = '_acme-challenge.' + 'y' * 48
    mark = len(em.requests)
    rc, _, err, _ = _set(conf, f'{rel}.{ZONE}', acme_value())
    note(f'64 characters: exit {rc}: {last_line(err)}')
    assert rc == 4, f'64 characters: exit {rc}: {err[-500:]}'
    assert em.requests[mark:] == [], summary(em.requests[mark:], _ids(em))
    assert f'"{rel}", 64 characters' in err and 'at most 63' in err \
        and 'nothing was sent' in err, err[-500:]


@with_emulator_log
def test_sk_credentials_file(tb):
    """`credentials =` a certbot ini (dns_sakuracloud_api_token,
    dns_sakuracloud_api_secret) works; readable by others it is refused."""
    need_provider('sakuracloud')
    em = sk_emulator_reset(tb)
    token, secret = sk_key(em)
    ini = _write_private(tb.tmp / 'sakuracloud.ini',
                         f'dns_sakuracloud_api_token = {token}\n'
                         f'dns_sakuracloud_api_secret = {secret}\n')
    conf = sk_config(tb, em, credentials=ini)
    name, v = '_acme-challenge.ini.example.test', acme_value()
    rc, _, err, _ = _set(conf, name, v)
    assert rc == 0, f'set with a credentials file exited {rc}: {err[-500:]}'
    rc, _, err, _ = _unset(conf, name, v)
    assert rc == 0, f'unset exited {rc}: {err[-500:]}'
    assert {r.auth for r in em.requests} == {'key1'}, {r.auth for r in em.requests}
    os.chmod(ini, 0o644)
    rc, _, err, _ = _set(conf, name, v)
    assert rc == 3 and 'chmod 600' in err, f'a 0644 credentials file: exit {rc}:\n{err}'
