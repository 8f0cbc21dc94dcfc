"""The providers of the provider-contract suite (test_contract.py): one small
adapter each, and the config and credential helpers that the
provider-specific tests (test_provider_*.py, test_doctor.py) use too.

An adapter knows, for its provider, how to make a config with good and with
bad credentials (every secret it makes is registered with testbed.SECRETS,
so that any dns01 output containing one fails the test), how to start and
reset its emulator, how to have the provider side fail on the next write
or on every request (429 with Retry-After, a 5xx, a malformed answer), what
the provider side holds at a name, and how to put records there behind
dns01's back. What dns01 must say is the adapter's too: the words of the
bad-credentials message (the key to fix), of doctor's credentials lines,
of the -v trace. A case that cannot apply to the provider is in SKIPS with
the reason, and is reported as skipped.

To add a provider: write its adapter here (a subclass of Adapter), add it
to ADAPTERS, and run `run.py test_contract_NAME` (doc/providers.md section 6).
"""

import base64
import os
import re

import cf_emulator
import google_emulator
import route53_emulator
import sakura_emulator
from providers_common import need_provider, provider_config
from testbed import NS1, SECRETS, Skip, _unescape, secret

ZONE = 'example.test'


class Adapter:
    """A provider in the contract suite; one instance per test."""
    name = ''              # as `dns01 providers` lists it; in the test names
    SKIPS = {}             # case -> why it cannot apply to this provider
    BAD_WORDS = ()         # the bad-credentials message names these (the key to fix)
    BAD_STATUS = ()        # the HTTP status an API refuses them with
    DOCTOR_OK = ()         # ... doctor's OK credentials line
    DOCTOR_ROUTE = None    # the request by which doctor verified them (an API route)
    DOCTOR_FAIL = ()       # ... doctor's FAIL credentials line (bad credentials)
    TRACE = ()             # ... dns01 -v of a set (the requests it traces)
    UNSET_TRACE = ()       # ... dns01 -v of an unset
    REDACTED = None        # a header that -v shows, but only redacted
    RRSET_TTL = False      # True: DNS UPDATE semantics, one TTL per RRset (RFC 2181
    #                        5.2): a foreign TXT has dns01's TTL while dns01's value is there

    def __init__(self, tb):
        self.tb = tb
        self.made = []       # every secret this adapter made (each also in SECRETS)

    def _secret(self, *values):
        SECRETS.update(values)
        self.made += values
        return values[0]

    def start(self):
        """Reset the provider side; -> the path of a config with good credentials."""
        raise NotImplementedError

    def bad_config(self):
        """After start(): a config whose credentials the provider refuses."""
        raise NotImplementedError

    def records(self, name):
        """What the provider side holds at `name`: sorted [(type, value, ttl)]."""
        raise NotImplementedError

    def preset(self, name, recs):
        """Put records [(type, value, ttl)] at `name` behind dns01's back;
        ns1 and ns2 serve them when this returns."""
        raise NotImplementedError

    def inject(self, kind, count=1, every=False):
        """The next `count` write requests (every=True: any requests) fail
        with `kind`: '429' (Retry-After: 1), '5xx' (503) or 'malformed' (200
        with cut-off JSON)."""
        raise Skip(f'{self.name}: no {kind} to inject')

    def clear_faults(self):
        """No fault injected is left."""

    def writes(self):
        """[(monotonic time, HTTP status)] of the write requests so far."""
        return []

    def requests(self):
        """The API requests so far (emulator Request objects); None: no API."""
        return None

    def publish_delay(self, seconds):
        """The provider side publishes `seconds` after it accepted a change."""

    def wait_published(self):
        return True

    def log_text(self):
        return ''

    def real_section(self):
        """The [provider] section for the real account in the environment
        -> (zone, section text, dns01 timeout); raises Skip without one."""
        raise Skip(self.SKIPS.get('real_account', 'no real account'))


