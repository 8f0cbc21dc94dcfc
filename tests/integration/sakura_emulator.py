"""A Sakura Cloud API 1.1 emulator (the DNS appliance, "common service
item") for the dns01 integration tests.

Python 3 standard library only, on emulator_base.py (certificates, the
TLS server, BIND publishing, faults, the request log): it serves HTTPS on
127.0.0.1 (an ephemeral port) from a thread of the test process, with a
certificate signed by a CA of its own made with the openssl CLI, and it
publishes the TXT records of its zones into the real BIND primary (ns1) by
TSIG-signed UPDATE, so a client's propagation wait meets real DNS.  This
module is the API only.

    em = SakuraEmulator(workdir, publisher=BindPublisher(tb))
    em.start()
    em.api_url       https://127.0.0.1:PORT/cloud/zone/is1a/api/cloud/1.1
    em.sandbox_url   the same at tk1v (the Sandbox: a data set of its own)
    em.ca_file       PEM of the CA that signed the server certificate
    em.add_key(token, secret, can_modify=True)
    em.inject('409', count=1, method='PUT', code='still_creating')
    em.publish_delay = 0           # default PUBLISH_DELAY (30 s), as slow as the real one
    em.optimistic = True           # refuse a stale settings hash (409); default: ignore it
    em.empty_records = '[]'        # an empty zone's ResourceRecordSets: 'null' (default),
                                   # '[]' or 'missing'
    em.set_monitoring(zone, True)  # Settings.DNS.MonitoringSuiteLog.Enabled
    em.requests      [Request(method, path, query, auth, time), ...]  (no secrets)
    em.records('example.test'), em.settings_hash('example.test'), em.puts()
    em.reset()

What it follows, and where that is known from (the sources are listed in
/work/shared/reference/api-fidelity.md §2 and provider-apis.md §2; what
no source settles is marked "guess"):
- HTTP Basic auth, user = access token, password = access token secret;
  anything else is HTTP 401 with the error envelope
  {"is_fatal":true,"serial":"<hex>","status":"401 Unauthorized",
   "error_code":"unauthorized","error_msg":"..."} (dnscontrol api.go,
  iaas-api-go error.go APIErrorResponse);
- a zone is a common service item with the shape of the 2018 recordings
  (dns-lexicon cassettes: ID as a numeric string, Name, Description,
  Settings.DNS.ResourceRecordSets [{Name, Type, RData, TTL}], SettingsHash,
  Status {Zone, NS}, ServiceClass "cloud/dns", Availability, CreatedAt,
  ModifiedAt, Provider {ID 2000002, Class "dns", Name "gslb4.sakura.ne.jp",
  ServiceClass "cloud/dns"}, Icon, Tags); record Names are relative, the
  apex is "@";
- the apex NS records are NOT in ResourceRecordSets, only in Status.NS
  (dnscontrol providers/sakuracloud/records.go builds them from Status.NS;
  the lexicon cassettes' record sets hold none), so a new zone has no
  records at all;
- an empty zone's ResourceRecordSets: never observed (api-fidelity.md
  §2.11); iaas-api-go naked/dns.go turns a nil list into [] before it
  sends, and reads whatever comes.  Guess: null by default, so clients meet
  the case that breaks a naive one; '[]' and 'missing' can be chosen;
- Settings.DNS.MonitoringSuiteLog {"Enabled": "True"|"False"} (iaas-api-go
  naked/dns.go and naked/monitoring_suite.go, types.StringFlag, added in
  Nov 2025).  Guess: a PUT whose Settings.DNS leaves it out switches it off
  (the server replaces Settings.DNS whole), so a client that drops it is
  seen to;
- GET /commonserviceitem?<url-encoded JSON> (the query string is the JSON,
  no "key="; "+" is not a space: iaas-api-go search/filter.go): Filter
  values that are strings match partially (words separated by spaces are
  ANDed), arrays match exactly (elements ORed; search/equal_expression.go);
  paging by From/Count; the answer is
  {"From","Count","Total","CommonServiceItems","is_ok"}; no match is HTTP
  200 with an empty list (lexicon cassette); the relaxed {From: N, Count: M}
  form (unquoted keys, as dnscontrol sends it) is accepted too;
- GET /commonserviceitem/{id} -> {"CommonServiceItem":{...},"is_ok":true};
- PUT /commonserviceitem/{id} replaces the whole record set and answers
  200 with the full item, a new SettingsHash, "Success":true,"is_ok":true
  (lexicon cassette); the hash read before may come as top-level
  OriginalSettingsHash (saklient) or as CommonServiceItem.SettingsHash
  (iaas-api-go naked/dns.go DNSSettingsUpdate).  The real server very
  likely ignores both on a CommonServiceItem (sacloud/usacloud #641, lego
  PR #850: api-fidelity.md §2.6), and so does the emulator by default;
  with optimistic = True a stale hash is refused with HTTP 409 "conflict",
  for tests of that path;
- HTTP 409 is Sakura's general "not in the current state of the resource"
  (error_code "conflict", or a sub-code such as "still_creating":
  iaas-api-go error.go IsStillCreatingError); inject('409', code=...);
- SettingsHash is the MD5 (hex) of a canonical serialisation of the record
  list, so it is a pure function of the set: removing a record that was just
  added brings the earlier hash back (lexicon cassettes, a0b34110...);
- TTL 10..3600000 (Sakura's own CLI: sacloud/usacloud v0 define/dns.go,
  validateIntRange(10, 3600000)); a record may have no TTL (dnscontrol
  convert.go reads TTL 0/absent as 3600 and leaves 3600 out when it
  writes): one sent without is kept without and served with 3600;
- record Names of 1..63 characters (usacloud v0 define/dns.go,
  validateStrLen(1, 63); a client-side check of the vendor: that the
  server refuses longer ones is a guess);
- TXT RData is stored verbatim (dnscontrol convert.go); types are
  A AAAA ALIAS CNAME NS MX TXT SRV CAA HTTPS SVCB PTR (iaas-api-go
  types/dns_record_type.go); targets of NS/CNAME/MX/ALIAS/PTR must end
  with a dot (customize_dns_record.go);
- JSON is sent as PHP's json_encode does: "/" as "\\/", non-ASCII as
  \\uXXXX (the recordings);
- endpoints: is1a, is1b, is1c, tk1a, tk1b are production, and DNS is a
  global resource there, so they are one data set (iaas-api-go
  internal/define/dns.go IsGlobal, types/zone.go; is1c added 2025-08).
  tk1v is the Sandbox, "independent of the service zones", whose resources
  "do not work as real ones" (manual.sakura.ad.jp/cloud/server/sandbox.html),
  and yet iaas-api-go's acceptance tests create and delete DNS zones there
  (testutil/util.go): so tk1v answers from a data set of its own, empty
  until a test adds a zone with sandbox=True, and nothing there is
  published to DNS;
- publication: Sakura publishes no delay; certbot-dns-sakuracloud waits
  90 s by default, lego 60 s, the PHP ACME tool 60 s.  Guess: PUBLISH_DELAY
  (30 s) by default; tests set publish_delay to 0 (or a few seconds) when
  they mean to.

Not verified against the live API (guesses, documented here): the
error_code and error_msg of 403 (forbidden), 404 (not_found), 405, 423
(locked), 429, 500 and 503, and of record validation (400 bad_request); some of
these messages carry HTML entities (&quot;) on purpose, because the real
error_msg may and clients must decode them. The default Count (20), Count 0
meaning "all", case-insensitive partial matching, the order of list results
(by ID, i.e. creation), the 500-character TXT limit (dnscontrol's
auditor), the contents of _log_url. The live API also rejects owner names
with a label "example"; that is NOT emulated (the test zones are called
example.test).
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import time
import urllib.parse
import uuid

from emulator_base import EmulatorBase, HandlerBase, HTTPError, Request, txt_strings
from emulator_base import SHARED_FAULTS

__all__ = ['SakuraEmulator', 'new_token', 'new_secret', 'settings_hash',
           'API_PREFIX', 'NAME_SERVERS']

API_PREFIX = '/cloud/zone/is1a/api/cloud/1.1'
SANDBOX_PREFIX = '/cloud/zone/tk1v/api/cloud/1.1'
# Production zones (one data set: DNS is global) and the Sandbox (its own).
_PREFIX_RE = re.compile(r'^/cloud/zone/(is1a|is1b|is1c|tk1a|tk1b|tk1v)/api/cloud/1\.1(?=/|$)')
SANDBOX_ZONE = 'tk1v'
NAME_SERVERS = ['ns1.gslb4.sakura.ne.jp', 'ns2.gslb4.sakura.ne.jp']
PROVIDER = {'ID': 2000002, 'Class': 'dns', 'Name': 'gslb4.sakura.ne.jp',
            'ServiceClass': 'cloud/dns'}
# In ID order, which is the default order of list answers: the decoy
# myexample.test (a partial match of "example.test") comes first.
DEFAULT_ZONES = ('myexample.test', 'example.test', 'acme.test')
RECORD_TYPES = ('A', 'AAAA', 'ALIAS', 'CNAME', 'NS', 'MX', 'TXT', 'SRV', 'CAA', 'HTTPS',
                'SVCB', 'PTR')
TARGET_TYPES = ('NS', 'CNAME', 'MX', 'ALIAS', 'PTR')
DEFAULT_TTL = 3600              # a record without TTL is served with this
TTL_MIN, TTL_MAX = 10, 3600000  # usacloud v0 validateIntRange(10, 3600000)
NAME_MAX = 63                   # usacloud v0 validateStrLen(1, 63)
DEFAULT_COUNT = 20
TXT_MAX = 500
PUBLISH_DELAY = 30.0            # guess; see the module docstring
EMPTY_FORMS = ('null', '[]', 'missing')
JST = datetime.timezone(datetime.timedelta(hours=9))

STATUS_TEXT = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
               405: 'Method Not Allowed', 409: 'Conflict', 423: 'Locked',
               429: 'Too Many Requests', 500: 'Internal Server Error',
               503: 'Service Unavailable'}
ERROR_CODE = {400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found',
              405: 'method_not_allowed', 409: 'conflict', 423: 'locked',
              429: 'too_many_requests', 500: 'internal_server_error',
              503: 'service_unavailable'}
MSG_BAD_REQUEST = ('不適切な要求です。パラメーターの指定誤り、入力規則違反です。'
                   '入力内容をご確認ください。')
ERROR_MSG = {
    400: MSG_BAD_REQUEST,
    401: '認証に失敗しました。',
    403: ('要求された操作は許可されていません。このAPIキーのアクセスレベルでは'
          '&quot;設定変更&quot;はできません。'),
    404: '対象が見つかりません。対象は利用できない状態か、不正なパラメータが指定されています。',
    405: '要求されたメソッドは許可されていません。',
    409: '要求された操作を行えません。現在の対象の状態では、この操作を受け付けできません。',
    423: '対象は現在ロックされています。しばらく時間をおいてから再度お試しください。',
    500: ('予期しないエラーが発生しました。&quot;serial&quot;の値を添えて'
          'サポート窓口までお問い合わせください。'),
    # guess: no recording of a 429 from the API (see FAULT_KINDS)
    429: 'リクエストが多すぎます。しばらく時間をおいてから再度お試しください。',
    503: ('サービスが一時的に利用できません。メンテナンス中か混雑しています。'
          'しばらく時間をおいてから再度お試しください。'),
}
# '429': whether the API itself ever answers 429 is not known (no recording;
# Sakura's own client retries 423 and 503 only: sacloud/go-http client.go); a
# proxy in front of it may, and the contract suite's 429 case needs one (guess).
FAULT_KINDS = ('401', '409', '423', '429', '500', '503', 'slow', 'malformed', 'reset', 'lost',
               'lost_update', 'lost_update_late') + SHARED_FAULTS

_LABEL_RE = re.compile(r'^(\*|[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)$')


def new_token():
    """A random access token in Sakura's shape (a UUID)."""
    return str(uuid.uuid4())


