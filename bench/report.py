"""bench/results.md and bench/issuance.png from the runs bench/bench.py
measured: the tables (median and max of the repetitions, the ratio to the
best peer on every line), PASS/MISS per target, and a gnuplot plot of
issuance time against lag per tool."""

import collections
import datetime
import statistics
import subprocess

from bench import (API_LATENCY, BURST_WINDOW, CERTBOT_DEFAULT_PROPAGATION,
                   CERTBOT_FAST_PROPAGATION, DNS01, FEW_NAMES, FLOOR, HOOKCOST, LABELS,
                   LAGS, MANY_LAG, MANY_NAMES, NOOP, PEERS,
                   PROBE_PERIOD, REPS, STAGGER, TARGET_FLOOR_MARGIN, TARGET_MANY_AUTH_MARGIN,
                   TARGET_MANY_TOTAL, TARGET_OVERHEAD_MAX, TARGET_OVERHEAD_MEDIAN,
                   TARGET_PEER_RATIO, TARGET_QPS, TARGET_RSS_KB, TARGET_UPDATES, TOOLS)

APEX_WILD, MANY = 'apex+wild', 'many'
PROVIDERS = ('cloudflare', 'sakuracloud')


def _med(xs):
    return statistics.median(xs) if xs else None


def _s(x, digits=1):
    return '-' if x is None else f'{x:.{digits}f}'


def _verdict(ok):
    return 'PASS' if ok else 'MISS'


class Cell:
    """The runs of one tool in one configuration."""

    def __init__(self, runs):
        self.runs = runs
        self.ok = [r for r in runs if r['ok']]
        self.times = [r['seconds'] for r in self.ok]
        self.issued = bool(runs) and len(self.ok) == len(runs)
        self.median = _med(self.times)
        self.max = max(self.times) if self.times else None

    def issued_text(self):
        return f'{len(self.ok)}/{len(self.runs)}' if self.runs else '-'


def _cells(runs, kind):
    out = collections.defaultdict(dict)
    for tool in TOOLS:
        for lag in sorted({r['lag'] for r in runs if r['kind'] == kind}):
            sel = [r for r in runs if r['kind'] == kind and r['tool'] == tool and r['lag'] == lag]
            if sel:
                out[lag][tool] = Cell(sel)
    return out


def _best_peer(cells):
    """(tool, median) of the fastest peer that issued every time, or None."""
    issued = [(c.median, t) for t, c in cells.items() if t in PEERS and c.issued]
    return min(issued)[::-1] if issued else None


