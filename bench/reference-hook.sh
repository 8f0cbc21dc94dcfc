#!/bin/sh
# The naive hand-written certbot hook that bench/bench.py compares dns01
# with: nsupdate to write, dig once a second to wait.
#
#     reference-hook.sh auth|cleanup
#
# auth adds CERTBOT_VALIDATION at _acme-challenge.CERTBOT_DOMAIN with
# nsupdate (which finds the zone itself), then asks every server in
# BENCH_SERVERS (the authoritative addresses, written down by hand), once a
# second, until all of them serve the value.  cleanup deletes the value and
# returns.  BENCH_KEYFILE: the TSIG key (nsupdate -k), BENCH_PRIMARY: where
# to send the UPDATE, BENCH_TTL: the record's TTL.
set -eu
POLL_SECONDS=1
name="_acme-challenge.$CERTBOT_DOMAIN"
value=$CERTBOT_VALIDATION

case "$1" in
auth)
	printf 'server %s\nupdate add %s %s TXT "%s"\nsend\n' \
		"$BENCH_PRIMARY" "$name" "$BENCH_TTL" "$value" | nsupdate -k "$BENCH_KEYFILE"
	while :; do
		missing=0
		for server in $BENCH_SERVERS; do
			dig +norec +short +time=1 +tries=1 "@$server" "$name" TXT \
				| grep -qF "\"$value\"" || missing=1
		done
		[ "$missing" -eq 0 ] && exit 0
		sleep "$POLL_SECONDS"
	done
	;;
cleanup)
	printf 'server %s\nupdate delete %s TXT "%s"\nsend\n' \
		"$BENCH_PRIMARY" "$name" "$value" | nsupdate -k "$BENCH_KEYFILE"
	;;
*)
	echo "usage: $0 auth|cleanup" >&2
	exit 2
	;;
esac
