"""An emulator of the Amazon Route 53 API, version 2013-04-01, for the dns01
integration tests (Python 3 standard library only; on emulator_base.py),
and of the EC2 instance metadata service (IMDSv2) that hands out an
instance role's credentials.

Sources (each behaviour below names its own; "guess" where none):
- [API] the Amazon Route 53 API Reference, docs.aws.amazon.com/Route53/
  latest/APIReference/ (ListHostedZonesByName, ListResourceRecordSets,
  ChangeResourceRecordSets, GetChange, ResourceRecordSet, Common Errors);
- [model] botocore's service model, botocore/data/route53/2013-04-01/
  service-2.json: paths, query names, shapes;
- [lego] go-acme/lego providers/dns/route53/fixtures/*.xml (answers as
  recorded for its tests);
- [boto] boto/boto tests (tests/unit/route53/test_connection.py, the 400
  PriorRequestNotComplete envelope) and issue boto/boto#2887 (a real
  InvalidChangeBatch in the ErrorResponse envelope);
- [sdk-go] aws/aws-sdk-go service/route53/unmarshal_error.go (the second
  error shape, <InvalidChangeBatch><Messages><Message>);
- [sigv4] tests/integration/sigv4.py, AWS's public SigV4 specification.

What it does:
- every request is checked for a SigV4 signature (region us-east-1,
  service route53: Route 53 is global) with sigv4.verify(): an unknown
  access key id is HTTP 403 InvalidClientTokenId, a wrong secret 403
  SignatureDoesNotMatch; a key made with a session token needs it in
  X-Amz-Security-Token (wrong or missing: 403 InvalidClientTokenId), and
  an expired one is 403 ExpiredToken ([API] Common Errors).  A real Route
  53 InvalidClientTokenId answer, envelope and message: acmesh-official/
  acme.sh#4979; its status 403: barnybug/cli53#278.  The texts of
  SignatureDoesNotMatch and ExpiredToken are AWS's usual ones (guess for
  Route 53's exact wording);
- a key may carry an IAM policy (a set of route53:* actions): another
  action is 403 AccessDenied "User: ... is not authorized to perform:
  route53:X on resource: ..." (the message shape of IAM denials; guess for
  Route 53's exact text);
- GET /2013-04-01/hostedzonesbyname?dnsname=&hostedzoneid=&maxitems=:
  zones sorted by name with the labels reversed, then by id; the list
  starts at dnsname (and hostedzoneid), it is not a filter; maxitems at
  most 100; IsTruncated, NextDNSName, NextHostedZoneId ([API]
  ListHostedZonesByName; [lego] listHostedZonesByNameResponse.xml);
  hostedzoneid without dnsname is 400 InvalidInput ([API]);
- GET /2013-04-01/hostedzone/{Id}/rrset?name=&type=&maxitems=: RRsets
  sorted by name with the labels reversed, then by type; name/type are
  where the list starts, not filters; type without name is 400
  InvalidInput; maxitems at most 300; IsTruncated, NextRecordName,
  NextRecordType ([API] ListResourceRecordSets); names end with a dot and
  '*' comes as \\052 ([API] "DNS domain name format"); a zone starts with
  its SOA and NS RRsets ([API] CreateHostedZone);
- POST /2013-04-01/hostedzone/{Id}/rrset/ (botocore's requestUri has the
  final slash; boto/boto3#3161 shows it on the wire): a
  ChangeResourceRecordSetsRequest; the batch is checked and applied change
  by change on a copy, all or nothing ([API] ChangeResourceRecordSets,
  "Change Batches and Transactional Changes"): CREATE of an existing RRset,
  DELETE of a missing one or one whose TTL or values differ fail the whole
  batch with InvalidChangeBatch and the messages AWS gives ("Tried to
  create resource record set [name='x.', type='TXT'] but it already
  exists", "... but it was not found", "... but the values provided do not
  match the current values": boto/boto#2887, kubernetes-sigs/external-dns
  #732); a name outside the zone is refused ([API]); a TXT value not in
  double quotes is refused ("Invalid Resource Record: FATAL problem:
  InvalidCharacterString (Value should be enclosed in quotation marks)
  encountered with '...'": a real answer in rusoto/rusoto#1046; the Route
  53 Developer Guide, "Supported DNS record types", TXT: strings "enclosed
  in double quotation marks"); TTL 0..2147483647 ([API] ResourceRecordSet);
  the answer is a
  ChangeInfo with Id /change/C..., Status PENDING ([lego]
  changeResourceRecordSetsResponse.xml);
- GET /2013-04-01/change/{Id}: PENDING, then INSYNC once insync_delay has
  passed since the change ([API] GetChange; "changes generally propagate
  to all Route 53 name servers within 60 seconds": [API]
  ChangeResourceRecordSets; the tests keep it short); unknown id: 404
  NoSuchChange;
- errors: <ErrorResponse><Error><Type>Sender</Type><Code/><Message/>
  </Error><RequestId/></ErrorResponse> ([boto]); InvalidChangeBatch also
  in that envelope ([boto] #2887), or with icb_form = 'messages' as
  <InvalidChangeBatch><Messages><Message/>...</Messages><RequestId/>
  ([sdk-go]); an unknown hosted zone is 404 NoSuchHostedZone "No hosted
  zone found with ID: Z..." ([API]); throttling is HTTP 400 Throttling
  "Rate exceeded" and 400 PriorRequestNotComplete ([boto]; botocore
  _retry.json route53 policies);
- public and private hosted zones of one name: the default set has a
  private example.test (sorted before the public one: a lower id) that is
  never published into DNS;
- faults (inject()): '429' (Retry-After), '500', '503', 'throttling',
  'prior', 'malformed' (200 with cut-off XML), 'concurrent' (right before
  the batch is applied, another writer adds a TXT value at the batch's
  first name: the batch then fails with InvalidChangeBatch), and the base's
  'slow', 'reset', 'lost'.

The IMDSv2 emulator (ImdsEmulator) speaks plain HTTP on 127.0.0.1: PUT
/latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1..21600,
else 400) gives a token; every GET needs it in X-aws-ec2-metadata-token
(else 401); /latest/meta-data/iam/security-credentials/ lists the role,
.../ROLE gives {Code, LastUpdated, Type, AccessKeyId, SecretAccessKey,
Token, Expiration} (docs.aws.amazon.com/AWSEC2/latest/UserGuide/
instancedata-data-retrieval.html, iam/security-credentials/role-name).
"""