def new_secret():
    """A random access token secret (base64-looking, as in certbot's example)."""
    return base64.b64encode(os.urandom(36)).decode()


def _now_iso():
    return datetime.datetime.now(JST).strftime('%Y-%m-%dT%H:%M:%S+09:00')


def _serial():
    return secrets.token_hex(16)


def _record(name, rtype, rdata, ttl=DEFAULT_TTL):
    """A record as the API holds it; ttl None: one without TTL."""
    rec = {'Name': name, 'Type': rtype, 'RData': rdata}
    if ttl is not None:
        rec['TTL'] = ttl
    return rec


def settings_hash(records):
    """MD5 hex of the canonical form of a record list (a pure function of it)."""
    canon = [[r['Name'], r['Type'], r['RData'], r.get('TTL')] for r in records]
    return hashlib.md5(json.dumps(canon, ensure_ascii=False, separators=(',', ':'))
                       .encode()).hexdigest()


def initial_records():
    """What a new zone holds: nothing (the apex NS records are only in
    Status.NS: dnscontrol providers/sakuracloud/records.go)."""
    return []


def dumps(doc):
    """JSON as the API sends it (PHP json_encode: \\/ and \\uXXXX)."""
    return json.dumps(doc, ensure_ascii=True, separators=(',', ':')).replace('/', '\\/') \
        .encode()


