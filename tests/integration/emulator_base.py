"""What the API emulators of the dns01 integration tests share
(cf_emulator.py, sakura_emulator.py; a new provider's emulator starts here,
see doc/providers.md section 5).

Python 3 standard library only.  An emulator serves HTTPS on 127.0.0.1 (an
ephemeral port) from a thread of the test process, with a certificate signed
by a test CA of its own made at start with the openssl CLI, and publishes the
TXT records it holds into the real BIND primary (ns1) by TSIG-signed UPDATE,
so a client's propagation wait meets real DNS.  Here:

    make_ca(dir, cn), make_server_cert(dir, ca, ca_key, san)   test certificates
    txt_strings(content)    TXT content -> the DNS character-strings it stands for
    BindPublisher(tb)       applies TXT changes to the testbed's primary (nsupdate)
    Request, HTTPError      one request as logged (no secrets); an API error
    EmulatorBase            the TLS server, the publishing queue (in order, after
                            publish_delay), one-shot faults, the request log
    HandlerBase             HTTP/1.1 keep-alive, bodies, the request log line,
                            the faults every emulator has (slow, reset, lost,
                            and SHARED_FAULTS)
    make_expired_cert, make_self_signed, Sentinel, EmulatorBase.start_bad_tls()
                            the TLS and redirect faults of test_api_faults.py

An emulator subclasses EmulatorBase and HandlerBase and keeps only its API:
its endpoints, envelopes, error codes and the faults its service has.  Each
behaviour that stands for a fact about a real service names its source
where the emulator implements it; one that is a guess says "guess".
"""

import collections
import http.server
import json
import os
import random
import re
import socket
import ssl
import struct
import subprocess
import threading
import time
from pathlib import Path

BIND_ZONES = ('example.test', 'acme.test')     # the emulators' zones that BIND serves

# Faults every emulator has besides its own FAULT_KINDS (HandlerBase._common_fault;
# test_api_faults.py): 'timeout' (hold the answer `delay` s, then close the
# connection without carrying the request out), 'truncated' (200 whose body
# ends before its Content-Length, request not carried out), 'huge' (200 with
# a body of HUGE_BYTES, streamed, request not carried out), 'redirect' (302
# to the emulator's redirect_url, request not carried out), 'wrongtypes' (the
# request carried out, every value below the answer's top level of the wrong
# type: strings become numbers, numbers and booleans strings; in XML the
# text of every leaf element wrong: digits become letters, other text
# empty), 'wrongtop' (the request carried out, every top-level value of the
# answer of the wrong type; in XML the root element holds only text).
SHARED_FAULTS = ('timeout', 'truncated', 'huge', 'redirect', 'wrongtypes', 'wrongtop')
HUGE_BYTES = 100 * 1024 * 1024
_HUGE_CHUNK = 64 * 1024



# --------------------------------------------------------------------------
# Certificates (openssl CLI)
# --------------------------------------------------------------------------

def _openssl(*args):
    p = subprocess.run(['openssl', *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f'openssl {" ".join(args[:2])} failed: {p.stderr.strip()}')


_EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']


def make_ca(directory, cn='dns01 emulator test CA'):
    """A self-signed CA in `directory` -> (ca.pem, ca.key)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ca, key = d / 'ca.pem', d / 'ca.key'
    _openssl('req', '-x509', *_EC, '-keyout', str(key), '-out', str(ca), '-days', '3',
             '-subj', f'/CN={cn}', '-addext', 'basicConstraints=critical,CA:TRUE',
             '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
    return ca, key


def make_server_cert(directory, ca, ca_key, san='DNS:localhost,IP:127.0.0.1'):
    """A serverAuth certificate for `san` signed by ca -> (cert.pem, key.pem)."""
    d = Path(directory)
    cert, key, csr, ext = d / 'cert.pem', d / 'key.pem', d / 'server.csr', d / 'ext.cnf'
    _openssl('req', *_EC, '-keyout', str(key), '-out', str(csr), '-subj', '/CN=localhost')
    ext.write_text(f'subjectAltName={san}\nbasicConstraints=CA:FALSE\n'
                   'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n')
    _openssl('x509', '-req', '-in', str(csr), '-CA', str(ca), '-CAkey', str(ca_key),
             '-set_serial', str(random.getrandbits(63)), '-days', '3',
             '-extfile', str(ext), '-out', str(cert))
    return cert, key


def make_expired_cert(directory, ca, ca_key, san='DNS:localhost,IP:127.0.0.1'):
    """A serverAuth certificate for `san` signed by ca that expired in 2020
    -> (cert.pem, key.pem). OpenSSL 3.0's x509 and req take only a positive
    -days, so `openssl ca`, which takes -startdate/-enddate, signs it."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cert, key, csr, ext, cnf = (d / n for n in ('cert.pem', 'key.pem', 'server.csr',
                                                'ext.cnf', 'ca.cnf'))
    _openssl('req', *_EC, '-keyout', str(key), '-out', str(csr), '-subj', '/CN=localhost')
    ext.write_text(f'subjectAltName={san}\nbasicConstraints=CA:FALSE\n'
                   'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n')
    (d / 'index.txt').write_text('')
    (d / 'serial').write_text(f'{random.getrandbits(63):016X}\n')
    cnf.write_text(f'[ca]\ndefault_ca = d\n[d]\ndatabase = {d}/index.txt\n'
                   f'new_certs_dir = {d}\nserial = {d}/serial\ndefault_md = sha256\n'
                   'policy = p\n[p]\ncommonName = supplied\n')
    _openssl('ca', '-batch', '-config', str(cnf), '-cert', str(ca), '-keyfile', str(ca_key),
             '-in', str(csr), '-out', str(cert), '-startdate', '20200101000000Z',
             '-enddate', '20200102000000Z', '-extfile', str(ext), '-notext')
    return cert, key