import datetime
import http.server
import json
import random
import secrets
import string
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import sigv4
from emulator_base import EmulatorBase, HandlerBase, HTTPError, Request, txt_strings
from emulator_base import SHARED_FAULTS

__all__ = ['Route53Emulator', 'ImdsEmulator', 'new_key_id', 'new_secret', 'XMLNS']

API = '/2013-04-01'
XMLNS = 'https://route53.amazonaws.com/doc/2013-04-01/'
NS = {'r': XMLNS}
REGION, SERVICE = 'us-east-1', 'route53'
ZONES_MAX_ITEMS = 100           # [API] ListHostedZonesByName maxitems
RRSETS_MAX_ITEMS = 300          # [API] ListResourceRecordSets maxitems
TTL_MAX = 2147483647            # [API] ResourceRecordSet TTL
INSYNC_DELAY = 0.5              # the real service: generally within 60 s ([API])
NAME_SERVERS = ['ns-1.awsdns-00.com', 'ns-2.awsdns-00.net']
# (name, private): a private zone of the same name as a public one, first
DEFAULT_ZONES = (('example.test', True), ('example.test', False), ('acme.test', False))
ACCOUNT = '123456789012'
FAULT_KINDS = ('429', '500', '503', 'throttling', 'prior', 'malformed', 'concurrent',
               'slow', 'reset', 'lost') + SHARED_FAULTS
ACTIONS = {('GET', 'zones'): 'route53:ListHostedZonesByName',
           ('GET', 'rrset'): 'route53:ListResourceRecordSets',
           ('POST', 'rrset'): 'route53:ChangeResourceRecordSets',
           ('GET', 'change'): 'route53:GetChange'}


def new_key_id():
    """An access key id in AWS's shape (AKIA + 16)."""
    return 'AKIA' + ''.join(random.choice(string.ascii_uppercase + string.digits)
                            for _ in range(16))