def parse_query(raw):
    """The JSON object in a query string (url-encoded, '+' is not a space);
    the relaxed form with unquoted keys is accepted too. Raises ValueError."""
    text = urllib.parse.unquote(raw, errors='strict')
    if not text.strip():
        return {}
    try:
        doc = json.loads(text)
    except ValueError:
        relaxed = re.sub(r'([{,]\s*)([A-Za-z_][A-Za-z0-9_.]*)\s*:', r'\1"\2":', text)
        doc = json.loads(relaxed)
    if not isinstance(doc, dict):
        raise ValueError('not a JSON object')
    return doc


def absolute(name, zone):
    return zone if name == '@' else f'{name}.{zone}'.lower()


class APIError(HTTPError):
    """An error of the API: its envelope from the status (ERROR_MSG) and a
    detail added to error_msg."""

    def __init__(self, status, detail=None, headers=None):
        super().__init__(status, None, headers)
        self.detail = detail

    def envelope(self):
        msg = ERROR_MSG[self.status]
        if self.detail:
            msg += f' ({self.detail})'
        return error_envelope(self.status, msg)


def error_envelope(status, msg=None, code=None):
    """code: an error_code other than the status's own (a 409's sub-code
    such as still_creating: iaas-api-go error.go)."""
    return {'is_fatal': True, 'serial': _serial(), 'status': f'{status} {STATUS_TEXT[status]}',
            'error_code': code or ERROR_CODE[status], 'error_msg': msg or ERROR_MSG[status]}