def make_self_signed(directory, san='DNS:localhost,IP:127.0.0.1'):
    """A self-signed server certificate for `san` that no CA vouches for
    -> (cert.pem, key.pem)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cert, key = d / 'cert.pem', d / 'key.pem'
    _openssl('req', '-x509', *_EC, '-keyout', str(key), '-out', str(cert), '-days', '3',
             '-subj', '/CN=localhost', '-addext', f'subjectAltName={san}')
    return cert, key


class Sentinel:
    """A TCP listener on another loopback address that only records who
    connects (and closes): where a redirect fault points. contacts lists
    the peers; url is an https:// URL to it."""

    def __init__(self, host='127.0.0.2'):
        self.contacts = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(8)
        self.url = f'https://{host}:{self._sock.getsockname()[1]}'
        threading.Thread(target=self._loop, daemon=True, name='sentinel').start()

    def _loop(self):
        while True:
            try:
                conn, peer = self._sock.accept()
            except OSError:
                return
            self.contacts.append(f'{peer[0]}:{peer[1]}')
            conn.close()

    def close(self):
        self._sock.close()


def mangle(data, ctype, kind):
    """An answer body with its values of the wrong type ('wrongtypes' or
    'wrongtop', see SHARED_FAULTS): JSON or, for an XML content type, XML."""
    if 'xml' in ctype:
        text = data.decode('utf-8', 'replace')
        if kind == 'wrongtop':
            return re.sub(r'^(\s*(?:<\?xml[^>]*\?>)?\s*<([\w:]+)[^>]*>).*(</\2>)\s*$',
                          r'\1x\3', text, flags=re.S).encode()
        return re.sub(r'>([^<]+)</', lambda m: '>' + ('x' if m.group(1).isdigit() else '')
                      + '</', text).encode()
    try:
        doc = json.loads(data)
    except ValueError:
        return data

    def wrong(v):
        if isinstance(v, bool):
            return 'true' if v else 'false'
        if isinstance(v, (int, float)):
            return 'x'
        if isinstance(v, str):
            return 12345
        if isinstance(v, list):
            return [wrong(i) for i in v]
        if isinstance(v, dict):
            return {k: wrong(i) for k, i in v.items()}
        return v

    def top(v):
        if isinstance(v, (list, dict)):
            return 'x'
        return wrong(v)
    if isinstance(doc, dict):
        doc = {k: top(v) if kind == 'wrongtop' else wrong(v) if isinstance(v, (list, dict))
               else v for k, v in doc.items()}
    return json.dumps(doc).encode()


# --------------------------------------------------------------------------
# TXT content -> DNS character-strings
# --------------------------------------------------------------------------

