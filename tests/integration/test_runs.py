"""Runs of the certbot hooks and the by-hand commands beyond the basic flows:
stale and concurrent state, one UPDATE per zone, truncated answers (TCP),
addresses that never answer, and --json output."""

import json
import subprocess

from flows import auth_pair, cleanup_pair, expect_txt
from testbed import (NS1, NS2, acme_value, certbot_env, clean_env, dig_txt,
                     dns01_binary, note, run_dns01, soa_serial)


def _auth(conf, domain, value, remaining, all_domains):
    rc, out, err, _ = run_dns01(['-c', conf, 'auth'],
                                env=certbot_env(domain, value, remaining, all_domains))
    assert rc == 0, f'auth {domain} (REMAINING={remaining}) exited {rc}: {err.strip()[-500:]}'
    return out.strip()


def _cleanup(conf, domain, value, remaining, all_domains, out):
    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'],
                              env=certbot_env(domain, value, remaining, all_domains, out))
    assert rc == 0, f'cleanup {domain} exited {rc}: {err.strip()[-500:]}'


def _journal(tb):
    """The lines of the run journal (core/journal.h)."""
    p = tb.tmp / 'state' / 'journal'
    return p.read_text().splitlines() if p.exists() else []


def test_stale_state_from_killed_run(tb):
    """A run killed after its first auth call leaves a state file; the next
    run for the same certificate writes only its own values."""
    conf = tb.write_config()
    domain, all_domains = 'stale.example.test', 'stale.example.test,stale.example.test'
    name = '_acme-challenge.' + domain
    stale = acme_value()
    _auth(conf, domain, stale, 1, all_domains)          # ... and the run dies here
    assert any(stale in l for l in _journal(tb)), 'the first auth call journaled nothing'
    values = [acme_value(), acme_value()]
    outs, _ = auth_pair(tb, conf, domain, values, all_domains)
    for server in (NS1, NS2):
        expect_txt(server, name, values, 'after the new run (the stale value must not be written): ')
    cleanup_pair(tb, conf, domain, values, outs, all_domains)
    expect_txt(NS1, name, [], 'after cleanup: ')
    assert _journal(tb) == [], f'the journal is not empty after a complete run: {_journal(tb)}'


def test_interleaved_runs_for_two_certificates(tb):
    """Two certificates' runs interleave their auth calls; each last call
    writes its own run's values only."""
    conf = tb.write_config()
    a, b, c, d = (f'{x}.example.test' for x in 'abcd')
    run1, run2 = f'{a},{b}', f'{c},{d}'
    v = {x: acme_value() for x in (a, b, c, d)}
    o = {}
    o[a] = _auth(conf, a, v[a], 1, run1)
    o[c] = _auth(conf, c, v[c], 1, run2)
    o[b] = _auth(conf, b, v[b], 0, run1)
    for x in (a, b):
        expect_txt(NS2, '_acme-challenge.' + x, [v[x]], 'after run 1 ended: ')
    expect_txt(NS1, '_acme-challenge.' + c, [], 'run 1 must not write run 2\'s pending value: ')
    o[d] = _auth(conf, d, v[d], 0, run2)
    for x in (c, d):
        expect_txt(NS2, '_acme-challenge.' + x, [v[x]], 'after run 2 ended: ')
    # Cleanup batches per run too: a run's values go with its last cleanup,
    # and the other run's values stay until its own.
    _cleanup(conf, a, v[a], 1, run1, o[a])
    _cleanup(conf, c, v[c], 1, run2, o[c])
    expect_txt(NS1, '_acme-challenge.' + a, [v[a]], 'a cleanup above 0 only marks: ')
    _cleanup(conf, b, v[b], 0, run1, o[b])
    for x in (a, b):
        expect_txt(NS1, '_acme-challenge.' + x, [], 'after run 1\'s last cleanup: ')
    expect_txt(NS1, '_acme-challenge.' + c, [v[c]], 'run 1\'s cleanup must not touch run 2: ')
    _cleanup(conf, d, v[d], 0, run2, o[d])
    for x in (c, d):
        expect_txt(NS1, '_acme-challenge.' + x, [], 'after run 2\'s last cleanup: ')


def test_concurrent_last_calls(tb):
    """The last auth calls of two runs at the same moment, with 2 s of
    secondary lag: both wait for their own records and succeed."""
    tb.set_lag(2)
    conf = tb.write_config()
    runs = [(f'p{i}.example.test', acme_value()) for i in range(2)]
    procs = [subprocess.Popen([dns01_binary(), '-c', conf, 'auth'], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=clean_env(certbot_env(dom, val, 0)))
             for dom, val in runs]
    results = [p.communicate(timeout=60) + (p.returncode,) for p in procs]
    for (dom, val), (out, err, rc) in zip(runs, results):
        assert rc == 0, f'auth {dom} exited {rc}: {err.decode()[-500:]}'
        # It returned only after ns2 had it: so ns2 serves it now.
        rcode, aa, values = dig_txt(NS2, '_acme-challenge.' + dom)
        assert val in values, f'{dom}: auth returned but ns2 answers {rcode} {values}'
    tb.set_lag(0)
    for (dom, val), (out, _, _) in zip(runs, results):
        _cleanup(conf, dom, val, 0, dom, out.decode().strip())


