#!/bin/sh
# Run the libFuzzer targets (make fuzz / make fuzz-regress; README "Fuzzing").
#
#   run.sh fuzz SECONDS TARGET...	each target for SECONDS on its corpus
#   run.sh regress 0 TARGET...		each target once over its committed corpus
#
# Targets are tests/fuzz/build/fuzz_TARGET; the committed seed corpus is
# tests/fuzz/corpus/TARGET/ (only read); new inputs go to
# tests/fuzz/build/work/TARGET/ (kept between runs, so coverage adds up);
# a crash, leak or timeout input is kept as
# tests/fuzz/build/crashes/TARGET-{crash,leak,timeout,oom}-SHA1, the log as
# tests/fuzz/build/logs/TARGET.log.  Prints the executions per target from
# libFuzzer's final stats; exits 1 when any target failed.
set -u
mode=$1 secs=$2
shift 2
top=tests/fuzz
build=$top/build
# one input may take this long (s): far above any real input's time (milliseconds),
# as a busy machine (nice, stress) can stall a process for tens of seconds
per_input_timeout=120
mkdir -p "$build/crashes" "$build/logs"
failed=
for t in "$@"; do
	bin=$build/fuzz_$t corpus=$top/corpus/$t log=$build/logs/$t.log
	set -- -print_final_stats=1 -timeout=$per_input_timeout -rss_limit_mb=2048 \
	    -close_fd_mask=3 -artifact_prefix="$build/crashes/$t-"
	[ -f "$top/$t.dict" ] && set -- "$@" -dict="$top/$t.dict"
	# the targets that parse DNS messages with ldns: full stacks, and ldns's
	# own leak on a message with two TSIG records suppressed (lsan-ldns.supp)
	case $t in
	rfc2136|answer|tsig)
		export ASAN_OPTIONS=fast_unwind_on_malloc=0
		export LSAN_OPTIONS=suppressions=$top/lsan-ldns.supp:print_suppressions=0 ;;
	*)	unset ASAN_OPTIONS LSAN_OPTIONS ;;
	esac
	if [ "$mode" = regress ]; then
		"$bin" "$@" -runs=0 "$corpus" >"$log" 2>&1
	else
		mkdir -p "$build/work/$t"
		"$bin" "$@" -max_total_time="$secs" "$build/work/$t" "$corpus" >"$log" 2>&1
	fi
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	secs_run=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	if [ $rc -ne 0 ]; then
		failed="$failed $t"
		art=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -n 1)
		printf 'fuzz_%-12s FAILED (exit %d) executions %s; input: %s; log: %s\n' "$t" $rc \
		    "${execs:-?}" "${art:-none}" "$log"
		grep -m 3 -E 'ERROR: |SUMMARY: |runtime error' "$log" | sed 's/^/    /'
	else
		printf 'fuzz_%-12s ok  %6s s  executions %10s  %s  corpus %s files\n' "$t" \
		    "${secs_run:-0}" "${execs:-?}" "$cov" "$(ls "$corpus" | wc -l)"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed (inputs in $build/crashes/)"
	exit 1
fi
