#!/usr/bin/python3
"""Write the seed corpus of each fuzz target to tests/fuzz/corpus/TARGET/.

Run from the top of the tree after changing a target's input format
(make fuzz only reads the corpus).  Each seed is a small input that
reaches one interesting path: real config examples, hook argv/env as the
ACME clients pass them, canned DNS packets, recorded API answers (in the
shapes the emulators in tests/integration/ serve), state file lines.
"""
import base64
import glob
import hashlib
import os
import struct
import sys

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)))
VALUE = b"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
TOKEN = b"0123456789abcdef"


def put(target, name, data):
    d = os.path.join(TOP, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- DNS wire
def wname(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rr(owner, rtype, rdata, ttl=60, cls=1):
    return wname(owner) + struct.pack(">HHIH", rtype, cls, ttl, len(rdata)) + rdata


def txt(*strings):
    return b"".join(bytes([len(s)]) + s for s in strings)


def soa(mname="ns1.example.test", rname="hostmaster.example.test", serial=1):
    return wname(mname) + wname(rname) + struct.pack(">IIIII", serial, 3600, 600, 86400, 60)


def packet(qname, qtype, an=(), ns=(), ar=(), ident=0x1234, aa=True, rcode=0, tc=False,
           opcode=0):
    flags = 0x8000 | (opcode << 11) | (0x0400 if aa else 0) | (0x0200 if tc else 0) | rcode
    head = struct.pack(">HHHHHH", ident, flags, 1 if qname else 0, len(an), len(ns), len(ar))
    q = wname(qname) + struct.pack(">HH", qtype, 1) if qname else b""
    return head + q + b"".join(an) + b"".join(ns) + b"".join(ar)


A, NS, CNAME, SOA, TXT, AAAA, DNAME, CAA = 1, 2, 5, 6, 16, 28, 39, 257
CH = "_acme-challenge.www.example.test"


def dns_packets():
    """(name, wire) of answers discovery and the wait get (cf. test_answer.c)."""
    z = "example.test"
    return [
        ("soa-apex", packet(z, SOA, an=[rr(z, SOA, soa())])),
        ("nodata-soa", packet(CH, SOA, ns=[rr(z, SOA, soa())])),
        ("nxdomain-soa", packet(CH, SOA, ns=[rr(z, SOA, soa())], rcode=3)),
        ("cname", packet(CH, SOA, an=[rr(CH, CNAME, wname("_acme-challenge.other.test"))])),
        ("dname", packet(CH, SOA, an=[rr("www.example.test", DNAME, wname("w.other.test"))])),
        ("referral", packet(CH, SOA, aa=False, ns=[rr("www.example.test", NS,
                                                        wname("ns.child.test"))],
                            ar=[rr("ns.child.test", A, bytes([192, 0, 2, 1])),
                                rr("ns.child.test", AAAA, bytes(15) + b"\1")])),
        ("refused", packet(CH, SOA, aa=False, rcode=5)),
        ("txt-two", packet(CH, TXT, an=[rr(CH, TXT, txt(VALUE)),
                                        rr(CH, TXT, txt(b"x", b"\0\xff\"\\"))])),
        ("txt-multi", packet(CH, TXT, an=[rr(CH, TXT, txt(VALUE[:20], VALUE[20:]))])),
        ("txt-tc", packet(CH, TXT, tc=True)),
        ("caa", packet(z, CAA, an=[rr(z, CAA, b"\0\x05issueletsencrypt.org"),
                                   rr(z, CAA, b"\x80\x03xyzcritical")])),
        ("compressed", packet(z, SOA, an=[b"\xc0\x0c" + struct.pack(">HHIH", SOA, 1, 60, 22)
                                          + b"\xc0\x0c\xc0\x0c" + bytes(20)])),
    ]


def answer():
    for name, wire in dns_packets():
        qn = CH if name != "soa-apex" and name != "caa" and name != "compressed" else "example.test"
        put("answer", name, qn.encode() + b"\0example.test\0" + wire)


def tsig():
    update_ok = packet("example.test", SOA, opcode=5)
    for i, alg in enumerate(range(6)):
        mode = alg | 8
        # built: right MAC, time now, fudge 300, no error, no other data
        body = struct.pack(">hHHB", 0, 300, 0, 0) + b"\0" + update_ok
        put("tsig", "built-alg%d" % alg, bytes([mode, 32]) + bytes(range(32)) + body)
    body = struct.pack(">hHHB", 100, 300, 0, 0) + b"\1" + update_ok
    put("tsig", "built-badmac", bytes([0x0b, 0]) + body)
    body = struct.pack(">hHHB", 0, 300, 18, 6) + bytes(6) + b"\0" + update_ok
    put("tsig", "built-badtime", bytes([0x0b, 0]) + body)
    put("tsig", "raw-unsigned", bytes([3, 0]) + update_ok)
    put("tsig", "raw-tsig", bytes([3, 0]) + update_ok[:10] + b"\0\1" + update_ok[12:] +
        rr("dns01-key.example", 250, wname("hmac-sha256") + bytes(6) + b"\1\x2c\0\x20" +
           bytes(32) + b"\x12\x34\0\0\0\0", ttl=0, cls=255))


# ------------------------------------------------------------------ config
def config():
    for path in sorted(glob.glob(os.path.join(TOP, "..", "..", "examples", "*.conf"))):
        with open(path, "rb") as f:
            put("config", os.path.basename(path), f.read())
    put("config", "ini-aws", b"[default]\naws_access_key_id = AKIDEXAMPLE\n"
        b"aws_secret_access_key: secret\n; comment\n[profile dns01]\n"
        b"aws_session_token=tok\n")
    put("config", "two-providers", b"\xef\xbb\xbf[dns01]\ntimeout = 120\nttl = 30\n"
        b"resolvers = 127.0.0.1, [::1]:5353\nstate_dir = /tmp/x\n"
        b"[provider a]\ntype = rfc2136\nserver = 127.0.0.1\nzones = example.test, "
        b"other.test.\ntsig_key = k\ntsig_algorithm = hmac-sha256\ntsig_secret = c2VjcmV0\n"
        b"[provider b]\ntype = cloudflare\napi_token = x\n")
    put("config", "credentials", b"[provider c]\ntype = rfc2136\ncredentials = /dev/null\n")


def name():
    for i, (n, v, k) in enumerate([
            (b"example.com", VALUE, TOKEN + b"." + b"thumb"),
            (b"*.Example.COM.", b"any printable text", TOKEN),
            (b"_acme-challenge.xn--bcher-kva.example", VALUE, b"tok.en.x"),
            (b"a" * 63 + b"." + b"b" * 63 + b"." + b"c" * 63 + b"." + b"d" * 61, b"", b""),
            (b"-bad-.com", b"\x01\x7f", b"x.y"),
    ]):
        put("name", "seed%d" % i, n + b"\0" + v + b"\0" + k)


# ------------------------------------------------------------------- hooks
def hook(target, word, argv, env):
    data = bytes([word]) + b"\0".join(argv + [b""] + env)
    h = hashlib.sha1(data).hexdigest()[:12]
    put(target, h, data)


def hooks():
    for w in (0, 1):
        hook("certbot", w, [], [b"CERTBOT_DOMAIN=example.test", b"CERTBOT_VALIDATION=" + VALUE,
                               b"CERTBOT_REMAINING_CHALLENGES=1",
                               b"CERTBOT_ALL_DOMAINS=example.test,*.example.test",
                               b"CERTBOT_AUTH_OUTPUT=dns01 certbot-0123456789abcdef "
                               + TOKEN + b" 1234abcd"])
    hook("certbot", 1, [], [b"CERTBOT_DOMAIN=*.example.test", b"CERTBOT_VALIDATION=" + VALUE,
                           b"CERTBOT_REMAINING_CHALLENGES=0",
                           b"CERTBOT_AUTH_OUTPUT=dns01 certbot-0123456789abcdef -"])
    hook("certbot", 0, [b"-v", b"--timeout", b"90"], [b"CERTBOT_DOMAIN=example.test"])
    for w in (0, 1):
        hook("dehydrated", w, [b"example.test", b"tokenfile", VALUE, b"*.example.test",
                               b"tokenfile2", VALUE], [b"BASEDIR=/etc/dehydrated"])
    hook("dehydrated", 4, [], [b"BASEDIR=/etc/dehydrated", b"CERTDIR=/etc/dehydrated/certs"])
    hook("dehydrated", 2, [b"example.test", b"privkey.pem", b"cert.pem"], [])
    for w in (0, 1):
        hook("lego", w, [b"_acme-challenge.example.test.", VALUE], [b"EXEC_PATH=/usr/bin/dns01"])
    hook("lego", 0, [b"--", b"example.test", b"tok", b"tok.thumbprint"], [b"EXEC_MODE=RAW"])
    hook("lego", 1, [b"-c", b"/etc/dns01/dns01.conf", b"--", b"*.example.test", b"t", b"t.x"],
         [])
    for w in (0, 1, 2):
        hook("uacme", w, [b"dns-01", b"example.test", b"tok", VALUE], [])
    hook("uacme", 0, [b"http-01", b"example.test", b"tok", b"tok.thumb"], [])
    hook("uacme", 0, [b"-q", b"tls-alpn-01", b"\x1b[31mred", b"t", b"a"], [])


# ------------------------------------------------------------------- state
def state():
    put("ledger", "lines", b"1700000100.250 1700000090.125 1 10 _acme-challenge.example.test\n"
        b"1700000200 1699999990 p 60 _acme-challenge.www.example.test\n"
        b"1600000000 1599999990 0 60 old.example.test\n"
        b"garbage line\n1700000100 1700000090 1 10 unterminated.test")
    put("ledger", "empty", b"")
    put("state", "ledger", b"\0" + b"1700000100.250 1700000090.125 1 10 "
        b"_acme-challenge.example.test\n9999999999 1 1 86400 _acme-challenge.example.test\n")
    put("state", "arrivals", b"\1" + b"1700000000.250 example.test 127.0.0.1 1.5,2,0.125\n"
        b"1700000000 example.test [::1]:5353 0.5\nbad\n")
    put("state", "empty-ledger", b"\0")
    tok2 = b"fedcba9876543210"
    put("journal", "lines", b"1700000000 2 " + TOKEN + b" certbot-0123456789abcdef "
        b"_acme-challenge.example.test " + VALUE + b" 1234abcd\n"
        b"1699999000 0 " + tok2 + b" - _acme-challenge.*.example.test " + VALUE + b" -\n"
        b"1699999000 1 " + tok2 + b" - _acme-challenge.example.test some-value zone:rec\n"
        b"1 3 0123 - x y -\n")


def main():
    config()
    name()
    hooks()
    answer()
    tsig()
    state()
    providers()


# --------------------------------------------------------------- providers
V1 = VALUE.decode()
V2 = "Ma9Y0c7bDt0xJ6cQh4n8pP3p5x8X2sF1yQeWzYqR2kA"
N1 = "_acme-challenge.example.test"
N2 = "_acme-challenge.www.example.test"


def http_seed(target, name, flags, answers):
    """answers: (status, body) pairs, body str or bytes (provider.h's format)."""
    out = []
    for status, body in answers:
        if isinstance(body, str):
            body = body.encode()
        out.append(str(status).encode() + b"\n" + body)
    put(target, name, bytes([flags]) + b"\0".join(out))


def cf_ok(result, info=None):
    import json
    d = {"success": True, "errors": [], "messages": [], "result": result}
    if info:
        d["result_info"] = info
    return json.dumps(d)


def cloudflare():
    import json
    zid, rid = "023e105f4ecef8ad9ca31a8372d0c353", "372e67954025e0ba6aaa6d586b9e0b59"
    zone = {"id": zid, "name": "example.test", "status": "active",
            "account": {"id": "01a7362d577a6c3019a474fd6f485823", "name": "acct"},
            "permissions": ["#dns_records:edit"]}
    info = {"page": 1, "per_page": 50, "count": 1, "total_count": 1, "total_pages": 1}
    rec = {"id": rid, "type": "TXT", "name": N1, "content": '"%s"' % V1, "ttl": 60,
           "zone_id": zid, "zone_name": "example.test"}
    zones = (200, cf_ok([zone], info))
    empty = (200, cf_ok([], dict(info, count=0, total_count=0)))
    listed = (200, cf_ok([rec], info))
    created = (200, cf_ok(rec))
    http_seed("cloudflare", "add", 0, [zones, created])
    http_seed("cloudflare", "add-there", 0, [zones, (400, json.dumps(
        {"success": False, "errors": [{"code": 81058, "message": "An identical record already "
                                       "exists."}], "messages": [], "result": None})), listed])
    http_seed("cloudflare", "add-two", 4, [zones, created,
                                          (200, cf_ok(dict(rec, name=N2, id=rid[:-1] + "1")))])
    http_seed("cloudflare", "del", 1, [zones, listed, (200, cf_ok({"id": rid}))])
    http_seed("cloudflare", "del-ids", 9, [(200, cf_ok({"id": rid})), (404, json.dumps(
        {"success": False, "errors": [{"code": 81044, "message": "Record does not exist."}],
         "messages": [], "result": None}))])
    http_seed("cloudflare", "verify", 2, [(200, cf_ok({"id": "ed17574386854bf78a67040be0a770b0",
                                                      "status": "active"})), zones])
    http_seed("cloudflare", "zone-id", 16, [(200, cf_ok(zone)), created])
    http_seed("cloudflare", "auth-error", 0, [(403, json.dumps(
        {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}],
         "messages": [], "result": None}))])
    http_seed("cloudflare", "rate", 0, [(429, json.dumps(
        {"success": False, "errors": [{"code": 971, "message": "Please wait and consider "
                                       "throttling your request speed"}]}))])
    http_seed("cloudflare", "add-then-del", 32, [zones, created, listed,
                                                (200, cf_ok({"id": rid}))])