def new_secret():
    """A secret access key in AWS's shape (40 base64-ish characters)."""
    alphabet = string.ascii_letters + string.digits + '+/'
    return ''.join(secrets.choice(alphabet) for _ in range(40))


def _zone_id():
    return 'Z' + ''.join(random.choice(string.ascii_uppercase + string.digits)
                         for _ in range(13))


def _norm(name):
    """A name as the emulator keys it: lower case, no final dot, \\ooo decoded."""
    out, i = '', 0
    while i < len(name):
        if name[i] == '\\' and name[i + 1:i + 4].isdigit() and len(name[i + 1:i + 4]) == 3:
            out += chr(int(name[i + 1:i + 4], 8))
            i += 4
        else:
            out += name[i]
            i += 1
    return out.lower().rstrip('.')


def _shown(name):
    """A name as the API shows it: final dot, '*' as \\052 ([API])."""
    return name.replace('*', '\\052') + '.'


def _order(name):
    """Route 53's order: by the labels reversed ([API])."""
    return tuple(reversed(name.split('.')))


class APIError(HTTPError):
    def __init__(self, status, code, message, headers=None, messages=None):
        super().__init__(status, None, headers)
        self.code, self.message, self.messages = code, message, messages


class _Key:
    def __init__(self, akid, secret, label, actions, token, expired):
        self.akid, self.secret, self.label = akid, secret, label
        self.actions, self.token, self.expired = actions, token, expired


