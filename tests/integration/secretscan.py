"""Every byte dns01 writes, checked for secrets across the whole suite.

run.py installs a capture wrapper as $DNS01 (install()): every dns01
process a test starts -- directly, or as the hook of certbot, dehydrated,
lego or uacme -- has its stdout and stderr copied by tee(1) into the
runner's capture directory, unchanged for the caller (the wrapper execs
dns01, so the caller's PID, signals and exit status are dns01's own).
Every datagram dns01 sends to syslog (the testbed's /dev/log,
testbed.SyslogCapture) is scanned as output too.
After each test, check() reads what was added since: those captures, every
file under every state directory dns01 may have written (the testbed's, the
ones named by `state_dir =` in any config file or DNS01_STATE_DIR of a
transcript, root's default /var/lib/dns01), and any core file. It looks for
every secret the suite registered in testbed.SECRETS (TSIG secrets, API
tokens and keys, private-key lines) and for any 16-character window of one.
A hit fails that test, naming the file and the secret's kind of place --
never the secret.

The totals (processes, bytes, files, secrets, windows, hits) are printed at
the end of each runner as one "secret scan:" line, summed over runners by
run.py --jobs.
"""

import os
import re
from pathlib import Path

import testbed

WINDOW = 16                     # octets of a secret that count as a leak
# What a secret is made of: base64, base64url, hex, tokens' prefixes and
# separators.  Windows are taken within runs of these characters.
_SECRET_RUN = re.compile(rb'[A-Za-z0-9+/=_.~-]{%d,}' % WINDOW)
_STATE_DIR_LINE = re.compile(r'^\s*state_dir\s*=\s*"?([^"\n]+?)"?\s*$', re.M)
ROOT_STATE_DIR = Path('/var/lib/dns01')
CORE_NAME = re.compile(r'^core(\.\d+)?$')
SUMMARY = re.compile(r'^secret scan: (\d+) dns01 processes, (\d+) bytes of output, '
                     r'(\d+) files? of state \((\d+) bytes\), (\d+) core files?; '
                     r'(\d+) secrets, (\d+) windows: (\d+) hits$', re.M)

WRAPPER = """#!/bin/bash
# Written by tests/integration/secretscan.py: runs {binary}
# with its stdout and stderr also appended to {capture}/PID.{{1,2}}.
exec > >(exec tee -a "{capture}/$$.1") 2> >(exec tee -a "{capture}/$$.2" >&2)
exec "{binary}" "$@"
"""


