"""The run journal: a hook call that fails deletes what it wrote, a killed run's
values are deleted by the next call, a new certbot run deletes what an earlier
one of the same certificate left, and lines dns01 never wrote are never acted
on.  Every dialect: certbot, uacme, dehydrated, lego."""

import os
import signal
import subprocess
import time

from flows import expect_txt, expect_txt_soon
from testbed import (NS1, NS2, acme_value, certbot_env, clean_env, dns01_binary, note,
                     run_dns01, txt_values)

DEHYDRATED_ENV = {'BASEDIR': '/var/lib/dehydrated', 'CERTDIR': '/var/lib/dehydrated/certs'}
TOKEN = 'tok-' + 'x' * 39          # an http-01 token: dns-01 ignores it
HANG_LIMIT = 60                    # a call that takes this long has hung


def _state(tb):
    return tb.tmp / 'state'


def journal_lines(tb):
    p = _state(tb) / 'journal'
    return p.read_text().splitlines() if p.exists() else []


def run_token_files(tb):
    return sorted(p.name for p in _state(tb).glob('run-*.lock'))


def expect_clean_journal(tb, what, label=''):
    """Nothing of this test journaled (lines naming `label`; other test files
    sharing the state_dir may leave runs they never finished), and no token
    file without a journal entry."""
    lines = [l for l in journal_lines(tb) if label in l]
    assert lines == [], f'{what}: the journal still holds {lines}'
    tokens = {l.split()[2] for l in journal_lines(tb) if len(l.split()) == 7}
    orphans = [f for f in run_token_files(tb) if f[4:-5] not in tokens]
    assert orphans == [], f'{what}: run token files without a run: {orphans}'


# TTL 1 s in these tests: a value deleted by recovery makes the next write at
# its name wait out resolver caches (core/ledger.h) for the TTL.

# (present argv, cleanup argv, env) per dialect for one value at <label>.example.test
def _calls(dialect, label, value):
    domain = f'{label}.example.test'
    if dialect == 'uacme':
        args = ['dns-01', domain, TOKEN, value]
        return ['begin'] + args, ['done'] + args, {}
    if dialect == 'dehydrated':
        args = [domain, TOKEN, value]
        return ['deploy_challenge'] + args, ['clean_challenge'] + args, DEHYDRATED_ENV
    if dialect == 'lego':
        args = [f'_acme-challenge.{domain}.', value]
        return ['present'] + args, ['cleanup'] + args, {}
    raise ValueError(dialect)


def _present(conf, dialect, label, value, extra=()):
    present, _, env = _calls(dialect, label, value)
    return run_dns01(['-c', conf] + list(extra) + present, env=env)


def _cleanup(conf, dialect, label, value):
    _, cleanup, env = _calls(dialect, label, value)
    rc, _, err, _ = run_dns01(['-c', conf] + cleanup, env=env)
    assert rc == 0, f'{dialect} cleanup exited {rc}: {err.strip()[-400:]}'


def _full_run(tb, conf, dialect, label):
    """A complete present + cleanup for a fresh value; returns it."""
    value = acme_value()
    rc, _, err, _ = _present(conf, dialect, label, value)
    assert rc == 0, f'{dialect} present exited {rc}: {err.strip()[-400:]}'
    _cleanup(conf, dialect, label, value)
    return value


def _certbot(conf, cmd, domain, value, remaining=0, all_domains=None, out=None):
    return run_dns01(['-c', conf, cmd],
                     env=certbot_env(domain, value, remaining, all_domains, out))


# ------------------------------------------------ a failing call leaves nothing

def _failing_present_leaves_nothing(tb, dialect):
    """The wait fails (ns2 never gets the value): the call exits 5 and the
    value is gone again from the primary."""
    conf = tb.write_config(timeout=2, ttl=1)
    label = f'fail-{dialect}'
    name = f'_acme-challenge.{label}.example.test'
    tb.set_lag(None)
    value = acme_value()
    rc, _, err, _ = _present(conf, dialect, label, value)
    assert rc == 5, f'{dialect} present with a secondary that never catches up exited {rc}'
    assert 'deleting the 1 value(s) this call wrote' in err, err[-600:]
    expect_txt(NS1, name, [], f'after the failed {dialect} present: ')
    expect_clean_journal(tb, f'after the failed {dialect} present', label)


def test_failed_present_leaves_nothing_uacme(tb):
    _failing_present_leaves_nothing(tb, 'uacme')


def test_failed_present_leaves_nothing_dehydrated(tb):
    _failing_present_leaves_nothing(tb, 'dehydrated')


def test_failed_present_leaves_nothing_lego(tb):
    _failing_present_leaves_nothing(tb, 'lego')


