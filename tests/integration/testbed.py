"""Real DNS servers (and an ACME CA) for the dns01 integration tests.

Everything runs inside a private network + mount + PID namespace that
enter_namespace() sets up, so the servers bind 127.53.0.x:53 without touching
host services, no packet can leave the private loopback, and every server dies
with the runner even if it is killed hard.

    127.53.0.1  ns1    named, primary for the ZONES (UPDATE, TSIG)
    127.53.0.2  ns2    named, secondary for the ZONES; transfers only when the
                       testbed says so; also primary of SPLIT_ZONE, a stale zone
                       of its own that nobody delegates to
    127.53.0.3         unbound, the client-side resolver (dns01's `resolvers =`)
    127.53.0.4         unbound, the CA-side resolver (pebble's -dnsserver);
                       goes to ns3 directly for FAR_ZONE (see unbound_conf)
    127.53.0.5  ns3    named, primary for FAR_ZONE only (UPDATE, TSIG), no secondary
    127.0.0.1:14000    pebble (started lazily by Testbed.pebble())
    127.53.0.11/.12    pns1/pns2: nothing, unless test_dns_faults.py runs its
                       fault-injecting proxies (dnsproxy.py) to ns1/ns2 there
                       for FAULT_ZONE (faults.example.test)
    127.53.0.21/.22    knot/pdns: Knot DNS and PowerDNS (knot.py, pdns.py),
                       started by test_servers.py, each the primary of one
                       zone it delegates from example.test

Zone cuts (test_zonecuts.py): the resolvers have stubs for example.test and
acme.test only (and the CA side one for FAR_ZONE); every other zone below
example.test is found through its NS records in example.test, as on the
Internet:

    _acme-challenge.www.example.test  own zone on ns1 + ns2 (WWW_ZONE); the
                                      key key-www may update only this zone
    apex.example.test                 own zone on ns1 + ns2 (APEX_ZONE)
    _acme-challenge.far.example.test  own zone on ns3 (FAR_ZONE); delegated to
                                      ns3 and ns2, but ns2 does not serve it
                                      (a lame delegation)
    _acme-challenge.alias.example.test  CNAME to alias._acme-challenge.far.example.test
                                      (not "a": test_runs.py uses a.example.test)
    _acme-challenge.split.example.test  ns1 answers from example.test (no such
                                      name), ns2 from its own SPLIT_ZONE
    renamed.example.test              DNAME to apex.example.test: every name
                                      below it is rewritten into APEX_ZONE

Python 3 standard library only.
"""

import atexit
import bisect
import base64
import ctypes
import os
import random
import re
import select
import shlex
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

NS1, NS2, NS3 = '127.53.0.1', '127.53.0.2', '127.53.0.5'
RES_CLIENT, RES_CA = '127.53.0.3', '127.53.0.4'
ADDRESSES = (NS1, NS2, RES_CLIENT, RES_CA, NS3)
# dnsproxy.py (test_dns_faults.py): fault-injecting proxies in front of ns1
# and ns2, the only nameservers of FAULT_ZONE; nothing listens there otherwise.
PROXY1, PROXY2 = '127.53.0.11', '127.53.0.12'
ADDRESSES += (PROXY1, PROXY2)
# knot.py / pdns.py (test_servers.py): Knot DNS and PowerDNS, each the
# primary of one zone delegated from example.test; nothing listens there
# unless that module runs.
KNOT_ADDR, PDNS_ADDR = '127.53.0.21', '127.53.0.22'
ADDRESSES += (KNOT_ADDR, PDNS_ADDR)
WWW_ZONE = '_acme-challenge.www.example.test'
APEX_ZONE = 'apex.example.test'
FAR_ZONE = '_acme-challenge.far.example.test'
SPLIT_ZONE = '_acme-challenge.split.example.test'
# Served by ns1 (primary) and ns2 (its lagging secondary): the zone files,
# the secondaries, the LagController, sync() and reset() cover these.
ZONES = ('example.test', 'acme.test', WWW_ZONE, APEX_ZONE)
# On ns1 + ns2 like the others, but its NS set (and delegation) names
# pns1/pns2 at PROXY1/PROXY2: dns01 reaches it only through the proxies.
FAULT_ZONE = 'faults.example.test'
ZONES += (FAULT_ZONE,)
# The zones the resolvers have stubs (and transparent local-zones) for; the
# zones below example.test are reached through real delegations.
STUB_ZONES = ('example.test', 'acme.test')
# ns3's zones (primary, no secondary) and ns2's own primary zones.
NS3_ZONES = (FAR_ZONE,)
NS2_OWN_ZONES = (SPLIT_ZONE,)
RNDC_PORT = 953
PEBBLE_DIR_URL = 'https://127.0.0.1:14000/dir'

# TSIG keys the primary accepts for TXT updates: name -> algorithm.
TSIG_KEYS = {
    'dns01-key': 'hmac-sha256',
    'key-md5': 'hmac-md5',
    'key-sha1': 'hmac-sha1',
    'key-sha224': 'hmac-sha224',
    'key-sha256': 'hmac-sha256',
    'key-sha512': 'hmac-sha512',
    'key-nogrant': 'hmac-sha256',   # known to ns1, but allowed to update nothing
    'key-admin': 'hmac-sha256',     # tests only: may update any type (CAA, SOA)
    'key-www': 'hmac-sha256',       # may update TXT in WWW_ZONE only
}
# The zones a key may update (on ns1 and ns3); a key not listed: every zone.
KEY_ZONES = {'key-nogrant': (), 'key-www': (WWW_ZONE,)}
# Keys ns1 knows that may not update example.test.
NO_GRANT = tuple(k for k, zs in KEY_ZONES.items() if 'example.test' not in zs)
# The record types a key may update (default TXT).
GRANT_TYPES = {'key-admin': 'ANY'}
# Secret length = digest length, as tsig-keygen does.
_KEY_BYTES = {'hmac-md5': 16, 'hmac-sha1': 20, 'hmac-sha224': 28,
              'hmac-sha256': 32, 'hmac-sha512': 64}

NETNS_ENV = 'DNS01_IT_NETNS'

# Under `make memcheck` every dns01 process runs in valgrind, where a TLS
# handshake alone takes seconds of CPU and a busy machine (make
# check-stressed) stretches that further: the limits the tests set only so
# that a wrong dns01 cannot hang them -- dns01's `timeout` in the configs
# they write, and how long run_dns01 lets a call run -- are SLOW times
# longer there.  A test whose point is the timeout sets its own.  Under
# ASan (make check SANITIZE=1) dns01 runs 2-3 times slower: 2.


def _asan_build(path):
    """True when the dns01 at path was built with -fsanitize=address."""
    try:
        with open(path, 'rb') as f:
            return b'__asan_init' in f.read()
    except OSError:
        return False


SLOW = 3 if os.environ.get('MEMCHECK_TARGET') else \
    2 if _asan_build(os.environ.get('DNS01') or REPO / 'dns01') else 1
