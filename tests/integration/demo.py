#!/usr/bin/python3
"""make demo: dns01's main job, end to end, on this machine, with one command.

    sudo make demo        (or: sudo /usr/bin/python3 tests/integration/demo.py)

1. installs what is missing (bash .ci/deps, only when a program or library is
   missing), 2. builds ./dns01 (make dns01), 3. starts the testbed's servers
   (testbed.py: BIND primary ns1 + secondary ns2 with TSIG, ns2 lagging
   LAG seconds; two unbound resolvers), 4. starts pebble as the CA, 5. has
   certbot issue a certificate for example.test + *.example.test with dns01
   (rfc2136 provider) as its manual hooks, showing dns01's own progress lines.
Then it prints the certificate's names and expiry and how long each phase took.

Steps 3-5 run in a private network/mount/PID namespace (127.53.0.x and
127.0.0.1 only, nothing leaves the machine); every server dies with it, also on
Ctrl-C, SIGTERM, a failed step, or SIGKILL of this script. On failure it prints
the relevant logs and exits non-zero. TSIG and rndc secrets are never printed.

With DNS01=/path/to/dns01 (the Debian package's autopkgtest: DNS01=/usr/bin/dns01)
the demo runs that binary instead: step 2 builds nothing, and step 1 does not
look for the compiler and the dev libraries.

Output kept under build/demo/ (git-ignored): the last issued certificate
(cert.pem, fullchain.pem, privkey.pem, pebble-root.pem); run/ holds the
configs and server logs of a failed or interrupted run (deleted after a good
run unless KEEP_TESTBED=1, and replaced by the next run).
"""

import ctypes
import fcntl
import os
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import testbed  # noqa: E402
from testbed import NS1, NS2, RES_CA, RES_CLIENT, REPO  # noqa: E402

OUT = REPO / 'build' / 'demo'
RUN = OUT / 'run'
LAG = 3          # s, as in the tests; dns01's first "waiting" line comes after 1 s
DOMAINS = ('example.test', '*.example.test')
PROGRAMS = ('cc', 'make', 'pkg-config', 'named', 'named-checkconf', 'rndc', 'dig',
            'unbound', 'unbound-checkconf', 'pebble', 'certbot', 'openssl', 'ip', 'unshare')
LIBRARIES = ('libcurl', 'jansson', 'ldns', 'libcrypto', 'libssl')   # the Makefile's PKGS
BUILD_PROGRAMS = ('cc', 'make', 'pkg-config')     # not needed with $DNS01
INSTALLED = os.environ.get('DNS01')               # a dns01 to run instead of ./dns01


def say(text=''):
    """Print, with every secret the testbed knows masked (belt and braces:
    nothing we print should contain one in the first place)."""
    for s in testbed.SECRETS:
        text = text.replace(s, '[secret]')
    print(text, flush=True)


def tail(path, n=40):
    try:
        lines = Path(path).read_text(errors='replace').rstrip('\n').splitlines()
    except OSError:
        return ''
    return '\n'.join(lines[-n:])


# --------------------------------------------------------------------------
# On the host: dependencies, build, then the rest inside the namespace
# --------------------------------------------------------------------------

def missing_deps():
    """What is missing, cheaply: PATH lookups and one pkg-config call."""
    path = os.environ.get('PATH', '') + ':/usr/sbin:/sbin'
    missing = [p for p in PROGRAMS if not shutil.which(p, path=path)
               and not (INSTALLED and p in BUILD_PROGRAMS)]
    if INSTALLED:
        return missing
    if 'pkg-config' not in missing:
        if subprocess.run(['pkg-config', '--exists', *LIBRARIES]).returncode != 0:
            missing.append('dev libraries (' + ' '.join(LIBRARIES) + ')')
    return missing