def test_failed_certbot_auth_leaves_nothing(tb):
    conf = tb.write_config(timeout=2, ttl=1)
    domain = 'fail-certbot.example.test'
    tb.set_lag(None)
    value = acme_value()
    rc, out, err, _ = _certbot(conf, 'auth', domain, value)
    assert rc == 5, f'certbot auth exited {rc}'
    expect_txt(NS1, '_acme-challenge.' + domain, [], 'after the failed certbot auth: ')
    # certbot then calls the cleanup hook: it finds nothing left to do
    tb.set_lag(0)
    tb.sync()
    rc, _, err, _ = _certbot(conf, 'cleanup', domain, value, out=out.strip())
    assert rc == 0, f'cleanup after a failed auth exited {rc}: {err[-400:]}'
    expect_clean_journal(tb, 'after the failed certbot auth and its cleanup', 'fail-certbot')


def test_provider_error_on_second_zone_rolls_back_first(tb):
    """dehydrated HOOK_CHAIN: two values in two zones; the UPDATE of the
    second zone is refused (the zone accepts another TSIG key only), after
    the first zone's was accepted.  The first value is deleted again."""
    conf = tb.write_config(ttl=1)
    alg, sec = tb.keys['key-nogrant']
    with open(conf, 'a') as f:        # the second zone through a key it refuses
        f.write(f'\n[provider www]\ntype = rfc2136\nzones = _acme-challenge.www.example.test\n'
                f'tsig_key = key-nogrant\ntsig_algorithm = {alg}\ntsig_secret = {sec}\n')
    v1, v2 = acme_value(), acme_value()
    rc, _, err, _ = run_dns01(['-c', conf, 'deploy_challenge',
                               'chain1.example.test', TOKEN, v1,
                               'www.example.test', TOKEN, v2], env=DEHYDRATED_ENV)
    assert rc == 4, f'a refused UPDATE in the second zone exited {rc}: {err[-600:]}'
    expect_txt(NS1, '_acme-challenge.chain1.example.test', [],
               'the first zone after the second zone refused: ')
    expect_clean_journal(tb, 'after the refused deploy_challenge', 'example.test')


# ------------------------------------------------------- killed during the wait

def _kill_during_wait(tb, argv, env, name, value):
    """Start dns01 with ns2 frozen, SIGKILL it once ns1 serves value."""
    tb.set_lag(None)
    p = subprocess.Popen([dns01_binary()] + argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=clean_env(env))
    try:
        deadline = time.monotonic() + HANG_LIMIT
        while value not in txt_values(NS1, name)[2]:
            assert p.poll() is None, f'dns01 exited {p.returncode} before writing: ' \
                                     f'{p.stderr.read().decode(errors="replace")[-400:]}'
            assert time.monotonic() < deadline, 'the value never reached ns1'
            time.sleep(0.05)
        assert p.poll() is None, 'dns01 returned although ns2 never had the value'
        p.send_signal(signal.SIGKILL)
        p.wait()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    tb.set_lag(0)
    tb.sync()


def _killed_then_next_run(tb, dialect):
    conf = tb.write_config(ttl=1)
    label = f'kill-{dialect}'
    name = f'_acme-challenge.{label}.example.test'
    dead = acme_value()
    present, _, env = _calls(dialect, label, dead)
    _kill_during_wait(tb, ['-c', conf] + present, env, name, dead)
    expect_txt(NS1, name, [dead], 'the killed run left its value: ')
    rc_note = _full_run(tb, conf, dialect, label)
    expect_txt(NS1, name, [], f'after the next {dialect} run: ')
    # the cleanup does not wait for the secondary
    expect_txt_soon(NS2, name, [], f'after the next {dialect} run: ')
    expect_clean_journal(tb, f'after the next {dialect} run', label)
    note(f'{dialect}: the next run deleted the killed run\'s value ({rc_note[:6]}...)')


def test_killed_run_recovered_uacme(tb):
    _killed_then_next_run(tb, 'uacme')


def test_killed_run_recovered_dehydrated(tb):
    _killed_then_next_run(tb, 'dehydrated')


def test_killed_run_recovered_lego(tb):
    _killed_then_next_run(tb, 'lego')


