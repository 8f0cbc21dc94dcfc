"""A Google Cloud DNS API v1 emulator for the dns01 integration tests, with
the OAuth 2.0 token endpoint a service account key points at, and a GCE
metadata server (google_emulator.MetadataServer).

Python 3 standard library only (the RSA signature of a JWT is checked with
the openssl CLI); HTTPS with a test CA of its own (emulator_base.py). The
TXT records of the public zones example.test and acme.test are published
into the testbed's BIND primary.

What it emulates, and where each fact comes from:

- endpoints (the Cloud DNS REST reference,
  https://cloud.google.com/dns/docs/reference/rest/v1, and the discovery
  document google-api-python-client ships, discovery_cache/documents/
  dns.v1.json): under /dns/v1/projects/{project}:
  GET  managedZones?dnsName=&maxResults=&pageToken=   managedZones.list
  GET  managedZones/{zone}                             managedZones.get
  GET  managedZones/{zone}/rrsets?name=&type=&...      resourceRecordSets.list
  POST managedZones/{zone}/changes                     changes.create
  GET  managedZones/{zone}/changes/{id}                changes.get
  {zone} is the managed zone's name or its numeric id (the reference:
  "Identifies the managed zone addressed by this request. Can be the
  managed zone name or ID"); lists answer {"kind": "dns#...ListResponse",
  "<items>": [...], "nextPageToken"} and a client asks again with
  pageToken (the reference); the default page size is a guess (50);
- resources: a ManagedZone {kind, name, dnsName (with the final dot), id,
  description, nameServers, creationTime, visibility "public"|"private"};
  a ResourceRecordSet {kind, name, type, ttl, rrdatas}; a Change {kind, id,
  status "pending"|"done", startTime, additions, deletions} (the
  reference). A change is "pending" until the servers have it, then
  "done" (the Change reference; certbot-dns-google and lego poll
  changes.get for it): here change_delay seconds after it was made, and its
  records reach DNS publish_delay seconds after it was made;
- TXT rrdatas are held as given, in zone-file form: a value in double
  quotes, "\\"value\\"" (certbot-dns-google dns_google.py compares the
  rrdatas it reads with the quoted value); an unquoted rrdata is served as
  one string (guess);
- changes.create is atomic (the Change reference: "Atomically updates the
  ResourceRecordSet collection"): each deletion must match the RRset that
  is there exactly, TTL and every rrdata, or the whole change is refused
  with 412 conditionNotMet "Precondition not met for
  'entity.change.deletions[N]'" (recorded in certbot/certbot #6036 and
  #8523, kubernetes-sigs/external-dns #467); a deletion of an RRset that
  is not there is 404 notFound "The 'entity.change.deletions[N]' resource
  named 'NAME (TYPE)' does not exist." (fog-google's mock of the API); an
  addition of an RRset that exists (after the deletions) is 409
  alreadyExists "The resource 'entity.change.additions[N]' named 'NAME
  (TYPE)' already exists" (quoted in public code and in alphagov
  tsuru-terraform's notes);
- errors come in Google's JSON envelope {"error": {"code", "message",
  "errors": [{"message", "domain", "reason"}], "status"}}
  (https://cloud.google.com/apis/design/errors); a request without a
  Bearer token, or with one the emulator did not issue, is 401 (the
  message "Request had invalid authentication credentials..." is the one
  Google APIs give; status UNAUTHENTICATED); a call the service account may
  not make is 403 "Forbidden" reason forbidden (guess at the exact text;
  the permission each method needs: cloud.google.com/dns/docs/access-control
  and route53-google-notes.md); 429 rateLimitExceeded (status
  RESOURCE_EXHAUSTED) and 403 rateLimitExceeded are rate limits (the
  Python client retries both: googleapiclient/http.py
  _should_retry_response);
- the token endpoint (POST {token_uri}, form grant_type=urn:ietf:params:
  oauth:grant-type:jwt-bearer & assertion=JWT: RFC 7523 §2.1, google-auth
  google/oauth2/_client.py jwt_grant): the JWT's RS256 signature is
  checked against the public key of the service account named by the
  header's kid (google-auth puts private_key_id there) and its claims:
  iss = client_email, aud = token_uri, scope, exp - iat at most 3600 s and
  now within [iat, exp] (Google's message for a bad window, 400
  invalid_grant "Invalid JWT: Token must be a short-lived token (60
  minutes) and in a reasonable timeframe. Check your iat and exp values in
  the JWT claim.", is quoted verbatim in client logs and test fixtures of
  public repositories; the real endpoint also takes an iat a few minutes
  ahead, which the emulator does not, guess: dns01 signs with the host's
  clock); a signature that does not verify, or a key Google does not know
  (deleted, disabled), is 400 invalid_grant "Invalid JWT Signature." (the
  error public client logs show for a disabled or leaked-and-revoked key);
  a good one gets {"access_token", "expires_in": 3599,
  "token_type": "Bearer"} (google-auth _client.py reads these);
- the metadata server (MetadataServer: plain HTTP on 127.0.0.x): GET
  /computeMetadata/v1/instance/service-accounts/default/token and
  /computeMetadata/v1/project/project-id, only with "Metadata-Flavor:
  Google" (else 403) (cloud.google.com/compute/docs/metadata/querying-metadata;
  google-auth compute_engine/_metadata.py sends that header).

Faults (inject): '429' '500' '503' (the envelope; Retry-After when asked),
'403rate' (403 rateLimitExceeded), 'malformed' (200 with cut-off JSON),
'slow', 'reset', 'lost', and 'race' (POST .../changes only: right before
the change is applied another writer adds a TXT value of its own to the
first RRset the change touches, so a change built on the earlier read is
refused, as a writer elsewhere would make it).
"""