class Route53Emulator(EmulatorBase):
    API_PREFIX = ''
    TITLE = 'Route 53 emulator'
    FAULT_KINDS = FAULT_KINDS

    def __init__(self, workdir, publisher=None, ca=None, san='DNS:localhost,IP:127.0.0.1',
                 zones=DEFAULT_ZONES, name='route53'):
        super().__init__(workdir, publisher, ca, san, name)
        self._base_zones = tuple(zones)
        # stable ids; the private zone of a name sorts before its public one
        ids = sorted(_zone_id() for _ in zones)
        self._ids = {z: ids[i] for i, z in enumerate(zones)}
        self.zones = {}
        self.reset()

    def reset(self):
        """Between tests: the default zones (SOA and NS only; TXT records
        left in DNS removed), no keys, no faults, no changes, the default
        settings (insync_delay INSYNC_DELAY, publish_delay 0, page limits
        off, icb_form 'error')."""
        with self.lock:
            old = [(z['name'], z['private'], dict(z['rrsets'])) for z in self.zones.values()]
            self.zones = {}
            for (zname, private) in self._base_zones:
                self._add_zone(zname, private, self._ids[(zname, private)])
            for zname, private, rrsets in old:
                if not private:
                    self._publish_diff(zname, rrsets, {}, delay=0)
            self.keys = {}
            self.changes = {}
            self._reset_common()
            self.publish_delay = 0.0
            self.insync_delay = INSYNC_DELAY
            self.zone_page = None
            self.rrset_page = None
            self.icb_form = 'error'
            self.concurrent_writes = []
        self._reset_done()

    # ---- setup for tests ---------------------------------------------------

    def add_key(self, akid, secret, actions=None, token=None, expired=False, label=None):
        """An access key. actions: the route53:* actions its IAM policy
        allows (None: all); token: the session token it needs; expired:
        its session token has expired."""
        with self.lock:
            label = label or f'key{len(self.keys) + 1}'
            self.keys[akid] = _Key(akid, secret, label, actions, token, expired)
            return label

    def add_zone(self, name, private=False):
        with self.lock:
            return self._add_zone(name, private, _zone_id())['id']

    def _add_zone(self, name, private, zid):
        name = _norm(name)
        z = {'id': zid, 'name': name, 'private': private, 'ref': str(uuid.uuid4()),
             'rrsets': {(name, 'SOA'): {'ttl': 900, 'values': [
                 f'{NAME_SERVERS[0]}. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400']},
                 (name, 'NS'): {'ttl': 172800, 'values': [f'{n}.' for n in NAME_SERVERS]}}}
        self.zones[zid] = z
        return z

    def zone_id(self, name, private=False):
        with self.lock:
            for z in self.zones.values():
                if z['name'] == _norm(name) and z['private'] == private:
                    return z['id']
        return None

    def _zone_by_name(self, name):
        zid = self.zone_id(name)
        return self.zones.get(zid) if zid else None

    def rrset(self, name, rtype='TXT', zone='example.test', private=False):
        """(ttl, [values as stored, quoted]) at name, or None."""
        with self.lock:
            z = self.zones[self.zone_id(zone, private)]
            rs = z['rrsets'].get((_norm(name), rtype))
            return (rs['ttl'], list(rs['values'])) if rs else None

    def set_rrset(self, name, rtype, ttl, values, zone='example.test', private=False):
        """Put an RRset behind the API's back (values as stored; [] removes)."""
        with self.lock:
            z = self.zones[self.zone_id(zone, private)]
            before = dict(z['rrsets'])
            key = (_norm(name), rtype)
            if values:
                z['rrsets'][key] = {'ttl': ttl, 'values': list(values)}
            else:
                z['rrsets'].pop(key, None)
            if not private:
                self._publish_diff(z['name'], before, z['rrsets'])

    def inject(self, kind, count=1, method=None, path=None, delay=None, retry_after=None):
        """The next `count` requests with this method whose route contains
        `path` get the fault `kind` (FAULT_KINDS; see the module text)."""
        if kind == 'concurrent':
            method = 'POST'
        self._add_fault(kind, count, path=path, method=method, delay=delay,
                        retry_after=retry_after)

    # ---- DNS -----------------------------------------------------------------

    def _publish_diff(self, zone, old, new, delay=None):
        if not self.publisher or not self.publisher.serves(zone):
            return

        def txt(rrsets):
            out = {}
            for (name, rtype), rs in rrsets.items():
                if rtype == 'TXT':
                    for v in rs['values']:
                        out[(name, txt_strings(v), rs['ttl'])] = True
            return out
        o, n = txt(old), txt(new)
        ops = [('delete', k[0], k[1], k[2]) for k in o if k not in n] + \
              [('add', k[0], k[1], k[2]) for k in n if k not in o]
        if ops:
            self._queue_publish(zone, ops, delay)

    # ---- requests ----------------------------------------------------------------

    def _authenticate(self, method, raw_path, headers, body, req):
        akid = None
        auth = headers.get('Authorization', '')
        if 'Credential=' in auth:
            akid = auth.split('Credential=', 1)[1].split('/', 1)[0]
        key = self.keys.get(akid)
        keys = {akid: key.secret} if key else {}
        err = sigv4.verify(method, raw_path, headers, body, keys, REGION, SERVICE, time.time())
        req.auth = key.label if key and not err else ('invalid' if auth else None)
        if not auth:
            raise APIError(403, 'MissingAuthenticationToken',
                           'Missing Authentication Token')
        if err:
            code = err.split(':', 1)[0]
            if code == 'InvalidClientTokenId':
                raise APIError(403, code, 'The security token included in the request is '
                                          'invalid.')
            if code == 'IncompleteSignature':
                raise APIError(400, code, err.split(': ', 1)[-1])
            raise APIError(403, 'SignatureDoesNotMatch',
                           'The request signature we calculated does not match the signature '
                           'you provided. Check your AWS Secret Access Key and signing method. '
                           'Consult the service documentation for details.')
        if key.token is not None:
            if headers.get('X-Amz-Security-Token') != key.token:
                req.auth = 'invalid'
                raise APIError(403, 'InvalidClientTokenId', 'The security token included in '
                                                            'the request is invalid.')
            if key.expired:
                req.auth = 'expired'
                raise APIError(403, 'ExpiredToken', 'The security token included in the '
                                                    'request is expired')
        return key

    def _authorize(self, key, action, resource):
        if key.actions is not None and action not in key.actions:
            raise APIError(403, 'AccessDenied',
                           f'User: arn:aws:iam::{ACCOUNT}:user/{key.label} is not authorized '
                           f'to perform: {action} on resource: {resource} because no '
                           'identity-based policy allows the {action} action'
                           .replace('{action}', action))

    def handle(self, method, route, query, headers, body, raw_path, req, fault):
        """-> (status, xml bytes, headers)."""
        try:
            with self.lock:
                key = self._authenticate(method, raw_path, headers, body, req)
                return self._dispatch(key, method, route, query, body, req, fault)
        except APIError as e:
            return e.status, self._error(e), e.headers

    def _error(self, e):
        rid = str(uuid.uuid4())
        if e.code == 'InvalidChangeBatch' and self.icb_form == 'messages':
            msgs = ''.join(f'<Message>{escape(m)}</Message>' for m in e.messages or [e.message])
            return (f'<?xml version="1.0"?>\n<InvalidChangeBatch xmlns="{XMLNS}"><Messages>'
                    f'{msgs}</Messages><RequestId>{rid}</RequestId></InvalidChangeBatch>'
                    ).encode()
        typ = 'Receiver' if e.status >= 500 else 'Sender'
        return (f'<?xml version="1.0"?>\n<ErrorResponse xmlns="{XMLNS}"><Error><Type>{typ}'
                f'</Type><Code>{e.code}</Code><Message>{escape(e.message)}</Message></Error>'
                f'<RequestId>{rid}</RequestId></ErrorResponse>').encode()

    def _dispatch(self, key, method, route, query, body, req, fault):
        segs = [s for s in route.split('/') if s]
        if not segs or '/' + segs[0] != API:
            raise APIError(404, 'UnknownOperationException', 'Unknown operation')  # guess
        segs = segs[1:]
        if segs == ['hostedzonesbyname'] and method == 'GET':
            self._authorize(key, ACTIONS[('GET', 'zones')], '*')
            return self._list_zones(query)
        if len(segs) == 3 and segs[0] == 'hostedzone' and segs[2] == 'rrset' and \
                method in ('GET', 'POST'):
            self._authorize(key, ACTIONS[(method, 'rrset')],
                            f'arn:aws:route53:::hostedzone/{segs[1]}')
            z = self.zones.get(segs[1])
            if z is None:
                raise APIError(404, 'NoSuchHostedZone', f'No hosted zone found with ID: '
                                                        f'{segs[1]}')
            if method == 'GET':
                return self._list_rrsets(z, query)
            return self._change(z, body, req, fault)
        if len(segs) == 2 and segs[0] == 'change' and method == 'GET':
            self._authorize(key, ACTIONS[('GET', 'change')],
                            f'arn:aws:route53:::change/{segs[1]}')
            return self._get_change(segs[1])
        raise APIError(404, 'UnknownOperationException', 'Unknown operation')  # guess

    @staticmethod
    def _max_items(query, cap):
        v = query.get('maxitems')
        if v is None:
            return cap
        if not v.isdigit() or int(v) < 1:
            raise APIError(400, 'InvalidInput', f'1 validation error detected: maxitems {v}')
        return min(int(v), cap)

    def _list_zones(self, query):
        dnsname, zid = query.get('dnsname'), query.get('hostedzoneid')
        if zid and not dnsname:
            raise APIError(400, 'InvalidInput', 'hostedzoneid requires dnsname')
        n = self._max_items(query, ZONES_MAX_ITEMS)
        if self.zone_page:
            n = min(n, self.zone_page)
        zs = sorted(self.zones.values(), key=lambda z: (_order(z['name']), z['id']))
        if dnsname:
            start = (_order(_norm(dnsname)), zid or '')
            zs = [z for z in zs if (_order(z['name']), z['id']) >= start]
        page, rest = zs[:n], zs[n:]
        items = ''.join(
            f'<HostedZone><Id>/hostedzone/{z["id"]}</Id><Name>{_shown(z["name"])}</Name>'
            f'<CallerReference>{z["ref"]}</CallerReference><Config><Comment>emulated'
            f'</Comment><PrivateZone>{"true" if z["private"] else "false"}</PrivateZone>'
            f'</Config><ResourceRecordSetCount>{len(z["rrsets"])}</ResourceRecordSetCount>'
            f'</HostedZone>' for z in page)
        more = (f'<NextDNSName>{_shown(rest[0]["name"])}</NextDNSName>'
                f'<NextHostedZoneId>{rest[0]["id"]}</NextHostedZoneId>') if rest else ''
        head = f'<DNSName>{escape(dnsname)}</DNSName>' if dnsname else ''
        if zid:
            head += f'<HostedZoneId>{escape(zid)}</HostedZoneId>'
        return 200, (f'<?xml version="1.0"?>\n<ListHostedZonesByNameResponse xmlns="{XMLNS}">'
                     f'<HostedZones>{items}</HostedZones>{head}<IsTruncated>'
                     f'{"true" if rest else "false"}</IsTruncated>{more}<MaxItems>{n}'
                     f'</MaxItems></ListHostedZonesByNameResponse>').encode(), {}

    def _list_rrsets(self, z, query):
        name, rtype = query.get('name'), query.get('type')
        if rtype and not name:
            raise APIError(400, 'InvalidInput', 'type requires name')
        n = self._max_items(query, RRSETS_MAX_ITEMS)
        if self.rrset_page:
            n = min(n, self.rrset_page)
        keys = sorted(z['rrsets'], key=lambda k: (_order(k[0]), k[1]))
        if name:
            start = (_order(_norm(name)), rtype or '')
            keys = [k for k in keys if (_order(k[0]), k[1]) >= start]
        page, rest = keys[:n], keys[n:]
        items = ''
        for k in page:
            rs = z['rrsets'][k]
            vals = ''.join(f'<ResourceRecord><Value>{escape(v)}</Value></ResourceRecord>'
                           for v in rs['values'])
            items += (f'<ResourceRecordSet><Name>{_shown(k[0])}</Name><Type>{k[1]}</Type>'
                      f'<TTL>{rs["ttl"]}</TTL><ResourceRecords>{vals}</ResourceRecords>'
                      f'</ResourceRecordSet>')
        more = (f'<NextRecordName>{_shown(rest[0][0])}</NextRecordName>'
                f'<NextRecordType>{rest[0][1]}</NextRecordType>') if rest else ''
        return 200, (f'<?xml version="1.0"?>\n<ListResourceRecordSetsResponse xmlns="{XMLNS}">'
                     f'<ResourceRecordSets>{items}</ResourceRecordSets><IsTruncated>'
                     f'{"true" if rest else "false"}</IsTruncated>{more}<MaxItems>{n}'
                     f'</MaxItems></ListResourceRecordSetsResponse>').encode(), {}

    def _parse_batch(self, body):
        try:
            root = ET.fromstring(body)
        except ET.ParseError as e:
            raise APIError(400, 'InvalidInput', f'Invalid XML ; {e}')  # guess
        if root.tag != f'{{{XMLNS}}}ChangeResourceRecordSetsRequest':
            raise APIError(400, 'InvalidInput', 'Invalid XML ; unexpected root')  # guess
        changes = root.findall('r:ChangeBatch/r:Changes/r:Change', NS)
        if not changes:
            raise APIError(400, 'InvalidInput', 'Invalid XML ; no Change')  # guess
        out = []
        for c in changes:
            action = c.findtext('r:Action', None, NS)
            rs = c.find('r:ResourceRecordSet', NS)
            if action not in ('CREATE', 'DELETE', 'UPSERT') or rs is None:
                raise APIError(400, 'InvalidInput', 'Invalid XML ; Action')  # guess
            name, rtype = rs.findtext('r:Name', '', NS), rs.findtext('r:Type', '', NS)
            ttl = rs.findtext('r:TTL', None, NS)
            vals = [v.text or '' for v in rs.findall(
                'r:ResourceRecords/r:ResourceRecord/r:Value', NS)]
            if ttl is None or not ttl.isdigit() or int(ttl) > TTL_MAX:
                raise APIError(400, 'InvalidInput', f'Invalid TTL {ttl}')  # guess
            out.append((action, _norm(name), rtype, int(ttl), vals))
        return out

    def _change(self, z, body, req, fault):
        batch = self._parse_batch(body)
        req.batch = [(a, n, t, ttl, len(v)) for a, n, t, ttl, v in batch]
        if fault and fault['kind'] == 'concurrent':
            # another writer gets in first (its own value at the batch's first name)
            _, name, rtype, ttl, _ = batch[0]
            before = dict(z['rrsets'])
            mine = f'"concurrent-{len(self.concurrent_writes) + 1}"'
            cur = z['rrsets'].get((name, 'TXT'))
            z['rrsets'][(name, 'TXT')] = {'ttl': cur['ttl'] if cur else ttl,
                                         'values': (cur['values'] if cur else []) + [mine]}
            self.concurrent_writes.append(mine)
            if not z['private']:
                self._publish_diff(z['name'], before, z['rrsets'])
        work = {k: {'ttl': v['ttl'], 'values': list(v['values'])}
                for k, v in z['rrsets'].items()}
        for action, name, rtype, ttl, vals in batch:
            shown = f"[name='{_shown(name)}', type='{rtype}']"
            if not (name == z['name'] or name.endswith('.' + z['name'])):
                raise APIError(400, 'InvalidChangeBatch', f'RRSet with DNS name '
                               f'{_shown(name)} is not permitted in zone {_shown(z["name"])}')
            for v in vals:
                if rtype == 'TXT' and not (len(v) >= 2 and v[0] == '"' and v[-1] == '"'):
                    raise APIError(400, 'InvalidChangeBatch', 'Invalid Resource Record: '
                                   'FATAL problem: InvalidCharacterString (Value should be '
                                   f"enclosed in quotation marks) encountered with '{v}'")
            cur = work.get((name, rtype))
            if action == 'CREATE' and cur:
                raise APIError(400, 'InvalidChangeBatch', f'Tried to create resource record '
                               f'set {shown} but it already exists')
            if action == 'DELETE':
                if not cur:
                    raise APIError(400, 'InvalidChangeBatch', f'Tried to delete resource '
                                   f'record set {shown} but it was not found')
                if cur['ttl'] != ttl or sorted(cur['values']) != sorted(vals):
                    raise APIError(400, 'InvalidChangeBatch', f'Tried to delete resource '
                                   f'record set {shown} but the values provided do not '
                                   'match the current values')
                del work[(name, rtype)]
            else:
                if not vals:
                    raise APIError(400, 'InvalidInput', 'ResourceRecords empty')  # guess
                work[(name, rtype)] = {'ttl': ttl, 'values': vals}
        before, z['rrsets'] = z['rrsets'], work
        if not z['private']:
            self._publish_diff(z['name'], before, work)
        cid = 'C' + ''.join(random.choice(string.ascii_uppercase + string.digits)
                            for _ in range(20))
        self.changes[cid] = {'at': time.monotonic(), 'insync_seen': None}
        req.change = cid
        return 200, (f'<?xml version="1.0"?>\n<ChangeResourceRecordSetsResponse xmlns="{XMLNS}">'
                     f'<ChangeInfo><Id>/change/{cid}</Id><Status>PENDING</Status><SubmittedAt>'
                     f'{_now()}</SubmittedAt><Comment>dns01</Comment></ChangeInfo>'
                     f'</ChangeResourceRecordSetsResponse>').encode(), {}

    def _get_change(self, cid):
        c = self.changes.get(cid)
        if c is None:
            raise APIError(404, 'NoSuchChange', f'A change with the specified change ID does '
                                                f'not exist: {cid}')
        status = 'INSYNC' if time.monotonic() - c['at'] >= self.insync_delay else 'PENDING'
        if status == 'INSYNC' and c['insync_seen'] is None:
            c['insync_seen'] = time.monotonic()
        return 200, (f'<?xml version="1.0"?>\n<GetChangeResponse xmlns="{XMLNS}"><ChangeInfo>'
                     f'<Id>/change/{cid}</Id><Status>{status}</Status><SubmittedAt>{_now()}'
                     f'</SubmittedAt></ChangeInfo></GetChangeResponse>').encode(), {}


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')[:-4] \
        + 'Z'


