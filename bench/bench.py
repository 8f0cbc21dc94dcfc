#!/usr/bin/python3
"""dns01 against its peers on a local bed: `make bench` runs this.

    /usr/bin/python3 bench/bench.py

Builds dns01, then runs two beds at once, each in its own network, mount and
PID namespace with its own BIND primary ns1, lagging secondary ns2 (the
LagController of tests/integration/testbed.py delivers ns1's changes to ns2
`lag` s late), unbound resolvers and pebble:

  bed A, one run at a time (the measurements that need a quiet machine):
    (a) example.test-style apex + wildcard certificates (bN.example.test and
        *.bN.example.test, a fresh N per run) at lag 0, 2, 5 and 10 s with
        certbot + dns01 hooks, the reference hook (bench/reference-hook.sh:
        nsupdate, then dig every 1 s) and the floor hook
        (bench/floor-hook.sh: nsupdate, then released by this script's own
        10 ms prober once every value is on every server);
    (b) dns01's wait overhead in those runs: the last auth hook's return
        (bench/hookwrap.sh, the same wrapper for every hook) minus the
        moment the later of ns1 and ns2 first served both values (a 10 ms
        raw-UDP prober from an address of its own, not dns01's log);
    (c) 100-name certificates at lag 5 s with dns01; also the first auth
        call to the last auth return and the UPDATE messages to add and to
        remove (ns1's zone journal);
    (d) queries per second that ns1 and ns2 received about the run's
        challenge names during dns01's last auth call (BIND's query log,
        ms timestamps; the prober's address left out): average and the
        most in any 100 ms, for apex + wildcard at lag 5 and 100 names;
    (e) API calls per apex + wildcard certificate with dns01 against the
        Cloudflare and Sakura Cloud emulators, 100 ms added to every answer;
    (f) peak RSS of a hook call (/usr/bin/time -v) and instructions of one
        `dns01 list` (callgrind, total Ir).
  bed B, the sleep-dominated clients, several at once, each in a zone of
  its own (slotK.test) so that one's changes never reach ns2 early with
  another's transfer: per lag certbot --dns-rfc2136 at its default
  propagation (60 s) and lego rfc2136 (TTL 10 s, sequence interval 10 s),
  3 + 3 at once, and STAGGER s later, while those sleep, certbot
  --dns-rfc2136 at 10 s three times one after the other; then at lag 5,
  lego and the reference hook at 10 names (3 + 3 at once; their 100-name
  times are extrapolated) and, STAGGER s later, certbot --dns-rfc2136 at
  10 s with 100 names three times one after the other.

Issuance time is the wall time of the whole `certbot certonly` / `lego run`
process.  Every configuration runs REPS times; tables give median and max.
Writes bench/results.md and bench/issuance.png and prints the results.
"""

import collections
import datetime
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / 'tests' / 'integration'))
import testbed  # noqa: E402
from testbed import NS1, NS2, RES_CLIENT, TxtWatcher, clean_env  # noqa: E402

REPS = 3
LAGS = (0, 2, 5, 10)                  # s, ns2 behind ns1
MANY_LAG = 5                          # s, the lag of the many-name runs
MANY_NAMES = 100
FEW_NAMES = 10                        # lego and the reference hook, extrapolated to 100
CERTBOT_FAST_PROPAGATION = 10         # s, certbot --dns-rfc2136-propagation-seconds
CERTBOT_DEFAULT_PROPAGATION = 60      # s, its default
LEGO_TTL = 10                         # s, RFC2136_TTL
LEGO_SEQUENCE_INTERVAL = 10           # s, RFC2136_SEQUENCE_INTERVAL
HOOK_TTL = 10                         # s, the reference and floor hooks' record TTL
PROBE_PERIOD = 0.01                   # s, the bench's own prober
PROBER_SOURCE = '127.53.0.200'        # its source address (told apart in the query logs)
# The addresses of ns1 and ns2 that answer: ns1's AAAA fd00:53::1 and ns2's
# 127.53.0.99 never do (testbed.EXAMPLE_EXTRA), and no hook can wait for them.
AUTH_SERVERS = (NS1, NS2)
BURST_WINDOW = 0.1                    # s, "largest burst" = most queries in one such window
API_LATENCY = 0.1                     # s, added to every emulator answer
CLIENT_TIMEOUT = 600                  # s, one certbot / lego process
DNS01_TIMEOUT = 60                    # s, dns01's `timeout` (no lag here comes near it)
BED_B_ZONES = tuple(f'slot{k}.test' for k in range(1, 3 * REPS + 1))
STAGGER = 8                           # s, bed B: one-by-one runs start after the batch started
ZONE = 'example.test'
KEY = 'dns01-key'

