"""PowerDNS Authoritative (Debian's `pdns-server` 4.7 with the gsqlite3
backend, `pdns-backend-sqlite3`) as the primary of one zone, for
test_servers.py: started once per test run, its config and database written
under the testbed's temp dir, stopped by the testbed.

    ZONE (pdns.example.test) at PDNS_ADDR, SOA MNAME ns-pdns.example.test;
    key dns01-key may update it (TSIG-ALLOW-DNSUPDATE), key key-nogrant is
    known (in the tsigkeys table) but not allowed.

How PowerDNS decides (https://doc.powerdns.com/authoritative/dnsupdate.html):
`dnsupdate=yes` turns RFC 2136 on (off by default, and then UPDATEs are
answered NOTIMP); the zone's TSIG-ALLOW-DNSUPDATE metadata names the keys
that may update it, and a zone that has it accepts only UPDATEs signed
with one of them; allow-dnsupdate-from (default 127.0.0.0/8) must also let
the sender's address in.  The gsqlite3 backend supports DNS update
(same page).  The zone is reached through a delegation in example.test
(test_servers.py adds it).  Python 3 standard library only.
"""

import shutil
import sqlite3

from testbed import PDNS_ADDR, Server, Skip, _run, dig_ok

ZONE = 'pdns.example.test'
NS_NAME = 'ns-pdns.example.test'
# Keys PowerDNS knows: name -> True when TSIG-ALLOW-DNSUPDATE names it.
KEYS = {'dns01-key': True, 'key-nogrant': False}
SCHEMA = '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql'

ZONE_FILE = f"""\
$TTL 60
$ORIGIN {ZONE}.
@   IN SOA {NS_NAME}. hostmaster.example.test. 1 86400 86400 1209600 60
    IN NS {NS_NAME}.
"""


def conf_text(d):
    """pdns.conf: foreground, no guardian, no syslog, one listener, the
    sqlite database in d, RFC 2136 on for loopback senders.  The packet and
    query caches are left at their defaults: an UPDATE purges the zone from
    them (the answers after one are fresh), which test_servers.py shows."""
    return f"""\
launch=gsqlite3
gsqlite3-database={d}/pdns.sqlite3
local-address={PDNS_ADDR}
local-port=53
socket-dir={d}
daemon=no
guardian=no
write-pid=no
disable-syslog=yes
loglevel=6
log-dns-details=yes
dnsupdate=yes
allow-dnsupdate-from=127.0.0.0/8
"""


def start(tb):
    """Start pdns_server once for this testbed (tb.servers['pdns'], so the
    testbed stops it and prints its log when a test fails) and wait until it
    serves ZONE.  Skip when it is not installed."""
    if 'pdns' in tb.servers:
        return
    server = shutil.which('pdns_server', path='/usr/sbin:/usr/bin')
    pdnsutil = shutil.which('pdnsutil', path='/usr/sbin:/usr/bin')
    if server is None or pdnsutil is None or not shutil.os.path.exists(SCHEMA):
        raise Skip('PowerDNS not installed (Debian packages pdns-server, '
                   'pdns-backend-sqlite3, in .ci/deps)')
    d = tb.tmp / 'pdns'
    d.mkdir()
    (d / 'pdns.conf').write_text(conf_text(d))
    (d / 'zone').write_text(ZONE_FILE)
    with sqlite3.connect(d / 'pdns.sqlite3') as db:
        db.executescript(open(SCHEMA).read())
    _run([pdnsutil, '--config-dir', str(d), 'load-zone', ZONE, str(d / 'zone')])
    # What `pdnsutil import-tsig-key` and `set-meta ZONE TSIG-ALLOW-DNSUPDATE`
    # write, without a secret on a command line.
    with sqlite3.connect(d / 'pdns.sqlite3') as db:
        db.executemany('INSERT INTO tsigkeys (name, algorithm, secret) VALUES (?, ?, ?)',
                       [(n,) + tb.keys[n] for n in KEYS])
        (zone_id,) = db.execute('SELECT id FROM domains WHERE name = ?', (ZONE,)).fetchone()
        db.executemany("INSERT INTO domainmetadata (domain_id, kind, content) "
                       "VALUES (?, 'TSIG-ALLOW-DNSUPDATE', ?)",
                       [(zone_id, n) for n, ok in KEYS.items() if ok])
    srv = Server('pdns', [server, '--config-dir=' + str(d)], d)
    tb.servers['pdns'] = srv
    srv.start()
    tb._wait(lambda: dig_ok(PDNS_ADDR, ZONE, 'SOA'), f'pdns serving {ZONE}', 'pdns')
