"""A fault-injecting DNS proxy in front of a real BIND (test_dns_faults.py).

    p = DnsProxy('127.53.0.11', upstream='127.53.0.1').start()
    p.set(drop=30)                       # or p.drop(30), p.servfail(), ...
    p.scope(under='_acme-challenge.faults.example.test', qtypes=('TXT',))
    ... run dns01 ...
    p.counts()                           # what the proxy did
    p.reset()                            # no faults, counters zero, RNG reseeded

It listens on UDP and TCP port 53 of one loopback address and forwards every
query to the upstream server (UDP over UDP, TCP over TCP), applying the
faults switched on.  Switches (set(**kw), or the method of the same name;
any thread may call them while the proxy runs):

    drop=P          lose P % of UDP packets, in both directions: each query
                    and each answer is dropped on its own draw from a seeded
                    RNG (both draws made when a query in scope arrives, in
                    arrival order, so a run with the same queries drops the
                    same ones).  TCP is never dropped (the kernel retransmits).
    drop_first=N    lose the first N UDP queries in scope (from the switch
                    on): a loss that hits the same queries in every run.
    delay=S         answer S seconds late (UDP and TCP).
    servfail, refused   answer every query with that rcode (AA=0, no
                    records, as BIND does), UDP and TCP.
    truncate        every UDP answer from upstream goes back with TC=1 and
                    only header and question; TCP is served normally.
    tcp_only        UDP queries are answered at once with an empty TC=1
                    answer (header and question only) and never forwarded;
                    TCP is served normally.  That is how a real server sends
                    clients to TCP: BIND's response rate limiting "slips"
                    such answers ("Stop after the question if TC was set for
                    rate limiting", bin/named/client.c of the RRL patch,
                    e.g. build.opensuse.org .../bind/files/rl-9.9.3-P2.patch;
                    slip "is supposed to allow legitimate clients to get
                    answers even when they are being spoofed", bind-users
                    2018-January/099422), and every general-purpose DNS
                    implementation must serve TCP too (RFC 7766 §5).  A
                    server with no UDP listener at all would draw an ICMP
                    port unreachable instead, which no resolver takes as a
                    hint to try TCP (guess); "silent" below covers a UDP
                    black hole.
    wrong_id        (UDP) the answer goes back with another query id.
    wrong_question  (UDP) the answer's question is another name (first
                    octet of the name changed, so every offset stays valid).
    other_source    (UDP) the answer is sent from another socket (same
                    address, another port) than the one queried.
    forge=VALUE     the bad answer of wrong_id / wrong_question / other_source
                    is not upstream's answer altered but a forged AA=1 answer
                    that claims TXT VALUE at the queried name (the answer's
                    owner is spelled out, so that only the header or the
                    question gives it away).
    then_real       after the bad answer, send the real one too.
    aa0             clear the AA bit of every answer (UDP and TCP).
    silent          never answer (UDP: drop the query; TCP: accept, read,
                    never answer).

scope(under=NAME, qtypes=(...)) limits every fault to queries whose name is
NAME or below it and whose type is listed (names as 'TXT', 'SOA'); other
queries pass untouched.  Default: every query.

Counters (counts()): udp_queries, tcp_queries, tcp_connections, answers
(sent back intact or altered), dropped_queries, dropped_answers, silenced,
rcode_answers, truncated, tc_only, aa_cleared, spoofed, real_after_spoof,
upstream_lost, loss_packets (queries and answers that had a drop draw);
answers_log(): (monotonic time, kind, qtype, wire message) of every answer
sent, in order.

Python 3 standard library only.
"""

import random
import select
import socket
import struct
import threading
import time

from test_foreign import UpdateProxy
from testbed import T_TXT, _encode_name

QTYPES = {'A': 1, 'NS': 2, 'CNAME': 5, 'SOA': 6, 'TXT': 16, 'AAAA': 28}
RCODE = {'servfail': 2, 'refused': 5}
F_QR, F_AA, F_TC, F_RD = 0x8000, 0x0400, 0x0200, 0x0100
UPSTREAM_TIMEOUT = 2.0      # s: an upstream answer later than this is lost
SWITCHES = ('drop', 'drop_first', 'delay', 'servfail', 'refused', 'truncate', 'tcp_only', 'wrong_id',
            'wrong_question', 'other_source', 'forge', 'then_real', 'aa0', 'silent')
COUNTERS = ('udp_queries', 'tcp_queries', 'tcp_connections', 'answers', 'dropped_queries',
            'dropped_answers', 'silenced', 'rcode_answers', 'truncated', 'tc_only',
            'aa_cleared', 'spoofed', 'real_after_spoof', 'upstream_lost', 'loss_packets')