import base64
import datetime
import http.server
import json
import os
import random
import secrets
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from emulator_base import EmulatorBase, HandlerBase, HTTPError, Request, txt_strings
from emulator_base import SHARED_FAULTS

__all__ = ['GoogleEmulator', 'MetadataServer', 'make_key', 'API_PREFIX', 'SCOPE',
           'ALL_PERMISSIONS']

API_PREFIX = '/dns/v1'
TOKEN_PATH = '/token'
SCOPE = 'https://www.googleapis.com/auth/ndev.clouddns.readwrite'
# cloud-platform covers every Google API (the OAuth scopes list); also accepted
SCOPES_OK = (SCOPE, 'https://www.googleapis.com/auth/cloud-platform')
GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
NAME_SERVERS = ['ns-cloud-a1.googledomains.com.', 'ns-cloud-a2.googledomains.com.',
                'ns-cloud-a3.googledomains.com.', 'ns-cloud-a4.googledomains.com.']
PROJECT = 'dns01-test-project'
DEFAULT_PAGE = 50            # guess: the API's default page size is not documented here
CHANGE_DELAY = 1.0           # guess: a change is usually done within seconds
JWT_MAX_LIFETIME = 3600
ALL_PERMISSIONS = frozenset((
    'dns.managedZones.list', 'dns.managedZones.get', 'dns.resourceRecordSets.list',
    'dns.resourceRecordSets.create', 'dns.resourceRecordSets.update',
    'dns.resourceRecordSets.delete', 'dns.changes.create', 'dns.changes.get'))
FAULT_KINDS = ('429', '500', '503', '403rate', 'malformed', 'slow', 'reset', 'lost', 'race') + SHARED_FAULTS
STATUS = {400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED',
          404: 'NOT_FOUND', 409: 'ALREADY_EXISTS', 412: 'FAILED_PRECONDITION',
          429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE'}


def _b64url_decode(s):
    return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))


def _now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] \
        + 'Z'


