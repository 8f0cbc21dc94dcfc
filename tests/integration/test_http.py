"""dns01's HTTP client (core/http.c) through tests/tools/http_probe, against
a local HTTPS server with its own test CA: a raw body of any type and the raw
answer with its content type, per-request headers, the signer hook, AWS SigV4
as libcurl computes it (checked by tests/integration/sigv4.py as AWS would),
redaction of every secret header at -v, and the deadline on Retry-After.

Under `make memcheck` the probe runs under valgrind too."""

import hashlib
import http.server
import json
import os
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from emulator_base import make_ca, make_server_cert
from testbed import REPO
import sigv4

PROBE = REPO / 'tests' / 'tools' / 'http_probe'
KEY_ID, SECRET = 'AKIDEXAMPLEPROBE0001', 'probe/SigV4+secret-0123456789abcdefABCDEF'


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def _answer(self, status, body, ctype, extra=()):
        data = body.encode()
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _serve(self):
        srv = self.server.owner
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n) if n else b''
        seen = {'method': self.command, 'path': self.path, 'body': body.decode(errors='replace'),
                'headers': [(k, v) for k, v in self.headers.items()]}
        with srv.lock:
            srv.seen.append(seen)
            busy = srv.busy.get(self.path, 0)
            if busy:
                srv.busy[self.path] = busy - 1
        if busy:
            return self._answer(429, '{"error":"slow down"}', 'application/json',
                                [('Retry-After', str(srv.retry_after))])
        if self.path.startswith('/xml'):
            return self._answer(200, '<?xml version="1.0"?><a>ok</a>', 'application/xml')
        if self.path.startswith('/sigv4'):
            err = sigv4.verify(self.command, self.path, self.headers, body, {KEY_ID: SECRET},
                               'us-east-1', 'route53', time.time())
            if err:
                return self._answer(403, f'<ErrorResponse><Error><Code>{err.split(":")[0]}'
                                    f'</Code><Message>{err}</Message></Error></ErrorResponse>',
                                    'text/xml')
            return self._answer(200, '<ok/>', 'text/xml')
        return self._answer(200, json.dumps({'ok': True}), 'application/json; charset=utf-8')

    do_GET = do_POST = do_PUT = do_DELETE = _serve


class Server:
    def __init__(self, workdir):
        ca, key = make_ca(Path(workdir) / 'ca', 'dns01 http probe test CA')
        self.ca_file = str(ca)
        cert, ckey = make_server_cert(workdir, ca, key)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(ckey))
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.owner = self
        self.lock = threading.Lock()
        self.seen, self.busy, self.retry_after = [], {}, 1
        self.url = f'https://127.0.0.1:{self.httpd.server_address[1]}'
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def probe(srv, *args, env=None):
    """Run the probe (under valgrind in memcheck mode) -> (rc, result dict, answer, stderr)."""
    cmd = [str(PROBE), '-k', srv.ca_file, *args]
    e = dict(os.environ, **(env or {}))
    if os.environ.get('MEMCHECK_TARGET'):
        cmd = [str(REPO / 'tests' / 'valgrind-dns01'), *cmd[0:]]
        e['MEMCHECK_TARGET'] = cmd.pop(1)
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=120)
    head, _, answer = p.stdout.partition('answer:\n')
    res = dict(line.split(' ', 1) if ' ' in line else (line, '')
               for line in head.splitlines())
    assert p.returncode != 99, f'valgrind found errors:\n{p.stderr[-3000:]}'
    return p.returncode, res, answer, p.stderr


def headers_of(seen, name):
    return [v for k, v in seen['headers'] if k.lower() == name.lower()]


def with_server(fn):
    def run(tb):
        with tempfile.TemporaryDirectory(prefix='dns01-http-') as d:
            srv = Server(d)
            try:
                fn(srv)
            finally:
                srv.stop()
    run.__name__ = fn.__name__
    return run


@with_server
def test_http_raw_body_and_answer(srv):
    rc, res, answer, err = probe(srv, '-X', 'POST', '-d', '<x>1</x>', '-t', 'application/xml',
                                 '-a', 'application/xml', srv.url + '/xml')
    assert rc == 0, err
    assert res['status'] == '200' and res['type'] == 'application/xml', res
    assert res['json'] == '0' and answer == '<?xml version="1.0"?><a>ok</a>', (res, answer)
    s = srv.seen[-1]
    assert s['body'] == '<x>1</x>', s
    assert headers_of(s, 'Content-Type') == ['application/xml'], s['headers']
    assert headers_of(s, 'Accept') == ['application/xml'], s['headers']
    # a JSON answer is parsed and kept raw as well; a GET sends the JSON defaults
    rc, res, answer, err = probe(srv, srv.url + '/json')
    assert rc == 0 and res['json'] == '1' and json.loads(answer) == {'ok': True}, (res, err)
    assert res['type'] == 'application/json; charset=utf-8', res
    assert headers_of(srv.seen[-1], 'Accept') == ['application/json'], srv.seen[-1]