class _Key:
    def __init__(self, token, secret, can_modify, label):
        self.token, self.secret, self.can_modify, self.label = token, secret, can_modify, label


class SakuraEmulator(EmulatorBase):
    API_PREFIX = API_PREFIX
    TITLE = 'Sakura Cloud emulator'
    FAULT_KINDS = FAULT_KINDS

    def __init__(self, workdir, publisher=None, ca=None, san='DNS:localhost,IP:127.0.0.1',
                 zones=DEFAULT_ZONES, name='sakura'):
        """workdir: where the certificates live. publisher: callable(zone,
        ops) that applies TXT changes to DNS (emulator_base.BindPublisher, which
        serves only the zones BIND has), or None. ca: (ca.pem, ca.key) to
        sign with; default a new CA of its own."""
        super().__init__(workdir, publisher, ca, san, name)
        self._base_zones = tuple(zones)
        base = 112900000000 + random.randrange(10 ** 8) * 1000
        self._zone_ids = {z: str(base + 17 * i) for i, z in enumerate(zones)}  # stable
        self._next_id = base + 17 * len(zones)
        self.zones = {}
        self.reset()

    def reset(self):
        """Between tests: the preloaded zones, empty (TXT records left in DNS
        are removed), no Sandbox zones, no keys, no faults, no request log,
        default settings (publish_delay PUBLISH_DELAY, optimistic False,
        empty_records 'null')."""
        with self.lock:
            old = {z['name']: list(z['records']) for z in self.zones.values()}
            self.zones = {}
            self.sandbox_zones = {}
            for zname in self._base_zones:
                self._add_zone(zname, zone_id=self._zone_ids[zname])
            for zname, recs in old.items():
                self._publish_diff(zname, recs, initial_records(), delay=0)
            self.keys = {}
            self._reset_common()
            self.publish_delay = PUBLISH_DELAY
            self.optimistic = False
            self.empty_records = 'null'
            self.default_count = DEFAULT_COUNT
            self.foreign_writes = []
        self._reset_done()

    # ---- setup for tests ---------------------------------------------------

    @property
    def sandbox_url(self):
        """api_url at tk1v, the Sandbox."""
        return f'https://127.0.0.1:{self.port}{SANDBOX_PREFIX}'

    def add_key(self, token, secret, can_modify=True, label=None):
        """An API key (access token + secret). can_modify=False: the access
        level may read but not change settings (PUT -> 403)."""
        with self.lock:
            label = label or f'key{len(self.keys) + 1}{"" if can_modify else "-ro"}'
            self.keys[token] = _Key(token, secret, can_modify, label)
            return label

    def add_zone(self, name, records=None, description='', sandbox=False):
        """One more zone (in the API only; DNS publishing only for zones the
        publisher serves, never for the Sandbox's). Returns its ID."""
        with self.lock:
            z = self._add_zone(name, description=description, sandbox=sandbox)
            if records is not None:
                self._replace(z, [dict(r) for r in records])
            return z['id']

    def _add_zone(self, name, zone_id=None, description='', sandbox=False):
        now = _now_iso()
        if zone_id is None:
            zone_id = str(self._next_id)
            self._next_id += 17
        z = {'id': zone_id, 'name': name.lower().rstrip('.'), 'description': description,
             'records': initial_records(), 'monitoring': False, 'sandbox': sandbox,
             'late_stale': None, 'tags': [], 'created': now, 'modified': now}
        (self.sandbox_zones if sandbox else self.zones)[zone_id] = z
        return z

    def zone_id(self, name, sandbox=False):
        z = self._zone_by_name(name, sandbox)
        return z['id'] if z else None

    def _zone_by_name(self, name, sandbox=False):
        name = name.lower().rstrip('.')
        for z in (self.sandbox_zones if sandbox else self.zones).values():
            if z['name'] == name:
                return z
        return None

    def records(self, zone, sandbox=False):
        """Copies of the record set of zone (by name), in order."""
        with self.lock:
            z = self._zone_by_name(zone, sandbox)
            return [dict(r) for r in z['records']] if z else []

    def monitoring(self, zone):
        """Whether zone's Settings.DNS.MonitoringSuiteLog is enabled."""
        with self.lock:
            return self._zone_by_name(zone)['monitoring']

    def set_monitoring(self, zone, enabled):
        """Switch zone's MonitoringSuiteLog on or off (as the control panel)."""
        with self.lock:
            self._zone_by_name(zone)['monitoring'] = bool(enabled)

    def settings_hash(self, zone):
        with self.lock:
            z = self._zone_by_name(zone)
            return settings_hash(z['records']) if z else None

    def set_records(self, zone, records):
        """Replace the set directly (not through the API, not logged), as a
        change in the control panel would; TXT changes are published. A
        record without 'TTL' is kept without (served with 3600)."""
        with self.lock:
            z = self._zone_by_name(zone)
            self._replace(z, [_record(r['Name'], r['Type'], r['RData'], r.get('TTL'))
                              for r in records])

    def add_record(self, zone, name, rtype, rdata, ttl=DEFAULT_TTL):
        """Append one record directly (not through the API); ttl None: one
        without TTL."""
        with self.lock:
            z = self._zone_by_name(zone)
            self._replace(z, z['records'] + [_record(name, rtype, rdata, ttl)])

    def inject(self, kind, count=1, method=None, path=None, delay=None, retry_after=None,
               foreign_hash=False, code=None):
        """The next `count` requests whose method is `method` and whose route
        contains `path` (when given) get this fault, one each:
        '401' '409' '423' '429' '500' '503' (the error envelope; Retry-After:
        retry_after when not None), 'slow' (sleep `delay` s, then answer
        normally), 'malformed' (200 with cut-off JSON), 'reset' (connection
        closed without an answer), 'lost' (the request is carried out, then
        the connection is closed without an answer), 'lost_update' (PUT
        only: the PUT is carried out and answered normally, but right after
        it another client that had read the zone before this PUT writes
        back its stale copy plus one TXT record of its own, named
        _foreign: the change of this PUT is lost, as with two writers
        without a lock; with foreign_hash=True that client sends the hash
        it read, so an optimistic server refuses it and it retries on the
        fresh set instead; a PUT that is refused uses the fault up
        without effect); 'lost_update_late' (PUT only: the same, but the
        other client's write lands later, right before the second GET of
        the zone's item after this PUT: after the client's check read, and
        (dns01) after its wait: nothing tells the client, and DNS drops the
        record again before that GET is answered). code: the error_code of
        a '409' (default "conflict"; e.g. "still_creating")."""
        if kind.startswith('lost_update'):
            method = 'PUT'
        self._add_fault(kind, count, path=path, method=method, delay=delay,
                        retry_after=retry_after, foreign_hash=foreign_hash, code=code)

    # ---- introspection -----------------------------------------------------

    def puts(self, since=0, ok=False):
        """How many PUTs arrived since request index `since` (ok=True: only
        those answered 200)."""
        return len([r for r in self.calls('PUT', since=since) if not ok or r.status == 200])

    def _log_sections(self):
        return [('foreign (lost_update) writes', list(self.foreign_writes))]

    # ---- the record set and DNS --------------------------------------------

    def _replace(self, z, new):
        old = z['records']
        z['records'] = new
        z['modified'] = _now_iso()
        if not z['sandbox']:       # Sandbox resources do not work as real ones
            self._publish_diff(z['name'], old, new)

    def _publish_diff(self, zone, old, new, delay=None):
        """Queue the DNS side of changing zone's set from old to new: TXT RRs
        (name, character-strings) that went or came."""
        if not self.publisher or not self.publisher.serves(zone):
            return

        def rrs(recs):
            out = {}
            for r in recs:
                if r['Type'] == 'TXT':
                    out.setdefault((absolute(r['Name'], zone), txt_strings(r['RData'])),
                                   r.get('TTL', DEFAULT_TTL))
            return out
        o, n = rrs(old), rrs(new)
        ops = [('delete', k[0], k[1], o[k]) for k in o if k not in n] + \
              [('add', k[0], k[1], n[k]) for k in n if k not in o]
        if not ops:
            return
        self._queue_publish(zone, ops, delay)

    # ---- request handling ----------------------------------------------------

    def _authenticate(self, headers):
        """-> (key, None) or raises APIError(401); the label goes to the log."""
        h = headers.get('Authorization')
        if h is None:
            raise APIError(401)
        scheme, _, cred = h.strip().partition(' ')
        if scheme.lower() != 'basic':
            raise APIError(401)
        try:
            raw = base64.b64decode(cred.strip(), validate=True).decode('utf-8')
        except (ValueError, UnicodeDecodeError):
            raise APIError(401)
        token, sep, sec = raw.partition(':')
        key = self.keys.get(token)
        if not sep or key is None or not hmac.compare_digest(key.secret.encode(), sec.encode()):
            raise APIError(401)
        return key

    def handle(self, method, route, query_raw, headers, body, body_bad, req, fault=None,
               sandbox=False):
        """-> (status, payload dict, extra headers). Raises nothing.
        sandbox: the request came to tk1v."""
        try:
            with self.lock:
                try:
                    key = self._authenticate(headers)
                except APIError:
                    req.auth = 'invalid' if 'Authorization' in headers else None
                    raise
                req.auth = key.label
                return self._dispatch(key, method, route, query_raw, body, body_bad, req,
                                      fault, self.sandbox_zones if sandbox else self.zones)
        except APIError as e:
            return e.status, e.envelope(), e.headers

    def _dispatch(self, key, method, route, query_raw, body, body_bad, req, fault, zones):
        segs = [s for s in route.split('/') if s]
        if not segs or segs[0] != 'commonserviceitem' or len(segs) > 2:
            raise APIError(404)
        if len(segs) == 1:
            if method != 'GET':
                raise APIError(405)
            try:
                q = parse_query(query_raw)
            except (ValueError, UnicodeDecodeError):
                raise APIError(400, 'クエリ文字列をJSONとして解釈できません')
            req.query = q
            return self._list(q, zones)
        z = zones.get(segs[1]) if segs[1].isdigit() else None
        if method not in ('GET', 'PUT'):
            raise APIError(405)
        if z is None:
            raise APIError(404)
        if method == 'GET':
            return 200, {'CommonServiceItem': self._item(z), 'is_ok': True,
                         '_log_url': self._log_url(z)}, {}
        if not key.can_modify:
            raise APIError(403)
        if body_bad or not isinstance(body, dict):
            raise APIError(400, 'リクエストボディをJSONとして解釈できません')
        return self._put(z, body, req, fault)

    def _log_url(self, z):
        return f'https://127.0.0.1:{self.port}/cloud/zone/is1a/api/cloud/1.1/log/' \
               f'commonserviceitem/{z["id"]}'

    def _settings(self, z):
        """Settings as the API shows them: ResourceRecordSets (an empty set in
        the form empty_records says), then MonitoringSuiteLog."""
        dns = {'ResourceRecordSets': [dict(r) for r in z['records']]}
        if not z['records'] and self.empty_records != '[]':
            if self.empty_records == 'missing':
                del dns['ResourceRecordSets']
            else:
                dns['ResourceRecordSets'] = None
        dns['MonitoringSuiteLog'] = {'Enabled': 'True' if z['monitoring'] else 'False'}
        return {'DNS': dns}

    def _item(self, z):
        return {'ID': z['id'], 'Name': z['name'], 'Description': z['description'],
                'Settings': self._settings(z),
                'SettingsHash': settings_hash(z['records']),
                'Status': {'Zone': z['name'], 'NS': list(NAME_SERVERS)},
                'ServiceClass': 'cloud/dns', 'Availability': 'available',
                'CreatedAt': z['created'], 'ModifiedAt': z['modified'],
                'Provider': dict(PROVIDER), 'Icon': None, 'Tags': list(z['tags'])}

    # -- GET /commonserviceitem

    @staticmethod
    def _lookup(item, path):
        cur = item
        for part in path.split('.'):
            if not isinstance(cur, dict) or part not in cur:
                return None
            cur = cur[part]
        return cur

    @staticmethod
    def _scalar(v):
        if isinstance(v, bool):
            return 'true' if v else 'false'
        return '' if v is None else str(v)

    def _match(self, item, key, want):
        have = self._lookup(item, key)
        haves = have if isinstance(have, list) else [have]
        haves = [self._scalar(h) for h in haves if h is not None]
        if isinstance(want, list):          # exact, ORed
            if not all(isinstance(w, (str, int, float)) for w in want):
                raise APIError(400, f'Filter &quot;{key}&quot;')
            return any(self._scalar(w) == h for w in want for h in haves)
        if isinstance(want, str):           # partial, words ANDed
            words = [w for w in want.split(' ') if w]
            return any(all(w.lower() in h.lower() for w in words) for h in haves)
        if isinstance(want, (int, float)) and not isinstance(want, bool):
            return any(self._scalar(want) == h for h in haves)
        raise APIError(400, f'Filter &quot;{key}&quot;')

    def _list(self, q, zones):
        flt = q.get('Filter', {})
        if flt is None:
            flt = {}
        if not isinstance(flt, dict):
            raise APIError(400, 'Filter')
        frm, cnt = q.get('From', 0), q.get('Count', self.default_count)
        for v, what in ((frm, 'From'), (cnt, 'Count')):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise APIError(400, what)
        items = [self._item(z) for z in sorted(zones.values(), key=lambda z: int(z['id']))]
        items = [it for it in items if all(self._match(it, k, v) for k, v in flt.items())]
        sort = q.get('Sort')
        if sort is not None:
            if isinstance(sort, str):
                sort = [sort]
            if not isinstance(sort, list) or not all(isinstance(s, str) and s.strip('-')
                                                     for s in sort):
                raise APIError(400, 'Sort')
            for s in reversed(sort):
                field = s.lstrip('-')
                items.sort(key=lambda it: (int(it['ID']) if field == 'ID'
                                           else self._scalar(self._lookup(it, field))),
                           reverse=s.startswith('-'))
        total = len(items)
        chunk = items[frm:] if cnt == 0 else items[frm:frm + cnt]
        return 200, {'From': frm, 'Count': len(chunk), 'Total': total,
                     'CommonServiceItems': chunk, 'is_ok': True}, {}

    # -- PUT /commonserviceitem/{id}

    @staticmethod
    def _norm(r, i):
        where = f'ResourceRecordSets[{i}]'
        if not isinstance(r, dict):
            raise APIError(400, where)
        name, rtype, rdata = r.get('Name'), r.get('Type'), r.get('RData')
        ttl = r.get('TTL')
        if not isinstance(rtype, str) or rtype not in RECORD_TYPES:
            raise APIError(400, f'{where}.Type: &quot;{rtype}&quot;')
        if not isinstance(name, str) or not name or len(name) > NAME_MAX or \
                (name != '@' and not all(_LABEL_RE.match(l) for l in name.split('.'))):
            raise APIError(400, f'{where}.Name: &quot;{name}&quot;')
        if not isinstance(rdata, str) or not rdata.strip():
            raise APIError(400, f'{where}.RData')
        if rtype == 'TXT' and len(rdata) > TXT_MAX:
            raise APIError(400, f'{where}.RData: TXT {TXT_MAX}文字以内')
        if rtype in TARGET_TYPES and not rdata.endswith('.'):
            raise APIError(400, f'{where}.RData: FQDN (末尾に&quot;.&quot;)')
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int)
                                or not TTL_MIN <= ttl <= TTL_MAX):
            raise APIError(400, f'{where}.TTL: {TTL_MIN}〜{TTL_MAX}')
        return _record(name, rtype, rdata, ttl)

    def _put(self, z, body, req, fault):
        csi = body.get('CommonServiceItem')
        if not isinstance(csi, dict):
            raise APIError(400, 'CommonServiceItem')
        given = []
        if 'OriginalSettingsHash' in body:
            given.append(body['OriginalSettingsHash'])
        if 'SettingsHash' in csi:
            given.append(csi['SettingsHash'])
        if not all(isinstance(h, str) for h in given):
            raise APIError(400, 'SettingsHash')
        req.hash_sent = given[0] if given else None
        new = monitoring = None
        if 'Settings' in csi:
            s = csi['Settings']
            dns = s.get('DNS') if isinstance(s, dict) else None
            rrs = dns.get('ResourceRecordSets') if isinstance(dns, dict) else None
            if not isinstance(rrs, list):
                raise APIError(400, 'Settings.DNS.ResourceRecordSets')
            new = [self._norm(r, i) for i, r in enumerate(rrs)]
            # guess: Settings.DNS is replaced whole, so leaving it out switches it off
            msl = dns.get('MonitoringSuiteLog', {'Enabled': 'False'})
            if not isinstance(msl, dict) or not isinstance(msl.get('Enabled'), str):
                raise APIError(400, 'Settings.DNS.MonitoringSuiteLog')
            # types.StringFlag: true, on or 1 in any case is true
            monitoring = msl['Enabled'].lower() in ('true', 'on', '1')
        for k, t in (('Description', str), ('Tags', list)):
            if k in csi and not isinstance(csi[k], t):
                raise APIError(400, k)
        before = list(z['records'])
        current = settings_hash(before)
        if self.optimistic and any(h != current for h in given):
            raise APIError(409)
        if 'Description' in csi:
            z['description'] = csi['Description']
        if 'Tags' in csi:
            z['tags'] = [t for t in csi['Tags'] if isinstance(t, str)]
        if new is not None:
            self._replace(z, new)
            z['monitoring'] = monitoring
        else:
            z['modified'] = _now_iso()
        answer = {'CommonServiceItem': self._item(z), 'Success': True, 'is_ok': True,
                  '_log_url': self._log_url(z)}
        if fault and fault['kind'] == 'lost_update':
            self._foreign_write(z, before, fault['foreign_hash'])
        elif fault and fault['kind'] == 'lost_update_late':
            z['late_stale'] = {'stale': before, 'reads_left': 2}
        return 200, answer, {}

    def late_stale_write(self, route, sandbox=False):
        """Before a GET of route: carry out a pending lost_update_late when
        this is the second GET of the zone's item since its PUT. True if it
        was carried out (the caller waits for DNS, outside the lock)."""
        segs = [x for x in route.split('/') if x]
        with self.lock:
            z = (self.sandbox_zones if sandbox else self.zones).get(segs[-1]) \
                if len(segs) == 2 and segs[0] == 'commonserviceitem' else None
            if z is None or z['late_stale'] is None:
                return False
            z['late_stale']['reads_left'] -= 1
            if z['late_stale']['reads_left'] > 0:
                return False
            stale, z['late_stale'] = z['late_stale']['stale'], None
            self._foreign_write(z, stale, False)
            return True

    def _foreign_write(self, z, stale, send_hash):
        """Another client (no lock) read `stale` before the PUT just done and
        now writes it back with one record of its own."""
        n = len(self.foreign_writes) + 1
        mine = _record('_foreign', 'TXT', f'foreign-{n}-{secrets.token_hex(4)}', 60)
        if send_hash and self.optimistic and settings_hash(stale) != settings_hash(z['records']):
            # refused (409); it reads again and adds its record to the fresh set
            self._replace(z, z['records'] + [mine])
            self.foreign_writes.append(f'{mine["RData"]}: stale write refused (409), '
                                       'retried on the fresh set')
        else:
            lost = [r for r in z['records'] if r not in stale]
            self._replace(z, stale + [mine])
            self.foreign_writes.append(f'{mine["RData"]}: wrote back a stale set; lost '
                                       f'{len(lost)} record(s) of the PUT before')