# Targets (issue 12).
TARGET_PEER_RATIO = 0.8               # dns01 <= this x the best peer that issued
TARGET_FLOOR_MARGIN = 0.5             # s, dns01 <= floor + this
TARGET_MANY_TOTAL = 12.0              # s, 100 names at lag 5
TARGET_MANY_AUTH_MARGIN = 1.0         # s, first auth call -> last auth return <= lag + this
TARGET_UPDATES = 1                    # UPDATE messages per zone, to add and to remove
TARGET_OVERHEAD_MEDIAN = 0.050        # s
TARGET_OVERHEAD_MAX = 0.150           # s
TARGET_QPS = 10.0                     # queries/s per address, average over a wait
TARGET_RSS_KB = 8 * 1024              # peak RSS of a hook call

# Tool keys and their labels, in table order.  PEERS: what dns01 competes with.
DNS01, REF, FLOOR = 'dns01', 'reference', 'floor'
# certbot with a hook that does nothing (not a tool in the tables): how long
# certbot itself takes between its hook calls, the least any hook can cost.
NOOP, HOOKCOST = 'noop', 'hookcost'
CB10, CB60, LEGO = 'certbot-rfc2136-10', 'certbot-rfc2136-60', 'lego-rfc2136'
LABELS = {
    DNS01: 'certbot + dns01 hooks',
    CB10: f'certbot --dns-rfc2136, propagation {CERTBOT_FAST_PROPAGATION} s',
    CB60: f'certbot --dns-rfc2136, propagation {CERTBOT_DEFAULT_PROPAGATION} s (default)',
    LEGO: f'lego rfc2136, TTL {LEGO_TTL} s, sequence {LEGO_SEQUENCE_INTERVAL} s',
    REF: 'certbot + reference hook (nsupdate, dig every 1 s)',
    FLOOR: 'certbot + floor hook (nsupdate, told by the prober)',
    NOOP: 'certbot + a hook that does nothing (/bin/true)',
}
PEERS = (CB10, CB60, LEGO, REF)
TOOLS = (DNS01,) + PEERS + (FLOOR,)

# What `make bench` needs: program -> Debian package.
NEEDED = {'certbot': 'certbot', 'lego': 'lego', 'pebble': 'pebble',
          'named': 'bind9', 'unbound': 'unbound', 'nsupdate': 'bind9-dnsutils',
          'dig': 'bind9-dnsutils', 'named-journalprint': 'bind9-utils',
          'rndc': 'bind9-utils', 'gnuplot': 'gnuplot-nox', 'valgrind': 'valgrind',
          '/usr/bin/time': 'time', 'unshare': 'util-linux', 'ip': 'iproute2',
          'openssl': 'openssl', 'make': 'build-essential'}
NEEDED_PY = {'certbot_dns_rfc2136': 'python3-certbot-dns-rfc2136'}

WRAP = HERE / 'hookwrap.sh'


def log(msg):
    print(msg, flush=True)


# --------------------------------------------------------------------------
# Probers
# --------------------------------------------------------------------------

class FloorSignal(threading.Thread):
    """The floor hook's partner: reads the "NAME VALUE" lines the hook
    appends to DIR/values, asks every AUTH_SERVERS address for each name every
    PROBE_PERIOD, and once the hook's last call appended "last" and every
    value is on every server, writes a line to the FIFO DIR/go."""

    def __init__(self, directory):
        super().__init__(daemon=True)
        self.dir = Path(directory)
        self.dir.mkdir()
        (self.dir / 'values').touch()
        os.mkfifo(self.dir / 'go')
        self.seen = set()                      # (server, name, value)
        self._stop_ev = threading.Event()

    def run(self):
        while not self._stop_ev.is_set():
            lines = (self.dir / 'values').read_text().splitlines()
            wanted = collections.defaultdict(set)
            for line in lines:
                if ' ' in line:
                    name, value = line.split(' ', 1)
                    wanted[name].add(value)
            for server in AUTH_SERVERS:
                for name, values in wanted.items():
                    if all((server, name, v) in self.seen for v in values):
                        continue
                    rcode, aa, served = testbed.txt_values(server, name, timeout=0.2,
                                                           source=PROBER_SOURCE)
                    if rcode == 'NOERROR' and aa:
                        self.seen.update((server, name, v) for v in served if v in values)
            done = all((s, n, v) in self.seen for s in AUTH_SERVERS
                       for n, vs in wanted.items() for v in vs)
            if 'last' in lines and done:
                with open(self.dir / 'go', 'w') as f:
                    f.write('go\n')
                return
            self._stop_ev.wait(PROBE_PERIOD)

    def stop(self):
        self._stop_ev.set()
        self.join(2)