class EmulatorAdapter(Adapter):
    """A provider behind an API emulator (emulator_base.py) in self.em; WRITE
    picks its write requests (emulator inject() arguments)."""
    em = None
    WRITE = {}

    def inject(self, kind, count=1, every=False):
        where = {} if every else self.WRITE
        if kind == '429':
            self.em.inject('429', count, retry_after=1, **where)
        else:
            self.em.inject({'5xx': '503'}.get(kind, kind), count, **where)

    def clear_faults(self):
        self.em.clear_faults()

    def writes(self):
        return [(r.time, r.status) for r in self.em.calls(self.WRITE['method'],
                                                          self.WRITE.get('path'))]

    def requests(self):
        return self.em.calls()

    def publish_delay(self, seconds):
        self.em.publish_delay = seconds

    def wait_published(self):
        return self.em.wait_published()

    def log_text(self):
        return self.em.log_text() if self.em else ''

    def _in_dns(self):
        """Once what the emulator holds is published: ns2 in sync too."""
        assert self.em.wait_published()
        self.tb.sync()


# --------------------------------------------------------------------------
# rfc2136: the testbed's own BIND, TSIG
# --------------------------------------------------------------------------

class Rfc2136(Adapter):
    name = 'rfc2136'
    SKIPS = {
        'retry_429': 'DNS UPDATE has no HTTP status: there is no 429 (or Retry-After)',
        'retry_5xx': "DNS UPDATE has no 5xx; BIND cannot be told to fail one UPDATE with "
                     "SERVFAIL, and the tests never mock DNS (rfc2136's retry after a change "
                     "between read and UPDATE: test_foreign.py)",
        'malformed': 'a malformed DNS answer would need a fake DNS server, and the tests '
                     "never mock DNS (the testbed's BIND answers well-formed)",
        'real_account': "the testbed's BIND is this provider's real server: every other "
                        'case runs against it'}
    BAD_WORDS = ("TSIG key 'dns01-key'", 'rejected')
    DOCTOR_OK = ("TSIG key 'dns01-key'", NS1)
    DOCTOR_FAIL = ('BADSIG', 'fix:')
    TRACE = UNSET_TRACE = ('UPDATE',)
    RRSET_TTL = True

    def start(self):
        return self.tb.write_config()

    def bad_config(self):
        return self.tb.write_config(tsig_secret=self._secret(secret(32)))

    def records(self, name):
        out = []
        for line in self.tb.axfr(ZONE).splitlines():
            owner, ttl, _, rtype, rdata = line.split(None, 4)
            if owner.rstrip('.') == name:
                if rtype == 'TXT':
                    rdata = ''.join(_unescape(s) for s in _quoted(rdata))
                out.append((rtype, rdata, int(ttl)))
        return sorted(out)

    def preset(self, name, recs):
        self.tb.nsupdate(*(f'update add {name} {ttl} {t} ' + (f'"{v}"' if t == 'TXT' else v)
                           for t, v, ttl in recs), key='key-admin')
        self.tb.sync()


def _quoted(rdata):
    """The character-strings of a TXT rdata as dig prints it, still escaped."""
    return re.findall(r'"((?:[^"\\]|\\.)*)"', rdata)


# --------------------------------------------------------------------------
# Cloudflare (cf_emulator.py)
# --------------------------------------------------------------------------

def cf_emulator_reset(tb, name='cf'):
    """The Cloudflare emulator `name`, reset."""
    em = tb.cloudflare(name)
    em.reset()
    tb.sync()     # ns2 too: a test may look at ns2 (doctor compares serials)
    return em


def cf_token(em, zones=None, prefix='', **kw):
    """A new API token of the emulator (registered as a secret)."""
    tok = cf_emulator.new_token(prefix)
    SECRETS.add(tok)
    em.add_token(tok, zones, **kw)
    return tok