class Scanner:
    """The capture of one runner (see the module's docstring)."""

    def __init__(self, tb):
        self.tb = tb
        self.capture = tb.tmp / 'capture'
        self.seen = {}          # path -> octets already scanned
        self.totals = dict(processes=set(), output=0, files=set(), state=0, cores=0, hits=0)
        self.windows = set()    # every WINDOW-octet piece of a registered secret
        self.known = set()      # the secrets whose windows are in self.windows

    def install(self):
        """Put the wrapper in front of $DNS01 (or the repo's binary)."""
        self.capture.mkdir(mode=0o700, exist_ok=True)
        wrapper = self.tb.tmp / 'dns01-capture'
        wrapper.write_text(WRAPPER.format(binary=testbed.dns01_binary(), capture=self.capture))
        wrapper.chmod(0o755)
        os.environ['DNS01'] = str(wrapper)

    def _update_windows(self):
        for s in testbed.SECRETS - self.known:
            self.known.add(s)
            for run in _SECRET_RUN.finditer(s.encode()):
                r = run.group(0)
                self.windows.update(r[i:i + WINDOW] for i in range(len(r) - WINDOW + 1))

    def _hits(self, data):
        """True when data holds a registered secret or a window of one."""
        for s in testbed.SECRETS:
            if s and s.encode() in data:
                return True
        for run in _SECRET_RUN.finditer(data):
            r = run.group(0)
            for i in range(len(r) - WINDOW + 1):
                if r[i:i + WINDOW] in self.windows:
                    return True
        return False

    def _state_dirs(self):
        dirs = {self.tb.tmp / 'state', ROOT_STATE_DIR}
        for conf in self.tb.tmp.rglob('*.conf'):
            try:
                text = conf.read_text(errors='replace')
            except OSError:
                continue
            if '[dns01]' in text:
                dirs.update(Path(d) for d in _STATE_DIR_LINE.findall(text) if d.startswith('/'))
        for entry in testbed.TRANSCRIPT:
            d = (entry.get('env') or {}).get('DNS01_STATE_DIR')
            if d and d.startswith('/'):
                dirs.add(Path(d))
        return dirs

    def _read_new(self, path):
        """What was added to path since the last check (with WINDOW-1 octets
        before it, so a window across two checks is seen); b'' if none."""
        try:
            size = path.stat().st_size
            if not path.is_file() or size <= self.seen.get(path, 0):
                return b''
            start = max(0, self.seen.get(path, 0) - (WINDOW - 1))
            with open(path, 'rb') as f:
                f.seek(start)
                data = f.read(size - start)
        except OSError:
            return b''
        self.seen[path] = start + len(data)
        return data

    def check(self):
        """Scan what dns01 wrote since the last call -> the places (file
        names) that hold a secret or a window of one."""
        self._update_windows()
        reap_orphaned_tees()
        bad = []
        for path in sorted(self.capture.iterdir()):
            data = self._read_new(path)
            if data:
                self.totals['processes'].add(path.stem)
                self.totals['output'] += len(data)
                if self._hits(data):
                    bad.append(f'{"stdout" if path.suffix == ".1" else "stderr"} of dns01 '
                               f'process {path.stem}')
        if testbed.SYSLOG is not None:     # every line dns01 sent to /dev/log
            testbed.SYSLOG.drain()
            data = self._read_new(testbed.SYSLOG.log)
            if data:
                self.totals['output'] += len(data)
                if self._hits(data):
                    bad.append(f'the syslog (/dev/log, kept in {testbed.SYSLOG.log})')
        for d in self._state_dirs():
            if not d.is_dir():
                continue
            for path in d.rglob('*'):
                data = self._read_new(path) if path.is_file() else b''
                if data:
                    self.totals['files'].add(path)
                    self.totals['state'] += len(data)
                    if self._hits(data):
                        bad.append(f'state file {path}')
        for top in (self.tb.tmp, Path.cwd()):
            for path in top.rglob('core*') if top == self.tb.tmp else top.glob('core*'):
                if CORE_NAME.match(path.name) and path.is_file() and path not in self.seen:
                    self.seen[path] = path.stat().st_size
                    self.totals['cores'] += 1
                    bad.append(f'core file {path} (dns01 should never dump core)')
        self.totals['hits'] += len(bad)
        return bad

    def summary(self):
        t = self.totals
        return (f'secret scan: {len(t["processes"])} dns01 processes, {t["output"]} bytes of '
                f'output, {len(t["files"])} files of state ({t["state"]} bytes), '
                f'{t["cores"]} core files; {len(testbed.SECRETS)} secrets, '
                f'{len(self.windows)} windows: {t["hits"]} hits')


def add_summaries(texts):
    """The summed "secret scan:" line of several runners' outputs, or None."""
    sums = None
    for text in texts:
        for m in SUMMARY.finditer(text):
            vals = [int(x) for x in m.groups()]
            sums = vals if sums is None else [a + b for a, b in zip(sums, vals)]
    if sums is None:
        return None
    return (f'secret scan: {sums[0]} dns01 processes, {sums[1]} bytes of output, '
            f'{sums[2]} files of state ({sums[3]} bytes), {sums[4]} core files; '
            f'{sums[5]} secrets, {sums[6]} windows: {sums[7]} hits')


def reap_orphaned_tees():
    """Wait for the wrapper's tee processes that have ended.

    Each tee is a child of the dns01 it copies (the wrapper execs dns01);
    when dns01 ends first, the kernel gives the tee to the namespace's
    init -- this runner, which never waited for it: a zombie per dns01
    call (over 600 in one runner).  Only zombies named tee whose parent is
    this process are waited for, never a child that subprocess manages."""
    me = os.getpid()
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
        comm = text[text.find('(') + 1:text.rfind(')')]
        fields = text[text.rfind(')') + 2:].split()
        if comm == 'tee' and fields[0] == 'Z' and int(fields[1]) == me:
            try:
                os.waitpid(int(stat.parent.name), os.WNOHANG)
            except ChildProcessError:
                pass