@with_server
def test_http_secret_headers_redacted(srv):
    """Every header marked secret - the client's (an X-API-Key, as PowerDNS or
    Hetzner want it), the request's and the signer's - is sent, and shown as
    [redacted] at -v; the others are shown. The signer runs for each attempt."""
    srv.busy['/json'] = 1
    secrets = ['k-secret-4711-api-key', 'r-secret-0815-request', 'probe-signer-token-0123']
    rc, res, answer, err = probe(srv, '-v', '-C', f'X-API-Key: {secrets[0]}',
                                 '-c', 'X-Client-Plain: client-visible',
                                 '-S', f'X-Request-Secret: {secrets[1]}',
                                 '-H', 'X-Trace: request-visible', '-s',
                                 '-X', 'PUT', '-d', '{"a":1}', srv.url + '/json')
    assert rc == 0 and res['status'] == '200' and res['attempts'] == '2', (res, err[-2000:])
    assert len(srv.seen) == 2, srv.seen
    digest = hashlib.sha256(f'PUT\n{srv.url}/json\n{{"a":1}}'.encode()).hexdigest()
    for s in srv.seen:
        assert headers_of(s, 'X-API-Key') == [secrets[0]], s['headers']
        assert headers_of(s, 'X-Request-Secret') == [secrets[1]], s['headers']
        assert headers_of(s, 'X-Probe-Token') == [secrets[2]], s['headers']
        assert headers_of(s, 'X-Probe-Signature') == [digest], s['headers']
        assert headers_of(s, 'Content-Type') == ['application/json'], s['headers']
    for name in ('X-API-Key', 'X-Request-Secret', 'X-Probe-Token'):
        assert f'> {name}: [redacted]' in err, f'{name} not shown redacted:\n{err[-3000:]}'
    for shown in ('X-Client-Plain: client-visible', 'X-Trace: request-visible',
                  f'X-Probe-Signature: {digest}'):
        assert shown in err, f'{shown!r} not in the trace:\n{err[-3000:]}'
    for s in secrets:
        assert s not in err and s not in answer, f'secret {s} in the output'


@with_server
def test_http_aws_sigv4(srv):
    """libcurl's SigV4 (CURLOPT_AWS_SIGV4) as an AWS service checks it; a
    wrong secret is refused, so the check is not vacuous; the key stays out
    of the trace."""
    body = '<ChangeResourceRecordSetsRequest/>'
    args = ('-v', '-4', 'aws:amz:us-east-1:route53', '-X', 'POST', '-d', body, '-t',
            'text/xml', '-a', 'text/xml', srv.url + '/sigv4/2013-04-01/hostedzone/Z1/rrset?x=1')
    rc, res, answer, err = probe(srv, *args, env={'PROBE_KEY_ID': KEY_ID, 'PROBE_SECRET': SECRET})
    assert rc == 0 and res['status'] == '200', (res, answer, err[-2000:])
    auth = headers_of(srv.seen[-1], 'Authorization')[0]
    assert auth.startswith(f'AWS4-HMAC-SHA256 Credential={KEY_ID}/'), auth
    assert SECRET not in err and '> Authorization: [redacted]' in err, err[-2000:]
    rc, res, answer, err = probe(srv, *args, env={'PROBE_KEY_ID': KEY_ID,
                                                  'PROBE_SECRET': SECRET[:-1] + 'G'})
    assert rc == 0 and res['status'] == '403' and 'SignatureDoesNotMatch' in answer, res
    rc, res, answer, err = probe(srv, '-4', 'aws:amz:us-east-1:route53', srv.url + '/sigv4',
                                 env={'PROBE_KEY_ID': '', 'PROBE_SECRET': ''})
    assert rc == 3 and 'cannot sign requests with AWS SigV4' in err, (rc, err)


@with_server
def test_http_retry_after_past_deadline(srv):
    """A Retry-After that ends after the deadline is not waited for: one
    attempt, the answer kept, out_of_time set; one within it is waited for."""
    srv.busy['/json'], srv.retry_after = 1, 600
    rc, res, answer, err = probe(srv, '-T', '30', srv.url + '/json')
    assert rc == 0 and res['status'] == '429' and res['attempts'] == '1', (res, err)
    assert res['out_of_time'] == '1' and res['retry_after'] == '600', res
    assert len(srv.seen) == 1, srv.seen
    srv.busy['/json'], srv.retry_after = 1, 1
    rc, res, answer, err = probe(srv, '-T', '60', srv.url + '/json')
    assert rc == 0 and res['status'] == '200' and res['attempts'] == '2', (res, err)
    assert 'the server asks to wait 1 s (Retry-After)' in err, err