def txt_strings(content):
    """The character-strings a TXT content stands for in DNS.

    Content in double quotes is presentation format: one or more quoted
    strings with \\" \\\\ \\DDD escapes ("a" "b" is two strings). Anything else
    (or quotes that do not parse) is one literal value, split into 255-byte
    strings. (Quoted content read as presentation format: dns-aid/
    dns-aid-core PR #200; unquoted content served verbatim: the 2025
    dns-lexicon cassettes; long strings "are automatically split":
    cloudflare-python types/dns/txt_record_param.py.)"""
    if content.startswith('"'):
        out, i, n = [], 0, len(content)
        ok = True
        while i < n:
            if content[i] in ' \t':
                i += 1
                continue
            if content[i] != '"':
                ok = False
                break
            i += 1
            buf = bytearray()
            while i < n and content[i] != '"':
                c = content[i]
                if c == '\\' and i + 1 < n:
                    if content[i + 1:i + 4].isdigit() and len(content[i + 1:i + 4]) == 3:
                        buf.append(int(content[i + 1:i + 4]) & 0xFF)
                        i += 4
                        continue
                    c = content[i + 1]
                    i += 1
                buf += c.encode()
                i += 1
            if i >= n:
                ok = False
                break
            i += 1
            out.append(bytes(buf))
        if ok and out:
            return tuple(s.decode('utf-8', 'replace') for s in out)
    raw = content.encode()
    return tuple(raw[i:i + 255].decode('utf-8', 'replace') for i in range(0, len(raw), 255)) \
        or ('',)


def _quote_string(s):
    out = ''
    for b in s.encode():
        if b in (0x22, 0x5C):
            out += '\\' + chr(b)
        elif 0x20 <= b < 0x7F:
            out += chr(b)
        else:
            out += f'\\{b:03d}'
    return f'"{out}"'