def make_key(directory, emulator, email=None, project=PROJECT, token_uri=None,
             permissions=ALL_PERMISSIONS, register=True, mode=0o600):
    """A new service account: an RSA key made with `openssl genpkey`, its
    key file in Google's JSON form (mode 0600) -> (path, key dict). The
    emulator learns its public key (unless register=False: a key Google
    does not know, as a deleted one)."""
    d = Path(tempfile.mkdtemp(prefix='gsa-', dir=directory))
    pem = d / 'key.pem'
    subprocess.run(['openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt',
                    'rsa_keygen_bits:2048', '-out', str(pem)], check=True,
                   capture_output=True)
    pub = d / 'pub.pem'
    subprocess.run(['openssl', 'pkey', '-in', str(pem), '-pubout', '-out', str(pub)],
                   check=True, capture_output=True)
    kid = secrets.token_hex(20)
    email = email or f'dns01-{secrets.token_hex(3)}@{project}.iam.gserviceaccount.com'
    # the fields of a key as `gcloud iam service-accounts keys create` writes it
    key = {'type': 'service_account', 'project_id': project, 'private_key_id': kid,
           'private_key': pem.read_text(), 'client_email': email,
           'client_id': str(random.randrange(10 ** 20, 10 ** 21)),
           'auth_uri': 'https://accounts.google.com/o/oauth2/auth',
           'token_uri': token_uri or emulator.token_uri,
           'auth_provider_x509_cert_url': 'https://www.googleapis.com/oauth2/v1/certs',
           'client_x509_cert_url': 'https://www.googleapis.com/robot/v1/metadata/x509/'
                                   + urllib.parse.quote(email),
           'universe_domain': 'googleapis.com'}
    path = d / 'key.json'
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, mode)
    with os.fdopen(fd, 'w') as f:
        json.dump(key, f, indent=2)
    pem.unlink()
    if register:
        emulator.add_account(email, kid, str(pub), project, permissions)
    return str(path), key


class _Account:
    def __init__(self, email, kid, pub, project, permissions):
        self.email, self.kid, self.pub, self.project = email, kid, pub, project
        self.permissions = set(permissions)


class APIError(HTTPError):
    def __init__(self, status, message, reason, headers=None):
        super().__init__(status, None, headers)
        self.message, self.reason = message, reason

    def envelope(self):
        return {'error': {'code': self.status, 'message': self.message,
                          'errors': [{'message': self.message, 'domain': 'global',
                                      'reason': self.reason}],
                          'status': STATUS.get(self.status, 'UNKNOWN')}}


def _unquote(rdata):
    return rdata[1:-1] if len(rdata) >= 2 and rdata[0] == rdata[-1] == '"' else rdata


