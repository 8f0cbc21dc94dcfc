# certbot with dns01 as its manual hooks.  Copy the commands you need; this
# file is not meant to be run as a whole.
#
# Assumed: dns01 is /usr/local/bin/dns01 (make install) and its configuration
# is /etc/dns01/dns01.conf (mode 600).  certbot runs each hook string through
# a shell with certbot's environment; a full path keeps it independent of PATH.
#
# What certbot does with the hooks: it runs "dns01 auth" once per name, all
# before the CA validates; the last of those calls writes every value and
# returns only when every authoritative nameserver serves them.  After the
# validation it runs "dns01 cleanup" once per name, and dns01 removes exactly
# the values it added.  certbot does not stop on a failing auth hook (it only
# logs dns01's exit status and report), so read its output when a run fails.

# 1. A certificate for example.com and *.example.com.  Both challenges use the
#    name _acme-challenge.example.com, so it gets two TXT values at once.
#    --deploy-hook runs (in a shell) after each successful issuance or renewal.
certbot certonly --manual --preferred-challenges dns \
    --manual-auth-hook '/usr/local/bin/dns01 auth' \
    --manual-cleanup-hook '/usr/local/bin/dns01 cleanup' \
    --deploy-hook 'systemctl reload nginx' \
    -d example.com -d '*.example.com' \
    --non-interactive --agree-tos -m hostmaster@example.com

#    The same against Let's Encrypt's staging CA first, without saving anything:
certbot certonly --dry-run --manual --preferred-challenges dns \
    --manual-auth-hook '/usr/local/bin/dns01 auth' \
    --manual-cleanup-hook '/usr/local/bin/dns01 cleanup' \
    -d example.com -d '*.example.com'

# 2. Renewal.  certbot saves the authenticator, both dns01 hooks and the
#    --deploy-hook in /etc/letsencrypt/renewal/example.com.conf, so this
#    renews with them; Debian's certbot.timer (or systemd/dns01-certbot-renew.*)
#    runs it twice a day.  --dry-run tries it against the staging CA.
certbot renew
certbot renew --dry-run

# 3. Another dns01 configuration file: put -c FILE into both hook strings (the
#    renewal file keeps them as written).
certbot certonly --manual --preferred-challenges dns \
    --manual-auth-hook '/usr/local/bin/dns01 -c /etc/dns01/example-org.conf auth' \
    --manual-cleanup-hook '/usr/local/bin/dns01 -c /etc/dns01/example-org.conf cleanup' \
    -d example.org -d '*.example.org'

# 4. No configuration file (environment mode).  Variables set around the
#    certbot command are not saved for renewals; set them in the hook strings,
#    which the renewal file keeps.  certbot checks that the first word of a
#    hook is a program on PATH, hence "env".
certbot certonly --manual --preferred-challenges dns \
    --manual-auth-hook 'env DNS01_PROVIDER=cloudflare CLOUDFLARE_DNS_API_TOKEN_FILE=/etc/dns01/cloudflare.token /usr/local/bin/dns01 auth' \
    --manual-cleanup-hook 'env DNS01_PROVIDER=cloudflare CLOUDFLARE_DNS_API_TOKEN_FILE=/etc/dns01/cloudflare.token /usr/local/bin/dns01 cleanup' \
    -d example.net -d '*.example.net'

# 5. Check a name by hand before certbot needs it:
/usr/local/bin/dns01 set _acme-challenge.example.com dns01-test-value
/usr/local/bin/dns01 list _acme-challenge.example.com
/usr/local/bin/dns01 unset _acme-challenge.example.com dns01-test-value
