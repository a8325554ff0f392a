#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# qemu-storage-daemon over null-co: I/O must complete without errors at several
# queue depths and queue counts; and --verify must FAIL there (null-co keeps no
# data), proving the checker detects data that was never stored.
. "$(dirname "$0")/qsd.sh"
set -u

for nq in 1 2; do
	qsd_start null "$nq"
	for qd in 1 32 128; do
		out=$(vperf --queues "$nq" -w randrw -q "$qd" -o 4096 -T 1 2>&1) ||
			vt_fail "null randrw qd=$qd queues=$nq: $out"
	done
	out=$(vperf --queues "$nq" -w randrw -q 8 -T 1 --verify --size 8M 2>&1)
	rc=$?
	[ $rc -eq 1 ] || vt_fail "--verify over null-co exited $rc, expected 1: $out"
	echo "$out" | grep -q 'MISMATCH lba' || vt_fail "no MISMATCH report: $out"
	echo "queues=$nq ok"
done
echo PASS