def test_killed_run_recovered_certbot(tb):
    """certbot's last auth call killed during its wait; the next certbot run
    for the same certificate leaves nothing of it."""
    conf = tb.write_config(ttl=1)
    domain = 'kill-certbot.example.test'
    all_domains = f'{domain},*.{domain}'
    name = '_acme-challenge.' + domain
    dead = [acme_value(), acme_value()]
    rc, out1, err, _ = _certbot(conf, 'auth', domain, dead[0], 1, all_domains)
    assert rc == 0, err
    _kill_during_wait(tb, ['-c', conf, 'auth'],
                      certbot_env(domain, dead[1], 0, all_domains), name, dead[1])
    # the next run: both auth calls and both cleanups succeed
    new = [acme_value(), acme_value()]
    outs = []
    for i, (d, v) in enumerate(zip((domain, domain), new)):
        rc, out, err, _ = _certbot(conf, 'auth', d, v, 1 - i, all_domains)
        assert rc == 0, f'auth {i} of the next run exited {rc}: {err[-500:]}'
        outs.append(out.strip())
    expect_txt(NS1, name, new, 'during the next run, only its own values: ')
    for i, (d, v) in enumerate(zip((domain, domain), new)):
        rc, _, err, _ = _certbot(conf, 'cleanup', d, v, 1 - i, all_domains, outs[i])
        assert rc == 0, err
    expect_txt(NS1, name, [], 'after the next run: ')
    expect_txt_soon(NS2, name, [], 'after the next run: ')   # cleanup does not wait
    expect_clean_journal(tb, 'after the next certbot run', 'kill-certbot')


def test_certbot_new_run_deletes_what_earlier_run_left(tb):
    """A certbot run whose cleanup never came (certbot killed after auth):
    the first auth call of the next run for the same certificate deletes the
    earlier values instead of forgetting them."""
    conf = tb.write_config(ttl=1)
    domain = 'stale2.example.test'
    name = '_acme-challenge.' + domain
    old = acme_value()
    rc, _, err, _ = _certbot(conf, 'auth', domain, old)
    assert rc == 0, err
    expect_txt(NS1, name, [old], 'after the first run\'s auth: ')
    new = acme_value()
    rc, out, err, _ = _certbot(conf, 'auth', domain, new)
    assert rc == 0, err
    expect_txt(NS1, name, [new], 'after the next run\'s auth: ')
    assert 'an earlier run for the same certificate never cleaned it up' in err, err[-600:]
    rc, _, err, _ = _certbot(conf, 'cleanup', domain, new, out=out.strip())
    assert rc == 0, err
    expect_txt(NS1, name, [], 'after the next run\'s cleanup: ')
    expect_clean_journal(tb, 'after the second run', 'stale2')


# ------------------------------------------------------------ foreign entries

def _fnv_key(all_domains):
    h = 0xcbf29ce484222325
    for b in all_domains.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return f'certbot-{h:016x}'


def test_planted_lines_are_never_acted_on(tb):
    """Lines dns01 never wrote — in the journal (a run token without its token
    file), in the state file of dns01 before the journal, one with a time that
    overflowed the old parser (UB) — never make dns01 write or delete a value:
    not at the last auth call, not at the last cleanup call."""
    conf = tb.write_config(ttl=1)
    domain = 'planted.example.test'
    all_domains = f'{domain},*.{domain}'
    name = '_acme-challenge.' + domain
    foreign, planted = acme_value(), acme_value()
    tb.nsupdate(f'update add {name} 300 TXT "{foreign}"')
    key = _fnv_key(all_domains)
    state = _state(tb)
    state.mkdir(mode=0o700, exist_ok=True)

    def plant():
        now = int(time.time())
        with open(state / f'{key}.state', 'a') as f:
            f.write(f'{now} 2 {domain} {foreign} -\n'
                    f'-9223372036854775808 0 {domain} {planted} -\n')
        with open(state / 'journal', 'a') as f:
            f.write(f'{now} 3 0123456789abcdef {key} {name} {foreign} -\n'
                    f'{now} 0 0123456789abcdef {key} {name} {planted} -\n')

    values, outs = [acme_value(), acme_value()], []
    for i, v in enumerate(values):
        if i == 1:
            plant()                   # between the auth calls of one run
        rc, out, err, _ = _certbot(conf, 'auth', domain, v, 1 - i, all_domains)
        assert rc == 0, err
        outs.append(out.strip())
    expect_txt(NS1, name, [foreign] + values, 'after auth (no planted value written): ')
    plant()                           # between auth and cleanup
    for i, v in enumerate(values):
        rc, _, err, _ = _certbot(conf, 'cleanup', domain, v, 1 - i, all_domains, outs[i])
        assert rc == 0, err
    expect_txt(NS1, name, [foreign], 'after cleanup (the foreign value kept): ')
    expect_clean_journal(tb, 'after the run', 'planted')
    tb.nsupdate(f'update delete {name} TXT')


def test_damaged_journal_lines_reported_by_number(tb):
    conf = tb.write_config(ttl=1)
    state = _state(tb)
    state.mkdir(mode=0o700, exist_ok=True)
    secretish = 'Zm9vYmFy' * 4
    (state / 'journal').write_text(f'garbage {secretish}\n'
                                   f'99999999999999999999 1 x y z w v\n')
    value = acme_value()
    rc, _, err, _ = _present(conf, 'uacme', 'damaged', value, ())
    assert rc == 0, err
    assert 'journal: 2 damaged line(s), first line 1' in err, err[-600:]
    assert secretish not in err, 'a damaged line was echoed'
    assert all('garbage' not in l for l in journal_lines(tb)), 'the damaged line was kept'
    _cleanup(conf, 'uacme', 'damaged', value)
    expect_clean_journal(tb, 'after the run', 'damaged')


