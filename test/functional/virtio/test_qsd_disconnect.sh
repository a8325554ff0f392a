#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The server goes away under load: vhost-perf must notice and exit non-zero
# promptly (no hang, no crash), in busy-poll and in --wait mode; and with no
# server at all it must fail cleanly at connect.
. "$(dirname "$0")/qsd.sh"
set -u

for mode in "" --wait; do
	qsd_start null 2
	start=$(date +%s)
	timeout 60 "$VPERF" -s "$QSD_SOCK" --queues 2 -w randread -q 32 -T 30 --timeout-ms 3000 $mode \
		>"$QSD_DIR/perf.log" 2>&1 &
	pid=$!
	sleep 1
	kill -KILL "$QSD_PID"
	wait "$QSD_PID" 2>/dev/null
	QSD_PID=
	wait $pid
	rc=$?
	took=$(($(date +%s) - start))
	[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -lt 128 ] || vt_fail "mode '$mode': exit $rc: $(cat "$QSD_DIR/perf.log")"
	[ $took -lt 15 ] || vt_fail "mode '$mode': took ${took}s to notice"
	grep -q 'disconnected\|no completion' "$QSD_DIR/perf.log" || vt_fail "no reason given: $(cat "$QSD_DIR/perf.log")"
done
out=$(timeout 10 "$VPERF" -s "$QSD_DIR/none.sock" -T 1 2>&1)
[ $? -eq 3 ] || vt_fail "no server: expected exit 3: $out"
echo PASS