def cf_global_key(em, email='admin@example.test'):
    """A new global API key for `email` -> (email, key) (the key registered)."""
    key = cf_emulator.new_global_key()
    SECRETS.add(key)
    em.add_global_key(email, key)
    return email, key


def cf_config(tb, em, token=None, email=None, api_key=None, credentials=None,
              zones='example.test acme.test', api_url=None, ca_file=None, mode=0o600,
              main=None, zone_id=None):
    """A dns01 config with one `type = cloudflare` section pointing at the
    emulator (api_url, ca_file); keys given as None are left out."""
    return provider_config(tb, 'cf', {
        'type': 'cloudflare', 'zones': zones, 'api_token': token, 'email': email,
        'api_key': api_key, 'credentials': credentials, 'api_url': api_url or em.api_url,
        'ca_file': ca_file or em.ca_file, 'zone_id': zone_id}, main=main, mode=mode)


def unquote(content):
    """A TXT content without the double quotes around it (dns01 sends them)."""
    return content[1:-1] if len(content) >= 2 and content[0] == content[-1] == '"' else content


class Cloudflare(EmulatorAdapter):
    name = 'cloudflare'
    WRITE = {'path': '/dns_records', 'method': 'POST'}
    BAD_WORDS = ('api_token', 'rejected', 'invalid')
    BAD_STATUS = (400, 401, 403)
    DOCTOR_OK = ('/user/tokens/verify',)
    DOCTOR_ROUTE = '/user/tokens/verify'
    DOCTOR_FAIL = ('api_token',)
    TRACE = ('POST', 'dns_records', 'zones')
    UNSET_TRACE = ('DELETE',)
    REDACTED = 'Authorization'

    def start(self):
        need_provider(self.name)
        self.em = cf_emulator_reset(self.tb)
        self.token = self._secret(cf_token(self.em))
        return cf_config(self.tb, self.em, token=self.token)

    def bad_config(self):
        return cf_config(self.tb, self.em, token=self._secret(cf_emulator.new_token()))

    def records(self, name):
        return sorted((r['type'], unquote(r['content']), r['ttl'])
                      for r in self.em.records(ZONE) if r['name'] == name)

    def preset(self, name, recs):
        for t, v, ttl in recs:
            self.em.add_record(ZONE, name, v, ttl=ttl, rtype=t)
        self._in_dns()


    def real_section(self):
        token = os.environ.get('DNS01_TEST_CLOUDFLARE_TOKEN')
        zone = os.environ.get('DNS01_TEST_CLOUDFLARE_ZONE')
        if not token or not zone:
            raise Skip('set DNS01_TEST_CLOUDFLARE_TOKEN and DNS01_TEST_CLOUDFLARE_ZONE to '
                       'test against the real API')
        self._secret(token)
        return zone, (f'[provider cf]\ntype = cloudflare\nzones = {zone}\n'
                      f'api_token = {token}\n'), 180


# --------------------------------------------------------------------------
# Sakura Cloud (sakura_emulator.py)
# --------------------------------------------------------------------------

def sk_emulator_reset(tb, name='sakura'):
    """The Sakura Cloud emulator `name`, reset, publishing at once: its
    default publish delay is as slow as the real service's
    (sakura_emulator.PUBLISH_DELAY), and a test that wants a delay sets one."""
    em = tb.sakura(name)
    em.reset()
    em.publish_delay = 0
    tb.sync()     # ns2 too: a test may look at ns2 (doctor compares serials)
    return em


def sk_secrets_of(token, secret_):
    """Register a key's secrets with the testbed (any output containing one
    fails the test): the token, the secret and the Basic credentials."""
    values = (token, secret_, base64.b64encode(f'{token}:{secret_}'.encode()).decode())
    SECRETS.update(values)
    return values


