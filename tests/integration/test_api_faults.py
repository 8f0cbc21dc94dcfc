"""The API fault matrix: every HTTP provider (cloudflare, sakuracloud,
google, route53) meets the same faults of its API emulator, and each fault
has one documented outcome (README.md, "When the provider's API
misbehaves"): retried and succeeded, or a clear exit 3 or 4 whose message
names the cause.

The providers come in through their contract-suite adapters
(provider_adapters.py); the faults every emulator has are in
emulator_base.py (SHARED_FAULTS, besides each emulator's own 429, 503 and
reset). Each fault is a step (the functions below); the steps are grouped
(GROUPS) so that one emulator and config serve several, and for each
adapter and group this module defines test_api_faults_<provider>_<group>
(`run.py test_api_faults_route53` runs one provider, `run.py _bad_answers`
one group for all). test_api_faults_all_timeout runs the one slow fault,
an attempt that times out, for all four providers at once.

Every step runs certbot's auth hook at a name of its own where a foreign
TXT value (TTL 3600) was put first. A step that succeeds after retries
finds its value held once beside the foreign one and served by ns1, and
the cleanup hook leaves only the foreign value. After a step that fails,
nothing is lost or left behind: the foreign value is still there, TTL
included, the provider side holds no value of dns01's and ns1 serves
exactly the foreign value; a group with a failing step ends with a normal
auth and cleanup.

Worth running under valgrind (VALGRIND): bad_answers, write_answer and tls
(C error paths no other test runs: the capped answer, the 302, the wrong
JSON/XML types, the failed handshake)."""

import re

from flows import expect_txt
from provider_adapters import ADAPTERS, ZONE
from providers_common import run_parallel, summary, write_private
from testbed import NS1, REPO, Skip, acme_value, certbot_env, note, run_dns01
from emulator_base import HUGE_BYTES, Sentinel

HTTP_ADAPTERS = [a for a in ADAPTERS if a.name != 'rfc2136']
FOREIGN_TTL = 3600


def _attempt_timeout():
    """HTTP_TOTAL_TIMEOUT_S of core/http.h: the time one attempt is given."""
    m = re.search(r'#define\s+HTTP_TOTAL_TIMEOUT_S\s+(\d+)', (REPO / 'core/http.h').read_text())
    return int(m.group(1))


def _variant(conf, **keys):
    """A copy of the config file conf with keys (of any section) set anew."""
    lines = []
    for line in open(conf).read().splitlines():
        k = line.split('=', 1)[0].strip()
        lines.append(f'{k} = {keys[k]}' if '=' in line and k in keys else line)
    return write_private(conf + '.v', '\n'.join(lines) + '\n')