def lock_out_dir():
    """One demo at a time: build/demo/run is ours while we hold the lock. The
    lock fd is passed to the namespace, so a demo whose top process was killed
    holds it until its servers are gone."""
    OUT.mkdir(parents=True, exist_ok=True)
    fd = os.open(OUT / '.lock', os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + 30
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        say('another make demo is running or stopping; waiting up to 30 s ...')
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
    sys.exit(f'another make demo is still running (lock {OUT}/.lock)')


_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    """In the child, before exec: SIGKILL us when our parent dies (even by
    SIGKILL). unshare --kill-child then SIGTERMs the demo inside, which stops
    its servers; the PID namespace takes whatever is left."""
    _libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


def host_main():
    if os.geteuid() != 0:
        sys.exit('make demo needs root (private network namespace, servers on port 53): '
                 'sudo make demo')
    lock = lock_out_dir()
    t0 = time.time()
    say(f'== dns01 demo: a certificate for {" + ".join(DOMAINS)} with certbot + dns01, '
        'all servers local')

    # 1. Promise: every program and library the demo needs is there afterwards;
    #    apt-get runs only when something is missing.
    t = time.monotonic()
    missing = missing_deps()
    if missing:
        say(f'[1/5] missing: {", ".join(missing)} -> bash .ci/deps (apt-get)')
        if subprocess.run(['bash', str(REPO / '.ci' / 'deps')]).returncode != 0:
            sys.exit('bash .ci/deps failed')
        missing = missing_deps()
        if missing:
            sys.exit(f'still missing after .ci/deps: {", ".join(missing)}')
        verdict = 'installed'
    else:
        verdict = 'all present'
    t_deps = time.monotonic() - t
    say(f'[1/5] dependencies: {verdict} ({t_deps:.1f} s)')

    # 2. Promise: ./dns01 is built from this checkout (with $DNS01: that
    #    binary exists and runs).
    if INSTALLED:
        return host_installed(lock, t0, t_deps)
    return host_build(lock, t0, t_deps)


def host_installed(lock, t0, t_deps):
    """Step 2 with $DNS01: nothing to build; the binary must run."""
    p = subprocess.run([INSTALLED, '--version'], capture_output=True, text=True)
    if p.returncode != 0:
        say(p.stdout + p.stderr)
        sys.exit(f'{INSTALLED} --version failed')
    say(f'[2/5] build: none, running {INSTALLED} ({p.stdout.strip()})')
    return host_namespace(lock, t0, t_deps, 0.0)


def host_build(lock, t0, t_deps):
    def mtime():
        try:
            return (REPO / 'dns01').stat().st_mtime_ns
        except FileNotFoundError:
            return None
    t, before = time.monotonic(), mtime()
    p = subprocess.run(['make', '-C', str(REPO), 'dns01'], capture_output=True, text=True)
    t_build = time.monotonic() - t
    if p.returncode != 0:
        say(p.stdout + p.stderr)
        sys.exit('make dns01 failed')
    built = 'up to date' if mtime() == before else 'built'
    say(f'[2/5] build: ./dns01 {built} ({t_build:.1f} s)')
    return host_namespace(lock, t0, t_deps, t_build)


def host_namespace(lock, t0, t_deps, t_build):
    # 3-5 inside fresh namespaces (testbed.enter_namespace's recipe, plus:
    # the inner part dies with us and gets the phase times and the lock).
    env = dict(os.environ, **{testbed.NETNS_ENV: '1'})
    argv = ['unshare', '--net', '--mount', '--pid', '--fork', '--mount-proc',
            '--propagation', 'private', '--kill-child=SIGTERM',
            sys.executable, str(Path(__file__).resolve()), '--inner',
            f'{t0:.3f}', f'{t_deps:.3f}', f'{t_build:.3f}']
    child = subprocess.Popen(argv, env=env, start_new_session=True, pass_fds=(lock,),
                             preexec_fn=die_with_parent)

    def forward(signum, frame):      # unshare ignores SIGINT/SIGTERM: tell the demo
        try:
            os.killpg(child.pid, signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)
        except ProcessLookupError:
            pass
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, forward)
    rc = child.wait()
    if rc < 0:      # killed outright: its namespace, and every server in it, went with it
        say(f'the demo was killed by signal {-rc}; nothing it started is left running')
        rc = 128 - rc
    return rc


# --------------------------------------------------------------------------
# Inside the namespace
# --------------------------------------------------------------------------