# --------------------------------------------------------------------------
# Logs: hook wrapper, BIND query log, zone journal
# --------------------------------------------------------------------------

def read_hook_log(path):
    """bench/hookwrap.sh lines -> [(phase, 'start'|'end', epoch, rc or None)]."""
    out = []
    if Path(path).exists():
        for line in Path(path).read_text().splitlines():
            f = line.split()
            out.append((f[0], f[1], float(f[2]), int(f[5]) if f[1] == 'end' else None))
    return out


def hook_summary(events):
    """First auth start, last auth call's start and end, last cleanup call's
    start and end, and the non-zero exit codes."""
    def times(phase, what):
        return [t for p, w, t, _ in events if p == phase and w == what]
    a_start, a_end = times('auth', 'start'), times('auth', 'end')
    c_start, c_end = times('cleanup', 'start'), times('cleanup', 'end')
    return {'auth_calls': len(a_start), 'cleanup_calls': len(c_start),
            'first_auth_start': min(a_start, default=None),
            'last_auth_start': max(a_start, default=None),
            'last_auth_end': max(a_end, default=None),
            'last_cleanup_start': max(c_start, default=None),
            'last_cleanup_end': max(c_end, default=None),
            'failed_hooks': [f'{p} {rc}' for p, _, _, rc in events if rc]}


QUERY_RE = re.compile(r'^(\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d\.\d{3}) client @\S+ '
                      r'([\d.]+)#\d+ \([^)]*\): query: (\S+) IN (\S+) ')


def query_times(text, suffix):
    """Epoch times of the queries in a named -g log `text` about names
    ending in `suffix` (the run's challenge names), the prober's left out."""
    out = []
    for line in text.splitlines():
        m = QUERY_RE.match(line)
        if m and m.group(2) != PROBER_SOURCE and m.group(3).lower().endswith(suffix):
            out.append(datetime.datetime.strptime(m.group(1), '%d-%b-%Y %H:%M:%S.%f')
                       .timestamp())
    return out


UPDATE_RE = re.compile(r"^(\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d\.\d{3}) client .*: updating zone "
                       r"'[^']*': adding an RR at '([^']+)'")


def update_times(text, suffix):
    """Epoch times at which ns1 (named -g log `text`) applied an UPDATE that
    added a record at a name ending in `suffix`."""
    out = []
    for line in text.splitlines():
        m = UPDATE_RE.match(line)
        if m and m.group(2).lower().endswith(suffix):
            out.append(datetime.datetime.strptime(m.group(1), '%d-%b-%Y %H:%M:%S.%f')
                       .timestamp())
    return out


def rate_and_burst(times, start, end):
    """(queries/s over [start, end], most queries in any BURST_WINDOW)."""
    ts = sorted(t for t in times if start <= t <= end)
    burst, j = 0, 0
    for i, t in enumerate(ts):
        while ts[j] < t - BURST_WINDOW + 1e-9:
            j += 1
        burst = max(burst, i - j + 1)
    return len(ts) / max(end - start, 1e-3), burst