def sakuracloud():
    import json
    item = {"ID": "112900000001", "Name": "example.test", "Status": {"Zone": "example.test"},
            "Provider": {"Class": "dns"},
            "Settings": {"DNS": {"ResourceRecordSets": [
                {"Name": "www", "Type": "A", "RData": "192.0.2.1", "TTL": 300},
                {"Name": "_acme-challenge", "Type": "TXT", "RData": "other &amp; &quot;x&quot;",
                 "TTL": 60}]}},
            "SettingsHash": "8a2b6c0c3b9d4e5f"}
    lst = (200, json.dumps({"From": 0, "Count": 1, "Total": 1, "CommonServiceItems": [item],
                            "is_ok": True}))
    one = (200, json.dumps({"CommonServiceItem": item, "is_ok": True}))
    item2 = json.loads(json.dumps(item))
    item2["Settings"]["DNS"]["ResourceRecordSets"].append(
        {"Name": "_acme-challenge", "Type": "TXT", "RData": V1, "TTL": 60})
    one2 = (200, json.dumps({"CommonServiceItem": item2, "is_ok": True, "Success": True}))
    http_seed("sakuracloud", "add", 0, [lst, one, one2, one2])
    http_seed("sakuracloud", "del", 1, [lst, one2, one, one])
    http_seed("sakuracloud", "verify", 2, [lst, one])
    http_seed("sakuracloud", "confirm", 3, [lst, one, one2, one2])
    http_seed("sakuracloud", "add-two-then-del", 36, [lst, one, one2, one2, one2, one, one])
    http_seed("sakuracloud", "err", 0, [(401, json.dumps(
        {"is_fatal": True, "serial": "x", "status": "401 Unauthorized",
         "error_code": "unauthorized", "error_msg": "&#12456;&#12521;&#12540; \\u00e9"}))])
    http_seed("sakuracloud", "conflict", 0, [lst, one, (409, json.dumps(
        {"is_fatal": True, "status": "409 Conflict", "error_code": "conflict",
         "error_msg": "x"})), one, one2, one2])