RUN_TIMEOUT = str(30 * SLOW)        # dns01's `timeout` in written configs (s)
CALL_LIMIT = 60 * SLOW              # run_dns01's default limit (s)

# Every secret the testbed knows; run_dns01 fails if one shows up in output.
SECRETS = set()
# What dns01 was asked and answered during the current test (printed on failure).
TRANSCRIPT = []
# Free-form notes a test wants printed under its PASS/FAIL line.
NOTES = []
# run.py's secretscan.Scanner (None when the tests run without run.py's scan).
SCANNER = None


class Skip(Exception):
    """Raise to mark a test as skipped (with the reason as message)."""


def note(msg):
    NOTES.append(msg)


def secret(nbytes=32):
    return base64.b64encode(os.urandom(nbytes)).decode()


def acme_value(dash=False):
    """A random ACME DNS-01 value: 43 base64url characters.  One in 64 real
    values starts with '-', which `set`/`unset`/`wait` take only after '--'
    (test_input.test_values_starting_with_dash); so that the tests that do
    not pass '--' do not fail at random, these start with '-' only when
    dash is true."""
    while True:
        v = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b'=').decode()
        if dash:
            return '-' + v[1:]
        if not v.startswith('-'):
            return v


# --------------------------------------------------------------------------
# Namespace
# --------------------------------------------------------------------------

def enter_namespace(script, argv):
    """Run `script argv` again inside fresh net/mount/PID namespaces and exit
    with its status; returns at once when already inside.

    The PID namespace is a safety net: when the inner runner (PID 1 there)
    dies, the kernel kills every server it started. unshare itself ignores
    SIGINT/SIGTERM while it waits, so we stay in between and forward them.
    """
    if os.environ.get(NETNS_ENV) == '1':
        return
    if os.geteuid() != 0:
        sys.exit('integration tests need root (unshare -n, binding port 53)')
    if not shutil.which('unshare'):
        sys.exit('unshare(1) not found (util-linux)')
    env = dict(os.environ, **{NETNS_ENV: '1'})
    argv = ['unshare', '--net', '--mount', '--pid', '--fork', '--mount-proc',
            '--propagation', 'private', '--kill-child=SIGTERM',
            sys.executable, str(script)] + list(argv)
    sys.stdout.flush()
    # Own process group, so that we alone decide what reaches it.
    child = subprocess.Popen(argv, env=env, start_new_session=True)

    def forward(signum, frame):
        try:
            os.killpg(child.pid, signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)
        except ProcessLookupError:
            pass
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, forward)
    sys.exit(child.wait())


def setup_namespace(tmp):
    """Inside the namespace: loopback up, our /32s, private resolv.conf."""
    _run(['ip', 'link', 'set', 'lo', 'up'])
    have = _run(['ip', '-4', 'addr', 'show', 'dev', 'lo']).stdout
    for addr in ADDRESSES:
        if f'inet {addr}/' not in have:
            _run(['ip', 'addr', 'add', f'{addr}/32', 'dev', 'lo'])
    resolv = Path(tmp) / 'resolv.conf'
    resolv.write_text(f'nameserver {RES_CLIENT}\n')
    _run(['mount', '--bind', str(resolv), '/etc/resolv.conf'])
    private_dev(tmp)


# --------------------------------------------------------------------------
# A private /dev with a /dev/log the runner reads (test_syslog.py)
# --------------------------------------------------------------------------

# The runner's SyslogCapture, set by setup_namespace (private_dev).
SYSLOG = None
_MS_NOSUID, _MS_BIND, _MS_REC, _MNT_DETACH = 0x2, 0x1000, 0x4000, 0x2


def _mount(src, dst, fstype=None, flags=0, data=None):
    """mount(2) through libc: ~130 mounts without ~130 mount(8) processes."""
    libc = ctypes.CDLL(None, use_errno=True)
    enc = lambda x: None if x is None else str(x).encode()  # noqa: E731
    if libc.mount(enc(src), enc(dst), enc(fstype), flags, enc(data)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f'mount {src} on {dst}: {os.strerror(e)}')


def private_dev(tmp):
    """Inside the namespace only: a tmpfs over /dev holding what the host's
    /dev has -- every character device bound back (null, zero, full, random,
    urandom, tty, ptmx...), every directory bound back with what is mounted
    below it (pts, shm), every symlink (fd, stdin...) made again -- plus
    /dev/log, a symlink to the Unix datagram socket a SyslogCapture serves
    (as systemd's /dev/log -> /run/systemd/journal/dev-log).  Mount
    propagation is private (enter_namespace), so the host's /dev never sees
    any of it.  Block devices are left out."""
    global SYSLOG
    if os.environ.get(NETNS_ENV) != '1':
        raise RuntimeError('private_dev: not inside the testbed namespace')
    if os.path.islink('/dev/log') and SYSLOG is not None:
        return
    # Not under tmp: nothing ever removes this dir's contents recursively.
    host = Path(tempfile.mkdtemp(prefix='dns01-hostdev-'))
    _mount('/dev', host, flags=_MS_BIND | _MS_REC)
    try:
        _mount('dns01-testbed-dev', '/dev', 'tmpfs', _MS_NOSUID, 'mode=755')
        for e in os.scandir(host):
            dst = Path('/dev') / e.name
            mode = e.stat(follow_symlinks=False).st_mode
            if e.is_symlink():
                os.symlink(os.readlink(e.path), dst)
            elif e.is_dir(follow_symlinks=False):
                dst.mkdir(mode=mode & 0o7777)
                _mount(e.path, dst, flags=_MS_BIND | _MS_REC)
            elif (mode & 0o170000) == 0o020000:     # S_IFCHR
                dst.touch(mode=0o600)
                _mount(e.path, dst, flags=_MS_BIND)
    finally:
        # Detach the host's /dev from there at once; remove the dir only
        # when it is an empty dir again.
        if ctypes.CDLL(None, use_errno=True).umount2(str(host).encode(), _MNT_DETACH) == 0:
            host.rmdir()
    SYSLOG = SyslogCapture(tmp)
    SYSLOG.start()
    os.symlink(SYSLOG.path, '/dev/log')


# glibc's syslog(3) datagram: "<PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE"
SYSLOG_LINE = re.compile(r'^<(\d{1,3})>(\w{3} [ \d]\d \d\d:\d\d:\d\d) '
                         r'([^\s\[:]+)(?:\[(\d+)\])?: (.*)$', re.S)
SYSLOG_FACILITIES = {3: 'daemon', 1: 'user', **{16 + i: f'local{i}' for i in range(8)}}
SYSLOG_SEVERITIES = ('emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug')


def parse_syslog(record):
    """One datagram -> dict(pri, facility, severity, ident, pid, msg), or
    None when it is not in syslog(3)'s format."""
    m = SYSLOG_LINE.match(record)
    if m is None:
        return None
    pri = int(m.group(1))
    return dict(pri=pri, facility=SYSLOG_FACILITIES.get(pri >> 3, str(pri >> 3)),
                severity=SYSLOG_SEVERITIES[pri & 7], ident=m.group(3),
                pid=int(m.group(4)) if m.group(4) else None, msg=m.group(5))