def write(runs, versions, total_seconds, outdir):
    targets = []          # (what, measured, PASS/MISS)
    sections = []
    notes = []

    # ---- (a) apex + wildcard -----------------------------------------------------
    aw = _cells(runs, APEX_WILD)
    lines = ['## (a) Apex + wildcard issuance against the secondary\'s lag', '',
             'Wall seconds of the whole `certbot certonly` / `lego run`, median (max) of '
             f'{REPS} runs; "issued" counts the runs that got a certificate; "x best peer" is '
             'the median over the median of the fastest peer that issued in every run at '
             'that lag (peers: certbot --dns-rfc2136 at 10 s and at 60 s, lego, the '
             'reference hook; the floor is a bound, not a peer); the median of a tool that '
             'failed in some runs is that of its successful runs.', '',
             '| lag (s) | tool | issued | median (s) | max (s) | x best peer |',
             '|---:|---|---:|---:|---:|---:|']
    for lag in sorted(aw):
        best = _best_peer(aw[lag])
        for tool in TOOLS:
            c = aw[lag].get(tool)
            if not c:
                continue
            ratio = f'{c.median / best[1]:.2f}' if best and c.median else '-'
            if c.median and not c.issued:
                ratio += ' (not every run issued)'
            lines.append(f'| {lag} | {LABELS[tool]} | {c.issued_text()} | {_s(c.median)} | '
                         f'{_s(c.max)} | {ratio} |')
            for r in c.runs:
                if not r['ok']:
                    notes.append(f'{LABELS[tool]}, lag {lag} s, failed after '
                                 f'{r["seconds"]:.1f} s: {r.get("error", "").strip()[:300]}')
        d, floor = aw[lag].get(DNS01), aw[lag].get(FLOOR)
        if d and best:
            targets.append((f'apex+wildcard, lag {lag} s: dns01 <= {TARGET_PEER_RATIO} x best '
                            f'peer ({LABELS[best[0]]}, {best[1]:.1f} s)',
                            f'{_s(d.median)} s <= {TARGET_PEER_RATIO * best[1]:.1f} s',
                            _verdict(d.issued and d.median <= TARGET_PEER_RATIO * best[1])))
        if d and floor and floor.median is not None:
            targets.append((f'apex+wildcard, lag {lag} s: dns01 <= floor + '
                            f'{TARGET_FLOOR_MARGIN} s',
                            f'{_s(d.median)} s <= {floor.median + TARGET_FLOOR_MARGIN:.1f} s',
                            _verdict(d.issued and d.median <= floor.median + TARGET_FLOOR_MARGIN)))
    lines += ['', 'Reading it: certbot asks the CA about the authorizations and the order once a '
              'second, so a certbot time moves in steps of about 1 s. pebble validates through '
              'one resolver (unbound), which asks either ns1 or ns2; a client that lets the CA '
              'look before ns2 has the values (certbot --dns-rfc2136 whenever the lag reaches '
              'its propagation seconds) still issues when that resolver asks ns1, or when ns2 '
              'caught up in the moments between the client\'s sleep and the CA\'s query. A '
              'real CA asks from several places and would be more likely to fail.']
    sections.append('\n'.join(lines))

    # ---- (b) wait overhead ---------------------------------------------------------
    lines = ['## (b) dns01\'s wait overhead', '',
             'The last auth hook\'s return (bench/hookwrap.sh) minus the moment the later of '
             f'ns1 and ns2 first served both values, as the bench\'s own prober saw it (raw UDP '
             f'every {PROBE_PERIOD * 1000:.0f} ms to each, from an address of its own), in the '
             'apex + wildcard runs of (a). Negative: dns01 returned before the prober saw '
             'the values everywhere.', '',
             '| lag (s) | runs | median (ms) | max (ms) |', '|---:|---:|---:|---:|']
    every = []
    for lag in sorted(aw):
        c = aw[lag].get(DNS01)
        ov = [r['overhead'] * 1000 for r in (c.runs if c else []) if r.get('overhead') is not None]
        every += ov
        lines.append(f'| {lag} | {len(ov)} | {_s(_med(ov), 0)} | {_s(max(ov, default=None), 0)} |')
    lines.append(f'| all | {len(every)} | {_s(_med(every), 0)} | '
                 f'{_s(max(every, default=None), 0)} |')
    sections.append('\n'.join(lines))
    targets.append((f'wait overhead median <= {TARGET_OVERHEAD_MEDIAN * 1000:.0f} ms',
                    f'{_s(_med(every), 0)} ms',
                    _verdict(every and _med(every) <= TARGET_OVERHEAD_MEDIAN * 1000)))
    targets.append((f'wait overhead max <= {TARGET_OVERHEAD_MAX * 1000:.0f} ms',
                    f'{_s(max(every, default=None), 0)} ms',
                    _verdict(every and max(every) <= TARGET_OVERHEAD_MAX * 1000)))

    # ---- (c) many names ----------------------------------------------------------------
    mc = _cells(runs, MANY).get(MANY_LAG, {})
    aw5 = aw.get(MANY_LAG, {})
    est = {}
    lines = [f'## (c) {MANY_NAMES} names at lag {MANY_LAG} s', '',
             f'lego and the reference hook run at {FEW_NAMES} names; their {MANY_NAMES}-name '
             'time is extrapolated linearly from their 2-name (apex + wildcard, same lag) '
             f'and {FEW_NAMES}-name medians, as both handle one name after the other: '
             f'T{MANY_NAMES} = T{FEW_NAMES} + ({MANY_NAMES} - {FEW_NAMES}) x (T{FEW_NAMES} - '
             f'T2) / ({FEW_NAMES} - 2).  "x best peer" compares the {MANY_NAMES}-name '
             'times (measured or extrapolated).', '',
             f'| tool | names run | issued | median (s) | max (s) | {MANY_NAMES} names (s) | '
             'x best peer |', '|---|---:|---:|---:|---:|---:|---:|']
    for tool, c in mc.items():
        n = c.runs[0]['names']
        if n == MANY_NAMES:
            est[tool] = (c.median, 'measured')
        elif c.median is not None and aw5.get(tool) and aw5[tool].median is not None:
            t2 = aw5[tool].median
            est[tool] = (c.median + (MANY_NAMES - n) * (c.median - t2) / (n - 2),
                         'extrapolated')
        else:
            est[tool] = (None, 'no estimate')
    best = min(((v, t) for t, (v, _) in est.items()
                if t in PEERS and v is not None and mc[t].issued), default=None)
    for tool, c in mc.items():
        v, how = est[tool]
        ratio = f'{v / best[0]:.2f}' if best and v else '-'
        lines.append(f'| {LABELS[tool]} | {c.runs[0]["names"]} | {c.issued_text()} | '
                     f'{_s(c.median)} | {_s(c.max)} | {_s(v)} ({how}) | {ratio} |')
        for r in c.runs:
            if not r['ok']:
                notes.append(f'{LABELS[tool]}, {r["names"]} names, failed after '
                             f'{r["seconds"]:.1f} s: {r.get("error", "").strip()[:300]}')
    d = mc.get(DNS01)
    if d:
        def span(a, b):
            return [r[b] - r[a] for r in d.runs if r.get(a) and r.get(b)]
        spans = span('first_auth_start', 'last_auth_end')
        recording = span('first_auth_start', 'last_auth_start')
        last = span('last_auth_start', 'last_auth_end')
        cleanup = span('last_cleanup_start', 'last_cleanup_end')
        adds = [r.get('updates_add') for r in d.runs]
        dels = [r.get('updates_remove') for r in d.runs]
        total = [r.get('updates_total') for r in d.runs]
        lines += ['', f'dns01 at {MANY_NAMES} names (one zone, example.test): from the first '
                  f'auth call to the last auth return {_s(_med(spans))} s median '
                  f'({_s(max(spans, default=None))} s max), of which the {MANY_NAMES - 1} calls '
                  f'before the last (certbot runs them one after the other) took '
                  f'{_s(_med(recording))} s and the last one (UPDATE, then the wait) '
                  f'{_s(_med(last))} s; the last cleanup call (one UPDATE; it does not wait for '
                  f'the servers) took {_s(_med(cleanup))} s. UPDATE messages per run (ns1\'s '
                  f'zone journal): {adds} adding, {dels} removing, {total} in all.']
        noop = [r for r in runs if r['kind'] == HOOKCOST and r['tool'] == NOOP]
        nspan = [r['last_auth_end'] - r['first_auth_start'] for r in noop
                 if r.get('first_auth_start') and r.get('last_auth_end')]
        nrec = [r['last_auth_start'] - r['first_auth_start'] for r in noop
                if r.get('first_auth_start') and r.get('last_auth_start')]
        if nspan and recording:
            own = (_med(recording) - _med(nrec)) / (MANY_NAMES - 1) * 1000
            lines += ['', f'{LABELS[NOOP]}, the same wrapper, {MANY_NAMES} names, '
                      f'{len(nspan)} runs: from the first auth call to the last auth return '
                      f'{_s(_med(nspan), 2)} s median: certbot\'s own time between its hook '
                      f'calls, so no hook can take less than that plus the lag '
                      f'({_s(_med(nspan) + MANY_LAG, 1)} s) for that span. dns01\'s own cost '
                      f'per recording call: {own:.1f} ms (the difference of the two, per call).']
        targets.append((f'{MANY_NAMES} names, lag {MANY_LAG} s: dns01 total <= '
                        f'{TARGET_MANY_TOTAL:.0f} s', f'{_s(d.median)} s',
                        _verdict(d.issued and d.median <= TARGET_MANY_TOTAL)))
        targets.append((f'{MANY_NAMES} names: first auth call -> last auth return <= '
                        f'lag + {TARGET_MANY_AUTH_MARGIN:.0f} s',
                        f'{_s(_med(spans))} s <= {MANY_LAG + TARGET_MANY_AUTH_MARGIN:.0f} s'
                        + (f' (a hook that does nothing: {_s(_med(nspan) + MANY_LAG)} s '
                           'with the lag)' if nspan else ''),
                        _verdict(spans and _med(spans) <= MANY_LAG + TARGET_MANY_AUTH_MARGIN)))
        targets.append((f'{MANY_NAMES} names: {TARGET_UPDATES} UPDATE per zone to add and '
                        f'{TARGET_UPDATES} to remove', f'add {adds}, remove {dels}',
                        _verdict(all(a == TARGET_UPDATES for a in adds)
                                 and all(x == TARGET_UPDATES for x in dels))))
    sections.append('\n'.join(lines))

    # ---- (d) query rates -----------------------------------------------------------------
    lines = ['## (d) Queries per second at each authoritative address during dns01\'s waits',
             '', 'From ns1\'s and ns2\'s query logs (`rndc querylog on`, ms timestamps): every '
             'query about the run\'s challenge names, the prober\'s queries left out. '
             '"wait": from ns1 applying the UPDATE that added the values to the last auth '
             'call\'s return (the target applies to it); "auth" and "cleanup": the whole last '
             'auth call and the whole last cleanup call, zone discovery included (each name '
             'is asked SOA at every nameserver, a burst before the wait; the cleanup does '
             'not wait); average over the span, and the most queries in any '
             f'{BURST_WINDOW * 1000:.0f} ms. '
             'ns1\'s other addresses (fd00:53::1) and ns2\'s (127.53.0.99) never answer and '
             'log nothing.', '',
             '| run | span | address | length (s) | avg q/s median (max) | '
             f'most in {BURST_WINDOW * 1000:.0f} ms median (max) |',
             '|---|---|---|---:|---:|---:|']
    worst = []
    for what, sel in ((f'apex+wildcard, lag {MANY_LAG} s', aw5.get(DNS01)),
                      (f'{MANY_NAMES} names, lag {MANY_LAG} s', mc.get(DNS01))):
        qs = [r['queries'] for r in (sel.runs if sel else []) if r.get('queries')]
        for key in sorted({k for q in qs for k in q}):
            phase, addr = key.split()
            vals = [q[key] for q in qs if key in q]
            qps = [v['qps'] for v in vals]
            burst = [v['burst'] for v in vals]
            if phase == 'wait':
                worst.append((max(qps), f'{what}, {phase}, {addr}'))
            window = _med([v['window'] for v in vals])
            lines.append(f'| {what} | {phase} | {addr} | {_s(window, 2)} '
                         f'| {_s(_med(qps))} ({_s(max(qps))}) | {_s(_med(burst), 0)} '
                         f'({max(burst)}) |')
    sections.append('\n'.join(lines))
    if worst:
        top = max(worst)
        targets.append((f'<= {TARGET_QPS:.0f} queries/s per address on average during every '
                        'wait (the worst run; bursts in (d))', f'{top[0]:.1f} q/s ({top[1]})',
                        _verdict(top[0] <= TARGET_QPS)))

    # ---- (e) API calls ------------------------------------------------------------------
    lines = ['## (e) API calls per certificate against the provider emulators', '',
             f'certbot + dns01 hooks, apex + wildcard, lag 0, {API_LATENCY * 1000:.0f} ms added '
             'to every API answer (tests/integration/cf_emulator.py, sakura_emulator.py).', '',
             '| provider | issued | API calls median (max) | by method (median) | '
             'issuance median (max) (s) |', '|---|---:|---:|---|---:|']
    for prov in PROVIDERS:
        sel = [r for r in runs if r['kind'] == prov]
        if not sel:
            continue
        c = Cell(sel)
        calls = [sum(r.get('api_calls', {}).values()) for r in sel]
        methods = sorted({m for r in sel for m in r.get('api_calls', {})})
        by = ' '.join(f'{m} {_med([r.get("api_calls", {}).get(m, 0) for r in sel]):g}'
                      for m in methods)
        lines.append(f'| {prov} | {c.issued_text()} | {_med(calls):g} ({max(calls)}) | {by} | '
                     f'{_s(c.median)} ({_s(c.max)}) |')
    sections.append('\n'.join(lines))

    # ---- (f) resources ------------------------------------------------------------------
    res = [r for r in runs if r['kind'] == 'resources']
    rss = [r[k] for r in res for k in ('rss_auth_kb', 'rss_cleanup_kb') if r.get(k)]
    irs = [r['list_ir'] for r in res if r.get('list_ir')]
    lines = ['## (f) Memory and instructions', '',
             '| measure | median | max |', '|---|---:|---:|',
             f'| peak RSS of a hook call (auth or cleanup, one name, /usr/bin/time -v), MB | '
             f'{_s(_med(rss) / 1024 if rss else None, 2)} | '
             f'{_s(max(rss) / 1024 if rss else None, 2)} |',
             f'| instructions of one `dns01 list` (callgrind, total Ir), millions | '
             f'{_s(_med(irs) / 1e6 if irs else None, 2)} | '
             f'{_s(max(irs) / 1e6 if irs else None, 2)} |']
    sections.append('\n'.join(lines))
    targets.append((f'peak RSS of a hook call <= {TARGET_RSS_KB / 1024:.0f} MB',
                    f'{_s(max(rss) / 1024 if rss else None, 2)} MB',
                    _verdict(rss and max(rss) <= TARGET_RSS_KB)))

    # ---- assemble -------------------------------------------------------------------------
    head = ['# dns01 benchmark (`make bench`)', '',
            f'Run {datetime.datetime.now():%Y-%m-%d %H:%M}, {total_seconds / 60:.1f} min in all, '
            f'{versions["cpus"]} CPUs, Linux {versions["kernel"]}. '
            + ', '.join(f'{k} {v}' for k, v in versions.items() if k not in ('cpus', 'kernel'))
            + '.', '',
            f'Every configuration ran {REPS} times; a target is judged on the median of the '
            'repetitions, except where it names the max and the query rate (every wait).', '',
            'What ran at the same time: two beds (each its own namespaces, BIND ns1 + ns2, '
            'unbound, pebble) ran at once on the same machine. Bed A ran one client at a '
            'time: (a) for dns01, the reference hook and the floor hook, (c) for dns01, '
            'then (e) and (f). Bed B ran the sleep-dominated clients, each in a zone of its '
            'own (slotK.test, so that no transfer carried one client\'s change to ns2 early '
            f'with another\'s): for each lag {REPS} certbot --dns-rfc2136 at '
            f'{CERTBOT_DEFAULT_PROPAGATION} s and {REPS} lego at once, and {STAGGER} s later, '
            f'while those slept, {REPS} certbot --dns-rfc2136 at {CERTBOT_FAST_PROPAGATION} s '
            f'one after the other; then at lag {MANY_LAG} s {REPS} lego and {REPS} '
            f'reference-hook runs at {FEW_NAMES} names at once, and {STAGGER} s later {REPS} '
            f'certbot --dns-rfc2136 at {CERTBOT_FAST_PROPAGATION} s with {MANY_NAMES} names '
            'one after the other. Bed B\'s load shares the 2 CPUs with bed A\'s '
            'measurements.']
    tgt = ['## Targets', '', '| target | measured | result |', '|---|---|---|'] + \
        [f'| {w} | {m} | {v} |' for w, m, v in targets]
    tail = ['## Failures', ''] + ([f'- {n}' for n in notes] or ['None.'])
    text = '\n\n'.join(['\n'.join(head), '\n'.join(tgt)] + sections + ['\n'.join(tail)]) + '\n'
    text += '\n![issuance time against lag](issuance.png)\n'
    (outdir / 'results.md').write_text(text)
    _plot(aw, outdir)
    return text