def journal_updates(tb, zone, serial_before, serial_after, suffix):
    """UPDATE messages to `zone` that took its serial from serial_before to
    serial_after (ns1 bumps the serial once per message), from its journal
    (named-journalprint: each transaction is "del" old SOA, deletions, "add"
    new SOA, additions): (messages that added, messages that removed names
    ending in `suffix`, all messages)."""
    p = subprocess.run(['named-journalprint', str(tb.tmp / 'ns1' / f'{zone}.db.jnl')],
                       capture_output=True, text=True)
    txns = []
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) < 5:
            continue
        if f[4] == 'SOA' and f[1].rstrip('.') == zone:
            if f[0] == 'del':
                txns.append({'serial': None, 'add': 0, 'del': 0})
            elif txns:
                txns[-1]['serial'] = int(f[7])
        elif txns and f[1].rstrip('.').lower().endswith(suffix):
            txns[-1][f[0]] += 1
    mine = [t for t in txns if t['serial'] and serial_before < t['serial'] <= serial_after]
    return (sum(1 for t in mine if t['add']), sum(1 for t in mine if t['del']),
            serial_after - serial_before)


# --------------------------------------------------------------------------
# One bed
# --------------------------------------------------------------------------

class Bed:
    """A started Testbed with pebble, and the ways to run each client."""

    def __init__(self, tb, name):
        self.tb, self.name = tb, name
        self.dir_url, self.ca = tb.pebble()
        self.n = 0
        self.lock = threading.Lock()
        alg, sec = tb.keys[KEY]
        self.alg, self.secret = alg, sec
        self.keyfile = tb.tmp / 'bench-tsig.key'
        self.keyfile.write_text(f'key "{KEY}" {{ algorithm {alg}; secret "{sec}"; }};\n')
        self.conf = tb.write_config(timeout=DNS01_TIMEOUT)
        self.runs = []

    def fresh(self, prefix, zone=ZONE):
        with self.lock:
            self.n += 1
            return f'{prefix}{self.n}.{zone}'

    def settle(self, lag):
        """No transfer pending from the run before (it would carry the next
        run's changes to ns2 early), ns2 in sync, then `lag`."""
        self.tb.set_lag(None)
        self.tb.sync()
        self.tb.set_lag(lag)

    def workdir(self, tool):
        return Path(tempfile.mkdtemp(prefix=f'{tool}-', dir=self.tb.tmp))

    def record(self, r):
        with self.lock:
            self.runs.append(r)
        status = f'{r["seconds"]:6.1f} s' if r['ok'] else f'FAILED after {r["seconds"]:.1f} s'
        log(f'[{self.name}] {r["kind"]:>11} lag {r["lag"]:>2} {r["tool"]:<20} '
            f'{r["names"]:>3} names  {status}{r.get("note", "")}')
        return r

    def _run(self, argv, env, work):
        t0 = time.time()
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=CLIENT_TIMEOUT,
                               env=clean_env(env), stdin=subprocess.DEVNULL, cwd=work)
            rc, out = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out = 'timeout', str(e.stdout or '') + str(e.stderr or '')
        t1 = time.time()
        (work / 'client.out').write_text(out)
        return rc, t0, t1

    # ---- certbot --------------------------------------------------------------

    def certbot(self, tool, base, domains, lag, kind, conf=None, querylog=False,
                watch=False):
        """One `certbot certonly` for `domains` (all of them `base` or below
        it): with hooks for DNS01 (config `conf`, default the rfc2136 one),
        REF and FLOOR (through bench/hookwrap.sh), else with --dns-rfc2136.
        querylog: ns1's and ns2's query rates during the last auth and
        cleanup calls; watch: the wait overhead (apex + wildcard only)."""
        work = self.workdir(tool)
        env = {'REQUESTS_CA_BUNDLE': self.ca, 'BENCH_KEYFILE': str(self.keyfile),
               'BENCH_PRIMARY': NS1, 'BENCH_SERVERS': ' '.join(AUTH_SERVERS),
               'BENCH_TTL': str(HOOK_TTL)}
        argv = ['certbot', 'certonly', '--non-interactive', '--agree-tos',
                '--register-unsafely-without-email', '--server', self.dir_url,
                '--config-dir', str(work / 'config'), '--work-dir', str(work / 'work'),
                '--logs-dir', str(work / 'logs')]
        hooklog = work / 'hooks.log'
        floor = None
        if tool in (DNS01, REF, FLOOR, NOOP):
            cmd = {DNS01: f'{shlex.quote(testbed.dns01_binary())} '
                          f'-c {shlex.quote(conf or self.conf)}',
                   REF: str(HERE / 'reference-hook.sh'),
                   FLOOR: str(HERE / 'floor-hook.sh'),
                   NOOP: '/bin/true'}[tool]
            auth, cleanup = (f'{WRAP} {hooklog} {phase} {cmd} {phase}'
                             for phase in ('auth', 'cleanup'))
            argv += ['--manual', '--preferred-challenges', 'dns',
                     '--manual-auth-hook', auth, '--manual-cleanup-hook', cleanup]
            if tool == FLOOR:
                floor = FloorSignal(work / 'floor')
                env['BENCH_FLOOR_DIR'] = str(floor.dir)
        else:
            creds = work / 'rfc2136.ini'
            fd = os.open(creds, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, 'w') as f:
                f.write(f'dns_rfc2136_server = {NS1}\ndns_rfc2136_port = 53\n'
                        f'dns_rfc2136_name = {KEY}\ndns_rfc2136_secret = {self.secret}\n'
                        f'dns_rfc2136_algorithm = {self.alg.upper()}\n')
            seconds = CERTBOT_FAST_PROPAGATION if tool == CB10 else CERTBOT_DEFAULT_PROPAGATION
            argv += ['--dns-rfc2136', '--dns-rfc2136-credentials', str(creds),
                     '--dns-rfc2136-propagation-seconds', str(seconds)]
        for d in domains:
            argv += ['-d', d]
        suffix = '.' + base.lower()
        watchers = [TxtWatcher(s, '_acme-challenge.' + base, min_count=2, clock=time.time,
                               source=PROBER_SOURCE) for s in AUTH_SERVERS] \
            if watch else []
        offsets = {s: self._log_size(s) for s in AUTH_SERVERS}
        serial0 = testbed.soa_serial(NS1, ZONE)
        if querylog:
            self._querylog('on')
        for t in watchers + ([floor] if floor else []):
            t.start()
        try:
            rc, t0, t1 = self._run(argv, env, work)
        finally:
            for t in watchers + ([floor] if floor else []):
                t.stop()
            if querylog:
                self._querylog('off')
        certs = list((work / 'config' / 'live').glob('*/cert.pem'))
        r = {'tool': tool, 'kind': kind, 'lag': lag, 'names': len(domains),
             'ok': rc == 0 and bool(certs), 'seconds': t1 - t0, 'rc': rc, 'work': str(work)}
        if not r['ok']:
            r['error'] = self._certbot_error(work)
        if tool in (DNS01, REF, FLOOR, NOOP):
            r.update(hook_summary(read_hook_log(hooklog)))
            if r['failed_hooks']:
                r['note'] = f'  (hook exit codes: {" ".join(r["failed_hooks"])})'
        if watchers:
            self._overhead(r, watchers)
        if querylog:
            self._queries(r, offsets, suffix)
        if tool == DNS01 and kind == 'many':
            serial1 = testbed.soa_serial(NS1, ZONE)
            adds, dels, msgs = journal_updates(self.tb, ZONE, serial0, serial1, suffix)
            r.update(updates_add=adds, updates_remove=dels, updates_total=msgs)
        return self.record(r)

    def _certbot_error(self, work):
        logf = work / 'logs' / 'letsencrypt.log'
        text = logf.read_text(errors='replace') if logf.exists() else \
            (work / 'client.out').read_text(errors='replace')
        m = re.findall(r'Detail: [^\n]{0,300}', text) or \
            re.findall(r'(?:Error|error)[^\n]{0,300}', text)
        return m[-1] if m else text[-300:]

    def _overhead(self, r, watchers):
        firsts = [w.first_positive for w in watchers]
        if None in firsts or r.get('last_auth_end') is None:
            r['overhead'] = None
            return
        served = max(firsts)
        r['served_everywhere'] = served
        r['overhead'] = r['last_auth_end'] - served

    def _log_size(self, server):
        p = self._log_path(server)
        return p.stat().st_size if p.exists() else 0

    def _log_path(self, server):
        name = {NS1: 'ns1', NS2: 'ns2'}[server]
        return self.tb.tmp / name / f'{name}.out'

    def _querylog(self, state):
        for s in AUTH_SERVERS:
            p = self.tb.rndc(s, 'querylog', state)
            if p.returncode != 0:
                raise RuntimeError(f'rndc querylog {state} at {s}: {p.stderr.strip()}')

    def _queries(self, r, offsets, suffix):
        """Query rates at each address during dns01's wait (from ns1 applying
        the UPDATE that added the values to the last auth return), and, to
        show the bursts of zone discovery too, during the whole last auth
        call and the whole last cleanup call (which does not wait)."""
        r['queries'] = {}
        texts = {}
        for s in AUTH_SERVERS:
            with open(self._log_path(s), 'rb') as f:
                f.seek(offsets[s])
                texts[s] = f.read().decode('utf-8', 'replace')
        a0, a1 = r.get('last_auth_start'), r.get('last_auth_end')
        ups = [t for t in update_times(texts[NS1], suffix) if a0 and a1 and a0 <= t <= a1]
        r['wait_start'] = min(ups) if ups else None
        for s in AUTH_SERVERS:
            times = query_times(texts[s], suffix)
            for phase, (start, end) in (('wait', (r['wait_start'], a1)),
                                        ('auth', (a0, a1)),
                                        ('cleanup', (r.get('last_cleanup_start'),
                                                     r.get('last_cleanup_end')))):
                if start and end:
                    qps, burst = rate_and_burst(times, start, end)
                    r['queries'][f'{phase} {s}'] = {'qps': qps, 'burst': burst,
                                                    'window': end - start}

    # ---- lego -----------------------------------------------------------------

    def lego(self, domains, lag, kind):
        work = self.workdir('lego')
        env = {'LEGO_CA_CERTIFICATES': self.ca, 'RFC2136_NAMESERVER': f'{NS1}:53',
               'RFC2136_TSIG_KEY': KEY, 'RFC2136_TSIG_SECRET': self.secret,
               'RFC2136_TSIG_ALGORITHM': f'{self.alg}.',
               'RFC2136_TTL': str(LEGO_TTL),
               'RFC2136_SEQUENCE_INTERVAL': str(LEGO_SEQUENCE_INTERVAL)}
        argv = ['lego', '--server', self.dir_url, '--accept-tos',
                '--email', 'hostmaster@example.test', '--path', str(work),
                '--dns', 'rfc2136', '--dns.resolvers', f'{RES_CLIENT}:53']
        for d in domains:
            argv += ['--domains', d]
        rc, t0, t1 = self._run(argv + ['run'], env, work)
        cert = work / 'certificates' / (domains[0].replace('*', '_') + '.crt')
        r = {'tool': LEGO, 'kind': kind, 'lag': lag, 'names': len(domains),
             'ok': rc == 0 and cert.exists(), 'seconds': t1 - t0, 'rc': rc,
             'work': str(work)}
        if not r['ok']:
            r['error'] = (work / 'client.out').read_text(errors='replace')[-300:]
        return self.record(r)