def parse_question(msg):
    """(id, flags, qname lower case without the dot, qtype, end of the
    question) of a message with one question, or None."""
    try:
        qid, flags, qd = struct.unpack('!HHH', msg[:6])
        if qd != 1:
            return None
        labels, off = [], 12
        while msg[off]:
            n = msg[off]
            if n & 0xC0:
                return None
            labels.append(msg[off + 1:off + 1 + n].decode('ascii').lower())
            off += 1 + n
        qtype = struct.unpack('!H', msg[off + 1:off + 3])[0]
        return qid, flags, '.'.join(labels), qtype, off + 5
    except (struct.error, IndexError, UnicodeDecodeError):
        return None


def empty_answer(query, qend, rcode=0, tc=False):
    """An answer to query with its question and no records: rcode, TC."""
    qid, flags = struct.unpack('!HH', query[:4])
    flags = F_QR | (flags & (0x7800 | F_RD)) | (F_TC if tc else 0) | rcode
    return struct.pack('!HHHHHH', qid, flags, 1, 0, 0, 0) + query[12:qend]


def forged_answer(query, qname, value):
    """An AA=1 NOERROR answer claiming TXT value at qname (owner spelled out)."""
    qid, flags = struct.unpack('!HH', query[:4])
    _, _, _, _, qend = parse_question(query)
    data = value.encode()
    rdata = bytes([len(data)]) + data
    rr = _encode_name(qname) + struct.pack('!HHIH', T_TXT, 1, 10, len(rdata)) + rdata
    flags = F_QR | F_AA | (flags & F_RD)
    return struct.pack('!HHHHHH', qid, flags, 1, 1, 0, 0) + query[12:qend] + rr


