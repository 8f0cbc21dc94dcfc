"""The cache ledger file, <state_dir>/cache.ledger (core/ledger.h), when it
is not what dns01 wrote: damaged or far-future lines, a FIFO, a hard link.
dns01 must go on (the ledger only makes writes wait for resolver caches),
say what it ignored, never hang, and never write into a file that is not
its own. Each test has a state_dir of its own, so what it plants never
reaches another test."""

import os
import shutil
import stat
import time

from testbed import acme_value, run_dns01

# Short enough that the old behaviour (waiting for an `inf` or far-future
# cache wait) ends in exit 5, long enough for propagation in the testbed.
TIMEOUT = '10'
# A hang detector, not a speed bound: dns01 that has not exited by then
# never will.
HANG_S = 60


def _name(tag):
    return f'_acme-challenge.ledger-{tag}.example.test'


def _state_dir(tb, tag):
    d = tb.tmp / f'state-ledger-{tag}'
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(mode=0o700)
    d.chmod(0o700)
    return d


def _cleanup(conf, state, names_values):
    """Remove planted files first (an old binary would hang on a FIFO
    again), then the values, then the state_dir."""
    for p in state.iterdir():
        if not p.is_file() or p.is_symlink():
            p.unlink()
    for name, value in names_values:
        run_dns01(['-c', conf, '--timeout', '10', 'unset', name, value], timeout=HANG_S)
    shutil.rmtree(state, ignore_errors=True)


def test_ledger_damaged_lines_ignored(tb):
    """`inf`, a far-future cache wait, a change a day in the future and a
    line of control bytes: each is reported once by line number (no raw
    byte echoed), ignored (no cache wait, exit 0 within a short --timeout
    where honouring them meant exit 5), and dropped by the rewrite; an
    honest line for another name survives it."""
    state = _state_dir(tb, 'damaged')
    conf = tb.write_config(state_dir=str(state))
    inf_name, far_name, future_name, keep = (
        _name('inf'), _name('far'), _name('future'), _name('keep'))
    now = time.time()
    planted = [
        f'inf 0.000 0 0 {inf_name}\n'.encode(),                              # 1
        f'{now + 30 * 86400:.3f} {now - 5:.3f} 0 10 {far_name}\n'.encode(),  # 2
        f'{now + 5:.3f} {now + 86353:.3f} 1 10 {future_name}\n'.encode(),   # 3
        b'\x1b]0;owned\x07 \x1b[2J junk\n',                                   # 4
        f'{now + 600:.3f} {now - 5:.3f} 0 10 {keep}\n'.encode(),            # 5 honest
    ]
    ledger = state / 'cache.ledger'
    ledger.write_bytes(b''.join(planted))
    ledger.chmod(0o600)
    values = [(inf_name, acme_value()), (far_name, acme_value()),
              (future_name, acme_value())]
    try:
        rc, _, err, _ = run_dns01(['-c', conf, '--timeout', TIMEOUT, 'set', *values[0]],
                                  timeout=HANG_S)
        assert rc == 0, f'set at the name of an `inf` line exited {rc}:\n{err[-1500:]}'
        for n in (1, 2, 3, 4):
            assert err.count(f'{ledger} line {n} ignored') == 1, \
                f'line {n} not reported exactly once:\n{err}'
        assert f'{ledger} line 5 ' not in err, f'the honest line was reported:\n{err}'
        assert '\x1b' not in err and 'owned' not in err, f'raw bytes echoed:\n{err!r}'
        assert 'delete those lines' in err, f'no advice on clearing them:\n{err}'
        assert 'cached' not in err, f'a cache wait for an ignored line:\n{err}'

        text = ledger.read_bytes()
        assert planted[4] in text, f'the honest line was not kept:\n{text!r}'
        assert inf_name.encode() in text, f'the change was not noted:\n{text!r}'
        for line in planted[:4]:
            assert line not in text, f'the rewrite kept a damaged line:\n{text!r}'
        assert b'\x1b' not in text and b'inf ' not in text, text

        # The other ignored names: no cache wait, nothing more to report.
        for name, value in values[1:]:
            rc, _, err, _ = run_dns01(['-c', conf, '--timeout', TIMEOUT, 'set', name, value],
                                      timeout=HANG_S)
            assert rc == 0, f'set {name} exited {rc}:\n{err[-1500:]}'
            assert 'cached' not in err and 'ignored' not in err, err
    finally:
        _cleanup(conf, state, values)


def test_ledger_fifo_no_hang(tb):
    """A FIFO where cache.ledger should be: dns01 does not block on it,
    says what it is and that cache waits are off, sets the value, and
    leaves the FIFO alone."""
    state = _state_dir(tb, 'fifo')
    conf = tb.write_config(state_dir=str(state))
    ledger = state / 'cache.ledger'
    os.mkfifo(ledger, 0o600)
    values = [(_name('fifo'), acme_value())]
    try:
        rc, _, err, _ = run_dns01(['-c', conf, '--timeout', TIMEOUT, 'set', *values[0]],
                                  timeout=HANG_S)
        assert rc == 0, f'set exited {rc}:\n{err[-1500:]}'
        assert err.count(f'{ledger} is a FIFO, not a regular file') == 1, err
        assert 'cache waits are off' in err, err
        assert stat.S_ISFIFO(os.lstat(ledger).st_mode), 'the FIFO was replaced'
    finally:
        _cleanup(conf, state, values)


def test_ledger_hard_link_keeps_other_name(tb):
    """cache.ledger with a second name (a planted link, or a cp -al backup):
    dns01 reads it, but its update replaces the directory entry and never
    writes into the shared file, whose other name keeps its content."""
    state = _state_dir(tb, 'link')
    conf = tb.write_config(state_dir=str(state))
    name, keep = _name('link'), _name('link-keep')
    now = time.time()
    other = tb.tmp / 'ledger-link-other'
    content = f'{now + 600:.3f} {now - 5:.3f} 0 10 {keep}\n'.encode()
    other.write_bytes(content)
    other.chmod(0o600)
    ledger = state / 'cache.ledger'
    os.link(other, ledger)
    values = [(name, acme_value())]
    try:
        rc, _, err, _ = run_dns01(['-c', conf, '--timeout', TIMEOUT, 'set', *values[0]],
                                  timeout=HANG_S)
        assert rc == 0, f'set exited {rc}:\n{err[-1500:]}'
        assert other.read_bytes() == content, \
            f'dns01 wrote through the hard link: {other} now holds {other.read_bytes()!r}'
        assert os.stat(other).st_nlink == 1, 'cache.ledger still shares the file'
        assert os.stat(ledger).st_ino != os.stat(other).st_ino
        text = ledger.read_bytes()
        assert content in text and name.encode() in text, \
            f'the new ledger lost an entry:\n{text!r}'
    finally:
        other.unlink(missing_ok=True)
        _cleanup(conf, state, values)
