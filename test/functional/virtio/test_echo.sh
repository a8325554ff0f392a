#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhost-perf against lib/virtio's in-process loopback device (no server):
# blk and scsi (READ/WRITE(16) after READ CAPACITY(16)), split and packed,
# 1 and 2 queues, echo inline and on its own thread; every run must complete
# I/O with no errors, and --json must parse.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
VPERF=$top/${BUILD:-build}/app/vhost-perf/vhost-perf
[ -x "$VPERF" ] || { echo "$VPERF not built (run make)"; exit 77; }
for t in blk scsi; do
	for ring in "" --packed; do
		for nq in 1 2; do
			for echo in --echo-inline --echo; do
				out=$(timeout -k 5 60 "$VPERF" $echo -t $t $ring --queues $nq -w randrw -q 16 -T 1 --json 2>&1) ||
					{ echo "FAIL: $t $ring queues=$nq $echo: $out"; exit 1; }
				python3 -c 'import json,sys; d=json.loads(sys.stdin.read())["total"]["all"]; assert d["ios"] > 0 and d["errors"] == 0, d' <<<"$out" ||
					{ echo "FAIL: bad result $t $ring queues=$nq $echo: $out"; exit 1; }
			done
		done
	done
	echo "$t ok"
done
echo PASS
