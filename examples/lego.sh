# lego with dns01 through lego's "exec" DNS provider.  Copy the commands you
# need; this file is not meant to be run as a whole.
#
# lego runs EXEC_PATH as:
#   dns01 present FQDN VALUE      FQDN: _acme-challenge.<domain>. or, if that
#   dns01 cleanup FQDN VALUE      is a CNAME, its target; VALUE: the TXT value
# or, with EXEC_MODE=RAW:
#   dns01 present -- DOMAIN TOKEN KEYAUTH   (dns01 computes the TXT value)
#   dns01 cleanup -- DOMAIN TOKEN KEYAUTH
# Both modes work; dns01 needs no EXEC_MODE.  "present" returns only when every
# authoritative nameserver serves the value.

# EXEC_PATH is one executable path without arguments, so dns01 reads
# /etc/dns01/dns01.conf, or the file named by DNS01_CONFIG (lego passes its
# environment on to the hook).
export EXEC_PATH=/usr/local/bin/dns01
#export DNS01_CONFIG=/etc/dns01/dns01.conf

# After dns01 returns, lego waits EXEC_POLLING_INTERVAL (default 2 s) and
# then checks the authoritative servers itself, for at most
# EXEC_PROPAGATION_TIMEOUT (default 60 s).  dns01 has already waited for all
# of them, so that first check passes; --dns.disable-cp is not needed.
#
# The exec provider does one name at a time (present, validate, cleanup) and
# sleeps EXEC_SEQUENCE_INTERVAL (default 60 s) before the next name.
# example.com and *.example.com use the same TXT name, so a resolver on the
# CA's side may still hold the first answer; dns01's "present" waits that out
# itself (up to the record's TTL), so a short interval is safe:
#export EXEC_SEQUENCE_INTERVAL=1

# First certificate (files in /etc/lego/certificates/):
lego --accept-tos --email hostmaster@example.com --path /etc/lego \
    --dns exec -d example.com -d '*.example.com' run

# Renewal, e.g. daily from a timer: renews when fewer than 30 days are left.
# lego runs --renew-hook without a shell (split at spaces), only after a
# renewal.  Off a terminal, "lego renew" first sleeps up to 8 minutes at random
# (--no-random-sleep turns that off).
lego --accept-tos --email hostmaster@example.com --path /etc/lego \
    --dns exec -d example.com -d '*.example.com' \
    renew --days 30 --renew-hook 'systemctl reload nginx'

# No dns01.conf: environment mode uses lego's own variable names, e.g.
DNS01_PROVIDER=cloudflare CLOUDFLARE_DNS_API_TOKEN_FILE=/etc/dns01/cloudflare.token \
EXEC_PATH=/usr/local/bin/dns01 \
lego --accept-tos --email hostmaster@example.com --path /etc/lego \
    --dns exec -d example.com -d '*.example.com' run