class DnsProxy:
    def __init__(self, listen, upstream, port=53, upstream_port=53, seed=16):
        self.listen, self.port = listen, port
        self.upstream = (upstream, upstream_port)
        self.seed = seed
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self.threads = []
        self.udp = self.tcp = self.other = None
        self.reset()

    # ---- switches (thread-safe) --------------------------------------------

    def reset(self):
        """No faults, every query in scope, counters zero, RNG reseeded."""
        with self.lock:
            self.f = {k: None for k in SWITCHES}
            self.under, self.qtypes = None, None
            self.c = dict.fromkeys(COUNTERS, 0)
            self.events = []
            self.rng = random.Random(self.seed)
            self.first_lost = 0

    def set(self, **kw):
        """Switch faults on (a value) or off (None/False); see the module doc."""
        with self.lock:
            for k, v in kw.items():
                if k not in SWITCHES:
                    raise ValueError(f'unknown fault {k!r}')
                self.f[k] = v
        return self

    def scope(self, under=None, qtypes=None):
        with self.lock:
            self.under = under.lower().rstrip('.') if under else None
            self.qtypes = {QTYPES[t] for t in qtypes} if qtypes else None
        return self

    def counts(self):
        with self.lock:
            return dict(self.c)

    def answers_log(self):
        with self.lock:
            return list(self.events)

    def __getattr__(self, name):
        """p.drop(30), p.servfail(), p.servfail(False), ...: set(name=value)."""
        if name in SWITCHES:
            return lambda v=True: self.set(**{name: v})
        raise AttributeError(name)

    # ---- lifecycle -----------------------------------------------------------

    def start(self):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((self.listen, self.port))
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.other.bind((self.listen, 0))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((self.listen, self.port))
        self.tcp.listen(16)
        for sock, take in ((self.udp, self._udp_take), (self.tcp, self._tcp_take)):
            t = threading.Thread(target=self._serve, args=(sock, take), daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self.threads:
            t.join(2)
        for s in (self.udp, self.tcp, self.other):
            if s is not None:
                s.close()

    # ---- helpers ---------------------------------------------------------------

    def _count(self, key, n=1):
        with self.lock:
            self.c[key] += n

    def _faults_for(self, qname, qtype):
        """A copy of the switches when the query is in scope, else {}."""
        with self.lock:
            if self.under and not (qname == self.under or qname.endswith('.' + self.under)):
                return {}
            if self.qtypes and qtype not in self.qtypes:
                return {}
            return dict(self.f)

    def _sent(self, kind, qtype, msg):
        with self.lock:
            self.events.append((time.monotonic(), kind, qtype, msg))

    def _ask_udp(self, query):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(UPSTREAM_TIMEOUT)
            s.connect(self.upstream)
            s.send(query)
            deadline = time.monotonic() + UPSTREAM_TIMEOUT
            while time.monotonic() < deadline:
                try:
                    resp = s.recv(65535)
                except OSError:
                    return None
                if resp[:2] == query[:2]:
                    return resp
        return None

    def _ask_tcp(self, query):
        try:
            with socket.create_connection(self.upstream, timeout=UPSTREAM_TIMEOUT) as s:
                s.sendall(struct.pack('!H', len(query)) + query)
                return _read_msg(s)
        except OSError:
            return None

    # ---- UDP -----------------------------------------------------------------

    def _serve(self, sock, take):
        """Until stop(): wait for sock to be readable, then take(sock)."""
        while not self._stop.is_set():
            if select.select([sock], [], [], 0.2)[0]:
                try:
                    take(sock)
                except OSError:
                    continue

    def _udp_take(self, sock):
        query, client = sock.recvfrom(65535)
        q = parse_question(query)
        if q is None:
            return
        f = self._faults_for(q[2], q[3])
        with self.lock:
            self.c['udp_queries'] += 1
            # Both draws now, in arrival order, and only for queries in
            # scope (not the resolver's): reproducible for a seed.
            p = (f.get('drop') or 0) / 100.0
            lose_q = lose_a = False
            if p > 0:
                lose_q, lose_a = self.rng.random() < p, self.rng.random() < p
            if f.get('drop_first') and self.first_lost < f['drop_first']:
                self.first_lost += 1
                lose_q = True
        threading.Thread(target=self._udp_one, args=(query, client, q, f, lose_q, lose_a),
                         daemon=True).start()

    def _udp_one(self, query, client, q, f, lose_q, lose_a):
        _, _, qname, qtype, qend = q
        if f.get('drop'):
            self._count('loss_packets')     # the query had its draw
        if lose_q:
            return self._count('dropped_queries')
        if f.get('silent'):
            return self._count('silenced')
        if f.get('delay'):
            time.sleep(f['delay'])
        if f.get('tcp_only'):
            self._count('tc_only')
            return self._send(empty_answer(query, qend, tc=True), client, qtype, 'tc_only')
        rc = next((RCODE[k] for k in RCODE if f.get(k)), None)
        if rc is not None:
            self._count('rcode_answers')
            return self._send(empty_answer(query, qend, rcode=rc), client, qtype, 'rcode')
        resp = self._ask_udp(query)
        if resp is None:
            return self._count('upstream_lost')
        if f.get('drop'):
            self._count('loss_packets')     # and so has its answer
        if lose_a:
            return self._count('dropped_answers')
        resp = self._alter(resp, f)
        if f.get('truncate'):
            flags = struct.unpack('!H', resp[2:4])[0] | F_TC
            resp = resp[:2] + struct.pack('!HHHHH', flags, 1, 0, 0, 0) + resp[12:qend]
            self._count('truncated')
        if f.get('wrong_id') or f.get('wrong_question') or f.get('other_source'):
            bad = forged_answer(query, qname, f['forge']) if f.get('forge') else resp
            if f.get('wrong_id'):
                bad = struct.pack('!H', struct.unpack('!H', bad[:2])[0] ^ 0x5A5A) + bad[2:]
            if f.get('wrong_question'):
                first = bad[13]     # the first octet of the first label
                bad = bad[:13] + bytes([ord('x') if first != ord('x') else ord('y')]) \
                    + bad[14:]
            self._count('spoofed')
            self._send(bad, client, qtype, 'spoofed', sock=self.other
                       if f.get('other_source') else self.udp)
            if not f.get('then_real'):
                return
            self._count('real_after_spoof')
        self._send(resp, client, qtype, 'answer')

    def _alter(self, resp, f):
        """Upstream's answer with AA cleared when asked."""
        if f.get('aa0') and len(resp) >= 4:
            flags = struct.unpack('!H', resp[2:4])[0]
            if flags & F_AA:
                self._count('aa_cleared')
            resp = resp[:2] + struct.pack('!H', flags & ~F_AA) + resp[4:]
        return resp

    def _send(self, msg, client, qtype, kind, sock=None):
        try:
            (sock or self.udp).sendto(msg, client)
        except OSError:
            return
        if kind != 'spoofed':
            self._count('answers')
        self._sent(kind, qtype, msg)

    # ---- TCP -----------------------------------------------------------------

    def _tcp_take(self, sock):
        conn, _ = sock.accept()
        self._count('tcp_connections')
        threading.Thread(target=self._tcp_conn, args=(conn,), daemon=True).start()

    def _tcp_conn(self, conn):
        with conn:
            conn.settimeout(10)
            while not self._stop.is_set():
                try:
                    query = _read_msg(conn)
                except OSError:
                    return
                if query is None:
                    return
                q = parse_question(query)
                if q is None:
                    return
                self._count('tcp_queries')
                f = self._faults_for(q[2], q[3])
                if f.get('silent'):
                    self._count('silenced')
                    continue        # read on, never answer
                if f.get('delay'):
                    time.sleep(f['delay'])
                rc = next((RCODE[k] for k in RCODE if f.get(k)), None)
                if rc is not None:
                    self._count('rcode_answers')
                    resp = empty_answer(query, q[4], rcode=rc)
                else:
                    resp = self._ask_tcp(query)
                    if resp is None:
                        self._count('upstream_lost')
                        return
                    resp = self._alter(resp, f)
                try:
                    conn.sendall(struct.pack('!H', len(resp)) + resp)
                except OSError:
                    return
                self._count('answers')
                self._sent('tcp', q[3], resp)


def _read_msg(s):
    """One length-prefixed DNS message from stream socket s, or None at EOF."""
    head = UpdateProxy._read(s, 2)
    return None if head is None else UpdateProxy._read(s, struct.unpack('!H', head)[0])