class BindPublisher:
    """Sends TXT changes to the testbed's BIND primary as signed UPDATEs."""

    def __init__(self, tb, key='dns01-key', server=None, zones=BIND_ZONES):
        self.server = server or '127.53.0.1'
        self.zones = set(zones)
        alg, sec = tb.keys[key]
        d = Path(tb.tmp)
        self.keyfile = d / f'emulator-{key}.key'
        fd = os.open(self.keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(f'key "{key}" {{ algorithm {alg}; secret "{sec}"; }};\n')

    def serves(self, zone):
        return zone in self.zones

    def __call__(self, zone, ops):
        """ops: [('add'|'delete', name, strings, ttl)] applied in one UPDATE."""
        lines = [f'server {self.server} 53', f'zone {zone}']
        for op, name, strings, ttl in ops:
            rdata = ' '.join(_quote_string(s) for s in strings)
            if op == 'add':
                lines.append(f'update add {name}. {ttl} TXT {rdata}')
            else:
                lines.append(f'update delete {name}. TXT {rdata}')
        lines.append('send')
        p = subprocess.run(['nsupdate', '-k', str(self.keyfile)], input='\n'.join(lines) + '\n',
                           capture_output=True, text=True, timeout=20)
        if p.returncode != 0:
            raise RuntimeError(f'nsupdate failed ({p.returncode}): {p.stderr.strip()}')


# --------------------------------------------------------------------------

class Request:
    """One request as an emulator saw it; iterates as (method, path, query,
    auth, time).

    path is the URL path as sent (without the query string); query what the
    emulator read from the query string (Cloudflare: a dict of first values;
    Sakura: the decoded JSON) or None; auth how it authenticated (a kind or
    a key's label, 'invalid' or None), never a token or secret; time is
    time.monotonic().  Also: route (the path below the API prefix), status,
    fault, body (parsed JSON of the request body or None), conn (connection
    number), user_agent, and what an emulator adds (Sakura: hash_sent)."""

    def __init__(self, method, path, query, auth, time_):
        self.method, self.path, self.query, self.auth, self.time = \
            method, path, query, auth, time_
        self.route = path
        self.status = self.fault = self.body = self.user_agent = None
        self.conn = 0
        self.mangle = None            # 'wrongtypes'/'wrongtop': the answer is mangled

    def __iter__(self):
        return iter((self.method, self.path, self.query, self.auth, self.time))

    def __repr__(self):
        return f'Request({self.method} {self.route} -> {self.status})'


class HTTPError(Exception):
    """An API error: the HTTP status, the errors of the envelope, extra headers."""

    def __init__(self, status, errors=None, headers=None):
        super().__init__(status)
        self.status, self.errors, self.headers = status, errors, headers or {}


class EmulatorBase:
    """What the API emulators share: the TLS server with its own test CA,
    the queue that publishes record changes into DNS (a background thread,
    in order, after publish_delay; consecutive changes of one zone in one
    UPDATE), one-shot fault injection, the request log. A subclass sets
    API_PREFIX, HANDLER (its request handler class), TITLE (for its log)
    and FAULT_KINDS, keeps self.zones (by id) with _zone_by_name(), and
    calls _reset_common() and _reset_done() in its reset()."""
    API_PREFIX = ''
    HANDLER = None
    TITLE = 'API emulator'
    FAULT_KINDS = ()

    def __init__(self, workdir, publisher, ca, san, name):
        self.name = name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if ca is None:
            ca = make_ca(self.workdir / 'ca', f'dns01 test CA ({name})')
        self.ca_file, self._ca_key = str(ca[0]), ca[1]
        self.cert_file, self.key_file = (str(p) for p in make_server_cert(
            self.workdir, ca[0], ca[1], san))
        self.publisher = publisher
        self.lock = threading.RLock()
        self._server = None
        self._thread = None
        self.port = None
        self._pq = collections.deque()
        self._pcv = threading.Condition()
        self._pbusy = False
        self._pstop = False
        self._pthread = None
        self.published = []           # (monotonic time, op, zone, name, strings)
        self.publish_errors = []
        self.redirect_url = 'https://127.0.0.2:9'   # where 'redirect' points (Sentinel.url)
        self.huge_sent = []           # octets a 'huge' fault got out before the client left
        self._bad_tls = {}            # kind -> (server, thread): start_bad_tls()

    # ---- lifecycle ---------------------------------------------------------

    @property
    def api_url(self):
        return f'https://127.0.0.1:{self.port}{self.API_PREFIX}'

    def start(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        self._server = _TLSServer(('127.0.0.1', 0), self.HANDLER, ctx, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={'poll_interval': 0.1}, daemon=True,
                                        name=f'{self.name}-http')
        self._thread.start()
        self._pthread = threading.Thread(target=self._publish_loop, daemon=True,
                                         name=f'{self.name}-publish')
        self._pthread.start()
        return self

    def start_bad_tls(self, kind):
        """Once per kind: a second listener of this emulator (same API, same
        state) whose certificate is bad: 'expired' (signed by this
        emulator's CA, expired in 2020) or 'selfsigned' (signed by no CA).
        -> its api_url."""
        if kind not in self._bad_tls:
            d = self.workdir / f'tls-{kind}'
            cert, key = make_expired_cert(d, self.ca_file, self._ca_key) \
                if kind == 'expired' else make_self_signed(d)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(cert), str(key))
            srv = _TLSServer(('127.0.0.1', 0), self.HANDLER, ctx, self)
            t = threading.Thread(target=srv.serve_forever, kwargs={'poll_interval': 0.1},
                                 daemon=True, name=f'{self.name}-{kind}')
            t.start()
            self._bad_tls[kind] = (srv, t)
        port = self._bad_tls[kind][0].server_address[1]
        return f'https://127.0.0.1:{port}{self.API_PREFIX}'

    def stop(self):
        for srv, _ in self._bad_tls.values():
            srv.shutdown()
            srv.server_close()
        self._bad_tls = {}
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._pcv:
            self._pstop = True
            self._pcv.notify_all()
        if self._pthread:
            self._pthread.join(5)

    # ---- publishing into DNS -------------------------------------------------

    def _queue_publish(self, zone, ops, delay=None):
        """Queue ops [(op, name, strings, ttl)] for zone, due after
        publish_delay (or delay), never before a change queued earlier."""
        due = time.monotonic() + (self.publish_delay if delay is None else delay)
        with self._pcv:
            if self._pq:                       # keep the order of changes
                due = max(due, self._pq[-1][0])
            self._pq.append((due, zone, list(ops)))
            self._pcv.notify_all()

    def _publish_loop(self):
        while True:
            with self._pcv:
                while not self._pstop and (not self._pq or self._pq[0][0] > time.monotonic()):
                    self._pcv.wait(None if not self._pq
                                   else max(0.0, self._pq[0][0] - time.monotonic()))
                if self._pstop:
                    return
                now = time.monotonic()
                batch = []
                while self._pq and self._pq[0][0] <= now:
                    batch.append(self._pq.popleft())
                self._pbusy = True
            try:
                groups = []            # consecutive changes of one zone: one UPDATE
                for _, zone, ops in batch:
                    if groups and groups[-1][0] == zone:
                        groups[-1][1].extend(ops)
                    else:
                        groups.append((zone, list(ops)))
                for zone, ops in groups:
                    try:
                        self.publisher(zone, ops)
                        t = time.monotonic()
                        with self.lock:
                            self.published += [(t, o[0], zone, o[1], o[2]) for o in ops]
                    except Exception as e:          # keep publishing; tests look here
                        with self.lock:
                            self.publish_errors.append(f'{zone}: {e}')
            finally:
                with self._pcv:
                    self._pbusy = False
                    self._pcv.notify_all()

    def wait_published(self, timeout=20):
        """Block until every queued DNS change has been sent; True if so."""
        deadline = time.monotonic() + timeout
        with self._pcv:
            while self._pq or self._pbusy:
                if self._pthread is None or not self._pthread.is_alive():
                    return not self._pq
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._pcv.wait(min(left, 0.05))
        return True

    # ---- between tests ---------------------------------------------------------

    def _reset_common(self):
        """Under the lock, in reset(): no faults, no request log, no latency,
        no connections counted."""
        self.faults = []
        self.requests = []
        self.log = []
        self.latency = 0.0
        self.user_agents = set()
        self.user_agent = None
        self.connections = 0
        self.tls_failures = []
        self.huge_sent = []

    def _reset_done(self):
        """After reset() queued the removal of what it held: wait until DNS
        has it, then forget what was published."""
        self.wait_published()
        with self.lock:
            self.published = []
            self.publish_errors = []

    def drop_zone(self, name):
        """Remove a zone from the account (until reset()); DNS is untouched."""
        with self.lock:
            z = self._zone_by_name(name)
            if z:
                del self.zones[z['id']]

    # ---- faults --------------------------------------------------------------

    def _add_fault(self, kind, count, **fields):
        """One fault of `kind` (one of FAULT_KINDS) for the next `count`
        matching requests (see the subclass's inject())."""
        if kind not in self.FAULT_KINDS:
            raise ValueError(f'unknown fault {kind!r}')
        with self.lock:
            self.faults.append(dict(fields, kind=kind, count=count))

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def _take_fault(self, method, route, exact=False):
        """The next fault for this request, or None; exact=True: only one
        injected with a path that route contains (not one for any path)."""
        with self.lock:
            for f in self.faults:
                if f['count'] > 0 and ((f['path'] is None and not exact)
                                       or (f['path'] is not None and f['path'] in route)) \
                        and (f['method'] is None or f['method'] == method):
                    f['count'] -= 1
                    if f['count'] == 0:
                        self.faults.remove(f)
                    return dict(f)
        return None

    # ---- introspection -------------------------------------------------------

    def calls(self, method=None, route=None, since=0):
        """Requests since index `since` with this method and whose route
        (the path below the API prefix) matches the regex `route`."""
        with self.lock:
            reqs = self.requests[since:]
        return [r for r in reqs if (method is None or r.method == method)
                and (route is None or re.search(route, r.route))]

    def _log_sections(self):
        """More sections for log_text(): [(title, lines)]."""
        return []

    def log_text(self, tail=80):
        """The request log (the last `tail` requests), TLS handshake failures
        and publishing errors: printed under a failed test."""
        with self.lock:
            lines = list(self.log)
            sections = self._log_sections() + [
                ('TLS handshake failures', list(self.tls_failures)),
                ('publishing errors', list(self.publish_errors))]
        if len(lines) > tail:
            lines = [f'... ({len(lines) - tail} earlier requests)'] + lines[-tail:]
        out = [f'--- {self.TITLE} {self.name} ({self.api_url}): requests'] + lines
        for title, items in sections:
            if items:
                out += [f'--- {title}'] + [f'  {e}' for e in items[-10:]]
        return '\n'.join(out)


# --------------------------------------------------------------------------
# HTTP(S) plumbing
# --------------------------------------------------------------------------

class _TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, ctx, emu):
        self.ctx, self.emu = ctx, emu
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):
        # The TLS handshake happens here, in the connection's own thread.
        request.settimeout(30)
        try:
            conn = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self.emu.lock:
                self.emu.tls_failures.append(f'{client_address[0]}:{client_address[1]}: {e}')
            return
        with self.emu.lock:
            self.emu.connections += 1
            n = self.emu.connections
        try:
            self.RequestHandlerClass(conn, client_address, self, conn_no=n)
        finally:
            try:
                conn.close()
            except OSError:
                pass


