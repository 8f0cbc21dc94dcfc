"""Resolver caches must never fail a validation, end to end. lego's exec
provider and uacme validate example.test and *.example.test one after the
other at the same name, _acme-challenge.example.test; pebble validates
through its own unbound, which keeps every answer for its TTL. Without
dns01's cache waits the second validation reads the first, removed value
from that cache and fails ("Correct value not found for DNS challenge").

Here the CA-side resolver is NOT restarted between the runs of a test, so
answers cached by one run are still there for the next, as at a real CA.
ns2 lags 3 s behind ns1 throughout."""

import re
import threading

from test_clients import TWO, _certbot_certonly, _lego, _uacme
from testbed import note

RUNS = 5


def _loop(tb, client, name):
    """RUNS runs of one client with the default configuration (no ttl line)."""
    tb.restart_ca_resolver()
    times = [client(tb, fresh_resolver=False)[1] for _ in range(RUNS)]
    note(f'{name}, default TTL: {RUNS} of {RUNS} issued; seconds per run: '
         + ', '.join(f'{t:.1f}' for t in times))


def test_pebble_cache_clients_lego_five_times(tb):
    """lego --dns exec, example.test + *.example.test, five times in a row."""
    _loop(tb, _lego, 'lego')


def test_pebble_cache_clients_uacme_five_times(tb):
    """uacme -h, example.test + *.example.test, five times in a row."""
    _loop(tb, _uacme, 'uacme')


def _cache_waits(text):
    """The seconds of every cache wait dns01 announced in a client's output."""
    return [int(x) for x in re.findall(r'older answer may still be cached by resolvers '
                                       r'until \S+: waiting (\d+) s more', text)]


def test_pebble_cache_clients_ttl_120(tb):
    """ttl = 120: dns01 holds the second value until the first answer has
    left every cache (about two minutes) and both clients succeed. lego and
    uacme run at the same time, lego for example.test + *.example.test and
    uacme for acme.test + *.acme.test (two clients at one name would each
    make the other's answers stale), so the test takes one TTL, not two."""
    tb.pebble()                 # started here, not by two threads at once
    tb.restart_ca_resolver()
    results, errors = {}, []

    def run(name, client, domains):
        try:
            # the cache wait counts against dns01's timeout (30 s in the tests)
            results[name] = client(tb, domains, fresh_resolver=False, ttl=120, timeout=300)
        except BaseException as e:      # noqa: B902 - reported below
            errors.append(f'{name}: {e}')
    threads = [threading.Thread(target=run, args=('lego', _lego, TWO)),
               threading.Thread(target=run, args=('uacme', _uacme,
                                                  ('acme.test', '*.acme.test')))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, '\n\n'.join(errors)
    for name, (p, dt) in sorted(results.items()):
        waits = _cache_waits(p.stdout + p.stderr)
        assert waits and max(waits) >= 60, \
            f'{name}: no cache wait of a minute or more announced with ttl = 120 ' \
            f'(saw {waits}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}'
        note(f'{name}, ttl = 120: issued in {dt:.1f} s; cache wait {max(waits)} s')


def test_pebble_cache_clients_certbot_right_after_cleanup(tb):
    """A certbot run for example.test + *.example.test started right after
    the cleanup of an earlier one (the CA's resolver still holds the earlier
    values) succeeds: its last auth waits until those answers expired."""
    _, _, _, log, _, first = _certbot_certonly(tb, 'certbot-again-1-', TWO, 'first')
    _, _, _, log, _, second = _certbot_certonly(tb, 'certbot-again-2-', TWO, 'second',
                                                fresh_resolver=False)
    text = log.read_text(errors='replace')
    waits = _cache_waits(text)
    assert waits, f'the second run announced no cache wait:\n{text[-3000:]}'
    note(f'certbot: first run {first:.1f} s, second run right after it {second:.1f} s '
         f'(cache wait {max(waits)} s)')