class SyslogCapture(threading.Thread):
    """The syslog daemon of the namespace: receives every datagram sent to
    <tmp>/syslog.sock (/dev/log), keeps them in order and appends each, one
    per line (a newline in one as \\n), to <tmp>/syslog.log, which the
    secret scanner reads.  Tests take mark() before and since(mark) after."""

    def __init__(self, tmp):
        super().__init__(name='syslog', daemon=True)
        self.path = Path(tmp) / 'syslog.sock'
        self.log = Path(tmp) / 'syslog.log'
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.records = []
        self.lock = threading.Lock()

    def run(self):
        while True:
            select.select([self.sock], [], [], 0.5)
            self.drain()

    def drain(self):
        """Take every datagram waiting: a datagram sent before this call
        is in the socket's queue already, so since() sees it."""
        with self.lock:
            while True:
                try:
                    data = self.sock.recv(65536, socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    return
                text = data.decode('utf-8', 'replace')
                self.records.append(text)
                with open(self.log, 'a') as f:
                    f.write(text.replace('\n', '\\n') + '\n')

    def mark(self):
        self.drain()
        return len(self.records)

    def since(self, mark):
        """The datagrams received after mark(), raw."""
        self.drain()
        with self.lock:
            return list(self.records[mark:])


def _run(argv, check=True, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f'{shlex.join(argv)} failed ({p.returncode}): '
                           f'{p.stderr.strip() or p.stdout.strip()}')
    return p


# --------------------------------------------------------------------------
# A minimal DNS client (UDP, RD=0) for tight polling loops; dig is too slow
# to spawn every 10-20 ms.
# --------------------------------------------------------------------------

T_A, T_NS, T_CNAME, T_SOA, T_TXT = 1, 2, 5, 6, 16
RCODES = {0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN',
          4: 'NOTIMP', 5: 'REFUSED', 9: 'NOTAUTH'}


def _encode_name(name):
    out = b''
    for label in name.rstrip('.').split('.'):
        if label:
            out += bytes([len(label)]) + label.encode('ascii')
    return out + b'\0'


def _skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:        # compression pointer ends the name
            return off + 2
        off += 1 + n


def dns_query(server, name, qtype, timeout=1.0, port=53, source=None):
    """One UDP query with RD=0. Returns (rcode_name, aa, [(type, rdata)])
    for the answer section, or ('TIMEOUT', False, []).  source: the local
    address to send from (any 127/8 address), so that a server's query log
    tells these queries from the program's under test."""
    qid = random.getrandbits(16)
    msg = struct.pack('!HHHHHH', qid, 0, 1, 0, 0, 0) + _encode_name(name) \
        + struct.pack('!HH', qtype, 1)
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        if source:
            s.bind((source, 0))
        s.sendto(msg, (server, port))
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return 'TIMEOUT', False, []
            s.settimeout(left)
            try:
                resp, _ = s.recvfrom(65535)
            except socket.timeout:
                return 'TIMEOUT', False, []
            except ConnectionRefusedError:
                return 'REFUSED-ICMP', False, []
            if len(resp) >= 12 and struct.unpack('!H', resp[:2])[0] == qid:
                break
    _, flags, qd, an, _, _ = struct.unpack('!HHHHHH', resp[:12])
    off = 12
    for _ in range(qd):
        off = _skip_name(resp, off) + 4
    records = []
    for _ in range(an):
        off = _skip_name(resp, off)
        rtype, _, _, rdlen = struct.unpack('!HHIH', resp[off:off + 10])
        off += 10
        records.append((rtype, resp, off, rdlen))
        off += rdlen
    rcode = RCODES.get(flags & 0xF, str(flags & 0xF))
    return rcode, bool(flags & 0x0400), records


def _txt_strings(resp, off, rdlen):
    out, end = [], off + rdlen
    while off < end:
        n = resp[off]
        out.append(resp[off + 1:off + 1 + n].decode('utf-8', 'replace'))
        off += 1 + n
    return ''.join(out)


def txt_values(server, name, timeout=1.0, source=None):
    """(rcode, aa, [values]) via the raw client; one value per TXT RR."""
    rcode, aa, recs = dns_query(server, name, T_TXT, timeout, source=source)
    return rcode, aa, [_txt_strings(r, o, n) for t, r, o, n in recs if t == T_TXT]


def soa_serial(server, zone, timeout=0.5):
    """The zone's SOA serial as `server` answers it authoritatively, or None."""
    rcode, aa, recs = dns_query(server, zone, T_SOA, timeout)
    for t, resp, off, _ in recs:
        if t == T_SOA and rcode == 'NOERROR' and aa:
            off = _skip_name(resp, _skip_name(resp, off))   # mname, rname
            return struct.unpack('!I', resp[off:off + 4])[0]
    return None


# --------------------------------------------------------------------------
# dig-based helper (an independent tool to check what the servers serve)
# --------------------------------------------------------------------------

def dig_txt(server, name):
    """(rcode, aa_flag, [values]) for TXT `name` at `server`, RD=0.
    rcode is 'TIMEOUT' when dig got no answer. Multi-string TXT RRs are
    concatenated into one value."""
    p = subprocess.run(['dig', '+norec', '+time=1', '+tries=1', f'@{server}',
                        name, 'TXT'], capture_output=True, text=True)
    out = p.stdout
    m = re.search(r'status: (\w+)', out)
    if not m:
        return 'TIMEOUT', False, []
    flags = re.search(r';; flags: ([a-z ]*);', out)
    aa = bool(flags and 'aa' in flags.group(1).split())
    values, in_answer = [], False
    for line in out.splitlines():
        if line.startswith(';; ANSWER SECTION'):
            in_answer = True
            continue
        if in_answer:
            if not line.strip():
                break
            parts = line.split(None, 4)
            if len(parts) == 5 and parts[3] == 'TXT' \
                    and parts[0].rstrip('.').lower() == name.rstrip('.').lower():
                strings = re.findall(r'"((?:[^"\\]|\\.)*)"', parts[4])
                values.append(''.join(_unescape(s) for s in strings))
    return m.group(1), aa, values


def _unescape(s):
    return re.sub(r'\\(\d{3}|.)',
                  lambda m: chr(int(m.group(1))) if m.group(1).isdigit() else m.group(1), s)


def dig_ok(server, name, qtype, aa=True):
    """True when `server` answers NOERROR with an answer (and AA if asked)."""
    p = subprocess.run(['dig', '+time=1', '+tries=1', '+norec' if aa else '+rec',
                        f'@{server}', name, qtype], capture_output=True, text=True)
    if 'status: NOERROR' not in p.stdout or 'ANSWER: 0,' in p.stdout:
        return False
    flags = re.search(r';; flags: ([a-z ]*);', p.stdout)
    return not aa or bool(flags and 'aa' in flags.group(1).split())


# --------------------------------------------------------------------------
# Running dns01
# --------------------------------------------------------------------------

def dns01_binary():
    return os.environ.get('DNS01') or str(REPO / 'dns01')


_STRIP_ENV = ('CERTBOT_', 'DNS01_', 'RFC2136_', 'CLOUDFLARE_', 'CF_', 'SAKURACLOUD_')
# Google: lego's GCE_*, Application Default Credentials' GOOGLE_* and the Cloud SDK's
# CLOUDSDK_* (its account and project)
_STRIP_ENV += ('GCE_', 'GOOGLE_', 'CLOUDSDK_')
_STRIP_ENV += ('AWS_',)


def clean_env(extra=None):
    """The runner's environment without anything that could configure dns01
    or send traffic through a proxy, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(_STRIP_ENV) and not k.lower().endswith('_proxy')
           and k != NETNS_ENV}
    env.update(extra or {})
    return env


def run_dns01(args, env=None, timeout=None):
    """Run dns01 with `args` -> (rc, stdout, stderr, elapsed_seconds).

    `env` is added to a cleaned copy of our environment. Fails the test if
    dns01 does not exit within `timeout` (default CALL_LIMIT) or prints a
    known secret."""
    timeout = timeout or CALL_LIMIT
    binary = dns01_binary()
    if not os.access(binary, os.X_OK):
        raise AssertionError(f'dns01 binary not found/executable at {binary} '
                             '(run `make`, or set $DNS01)')
    argv = [binary] + list(args)
    entry = {'argv': argv, 'env': {k: v for k, v in (env or {}).items()}}
    TRANSCRIPT.append(entry)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=clean_env(env))
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        entry.update(rc='killed', elapsed=time.monotonic() - t0,
                     stdout=out.decode('utf-8', 'replace'),
                     stderr=err.decode('utf-8', 'replace'))
        raise AssertionError(f'dns01 did not exit within {timeout} s: {_show_argv(argv)}')
    elapsed = time.monotonic() - t0
    out, err = out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')
    entry.update(rc=p.returncode, elapsed=elapsed, stdout=out, stderr=err)
    for s in SECRETS:
        if s in out or s in err:
            raise AssertionError(f'dns01 printed a secret (testbed.SECRETS): {_show_argv(argv)}')
    return p.returncode, out, err, elapsed


def _show_argv(argv):
    return ' '.join(shlex.quote(a) if a.isprintable() else repr(a) for a in argv)


def format_transcript(limit=4000):
    lines = []
    for e in TRANSCRIPT:
        envs = ' '.join(f'{k}={v!r}' for k, v in e['env'].items())
        lines.append(f'  $ {envs + " " if envs else ""}{_show_argv(e["argv"])}')
        lines.append(f'    -> exit {e.get("rc")} after {e.get("elapsed", 0):.2f}s')
        for stream in ('stdout', 'stderr'):
            text = e.get(stream, '')
            if text.strip():
                if len(text) > limit:
                    text = '...' + text[-limit:]
                lines.append(f'    {stream}:')
                lines += ['      ' + l for l in text.rstrip('\n').splitlines()]
    return '\n'.join(lines)


def certbot_env(domain, value, remaining, all_domains=None, auth_output=None):
    env = {'CERTBOT_DOMAIN': domain, 'CERTBOT_VALIDATION': value,
           'CERTBOT_REMAINING_CHALLENGES': str(remaining),
           'CERTBOT_ALL_DOMAINS': all_domains or domain}
    if auth_output is not None:
        env['CERTBOT_AUTH_OUTPUT'] = auth_output
    return env


class TxtWatcher(threading.Thread):
    """Polls `server` for TXT `name` every `period` s with raw UDP queries and
    records when it first answered (authoritatively) with all of `values`, or
    with at least `min_count` values when the values are not known.

    first_positive: receive time of the first such answer.
    last_negative:  send time of the last query before that whose answer
                    was not (the server could not have had them before).
    Times come from `clock` (time.monotonic, or time.time to compare with
    timestamps taken by other processes). Stops by itself once positive.
    source: the address to query from (see dns_query).
    """

    def __init__(self, server, name, values=(), min_count=None, period=0.01,
                 clock=time.monotonic, source=None):
        super().__init__(daemon=True)
        self.source = source
        self.server, self.name, self.values = server, name, set(values)
        self.min_count = min_count
        self.period, self.clock = period, clock
        self.first_positive = None
        self.last_negative = None
        self.queries = 0
        self._stop_ev = threading.Event()

    def _positive(self, vals):
        if self.min_count is not None:
            return len(vals) >= self.min_count
        return self.values <= set(vals)

    def run(self):
        while not self._stop_ev.is_set() and self.first_positive is None:
            sent = self.clock()
            rcode, aa, vals = txt_values(self.server, self.name, timeout=0.2,
                                         source=self.source)
            got = self.clock()
            self.queries += 1
            if rcode == 'NOERROR' and aa and self._positive(vals):
                self.first_positive = got
            else:
                self.last_negative = sent
                self._stop_ev.wait(max(0.0, self.period - (got - sent)))

    def wait_positive(self, timeout):
        """Block until positive (or `timeout` s); True when positive."""
        self.join(timeout)
        return self.first_positive is not None

    def stop(self):
        self._stop_ev.set()
        self.join(2)


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------

class Server:
    """A foreground server process, its output in `out`, more logs in `logs`."""

    def __init__(self, name, argv, workdir, logs=(), env=None):
        self.name, self.argv, self.workdir = name, argv, Path(workdir)
        self.out = self.workdir / f'{name}.out'
        self.logs = [self.out] + [Path(p) for p in logs]
        self.env = env
        self.proc = None

    def start(self):
        fh = open(self.out, 'ab')
        self.proc = subprocess.Popen(self.argv, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                     stdout=fh, stderr=subprocess.STDOUT, env=self.env,
                                     start_new_session=True)   # Ctrl-C goes to us only
        fh.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if not self.alive():
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def log_sizes(self):
        return {p: (p.stat().st_size if p.exists() else 0) for p in self.logs}

    def log_text(self, since=None, tail=80):
        """Log output (since the sizes from log_sizes()), last `tail` lines."""
        parts = []
        for p in self.logs:
            if not p.exists():
                continue
            with open(p, 'rb') as f:
                f.seek((since or {}).get(p, 0))
                text = f.read().decode('utf-8', 'replace')
            lines = text.rstrip('\n').splitlines()
            if len(lines) > tail:
                lines = [f'... ({len(lines) - tail} earlier lines)'] + lines[-tail:]
            if lines:
                parts.append(f'--- {self.name}: {p.name}\n' + '\n'.join(lines))
        return '\n'.join(parts)


# --------------------------------------------------------------------------
# Configuration text
# --------------------------------------------------------------------------

ZONE_TEMPLATE = """\
$TTL 60
@   IN SOA ns1.example.test. hostmaster.example.test. (
        1        ; serial
        86400    ; refresh: large, ns2 transfers only when told to
        86400    ; retry
        1209600  ; expire
        60 )     ; negative TTL
    IN NS ns1.example.test.
    IN NS ns2.example.test.
"""

# Each nameserver also has an address that never answers, as with a broken
# IPv6 path: 127.53.0.99 has no listener (ICMP port unreachable) and
# fd00:53::1 has no route.  dns01 must report them, not wait for them.
EXAMPLE_EXTRA = """\
ns1 IN A 127.53.0.1
ns1 IN AAAA fd00:53::1
ns2 IN A 127.53.0.2
ns2 IN A 127.53.0.99
ns3 IN A 127.53.0.5
www IN A 127.0.0.1
far IN A 127.0.0.1
alias IN A 127.0.0.1
_acme-challenge.delegated IN CNAME delegated.acme.test.
*.wild IN CNAME elsewhere.acme.test.
_acme-challenge.www IN NS ns1.example.test.
_acme-challenge.www IN NS ns2.example.test.
apex IN NS ns1.example.test.
apex IN NS ns2.example.test.
_acme-challenge.far IN NS ns3.example.test.
_acme-challenge.far IN NS ns2.example.test.
_acme-challenge.alias IN CNAME alias._acme-challenge.far.example.test.
renamed IN DNAME apex.example.test.
"""
EXAMPLE_EXTRA += f"""\
pns1 IN A {PROXY1}
pns2 IN A {PROXY2}
faults IN NS pns1.example.test.
faults IN NS pns2.example.test.
"""

# ns3's zone: ns2 is in its NS set (and in the delegation) but does not
# serve it: a lame nameserver, which answers with the referral of example.test.
NS3_ZONE_TEMPLATE = """\
$TTL 60
@   IN SOA ns3.example.test. hostmaster.example.test. (
        1        ; serial
        86400    ; refresh
        86400    ; retry
        1209600  ; expire
        60 )     ; negative TTL
    IN NS ns3.example.test.
    IN NS ns2.example.test.
"""


def zone_text(zone):
    """The zone file a primary starts `zone` with."""
    if zone in NS3_ZONES:
        return NS3_ZONE_TEMPLATE
    if zone == FAULT_ZONE:
        return ZONE_TEMPLATE.replace(' ns1.example.test.\n', ' pns1.example.test.\n') \
            .replace(' ns2.example.test.\n', ' pns2.example.test.\n')
    return ZONE_TEMPLATE + (EXAMPLE_EXTRA if zone == 'example.test' else '')


def zone_grants(zone, keys):
    """The update-policy grants of `zone` (on ns1 or ns3) for `keys`."""
    return ''.join(f'        grant {n} zonesub {GRANT_TYPES.get(n, "TXT")};\n'
                   for n in keys if zone in KEY_ZONES.get(n, (zone,)))


def _key_clause(name, alg, sec):
    return f'key "{name}" {{ algorithm {alg}; secret "{sec}"; }};\n'


def named_conf(workdir, addr, rndc_key, rndc_secret, body, keys=''):
    return f"""\
options {{
    directory "{workdir}";
    pid-file none;
    session-keyfile "{workdir}/session.key";
    managed-keys-directory "{workdir}";
    dump-file "{workdir}/named.dump";
    statistics-file "{workdir}/named.stats";
    listen-on port 53 {{ {addr}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    allow-query {{ any; }};
}};
{_key_clause(rndc_key, 'hmac-sha256', rndc_secret)}
controls {{ inet {addr} port {RNDC_PORT} allow {{ 127.0.0.0/8; }} keys {{ "{rndc_key}"; }}; }};
{keys}
{body}
"""


def unbound_conf(workdir, addr, extra_zones=()):
    """extra_zones: more zones served by ns1 + ns2 (Testbed's extra_zones)."""
    stub_zones = STUB_ZONES + tuple(extra_zones)
    stubs = ''.join(f"""
stub-zone:
    name: "{z}."
    stub-addr: {NS1}
    stub-addr: {NS2}
""" for z in stub_zones)
    if addr == RES_CA:
        # The CA side only: FAR_ZONE straight at ns3.  Its lame nameserver
        # ns2 answers with example.test's referral to FAR_ZONE itself;
        # unbound scrubs that NS set and keeps a NODATA, so when it happens
        # to ask ns2 first (about every other time) pebble sees no TXT and
        # the validation fails at random.  dns01 and the client resolver
        # still see the real delegation with the lame ns2.
        stubs += ''.join(f"""
stub-zone:
    name: "{z}."
    stub-addr: {NS3}
""" for z in NS3_ZONES)
    # unbound answers NXDOMAIN for .test by default (RFC 6761 local zone).
    transparent = ''.join(f'    local-zone: "{z}." transparent\n' for z in stub_zones)
    return f"""\
server:
    interface: {addr}
    port: 53
    do-ip6: no
    chroot: ""
    username: ""
    directory: "{workdir}"
    pidfile: "{workdir}/unbound.pid"
    logfile: "{workdir}/unbound.log"
    use-syslog: no
    log-time-ascii: yes
    verbosity: 1
    log-queries: yes
    num-threads: 1
    so-reuseport: no
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    do-not-query-localhost: no
{transparent}
remote-control:
    control-enable: no
{stubs}"""


# --------------------------------------------------------------------------
# The testbed
# --------------------------------------------------------------------------

class Testbed:
    def __init__(self, tmp=None, extra_zones=()):
        """extra_zones: zones (top-level names such as 'slot1.test') served
        like ZONES - ns1 primary with UPDATE, ns2 its lagging secondary, stubs
        in both resolvers - for callers that run several ACME clients at once,
        each in its own zone, so that one's changes never reach ns2 early in
        another's transfer (bench/bench.py)."""
        self.tmp = Path(tmp or tempfile.mkdtemp(prefix='dns01-it-'))
        self.extra_zones = tuple(extra_zones)
        self.zones = ZONES + self.extra_zones
        self.keys = {name: (alg, secret(_KEY_BYTES[alg])) for name, alg in TSIG_KEYS.items()}
        SECRETS.update(sec for _, sec in self.keys.values())
        self.rndc_conf = {}
        self.servers = {}
        self.lag = None
        self._pebble = None
        self._cf = {}
        self._sakura = {}
        self._google = {}
        self._google_md = {}
        self._route53 = {}
        self._stopped = False

    # ---- lifecycle ---------------------------------------------------------

    def start(self):
        atexit.register(self.stop)
        (self.tmp / 'state').mkdir(exist_ok=True)
        self._start_named('ns1', NS1, primary=self.zones)
        for z in self.zones:
            self._wait(lambda z=z: dig_ok(NS1, z, 'SOA'), f'ns1 serving {z}', 'ns1')
        self._start_named('ns2', NS2, primary=NS2_OWN_ZONES, secondary=self.zones)
        self._start_named('ns3', NS3, primary=NS3_ZONES)
        for z in self.zones:
            self._wait(lambda z=z: dig_ok(NS2, z, 'SOA')
                       and soa_serial(NS2, z) == soa_serial(NS1, z),
                       f'ns2 transferred {z}', 'ns2')
        for z in NS2_OWN_ZONES:
            self._wait(lambda z=z: dig_ok(NS2, z, 'SOA'), f'ns2 serving {z}', 'ns2')
        for z in NS3_ZONES:
            self._wait(lambda z=z: dig_ok(NS3, z, 'SOA'), f'ns3 serving {z}', 'ns3')
        for name, addr in (('res-client', RES_CLIENT), ('res-ca', RES_CA)):
            self._start_unbound(name, addr)
        for name, addr in (('res-client', RES_CLIENT), ('res-ca', RES_CA)):
            self._wait(lambda a=addr: dig_ok(a, 'ns1.example.test', 'A', aa=False),
                       f'{name} resolving via the stubs', name)
        self.lag = LagController(self)
        self.lag.start()

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        if self.lag:
            self.lag.stop()
        for em in list(self._cf.values()) + list(self._sakura.values()):
            em.stop()
        for em in list(self._google_md.values()) + list(self._google.values()):
            em.stop()
        for em in self._route53.values():
            em.stop()
        for s in reversed(list(self.servers.values())):
            s.stop()

    def _wait(self, ready, what, server, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.servers[server].alive():
                raise RuntimeError(f'{server} exited while waiting for {what}:\n'
                                   + self.servers[server].log_text())
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f'timed out waiting for {what}:\n' + self.servers[server].log_text())

    def _start_named(self, name, addr, primary=(), secondary=()):
        """named at addr: primary for the zones `primary` (from zone_text;
        UPDATE with the TSIG keys when it is ns1 or ns3, by KEY_ZONES),
        secondary of ns1 for the zones `secondary`."""
        d = self.tmp / name
        d.mkdir()
        rndc_key, rndc_secret = f'rndc-{name}', secret()
        SECRETS.add(rndc_secret)
        (d / 'rndc.conf').write_text(
            _key_clause(rndc_key, 'hmac-sha256', rndc_secret)
            + f'options {{ default-key "{rndc_key}"; default-server {addr}; '
              f'default-port {RNDC_PORT}; }};\n')
        self.rndc_conf[addr] = d / 'rndc.conf'
        updates = name in ('ns1', 'ns3')
        keys = ''.join(_key_clause(n, a, s) for n, (a, s) in self.keys.items()) \
            if updates else ''
        body = ''
        for z in primary:
            (d / f'{z}.db').write_text(zone_text(z))
            policy = f'    update-policy {{\n{zone_grants(z, self.keys)}    }};\n' \
                if updates else ''
            body += (f'zone "{z}" {{\n    type primary;\n    file "{z}.db";\n'
                     f'    allow-transfer {{ any; }};\n{policy}}};\n')
        body += ''.join(
            f'zone "{z}" {{\n    type secondary;\n    primaries {{ {NS1}; }};\n'
            f'    file "{z}.sec";\n    allow-notify {{ none; }};\n'
            f'    allow-transfer {{ any; }};\n}};\n' for z in secondary)
        conf = d / 'named.conf'
        conf.write_text(named_conf(d, addr, rndc_key, rndc_secret, body, keys))
        _run(['named-checkconf', str(conf)])
        srv = Server(name, [self.server_binary('named'), '-g', '-4', '-c', str(conf)], d)
        self.servers[name] = srv
        srv.start()

    def _start_unbound(self, name, addr):
        d = self.tmp / name
        d.mkdir()
        conf = d / 'unbound.conf'
        conf.write_text(unbound_conf(d, addr, self.extra_zones))
        _run(['unbound-checkconf', str(conf)])
        srv = Server(name, [self.server_binary('unbound'), '-d', '-c', str(conf)], d,
                     logs=[d / 'unbound.log'])
        self.servers[name] = srv
        srv.start()

    def server_binary(self, name):
        """The program to run for named/unbound. Debian enables AppArmor, and
        its profiles for /usr/sbin/named and /usr/sbin/unbound let them read
        configs only under /etc/bind, /etc/unbound, ...: not the testbed's
        temp dir. A profile is attached by path, so where AppArmor is on
        (or DNS01_IT_COPY_SERVERS=1) the tests run a copy of the same Debian
        binary from the temp dir."""
        on = Path('/sys/module/apparmor/parameters/enabled')
        if not (os.environ.get('DNS01_IT_COPY_SERVERS') == '1'
                or (on.exists() and on.read_text().strip() == 'Y')):
            return name
        copy = self.tmp / 'bin' / name
        if not copy.exists():
            copy.parent.mkdir(exist_ok=True)
            shutil.copy2(shutil.which(name, path='/usr/sbin:/usr/bin:/sbin:/bin'), copy)
        return str(copy)

    def restart_ca_resolver(self):
        """A fresh CA-side resolver with an empty cache, so each ACME run in
        the tests validates like a CA that never saw an earlier run's TXT
        answers (those stay cached for their TTL: 10 s from rfc2136, 60 s
        from Cloudflare)."""
        self.servers['res-ca'].stop()
        d = self.tmp / 'res-ca'
        srv = Server('res-ca', [self.server_binary('unbound'), '-d', '-c',
                                str(d / 'unbound.conf')], d,
                     logs=[d / 'unbound.log'])
        self.servers['res-ca'] = srv
        srv.start()
        self._wait(lambda: dig_ok(RES_CA, 'ns1.example.test', 'A', aa=False),
                   'res-ca resolving via the stubs', 'res-ca')

    # ---- pebble ------------------------------------------------------------

    def pebble(self):
        """Start pebble once (slow); returns (directory_url, ca_file)."""
        if self._pebble:
            return self._pebble
        d = self.tmp / 'pebble'
        d.mkdir()
        ca, ca_key = d / 'ca.pem', d / 'ca.key'
        ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
        _run(['openssl', 'req', '-x509', *ec, '-keyout', str(ca_key), '-out', str(ca),
              '-days', '3', '-subj', '/CN=dns01 integration test CA',
              '-addext', 'basicConstraints=critical,CA:TRUE',
              '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
        _run(['openssl', 'req', *ec, '-keyout', str(d / 'key.pem'), '-out', str(d / 'server.csr'),
              '-subj', '/CN=localhost'])
        (d / 'ext.cnf').write_text('subjectAltName=DNS:localhost,IP:127.0.0.1\n'
                                   'basicConstraints=CA:FALSE\n'
                                   'keyUsage=critical,digitalSignature\n'
                                   'extendedKeyUsage=serverAuth\n')
        _run(['openssl', 'x509', '-req', '-in', str(d / 'server.csr'), '-CA', str(ca),
              '-CAkey', str(ca_key), '-set_serial', str(random.getrandbits(63)),
              '-days', '3', '-extfile', str(d / 'ext.cnf'), '-out', str(d / 'cert.pem')])
        (d / 'pebble.json').write_text(f"""{{
  "pebble": {{
    "listenAddress": "127.0.0.1:14000",
    "managementListenAddress": "127.0.0.1:15000",
    "certificate": "{d / 'cert.pem'}",
    "privateKey": "{d / 'key.pem'}",
    "httpPort": 5002,
    "tlsPort": 5001,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }}
}}
""")
        env = clean_env({'PEBBLE_VA_NOSLEEP': '1', 'PEBBLE_WFE_NONCEREJECT': '0',
                         'PEBBLE_AUTHZREUSE': '0'})   # validate every challenge
        srv = Server('pebble', ['pebble', '-config', str(d / 'pebble.json'),
                                '-dnsserver', f'{RES_CA}:53'], d, env=env)
        self.servers['pebble'] = srv
        srv.start()
        ctx = ssl.create_default_context(cafile=str(ca))
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=ctx))

        def ready():
            try:
                with opener.open(PEBBLE_DIR_URL, timeout=2) as r:
                    return r.status == 200 and b'newOrder' in r.read()
            except OSError:
                return False
        self._wait(ready, 'pebble /dir', 'pebble', timeout=30)
        self._pebble = (PEBBLE_DIR_URL, str(ca))
        return self._pebble

    # ---- Cloudflare API emulator ---------------------------------------------

    def cloudflare(self, name='cf'):
        """Start (once per name) a Cloudflare API v4 emulator (cf_emulator.py)
        in a thread of this process; it publishes its TXT records into ns1
        with the key dns01-key. Each name has its own test CA (em.ca_file),
        so one instance's CA does not vouch for another's certificate."""
        if name not in self._cf:
            import cf_emulator
            import emulator_base
            em = cf_emulator.CloudflareEmulator(self.tmp / name,
                                                publisher=emulator_base.BindPublisher(self),
                                                name=name)
            self._cf[name] = em.start()
        return self._cf[name]

    # ---- Sakura Cloud API emulator -------------------------------------------

    def sakura(self, name='sakura'):
        """Start (once per name) a Sakura Cloud API 1.1 emulator
        (sakura_emulator.py) in a thread of this process; it publishes the TXT
        records of example.test and acme.test into ns1 with the key dns01-key.
        Each name has its own test CA (em.ca_file)."""
        if name not in self._sakura:
            import emulator_base
            import sakura_emulator
            em = sakura_emulator.SakuraEmulator(self.tmp / name,
                                                publisher=emulator_base.BindPublisher(self),
                                                name=name)
            self._sakura[name] = em.start()
        return self._sakura[name]

    # ---- Google Cloud DNS API emulator -----------------------------------------

    def google(self, name='google'):
        """Start (once per name) a Google Cloud DNS API v1 emulator with its
        OAuth token endpoint (google_emulator.py) in a thread of this
        process; it publishes the TXT records of its public example.test and
        acme.test into ns1 with the key dns01-key. Its own test CA (em.ca_file)."""
        if name not in self._google:
            import emulator_base
            import google_emulator
            em = google_emulator.GoogleEmulator(self.tmp / name,
                                                publisher=emulator_base.BindPublisher(self),
                                                name=name)
            self._google[name] = em.start()
        return self._google[name]

    def google_metadata(self, name='google'):
        """A GCE metadata server (plain HTTP on 127.0.0.1) handing out tokens
        of the Google emulator `name` (google_emulator.MetadataServer); dns01
        reaches it through GCE_METADATA_HOST=<md.host>."""
        if name not in self._google_md:
            import google_emulator
            self._google_md[name] = google_emulator.MetadataServer(self.google(name))
        return self._google_md[name]

    # ---- Route 53 API and instance metadata emulators ------------------------

    def route53(self, name='route53'):
        """Start (once per name) a Route 53 API 2013-04-01 emulator
        (route53_emulator.py) in a thread of this process; it publishes the
        TXT records of its public zones example.test and acme.test into ns1
        with the key dns01-key. Each name has its own test CA (em.ca_file)."""
        if name not in self._route53:
            import emulator_base
            import route53_emulator
            em = route53_emulator.Route53Emulator(self.tmp / name,
                                                  publisher=emulator_base.BindPublisher(self),
                                                  name=name)
            self._route53[name] = em.start()
        return self._route53[name]

    def imds(self, name='imds'):
        """Start (once per name) an EC2 instance metadata (IMDSv2) emulator
        on plain HTTP at 127.0.0.1 (route53_emulator.ImdsEmulator)."""
        if name not in self._route53:
            import route53_emulator
            self._route53[name] = route53_emulator.ImdsEmulator(name).start()
        return self._route53[name]

    # ---- operations for tests ------------------------------------------------

    def rndc(self, addr, *args):
        return _run(['rndc', '-c', str(self.rndc_conf[addr]), '-s', addr,
                     '-p', str(RNDC_PORT), *args], check=False)

    def retransfer(self, zone):
        """Ask ns2 to transfer `zone` from ns1 now (returns at once)."""
        p = self.rndc(NS2, 'retransfer', zone)
        if p.returncode != 0:
            raise RuntimeError(f'rndc retransfer {zone}: {p.stderr.strip()}')

    def set_lag(self, seconds):
        """Changes on ns1 reach ns2 `seconds` later; None = never."""
        self.lag.set_lag(seconds)

    def sync(self, timeout=10):
        """Bring ns2 up to ns1's serial for every zone now."""
        for z in self.zones:
            self.lag.transfer(z, timeout=timeout)

    def settle(self):
        """Lag 0 and ns2 in sync now.  Transfers still queued are dropped
        first: one due later would carry the next change to ns2 before its
        lag (a cleanup returns without waiting for ns2)."""
        self.set_lag(None)
        self.set_lag(0)
        self.sync()

    def reset(self, keep_arrivals=False):
        """Between tests: lag 0, ns2 in sync, no cache ledger and (unless
        keep_arrivals: a measurement of repeated runs) no learned arrival
        times: each test starts like a host where dns01 changed nothing
        recently."""
        self.settle()
        (self.tmp / 'state' / 'cache.ledger').unlink(missing_ok=True)
        if not keep_arrivals:
            (self.tmp / 'state' / 'arrivals').unlink(missing_ok=True)

    def nsupdate(self, *lines, zone='example.test', key='dns01-key', server=None):
        """Send one signed UPDATE to the zone's primary (ns3 for its zones,
        else ns1) or to `server` (zone given explicitly, so nsupdate never
        asks the resolver anything)."""
        alg, sec = self.keys[key]
        server = server or primary_of(zone)
        script = f'server {server} 53\nzone {zone}\n' + '\n'.join(lines) + '\nsend\n'
        p = subprocess.run(['nsupdate', '-y', f'{alg}:{key}:{sec}'], input=script,
                           capture_output=True, text=True, timeout=20)
        if p.returncode != 0:
            raise AssertionError(f'nsupdate failed ({p.returncode}): {p.stderr.strip()}\n{script}')

    def axfr(self, zone, server=None):
        """The zone as `server` (default: the zone's primary) transfers it
        (dig AXFR): one record a line, fields separated by one space, rdata
        as dig prints it, sorted, the SOA once. Fails the test when the
        transfer fails."""
        server = server or primary_of(zone)
        p = subprocess.run(['dig', '+time=2', '+tries=1', '+noall', '+answer', '+onesoa',
                            f'@{server}', zone, 'AXFR'], capture_output=True, text=True,
                           timeout=20)
        recs = []
        for line in p.stdout.splitlines():
            if not line.strip() or line.startswith(';'):
                continue
            parts = line.split(None, 4)
            recs.append(' '.join(parts))
        if p.returncode != 0 or not any(r.split(None, 4)[3:4] == ['SOA'] for r in recs):
            raise AssertionError(f'AXFR of {zone} from {server} failed (dig exit '
                                 f'{p.returncode}): {(p.stdout + p.stderr).strip()[-500:]}')
        return '\n'.join(sorted(recs)) + '\n'

    def write_config(self, path=None, mode=0o600, key=None, **overrides):
        """Write a dns01 config file (mode 600) and return its path.

        key='key-md5' picks one of the TSIG keys; overrides set or (with None)
        remove keys of [dns01] (resolvers state_dir timeout ttl) or of the
        provider section (anything else)."""
        if path is None:
            fd, path = tempfile.mkstemp(prefix='dns01-', suffix='.conf', dir=self.tmp)
            os.close(fd)
        key = key or 'dns01-key'
        alg, sec = self.keys[key]
        main = {'resolvers': RES_CLIENT, 'state_dir': str(self.tmp / 'state'),
                'timeout': RUN_TIMEOUT}
        prov = {'type': 'rfc2136', 'tsig_key': key, 'tsig_algorithm': alg, 'tsig_secret': sec}
        for k, v in overrides.items():
            section = main if k in ('resolvers', 'state_dir', 'timeout', 'ttl') else prov
            if v is None:
                section.pop(k, None)
            else:
                section[k] = str(v)
        text = '[dns01]\n' + ''.join(f'{k} = {v}\n' for k, v in main.items()) \
            + '\n[provider ns]\n' + ''.join(f'{k} = {v}\n' for k, v in prov.items())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        return str(path)

    def resolver_log(self):
        """The client-side resolver's log (queries it received)."""
        p = self.tmp / 'res-client' / 'unbound.log'
        return p.read_text(errors='replace') if p.exists() else ''

    # ---- diagnostics -------------------------------------------------------

    def log_sizes(self):
        return {n: s.log_sizes() for n, s in self.servers.items()}

    def logs_since(self, sizes, tail=60):
        parts = [s.log_text((sizes or {}).get(n), tail) for n, s in self.servers.items()]
        if self.lag:
            parts.append('--- lag controller\n' + self.lag.events_text(tail))
        return '\n'.join(p for p in parts if p)

    def dead_servers(self):
        return [n for n, s in self.servers.items() if not s.alive()]


def primary_of(zone):
    """The address of the server that takes UPDATEs (and is the source of
    transfers) for `zone`."""
    if zone in NS3_ZONES:
        return NS3
    if zone in NS2_OWN_ZONES:
        return NS2
    return NS1


class LagController:
    """Delivers ns1's changes to ns2 `lag` seconds after they appear.

    A poller thread reads ns1's SOA serial of every zone every ~20 ms; each
    change queues a transfer due `lag` s later. One worker per zone runs due
    transfers: `rndc retransfer`, then waits until ns2's serial reaches the
    serial ns1 had when the transfer started, repeating the retransfer when
    BIND ignored it (it refuses transfers < ~0.5 s apart). A transfer copies
    ns1's current zone, so it may carry later changes early; a change that
    arrives during a transfer is seen by the poller and gets its own one.
    """

    def __init__(self, tb):
        self.tb = tb
        self.lag = 0
        self.cv = threading.Condition()
        self.zones = tb.zones
        self.due = {z: [] for z in self.zones}
        self.last = {z: soa_serial(NS1, z) for z in self.zones}
        self.zone_locks = {z: threading.Lock() for z in self.zones}
        self.events = []
        self.t0 = time.monotonic()
        self._stop = threading.Event()
        self.threads = [threading.Thread(target=self._poll, daemon=True)] + \
            [threading.Thread(target=self._worker, args=(z,), daemon=True) for z in self.zones]

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self._stop.set()
        with self.cv:
            self.cv.notify_all()
        for t in self.threads:
            t.join(3)

    def event(self, msg):
        self.events.append((time.monotonic(), msg))
        del self.events[:-500]

    def events_text(self, tail=60):
        return '\n'.join(f'{t - self.t0:9.3f} {m}' for t, m in self.events[-tail:])

    def set_lag(self, seconds):
        with self.cv:
            self.lag = seconds
            if seconds is None:
                for q in self.due.values():
                    q.clear()
            self.event(f'lag set to {seconds}')
            self.cv.notify_all()

    def _poll(self):
        while not self._stop.is_set():
            now = time.monotonic()
            for z in self.zones:
                s = soa_serial(NS1, z, timeout=0.3)
                with self.cv:
                    if s is not None and s != self.last[z]:
                        self.event(f'ns1 {z} serial {self.last[z]} -> {s}')
                        self.last[z] = s
                        if self.lag is not None:
                            bisect.insort(self.due[z], now + self.lag)
                            self.cv.notify_all()
            self._stop.wait(0.02)

    def _worker(self, zone):
        while not self._stop.is_set():
            with self.cv:
                q = self.due[zone]
                now = time.monotonic()
                if not q or q[0] > now:
                    self.cv.wait(None if not q else q[0] - now)
                    continue
                while q and q[0] <= now:   # one transfer covers all due changes
                    q.pop(0)
            try:
                self.transfer(zone)
            except Exception as e:     # keep the controller alive; tests see the event
                self.event(f'ERROR {e}')

    def transfer(self, zone, timeout=10):
        """Make ns2 serve at least the serial ns1 has now; returns when it does."""
        with self.zone_locks[zone]:
            target = soa_serial(NS1, zone)
            if target is None:
                raise RuntimeError(f'ns1 does not answer SOA {zone}')
            deadline = time.monotonic() + timeout
            while True:
                have = soa_serial(NS2, zone)
                if have is not None and have >= target:
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f'ns2 did not reach serial {target} of {zone} '
                                       f'within {timeout}s (has {have})')
                self.event(f'retransfer {zone} (ns2 {have} -> ns1 {target})')
                self.tb.retransfer(zone)
                # BIND defers a retransfer that comes < ~0.5 s after the last
                # transfer; ask again only if even that did not happen.
                retry = time.monotonic() + 1.2
                while time.monotonic() < retry:
                    have = soa_serial(NS2, zone, timeout=0.2)
                    if have is not None and have >= target:
                        self.event(f'ns2 {zone} now serial {have}')
                        return
                    time.sleep(0.01)