class HookLog(threading.Thread):
    """Follows the file the hooks write dns01's stderr to, printing each line
    as it comes. Lines '@@ auth|cleanup start|end ...' are the hook wrapper's
    timestamps; they are collected in `events` as (kind, what, arg, time)."""

    def __init__(self, path, t0):
        super().__init__(daemon=True)
        self.path, self.t0 = path, t0
        self.events, self.lines = [], []
        self.shown = 0.0          # keeps the printed times in order
        self._done = threading.Event()

    def run(self):
        buf, pos = '', 0
        while True:
            stopping = self._done.is_set()
            try:
                with open(self.path, 'rb') as f:
                    f.seek(pos)
                    data = f.read()
                    pos += len(data)
            except FileNotFoundError:
                data = b''
            buf += data.decode('utf-8', 'replace')
            *lines, buf = buf.split('\n')
            for line in lines:
                self.line(line)
            if stopping:
                return
            self._done.wait(0.05)

    def when(self, ts):
        self.shown = max(self.shown, ts - self.t0)
        return f'[{self.shown:5.1f}s]'

    def line(self, line):
        m = re.match(r'@@ (auth|cleanup) (start|end) (\S+) ([\d.]+)$', line)
        if m:
            kind, what, arg, ts = m.group(1), m.group(2), m.group(3), float(m.group(4))
            self.events.append((kind, what, arg, ts))
            if what == 'start':
                more = 'last call' if arg == '0' else f'{arg} more to come'
                say(f'  {self.when(ts)} certbot runs: dns01 {kind}   ({more})')
            elif arg != '0':
                say(f'  {self.when(ts)} dns01 {kind} exited {arg}')
            return
        self.lines.append(line)
        say(f'  {self.when(time.time())}   {line}')

    def stop(self):
        self._done.set()
        self.join(2)


def run_certbot(dir_url, ca, conf, dns01, work):
    """certbot certonly with dns01 as its hooks; returns (rc, HookLog, t_start,
    t_end). certbot's output goes to work/certbot.out."""
    log = work / 'dns01-hooks.log'
    stamp = f'"$(date +%s.%N)" >> {shlex.quote(str(log))}'

    def hook(kind):
        # certbot runs hooks through sh: note start/end times, send dns01's
        # stderr (its progress lines) to our log, keep its stdout for certbot.
        return (f'printf "@@ {kind} start %s %s\\n" "${{CERTBOT_REMAINING_CHALLENGES:-?}}" '
                f'{stamp}; {shlex.quote(dns01)} -c {shlex.quote(conf)} {kind} '
                f'2>> {shlex.quote(str(log))}; r=$?; '
                f'printf "@@ {kind} end %s %s\\n" "$r" {stamp}; exit $r')
    argv = ['certbot', 'certonly', '--manual', '--preferred-challenges', 'dns',
            '--manual-auth-hook', hook('auth'), '--manual-cleanup-hook', hook('cleanup'),
            '--server', dir_url, '--non-interactive', '--agree-tos',
            '--register-unsafely-without-email',
            '--config-dir', str(work / 'config'), '--work-dir', str(work / 'work'),
            '--logs-dir', str(work / 'logs')]
    for d in DOMAINS:
        argv += ['-d', d]
    t_start = time.time()
    hooks = HookLog(log, t_start)
    hooks.start()
    with open(work / 'certbot.out', 'wb') as out:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             env=testbed.clean_env({'REQUESTS_CA_BUNDLE': ca}),
                             start_new_session=True)
    try:
        rc = p.wait(timeout=300)
    except BaseException:           # timeout, Ctrl-C, SIGTERM: stop certbot and its hooks
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
        raise
    finally:
        hooks.stop()
    return rc, hooks, t_start, time.time()