def apex_wild(base):
    return (base, '*.' + base)


def many(base, n):
    return tuple(f'n{i:03d}.{base}' for i in range(n))


# --------------------------------------------------------------------------
# Bed A: one run at a time
# --------------------------------------------------------------------------

def bed_a(bed):
    for lag in LAGS:
        for rep in range(REPS):
            for tool in (DNS01, FLOOR, REF):
                bed.settle(lag)
                base = bed.fresh('b')
                bed.certbot(tool, base, apex_wild(base), lag, 'apex+wild',
                            querylog=(tool == DNS01 and lag == MANY_LAG),
                            watch=(tool == DNS01))
    for rep in range(REPS):
        bed.settle(MANY_LAG)
        base = bed.fresh('c')
        bed.certbot(DNS01, base, many(base, MANY_NAMES), MANY_LAG, 'many', querylog=True)
    for rep in range(REPS):     # the CA then refuses: only the hook calls count
        base = bed.fresh('n')
        bed.certbot(NOOP, base, many(base, MANY_NAMES), MANY_LAG, HOOKCOST)
    bed.settle(0)
    api_calls(bed)
    resources(bed)


def api_calls(bed):
    """(e) certbot + dns01 against each provider emulator, apex + wildcard."""
    import cf_emulator
    import sakura_emulator
    tb = bed.tb
    main = (f'[dns01]\nresolvers = {RES_CLIENT}\nstate_dir = {tb.tmp / "state"}\n'
            f'timeout = {DNS01_TIMEOUT}\n\n')
    providers = []
    em = tb.cloudflare()
    em.reset()
    token = cf_emulator.new_token()
    testbed.SECRETS.add(token)
    em.add_token(token)
    providers.append(('cloudflare', em, main + (
        f'[provider cf]\ntype = cloudflare\nzones = {ZONE}\napi_token = {token}\n'
        f'api_url = {em.api_url}\nca_file = {em.ca_file}\n')))
    em = tb.sakura()
    em.reset()
    em.publish_delay = 0        # as before: its default is as slow as the real service
    token, secret = sakura_emulator.new_token(), sakura_emulator.new_secret()
    testbed.SECRETS.update((token, secret))
    em.add_key(token, secret)
    providers.append(('sakuracloud', em, main + (
        f'[provider sakura]\ntype = sakuracloud\nzones = {ZONE}\naccess_token = {token}\n'
        f'access_token_secret = {secret}\napi_url = {em.api_url}\nca_file = {em.ca_file}\n')))
    for provider, em, text in providers:
        em.latency = API_LATENCY
        path = tb.tmp / f'bench-{provider}.conf'
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        for rep in range(REPS):
            bed.settle(0)
            mark = len(em.requests)
            base = bed.fresh('e')
            r = bed.certbot(DNS01, base, apex_wild(base), 0, provider, conf=str(path))
            r['api_calls'] = dict(collections.Counter(q.method for q in em.requests[mark:]))
            em.wait_published()


