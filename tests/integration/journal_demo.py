#!/usr/bin/python3
"""By hand, not part of make check: the syslog summary as a systemd machine
shows it (README "When a renewal fails").

    /usr/bin/python3 tests/integration/journal_demo.py

In the testbed's private namespaces (testbed.enter_namespace) it starts the
servers, then Debian's /lib/systemd/systemd-journald on a private /run, and
points /dev/log (the testbed's private /dev) at journald's socket instead of
the runner's capture.  certbot issues a certificate for example.test with
dns01 as the manual hooks; then ns2 stops taking transfers and `certbot -q
renew --force-renewal` runs as certbot.timer runs it.  It prints certbot's
output, `journalctl -t dns01` (short and verbose) and the hook lines of
letsencrypt.log.  Needs root, systemd (journald, journalctl), certbot, pebble.
"""
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import testbed  # noqa: E402

TIMEOUT = 20            # dns01's timeout for the renewal (s)
JOURNALD = '/lib/systemd/systemd-journald'
DEV_LOG = '/run/systemd/journal/dev-log'


def main():
    testbed.enter_namespace(Path(__file__).resolve(), sys.argv[1:])
    from test_clients import _certbot_argv, _certbot_certonly
    if not os.access(JOURNALD, os.X_OK):
        sys.exit(f'{JOURNALD} not found (Debian package systemd)')
    tb = testbed.Testbed()
    jd = None
    try:
        testbed.setup_namespace(tb.tmp)
        tb.start()
        subprocess.run(['mount', '-t', 'tmpfs', 'journal-demo-run', '/run'], check=True)
        jd = subprocess.Popen([JOURNALD], stdout=open(tb.tmp / 'journald.out', 'w'),
                              stderr=subprocess.STDOUT)
        for _ in range(100):
            if os.path.exists(DEV_LOG):
                break
            time.sleep(0.1)
        os.unlink('/dev/log')
        os.symlink(DEV_LOG, '/dev/log')
        work, _, env, log, _, dt = _certbot_certonly(tb, 'journal-demo-', ('example.test',),
                                                     'demo')
        print(f'certbot certonly: issued in {dt:.1f} s')
        conf = re.search(r'manual_auth_hook = .* -c (\S+) auth',
                         (work / 'config/renewal/demo.conf').read_text()).group(1)
        text = Path(conf).read_text()
        Path(conf).write_text(re.sub(r'(?m)^timeout = .*$', f'timeout = {TIMEOUT}', text))
        tb.restart_ca_resolver()
        tb.set_lag(None)
        p = subprocess.run(_certbot_argv(work, 'renew', '-q', '--force-renewal',
                                         '--no-random-sleep-on-renew'),
                           capture_output=True, text=True, env=testbed.clean_env(env))
        print(f'$ certbot -q renew --force-renewal   (exit {p.returncode})')
        print(p.stdout + p.stderr)
        for args in (['journalctl', '-t', 'dns01', '--no-pager'],
                     ['journalctl', '-t', 'dns01', '--no-pager', '-o', 'verbose']):
            q = subprocess.run(args, capture_output=True, text=True)
            print('$', ' '.join(args))
            print(q.stdout + q.stderr)
        print(f'--- {log}, the hook lines:')
        print('\n'.join(l for l in log.read_text().splitlines() if 'Hook' in l))
    finally:
        if jd is not None:
            jd.terminate()
            jd.wait()
        tb.stop()
        shutil.rmtree(tb.tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