class Run:
    """The steps of one test of one provider: its config, the name of the
    step (fresh()) with a foreign TXT value put there first, and the checks
    after dns01 ran. Each step has a name of its own: a write right after
    another dns01 write at a name first waits out what resolvers may cache
    of the answer it replaces (test_cache.py)."""

    def __init__(self, a, tb):
        self.a, self.tb = a, tb
        self.conf = a.start()
        self.mark = 0
        self.auth_output = ''

    def fresh(self, label, foreign=True):
        """The next step is at _acme-challenge.<label>.<provider>-faults.example.test,
        where a foreign TXT value (TTL 3600) is put first (foreign=True)."""
        self.domain = f'{label}.{self.a.name}-faults.{ZONE}'
        self.name = '_acme-challenge.' + self.domain
        self.foreign = 'foreign-' + acme_value()[:16]
        self.has_foreign = foreign
        if foreign:
            self.a.preset(self.name, [('TXT', self.foreign, FOREIGN_TTL)])

    def set(self, conf=None):
        """certbot's auth hook for a new value -> (rc, stderr, value)."""
        self.mark = len(self.a.requests())
        v = acme_value()
        rc, out, err, _ = run_dns01(['-c', conf or self.conf, 'auth'],
                                    env=certbot_env(self.domain, v, 0), timeout=150)
        assert rc >= 0, f'dns01 killed by signal {-rc}: {err[-800:]}'
        lines = err.strip().splitlines() or ['']
        note(f'exit {rc}: {next((x for x in lines if "error:" in x), lines[-1])}')
        self.auth_output = out.strip()
        return rc, err, v

    def reqs(self):
        """The API requests of the last run (a token exchange left out)."""
        return [q for q in self.a.requests()[self.mark:] if 'token' not in q.route]

    def held(self):
        return sorted(v for t, v, _ in self.a.records(self.name) if t == 'TXT')

    def succeeded(self, rc, err, v):
        """Retried and succeeded: exit 0, the value held once beside the
        foreign one and served by ns1; then unset leaves only the foreign."""
        assert rc == 0, f'expected exit 0 after retries, got {rc}: {err[-800:]}'
        mine = [v] + ([self.foreign] if self.has_foreign else [])
        assert self.held() == sorted(mine), self.a.records(self.name)
        assert self.a.wait_published()
        expect_txt(NS1, self.name, mine, 'after the retried set: ')
        self._unset(v)

    def failed(self, rc, err, code, *words):
        """A clear exit `code` whose message matches the regexes `words`
        (case ignored); nothing lost or left behind (provider side and ns1)."""
        assert rc == code, f'expected exit {code}, got {rc}: {err[-800:]}'
        for w in words:
            assert re.search(w, err, re.I), f'stderr does not say {w!r}:\n{err[-1200:]}'
        self.a.clear_faults()
        self.clean()
        return False

    def normal_run(self):
        """After failed runs: a normal auth and cleanup at a fresh name work."""
        self.fresh('next', foreign=False)
        rc, err, v = self.set()
        self.succeeded(rc, err, v)

    def clean(self):
        """Only the foreign record at the name, TTL included, on the
        provider side and at ns1 (nothing where fresh() put none)."""
        want = [('TXT', self.foreign, FOREIGN_TTL)] if self.has_foreign else []
        recs = [r for r in self.a.records(self.name) if r[0] == 'TXT']
        assert recs == want, f'left behind or lost: {recs} (foreign: {self.foreign})'
        assert self.a.wait_published()
        expect_txt(NS1, self.name, [v for _, v, _ in want], 'after the failed run: ')

    def _unset(self, v):
        """certbot's cleanup hook for v."""
        if self.auth_output is None:             # after a `set`
            rc, _, err, _ = run_dns01(['-c', self.conf, 'unset', self.name, v], timeout=150)
        else:
            rc, _, err, _ = run_dns01(['-c', self.conf, 'cleanup'], timeout=150, env=certbot_env(
                self.domain, v, 0, auth_output=self.auth_output))
        assert rc == 0, f'cleanup exited {rc}: {err[-800:]}'
        self.clean()

    def inject(self, kind, count=1, write=True, **kw):
        """The emulator's fault `kind` for the next `count` write requests
        (write=False: any requests; write='GET': the reads)."""
        where = self.a.WRITE if write is True else {'method': 'GET'} if write == 'GET' else {}
        self.a.em.inject(kind, count, **where, **kw)

    def write_statuses(self):
        """The HTTP statuses of the write requests of the last run."""
        w = self.a.WRITE
        return [q.status for q in self.reqs() if q.method == w['method']
                and (w.get('path') is None or w['path'] in q.route)]


# --------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------

def reset(r):
    """The connection of the first write closes without an answer (the write
    not carried out): the write is sent again (by libcurl itself when the
    connection was a reused one, else by dns01's retry), and succeeds."""
    r.fresh('reset')
    r.inject('reset')
    rc, err, v = r.set()
    assert r.write_statuses()[-1] in (200, 201) and len(r.write_statuses()) == 2, \
        summary(r.reqs())
    r.succeeded(rc, err, v)


def status_429_no_retry_after(r):
    """HTTP 429 without Retry-After on the first write: dns01 backs off
    on its own doubling pause, tries again, and succeeds."""
    r.fresh('r429n')
    r.inject('429', 1)
    rc, err, v = r.set()
    assert r.write_statuses()[:1] == [429], summary(r.reqs())
    assert 'HTTP 429, trying again' in err, err[-800:]
    r.succeeded(rc, err, v)


