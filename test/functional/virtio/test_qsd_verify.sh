#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# vhost-perf --verify against qemu-storage-daemon's vhost-user-blk export over a
# file: 1 and 2 queues, every workload, several I/O sizes, busy-poll and
# interrupt (--wait) completion. Data written under load must read back exactly.
. "$(dirname "$0")/qsd.sh"
set -u

for nq in 1 2; do
	qsd_start file "$nq"
	for w in randwrite randrw write; do
		out=$(vperf --queues "$nq" -w "$w" -q 16 -o 4096 -T 1 --verify --size 16M 2>&1) ||
			vt_fail "verify $w queues=$nq: $out"
		echo "$out" | grep -q '^total' || vt_fail "no total line: $out"
	done
	out=$(vperf --queues "$nq" -w randrw -M 50 -q 8 -o 65536 -T 1 --verify --size 32M --wait 2>&1) ||
		vt_fail "verify 64k --wait queues=$nq: $out"
	out=$(vperf --queues "$nq" -w randread -q 32 -o 4096 -T 1 --json 2>&1) ||
		vt_fail "randread json queues=$nq: $out"
	python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); assert d["total"]["all"]["ios"] > 0, d; assert len(d["per_queue"]) == '"$nq" <<<"$out" ||
		vt_fail "bad --json output: $out"
	echo "queues=$nq ok"
done
echo PASS