# ---------------------------------------------------- files that are not ours

def test_fifo_and_hard_link_in_state_dir(tb):
    """A FIFO where the journal (or the state file of dns01 before it) should
    be never hangs dns01; a hard link planted as the journal is replaced, never
    written through."""
    conf = tb.write_config(ttl=1)
    state = _state(tb)
    state.mkdir(mode=0o700, exist_ok=True)
    domain = 'fifo.example.test'
    (state / 'journal').unlink(missing_ok=True)
    os.mkfifo(state / 'journal')
    os.mkfifo(state / f'{_fnv_key(domain)}.state')
    value = acme_value()
    rc, out, err, _ = run_dns01(['-c', conf, 'auth'], env=certbot_env(domain, value, 0),
                                timeout=HANG_LIMIT)
    assert rc == 0, err
    assert 'journal is a FIFO, not a regular file' in err, err[-600:]
    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'],
                              env=certbot_env(domain, value, 0, None, out.strip()),
                              timeout=HANG_LIMIT)
    assert rc == 0, err
    expect_txt(NS1, '_acme-challenge.' + domain, [], 'after the run: ')
    # a hard link: its other name keeps what it had
    outside = tb.tmp / 'precious.txt'
    outside.write_text('keep me\n')
    os.unlink(state / 'journal')
    os.link(outside, state / 'journal')
    os.unlink(state / f'{_fnv_key(domain)}.state')
    os.link(outside, state / f'{_fnv_key(domain)}.state')
    rc, out, err, _ = run_dns01(['-c', conf, 'auth'], env=certbot_env(domain, value, 0))
    assert rc == 0, err
    assert 'more than one link' in err, err[-600:]
    assert outside.read_text() == 'keep me\n', 'dns01 wrote through a hard link'
    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'],
                              env=certbot_env(domain, value, 0, None, out.strip()))
    assert rc == 0, err
    os.unlink(state / f'{_fnv_key(domain)}.state')
    expect_clean_journal(tb, 'after the run', 'fifo')


def test_no_core_dumps(tb):
    """dns01 holds secrets: it turns core dumps of itself off (and is not
    dumpable).  Seen in /proc while it waits."""
    conf = tb.write_config(ttl=1)
    value = acme_value()
    name = '_acme-challenge.core.example.test'
    present, cleanup, env = _calls('uacme', 'core', value)
    tb.set_lag(None)
    p = subprocess.Popen([dns01_binary(), '-c', conf] + present, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=clean_env(env))
    try:
        deadline = time.monotonic() + HANG_LIMIT
        while value not in txt_values(NS1, name)[2]:
            assert p.poll() is None and time.monotonic() < deadline, 'never wrote'
            time.sleep(0.05)
        limits = open(f'/proc/{p.pid}/limits').read()
    finally:
        p.kill()
        p.wait()
    line = next(l for l in limits.splitlines() if l.startswith('Max core file size'))
    assert line.split()[4:6] == ['0', '0'], f'core dumps are on: {line}'
    tb.set_lag(0)
    tb.sync()
    _full_run(tb, conf, 'uacme', 'core')        # recovers the killed value
    expect_txt(NS1, name, [], 'after the next run: ')
    expect_clean_journal(tb, 'after the next run', 'core')


def test_cleanup_does_not_wait_for_secondaries(tb):
    """A cleanup returns once the provider deleted the value, while a
    secondary that gets no changes still serves it: exit 0, neither
    "error:" nor "warning:", and the journal is clean.  The removal is noted
    as pending in the cache ledger (test_cache.py checks what that means)."""
    conf = tb.write_config(timeout=2, ttl=1)
    value = acme_value()
    present, cleanup, env = _calls('lego', 'slowgone', value)
    name = '_acme-challenge.slowgone.example.test'
    rc, _, err, _ = run_dns01(['-c', conf] + present, env=env)
    assert rc == 0, err
    tb.set_lag(None)
    try:
        rc, _, err, _ = run_dns01(['-c', conf] + cleanup, env=env)
        assert rc == 0, f'cleanup exited {rc}: {err[-400:]}'
        assert 'error:' not in err and 'warning:' not in err, err[-800:]
        expect_txt(NS1, name, [], 'after cleanup: ')
        expect_txt(NS2, name, [value], 'ns2 gets no changes: ')
        ledger = (tb.tmp / 'state' / 'cache.ledger').read_text()
        assert f' p 1 {name}\n' in ledger, f'no pending removal noted:\n{ledger}'
    finally:
        tb.set_lag(0)
        tb.sync()
    expect_clean_journal(tb, 'after the run', 'slowgone')