class GoogleEmulator(EmulatorBase):
    API_PREFIX = API_PREFIX
    TITLE = 'Google Cloud DNS emulator'
    FAULT_KINDS = FAULT_KINDS

    def __init__(self, workdir, publisher=None, ca=None, san='DNS:localhost,IP:127.0.0.1',
                 name='google'):
        super().__init__(workdir, publisher, ca, san, name)
        self.accounts = {}          # kid -> _Account
        self.zones = {}
        self.on_secret = None       # called with each token and assertion (tests register them)
        self.reset()

    @property
    def token_uri(self):
        return f'https://127.0.0.1:{self.port}{TOKEN_PATH}'

    def reset(self):
        """Between tests: the public zones example.test and acme.test, empty
        (what they held is removed from DNS), a private example.test listed
        first, no tokens, no faults, no request log; change_delay and
        publish_delay 0.2 s, page size DEFAULT_PAGE. Accounts are kept."""
        with self.lock:
            old = [(z['dnsName'], dict(z['rrsets'])) for z in self.zones.values()
                   if z['visibility'] == 'public']
            self.zones = {}
            self._next_zone = 4000000000000000000 + random.randrange(10 ** 15)
            self.add_zone('example-test-internal', 'example.test', 'private')
            self.add_zone('example-test', 'example.test')
            self.add_zone('acme-test', 'acme.test')
            for dns_name, sets in old:
                self._publish(dns_name, sets, {}, delay=0)
            self.tokens = {}
            self.token_requests = []
            self._reset_common()
            self.change_delay = 0.2
            self.publish_delay = 0.2
            self.page_size = DEFAULT_PAGE
            self.race_writes = []
        self._reset_done()

    # ---- setup for tests -----------------------------------------------------

    def add_account(self, email, kid, pub, project=PROJECT, permissions=ALL_PERMISSIONS):
        with self.lock:
            self.accounts[kid] = _Account(email, kid, pub, project, permissions)

    def set_permissions(self, email, permissions):
        with self.lock:
            for a in self.accounts.values():
                if a.email == email:
                    a.permissions = set(permissions)

    def issue_token(self, account):
        """A new access token for account (what the token endpoint and the
        metadata server hand out)."""
        tok = 'ya29.' + secrets.token_urlsafe(48)
        if self.on_secret:
            self.on_secret(tok)
        with self.lock:
            self.tokens[tok] = account
        return tok

    def add_zone(self, name, dns_name, visibility='public', project=PROJECT):
        with self.lock:
            self._next_zone += 17
            apex = dns_name.rstrip('.').lower() + '.'
            z = {'kind': 'dns#managedZone', 'name': name, 'dnsName': apex,
                 'id': str(self._next_zone), 'description': '',
                 'nameServers': list(NAME_SERVERS), 'creationTime': _now_rfc3339(),
                 'visibility': visibility, 'project': project, 'changes': [],
                 'rrsets': {}}
            z['rrsets'][(apex, 'SOA')] = {
                'kind': 'dns#resourceRecordSet', 'name': apex, 'type': 'SOA', 'ttl': 21600,
                'rrdatas': [f'{NAME_SERVERS[0]} cloud-dns-hostmaster.google.com. 1 21600 '
                            '3600 259200 300']}
            z['rrsets'][(apex, 'NS')] = {'kind': 'dns#resourceRecordSet', 'name': apex,
                                         'type': 'NS', 'ttl': 21600,
                                         'rrdatas': list(NAME_SERVERS)}
            self.zones[z['id']] = z
            return z

    def _zone_by_name(self, name, visibility='public'):
        apex = name.rstrip('.').lower() + '.'
        for z in self.zones.values():
            if z['dnsName'] == apex and z['visibility'] == visibility:
                return z
        return None

    def records(self, zone, name, visibility='public'):
        """[(type, rdata, ttl)] at name (no final dot) in the zone, sorted."""
        with self.lock:
            z = self._zone_by_name(zone, visibility)
            out = []
            for (n, t), s in z['rrsets'].items():
                if n == name.lower() + '.':
                    out += [(t, r, s['ttl']) for r in s['rrdatas']]
            return sorted(out)

    def add_records(self, zone, name, rtype, rdatas, ttl, visibility='public'):
        """Add rdatas to the RRset at name (not through the API: as another
        tool would); a new RRset gets ttl, an existing one keeps its own."""
        with self.lock:
            z = self._zone_by_name(zone, visibility)
            old = dict(z['rrsets'])
            key = (name.lower() + '.', rtype)
            s = z['rrsets'].get(key)
            if s is None:
                s = z['rrsets'][key] = {'kind': 'dns#resourceRecordSet', 'name': key[0],
                                        'type': rtype, 'ttl': ttl, 'rrdatas': []}
            else:
                s = z['rrsets'][key] = dict(s, rrdatas=list(s['rrdatas']))
            s['rrdatas'] += [r for r in rdatas if r not in s['rrdatas']]
            if z['visibility'] == 'public':
                self._publish(z['dnsName'], old, z['rrsets'], delay=0)

    def inject(self, kind, count=1, method=None, path=None, delay=None, retry_after=None):
        if kind == 'race':
            method, path = 'POST', path or '/changes'
        self._add_fault(kind, count, path=path, method=method, delay=delay,
                        retry_after=retry_after)

    # ---- DNS ---------------------------------------------------------------------

    def _publish(self, dns_name, old, new, delay=None):
        zone = dns_name.rstrip('.')
        if not self.publisher or not self.publisher.serves(zone):
            return

        def rrs(sets):
            out = {}
            for (n, t), s in sets.items():
                if t == 'TXT':
                    for r in s['rrdatas']:
                        out[(n.rstrip('.'), txt_strings(r))] = s['ttl']
            return out
        o, n = rrs(old), rrs(new)
        ops = [('delete', k[0], k[1], o[k]) for k in o if k not in n] + \
              [('add', k[0], k[1], n[k]) for k in n if k not in o]
        if ops:
            self._queue_publish(zone, ops, delay)

    # ---- the token endpoint ------------------------------------------------------

    def _verify_jwt(self, jwt):
        """-> the account, or raises ValueError(description)."""
        parts = jwt.split('.')
        if len(parts) != 3:
            raise ValueError('Invalid JWT: malformed')
        try:
            hdr = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            sig = _b64url_decode(parts[2])
        except ValueError:
            raise ValueError('Invalid JWT: malformed')
        if hdr.get('alg') != 'RS256':
            raise ValueError('Invalid JWT: alg must be RS256')
        with self.lock:
            acct = self.accounts.get(hdr.get('kid')) or next(
                (a for a in self.accounts.values() if a.email == claims.get('iss')), None)
        if acct is None:
            raise ValueError('Invalid JWT Signature.')
        with tempfile.TemporaryDirectory() as t:
            data, sigf = Path(t) / 'in', Path(t) / 'sig'
            data.write_bytes(f'{parts[0]}.{parts[1]}'.encode())
            sigf.write_bytes(sig)
            p = subprocess.run(['openssl', 'dgst', '-sha256', '-verify', acct.pub,
                                '-signature', str(sigf), str(data)], capture_output=True)
        if p.returncode != 0:
            raise ValueError('Invalid JWT Signature.')
        now = time.time()
        iat, exp = claims.get('iat'), claims.get('exp')
        if claims.get('iss') != acct.email:
            raise ValueError('Invalid JWT: iss is not the key\'s service account')
        if claims.get('aud') != self.token_uri:
            raise ValueError('Invalid JWT: aud must be the token endpoint')
        if not isinstance(iat, int) or not isinstance(exp, int) or \
                exp - iat > JWT_MAX_LIFETIME or not iat - 5 <= now <= exp:
            raise ValueError('Invalid JWT: Token must be a short-lived token (60 minutes) and '
                             'in a reasonable timeframe. Check your iat and exp values in the '
                             'JWT claim.')
        scopes = str(claims.get('scope', '')).split()
        if not any(s in SCOPES_OK for s in scopes):
            raise LookupError('Invalid OAuth scope or ID token audience provided.')
        return acct

    def token_grant(self, raw, req):
        """POST /token -> (status, payload)."""
        with self.lock:
            self.token_requests.append(time.monotonic())
        try:
            form = urllib.parse.parse_qs(raw.decode('ascii'), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            form = {}
        if form.get('grant_type') != [GRANT] or len(form.get('assertion', [])) != 1:
            req.auth = 'invalid'
            return 400, {'error': 'unsupported_grant_type',
                         'error_description': 'Invalid grant_type: '}
        if self.on_secret:
            self.on_secret(form['assertion'][0])
            self.on_secret(form['assertion'][0].rsplit('.', 1)[-1])
        try:
            acct = self._verify_jwt(form['assertion'][0])
        except LookupError as e:
            req.auth = 'invalid'
            return 400, {'error': 'invalid_scope', 'error_description': str(e)}
        except ValueError as e:
            req.auth = 'invalid'
            return 400, {'error': 'invalid_grant', 'error_description': str(e)}
        req.auth = acct.email.split('@')[0]
        return 200, {'access_token': self.issue_token(acct), 'expires_in': 3599,
                     'token_type': 'Bearer'}

    # ---- the API -------------------------------------------------------------------

    def _authenticate(self, headers, req):
        h = headers.get('Authorization')
        scheme, _, tok = (h or '').strip().partition(' ')
        acct = self.tokens.get(tok.strip()) if scheme.lower() == 'bearer' else None
        if acct is None:
            req.auth = 'invalid' if h else None
            raise APIError(401, 'Request had invalid authentication credentials. Expected '
                                'OAuth 2 access token, login cookie or other valid '
                                'authentication credential. See https://developers.google.'
                                'com/identity/sign-in/web/devconsole-project.',
                           'authError' if h else 'required')
        req.auth = acct.email.split('@')[0]
        return acct

    @staticmethod
    def _need(acct, *perms):
        for p in perms:
            if p not in acct.permissions:
                # guess at the text; the reason "forbidden" is what clients see
                raise APIError(403, 'Forbidden', 'forbidden')

    def _zone(self, project, ref):
        for z in self.zones.values():
            if z['project'] == project and ref in (z['name'], z['id']):
                return z
        raise APIError(404, f"The 'parameters.managedZone' resource named '{ref}' does not "
                            'exist.', 'notFound')

    @staticmethod
    def _zone_view(z):
        return {k: v for k, v in z.items() if k not in ('rrsets', 'changes', 'project')}

    def _page(self, items, query, key, kind):
        try:
            start = int(query.get('pageToken', ['0'])[0] or 0)
            size = int(query.get('maxResults', [str(self.page_size)])[0])
        except ValueError:
            raise APIError(400, 'Invalid value for pageToken or maxResults', 'invalid')
        size = max(1, min(size, self.page_size))
        out = {'kind': kind, key: items[start:start + size]}
        if start + size < len(items):
            out['nextPageToken'] = str(start + size)
        return out

    def handle(self, method, route, query, headers, body, body_bad, req, fault):
        try:
            with self.lock:
                acct = self._authenticate(headers, req)
                return 200, self._dispatch(acct, method, route, query, body, body_bad, fault)
        except APIError as e:
            return e.status, e.envelope()

    def _dispatch(self, acct, method, route, query, body, body_bad, fault):
        segs = [s for s in route.split('/') if s]
        if len(segs) < 3 or segs[0] != 'projects' or segs[2] != 'managedZones':
            raise APIError(404, 'Not Found', 'notFound')
        project = segs[1]
        if project != acct.project:
            raise APIError(404, f"The 'parameters.project' resource named '{project}' does "
                                'not exist.', 'notFound')
        if len(segs) == 3:
            if method != 'GET':
                raise APIError(405, 'Method Not Allowed', 'methodNotAllowed')
            self._need(acct, 'dns.managedZones.list')
            want = query.get('dnsName', [None])[0]
            zones = [self._zone_view(z) for z in sorted(self.zones.values(),
                                                        key=lambda z: int(z['id']))
                     if z['project'] == project and (want is None or
                                                     z['dnsName'] == want.lower())]
            return self._page(zones, query, 'managedZones', 'dns#managedZonesListResponse')
        z = self._zone(project, segs[3])
        if len(segs) == 4 and method == 'GET':
            self._need(acct, 'dns.managedZones.get')
            return self._zone_view(z)
        if len(segs) == 5 and segs[4] == 'rrsets' and method == 'GET':
            self._need(acct, 'dns.resourceRecordSets.list')
            name, rtype = query.get('name', [None])[0], query.get('type', [None])[0]
            if rtype is not None and name is None:
                # the reference: type "If present, the name parameter must also be present"
                raise APIError(400, 'Invalid value for type: name is required', 'invalid')
            sets = [dict(s) for (n, t), s in sorted(z['rrsets'].items())
                    if (name is None or n == name.lower()) and (rtype is None or t == rtype)]
            return self._page(sets, query, 'rrsets', 'dns#resourceRecordSetsListResponse')
        if len(segs) == 5 and segs[4] == 'changes' and method == 'POST':
            return self._create_change(acct, z, body, body_bad, fault)
        if len(segs) == 6 and segs[4] == 'changes' and method == 'GET':
            self._need(acct, 'dns.changes.get')
            for c in z['changes']:
                if c['id'] == segs[5]:
                    return self._change_view(c)
            raise APIError(404, f"The 'parameters.changeId' resource named '{segs[5]}' does "
                                'not exist.', 'notFound')
        raise APIError(404, 'Not Found', 'notFound')

    def _change_view(self, c):
        out = {k: v for k, v in c.items() if not k.startswith('_')}
        out['status'] = 'done' if time.monotonic() >= c['_done_at'] else 'pending'
        return out

    @staticmethod
    def _rrset(s, where):
        if not isinstance(s, dict):
            raise APIError(400, f"Invalid value for '{where}'", 'invalid')
        name, rtype, ttl, datas = s.get('name'), s.get('type'), s.get('ttl'), s.get('rrdatas')
        if not isinstance(name, str) or not name.endswith('.'):
            raise APIError(400, f"Invalid value for '{where}.name': '{name}'", 'invalid')
        if not isinstance(rtype, str) or not rtype:
            raise APIError(400, f"Invalid value for '{where}.type'", 'invalid')
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
            raise APIError(400, f"Invalid value for '{where}.ttl': '{ttl}'", 'invalid')
        if not isinstance(datas, list) or not datas or \
                not all(isinstance(d, str) and d for d in datas):
            raise APIError(400, f"Invalid value for '{where}.rrdatas'", 'invalid')
        return {'kind': 'dns#resourceRecordSet', 'name': name.lower(), 'type': rtype,
                'ttl': ttl, 'rrdatas': list(datas)}

    def _create_change(self, acct, z, body, body_bad, fault):
        self._need(acct, 'dns.changes.create')
        if body_bad or not isinstance(body, dict):
            raise APIError(400, 'Invalid JSON payload received.', 'parseError')
        adds = [self._rrset(s, f'entity.change.additions[{i}]')
                for i, s in enumerate(body.get('additions') or [])]
        dels = [self._rrset(s, f'entity.change.deletions[{i}]')
                for i, s in enumerate(body.get('deletions') or [])]
        if not adds and not dels:
            raise APIError(400, 'The change must have at least one addition or deletion.',
                           'required')
        for s in adds + dels:
            if not s['name'] == z['dnsName'] and not s['name'].endswith('.' + z['dnsName']):
                raise APIError(400, f"The resource record set '{s['name']}' is not in zone "
                                    f"'{z['dnsName']}'", 'invalid')
        if fault and fault['kind'] == 'race':
            self._race(z, (adds + dels)[0]['name'])
        sets = dict(z['rrsets'])
        touched = set()
        for i, d in enumerate(dels):
            key = (d['name'], d['type'])
            have = sets.get(key)
            if have is None:
                raise APIError(404, f"The 'entity.change.deletions[{i}]' resource named "
                                    f"'{d['name']} ({d['type']})' does not exist.",
                               'notFound')
            if have['ttl'] != d['ttl'] or sorted(have['rrdatas']) != sorted(d['rrdatas']):
                raise APIError(412, "Precondition not met for "
                                    f"'entity.change.deletions[{i}]'", 'conditionNotMet')
            del sets[key]
            touched.add(key)
        for i, a in enumerate(adds):
            key = (a['name'], a['type'])
            if key in sets:
                raise APIError(409, f"The resource 'entity.change.additions[{i}]' named "
                                    f"'{a['name']} ({a['type']})' already exists",
                               'alreadyExists')
            sets[key] = a
        need = ['dns.resourceRecordSets.' + ('update' if (a['name'], a['type']) in touched
                                             else 'create') for a in adds]
        need += ['dns.resourceRecordSets.delete' for d in dels
                 if (d['name'], d['type']) not in {(a['name'], a['type']) for a in adds}]
        self._need(acct, *need)
        old, z['rrsets'] = z['rrsets'], sets
        c = {'kind': 'dns#change', 'id': str(len(z['changes']) + 1),
             'startTime': _now_rfc3339(), 'status': 'pending',
             '_done_at': time.monotonic() + self.change_delay}
        if adds:
            c['additions'] = adds
        if dels:
            c['deletions'] = dels
        z['changes'].append(c)
        if z['visibility'] == 'public':
            self._publish(z['dnsName'], old, sets)
        out = self._change_view(c)
        out['status'] = 'pending'       # a new change is pending (the Change reference)
        return out

    def _race(self, z, name):
        """Another writer adds a TXT value at name right now (not logged as a
        request of the client)."""
        old = dict(z['rrsets'])
        key = (name, 'TXT')
        mine = f'"race-{len(self.race_writes) + 1}-{secrets.token_hex(4)}"'
        s = z['rrsets'].get(key)
        z['rrsets'][key] = dict(s, rrdatas=s['rrdatas'] + [mine]) if s else \
            {'kind': 'dns#resourceRecordSet', 'name': name, 'type': 'TXT', 'ttl': 300,
             'rrdatas': [mine]}
        self.race_writes.append(mine)
        if z['visibility'] == 'public':
            self._publish(z['dnsName'], old, z['rrsets'], delay=0)


class _Handler(HandlerBase):
    SERVER = 'ESF'          # what Google's front ends call themselves (guess: not checked)

    def _serve(self):
        emu = self.server.emu
        t = time.monotonic()
        raw = self._read_body()
        path, _, qs = self.path.partition('?')
        query = urllib.parse.parse_qs(qs, keep_blank_values=True)
        req = Request(self.command, path, {k: v[0] for k, v in query.items()} or None, None, t)
        route = path[len(API_PREFIX):] if path.startswith(API_PREFIX + '/') else None
        req.route = route if route is not None else path
        body, body_bad = None, False
        if raw and path != TOKEN_PATH:
            try:
                body = json.loads(raw.decode('utf-8'))
            except (UnicodeDecodeError, ValueError):
                body_bad = True
        self._arrived(emu, req, body)
        headers = {}
        if path == TOKEN_PATH and self.command == 'POST':
            # Only a fault injected with path=TOKEN_PATH reaches the token endpoint.
            fault = emu._take_fault(self.command, path, exact=True)
            if fault:
                fault = self._common_fault(emu, req, fault, lambda: emu.token_grant(raw, req))
                if fault == 'dropped':
                    return
            if fault and fault['kind'] in ('500', '503'):
                # guess: the body of a 5xx of the token endpoint (no recording)
                status, payload = int(fault['kind']), {'error': 'internal_failure',
                                                       'error_description': 'Backend Error'}
            else:
                status, payload = emu.token_grant(raw, req)
            data = json.dumps(payload).encode()
            self._reply(emu, req, status, 'application/json; charset=utf-8', data, headers)
            return
        fault = emu._take_fault(self.command, req.route) if route is not None else None
        if fault and fault['kind'] != 'race':
            fault = self._common_fault(emu, req, fault, lambda: emu.handle(
                self.command, route, query, self.headers, body, body_bad, req, None))
            if fault == 'dropped':
                return
        if fault and fault['kind'] != 'race':
            if fault['kind'] == 'malformed':
                status, data = 200, b'{"kind": "dns#change", "id": "'
            else:
                status = 403 if fault['kind'] == '403rate' else int(fault['kind'])
                reason = {429: 'rateLimitExceeded', 403: 'rateLimitExceeded',
                          500: 'backendError', 503: 'backendError'}[status]
                msg = {429: 'Quota exceeded', 403: 'Rate Limit Exceeded',
                       500: 'Internal Error', 503: 'Service Unavailable'}[status]
                data = json.dumps(APIError(status, msg, reason).envelope()).encode()
                if fault['retry_after'] is not None:
                    headers['Retry-After'] = str(fault['retry_after'])
        elif route is None:
            status = 404
            data = json.dumps(APIError(404, 'Not Found', 'notFound').envelope()).encode()
        else:
            status, payload = emu.handle(self.command, route, query, self.headers, body,
                                         body_bad, req, fault)
            data = json.dumps(payload).encode()
        self._reply(emu, req, status, 'application/json; charset=UTF-8', data, headers)


GoogleEmulator.HANDLER = _Handler


# --------------------------------------------------------------------------
# The GCE metadata server (plain HTTP)
# --------------------------------------------------------------------------

class MetadataServer:
    """The metadata server of a GCE instance on a loopback address (the
    tests' stand-in for metadata.google.internal): the default service
    account's token and the project id, only with Metadata-Flavor: Google.
    requests: [(path, had_flavor)]."""

    def __init__(self, emulator, host='127.0.0.1'):
        self.emulator = emulator
        self.account = None
        self.requests = []
        srv = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *a):
                pass

            def do_GET(self):
                flavor = self.headers.get('Metadata-Flavor') == 'Google'
                srv.requests.append((self.path, flavor))
                if not flavor:
                    # google-auth's _metadata.py sends the header; without it the
                    # server refuses (the querying-metadata page)
                    return self._send(403, 'text/html', b'Missing Metadata-Flavor:Google '
                                                        b'header.')
                if self.path == '/computeMetadata/v1/instance/service-accounts/default/token':
                    if srv.account is None:
                        return self._send(404, 'text/html', b'Not Found')
                    tok = srv.emulator.issue_token(srv.account)
                    return self._send(200, 'application/json', json.dumps(
                        {'access_token': tok, 'expires_in': 3599,
                         'token_type': 'Bearer'}).encode())
                if self.path == '/computeMetadata/v1/project/project-id':
                    return self._send(200, 'application/text',
                                      (srv.account.project if srv.account else PROJECT)
                                      .encode())
                return self._send(404, 'text/html', b'Not Found')

            def _send(self, status, ctype, data):
                self.send_response(status)
                self.send_header('Metadata-Flavor', 'Google')
                self.send_header('Content-Type', ctype)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = http.server.ThreadingHTTPServer((host, 0), H)
        self._server.daemon_threads = True
        self.host = f'{host}:{self._server.server_address[1]}'
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name='gce-metadata').start()

    def set_account(self, email, project=PROJECT, permissions=ALL_PERMISSIONS):
        """The instance's service account (None: the instance has none)."""
        self.account = None if email is None else _Account(email, None, None, project,
                                                           permissions)
        self.requests = []

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
