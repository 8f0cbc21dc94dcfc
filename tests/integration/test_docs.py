"""The docs name everything a user can write: for every compiled-in provider,
each config key, environment variable and certbot credentials-file name that
`dns01 providers TYPE` prints (from the provider's ops table, the only place
they are defined) appears in README.md and in the rendered man page. So the
docs cannot drift as providers multiply."""

import re
import subprocess

from testbed import REPO, dns01_binary


def _run(*args):
    p = subprocess.run([dns01_binary(), *args], capture_output=True, text=True, timeout=60)
    assert p.returncode != 99, f'valgrind found errors:\n{p.stderr[-3000:]}'
    return p


def _names(detail):
    """The keys, variables and certbot names in one `dns01 providers TYPE` text."""
    names, section = set(), None
    for line in detail.splitlines():
        if not line.startswith('  '):
            section = line.split(' ')[0] if line.strip() else section
            continue
        words = line.split()
        if words[0].startswith('('):        # "(none: ...)": no names in that section
            continue
        if section == 'keys':
            names.add(words[0])
        elif section in ('environment', 'certbot'):
            names.add(words[0])
            names.update(w.rstrip(',') for w in words[1:])
    return names


def _man_text():
    p = subprocess.run(['groff', '-man', '-Tutf8', '-rHY=0', '-rLL=300n', '-P', '-cbou',
                        str(REPO / 'doc' / 'dns01.1')],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.replace('\u2010', '-').replace('\u2212', '-')


def test_docs_name_every_provider_setting(tb):
    p = _run('providers')
    assert p.returncode == 0, p.stderr
    types = [line.split()[0] for line in p.stdout.splitlines() if line.strip()]
    assert {'rfc2136', 'cloudflare', 'sakuracloud'} <= set(types), types
    readme = (REPO / 'README.md').read_text()
    man = _man_text()
    missing = []
    for t in types:
        d = _run('providers', t)
        assert d.returncode == 0, d.stderr
        names = _names(d.stdout)
        assert names, f'no names parsed from dns01 providers {t}:\n{d.stdout}'
        for n in sorted(names):
            word = re.compile(r'(?<![A-Za-z0-9_])' + re.escape(n) + r'(?![A-Za-z0-9_])')
            for doc, text in (('README.md', readme), ('dns01(1)', man)):
                if not word.search(text):
                    missing.append(f'{t}: {n} not in {doc}')
    assert not missing, 'undocumented:\n' + '\n'.join(missing)


def test_providers_type(tb):
    p = _run('providers', 'cloudflare')
    assert p.returncode == 0 and 'api_token' in p.stdout and \
        'CLOUDFLARE_DNS_API_TOKEN' in p.stdout and 'dns_cloudflare_api_token' in p.stdout, p.stdout
    assert re.search(r'^  api_token +\(secret\)$', p.stdout, re.M), p.stdout
    p = _run('providers', 'no-such-type')
    assert p.returncode == 2 and 'unknown provider type' in p.stderr, (p.returncode, p.stderr)
    p = _run('providers', 'rfc2136', 'extra')
    assert p.returncode == 2, p.returncode