def sk_key(em, can_modify=True):
    """A new API key of the emulator -> (token, secret), registered."""
    token, secret_ = sakura_emulator.new_token(), sakura_emulator.new_secret()
    sk_secrets_of(token, secret_)
    em.add_key(token, secret_, can_modify=can_modify)
    return token, secret_


def sk_config(tb, em, key=None, credentials=None, zones='example.test acme.test',
              api_url=None, ca_file=None, mode=0o600, main=None, path=None):
    """A dns01 config with one `type = sakuracloud` section pointing at the
    emulator (api_url, ca_file); key = (token, secret). Keys given as None
    are left out."""
    token, secret_ = key if key else (None, None)
    return provider_config(tb, 'sakura', {
        'type': 'sakuracloud', 'zones': zones, 'access_token': token,
        'access_token_secret': secret_, 'credentials': credentials,
        'api_url': api_url or em.api_url, 'ca_file': ca_file or em.ca_file},
        main=main, mode=mode, path=path)


def sk_rel(fqdn, zone=ZONE):
    """A name relative to the zone, as Sakura's records have it ('@': the apex)."""
    return '@' if fqdn == zone else fqdn[:-(len(zone) + 1)]


class SakuraCloud(EmulatorAdapter):
    name = 'sakuracloud'
    WRITE = {'method': 'PUT'}
    BAD_WORDS = ('access_token', 'access token or secret rejected')
    BAD_STATUS = (401,)
    DOCTOR_OK = ('Sakura Cloud accepts',)
    DOCTOR_FAIL = ('access_token',)
    TRACE = UNSET_TRACE = ('PUT', 'commonserviceitem')
    REDACTED = 'Authorization'

    def start(self):
        need_provider(self.name)
        self.em = sk_emulator_reset(self.tb)
        self.key = sk_key(self.em)
        self._secret(*self.key)
        return sk_config(self.tb, self.em, self.key)

    def bad_config(self):
        wrong = sakura_emulator.new_secret()
        self._secret(*sk_secrets_of(self.key[0], wrong))
        return sk_config(self.tb, self.em, (self.key[0], wrong))

    def records(self, name):
        return sorted((r['Type'], r['RData'], r.get('TTL', sakura_emulator.DEFAULT_TTL))
                      for r in self.em.records(ZONE) if r['Name'] == sk_rel(name))

    def preset(self, name, recs):
        for t, v, ttl in recs:
            self.em.add_record(ZONE, sk_rel(name), t, v, ttl)
        self._in_dns()


    def real_section(self):
        token = os.environ.get('DNS01_TEST_SAKURA_TOKEN')
        secret_ = os.environ.get('DNS01_TEST_SAKURA_SECRET')
        zone = os.environ.get('DNS01_TEST_SAKURA_ZONE')
        if not token or not secret_ or not zone:
            raise Skip('set DNS01_TEST_SAKURA_TOKEN, DNS01_TEST_SAKURA_SECRET and '
                       'DNS01_TEST_SAKURA_ZONE to test against the real API (not an '
                       'example.* zone: Sakura refuses owner names with a label "example")')
        self._secret(*sk_secrets_of(token, secret_))
        return zone, (f'[provider sakura]\ntype = sakuracloud\nzones = {zone}\n'
                      f'access_token = {token}\naccess_token_secret = {secret_}\n'), 300


# --------------------------------------------------------------------------
# Google Cloud DNS (google_emulator.py)
# --------------------------------------------------------------------------

def gg_emulator_reset(tb, name='google'):
    """The Google Cloud DNS emulator `name`, reset (changes done and
    published 0.2 s after they are made); every token and JWT it sees is
    registered as a secret."""
    em = tb.google(name)
    em.reset()
    em.on_secret = SECRETS.add
    tb.sync()     # ns2 too: a test may look at ns2 (doctor compares serials)
    return em


def gg_key(tb, em, **kw):
    """A new service account key file of the emulator (google_emulator.make_key)
    -> (path, key dict); lines of its private key are registered as secrets."""
    path, key = google_emulator.make_key(tb.tmp, em, **kw)
    SECRETS.update(gg_key_secrets(key))
    return path, key


