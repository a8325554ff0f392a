#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run cmocka unit test binaries: test/unit/run.sh BIN...
# Prints PASS/FAIL per binary, counts individual tests from cmocka's summary
# lines, and ends with "unit: N passed, N failed". Exits 1 on any failure; a
# binary that crashes, times out or prints no summary counts as one failure.
# Tests cmocka reports as skipped are counted and listed as skipped.
# VHD_UT_TIMEOUT (seconds, default 300) bounds each binary.
set -u
timeout_s=${VHD_UT_TIMEOUT:-300}
top=$(cd "$(dirname "$0")/../.." && pwd)
logdir=${VHD_TEST_LOGDIR:-$top/build/test-logs}/unit
mkdir -p "$logdir"
total_pass=0
total_fail=0
total_skip=0
bins_failed=()

for bin in "$@"; do
	name=${bin#"$top"/}
	log=$logdir/$(echo "$name" | tr "/" "_").log
	timeout -k 10 "$timeout_s" "$bin" >"$log" 2>&1 </dev/null
	rc=$?
	passed=$(sed -nE 's/^\[  PASSED  \] ([0-9]+) test\(s\)\..*/\1/p' "$log" | tail -n 1)
	failed=$(sed -nE 's/^\[  FAILED  \] ([0-9]+) test\(s\).*/\1/p' "$log" | tail -n 1)
	skipped=$(sed -nE 's/^\[  SKIPPED \] ([0-9]+) test\(s\).*/\1/p' "$log" | tail -n 1)
	passed=${passed:-0}
	failed=${failed:-0}
	skipped=${skipped:-0}
	total_skip=$((total_skip + skipped))
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		# Crashed, timed out or exited before cmocka could report.
		failed=1
	fi
	total_pass=$((total_pass + passed))
	total_fail=$((total_fail + failed))
	if [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]; then
		if [ "$skipped" -gt 0 ]; then
			echo "PASS  $name ($passed tests, $skipped skipped: $(grep -m1 -i 'skipped' "$log"))"
		else
			echo "PASS  $name ($passed tests)"
		fi
	else
		bins_failed+=("$name")
		[ "$rc" -eq 124 ] && why="timeout after ${timeout_s}s" || why="exit $rc"
		echo "FAIL  $name ($why, $passed passed, $failed failed); last lines of $log:"
		tail -n 25 "$log" | sed 's/^/      /'
	fi
done

if [ ${#bins_failed[@]} -gt 0 ]; then
	echo "failed binaries: ${bins_failed[*]}"
fi
if [ "$total_skip" -gt 0 ]; then
	echo "unit: $total_pass passed, $total_fail failed, $total_skip skipped"
else
	echo "unit: $total_pass passed, $total_fail failed"
fi
[ "$total_fail" -eq 0 ] && [ ${#bins_failed[@]} -eq 0 ]