def google():
    import json
    tok = (200, json.dumps({"access_token": "ya29.fuzz", "expires_in": 3599,
                            "token_type": "Bearer"}))
    zones = (200, json.dumps({"kind": "dns#managedZonesListResponse", "managedZones": [
        {"kind": "dns#managedZone", "name": "example-test", "dnsName": "example.test.",
         "id": "1234567890", "visibility": "public"}]}))
    rrs = (200, json.dumps({"kind": "dns#resourceRecordSetsListResponse", "rrsets": [
        {"kind": "dns#resourceRecordSet", "name": N1 + ".", "type": "TXT", "ttl": 60,
         "rrdatas": ['"other"', '"a" "b"']}]}))
    none = (200, json.dumps({"kind": "dns#resourceRecordSetsListResponse", "rrsets": []}))
    change = (200, json.dumps({"kind": "dns#change", "id": "7", "status": "pending",
                               "additions": [], "deletions": []}))
    done = (200, json.dumps({"kind": "dns#change", "id": "7", "status": "done"}))
    mine = (200, json.dumps({"rrsets": [{"name": N1 + ".", "type": "TXT", "ttl": 60,
                                         "rrdatas": ['"%s"' % V1, '"other"']}]}))
    http_seed("google", "add", 0, [tok, zones, rrs, change, done, mine])
    http_seed("google", "add-empty", 0, [tok, zones, none, change, done, mine])
    http_seed("google", "del", 1, [tok, zones, mine, change, done, rrs])
    http_seed("google", "verify", 2, [tok, zones])
    http_seed("google", "zone-id", 16, [tok, (200, json.dumps(
        {"kind": "dns#managedZone", "name": "example-test", "dnsName": "example.test."})),
        none, change, done, mine])
    http_seed("google", "err", 0, [tok, (403, json.dumps({"error": {
        "code": 403, "message": "Forbidden", "errors": [{"reason": "forbidden"}],
        "status": "PERMISSION_DENIED"}}))])
    http_seed("google", "conflict", 0, [tok, zones, rrs, (409, json.dumps({"error": {
        "code": 409, "message": "already exists", "errors": [{"reason": "alreadyExists"}]}})),
        rrs, change, done, mine])