def resources(bed):
    """(f) peak RSS of an auth and a cleanup call; callgrind Ir of `list`."""
    dns01 = testbed.dns01_binary()
    for rep in range(REPS):
        bed.settle(0)
        domain = bed.fresh('f')
        env = testbed.certbot_env(domain, testbed.acme_value(), 0)
        r = {'tool': DNS01, 'kind': 'resources', 'lag': 0, 'names': 1, 'ok': True}
        for phase in ('auth', 'cleanup'):
            p = subprocess.run(['/usr/bin/time', '-v', dns01, '-c', bed.conf, phase],
                               capture_output=True, text=True, env=clean_env(env),
                               timeout=DNS01_TIMEOUT * 2)
            m = re.search(r'Maximum resident set size \(kbytes\): (\d+)', p.stderr)
            r[f'rss_{phase}_kb'] = int(m.group(1)) if m else None
            r['ok'] = r['ok'] and p.returncode == 0 and m is not None
            env['CERTBOT_AUTH_OUTPUT'] = p.stdout.strip()
        out = bed.tb.tmp / f'callgrind.{rep}'
        p = subprocess.run(['valgrind', '--tool=callgrind', f'--callgrind-out-file={out}',
                            dns01, '-c', bed.conf, 'list', f'_acme-challenge.{domain}'],
                           capture_output=True, text=True, env=clean_env(), timeout=120)
        m = re.search(r'^(?:summary|totals): (\d+)', out.read_text() if out.exists() else '',
                      re.M)
        r['list_ir'] = int(m.group(1)) if m else None
        r['ok'] = r['ok'] and m is not None
        bed.runs.append(r)
        log(f'[{bed.name}] peak RSS auth {r["rss_auth_kb"]} kB, cleanup '
            f'{r["rss_cleanup_kb"]} kB; dns01 list: {r["list_ir"]} instructions')


