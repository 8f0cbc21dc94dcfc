"""Limits and honest output: no value is silently left out or cut, and what
the servers hold is shown losslessly and escaped (issue 11).

  - 100 values at one name (a command takes up to 200): set confirms them
    all, list shows them all, unset sees every one of them go.
  - list shows TXT values that hold NUL, octets that are not UTF-8 and
    terminal escapes: escaped as \\DDD in the text, exactly in --json
    (values_hex); nothing raw reaches the terminal.
"""

import json

from flows import expect_txt
from testbed import NS1, NS2, acme_value, run_dns01

SUFFIX = '.example.test'


def test_100_values_at_one_name(tb):
    """More values than the old 64-value cap: set waits for all 100 (and
    exits 0), list shows all 100 on each server, unset sees them all go."""
    conf = tb.write_config()
    name = 'hundred' + SUFFIX
    values = sorted({acme_value() for _ in range(100)})
    assert len(values) == 100
    rc, _, err, _ = run_dns01(['-c', conf, 'set', name] + values + ['--timeout', '20'])
    assert rc == 0, f'set of 100 values: exit {rc}: {err.strip()[-800:]}'
    for server in (NS1, NS2):
        expect_txt(server, name, values)

    rc, out, err, _ = run_dns01(['-c', conf, 'list', name])
    assert rc == 0, f'list: exit {rc}: {err[-300:]}'
    for server in (NS1, NS2):
        line = next((l for l in out.splitlines() if f' {server}: ' in l), None)
        assert line is not None, f'list names no line for {server}:\n{out}'
        shown = [v for v in values if f'"{v}"' in line]
        assert len(shown) == 100, f'list shows {len(shown)} of 100 values for {server}'

    rc, out, err, _ = run_dns01(['-c', conf, 'list', name, '--json'])
    assert rc == 0, f'list --json: exit {rc}: {err[-300:]}'
    for s in json.loads(out)['servers']:
        if s['address'] in (NS1, NS2):
            assert sorted(s['values']) == values, \
                f'list --json: {s["address"]} has {len(s["values"])} of 100 values'

    rc, _, err, _ = run_dns01(['-c', conf, 'unset', name] + values + ['--timeout', '20'])
    assert rc == 0, f'unset of 100 values: exit {rc}: {err.strip()[-800:]}'
    for server in (NS1, NS2):
        expect_txt(server, name, [])


# Planted with nsupdate (zone-file syntax), what list must show in its text
# output, and the exact octets.
ODD_VALUES = [
    (r'"a\000b"', r'"a\000b"', b'a\x00b'),                    # NUL
    (r'"\255\254"', r'"\255\254"', b'\xff\xfe'),              # not UTF-8
    (r'"\027[2J esc"', r'"\027[2J esc"', b'\x1b[2J esc'),     # a terminal escape
    (r'"q\"b\\s"', r'"q\034b\092s"', b'q"b\\s'),              # quote, backslash
    (r'"caf\195\169"', r'"caf\195\169"', 'café'.encode()),    # UTF-8
    (r'"plain"', r'"plain"', b'plain'),
]


def test_list_shows_every_octet(tb):
    """TXT values with NUL, non-UTF-8 octets and escapes: list's text output
    shows each whole, as \\DDD; list --json has every value, with its exact
    octets in values_hex; stderr (the timeout report) escapes them too."""
    conf = tb.write_config()
    name = 'octets' + SUFFIX
    tb.nsupdate(f'update delete {name} TXT',
                *[f'update add {name} 60 TXT {zone}' for zone, _, _ in ODD_VALUES])
    tb.sync()
    try:
        rc, out, err, _ = run_dns01(['-c', conf, 'list', name])
        assert rc == 0, f'list: exit {rc}: {err[-300:]}'
        assert '\x1b' not in out + err and '\ufffd' not in out + err, \
            f'list printed raw octets:\n{out!r}\n{err!r}'
        for server in (NS1, NS2):
            line = next((l for l in out.splitlines() if f' {server}: ' in l), '')
            for _, shown, _ in ODD_VALUES:
                assert shown in line, f'list: {server} line lacks {shown}:\n{line}'

        rc, out, err, _ = run_dns01(['-c', conf, 'list', name, '--json'])
        assert rc == 0, f'list --json: exit {rc}: {err[-300:]}'
        servers = [s for s in json.loads(out)['servers'] if s['address'] in (NS1, NS2)]
        assert len(servers) == 2, out
        for s in servers:
            want_hex = sorted(raw.hex() for _, _, raw in ODD_VALUES)
            assert sorted(s.get('values_hex', [])) == want_hex, \
                f'{s["address"]}: values_hex {s.get("values_hex")}, wanted {want_hex}'
            assert len(s['values']) == len(ODD_VALUES), \
                f'{s["address"]}: {len(s["values"])} of {len(ODD_VALUES)} values: {s["values"]}'
            for v, h in zip(s['values'], s['values_hex']):
                raw = bytes.fromhex(h)
                try:
                    assert v == raw.decode('utf-8'), f'{v!r} is not the value {raw!r}'
                except UnicodeDecodeError:
                    shown = next(sh for _, sh, r in ODD_VALUES if r == raw)
                    assert f'"{v}"' == shown, f'{v!r}: wanted the escaped form {shown}'

        rc, _, err, _ = run_dns01(['-c', conf, 'wait', name, acme_value(), '--timeout', '1'])
        assert rc == 5, f'wait for a missing value: exit {rc}: {err[-300:]}'
        assert '\x1b' not in err and '\ufffd' not in err, f'raw octets on stderr: {err!r}'
        assert r'"\027[2J esc"' in err and r'"a\000b"' in err, \
            f'the report does not show the values escaped:\n{err}'
    finally:
        tb.nsupdate(f'update delete {name} TXT')
