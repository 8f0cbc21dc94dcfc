# uacme with dns01 as its challenge hook (-h).  Copy the commands you need;
# this file is not meant to be run as a whole.
#
# uacme runs the hook as:  dns01 begin|done|failed TYPE IDENT TOKEN AUTH
#   begin, TYPE dns-01:   dns01 adds AUTH (already the TXT value) at
#                         _acme-challenge.IDENT and returns only when every
#                         authoritative nameserver serves it.
#   begin, another TYPE:  dns01 exits 1, so uacme declines that challenge
#                         (http-01, tls-alpn-01) and tries the next type.
#   done, failed:         dns01 removes the value.
# uacme handles one name at a time: begin, validation, done, then the next.
#
# -h takes one executable path without arguments, so dns01 reads
# /etc/dns01/dns01.conf, or the file named by DNS01_CONFIG (uacme passes its
# environment on to the hook):
#export DNS01_CONFIG=/etc/dns01/dns01.conf

# Once: the ACME account (-y accepts the CA's terms).  Keys and certificates
# live in /etc/ssl/uacme (-c DIR for another place; -s for the staging CA).
uacme -y new hostmaster@example.com

# The certificate: /etc/ssl/uacme/example.com/cert.pem, its key
# /etc/ssl/uacme/private/example.com/key.pem.
uacme -h /usr/local/bin/dns01 issue example.com '*.example.com'

# Renewal, in a script run daily (cron or a timer): the same command does nothing
# while the certificate is valid for more than 30 days (-d DAYS).
# Exit status: 0 issued, 1 still current (nothing done), 2 failure.
uacme -h /usr/local/bin/dns01 issue example.com '*.example.com'
case $? in
0) systemctl reload nginx ;;
1) ;;
*) echo "uacme failed" >&2; exit 1 ;;
esac