def keep_certificate(work, ca, dir_url):
    """Copy the new certificate to build/demo (replacing the last run's) and
    fetch pebble's root, which changes at every pebble start."""
    live = sorted((work / 'config' / 'live').glob('*/cert.pem'))
    if not live:
        raise RuntimeError('certbot exited 0 but wrote no certificate')
    src = live[0].parent
    ctx = ssl.create_default_context(cafile=ca)
    root_url = dir_url.replace(':14000/dir', ':15000/roots/0')
    with urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                     urllib.request.HTTPSHandler(context=ctx)) \
            .open(root_url, timeout=5) as r:
        root = r.read()
    files = {n: (src / n).read_bytes() for n in ('cert.pem', 'chain.pem', 'fullchain.pem',
                                                 'privkey.pem')}
    files['pebble-root.pem'] = root
    for name, data in files.items():
        tmp = OUT / f'.{name}.new'
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o600 if name == 'privkey.pem' else 0o644)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, OUT / name)
    return OUT / 'cert.pem'


def cert_facts(cert):
    """(names, notAfter, issuer, verify) of a PEM certificate, via openssl."""
    def ossl(*args):
        return subprocess.run(['openssl', *args], capture_output=True, text=True).stdout.strip()
    sans = ossl('x509', '-noout', '-ext', 'subjectAltName', '-in', str(cert))
    names = re.findall(r'DNS:([^,\s]+)', sans)
    not_after = ossl('x509', '-noout', '-enddate', '-in', str(cert)).partition('=')[2]
    issuer = ossl('x509', '-noout', '-issuer', '-in', str(cert)).partition('=')[2].strip()
    verify = ossl('verify', '-CAfile', str(OUT / 'pebble-root.pem'),
                  '-untrusted', str(OUT / 'chain.pem'), str(cert))
    return names, not_after, issuer, verify.rpartition(': ')[2] or 'failed'


def issuance_phases(hooks, t_start, t_end):
    """Split certbot's run at the hook timestamps: CA work before the first
    auth hook, dns01 auth (write + propagation wait), CA validation, dns01
    cleanup, CA finalize. [(label, seconds, detail)]"""
    ev = hooks.events
    auth = [e for e in ev if e[0] == 'auth']
    clean = [e for e in ev if e[0] == 'cleanup']
    if not auth or not clean or auth[-1][1] != 'end' or clean[-1][1] != 'end':
        return []
    a0, a1, c0, c1 = auth[0][3], auth[-1][3], clean[0][3], clean[-1][3]
    text = '\n'.join(hooks.lines)

    def waited(word):
        m = re.findall(rf'{word} on every authoritative server after ([\d.]+) s', text)
        return float(m[-1]) if m else None
    w, g = waited('present'), waited('gone')
    auth_detail = (f'records written in {a1 - a0 - w:.1f} s, then waited {w:.1f} s '
                   f'for every nameserver' if w is not None else '')
    clean_detail = (f'records deleted, then waited {g:.1f} s until gone everywhere'
                    if g is not None else '')
    return [('account + order at the CA', a0 - t_start, 'certbot start -> first auth hook'),
            ('dns01 auth', a1 - a0, auth_detail),
            ('CA validation', c0 - a1, f'pebble asks its resolver {RES_CA}; certbot polls'),
            ('dns01 cleanup', c1 - c0, clean_detail),
            ('finalize + download', t_end - c1, '')]


