#!/usr/bin/python3
"""Write the seed corpus of each fuzz target to tests/fuzz/corpus/TARGET/.

Run from the top of the tree after changing a target's input format
(make fuzz only reads the corpus).  Each seed is a small input that
reaches one interesting path: real config examples, hook argv/env as the
ACME clients pass them, canned DNS packets, recorded API answers (in the
shapes the emulators in tests/integration/ serve), state file lines.
"""
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
        b"other.test.\nkey_name = k\nkey_algorithm = hmac-sha256\nkey_secret = c2VjcmV0\n"
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
    if len(sys.argv) > 1 and sys.argv[1] == "--providers-only":
        pass


if __name__ == "__main__":
    main()