def gg_key_secrets(key):
    """What of a key is secret enough to find in output: the lines of its
    private key (the first and last one of the body left out: short)."""
    body = [line for line in key['private_key'].splitlines() if not line.startswith('-----')]
    return body[1:-1]


def gg_config(tb, em, key_file=None, credentials=None, service_account=None, project=None,
              zone_id=None, zones='example.test acme.test', api_url=None, ca_file=None,
              mode=0o600, main=None, path=None):
    """A dns01 config with one `type = google` section pointing at the
    emulator (api_url, ca_file); keys given as None are left out."""
    return provider_config(tb, 'gcloud', {
        'type': 'google', 'zones': zones, 'key_file': key_file, 'credentials': credentials,
        'service_account': service_account, 'project': project, 'zone_id': zone_id,
        'api_url': api_url or em.api_url, 'ca_file': ca_file or em.ca_file},
        main=main, mode=mode, path=path)


def gg_unquote(rdata):
    return rdata[1:-1] if len(rdata) >= 2 and rdata[0] == rdata[-1] == '"' else rdata


class Google(EmulatorAdapter):
    name = 'google'
    WRITE = {'method': 'POST', 'path': '/changes'}
    BAD_WORDS = ('key file', 'refused', 'invalid_grant')
    BAD_STATUS = (400,)
    DOCTOR_OK = ('Google Cloud DNS accepts', 'key file')
    DOCTOR_FAIL = ('key file', 'refused')
    TRACE = ('POST', '/changes', 'managedZones')
    UNSET_TRACE = ('POST', '/changes')
    REDACTED = 'Authorization'

    def start(self):
        need_provider(self.name)
        self.em = gg_emulator_reset(self.tb)
        if not hasattr(self.tb, '_google_key'):
            self.tb._google_key = gg_key(self.tb, self.em)   # one RSA key per test run
        self.key_file = self.tb._google_key[0]
        self._secret(*gg_key_secrets(self.tb._google_key[1]))
        return gg_config(self.tb, self.em, key_file=self.key_file)

    def bad_config(self):
        if not hasattr(self.tb, '_google_bad_key'):
            self.tb._google_bad_key = gg_key(self.tb, self.em, register=False)
        self._secret(*gg_key_secrets(self.tb._google_bad_key[1]))
        return gg_config(self.tb, self.em, key_file=self.tb._google_bad_key[0])

    def records(self, name):
        return sorted((t, gg_unquote(r) if t == 'TXT' else r, ttl)
                      for t, r, ttl in self.em.records(ZONE, name))

    def preset(self, name, recs):
        for t, v, ttl in recs:
            self.em.add_records(ZONE, name, t, [f'"{v}"' if t == 'TXT' else v], ttl)
        self._in_dns()

    def real_section(self):
        key = os.environ.get('DNS01_TEST_GOOGLE_KEY_FILE')
        zone = os.environ.get('DNS01_TEST_GOOGLE_ZONE')
        if not key or not zone:
            raise Skip('set DNS01_TEST_GOOGLE_KEY_FILE (a service account key file, mode 0600) '
                       'and DNS01_TEST_GOOGLE_ZONE to test against the real API')
        return zone, (f'[provider gcloud]\ntype = google\nzones = {zone}\n'
                      f'key_file = {key}\n'), 300


# --------------------------------------------------------------------------
# Amazon Route 53 (route53_emulator.py)
# --------------------------------------------------------------------------

def r53_emulator_reset(tb, name='route53'):
    """The Route 53 emulator `name`, reset (publishing at once, INSYNC
    after route53_emulator.INSYNC_DELAY)."""
    em = tb.route53(name)
    em.reset()
    tb.sync()     # ns2 too: a test may look at ns2 (doctor compares serials)
    return em