class _Handler(HandlerBase):
    SERVER = ''

    def _serve(self):
        emu = self.server.emu
        t = time.monotonic()
        body = self._read_body()
        path, _, qs = self.path.partition('?')
        query = dict(urllib.parse.parse_qsl(qs, keep_blank_values=True))
        req = Request(self.command, path, query, None, t)
        req.batch = req.change = None
        self._arrived(emu, req, None)
        fault = emu._take_fault(self.command, path)
        headers = {'x-amzn-RequestId': str(uuid.uuid4())}
        if fault and fault['kind'] != 'concurrent':
            fault = self._common_fault(emu, req, fault, lambda: emu.handle(
                self.command, path, query, self.headers, body, self.path, req, None))
            if fault == 'dropped':
                return
        if fault and fault['kind'] != 'concurrent':
            kind = fault['kind']
            if kind == 'malformed':
                status, data = 200, (f'<?xml version="1.0"?>\n<ListHostedZonesByNameResponse '
                                     f'xmlns="{XMLNS}"><HostedZones><HostedZone><Id>'
                                     '/hostedzone/Z').encode()
            else:
                status, code, msg = {
                    '429': (429, 'Throttling', 'Rate exceeded'),
                    '500': (500, 'InternalFailure', 'Internal failure'),          # guess
                    '503': (503, 'ServiceUnavailable', 'Service unavailable'),    # guess
                    'throttling': (400, 'Throttling', 'Rate exceeded'),
                    'prior': (400, 'PriorRequestNotComplete', 'The request was rejected '
                              'because Route 53 was still processing a prior request.'),
                }[kind]
                data = emu._error(APIError(status, code, msg))
                if fault['retry_after'] is not None:
                    headers['Retry-After'] = str(fault['retry_after'])
        else:
            status, data, more = emu.handle(self.command, path, query, self.headers, body,
                                            self.path, req, fault)
            headers.update(more)
        self._reply(emu, req, status, 'text/xml', data, headers)

    def _described(self, req):
        q = ('?' + '&'.join(f'{k}={v}' for k, v in req.query.items())) if req.query else ''
        b = f' {req.batch}' if req.batch else ''
        return f'{req.route}{q} auth={req.auth}{b}'