def status_429_beyond_timeout(r):
    """HTTP 429 with Retry-After: 3600 on every request, timeout 30 s: the
    pause would end after the timeout, so dns01 does not wait: exit 4 at
    the first answer, naming the rate limit and when to try again; the
    rollback sends nothing during the pause the server asked for."""
    r.fresh('r429l')
    r.inject('429', 1000, write=False, retry_after=3600)
    rc, err, v = r.set()
    assert len(r.reqs()) == 1, summary(r.reqs())
    r.failed(rc, err, 4, '429|rate limit')
    # Only the write limited: its rollback (a read, or a delete) is not sent
    # during the pause the server asked for -- the write is the last request.
    r.fresh('r429w')
    r.inject('429', 1000, retry_after=3600)
    rc, err, v = r.set()
    reqs = r.reqs()
    assert reqs and reqs[-1].status == 429 and r.write_statuses() == [429], summary(reqs)
    return r.failed(rc, err, 4, '429|rate limit', r'not sent: the server asked for a pause')


def burst_5xx(r):
    """HTTP 503 on the first three writes: dns01 tries again each time (and
    says so), and succeeds."""
    r.fresh('b5xx')
    r.inject('503', 3)
    rc, err, v = r.set()
    assert r.write_statuses()[:3] == [503] * 3, summary(r.reqs())
    assert 'HTTP 503, trying again' in err, err[-800:]
    r.succeeded(rc, err, v)


def endless_5xx(r):
    """HTTP 503 on every request, timeout 5 s: dns01 tries again while the
    pause ends within the timeout, then exits 4 naming HTTP 503."""
    r.fresh('e5xx')
    r.inject('503', 1000, write=False)
    rc, err, v = r.set(conf=_variant(r.conf, timeout=5))
    assert 2 <= len(r.reqs()) <= 10, summary(r.reqs())
    return r.failed(rc, err, 4, '503')


def truncated(r):
    """The first two writes get a 200 whose body ends before its
    Content-Length (the write not carried out): a transfer error, tried
    again, and the third write succeeds."""
    r.fresh('trunc')
    r.inject('truncated', 2)
    rc, err, v = r.set()
    assert 'trying again' in err, err[-800:]
    assert len(r.write_statuses()) == 3, summary(r.reqs())
    r.succeeded(rc, err, v)


def wrong_types_read(r):
    """Every read answered with values of the wrong type, first below the
    top level (ids numbers, numbers strings, booleans strings; XML: numbers
    letters, text empty), then at the top level (the result a string;
    XML: the root holds only text): exit 4 each time, nothing written."""
    r.fresh('wtypes')
    for kind in ('wrongtypes', 'wrongtop'):
        r.inject(kind, 1000, write='GET')
        rc, err, v = r.set()
        assert not any(q.method not in ('GET', 'DELETE') and q.status in (200, 201)
                       for q in r.reqs()), \
            f'{kind}: wrote: {summary(r.reqs())}'
        assert rc == 4, f'{kind}: expected exit 4, got {rc}: {err[-800:]}'
        r.a.clear_faults()
        r.clean()
    return r.failed(rc, err, 4)


def wrong_types_later_reads(r):
    """The zone lookup (the first read) is answered well, every later read
    with values of the wrong type below the top level (the record list,
    the change's status): exit 4, nothing written or the value deleted
    again. Cloudflare reads nothing more in an auth: it succeeds."""
    r.fresh('wtlater')
    r.inject('slow', 1, write='GET', delay=0)          # the first read: answered well
    r.inject('wrongtypes', 1000, write='GET')
    rc, err, v = r.set()
    if r.a.name == 'cloudflare':
        assert not any(q.fault == 'wrongtypes' for q in r.reqs()), summary(r.reqs())
        r.a.clear_faults()
        r.succeeded(rc, err, v)
        return None
    assert any(q.fault == 'wrongtypes' for q in r.reqs()), summary(r.reqs())
    return r.failed(rc, err, 4, 'malformed')


