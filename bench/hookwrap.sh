#!/bin/bash
# Times one certbot hook call for bench/bench.py, the same way for every
# hook under test (dns01, the reference hook, the floor hook):
#
#     hookwrap.sh LOG PHASE COMMAND [ARG...]
#
# appends "PHASE start EPOCH REMAINING DOMAIN" to LOG, runs COMMAND (its
# stdout is certbot's CERTBOT_AUTH_OUTPUT, so it passes through untouched),
# then appends "PHASE end EPOCH REMAINING DOMAIN EXIT" and exits with
# COMMAND's status.  EPOCH is bash's $EPOCHREALTIME: no process is started
# to read the clock.
log=$1 phase=$2
shift 2
echo "$phase start $EPOCHREALTIME ${CERTBOT_REMAINING_CHALLENGES:--} ${CERTBOT_DOMAIN:--}" >> "$log"
"$@"
rc=$?
echo "$phase end $EPOCHREALTIME ${CERTBOT_REMAINING_CHALLENGES:--} ${CERTBOT_DOMAIN:--} $rc" >> "$log"
exit $rc