class HandlerBase(http.server.BaseHTTPRequestHandler):
    """What the emulators' request handlers share: HTTP/1.1 keep-alive, the
    connection number, every method to _serve(), request bodies with
    Content-Length or chunked, the request log, the faults every emulator
    has ('slow', 'reset', 'lost'), sending the answer. A subclass sets
    SERVER (the Server header), writes _serve() and may change _described()
    (what the log line shows of a request)."""
    protocol_version = 'HTTP/1.1'
    timeout = 30
    SERVER = ''

    def __init__(self, *args, conn_no=0, **kw):
        self.conn_no = conn_no
        super().__init__(*args, **kw)

    def version_string(self):
        return self.SERVER

    def log_message(self, fmt, *args):     # no stderr noise; the emulator keeps its own log
        pass

    def do_GET(self):
        self._serve()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self):
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            data = b''
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n) if n > 0 else b''

    def _read_json(self):
        """The request body parsed as JSON -> (body or None, body_bad)."""
        raw = self._read_body()
        if not raw:
            return None, False
        try:
            return json.loads(raw.decode('utf-8')), False
        except (UnicodeDecodeError, ValueError):
            return None, True

    def _arrived(self, emu, req, body):
        """Log req (with its body, connection and User-Agent) in emu.requests,
        then wait out emu.latency."""
        req.body, req.conn = body, self.conn_no
        req.user_agent = self.headers.get('User-Agent')
        with emu.lock:
            emu.requests.append(req)
            if req.user_agent:
                emu.user_agents.add(req.user_agent)
                emu.user_agent = req.user_agent
        if emu.latency:
            time.sleep(emu.latency)

    def _common_fault(self, emu, req, fault, carry_out):
        """The faults every emulator has. 'slow': sleep fault['delay'], then
        answer normally (returns None: no fault left). 'reset': close the
        connection without an answer; 'lost': carry_out() first (the request
        is done, its answer never arrives); both return 'dropped'. Any other
        fault is returned for the subclass to answer."""
        req.fault = fault['kind']
        if fault['kind'] == 'slow':
            time.sleep(fault['delay'] or 0)
            return None
        if fault['kind'] in ('wrongtypes', 'wrongtop'):
            req.mangle = fault['kind']           # answered normally, then mangled
            return None
        if fault['kind'] in ('timeout', 'truncated', 'huge', 'redirect'):
            self._shared_fault(emu, req, fault)
            return 'dropped'
        if fault['kind'] in ('reset', 'lost'):
            if fault['kind'] == 'lost':
                carry_out()
            self._log(emu, req, fault['kind'])
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack('ii', 1, 0))
                self.connection.close()
            except OSError:
                pass
            self.close_connection = True
            return 'dropped'
        return fault

    def _shared_fault(self, emu, req, fault):
        """Answer with one of SHARED_FAULTS that carry nothing out."""
        kind = fault['kind']
        if kind == 'redirect':
            self._reply(emu, req, 302, 'text/html', b'<html>moved</html>',
                        {'Location': emu.redirect_url + req.path})
            return
        self.close_connection = True
        req.status = 200 if kind in ('truncated', 'huge') else None
        self._log(emu, req, kind)
        try:
            if kind == 'timeout':
                time.sleep(fault['delay'] or 0)
                return
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            if kind == 'truncated':
                data = b'{"result": {"id": "0123456789abcdef", "na'
                self.send_header('Content-Length', str(len(data) * 4))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                return
            self.send_header('Content-Length', str(HUGE_BYTES))
            self.end_headers()
            chunk, sent = b'{"result": [' + b' ' * (_HUGE_CHUNK - 12), 0
            try:
                while sent < HUGE_BYTES:         # streamed: never held in memory
                    n = min(_HUGE_CHUNK, HUGE_BYTES - sent)
                    self.wfile.write(chunk[:n])
                    sent += n
                    chunk = b' ' * _HUGE_CHUNK
            finally:
                with emu.lock:
                    emu.huge_sent.append(sent)
        except OSError:
            pass
        finally:
            try:
                self.connection.close()
            except OSError:
                pass

    def _reply(self, emu, req, status, ctype, data, headers):
        """Log the answer and send it."""
        if req.mangle:
            data = mangle(data, ctype, req.mangle)
        req.status = status
        self._log(emu, req, status)
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)
        self.wfile.flush()

    def _described(self, req):
        """What the log line shows between the method and the status."""
        return f'{req.route} auth={req.auth}'

    def _log(self, emu, req, status):
        line = (f'{req.time:12.3f} #{req.conn} {req.method} {self._described(req)} '
                f'-> {status}' + (f' [fault {req.fault}]' if req.fault else ''))
        with emu.lock:
            emu.log.append(line)