# Whether a provider reads the answer to its write (a record id for the
# cleanup: Cloudflare; the change id it polls: Route 53) or not (Sakura
# Cloud answers with the zone's whole record list, which dns01 does not
# need; Google's change is confirmed by DNS when its answer is unreadable).
READS_WRITE_ANSWER = {'cloudflare': True, 'route53': True, 'sakuracloud': False,
                      'google': False}


def wrong_types_write(r):
    """The write is carried out but its answer has values of the wrong
    type. A provider that needs the answer: dns01 exits 4 and deletes its
    value before it exits. One that does not: the run succeeds."""
    r.fresh('wtwrite')
    r.inject('wrongtypes', 1)
    rc, err, v = r.set()
    if READS_WRITE_ANSWER[r.a.name]:
        return r.failed(rc, err, 4, 'malformed')
    else:
        r.succeeded(rc, err, v)


def huge(r):
    """Every read gets a 200 of 100 MB: dns01 stops reading at its cap
    (HTTP_MAX_BODY, 4 MiB) and exits 4 saying the answer is too large; the
    emulator got far less than 100 MB out.  (Every read, not the first
    only: on a very busy machine 4 MiB can take longer than one attempt
    may, and the attempt that timed out is retried.)"""
    r.fresh('huge')
    r.inject('huge', 1000, write=False)
    rc, err, v = r.set()
    sent = r.a.em.huge_sent
    note(f'the emulator got {sent} octets out before dns01 left')
    assert sent and max(sent) < HUGE_BYTES // 2, sent
    return r.failed(rc, err, 4, r'answer too large \(more than 4194304 octets')


def redirect(r):
    """Every request gets 302 to another host (a listener on 127.0.0.2):
    dns01 does not follow it (the listener is never contacted), exit 4
    naming HTTP 302."""
    r.fresh('redir')
    sentinel = Sentinel()
    try:
        r.a.em.redirect_url = sentinel.url
        r.inject('redirect', 1000, write=False)
        rc, err, v = r.set()
        assert sentinel.contacts == [], f'the redirect was followed: {sentinel.contacts}'
    finally:
        sentinel.close()
    assert len(r.reqs()) <= 2, summary(r.reqs())        # the call, its rollback's
    return r.failed(rc, err, 4, '302')


def tls_expired(r):
    """api_url points at a listener whose certificate (signed by the trusted
    CA) expired in 2020, then at one whose certificate is self-signed:
    exit 3 each time, naming the certificate (once: no rollback call
    follows a call refused at TLS), no request served."""
    r.fresh('tls')
    for kind, word in (('expired', 'expired'), ('selfsigned', 'certificate')):
        url = r.a.em.start_bad_tls(kind)
        rc, err, v = r.set(conf=_variant(r.conf, api_url=url))
        assert rc == 3, f'{kind}: expected exit 3, got {rc}: {err[-800:]}'
        assert word in err.lower() and 'not trusted' in err, f'{kind}: {err[-800:]}'
        # said once: a call refused at TLS wrote nothing, so no rollback call
        assert err.count('not trusted') == 1, f'{kind}: {err[-800:]}'
        assert not [q for q in r.reqs() if q.route and 'token' not in q.route], \
            f'{kind}: a request got through: {summary(r.reqs())}'
        r.clean()
    return r.failed(rc, err, 3)


def _token(r):
    """The statuses of the token requests of the last run (Google)."""
    return [q.status for q in r.a.requests()[r.mark:] if q.route == '/token']


def token_5xx(r):
    """Google's token endpoint answers HTTP 503 twice: dns01 tries the
    token exchange again, and succeeds."""
    r.fresh('tok5xx')
    r.a.em.inject('503', 2, path='/token', method='POST')
    rc, err, v = r.set()
    assert _token(r) == [503, 503, 200], _token(r)
    r.succeeded(rc, err, v)