def inner_main(t0, t_deps, t_build):
    sys.stdout.reconfigure(line_buffering=True)

    # We are PID 1 here: a signal without a handler is ignored. SIGINT too
    # needs one: unshare ignores it, and we would inherit that.
    def on_signal(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    # We hold the lock: whatever is in run/ is left over from an earlier run.
    shutil.rmtree(RUN, ignore_errors=True)
    RUN.mkdir(mode=0o700, parents=True)
    tb = testbed.Testbed(RUN)
    work = RUN / 'certbot'
    phases = [('dependencies check', t_deps, ''), ('build', t_build, '')]
    ok = False
    try:
        testbed.setup_namespace(RUN)
        if INSTALLED:
            dns01 = INSTALLED
        else:
            dns01 = str(RUN / 'dns01')        # this run's build, even if ./dns01 changes
            shutil.copy2(REPO / 'dns01', dns01)

        # 3. Promise: ns1 and ns2 serve example.test, the resolvers resolve it,
        #    and changes reach ns2 only LAG s after ns1.
        t = time.monotonic()
        tb.start()
        tb.set_lag(LAG)
        phases.append(('DNS servers start', time.monotonic() - t, ''))
        say(f'[3/5] DNS servers up ({phases[-1][1]:.1f} s): ns1 {NS1} (BIND primary, takes '
            f'TSIG-signed UPDATEs), ns2 {NS2} (BIND secondary, gets changes {LAG} s late), '
            f'resolvers {RES_CLIENT} (dns01 discovery) and {RES_CA} (the CA)')
        say('      on purpose, ns1 also has an IPv6 address with no route and ns2 a second '
            'address where nothing listens: dns01 reports them, waits for the others')

        # 4. Promise: pebble answers ACME at its directory URL.
        t = time.monotonic()
        dir_url, ca = tb.pebble()
        phases.append(('pebble start', time.monotonic() - t, ''))
        say(f'[4/5] pebble CA up ({phases[-1][1]:.1f} s): {dir_url}')

        # 5. Promise: certbot gets a certificate for DOMAINS, dns01 answering
        #    both DNS-01 challenges through the rfc2136 provider.
        conf = tb.write_config(RUN / 'dns01.conf', timeout=60)
        work.mkdir()
        say(f'[5/5] certbot certonly {" ".join("-d " + shlex.quote(d) for d in DOMAINS)} --manual '
            f"--manual-auth-hook 'dns01 auth' --manual-cleanup-hook 'dns01 cleanup'")
        say('      dns01 config: rfc2136 provider, TSIG key dns01-key '
            f'(secret not shown), resolvers = {RES_CLIENT}')
        rc, hooks, c0, c1 = run_certbot(dir_url, ca, conf, dns01, work)
        phases.append(('certbot issuance', c1 - c0, ''))
        bad_hooks = [f'dns01 {e[0]} exited {e[2]}' for e in hooks.events
                     if e[1] == 'end' and e[2] != '0']
        if rc != 0 or bad_hooks:
            raise RuntimeError(', '.join([f'certbot exited {rc}'] + bad_hooks))
        cert = keep_certificate(work, ca, dir_url)
        names, not_after, issuer, verify = cert_facts(cert)
        if sorted(names) != sorted(DOMAINS):
            raise RuntimeError(f'certificate names {names}, expected {list(DOMAINS)}')

        say('\n== done: certificate issued')
        say(f'  certificate  {cert}   (also fullchain.pem, chain.pem, privkey.pem, '
            'pebble-root.pem there)')
        say(f'  names        {", ".join(names)}')
        say(f'  notAfter     {not_after}')
        say(f'  issuer       {issuer}   (chain verifies against pebble-root.pem: {verify})')
        say('  time taken')
        for label, secs, detail in phases:
            say(f'    {label:<30} {secs:6.1f} s')
            if label == 'certbot issuance':
                for sl, ss, sd in issuance_phases(hooks, c0, c1):
                    say(f'      {sl:<28} {ss:6.1f} s' + (f'   {sd}' if sd else ''))
        say(f'    {"total":<30} {time.time() - t0:6.1f} s')
        ok = True
        return 0
    except KeyboardInterrupt as e:
        say(f'\ninterrupted ({e or "SIGINT"}): stopping the servers')
        return 130
    except Exception as e:
        say(f'\nFAILED: {e}')
        for title, path in (('certbot output', work / 'certbot.out'),
                            ('certbot log', work / 'logs' / 'letsencrypt.log')):
            text = tail(path)
            if text:
                say(f'--- {title} (last lines of {path})\n{text}')
        say(tb.logs_since(None, tail=40))
        return 1
    finally:
        tb.stop()
        if ok and not os.environ.get('KEEP_TESTBED'):
            shutil.rmtree(RUN, ignore_errors=True)
        else:
            say(f'all servers stopped; configs and logs of this run are in {RUN}')


if __name__ == '__main__':
    if sys.argv[1:2] == ['--inner']:
        if os.environ.get(testbed.NETNS_ENV) != '1':
            sys.exit('--inner is for the demo itself')
        sys.exit(inner_main(*map(float, sys.argv[2:5])))
    try:
        sys.exit(host_main())
    except KeyboardInterrupt:         # Ctrl-C during apt-get or make: nothing of ours runs
        sys.exit('\ninterrupted')
