"""rfc2136: other people's TXT records at the challenge name end a run exactly
as they began (TTL included); delete messages say what really happened; an
UPDATE sent to a secondary says so.

Measured on the testbed's BIND 9.18 (ns1), which these tests rely on: an
RRset has one TTL (RFC 2181 5.2), and an UPDATE that adds an RR gives the
whole RRset that RR's TTL, also when the RR was there already; a deleted RR
(class NONE) leaves the TTL as it is.  A secondary (ns2) answers an UPDATE
with REFUSED ("update forwarding denied"), and with TSIG error BADKEY as
well when it does not know the key.
"""

import socket
import struct
import threading

from flows import expect_txt
from testbed import NS1, NS2, acme_value, certbot_env, note, run_dns01, soa_serial

FOREIGN_TTL = 3600
OPCODE_UPDATE = 5


def rrset(tb, name):
    """The TXT records at name on ns1 as zone-file lines (TTL included), sorted."""
    return [line for line in tb.axfr('example.test').splitlines()
            if line.split(None, 1)[0] == name + '.' and line.split()[3] == 'TXT']


def add_foreign(tb, name, *values, ttl=FOREIGN_TTL):
    tb.nsupdate(*(f'update add {name} {ttl} TXT "{v}"' for v in values))


def auth(conf, domain, value):
    """One certbot auth call (the only challenge); returns its stdout line."""
    rc, out, err, _ = run_dns01(['-c', conf, 'auth'], env=certbot_env(domain, value, 0))
    assert rc == 0, f'auth exited {rc}: {err.strip()[-800:]}'
    return out.strip()


def cleanup(conf, domain, value, out):
    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'],
                              env=certbot_env(domain, value, 0, auth_output=out))
    assert rc == 0, f'cleanup exited {rc}: {err.strip()[-800:]}'
    return err


def test_foreign_ttl_restored(tb):
    """Two foreign TXT records with TTL 3600: while dns01's value is there the
    RRset has dns01's TTL (BIND), and after the cleanup the foreign records
    are exactly as before, TTL 3600 included."""
    conf = tb.write_config()
    domain = 'foreign.example.test'
    name = '_acme-challenge.' + domain
    add_foreign(tb, name, 'site-verification=abc', 'v=spf1 -all')
    before = rrset(tb, name)
    value = acme_value()
    out = auth(conf, domain, value)
    during = rrset(tb, name)
    assert all(line.split()[1] == '10' for line in during) and len(during) == 3, \
        f'harness: expected BIND to give the whole RRset TTL 10, got {during}'
    note(f'auth printed {out!r}')
    err = cleanup(conf, domain, value, out)
    after = rrset(tb, name)
    assert after == before, f'foreign records before the run:\n{before}\nafter:\n{after}\n' \
                            f'cleanup said:\n{err}'
    assert 'deleted 1 TXT record' in err, f'cleanup did not say it deleted one:\n{err}'
    tb.nsupdate(f'update delete {name} TXT')


def test_foreign_ttl_restored_by_every_dialect(tb):
    """dehydrated, lego and uacme pass no record id from the add to the
    delete; the run journal carries it (with the foreign TTL), so their
    cleanups restore the foreign records exactly, too."""
    conf = tb.write_config()
    token = 'tok-' + 'x' * 39
    for dialect in ('dehydrated', 'lego', 'uacme'):
        domain = f'foreign-{dialect}.example.test'
        name = '_acme-challenge.' + domain
        add_foreign(tb, name, 'site-verification=abc')
        before = rrset(tb, name)
        value = acme_value()
        args = {'dehydrated': ([domain, token, value], 'deploy_challenge', 'clean_challenge'),
                'lego': ([name + '.', value], 'present', 'cleanup'),
                'uacme': (['dns-01', domain, token, value], 'begin', 'done')}[dialect]
        env = {'BASEDIR': '/b', 'CERTDIR': '/c'}
        for op in args[1:]:
            rc, _, err, _ = run_dns01(['-c', conf, op] + args[0], env=env)
            assert rc == 0, f'{dialect} {op} exited {rc}: {err.strip()[-800:]}'
        after = rrset(tb, name)
        assert after == before, f'{dialect}: foreign records before the run:\n{before}\n' \
                                f'after:\n{after}\ncleanup said:\n{err}'
        tb.nsupdate(f'update delete {name} TXT')