def test_one_update_per_zone(tb):
    """apex + wildcard: the last auth writes both records in one UPDATE, and
    the last cleanup deletes both in one, so the serial goes up by one each."""
    conf = tb.write_config()
    before = soa_serial(NS1, 'example.test')
    values = [acme_value(), acme_value()]
    outs, _ = auth_pair(tb, conf, 'one.example.test', values, 'one.example.test,one.example.test')
    after = soa_serial(NS1, 'example.test')
    assert after == before + 1, f'serial went {before} -> {after}: expected one UPDATE'
    cleanup_pair(tb, conf, 'one.example.test', values, outs, 'one.example.test,one.example.test')
    final = soa_serial(NS1, 'example.test')
    assert final == after + 1, f'cleanup: serial went {after} -> {final}: expected one UPDATE'
    expect_txt(NS1, '_acme-challenge.one.example.test', [], 'after cleanup: ')


def test_truncated_answer_over_tcp(tb):
    """40 values at one name make an answer larger than the EDNS size: the
    wait must ask again over TCP and see every value."""
    conf = tb.write_config()
    name = 'big.example.test'
    values = [acme_value() for _ in range(40)]
    rc, _, err, _ = run_dns01(['-v', '-c', conf, 'set', name] + values + ['--timeout', '10'])
    assert rc == 0, f'set of 40 values exited {rc}: {err.strip()[-800:]}'
    assert 'asking again over TCP' in err, 'the answers were never truncated: no TCP was used'
    rc, out, err, _ = run_dns01(['-c', conf, 'list', name, '--json'])
    assert rc == 0, f'list exited {rc}: {err[-300:]}'
    doc = json.loads(out)
    answered = [s for s in doc['servers'] if s['answered']]
    assert {s['address'] for s in answered} == {NS1, NS2}, doc['servers']
    for s in answered:
        assert sorted(s['values']) == sorted(values), \
            f'{s["nameserver"]} {s["address"]}: {len(s["values"])} of 40 values'
    rc, _, err, _ = run_dns01(['-c', conf, 'unset', name] + values)
    assert rc == 0, f'unset exited {rc}: {err.strip()[-500:]}'
    expect_txt(NS1, name, [], 'after unset: ')


def test_unreachable_addresses_do_not_block(tb):
    """ns1 has an unroutable IPv6 address and ns2 an address without a
    listener: set still returns as soon as ns1 and ns2 have the value, and
    list reports the two addresses that never answered."""
    conf = tb.write_config()
    name, value = 'reach.example.test', acme_value()
    rc, out, err, el = run_dns01(['-c', conf, 'set', name, value, '--json'])
    assert rc == 0, f'set exited {rc}: {err.strip()[-500:]}'
    # Exit 0 is the proof: an address that blocked its nameserver would hold
    # the wait until the timeout (exit 5).  No wall-clock bound here.
    note(f'set returned after {el:.2f}s')
    doc = json.loads(out)
    assert doc['ok'] is True and doc['values'] == [value] and doc['zone'] == 'example.test', doc
    rc, out, err, _ = run_dns01(['-c', conf, 'list', name])
    lines = out.splitlines()
    assert lines[0].startswith(name) and '(zone example.test)' in lines[0], out
    assert any('127.53.0.99' in l and 'no answer' in l for l in lines), out
    assert any('fd00:53::1' in l and 'no answer' in l for l in lines), out
    assert any(l.strip().startswith(f'ns2.example.test {NS2}: NOERROR') and value in l
               for l in lines), out
    rc, _, err, _ = run_dns01(['-c', conf, 'unset', name, value])
    assert rc == 0, f'unset exited {rc}: {err.strip()[-500:]}'


def test_timeout_report_names_dead_addresses(tb):
    """With ns2 never updated, the exit-5 report lists every address of every
    nameserver: the ones that answered, and the ones that never did."""
    tb.set_lag(None)
    conf = tb.write_config()
    name, value = 'dead.example.test', acme_value()
    rc, _, err, el = run_dns01(['-c', conf, 'set', name, value, '--timeout', '3'])
    tb.set_lag(0)
    tb.sync()
    assert rc == 5, f'expected exit 5, got {rc}: {err[-500:]}'
    assert 'within 3 s' in err, f'the report does not name the 3 s timeout:\n{err}'
    note(f'exit 5 after {el:.1f}s with --timeout 3')
    for frag in ('ns2.example.test 127.53.0.2: NXDOMAIN', 'ns2.example.test 127.53.0.99: never answered',
                 'ns1.example.test fd00:53::1: never answered', 'ns1.example.test 127.53.0.1: TXT'):
        assert frag in err, f'report lacks {frag!r}:\n{err}'
    rc, _, err, _ = run_dns01(['-c', conf, 'unset', name, value])
    assert rc == 0, f'unset exited {rc}: {err.strip()[-500:]}'
