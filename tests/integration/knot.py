"""Knot DNS (Debian's `knot`, knotd 3.2) as the primary of one zone, for
test_servers.py: started once per test run, its config, zone file and
database written under the testbed's temp dir, stopped by the testbed.

    ZONE (knot.example.test) at KNOT_ADDR, SOA MNAME ns-knot.example.test;
    key dns01-key may update TXT records anywhere in the zone (an acl with
    update-type TXT); key key-nogrant is known to Knot but in no acl.

The zone is reached through a delegation in example.test (test_servers.py
adds it).  Python 3 standard library only.
"""

import shutil

from testbed import KNOT_ADDR, Server, Skip, _run, dig_ok

ZONE = 'knot.example.test'
NS_NAME = 'ns-knot.example.test'
# Keys Knot knows: name -> True when its acl lets it update TXT.
KEYS = {'dns01-key': True, 'key-nogrant': False}

ZONE_FILE = f"""\
$TTL 60
@   IN SOA {NS_NAME}. hostmaster.example.test. 1 86400 86400 1209600 60
    IN NS {NS_NAME}.
"""


def conf_text(d, keys):
    """knot.conf (knot.conf(5) of 3.2): one listener, the keys of KEYS with
    the testbed's secrets (keys: name -> (algorithm, secret)), one update acl
    for the keys allowed, the zone with that acl."""
    key_items = ''.join(f'  - id: {n}\n    algorithm: {keys[n][0]}\n    secret: {keys[n][1]}\n'
                        for n in KEYS)
    allowed = ', '.join(n for n, ok in KEYS.items() if ok)
    return f"""\
server:
    rundir: "{d}"
    listen: {KNOT_ADDR}@53

database:
    storage: "{d}/db"

control:
    listen: "{d}/knot.sock"

log:
  - target: stdout
    any: info

key:
{key_items}
acl:
  - id: dns01-update
    key: [{allowed}]
    action: update
    update-type: [TXT]

zone:
  - domain: {ZONE}
    storage: "{d}"
    file: "{ZONE}.zone"
    acl: [dns01-update]
"""


def start(tb):
    """Start knotd once for this testbed (tb.servers['knot'], so the testbed
    stops it and prints its log when a test fails) and wait until it serves
    ZONE.  Skip when knotd is not installed."""
    if 'knot' in tb.servers:
        return
    knotd = shutil.which('knotd', path='/usr/sbin:/usr/bin')
    if knotd is None:
        raise Skip('knotd not installed (Debian package knot, in .ci/deps)')
    d = tb.tmp / 'knot'
    (d / 'db').mkdir(parents=True)
    (d / f'{ZONE}.zone').write_text(ZONE_FILE)
    conf = d / 'knot.conf'
    conf.write_text(conf_text(d, tb.keys))
    _run([shutil.which('knotc', path='/usr/sbin:/usr/bin'), '--config', str(conf),
          'conf-check'])
    srv = Server('knot', [knotd, '--config', str(conf)], d)
    tb.servers['knot'] = srv
    srv.start()
    tb._wait(lambda: dig_ok(KNOT_ADDR, ZONE, 'SOA'), f'knot serving {ZONE}', 'knot')