# --------------------------------------------------------------------------
# Bed B: sleep-dominated clients, several at once, each in its own zone
# --------------------------------------------------------------------------

def bed_b(bed):
    def batch(together, one_by_one):
        """The jobs `together` all at once and, STAGGER s later (when their
        clients have started and sleep), the jobs `one_by_one` in turn."""
        with ThreadPoolExecutor(len(together)) as pool:
            futures = [pool.submit(*job) for job in together]
            time.sleep(STAGGER)
            for fn, *args in one_by_one:
                fn(*args)
            for f in futures:
                f.result()

    def zone(group, k):
        return BED_B_ZONES[group * REPS + k]

    for lag in LAGS:
        bed.settle(lag)
        together, one_by_one = [], []
        for k in range(REPS):
            base = bed.fresh('b', zone(0, k))
            together.append((bed.certbot, CB60, base, apex_wild(base), lag, 'apex+wild'))
            together.append((bed.lego, apex_wild(bed.fresh('b', zone(1, k))), lag, 'apex+wild'))
            base = bed.fresh('b', zone(2, k))
            one_by_one.append((bed.certbot, CB10, base, apex_wild(base), lag, 'apex+wild'))
        batch(together, one_by_one)
    bed.settle(MANY_LAG)
    together, one_by_one = [], []
    for k in range(REPS):
        together.append((bed.lego, many(bed.fresh('c', zone(0, k)), FEW_NAMES),
                         MANY_LAG, 'many'))
        base = bed.fresh('c', zone(1, k))
        together.append((bed.certbot, REF, base, many(base, FEW_NAMES), MANY_LAG, 'many'))
        base = bed.fresh('c', zone(2, k))
        one_by_one.append((bed.certbot, CB10, base, many(base, MANY_NAMES), MANY_LAG, 'many'))
    batch(together, one_by_one)


