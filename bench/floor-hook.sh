#!/bin/sh
# The "floor" certbot hook of bench/bench.py: the least any hook can take.
# It writes like the reference hook (nsupdate) but does not poll: the
# bench's own 10 ms prober tells it when every value is on every server.
#
#     floor-hook.sh auth|cleanup
#
# auth adds the value, appends "NAME VALUE" to $BENCH_FLOOR_DIR/values and
# returns, except on the last call (CERTBOT_REMAINING_CHALLENGES=0): that
# one appends "last" and blocks on the FIFO $BENCH_FLOOR_DIR/go until the
# prober, having seen every listed value on every server, writes a line to
# it.  cleanup deletes the value and returns.  BENCH_KEYFILE, BENCH_PRIMARY,
# BENCH_TTL as for reference-hook.sh.
set -eu
name="_acme-challenge.$CERTBOT_DOMAIN"
value=$CERTBOT_VALIDATION

case "$1" in
auth)
	printf 'server %s\nupdate add %s %s TXT "%s"\nsend\n' \
		"$BENCH_PRIMARY" "$name" "$BENCH_TTL" "$value" | nsupdate -k "$BENCH_KEYFILE"
	echo "$name $value" >> "$BENCH_FLOOR_DIR/values"
	if [ "${CERTBOT_REMAINING_CHALLENGES:-0}" -eq 0 ]; then
		echo last >> "$BENCH_FLOOR_DIR/values"
		read -r _ < "$BENCH_FLOOR_DIR/go"
	fi
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