def r53_key(em, **kw):
    """A new access key of the emulator -> (key id, secret), both registered
    as secrets (kw: add_key's actions, token, expired)."""
    akid, sec = route53_emulator.new_key_id(), route53_emulator.new_secret()
    SECRETS.update((akid, sec))
    if kw.get('token'):
        SECRETS.add(kw['token'])
    em.add_key(akid, sec, **kw)
    return akid, sec


def r53_config(tb, em, key=None, token=None, zones='example.test acme.test',
               hosted_zone_id=None, api_url=None, ca_file=None, main=None, path=None):
    """A dns01 config with one `type = route53` section pointing at the
    emulator (api_url, ca_file); key = (access key id, secret) or None (the
    AWS chain then looks elsewhere). Keys given as None are left out."""
    akid, sec = key if key else (None, None)
    return provider_config(tb, 'r53', {
        'type': 'route53', 'zones': zones, 'access_key_id': akid, 'secret_access_key': sec,
        'session_token': token, 'hosted_zone_id': hosted_zone_id,
        'api_url': api_url or em.api_url, 'ca_file': ca_file or em.ca_file},
        main=main, path=path)


class Route53(EmulatorAdapter):
    name = 'route53'
    WRITE = {'method': 'POST', 'path': '/rrset'}
    BAD_WORDS = ('secret_access_key', 'rejected')
    BAD_STATUS = (403,)
    DOCTOR_OK = ('Route 53 accepts the credentials from', 'access_key_id')
    DOCTOR_FAIL = ('secret_access_key',)
    TRACE = ('POST', '/rrset/', 'hostedzonesbyname', '/change/')
    UNSET_TRACE = ('POST', 'DELETE')
    REDACTED = 'Authorization'

    def start(self):
        need_provider(self.name)
        self.em = r53_emulator_reset(self.tb)
        self.key = r53_key(self.em)
        self._secret(*self.key)
        self.DOCTOR_ROUTE = f'/2013-04-01/hostedzone/{self.em.zone_id(ZONE)}/rrset'
        return r53_config(self.tb, self.em, self.key)

    def bad_config(self):
        wrong = route53_emulator.new_secret()
        self._secret(wrong)
        return r53_config(self.tb, self.em, (self.key[0], wrong))

    def records(self, name):
        out = []
        for rtype in ('TXT', 'CAA'):
            rs = self.em.rrset(name, rtype)
            if rs:
                out += [(rtype, unquote(v) if rtype == 'TXT' else v, rs[0]) for v in rs[1]]
        return sorted(out)

    def preset(self, name, recs):
        for rtype in sorted({t for t, _, _ in recs}):
            mine = [(v, ttl) for t, v, ttl in recs if t == rtype]
            cur = self.em.rrset(name, rtype)
            vals = (cur[1] if cur else []) + [f'"{v}"' if rtype == 'TXT' else v
                                              for v, _ in mine]
            self.em.set_rrset(name, rtype, cur[0] if cur else mine[0][1], vals)
        self._in_dns()

    def real_section(self):
        akid = os.environ.get('DNS01_TEST_AWS_ACCESS_KEY_ID')
        sec = os.environ.get('DNS01_TEST_AWS_SECRET_ACCESS_KEY')
        zone = os.environ.get('DNS01_TEST_ROUTE53_ZONE')
        if not akid or not sec or not zone:
            raise Skip('set DNS01_TEST_AWS_ACCESS_KEY_ID, DNS01_TEST_AWS_SECRET_ACCESS_KEY and '
                       'DNS01_TEST_ROUTE53_ZONE to test against the real API')
        self._secret(akid, sec)
        return zone, (f'[provider r53]\ntype = route53\nzones = {zone}\n'
                      f'access_key_id = {akid}\nsecret_access_key = {sec}\n'), 300


ADAPTERS = (Rfc2136, Cloudflare, SakuraCloud, Google, Route53)
