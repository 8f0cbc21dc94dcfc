#!/usr/bin/python3
"""What discovery costs, and which zone it picks, per testbed layout.

    /usr/bin/python3 tests/integration/measure_discovery.py [N] [BINARY ...]

For each name below, runs `dns01 -v list NAME` N times (default 5) with each
BINARY (default: $DNS01 or ./dns01) against the testbed, and prints the zone
`list` names, its exit code, the median wall time and how many queries
discovery sent to resolvers and to authoritative servers (counted from the
-v trace; list's own TXT queries are not in it).
`list` is discovery plus one TXT query per nameserver address, and changes
nothing, so every run sees the same DNS.
"""

import os
import re
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import testbed  # noqa: E402

NAMES = (
    ('flat', '_acme-challenge.example.test'),
    ('L1 own zone, same servers', '_acme-challenge.www.example.test'),
    ('L2 own zone, referral, lame ns2', '_acme-challenge.far.example.test'),
    ('L3 apex of a child zone', 'apex.example.test'),
    ('L4 CNAME into L2', '_acme-challenge.alias.example.test'),
    ('DNAME into L3', '_acme-challenge.host.renamed.example.test'),
    ('split (servers disagree)', '_acme-challenge.split.example.test'),
)


def main():
    args = sys.argv[1:]
    n = int(args.pop(0)) if args and args[0].isdigit() else 5
    binaries = args or [testbed.dns01_binary()]
    testbed.enter_namespace(Path(__file__).resolve(), sys.argv[1:])
    sys.stdout.reconfigure(line_buffering=True)
    tb = testbed.Testbed()
    rows = []
    try:
        testbed.setup_namespace(tb.tmp)
        tb.start()
        conf = tb.write_config(timeout=20)
        for k, binary in enumerate(binaries):
            copy = tb.tmp / f'dns01-{k}'
            shutil.copy2(binary, copy)
            os.environ['DNS01'] = str(copy)
            for label, name in NAMES:
                times, zone, rc, res_q, auth_q = [], '-', None, 0, 0
                for _ in range(n):
                    rc, out, err, el = testbed.run_dns01(['-c', conf, '-v', 'list', name])
                    times.append(el * 1000)
                    m = re.search(r'\(zone (\S+)\)', out.splitlines()[0] if out else '')
                    zone = m.group(1) if m else '-'
                    res_q = len(re.findall(r'asking resolver ', err))
                    auth_q = len(re.findall(r'asking (?!resolver )\S+ \(', err))
                rows.append((binary, label, zone, rc, statistics.median(times), res_q, auth_q))
    finally:
        tb.stop()
        shutil.rmtree(tb.tmp, ignore_errors=True)
    print(f'\n`dns01 -v list NAME`, median of {n} runs; discovery\'s queries, counted '
          'from the -v trace')
    print(f'{"binary":<22} {"layout":<34} {"zone":<34} {"exit":>4} {"ms":>7} '
          f'{"resolver q":>10} {"auth q":>7}')
    for binary, label, zone, rc, ms, rq, aq in rows:
        print(f'{Path(binary).name[:22]:<22} {label:<34} {zone:<34} {rc:>4} {ms:7.1f} '
              f'{rq:>10} {aq:>7}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