def run_bed(which, out):
    """Inside the namespace: start the bed, run its part, write the runs."""
    testbed.enter_namespace(Path(__file__).resolve(), sys.argv[1:])
    sys.stdout.reconfigure(line_buffering=True)
    tb = testbed.Testbed(extra_zones=BED_B_ZONES if which == 'B' else ())
    ok = False
    try:
        testbed.setup_namespace(tb.tmp)
        tb.start()
        bed = Bed(tb, which)
        log(f'[{which}] bed up in {tb.tmp}')
        (bed_a if which == 'A' else bed_b)(bed)
        Path(out).write_text(json.dumps(bed.runs, indent=1))
        ok = True
    finally:
        tb.stop()
        if ok:
            shutil.rmtree(tb.tmp, ignore_errors=True)
        else:
            log(f'[{which}] logs kept in {tb.tmp}')
    return 0


# --------------------------------------------------------------------------
# Parent: checks, build, both beds, report
# --------------------------------------------------------------------------

def check_tools():
    missing = sorted({pkg for prog, pkg in NEEDED.items() if not shutil.which(prog)})
    for mod, pkg in NEEDED_PY.items():
        if subprocess.run(['/usr/bin/python3', '-c', f'import {mod}'],
                          capture_output=True).returncode != 0:
            missing.append(pkg)
    if missing:
        sys.exit(f'make bench: missing {", ".join(missing)}: run `make deps` '
                 '(bash .ci/deps installs them)')
    if os.geteuid() != 0:
        sys.exit('make bench needs root (private network namespaces, port 53)')


def versions():
    def first_line(argv):
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return '?'

    def deb(pkg):
        return first_line(['dpkg-query', '-W', '-f', '${Version}', pkg])
    rev = first_line(['git', '-C', str(REPO), 'rev-parse', '--short', 'HEAD'])
    dns01 = first_line([testbed.dns01_binary(), '--version']).removeprefix('dns01 ')
    return {'dns01': f'{dns01} (git {rev})',
            'certbot': deb('certbot'), 'python3-certbot-dns-rfc2136':
            deb('python3-certbot-dns-rfc2136'), 'lego': deb('lego'), 'pebble': deb('pebble'),
            'bind9': deb('bind9'), 'unbound': deb('unbound'),
            'cpus': str(os.cpu_count()), 'kernel': os.uname().release}


def main():
    args = sys.argv[1:]
    beds = [a.split('=', 1)[1] for a in args if a.startswith('--bed=')]
    if beds:
        out = next(a.split('=', 1)[1] for a in args if a.startswith('--out='))
        return run_bed(beds[0], out)
    check_tools()
    t_start = time.time()
    log('== building dns01')
    subprocess.run(['make', '-C', str(REPO), '-j2', 'dns01'], check=True)
    work = Path(tempfile.mkdtemp(prefix='dns01-bench-'))
    shutil.copy2(REPO / 'dns01', work / 'dns01')   # one build throughout
    os.environ['DNS01'] = str(work / 'dns01')
    log('== two beds at once (A: one run at a time; B: the sleep-dominated clients, '
        f'several at once); results in {HERE / "results.md"}')
    procs = {}
    for which in ('A', 'B'):
        procs[which] = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), f'--bed={which}',
             f'--out={work / f"runs-{which}.json"}'])
    failed = [w for w, p in procs.items() if p.wait() != 0]
    if failed:
        sys.exit(f'bed {" and ".join(failed)} failed (see above; {work})')
    runs = []
    for which in procs:
        runs += json.loads((work / f'runs-{which}.json').read_text())
    import report
    text = report.write(runs, versions(), time.time() - t_start, HERE)
    print(text)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