def token_bad_answers(r):
    """Google's token endpoint answers with the wrong JSON types (the token
    a number), then 100 MB, then a redirect to another host: exit 4 each
    time, naming the token exchange, nothing written, the redirect not
    followed."""
    r.fresh('tokbad')
    sentinel = Sentinel()
    try:
        r.a.em.redirect_url = sentinel.url
        for kind in ('wrongtop', 'huge', 'redirect'):
            r.a.em.inject(kind, 1000, path='/token', method='POST')
            rc, err, v = r.set()
            assert rc == 4, f'{kind}: expected exit 4, got {rc}: {err[-800:]}'
            assert re.search('token', err, re.I), f'{kind}: {err[-800:]}'
            assert not r.reqs(), f'{kind}: the API was asked: {summary(r.reqs())}'
            r.a.clear_faults()
            r.clean()
        assert sentinel.contacts == [], f'the redirect was followed: {sentinel.contacts}'
    finally:
        sentinel.close()
    return r.failed(rc, err, 4)


# --------------------------------------------------------------------------
# The tests: the steps grouped, so that one provider's emulator and config
# serve several steps. A group of failing steps ends with a normal run.
# --------------------------------------------------------------------------

GROUPS = (
    ('transient', (reset, status_429_no_retry_after, burst_5xx, truncated)),
    ('gives_up', (status_429_beyond_timeout, endless_5xx)),
    ('bad_answers', (wrong_types_read, wrong_types_later_reads, huge, redirect)),  # VALGRIND
    ('write_answer', (wrong_types_write,)),                       # VALGRIND
    ('tls', (tls_expired,)),                                      # VALGRIND
)
# Google's token endpoint too (google only):
TOKEN_GROUP = ('token', (token_5xx, token_bad_answers))                 # VALGRIND
# Worth running under valgrind (C error paths no other test runs: the
# capped answer, the 302, the wrong JSON/XML types, the failed handshake):
VALGRIND = ('bad_answers', 'write_answer', 'tls', 'token')


# --------------------------------------------------------------------------
# The slow case: all providers at once
# --------------------------------------------------------------------------

def test_api_faults_all_timeout(tb):
    """Every provider at once: its first write is held longer than one
    attempt may take (HTTP_TOTAL_TIMEOUT_S + 5 s, then closed, not carried
    out): dns01 gives the attempt up, says it tries again, and succeeds; the
    value is held once and served by ns1."""
    wait = _attempt_timeout() + 5
    runs = []
    for adapter in HTTP_ADAPTERS:
        try:
            r = Run(adapter(tb), tb)
        except Skip:
            continue
        r.fresh('timeout')
        r.inject('timeout', 1, delay=wait)
        r.conf = _variant(r.conf, timeout=3 * wait)    # room for a second attempt
        runs.append((r, acme_value()))
    if not runs:
        raise Skip('no HTTP provider in this dns01')
    results = run_parallel([['-c', r.conf, 'set', r.name, v] for r, v in runs], timeout=240)
    for r, _ in runs:
        r.auth_output = None
    for (r, v), (rc, _, err, _) in zip(runs, results):
        try:
            assert 'timed out' in err.lower() and 'trying again' in err, err[-800:]
            assert len(r.write_statuses()) == 2, summary(r.reqs())
            r.succeeded(rc, err, v)
        except AssertionError as e:
            note(r.a.log_text())
            raise AssertionError(f'{r.a.name}: {e}') from None


# --------------------------------------------------------------------------
# test_api_faults_<provider>_<case>, for run.py
# --------------------------------------------------------------------------

def _test(adapter, group, steps):
    def test(tb):
        a = adapter(tb)
        try:
            r = Run(a, tb)
            failed = False
            for step in steps:
                r.mark = len(a.requests())
                failed |= step(r) is False
            if failed:
                r.normal_run()
        except AssertionError:
            if a.log_text():
                note(a.log_text())
            raise
    test.__name__ = test.__qualname__ = f'test_api_faults_{adapter.name}_{group}'
    test.__doc__ = f'{adapter.name}: ' + ' Then: '.join(s.__doc__.strip() for s in steps)
    return test


for _adapter in HTTP_ADAPTERS:
    for _group, _steps in GROUPS + ((TOKEN_GROUP,) if _adapter.name == 'google' else ()):
        _t = _test(_adapter, _group, _steps)
        globals()[_t.__name__] = _t
del _adapter, _group, _steps, _t
