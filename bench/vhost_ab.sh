#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A/B of two vhostd builds on the same null-backed controller, alternately, in one
# invocation (server on core 0, client vhost-perf on core 1). Not a test: it prints
# one line per run and never fails on the numbers. How doc/performance.md's
# "before -> after" figures of 2026-12-07 were taken.
#
#   bench/vhost_ab.sh -a VHOSTD_A -b VHOSTD_B [-r ROUNDS] [-w randread] [-q QD]
#                     [-t blk|scsi] [-T SECONDS] [-R RATE]
#
# -R RATE caps vhost-perf at RATE IOPS and prints the server's CPU-s/s instead of
# its peak (utime+stime of the vhostd process from /proc over the run).
# Build a "before" binary with e.g.: git worktree add /tmp/old REV && make -C /tmp/old.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
VPERF=$top/$BUILD/app/vhost-perf/vhost-perf
RPC=$top/scripts/rpc.py
a= b= rounds=3 w=randread qd=32 type=blk secs=2 rate=
while getopts "a:b:r:w:q:t:T:R:h" o; do
	case $o in
	a) a=$OPTARG ;;
	b) b=$OPTARG ;;
	r) rounds=$OPTARG ;;
	w) w=$OPTARG ;;
	q) qd=$OPTARG ;;
	t) type=$OPTARG ;;
	T) secs=$OPTARG ;;
	R) rate=$OPTARG ;;
	*) sed -n '2,13p' "$0"; exit 2 ;;
	esac
done
[ -x "$a" ] && [ -x "$b" ] || { sed -n '2,13p' "$0"; exit 2; }
[ -x "$VPERF" ] || { echo "build vhost-perf first: make"; exit 2; }
HZ=$(getconf CLK_TCK)
work=$(mktemp -d /tmp/vhd-ab.XXXXXX)
pid=
stop() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=; }
trap 'stop; rm -rf "$work"' EXIT
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() {
	local bin=$1 t0 t1 out extra=()
	rm -f "$work"/*.sock "$work"/c
	taskset -c 0 "$bin" -m 0x1 -r "$work/rpc.sock" -S "$work" >"$work/vhostd.log" 2>&1 </dev/null &
	pid=$!
	for _ in $(seq 1 100); do
		python3 "$RPC" -s "$work/rpc.sock" framework_wait_init >/dev/null 2>&1 && break
		sleep 0.1
	done
	python3 "$RPC" -s "$work/rpc.sock" bdev_null_create Null0 1024 512 >/dev/null
	if [ "$type" = scsi ]; then
		python3 "$RPC" -s "$work/rpc.sock" vhost_create_scsi_controller c >/dev/null
		python3 "$RPC" -s "$work/rpc.sock" vhost_scsi_controller_add_target c 0 Null0 >/dev/null
	else
		python3 "$RPC" -s "$work/rpc.sock" vhost_create_blk_controller c Null0 >/dev/null
	fi
	[ -n "$rate" ] && extra=(--rate "$rate")
	t0=$(ticks "$pid")
	out=$(taskset -c 1 "$VPERF" -s "$work/c" -t "$type" -w "$w" -q "$qd" -o 4096 -T "$secs" \
		-c "[1]" "${extra[@]}" --json | python3 -c '
import json,sys; d=json.load(sys.stdin)["total"]["all"]; print("%.0f IOPS p50 %.3f us" % (d["iops"], d["p50_us"]))')
	t1=$(ticks "$pid")
	stop
	if [ -n "$rate" ]; then
		awk -v o="$out" -v a="$t0" -v b="$t1" -v hz="$HZ" -v s="$secs" \
			'BEGIN {printf "%s, %.3f cpu-s/s\n", o, (b - a) / hz / s}'
	else
		echo "$out"
	fi
}

echo "# $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg): $type $w QD $qd ${rate:+at $rate IOPS }x $rounds"
for ((i = 1; i <= rounds; i++)); do
	echo "A $(run "$a")"
	echo "B $(run "$b")"
done