def route53():
    ns = 'xmlns="https://route53.amazonaws.com/doc/2013-04-01/"'
    zones = (200, '<?xml version="1.0"?>\n<ListHostedZonesByNameResponse %s><HostedZones>'
             '<HostedZone><Id>/hostedzone/Z1D633PJN98FT9</Id><Name>example.test.</Name>'
             '<CallerReference>x</CallerReference><Config><PrivateZone>false</PrivateZone>'
             '</Config><ResourceRecordSetCount>3</ResourceRecordSetCount></HostedZone>'
             '</HostedZones><DNSName>example.test.</DNSName><IsTruncated>false</IsTruncated>'
             '<MaxItems>100</MaxItems></ListHostedZonesByNameResponse>' % ns)
    rrs = (200, '<?xml version="1.0"?>\n<ListResourceRecordSetsResponse %s><ResourceRecordSets>'
           '<ResourceRecordSet><Name>%s.</Name><Type>TXT</Type><TTL>60</TTL><ResourceRecords>'
           '<ResourceRecord><Value>"other" "x\\"y"</Value></ResourceRecord></ResourceRecords>'
           '</ResourceRecordSet></ResourceRecordSets><IsTruncated>false</IsTruncated>'
           '<MaxItems>300</MaxItems></ListResourceRecordSetsResponse>' % (ns, N1))
    none = (200, '<ListResourceRecordSetsResponse %s><ResourceRecordSets/>'
            '<IsTruncated>false</IsTruncated></ListResourceRecordSetsResponse>' % ns)
    change = (200, '<?xml version="1.0"?>\n<ChangeResourceRecordSetsResponse %s><ChangeInfo>'
              '<Id>/change/C2682N5HXP0BZ4</Id><Status>PENDING</Status><SubmittedAt>'
              '2023-11-14T22:13:20Z</SubmittedAt></ChangeInfo>'
              '</ChangeResourceRecordSetsResponse>' % ns)
    insync = (200, '<GetChangeResponse %s><ChangeInfo><Id>/change/C2682N5HXP0BZ4</Id>'
              '<Status>INSYNC</Status></ChangeInfo></GetChangeResponse>' % ns)
    err = (400, '<?xml version="1.0"?>\n<ErrorResponse %s><Error><Type>Sender</Type>'
           '<Code>InvalidChangeBatch</Code><Message>[Tried to create resource record set '
           '[name=\'x\', type=\'TXT\'] but it already exists]</Message></Error>'
           '<RequestId>b25f48e8</RequestId></ErrorResponse>' % ns)
    throttle = (400, '<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>'
                '<Message>Rate exceeded</Message></Error></ErrorResponse>')
    route53_seed = lambda n, f, a: http_seed("route53", n, f, a)
    route53_seed("add", 0, [zones, rrs, change, insync])
    route53_seed("add-empty", 4, [zones, none, none, change, insync])
    route53_seed("del", 1, [zones, rrs, change, insync])
    route53_seed("verify", 2, [zones])
    route53_seed("zone-id", 16, [rrs, change, insync])
    route53_seed("err", 0, [zones, rrs, err, rrs, change, insync])
    route53_seed("throttle", 0, [throttle, zones, rrs, change, insync])
    route53_seed("forbidden", 0, [(403, '<ErrorResponse><Error><Code>SignatureDoesNotMatch'
                                   '</Code><Message>&lt;x&gt; &#233;</Message></Error>'
                                   '</ErrorResponse>')])