def _plot(aw, outdir):
    """Median issuance time against lag per tool, points only where every
    repetition issued."""
    data = []
    for tool in TOOLS:
        pts = [(lag, aw[lag][tool].median) for lag in sorted(aw)
               if tool in aw[lag] and aw[lag][tool].issued]
        if pts:
            data.append((tool, pts))
    dat = outdir / 'issuance.dat'
    dat.write_text('\n\n\n'.join('\n'.join(f'{lag} {t:.3f}' for lag, t in pts)
                                 for _, pts in data) + '\n')
    plots = ', '.join(f"'{dat}' index {i} with linespoints lw 2 title \"{LABELS[tool]}\""
                      for i, (tool, _) in enumerate(data))
    script = (f"set terminal png size 1000,640\nset output '{outdir / 'issuance.png'}'\n"
              "set title 'apex + wildcard certificate: issuance time (median; a point only "
              "where every run issued)'\n"
              "set xlabel \"secondary's lag (s)\"\nset ylabel 'issuance time (s)'\n"
              f"set xtics ({', '.join(str(lag) for lag in LAGS)})\nset key below\n"
              "set grid\nset yrange [0:*]\n"
              f"plot {plots}\n")
    try:
        subprocess.run(['gnuplot'], input=script, text=True, check=True,
                       capture_output=True)
    finally:
        dat.unlink(missing_ok=True)