def test_foreign_removed_meanwhile_not_recreated(tb):
    """Someone removes one of the foreign records while dns01's value is
    there: the cleanup gives the one left its TTL back and does not bring
    the removed one back."""
    conf = tb.write_config()
    domain = 'foreign-gone.example.test'
    name = '_acme-challenge.' + domain
    add_foreign(tb, name, 'keep-me', 'remove-me')
    value = acme_value()
    out = auth(conf, domain, value)
    tb.nsupdate(f'update delete {name} TXT "remove-me"')
    cleanup(conf, domain, value, out)
    after = rrset(tb, name)
    assert after == [f'{name}. {FOREIGN_TTL} IN TXT "keep-me"'], \
        f'expected only "keep-me" with TTL {FOREIGN_TTL}, got {after}'
    tb.nsupdate(f'update delete {name} TXT')


def test_foreign_ttl_set_meanwhile_is_kept(tb):
    """Someone adds a record with TTL 300 while dns01's value is there (the
    RRset now has 300): that TTL is theirs, the cleanup leaves it and says so."""
    conf = tb.write_config()
    domain = 'foreign-ttl.example.test'
    name = '_acme-challenge.' + domain
    add_foreign(tb, name, 'old')
    value = acme_value()
    out = auth(conf, domain, value)
    add_foreign(tb, name, 'new', ttl=300)
    err = cleanup(conf, domain, value, out)
    after = rrset(tb, name)
    assert after == [f'{name}. 300 IN TXT "new"', f'{name}. 300 IN TXT "old"'], \
        f'expected "new" and "old" with TTL 300, got {after}'
    assert 'someone set it since' in err and '300 s' in err and '3600 s' in err, \
        f'cleanup does not say it left the TTL 300 (it was 3600):\n{err}'
    tb.nsupdate(f'update delete {name} TXT')


def test_other_runs_values_survive(tb):
    """A certbot run and a `set` by hand both add values at a name with a
    foreign record: the certbot cleanup removes only its own value and gives
    the rest the foreign TTL back; the other value stays until its unset."""
    conf = tb.write_config()
    domain = 'foreign-runs.example.test'
    name = '_acme-challenge.' + domain
    add_foreign(tb, name, 'foreign')
    mine, theirs = acme_value(), acme_value()
    out = auth(conf, domain, mine)
    rc, _, err, _ = run_dns01(['-c', conf, 'set', '--no-wait', name, theirs])
    assert rc == 0, f'set exited {rc}: {err.strip()[-500:]}'
    cleanup(conf, domain, mine, out)
    after = rrset(tb, name)
    assert after == sorted([f'{name}. {FOREIGN_TTL} IN TXT "foreign"',
                            f'{name}. {FOREIGN_TTL} IN TXT "{theirs}"']), \
        f'expected the foreign record and the other value with TTL {FOREIGN_TTL}, got {after}'
    rc, _, err, _ = run_dns01(['-c', conf, 'unset', '--no-wait', name, theirs])
    assert rc == 0, f'unset exited {rc}: {err.strip()[-500:]}'
    assert rrset(tb, name) == [f'{name}. {FOREIGN_TTL} IN TXT "foreign"']
    tb.nsupdate(f'update delete {name} TXT')


class UpdateProxy:
    """A TCP DNS proxy in front of ns1 that calls before_update(k) before it
    passes on the k-th UPDATE (k = 1, 2, ...): a foreign change that lands
    between dns01's read of the RRset and its UPDATE, every time."""

    def __init__(self, before_update):
        self.before_update = before_update
        self.updates = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((NS1, 0))
        self.sock.listen(8)
        self.addr = f'{NS1}:{self.sock.getsockname()[1]}'
        self.errors = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with conn:
                    self._relay(conn)
            except Exception as e:      # noqa: BLE001 - reported by the test
                self.errors.append(repr(e))

    @staticmethod
    def _read(s, n):
        buf = b''
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def _relay(self, conn):
        while True:
            head = self._read(conn, 2)
            if head is None:
                return
            msg = self._read(conn, struct.unpack('!H', head)[0])
            if (msg[2] >> 3) & 0xF == OPCODE_UPDATE:
                self.updates += 1
                self.before_update(self.updates)
            with socket.create_connection((NS1, 53), timeout=10) as up:
                up.sendall(head + msg)
                rhead = self._read(up, 2)
                conn.sendall(rhead + self._read(up, struct.unpack('!H', rhead)[0]))

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)     # wakes the accept()
        except OSError:
            pass
        self.sock.close()


def cleanup_via_proxy(tb, domain, value, out, before_update):
    """The certbot cleanup with its UPDATEs through an UpdateProxy that calls
    before_update(k) first; returns (stderr, how many UPDATEs it saw)."""
    proxy = UpdateProxy(before_update)
    try:
        err = cleanup(tb.write_config(server=proxy.addr), domain, value, out)
    finally:
        proxy.close()
    assert not proxy.errors, f'proxy: {proxy.errors}'
    return err, proxy.updates