# --------------------------------------------------------------------------
# HTTP(S): the request handler (the TLS server is emulator_base's)
# --------------------------------------------------------------------------

class _Handler(HandlerBase):
    SERVER = 'nginx'

    def _serve(self):
        emu = self.server.emu
        t = time.monotonic()
        body, body_bad = self._read_json()
        path, _, query_raw = self.path.partition('?')
        m = _PREFIX_RE.match(path)
        route = path[m.end():] if m else None
        sandbox = bool(m) and m.group(1) == SANDBOX_ZONE
        req = Request(self.command, path, None, None, t)
        req.hash_sent = None
        if route == '/commonserviceitem' and query_raw:
            try:                 # logged even when the request is refused
                req.query = parse_query(query_raw)
            except (ValueError, UnicodeDecodeError):
                pass
        req.route = route if route is not None else path
        self._arrived(emu, req, body)
        fault = emu._take_fault(self.command, req.route) if route is not None else None
        if self.command == 'GET' and route is not None and \
                emu.late_stale_write(route, sandbox):
            emu.wait_published()     # the other write is in DNS before we answer
        headers = {'X-Sakura-Serial': secrets.token_hex(16)}
        if fault and fault['kind'].startswith('lost_update'):
            req.fault = fault['kind']        # carried out inside handle()
        elif fault:
            fault = self._common_fault(emu, req, fault, lambda: emu.handle(
                self.command, route, query_raw, self.headers, body, body_bad, req,
                sandbox=sandbox))
            if fault == 'dropped':
                return
        if fault and not fault['kind'].startswith('lost_update'):
            if fault['kind'] == 'malformed':
                status = 200
                data = b'{"CommonServiceItem":{"ID":"' + str(random.randrange(10 ** 12)) \
                    .encode() + b'","Name":"'
            else:
                status = int(fault['kind'])
                data = dumps(error_envelope(status, code=fault['code']))
                if fault['retry_after'] is not None:
                    headers['Retry-After'] = str(fault['retry_after'])
        else:
            if route is None:
                status, payload = 404, error_envelope(404)
            else:
                status, payload, more = emu.handle(self.command, route, query_raw,
                                                   self.headers, body, body_bad, req, fault,
                                                   sandbox)
                headers.update(more)
            data = dumps(payload)
        self._reply(emu, req, status, 'application/json; charset=UTF-8', data, headers)

    def _described(self, req):
        q = (' ' + json.dumps(req.query, ensure_ascii=False, separators=(',', ':'))) \
            if req.query is not None else ''
        h = f' hash={req.hash_sent[:8]}…' if req.hash_sent else ''
        return f'{req.route}{q} auth={req.auth}{h}'


SakuraEmulator.HANDLER = _Handler
