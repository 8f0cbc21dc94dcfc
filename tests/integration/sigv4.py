"""Verify AWS Signature Version 4 on a request, as an AWS service does.

For the tests' API emulators (Python 3 standard library only). The algorithm
is AWS's public specification: "Create a signed AWS API request" and
"Elements of an AWS API request signature" (docs.aws.amazon.com/IAM/latest/
UserGuide/reference_sigv-create-signed-request.html): a canonical request
(method, URI-encoded path, sorted query, the signed headers lower-cased and
trimmed, the signed header names, the hex SHA-256 of the payload), a string
to sign ("AWS4-HMAC-SHA256", the X-Amz-Date, the scope date/region/service/
aws4_request, the hex SHA-256 of the canonical request), and an HMAC-SHA256
chain from "AWS4" + secret over date, region, service and "aws4_request".

    err = verify(method, raw_path, headers, body, keys={'AKID': 'secret'},
                 region='us-east-1', service='route53', now=time.time())
    err is None when the signature holds, else the reason (the text AWS would
    put in its error, e.g. "SignatureDoesNotMatch").
"""

import datetime
import hashlib
import hmac
import re
import urllib.parse

_AUTH_RE = re.compile(r'^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/'
                      r'aws4_request,\s*SignedHeaders=([a-z0-9\-;]+),\s*Signature=([0-9a-f]{64})$')
# AWS refuses a request whose X-Amz-Date is more than 5 minutes off
# ("Signature expired" / RequestTimeTooSkewed, same IAM page, "Signature
# Version 4 time stamps").
MAX_SKEW_S = 300


def _uri_encode(s, keep_slash):
    # Unreserved characters stay as they are, everything else %XX in upper
    # case (the IAM page, "URI-encode each URI component").
    return urllib.parse.quote(s, safe='/-_.~' if keep_slash else '-_.~')


def _canonical_query(query):
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    enc = sorted((_uri_encode(k, False), _uri_encode(v, False)) for k, v in pairs)
    return '&'.join(f'{k}={v}' for k, v in enc)


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def verify(method, raw_path, headers, body, keys, region, service, now):
    """None when headers carry a valid SigV4 signature of the request made
    with one of keys {access key id: secret}, for region and service."""
    auth = headers.get('Authorization', '')
    m = _AUTH_RE.match(auth)
    if not m:
        return 'IncompleteSignature: no AWS4-HMAC-SHA256 Authorization header'
    akid, date, reg, svc, signed, sig = m.groups()
    if akid not in keys:
        return 'InvalidClientTokenId: the access key id is not known'
    if reg != region or svc != service:
        return f'SignatureDoesNotMatch: scope {reg}/{svc}, expected {region}/{service}'
    amz_date = headers.get('X-Amz-Date', '')
    try:
        t = datetime.datetime.strptime(amz_date, '%Y%m%dT%H%M%SZ').replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        return 'IncompleteSignature: no valid X-Amz-Date'
    if amz_date[:8] != date:
        return 'SignatureDoesNotMatch: the credential date is not the X-Amz-Date day'
    if abs(t.timestamp() - now) > MAX_SKEW_S:
        return 'SignatureDoesNotMatch: Signature expired (X-Amz-Date too far from now)'
    names = signed.split(';')
    if 'host' not in names:
        return 'SignatureDoesNotMatch: the Host header is not signed'
    path, _, query = raw_path.partition('?')
    canon_headers = ''
    for n in names:
        v = headers.get(n)
        if v is None:
            return f'SignatureDoesNotMatch: signed header {n} is missing'
        canon_headers += f'{n}:{" ".join(v.split())}\n'
    payload = hashlib.sha256(body or b'').hexdigest()
    creq = '\n'.join([method, _uri_encode(urllib.parse.unquote(path) or '/', True),
                      _canonical_query(query), canon_headers, signed, payload])
    scope = f'{date}/{reg}/{svc}/aws4_request'
    sts = '\n'.join(['AWS4-HMAC-SHA256', amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = _hmac(('AWS4' + keys[akid]).encode(), date)
    for part in (reg, svc, 'aws4_request'):
        k = _hmac(k, part)
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):
        return 'SignatureDoesNotMatch: the signature does not match'
    return None