def test_retry_after_a_change_between_read_and_update(tb):
    """A foreign record is removed between dns01's read and its first
    cleanup UPDATE: that UPDATE fails its prerequisite, dns01 reads again,
    and the second one gives the remaining record its TTL back without
    re-creating the removed one."""
    domain = 'foreign-race.example.test'
    name = '_acme-challenge.' + domain
    conf = tb.write_config()
    add_foreign(tb, name, 'keep-me', 'remove-me')
    value = acme_value()
    out = auth(conf, domain, value)

    def before_update(k):
        if k == 1:
            tb.nsupdate(f'update delete {name} TXT "remove-me"')
    err, updates = cleanup_via_proxy(tb, domain, value, out, before_update)
    assert updates == 2, f'expected 2 UPDATEs (one failed prerequisite), ' \
                               f'saw {updates}:\n{err}'
    after = rrset(tb, name)
    assert after == [f'{name}. {FOREIGN_TTL} IN TXT "keep-me"'], \
        f'expected only "keep-me" with TTL {FOREIGN_TTL}, got {after}\n{err}'
    tb.nsupdate(f'update delete {name} TXT')


def test_gives_up_restoring_after_bounded_retries(tb):
    """The foreign records change before every UPDATE: dns01 tries a bounded
    number of conditional UPDATEs, then deletes its value without them,
    re-creates nothing, and warns that the foreign TTL was left at 10 s."""
    domain = 'foreign-churn.example.test'
    name = '_acme-challenge.' + domain
    conf = tb.write_config()
    add_foreign(tb, name, 'stay')
    value = acme_value()
    out = auth(conf, domain, value)

    def before_update(k):
        # a foreign record that comes and goes, with the RRset's TTL (10)
        tb.nsupdate(f'update add {name} 10 TXT "churn"' if k % 2
                    else f'update delete {name} TXT "churn"')
    err, updates = cleanup_via_proxy(tb, domain, value, out, before_update)
    assert 2 < updates <= 10, f'expected a few retries, then one more; saw ' \
                                    f'{updates} UPDATEs:\n{err}'
    note(f'{updates} UPDATEs')
    after = rrset(tb, name)
    values = sorted(line.split(None, 4)[4] for line in after)
    assert f'"{value}"' not in values, f'dns01 value still there: {after}'
    assert '"stay"' in values, f'the foreign record is gone: {after}'
    assert 'left at 10 s' in err and '3600 s' in err, \
        f'no warning that the TTL was left at 10 s (it was 3600):\n{err}'
    tb.nsupdate(f'update delete {name} TXT')


def test_delete_says_what_was_there(tb):
    """unset of a value that is there: "deleted 1"; of one that is not (never
    written, or deleted already): "nothing to delete", never "deleted 1"."""
    conf = tb.write_config()
    name = '_acme-challenge.delmsg.example.test'
    value, never = acme_value(), acme_value()
    rc, _, err, _ = run_dns01(['-c', conf, 'set', name, value])
    assert rc == 0, f'set exited {rc}: {err.strip()[-500:]}'
    rc, _, err, _ = run_dns01(['-c', conf, 'unset', name, value])
    assert rc == 0 and 'deleted 1 TXT record' in err, f'unset: exit {rc}:\n{err}'
    for what, v in (('deleted already', value), ('never written', never)):
        rc, _, err, _ = run_dns01(['-c', conf, 'unset', name, v])
        assert rc == 0, f'unset ({what}) exited {rc}: {err.strip()[-500:]}'
        assert 'deleted 1' not in err and f'nothing to delete: {name} had no TXT value' \
            in err, f'unset ({what}) does not say there was nothing to delete:\n{err}'
    expect_txt(NS1, name, [])


def test_update_sent_to_a_secondary(tb):
    """server = ns2, a secondary: the error says it is a secondary and names
    the primary (SOA MNAME ns1.example.test, 127.53.0.1) to send UPDATEs to.
    Signed: ns2 does not know the key (BADKEY, exit 3); unsigned: REFUSED
    (exit 4).  Nothing is written."""
    name = '_acme-challenge.secondary.example.test'
    serial = soa_serial(NS1, 'example.test')
    for conf, code in ((tb.write_config(server=NS2), 3),
                       (tb.write_config(server=NS2, tsig_key=None, tsig_secret=None,
                                        tsig_algorithm=None), 4)):
        rc, _, err, _ = run_dns01(['-c', conf, 'set', name, acme_value(), '--timeout', '5'])
        assert rc == code, f'expected exit {code}, got {rc}: {err.strip()[-500:]}'
        assert 'secondary' in err and 'ns2.example.test' in err \
            and 'ns1.example.test' in err and f'server = {NS1}' in err, \
            f'the error does not say ns2 is a secondary and to use ns1:\n{err}'
        note(err.strip().splitlines()[-1])
    assert soa_serial(NS1, 'example.test') == serial, 'the zone changed anyway'