Route53Emulator.HANDLER = _Handler


# --------------------------------------------------------------------------
# IMDSv2
# --------------------------------------------------------------------------

class ImdsEmulator:
    """The instance metadata service: plain HTTP on 127.0.0.1 (the tests'
    stand-in for 169.254.169.254), IMDSv2 only (see the module text)."""

    def __init__(self, name='imds'):
        self.name = name
        self.lock = threading.Lock()
        self.reset()
        self._server = None

    def reset(self):
        with getattr(self, 'lock', threading.Lock()):
            self.role = None          # (name, akid, secret, token)
            self.tokens = set()
            self.log = []             # (monotonic time, method, path, status)

    def set_role(self, role, akid, secret, token):
        with self.lock:
            self.role = (role, akid, secret, token)

    @property
    def url(self):
        return f'http://127.0.0.1:{self.port}'

    def start(self):
        emu = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *a):
                pass

            def _send(self, status, text, ctype='text/plain'):
                data = text.encode()
                with emu.lock:
                    emu.log.append((time.monotonic(), self.command, self.path, status))
                self.send_response(status)
                self.send_header('Content-Type', ctype)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):
                n = int(self.headers.get('Content-Length') or 0)
                if n:
                    self.rfile.read(n)
                ttl = self.headers.get('X-aws-ec2-metadata-token-ttl-seconds', '')
                if self.path != '/latest/api/token':
                    return self._send(404, 'Not Found')
                if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                    return self._send(400, 'Bad Request')
                tok = secrets.token_urlsafe(40)
                with emu.lock:
                    emu.tokens.add(tok)
                self._send(200, tok)

            def do_GET(self):
                with emu.lock:
                    ok = self.headers.get('X-aws-ec2-metadata-token') in emu.tokens
                    role = emu.role
                if not ok:
                    return self._send(401, 'Unauthorized')
                base = '/latest/meta-data/iam/security-credentials/'
                if self.path == base and role:
                    return self._send(200, role[0])
                if role and self.path == base + role[0]:
                    now = datetime.datetime.now(datetime.timezone.utc)
                    return self._send(200, json.dumps({
                        'Code': 'Success', 'LastUpdated': now.strftime('%Y-%m-%dT%H:%M:%SZ'),
                        'Type': 'AWS-HMAC', 'AccessKeyId': role[1],
                        'SecretAccessKey': role[2], 'Token': role[3],
                        'Expiration': (now + datetime.timedelta(hours=6))
                        .strftime('%Y-%m-%dT%H:%M:%SZ')}, indent=2))
                self._send(404, 'Not Found')

        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name=f'{self.name}-http').start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