def rfc2136():
    def seed(name, flags, answers):
        put("rfc2136", name, bytes([flags]) + b"".join(struct.pack(">H", len(a)) + a
                                                          for a in answers))
    txt_there = packet(N1, TXT, an=[rr(N1, TXT, txt(b"other"), ttl=300)])
    nodata = packet(N1, TXT, ns=[rr("example.test", SOA, soa())])
    nx = packet(N1, TXT, ns=[rr("example.test", SOA, soa())], rcode=3)
    upd_ok = packet("example.test", SOA, opcode=5, aa=False)
    upd_refused = packet("example.test", SOA, opcode=5, aa=False, rcode=5)
    upd_nxrrset = packet("example.test", SOA, opcode=5, aa=False, rcode=8)
    soa_ok = packet("example.test", SOA, an=[rr("example.test", SOA, soa())])
    seed("add", 0, [txt_there, upd_ok])
    seed("add-nodata", 0, [nodata, upd_ok])
    seed("add-two", 4, [nx, packet(N2, TXT), upd_ok])
    seed("add-race", 0, [txt_there, upd_nxrrset, txt_there, upd_ok])
    seed("del", 1, [packet(N1, TXT, an=[rr(N1, TXT, txt(VALUE))]), upd_ok])
    seed("del-id", 9, [txt_there, upd_ok])
    seed("verify", 2, [soa_ok])
    seed("refused", 0, [txt_there, upd_refused])
    seed("tsig", 16, [txt_there, upd_ok])
    # Found by fuzz_rfc2136: a reply with two TSIG records, on which ldns's
    # parser leaks the first (NLnetLabs/ldns issue #317; lsan-ldns.supp).
    put("rfc2136", "ldns-317-two-tsig", base64.b64decode(
        "MABcMgAABwAAAAAAAAAEAAEOhwAAAAB6AAAAAPoAAAAAACYAAAAA+gAAAAAAJgAAAAczAAAAAAgAAPgt"))


def providers():
    cloudflare()
    sakuracloud()
    google()
    route53()
    rfc2136()


if __name__ == "__main__":
    main()
